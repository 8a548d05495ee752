// The local launcher: starts every node of a plan as a real libp2p peer, spread over worker
// processes (one per core), and watches the run from outside the network: honest accuracy,
// consensus distance among honest models, round times. It writes the run directory:
//
//   <run>/plan.json            the checked plan (topology, task, rule, Byzantine set, f_i)
//   <run>/rounds.jsonl         one line per round: swarm-level honest figures
//   <run>/events.jsonl         edges that stopped or resumed delivering, isolated and paused peers,
//                              worker processes started again after dying
//   <run>/summary.json         written at the end, also after Ctrl-C, with what was delivered
//   <run>/peers/<id>/          each peer's state: identity.key, checkpoint, metrics.jsonl

import { fork, type ChildProcess } from 'node:child_process'
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { logger } from '@libp2p/logger'
import { multiaddr } from '@multiformats/multiaddr'
import { median } from '@murmur/robust'
import { writeFileAtomic } from '../atomic-file.ts'
import { parseBehaviour } from '../round/byzantine.ts'
import { DeliveryLedger, type DeliveryReport } from './delivery.ts'
import { ephemeralIdentity } from '../net/identity.ts'
import { createMurmurNode } from '../net/node.ts'
import { checkPlanManifest, manifestOf, type SwarmManifest } from '../wire/manifest.ts'
import { dropRoundsFrom } from '../round/metrics.ts'
import { fetchManifest, fetchMembers, type MemberRecord } from '../open/open-swarm.ts'
import type { SwarmPlan } from './plan.ts'
import type { FromWorker, PeerAddress, PeerFinal, ToWorker } from './protocol.ts'
import { checkRunDirectory, peerStateDir } from './run-plan.ts'
import type { RoundMetrics } from '../round/types.ts'

const log = logger('murmur:swarm')
const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url))
/** Times a worker process is started again after dying mid-run, before the launch gives up. */
const MAX_WORKER_RESTARTS = 3

/** Swarm-level figures of one round, over honest peers only. */
export interface RoundSummary {
  round: number
  /** Mean and minimum test accuracy of honest peers (evaluation rounds only). */
  accuracy?: number
  minAccuracy?: number
  /** Mean over honest i of ‖θ_i − θ̄‖², θ̄ the honest mean. */
  consensusDistance: number
  trainLoss: number
  /** Median round time over honest peers, ms, and the median split. */
  roundMs: number
  computeMs: number
  communicateMs: number
  aggregateMs: number
  /** Mixing rounds that lowered f or kept the own model, over honest peers. */
  degraded: number
  skipped: number
  /** Frames refused by honest peers so far, all reasons. */
  rejected: number
  /** Resident memory per peer, bytes (worker RSS / peers in it, median). */
  rssPerPeer: number
  /** Edges between honest peers whose model arrived in time this round (as far as seen), of all of them. */
  edgesLive: number
  edges: number
  /** Honest peers that got no honest neighbour's model this round. */
  isolated: number
  /** Median over honest peers of this round's deadline, ms. */
  deadlineMs: number
  /** Checkpoints and metrics lines the honest peers could not write so far (a full disk). */
  writeFailures: number
}

export interface SwarmResult {
  swarm: string
  runDir: string
  rounds: RoundSummary[]
  /** The last evaluated round's summary. */
  final?: RoundSummary
  peers: PeerFinal[]
  interrupted: boolean
  startRound: number
  wallMs: number
  /** What the rounds delivered between honest peers and from the attackers (see DeliveryLedger). */
  delivery: DeliveryReport
}

export interface LaunchOptions {
  plan: SwarmPlan
  runDir: string
  /** Worker processes (default: one per core, at most one per peer). */
  workers?: number
  /** Address peers listen on (default 127.0.0.1). */
  listenHost?: string
  /** Abort to stop: peers finish their round, write checkpoints, and the summary is written. */
  signal?: AbortSignal
  onRound?: (summary: RoundSummary) => void
  onStatus?: (message: string) => void
  /** Accept newcomers (`murmur join`) as neighbours; the bootstrap addresses are written to <run>/bootstrap.txt. */
  open?: boolean
  /**
   * PeerIds that may connect besides the swarm's own peers. Without it a closed swarm admits only
   * its own peers, an open one anyone; with it, an open swarm too admits only these newcomers.
   */
  allow?: readonly string[]
  /** Run only these nodes of the plan here; the others run elsewhere (multi-host). */
  only?: readonly string[]
  /**
   * With `only`: peers of the swarm on other hosts (multiaddrs with /p2p/). Without, the other
   * hosts bootstrap from this one and its own first peer collects their addresses.
   */
  bootstrap?: readonly string[]
  /** With `only`: how long to wait for every other node to announce itself (default 5 min). */
  peerWaitMs?: number
  /** Called once every local peer listens, with addresses others can bootstrap from. */
  onBootstrap?: (addrs: string[]) => void
  /** Called once the worker processes are started, with their process ids (benchmarks pause one). */
  onWorkers?: (pids: number[]) => void
  /**
   * Run even when the run directory holds a run with another plan (or an unreadable plan.json):
   * plan.json is replaced and peers resume from the checkpoints there. Without it such a launch
   * throws RunDirectoryConflict before any peer starts (see checkRunDirectory).
   */
  force?: boolean
}

class SwarmPlanMismatch extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'SwarmPlanMismatch'
  }
}

/** The first field where another host's manifest disagrees with this host's plan, if any. */
function planDifference (plan: SwarmPlan, theirs: SwarmManifest): string | undefined {
  const mine = manifestOf(plan, theirs.dimension, theirs.schedule.round, theirs.open)
  const fields: Array<[string, unknown, unknown]> = [
    ['swarm', mine.swarm, theirs.swarm],
    ['task', mine.task, theirs.task],
    ['nodes', mine.nodes, theirs.nodes],
    ['training', mine.training, theirs.training],
    ['mixing', mine.mixing, theirs.mixing],
    ['schedule', mine.schedule, theirs.schedule]
  ]
  for (const [name, a, b] of fields) {
    if (JSON.stringify(a) !== JSON.stringify(b)) return `${name} here ${JSON.stringify(a)}, there ${JSON.stringify(b)}`
  }
  return undefined
}

/** Multiaddrs with /p2p/ to reach the given peers (the first three honest ones). */
function bootstrapAddrs (peers: readonly PeerAddress[]): string[] {
  return peers.slice(0, 3).flatMap((p) => p.addrs.map((a) => a.includes('/p2p/') ? a : `${a}/p2p/${p.peerId}`))
}

/**
 * Multi-host: tells `targets` about this host's peers and asks them for everyone else's until
 * every node of the plan is known. Resolves with the whole address book and the round the
 * targets' peers were at (−1 if none said).
 */
async function gatherAddresses (plan: SwarmPlan, local: readonly PeerAddress[], targets: readonly string[], waitMs: number, signal: AbortSignal | undefined, status: (m: string) => void): Promise<{ book: PeerAddress[], round: number }> {
  const ids = plan.nodes.map((n) => n.id)
  const known = new Map<string, MemberRecord>(local.map((p) => [p.id, p]))
  const probe = await createMurmurNode({ privateKey: await ephemeralIdentity(), listen: [] })
  const deadline = Date.now() + waitMs
  let lastReport = 0
  const checked = new Set<string>()
  let round = -1
  try {
    while (true) {
      for (const target of targets) {
        try {
          if (!checked.has(target)) {
            // Every host must run the same plan; a difference would split the swarm silently.
            const theirs = await fetchManifest(probe, multiaddr(target), { timeoutMs: 5000 })
            const differs = planDifference(plan, theirs)
            if (differs !== undefined) throw new SwarmPlanMismatch(`${target} runs another plan: ${differs}; give every host the same topology and options`)
            round = Math.max(round, theirs.schedule.round)
            checked.add(target)
          }
          const members = await fetchMembers(probe, multiaddr(target), [...local], { timeoutMs: 5000 })
          for (const m of members) if (ids.includes(m.id) && !known.has(m.id)) known.set(m.id, m)
        } catch (error) {
          if (error instanceof SwarmPlanMismatch || (error as Error).name === 'ManifestError') throw error
          log('no members from %s: %s', target, (error as Error).message)
        }
      }
      const missing = ids.filter((id) => !known.has(id))
      if (missing.length === 0) return { book: [...known.values()].map((m) => ({ id: m.id, peerId: m.peerId, addrs: m.addrs })), round }
      if (Date.now() > deadline) throw new Error(`waited ${Math.round(waitMs / 1000)} s for the peers on other hosts; still missing ${missing.join(', ')}`)
      if (signal?.aborted === true) throw new Error('stopped while waiting for the peers on other hosts')
      if (Date.now() - lastReport > 10_000) {
        status(`waiting for ${missing.length} peers on other hosts (${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''})`)
        lastReport = Date.now()
      }
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
  } finally {
    await probe.stop()
  }
}

interface Pending {
  params: Map<string, Float32Array>
  metrics: RoundMetrics[]
  rss: number[]
}

/** Median of a round's timings; 0 for none, so summaries stay numbers. */
function medianOrZero (values: number[]): number {
  return values.length === 0 ? 0 : median(values)
}

/** Mean over vectors of ‖x_i − x̄‖², in double precision, without an n × d buffer. */
export function consensusDistance (vectors: readonly Float32Array[]): number {
  const n = vectors.length
  if (n < 2) return 0
  const d = vectors[0].length
  const mean = new Float64Array(d)
  for (const v of vectors) for (let k = 0; k < d; k++) mean[k] += v[k]
  for (let k = 0; k < d; k++) mean[k] /= n
  let total = 0
  for (const v of vectors) {
    for (let k = 0; k < d; k++) { const diff = v[k] - mean[k]; total += diff * diff }
  }
  return total / n
}

/** Runs the plan to its last round (or until aborted) and returns the swarm's figures. */
export async function launchSwarm (options: LaunchOptions): Promise<SwarmResult> {
  const { plan, runDir } = options
  const started = Date.now()
  const status = options.onStatus ?? (() => {})
  const roundsPath = join(runDir, 'rounds.jsonl')
  const eventsPath = join(runDir, 'events.jsonl')

  const only = options.only === undefined ? undefined : new Set(options.only)
  for (const id of only ?? []) if (!plan.nodes.some((n) => n.id === id)) throw new Error(`--only: node ${id} is not in topology ${plan.options.topology.name}`)
  const localNodes = only === undefined ? plan.nodes : plan.nodes.filter((n) => only.has(n.id))
  if (localNodes.length === 0) throw new Error('--only: no node to run on this host')
  // Before anything is written: every peer's folder lies inside the run directory, and the plan
  // is one the peers' own manifest checks accept (a joiner or another host reads it).
  for (const node of localNodes) peerStateDir(runDir, node.id)
  checkPlanManifest(plan, options.open === true)
  // Refuses a run directory made under another plan before anything in it changes.
  const checked = checkRunDirectory(runDir, plan, { force: options.force === true })
  if (checked.note !== undefined) status(checked.note)
  mkdirSync(join(runDir, 'peers'), { recursive: true })
  const workerCount = Math.max(1, Math.min(options.workers ?? availableParallelism(), localNodes.length))
  const groups: Array<typeof plan.nodes> = Array.from({ length: workerCount }, () => [])
  localNodes.forEach((node, i) => groups[i % workerCount].push(node))
  const honest = localNodes.filter((node) => !node.byzantine).map((node) => node.id)
  const honestSet = new Set(honest)
  const neighboursOf = new Map(plan.nodes.map((node) => [node.id, node.neighbours]))
  const attack = plan.options.attack === 'none' ? undefined : parseBehaviour(plan.options.attack)
  // The run's own logs: a line the disk refuses is counted (and shown), never the end of the run.
  let logFailures = 0
  const appendRecord = (path: string, record: unknown): void => {
    try {
      appendFileSync(path, JSON.stringify(record) + '\n')
    } catch (error) {
      logFailures++
      log.error('could not append to %s: %s', path, (error as Error).message)
    }
  }
  const ledger = new DeliveryLedger({
    byzantine: plan.byzantine,
    ...(attack === undefined ? {} : { attack: { behaviour: attack.spec, sends: attack.kind !== 'crash' } }),
    onEvent: (event) => { appendRecord(eventsPath, event) }
  })

  const children: ChildProcess[] = []
  const addresses: PeerAddress[] = []
  const resumeRounds: Record<string, number> = {}
  const finals: PeerFinal[] = []
  const pending = new Map<number, Pending>()
  const rounds: RoundSummary[] = []
  let failure: Error | undefined
  let interrupted = false
  let lastAccuracy: { accuracy: number, min: number } | undefined

  let listening!: () => void
  const allListening = new Promise<void>((resolve) => { listening = resolve })
  let listeningCount = 0
  const backends = new Set<string>()
  let failed!: (error: Error) => void
  const anyFailure = new Promise<never>((_resolve, reject) => { failed = reject })
  anyFailure.catch(() => {})

  const send = (child: ChildProcess, message: ToWorker): void => {
    if (child.connected) child.send(message)
  }
  const stopAll = (): void => { for (const child of children) send(child, { type: 'stop' }) }

  const onRoundMessage = (metrics: RoundMetrics, params: Float32Array | undefined, rss: number, peers: number): void => {
    let entry = pending.get(metrics.round)
    if (entry === undefined) { entry = { params: new Map(), metrics: [], rss: [] }; pending.set(metrics.round, entry) }
    entry.metrics.push(metrics)
    entry.rss.push(rss / peers)
    if (params !== undefined && honestSet.has(metrics.node)) entry.params.set(metrics.node, params)
    if (entry.metrics.length < localNodes.length) return
    pending.delete(metrics.round)
    const summary = summarize(metrics.round, entry)
    rounds.push(summary)
    appendRecord(roundsPath, summary)
    options.onRound?.(summary)
  }

  const summarize = (round: number, entry: Pending): RoundSummary => {
    const h = entry.metrics.filter((m) => honestSet.has(m.node)).sort((a, b) => a.node.localeCompare(b.node, 'en', { numeric: true }))
    // Timings describe the rounds that ran, not those a paused peer skipped to catch up.
    const ranAll = h.filter((m) => m.skipReason !== 'behind')
    const ran = ranAll.length > 0 ? ranAll : h
    const isolatedBefore = ledger.isolatedPeerRounds
    for (const m of h) ledger.observe(m, neighboursOf.get(m.node) ?? [])
    const { live, edges } = ledger.live()
    const accuracies = h.map((m) => m.accuracy).filter((a): a is number => a !== undefined)
    if (accuracies.length > 0) {
      lastAccuracy = { accuracy: accuracies.reduce((a, b) => a + b, 0) / accuracies.length, min: Math.min(...accuracies) }
    }
    return {
      round,
      ...(accuracies.length > 0 && lastAccuracy !== undefined ? { accuracy: lastAccuracy.accuracy, minAccuracy: lastAccuracy.min } : {}),
      consensusDistance: consensusDistance([...entry.params.values()]),
      trainLoss: h.reduce((a, m) => a + m.trainLoss, 0) / Math.max(1, h.length),
      roundMs: medianOrZero(ran.map((m) => m.roundMs)),
      computeMs: medianOrZero(ran.map((m) => m.computeMs)),
      communicateMs: medianOrZero(ran.map((m) => m.communicateMs)),
      aggregateMs: medianOrZero(ran.map((m) => m.aggregateMs)),
      degraded: h.filter((m) => m.mix === 'degraded').length,
      skipped: h.filter((m) => m.mix === 'skipped').length,
      rejected: h.reduce((a, m) => a + Object.values(m.rejected).reduce((s, c) => s + (c ?? 0), 0), 0),
      rssPerPeer: medianOrZero(entry.rss),
      edgesLive: live,
      edges,
      isolated: ledger.isolatedPeerRounds - isolatedBefore,
      deadlineMs: medianOrZero(ran.map((m) => m.deadlineMs)),
      // Each peer's count is its total so far.
      writeFailures: logFailures + h.reduce((a, m) => a + (m.writeFailures ?? 0), 0)
    }
  }

  status(`starting ${plan.nodes.length} peers in ${workerCount} worker process${workerCount === 1 ? '' : 'es'}`)
  // A worker that dies after the rounds began (killed, out of memory) is started again on the same
  // addresses: its peers resume from their checkpoints and catch up with their neighbours.
  let running: { book: PeerAddress[] } | undefined
  const restarts = new Array<number>(groups.length).fill(0)
  const slotDone: Array<Promise<void>> = []
  const startWorker = (slot: number, finish: () => void, listen?: Record<string, string[]>): void => {
    const group = groups[slot]
    const restarted = listen !== undefined
    const child = fork(WORKER, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    children[slot] = child
    child.on('message', (raw) => {
      const message = raw as FromWorker
      switch (message.type) {
        case 'listening':
          if (restarted && running !== undefined) {
            const from = Math.min(...Object.values(message.resumeRounds))
            status(`restarted worker of ${group.map((n) => n.id).join(', ')}: resuming from round ${from}`)
            send(child, { type: 'start', book: running.book, startRound: from })
            break
          }
          addresses.push(...message.peers)
          Object.assign(resumeRounds, message.resumeRounds)
          backends.add(message.backend)
          if (++listeningCount === groups.length) listening()
          break
        case 'round':
          onRoundMessage(message.metrics, message.params, message.rss, message.peersInProcess)
          break
        case 'done':
          finals.push(...message.peers)
          break
        case 'error':
          failure ??= new Error(message.node === undefined ? message.message : `peer ${message.node}: ${message.message}`)
          failed(failure)
          break
      }
    })
    child.once('exit', (code, signal) => {
      if (code === 0 || interrupted || failure !== undefined) { finish(); return }
      const why = signal ?? `code ${String(code)}`
      if (running !== undefined && restarts[slot] < MAX_WORKER_RESTARTS) {
        restarts[slot]++
        const ids = new Set(group.map((n) => n.id))
        const at = Object.fromEntries(addresses.filter((a) => ids.has(a.id)).map((a) => [a.id, a.addrs.map((addr) => addr.split('/p2p/')[0])]))
        status(`a worker process (peers ${[...ids].join(', ')}) exited with ${why}; starting it again (${restarts[slot]} of ${MAX_WORKER_RESTARTS})`)
        appendRecord(eventsPath, { round: (rounds[rounds.length - 1]?.round ?? -1) + 1, event: 'worker-restarted', nodes: [...ids], reason: why })
        startWorker(slot, finish, at)
        return
      }
      failure = new Error(`a worker process exited with ${why}`)
      failed(failure)
      finish()
    })
    send(child, {
      type: 'init',
      plan,
      nodes: group,
      runDir,
      listenHost: options.listenHost ?? '127.0.0.1',
      open: options.open ?? false,
      ...(options.allow === undefined ? {} : { allow: [...options.allow] }),
      // Other hosts' launchers announce their peers to this host's before anyone has the book.
      multiHost: localNodes.length < plan.nodes.length,
      ...(listen === undefined ? {} : { listen })
    })
  }
  groups.forEach((_, slot) => { slotDone.push(new Promise<void>((resolve) => { startWorker(slot, resolve) })) })

  options.onWorkers?.(children.map((child) => child.pid).filter((pid): pid is number => pid !== undefined))
  const onAbort = (): void => {
    interrupted = true
    status('stopping: peers finish their round and write checkpoints')
    stopAll()
  }
  options.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    await Promise.race([allListening, anyFailure])
    // Peers resume together from the earliest checkpoint, so no one waits for a round its
    // neighbours have already left behind.
    const resumed = Object.values(resumeRounds)
    let startRound = resumed.length === localNodes.length ? Math.min(...resumed) : 0
    status(`all ${addresses.length} peers listening; tfjs backend ${[...backends].join(', ')}`)
    const reachable = bootstrapAddrs(addresses.filter((a) => honestSet.has(a.id)))
    if (options.open === true || only !== undefined) {
      writeFileSync(join(runDir, 'bootstrap.txt'), reachable.join('\n') + '\n')
      options.onBootstrap?.(reachable)
    }
    let book = addresses
    if (only !== undefined && localNodes.length < plan.nodes.length) {
      // Peers elsewhere announce themselves to a bootstrap peer (this host's own first peer when
      // none is given) and learn this host's peers from it.
      const targets = options.bootstrap !== undefined && options.bootstrap.length > 0 ? options.bootstrap : reachable.slice(0, 1)
      const gathered = await Promise.race([
        gatherAddresses(plan, addresses, targets, options.peerWaitMs ?? 300_000, options.signal, status),
        anyFailure
      ])
      book = gathered.book
      status(`all ${plan.nodes.length} peers of the topology known`)
      // Hosts that resume from different rounds would each wait for rounds the others have left:
      // the round of the host bootstrapped from is the swarm's.
      if (gathered.round >= 0 && gathered.round !== startRound) {
        status(gathered.round > startRound
          ? `the other hosts are at round ${gathered.round}: this host's peers start there (they would have started at round ${startRound})`
          : `the other hosts start at round ${gathered.round}: this host's peers start there too and run rounds ${gathered.round}–${startRound - 1} again`)
        startRound = gathered.round
      }
    }
    if (startRound > 0) status(`resuming from round ${startRound}`)
    // Rounds from startRound on are run again.
    dropRoundsFrom(roundsPath, startRound)
    dropRoundsFrom(eventsPath, startRound)
    log('all %d peers listening; starting at round %d', addresses.length, startRound)
    running = { book }
    for (const child of children) send(child, { type: 'start', book, startRound })
    await Promise.race([Promise.all(slotDone), anyFailure])
    return finish(startRound)
  } catch (error) {
    stopAll()
    await Promise.race([Promise.all(slotDone), new Promise((resolve) => setTimeout(resolve, 10_000))])
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
    writeSummary(0, (error as Error).message)
    throw error
  } finally {
    options.signal?.removeEventListener('abort', onAbort)
  }

  function delivery (): DeliveryReport {
    return ledger.report(finals.filter((p) => honestSet.has(p.id)).map((p) => p.rejectedFrom))
  }

  function finish (startRound: number): SwarmResult {
    const result: SwarmResult = {
      swarm: plan.swarm,
      runDir,
      rounds,
      final: [...rounds].reverse().find((r) => r.accuracy !== undefined),
      peers: finals.sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true })),
      interrupted,
      startRound,
      wallMs: Date.now() - started,
      delivery: delivery()
    }
    writeSummary(startRound)
    return result
  }

  function writeSummary (startRound: number, error?: string): void {
    const final = [...rounds].reverse().find((r) => r.accuracy !== undefined)
    const summary = {
      swarm: plan.swarm,
      topology: plan.options.topology.name,
      rule: plan.options.rule,
      attack: plan.options.attack,
      byzantine: plan.byzantine,
      overrun: plan.overrun,
      delivery: delivery(),
      checkpointFailures: finals.reduce((a, p) => a + p.checkpointFailures, 0),
      metricsFailures: finals.reduce((a, p) => a + (p.metricsFailures ?? 0), 0),
      runLogFailures: logFailures,
      startRound,
      roundsCompleted: rounds.length,
      interrupted,
      ...(error === undefined ? {} : { error }),
      final,
      medianRoundMs: medianOrZero(rounds.map((r) => r.roundMs)),
      medianRssPerPeer: medianOrZero(rounds.map((r) => r.rssPerPeer)),
      peers: finals,
      wallMs: Date.now() - started
    }
    // Atomically: a full disk or a crash leaves the previous summary, never half of one.
    writeFileAtomic(join(runDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n')
  }
}
