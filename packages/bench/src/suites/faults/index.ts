// The fault campaign: real torus-4x4 swarms over TCP, each cell one fault, next to a fault-free
// run of the same seeded plan.
//
//   baseline  no fault: the accuracy the others are compared with
//   frames    a peer writes thousands of hostile streams to its honest neighbours (random bytes,
//             truncated and oversized frames, 1 GB and 2^62 length prefixes, bad varints, wrong
//             magic/version/dtype/dimension/swarm, NaN/Inf, bad checksums, spoofed senders, stale
//             rounds, empty streams, then a flood of streams at once) next to its honest traffic
//   kill      `kill -9` of one of four worker processes (a quarter of the peers) mid-run; the
//             launcher restarts it and its peers resume from their checkpoints
//   pause     SIGSTOP of one of four worker processes, SIGCONT some seconds later
//   disk      the disk holding the peers' state fills up mid-run
//
// Per cell: honest peers that crashed or stopped short of the last round (must be 0), peak memory
// growth, refusals by reason next to what was injected (every hostile stream accounted for),
// checkpoints readable at the end, summary.json intact, and the honest accuracy next to the
// baseline's.

import { execFileSync } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { initBackend } from '@murmur/learn'
import {
  createMurmurNode, createPeer, DEFAULT_EVAL_EVERY, DeliveryLedger, ephemeralIdentity, launchSwarm, loadCheckpoint, MAX_STRANGER_CONNECTIONS, peerStateDir, planSwarm,
  type FrameRejection, type MurmurNode, type MurmurPeer, type PeerAddress, type PeerFinal, type RoundSummary, type SwarmOptions, type SwarmPlan
} from '@murmur/peer'
import { topologyFromGraph, torus } from '@murmur/topology'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { forgeControl, type ForgeReport } from './control.ts'
import { ALSO_HONEST, EXPECTED_REASON, injectFrames, type InjectionReport } from './frames.ts'
import { listOption } from '../../options.ts'
import { round } from '../../stats.ts'
import type { Cell, CellResult, Check, Profile, SuiteContext, SuiteSummary, Table } from '../../suite.ts'
import { defineSuite } from '../../suite.ts'
import { loadTemplate } from '../../template.ts'

/** The report's paragraphs (report.md beside this file). */
const prose = loadTemplate(new URL('report.md', import.meta.url))

const FAULTS = ['baseline', 'frames', 'control', 'flood', 'kill', 'pause', 'disk'] as const
type Fault = typeof FAULTS[number]

const DEFAULTS = {
  quick: { rounds: 30, frames: 2000, flood: 400, slowLoris: 0, control: 400, outsiders: 100, at: 6, pauseS: 10 },
  full: { rounds: 45, frames: 10_000, flood: 1000, slowLoris: 40, control: 2000, outsiders: 300, at: 12, pauseS: 45 }
} as const

/** Worker processes of the launched cells: killing or pausing one touches a quarter of the peers. */
const WORKERS = 4
/** How far below the baseline's accuracy a disturbed run may end, in points. */
const ACCURACY_POINTS = 1
/** Growth of resident memory per peer over a run, MiB (a fault-free run grows by about 30). */
const RSS_GROWTH_MIB = 64
/** Size of the small disk the `disk` cell fills. */
const DISK_MIB = 16
const MiB = 2 ** 20
/** How the receiver refuses each stream of the flood it reads (a garbage frame). */
const FLOOD_REASON = EXPECTED_REASON.garbage

interface Params {
  fault: Fault
  rounds: number
  /** The round after which the fault strikes. */
  at: number
  frames: number
  flood: number
  /** Streams the frames cell holds open with half a frame until the receiver cuts them off. */
  slowLoris: number
  /** Forged control messages the control cell publishes. */
  control: number
  /** Outsider nodes the flood cell connects to one peer of an open swarm. */
  outsiders: number
  pauseS: number
}

export interface FaultResult {
  fault: Fault
  rounds: number
  /** Set when the cell could not run here, with why (e.g. no permission to mount a small disk). */
  notRun?: string
  honestPeers: number
  /** Honest peers that ended short of the last round or reported no result. */
  stoppedShort: string[]
  interrupted: boolean
  accuracy: number
  minAccuracy: number
  honestDelivery: number
  /** Resident memory per peer at the first round and its peak, MiB (a worker's, or this process's, over its peers). */
  rssStartMiB: number
  rssPeakMiB: number
  /** Frames refused by honest peers over the run, by reason. */
  refused: Partial<Record<FrameRejection, number>>
  injection?: InjectionReport
  /** Hostile streams written before the last honest peer finished its rounds. */
  streamsDuringRounds?: number
  /** The control cell: what was forged, what the receivers counted, by reason and by sender. */
  control?: ForgeReport & { counted: Record<string, number>, bySender: Record<string, number>, victimKept: boolean, attacker: string }
  /** The flood cell: outsiders that connected or were refused, the most the victim held, and its counts. */
  flood?: { outsiders: number, connected: number, refusedAtDial: number, peakHeld: number, heldAtEnd: number, denied: number, limit: number, idle: number }
  /** Peers whose state directory holds a readable checkpoint at the end, of those that should. */
  checkpointsReadable: number
  checkpointFailures: number
  /** metrics.jsonl lines the peers could not write. */
  metricsFailures: number
  /** The most failed writes a round's progress line reported (launched cells). */
  writeFailuresShown: number
  summaryIntact: boolean
  workerRestarts: number
  skippedBehind: number
  wallS: number
}

function parseFaults (value: unknown): Fault[] {
  const items = listOption(value, 'faults')
  if (items === undefined) return [...FAULTS]
  for (const item of items) {
    if (!(FAULTS as readonly string[]).includes(item)) throw new Error(`--faults: expected some of ${FAULTS.join(', ')}, got "${item}"`)
  }
  // The baseline always runs: every other cell is judged against it.
  return FAULTS.filter((f) => f === 'baseline' || items.includes(f))
}

function swarmOptions (rounds: number): SwarmOptions {
  return {
    topology: topologyFromGraph(torus(4, 4), 'torus-4x4'),
    task: { dataset: 'mnist', model: 'logistic', partition: { kind: 'iid' }, heldOutSize: 0, seed: 0 },
    rounds,
    localSteps: 5,
    lr: 0.05,
    momentum: 0.9,
    batchSize: 32,
    rule: 'scclip',
    f: 1,
    roundTimeoutMs: 30_000,
    evalEvery: DEFAULT_EVAL_EVERY
  }
}

/** Summed refusals of the honest peers, by reason. */
function refusedBy (peers: readonly PeerFinal[]): Partial<Record<FrameRejection, number>> {
  const total: Partial<Record<FrameRejection, number>> = {}
  for (const p of peers) {
    if (p.byzantine) continue
    for (const [reason, n] of Object.entries(p.rejected) as Array<[FrameRejection, number | undefined]>) total[reason] = (total[reason] ?? 0) + (n ?? 0)
  }
  return total
}

/** The common part of every cell's result, from the peers' finals. */
function outcome (plan: SwarmPlan, peers: readonly PeerFinal[]): Pick<FaultResult, 'honestPeers' | 'stoppedShort' | 'refused' | 'checkpointFailures' | 'metricsFailures' | 'skippedBehind'> {
  const honest = plan.nodes.filter((n) => !n.byzantine).map((n) => n.id)
  const finals = new Map(peers.map((p) => [p.id, p]))
  return {
    honestPeers: honest.length,
    stoppedShort: honest.filter((id) => (finals.get(id)?.lastRound ?? -1) < plan.options.rounds - 1),
    refused: refusedBy(peers),
    checkpointFailures: peers.reduce((a, p) => a + p.checkpointFailures, 0),
    metricsFailures: peers.reduce((a, p) => a + (p.metricsFailures ?? 0), 0),
    skippedBehind: peers.reduce((a, p) => a + p.skippedBehind, 0)
  }
}

async function readableCheckpoints (runDir: string, ids: readonly string[]): Promise<number> {
  let readable = 0
  for (const id of ids) {
    try {
      if (await loadCheckpoint(join(runDir, 'peers', id)) !== undefined) readable++
    } catch {}
  }
  return readable
}

function summaryIntact (runDir: string): boolean {
  try {
    const summary = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8'))
    return typeof summary === 'object' && summary !== null && Array.isArray(summary.peers) && summary.peers.length > 0
  } catch {
    return false
  }
}

/** A small disk at `dir` (tmpfs), or why there cannot be one here. */
function mountSmallDisk (dir: string): string | undefined {
  mkdirSync(dir, { recursive: true })
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${DISK_MIB}m`, 'tmpfs', dir], { stdio: 'pipe' })
    return undefined
  } catch (error) {
    return `could not mount a ${DISK_MIB} MiB tmpfs (${((error as { stderr?: Buffer }).stderr?.toString() ?? (error as Error).message).trim()}); the cell needs root or CAP_SYS_ADMIN`
  }
}

function unmount (dir: string): void {
  try { execFileSync('umount', [dir], { stdio: 'pipe' }) } catch { execFileSync('umount', ['-l', dir], { stdio: 'pipe' }) }
}

/**
 * Fills the disk and keeps it full, as another program writing there would: every few
 * milliseconds it takes whatever space was freed (a checkpoint replaced, a temp file removed).
 * Returns a function that stops it, with the bytes taken.
 */
function keepDiskFull (dir: string): () => number {
  const fd = openSync(join(dir, 'filler'), 'a')
  let taken = 0
  const fill = (): void => {
    for (const size of [MiB, 4096, 64, 1]) {
      const chunk = Buffer.alloc(size)
      try {
        for (;;) taken += writeSync(fd, chunk)
      } catch {}
    }
  }
  fill()
  const timer = setInterval(fill, 20)
  return () => {
    clearInterval(timer)
    closeSync(fd)
    return taken
  }
}

/** One launch of the plan in worker processes; `fault` acts once round `at` is summarised. */
async function launched (cell: Cell<Params>, context: SuiteContext, fault?: (pids: number[], runDir: string) => void): Promise<{ result: Awaited<ReturnType<typeof launchSwarm>>, plan: SwarmPlan, wallS: number, rss: number[], writeFailuresShown: number }> {
  const p = cell.params
  const plan = planSwarm(swarmOptions(p.rounds))
  const runDir = join(context.outDir, 'cells', cell.id)
  let pids: number[] = []
  let struck = false
  const rss: number[] = []
  let writeFailuresShown = 0
  const started = performance.now()
  const result = await launchSwarm({
    plan,
    runDir,
    workers: WORKERS,
    signal: context.signal,
    onWorkers: (ids) => { pids = ids },
    onStatus: (message) => { context.log('%s: %s', cell.id, message) },
    onRound: (summary: RoundSummary) => {
      rss.push(summary.rssPerPeer)
      writeFailuresShown = Math.max(writeFailuresShown, summary.writeFailures)
      context.progress((summary.round + 1) / p.rounds)
      if (!struck && fault !== undefined && summary.round + 1 >= p.at) {
        struck = true
        fault(pids, runDir)
      }
    }
  })
  return { result, plan, wallS: (performance.now() - started) / 1000, rss, writeFailuresShown }
}

async function runLaunched (cell: Cell<Params>, context: SuiteContext): Promise<FaultResult> {
  const p = cell.params
  const runDir = join(context.outDir, 'cells', cell.id)
  rmSync(runDir, { recursive: true, force: true })
  const peersDir = join(runDir, 'peers')
  let stopFilling: (() => number) | undefined
  if (p.fault === 'disk') {
    const notRun = mountSmallDisk(peersDir)
    if (notRun !== undefined) return notRunResult(p, notRun)
  }
  try {
    let resume: ReturnType<typeof setTimeout> | undefined
    const run = await launched(cell, context, (pids, dir) => {
      const victim = pids[pids.length - 1]
      if (p.fault === 'kill') process.kill(victim, 'SIGKILL')
      if (p.fault === 'pause') {
        process.kill(victim, 'SIGSTOP')
        resume = setTimeout(() => { try { process.kill(victim, 'SIGCONT') } catch {} }, p.pauseS * 1000)
      }
      if (p.fault === 'disk') stopFilling = keepDiskFull(join(dir, 'peers'))
    })
    clearTimeout(resume)
    if (stopFilling !== undefined) context.log('disk: %d MiB taken to keep it full', stopFilling() / MiB)
    stopFilling = undefined
    const { result, plan } = run
    const honest = plan.nodes.filter((n) => !n.byzantine).map((n) => n.id)
    const events = existsSync(join(runDir, 'events.jsonl')) ? readFileSync(join(runDir, 'events.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"worker-restarted"')).length : 0
    return {
      fault: p.fault,
      rounds: p.rounds,
      ...outcome(plan, result.peers),
      interrupted: result.interrupted,
      accuracy: round(result.final?.accuracy ?? Number.NaN, 5),
      minAccuracy: round(result.final?.minAccuracy ?? Number.NaN, 5),
      honestDelivery: round(result.delivery.honest.share, 5),
      rssStartMiB: round((run.rss[0] ?? 0) / MiB),
      rssPeakMiB: round(Math.max(0, ...run.rss) / MiB),
      checkpointsReadable: await readableCheckpoints(runDir, honest),
      summaryIntact: summaryIntact(runDir),
      workerRestarts: events,
      writeFailuresShown: run.writeFailuresShown,
      wallS: round(run.wallS)
    }
  } finally {
    stopFilling?.()
    if (p.fault === 'disk') unmount(peersDir)
  }
}

function notRunResult (p: Params, why: string): FaultResult {
  return {
    fault: p.fault, rounds: p.rounds, notRun: why, honestPeers: 0, stoppedShort: [], interrupted: false, accuracy: 0, minAccuracy: 0,
    honestDelivery: 0, rssStartMiB: 0, rssPeakMiB: 0, refused: {}, checkpointsReadable: 0, checkpointFailures: 0, metricsFailures: 0,
    summaryIntact: false, workerRestarts: 0, writeFailuresShown: 0, skippedBehind: 0, wallS: 0
  }
}

interface InProcessRun {
  plan: SwarmPlan
  peers: MurmurPeer[]
  finals: PeerFinal[]
}

/**
 * Every peer of the plan over TCP in this process; the last one (running its honest rounds too)
 * is handed to `attack` once its neighbours are past round `at`, and `finish` runs after the
 * rounds while the peers still listen (to let the receivers judge what is still on its way).
 */
async function inProcessSwarm<T> (cell: Cell<Params>, context: SuiteContext, attack: (attacker: MurmurPeer, plan: SwarmPlan, book: PeerAddress[], peers: readonly MurmurPeer[]) => Promise<T>, finish: (run: InProcessRun, attacked: T) => Promise<Partial<FaultResult>>, setup: { onRoundsDone?: () => void, open?: boolean } = {}): Promise<FaultResult> {
  const p = cell.params
  await initBackend()
  const plan = planSwarm(swarmOptions(p.rounds))
  const runDir = join(context.outDir, 'cells', cell.id)
  rmSync(runDir, { recursive: true, force: true })
  const peers: MurmurPeer[] = []
  const started = performance.now()
  try {
    for (const node of plan.nodes) peers.push(await createPeer({ plan, node, stateDir: peerStateDir(runDir, node.id), listen: ['/ip4/127.0.0.1/tcp/0'], open: setup.open === true }))
    const book = peers.map((peer) => peer.address())
    for (const peer of peers) await peer.connect(book)
    await Promise.all(peers.map(async (peer) => { await peer.dialNeighbours() }))
    const attacker = peers[peers.length - 1]
    const targets = plan.nodes[plan.nodes.length - 1].neighbours
    const rss = [process.memoryUsage().rss]
    const sampler = setInterval(() => { rss.push(process.memoryUsage().rss) }, 250)
    const reached = new Map<string, number>()
    let begin: () => void = () => {}
    const gate = new Promise<void>((resolve) => { begin = resolve })
    const attacking = gate.then(async () => await attack(attacker, plan, book, peers))
    let lastAccuracy: number[] = []
    // The launcher's own judge of delivery, fed the same per-round metrics.
    const ledger = new DeliveryLedger({ byzantine: plan.byzantine })
    const neighboursOf = new Map(plan.nodes.map((node) => [node.id, node.neighbours]))
    const finals = await Promise.all(peers.map(async (peer) => await peer.run({
      startRound: 0,
      signal: context.signal,
      onRound: (metrics) => {
        reached.set(peer.id, metrics.round)
        ledger.observe(metrics, neighboursOf.get(metrics.node) ?? [])
        context.progress(Math.min(...plan.nodes.map((n) => reached.get(n.id) ?? 0)) / p.rounds)
        // Stale-round frames need every target past round 0; the fault starts at round `at`.
        if (targets.every((id) => (reached.get(id) ?? -1) >= p.at)) begin()
        if (metrics.round === p.rounds - 1 && metrics.accuracy !== undefined) lastAccuracy = [...lastAccuracy, metrics.accuracy]
      }
    })))
    context.log('%s: every peer finished its rounds', cell.id)
    setup.onRoundsDone?.()
    begin()
    const extra = await finish({ plan, peers, finals }, await attacking)
    clearInterval(sampler)
    return {
      fault: p.fault,
      rounds: p.rounds,
      ...outcome(plan, finals),
      interrupted: context.signal.aborted,
      accuracy: round(lastAccuracy.reduce((a, b) => a + b, 0) / Math.max(1, lastAccuracy.length), 5),
      minAccuracy: round(Math.min(...lastAccuracy), 5),
      honestDelivery: round(ledger.report().honest.share, 5),
      rssStartMiB: round(rss[0] / peers.length / MiB),
      rssPeakMiB: round(Math.max(...rss) / peers.length / MiB),
      checkpointsReadable: await readableCheckpoints(runDir, plan.nodes.map((n) => n.id)),
      summaryIntact: true,
      workerRestarts: 0,
      writeFailuresShown: 0,
      wallS: round((performance.now() - started) / 1000),
      ...extra
    }
  } finally {
    await Promise.all(peers.map(async (peer) => { await peer.stop().catch(() => {}) }))
  }
}

/** The frames cell: the attacker writes hostile streams to its neighbours (see faults/frames.ts). */
async function runFrames (cell: Cell<Params>, context: SuiteContext): Promise<FaultResult> {
  const p = cell.params
  let written = 0
  let duringRounds = 0
  return await inProcessSwarm(cell, context, async (attacker, plan, book) => {
    const node = plan.nodes[plan.nodes.length - 1]
    return await injectFrames({
      node: attacker.libp2p,
      targets: node.neighbours.map((id) => ({ id, peerId: peerIdFromString(book.find((b) => b.id === id)?.peerId ?? '') })),
      count: p.frames,
      floodStreams: p.flood,
      slowLoris: p.slowLoris,
      context: { swarm: plan.swarm, sender: node.id, other: plan.nodes[0].id, dimension: attacker.dimension },
      seed: cell.seed,
      signal: context.signal,
      onProgress: (done) => {
        written = done
        if (done % 500 === 0) context.log('frames: %d hostile streams written', done)
      }
    })
  }, async ({ peers }, report) => {
    // The peers still listen: wait until the receivers have judged every stream that went out.
    return { refused: await settledRejections(peers, report, context.signal), injection: report, streamsDuringRounds: duringRounds }
  }, { onRoundsDone: () => { duringRounds = written } })
}

/**
 * The control cell: the attacker publishes forged control messages on the swarm's gossipsub
 * topic. Each must be refused by whoever receives it, counted under the attacker (never under
 * the node a message names), and change nobody's view of the swarm.
 */
async function runControl (cell: Cell<Params>, context: SuiteContext): Promise<FaultResult> {
  const p = cell.params
  return await inProcessSwarm(cell, context, async (attacker, plan) => {
    return await forgeControl({ node: attacker.libp2p, swarm: plan.swarm, self: attacker.id, victim: plan.nodes[0].id, count: p.control, seed: cell.seed, signal: context.signal })
  }, async ({ peers, plan }, report) => {
    const victim = peers[0]
    // Gossip needs a moment to carry the last messages.
    await sleep(2000)
    const counted: Record<string, number> = {}
    const bySender: Record<string, number> = {}
    for (const peer of peers) {
      const { control } = peer.refusals()
      for (const [reason, n] of Object.entries(control.byReason)) counted[reason] = (counted[reason] ?? 0) + n
      for (const [sender, n] of Object.entries(control.bySender)) bySender[sender] = (bySender[sender] ?? 0) + n
    }
    const victimKept = peers.every((peer) => peer.id === victim.id || peer.directory.get(victim.id)?.peerId === victim.libp2p.peerId.toString())
    context.log('control: %o counted %o by %o', report, counted, bySender)
    return { refused: {}, control: { ...report, counted, bySender, victimKept, attacker: plan.nodes[plan.nodes.length - 1].id } }
  })
}

/**
 * The flood cell: an open swarm (anyone may connect), and `outsiders` fresh nodes each open a
 * connection to one of its peers and then do nothing. The peer may hold only so many strangers,
 * closes idle ones after a grace time, and its rounds go on.
 */
async function runFlood (cell: Cell<Params>, context: SuiteContext): Promise<FaultResult> {
  const p = cell.params
  return await inProcessSwarm(cell, context, async (_attacker, _plan, book, peers) => {
    const victim = peers[0]
    const first = book[0].addrs[0]
    const address = multiaddr(first.includes('/p2p/') ? first : `${first}/p2p/${book[0].peerId}`)
    const outsiders: MurmurNode[] = []
    const ids = new Set<string>()
    const held = (): number => victim.libp2p.getConnections().filter((c) => ids.has(c.remotePeer.toString())).length
    let connected = 0
    let refusedAtDial = 0
    let peakHeld = 0
    for (let k = 0; k < p.outsiders && !context.signal.aborted; k++) {
      const node = await createMurmurNode({ privateKey: await ephemeralIdentity(), listen: [] })
      outsiders.push(node)
      ids.add(node.peerId.toString())
      try {
        await node.dial(address, { signal: AbortSignal.timeout(10_000) })
        connected++
      } catch {
        refusedAtDial++
      }
      peakHeld = Math.max(peakHeld, held())
    }
    return { outsiders, ids, held, connected, refusedAtDial, peakHeld }
  }, async ({ peers }, flood) => {
    // Every outsider's connection is closed within the grace time once it has proved idle.
    for (let waited = 0; waited < 30_000 && flood.held() > 0 && !context.signal.aborted; waited += 250) await sleep(250)
    const heldAtEnd = flood.held()
    const { denied, limit, idle } = peers[0].connectionRefusals()
    await Promise.all(flood.outsiders.map(async (node) => { try { await node.stop() } catch {} }))
    return {
      refused: {},
      flood: { outsiders: flood.outsiders.length, connected: flood.connected, refusedAtDial: flood.refusedAtDial, peakHeld: flood.peakHeld, heldAtEnd, denied, limit, idle }
    }
  }, { open: true })
}

/**
 * The receivers' refusal counts once every stream that went out has been judged: at least what
 * was injected under every reason, and unchanged for a second (at most two minutes).
 */
async function settledRejections (peers: readonly MurmurPeer[], injection: InjectionReport, signal: AbortSignal): Promise<Partial<Record<FrameRejection, number>>> {
  const total = (): Partial<Record<FrameRejection, number>> => {
    const sum: Partial<Record<FrameRejection, number>> = {}
    for (const peer of peers) {
      for (const [reason, n] of Object.entries(peer.refusals().frames.byReason) as Array<[FrameRejection, number | undefined]>) sum[reason] = (sum[reason] ?? 0) + (n ?? 0)
    }
    return sum
  }
  const enough = (counts: Partial<Record<FrameRejection, number>>): boolean =>
    (Object.entries(injection.expected) as Array<[FrameRejection, number]>).every(([reason, n]) => (counts[reason] ?? 0) >= n)
  let last = JSON.stringify(total())
  for (let waited = 0; waited < 120_000 && !signal.aborted; waited += 1000) {
    await sleep(1000)
    const now = total()
    const key = JSON.stringify(now)
    if (key === last && enough(now)) return now
    last = key
  }
  return total()
}

/**
 * Per reason: what was injected against what the receivers counted. Honest traffic may add stale
 * or late frames; of the flood, the receiver reads what its stream limit lets through (each one
 * 'malformed') and resets the rest, so 'malformed' may count up to the flood's streams more.
 */
export function accountFor (injection: InjectionReport, refused: Partial<Record<FrameRejection, number>>): { exact: boolean, floodRead: number, rows: Array<[FrameRejection, number, number]> } {
  const reasons = new Set([...Object.keys(injection.expected), ...Object.keys(refused)] as FrameRejection[])
  let exact = true
  let floodRead = 0
  const rows: Array<[FrameRejection, number, number]> = []
  for (const reason of [...reasons].sort()) {
    const sent = injection.expected[reason] ?? 0
    const counted = refused[reason] ?? 0
    if (reason === FLOOD_REASON) {
      floodRead = counted - sent
      if (floodRead < 0 || floodRead > injection.flood.streams - injection.flood.refusedAtOpen) exact = false
    } else if (ALSO_HONEST.has(reason) ? counted < sent : counted !== sent) {
      exact = false
    }
    rows.push([reason, sent, counted])
  }
  return { exact, floodRead, rows }
}

function summarize (results: Array<CellResult<FaultResult, Params>>): SuiteSummary {
  const rs = results.map((r) => r.result)
  const baseline = rs.find((r) => r.fault === 'baseline')
  const checks: Check[] = []
  for (const r of rs) {
    if (r.notRun !== undefined) {
      checks.push({ name: `${r.fault}: not run`, ok: true, detail: r.notRun })
      continue
    }
    checks.push({ name: `${r.fault}: every honest peer reached the last round`, ok: r.stoppedShort.length === 0 && !r.interrupted, detail: r.stoppedShort.length === 0 ? `${r.honestPeers} of ${r.honestPeers}` : `stopped short: ${r.stoppedShort.join(', ')}` })
    if (baseline !== undefined && r !== baseline) {
      const gap = 100 * (baseline.accuracy - r.accuracy)
      checks.push({ name: `${r.fault}: honest accuracy within ${ACCURACY_POINTS} point of the fault-free run`, ok: gap <= ACCURACY_POINTS, detail: `${(100 * r.accuracy).toFixed(2)} % vs ${(100 * baseline.accuracy).toFixed(2)} %` })
    }
    checks.push({ name: `${r.fault}: memory per peer grew by less than ${RSS_GROWTH_MIB} MiB`, ok: r.rssPeakMiB - r.rssStartMiB < RSS_GROWTH_MIB, detail: `${r.rssStartMiB} → ${r.rssPeakMiB} MiB` })
    checks.push({ name: `${r.fault}: every honest peer's checkpoint readable`, ok: r.checkpointsReadable === r.honestPeers, detail: `${r.checkpointsReadable} of ${r.honestPeers}` })
    if (r.injection !== undefined) {
      const { exact, floodRead, rows } = accountFor(r.injection, r.refused)
      const sent = Object.values(r.injection.sent).reduce((a, b) => a + (b ?? 0), 0)
      const { flood } = r.injection
      checks.push({
        name: 'frames: every hostile stream refused and counted under its reason',
        ok: exact && sent > 0,
        detail: `${sent} streams written (${r.streamsDuringRounds ?? 0} while the rounds ran), ${r.injection.refusedAtOpen} refused at opening; counted/injected ${rows.map(([reason, s, c]) => `${reason} ${c}/${s}`).join(', ')}; ` +
          `flood of ${flood.streams} streams at once: ${floodRead} read and refused as ${FLOOD_REASON}, the other ${flood.streams - floodRead} turned away by the stream limit (${flood.refusedAtOpen} of them already at opening)`
      })
    }
    if (r.control !== undefined) {
      const c = r.control
      const short = (Object.entries(c.expected) as Array<[string, number]>).filter(([reason, n]) => (c.counted[reason] ?? 0) < n)
      const sent = Object.values(c.sent).reduce((a, b) => a + (b ?? 0), 0)
      checks.push({ name: 'control: every forged message refused under its reason by the peers it reached', ok: sent > 0 && short.length === 0, detail: `${sent} published (${c.notPublished} not); counted ${Object.entries(c.counted).map(([reason, n]) => `${reason} ${n}`).join(', ')} for ${Object.entries(c.expected).map(([reason, n]) => `${reason} ${n}`).join(', ')} published` })
      const others = Object.keys(c.bySender).filter((sender) => sender !== c.attacker)
      checks.push({ name: 'control: every refusal counted under the forger, none under the node it named, and no view of the swarm changed', ok: others.length === 0 && c.victimKept, detail: `${others.length === 0 ? `all under ${c.attacker}` : `also under ${others.join(', ')}`}; the named node's address ${c.victimKept ? 'unchanged everywhere' : 'changed somewhere'}` })
    }
    if (r.flood !== undefined) {
      const f = r.flood
      checks.push({ name: `flood: the peer held at most ${MAX_STRANGER_CONNECTIONS} outsiders and none once they proved idle`, ok: f.peakHeld <= MAX_STRANGER_CONNECTIONS && f.heldAtEnd === 0, detail: `${f.outsiders} outsiders: ${f.connected} connected, ${f.refusedAtDial} refused; at most ${f.peakHeld} held at once, ${f.heldAtEnd} at the end` })
      checks.push({ name: 'flood: every outsider counted, refused or closed as idle', ok: f.limit + f.idle + f.denied >= f.outsiders && f.idle >= 1, detail: `${f.limit} over the limit, ${f.idle} closed as idle, ${f.denied} denied` })
    }
    if (r.fault === 'kill') checks.push({ name: 'kill: the killed worker was restarted', ok: r.workerRestarts >= 1, detail: `${r.workerRestarts} restart(s)` })
    if (r.fault === 'disk') {
      checks.push({
        name: 'disk: failed checkpoint and metrics writes counted and shown on the progress line, summary.json intact',
        ok: r.checkpointFailures > 0 && r.metricsFailures > 0 && r.writeFailuresShown > 0 && r.summaryIntact,
        detail: `${r.checkpointFailures} checkpoints and ${r.metricsFailures} metrics lines not written; the progress line showed up to ${r.writeFailuresShown}; summary.json ${r.summaryIntact ? 'intact' : 'missing or broken'}`
      })
    }
  }
  const table: Table = {
    name: 'faults',
    title: 'Faults and what honest peers made of them',
    columns: ['fault', 'honest peers at the last round', 'accuracy %', 'min accuracy %', 'honest delivery %', 'RSS per peer, start → peak MiB', 'refused frames', 'checkpoint failures', 'worker restarts', 'wall s'],
    rows: rs.map((r) => r.notRun !== undefined
      ? [r.fault, 'not run', null, null, null, null, null, null, null, null]
      : [r.fault, `${r.honestPeers - r.stoppedShort.length}/${r.honestPeers}`, round(100 * r.accuracy), round(100 * r.minAccuracy),
          round(100 * r.honestDelivery), `${r.rssStartMiB} → ${r.rssPeakMiB}`,
          Object.values(r.refused).reduce((a, b) => a + (b ?? 0), 0), r.checkpointFailures, r.workerRestarts, r.wallS])
  }
  const tables = [table]
  const frames = rs.find((r) => r.injection !== undefined)
  if (frames?.injection !== undefined) {
    tables.push({
      name: 'frames',
      title: 'Hostile streams: injected and counted by the receivers, by reason',
      columns: ['reason', 'injected', 'counted'],
      rows: accountFor(frames.injection, frames.refused).rows
    })
  }
  return {
    tables,
    plots: [],
    checks,
    notes: [prose.render('setup'), prose.render('counting')]
  }
}

export const faults = defineSuite<Params, FaultResult>({
  name: 'faults',
  summary: 'fault campaign: hostile frames, killed and paused workers, a full disk, against real peers',
  fullDuration: '~8 min',
  options: {
    faults: { type: 'string', description: `faults to inject besides the fault-free baseline (default: all of ${FAULTS.slice(1).join(', ')})`, placeholder: 'list' },
    frames: { type: 'integer', description: 'hostile streams the frames cell writes (default 2000 quick, 10000 full)' }
  },
  cells: (profile: Profile, options) => {
    const d = DEFAULTS[profile]
    const frames = options.frames === undefined ? d.frames : Number(options.frames)
    if (!Number.isInteger(frames) || frames < 1 || frames > 1_000_000) throw new Error(`--frames: expected an integer between 1 and 1000000, got ${String(options.frames)}`)
    return parseFaults(options.faults).map((fault, k) => ({
      id: fault,
      params: { fault, rounds: d.rounds, at: d.at, frames, flood: d.flood, slowLoris: d.slowLoris, control: d.control, outsiders: d.outsiders, pauseS: d.pauseS } satisfies Params,
      seed: 1000 + k
    }))
  },
  run: async (cell, context) => {
    const { fault } = cell.params
    if (fault === 'frames') return await runFrames(cell, context)
    if (fault === 'control') return await runControl(cell, context)
    if (fault === 'flood') return await runFlood(cell, context)
    return await runLaunched(cell, context)
  },
  summarize: (results) => summarize(results)
})
