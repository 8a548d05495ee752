// One murmur peer: a libp2p node with its persistent identity, the model exchange, the control
// plane, its local learner and the round engine, assembled from a peer configuration (of a
// launched node, or of a newcomer).

import { peerIdFromString } from '@libp2p/peer-id'
import { createRng, permutation } from '@murmur/robust'
import { multiaddr } from '@multiformats/multiaddr'
import { PeerAccess, strangerPolicy, type ConnectionRefusals } from './net/access.ts'
import { loadCheckpoint } from './round/checkpoint.ts'
import { createCollusionChannel } from './net/collusion.ts'
import { createControlPlane, heartbeatDue, heartbeatPeriod } from './net/control.ts'
import { RoundEngine } from './round/engine.ts'
import { createModelExchange, exchangeTimeouts } from './net/exchange.ts'
import { loadOrCreateIdentity } from './net/identity.ts'
import { logger } from './log.ts'
import { manifestFromConfig } from './wire/manifest.ts'
import { createMetricsLog, type MetricsLog } from './round/metrics.ts'
import { NeighbourSet, type EdgeEvent } from './open/neighbours.ts'
import { createMurmurNode, type MurmurNode } from './net/node.ts'
import {
  bookEntry, createOpenSwarmServices, Directory, fetchState, requestNeighbour, type MemberRecord
} from './open/open-swarm.ts'
import { createNodeLearner, engineOptions, loadPeerData, peerConfigFromPlan, type PeerConfig } from './peer-config.ts'
import { peerRefusals, type PeerRefusals } from './net/refusals.ts'
import type { PeerAddress, PeerFinal } from './swarm/protocol.ts'
import type { NodePlan, SwarmPlan } from './swarm/plan.ts'
import type { NodeData } from './round/task.ts'
import type { RoundMetrics } from './round/types.ts'
import { appendFileSync } from 'node:fs'
import { join } from 'node:path'

interface PeerSetup {
  /** identity.key, checkpoints and metrics.jsonl live here. */
  stateDir: string
  listen: string[]
  /** Addresses to announce instead of the listen addresses (another host must reach them). */
  announce?: string[]
  /** Accept newcomers as neighbours (`launch --open`; a joiner always is). */
  open?: boolean
  /**
   * PeerIds that may connect besides the swarm's own peers (`--allow`). Without it a closed swarm
   * admits its own peers only and an open one anyone; with it, an open swarm too admits only these.
   */
  allow?: readonly string[]
  /** Other hosts run the rest of the topology: until the book is complete, their launchers must reach this peer. */
  multiHost?: boolean
  /** The node's data, when it is not partition `index` of the task's (a joiner's own data). */
  data?: NodeData
  /** The degree the node keeps up by finding new neighbours (default: its topology degree). */
  targetDegree?: number
  /** Peers in the swarm, which sets how often this one heartbeats (default: the configured nodes). */
  swarmSize?: number
}

/** A peer of a configuration, or node `node` of a plan. */
export type PeerOptions = PeerSetup & ({ config: PeerConfig } | { plan: SwarmPlan, node: NodePlan })

export interface RunOptions {
  /** First round to run (the launcher aligns resumed peers on one round). */
  startRound: number
  signal?: AbortSignal
  onRound?: (metrics: RoundMetrics, params: Float32Array) => void
}

export interface MurmurPeer {
  readonly id: string
  address: () => PeerAddress
  /** The round a restart continues at: one past the checkpoint's, 0 without one. */
  resumeRound: () => number
  /** Learns where every other peer listens (and who colludes, for a Byzantine peer). */
  connect: (book: readonly PeerAddress[]) => Promise<void>
  /**
   * Opens the connections to its topology neighbours (after connect). Left to round 0's sends, a
   * whole swarm's noise handshakes fall inside the first round's deadline: at 128 peers on one
   * machine that round lost a third of its models.
   */
  dialNeighbours: () => Promise<void>
  run: (options: RunOptions) => Promise<PeerFinal>
  stop: () => Promise<void>
  /** Parameters of the model. */
  readonly dimension: number
  /** The libp2p node (for the open-swarm calls of a joiner). */
  readonly libp2p: MurmurNode
  /** Who this peer knows: the launch's address book, announcements, newcomers. */
  readonly directory: Directory
  /**
   * Asks peers from `candidates` (in order) to become neighbours from round `from`, until
   * `want` accepted. Returns the accepted ids; a peer that answers `too-late` reports its round
   * in `behind` so the caller can retry with a later start.
   */
  requestNeighbours: (candidates: readonly MemberRecord[], want: number, from: number) => Promise<{ accepted: string[], latestRound: number, declined: Record<string, string> }>
  /** Fetches the current models of `sources`, keyed by node id (unreachable ones left out). */
  fetchModels: (sources: readonly MemberRecord[]) => Promise<Map<string, { round: number, params: Float32Array }>>
  /** Starts from `params` instead of the task's initial model. */
  setInitialParams: (params: Float32Array) => void
  /** Connections refused or closed by the access control so far. */
  connectionRefusals: () => ConnectionRefusals
  /** Frames, control messages and requests refused so far, by reason and by sender. */
  refusals: () => PeerRefusals
}

/** Builds and starts a peer (listening, not yet running rounds). */
export async function createPeer (options: PeerOptions): Promise<MurmurPeer> {
  const config = 'config' in options ? options.config : peerConfigFromPlan(options.plan, options.node)
  const { stateDir } = options
  const log = logger(`peer:${config.id}`)
  const privateKey = await loadOrCreateIdentity(stateDir)
  const learner = createNodeLearner(config, options.data ?? await loadPeerData(config))
  // The node starts listening last, and a setup step that fails stops it again: a peer that could
  // not be built leaves no listener (nor its event-loop handles) behind.
  const access = new PeerAccess({
    strangers: strangerPolicy({ open: options.open ?? false, ...(options.allow === undefined ? {} : { allow: options.allow }), multiHost: options.multiHost }),
    ...(options.allow === undefined ? {} : { allow: options.allow }),
    log: logger(`access:${config.id}`)
  })
  const libp2p = await createMurmurNode({ privateKey, listen: options.listen, ...(options.announce === undefined ? {} : { announce: options.announce }), access })
  const orStop = async <T>(step: Promise<T>): Promise<T> => {
    try {
      return await step
    } catch (error) {
      try { await libp2p.stop() } catch {}
      learner.dispose()
      throw error
    }
  }
  // Frames count under their sender only while it is a neighbour: the topology's until an open
  // swarm's changing neighbourhood exists (below).
  const topologyNeighbours = new Set(config.neighbours)
  let isNeighbour = (id: string): boolean => topologyNeighbours.has(id)
  const exchange = createModelExchange(libp2p, {
    swarm: config.swarm,
    self: config.id,
    dimension: learner.dimension,
    dtype: config.dtype,
    isNeighbour: (id) => isNeighbour(id),
    ...exchangeTimeouts(config.schedule.roundTimeoutMs)
  })
  await orStop(exchange.start())
  // A closed swarm's members are the topology's nodes: a message about any other id is refused.
  const knownIds = new Set([config.id, ...config.adjacency.keys()])
  const control = createControlPlane(libp2p, { swarm: config.swarm, self: config.id, ...(options.open === true ? {} : { known: knownIds }) })
  await orStop(control.start())
  const checkpoint = await orStop(loadCheckpoint(stateDir))
  let collusion: ReturnType<typeof createCollusionChannel> | undefined
  const open = options.open ?? false

  // The open-swarm side: who is who, the neighbourhood that may change, the four small services.
  const directory = new Directory()
  const address = (): PeerAddress => ({ id: config.id, peerId: libp2p.peerId.toString(), addrs: libp2p.getMultiaddrs().map(String) })
  directory.bind(address())
  const edgesPath = join(stateDir, 'edges.jsonl')
  const recordEdge = (event: EdgeEvent): void => {
    log('%s neighbour %s at round %d%s', event.event, event.neighbour, event.round, event.reason === undefined ? '' : ` (${event.reason})`)
    try { appendFileSync(edgesPath, JSON.stringify(event) + '\n') } catch {}
  }
  let round = checkpoint === undefined ? 0 : checkpoint.round + 1
  let repairing = false
  // Only an open swarm's neighbourhood changes: a configured topology's edges are kept for the
  // whole run, whatever a neighbour's silence (the engine counts each missed model).
  const neighbourSet = config.byzantine || !open
    ? undefined
    : new NeighbourSet({
      self: config.id,
      initial: config.neighbours.map((id, k) => ({ id, degree: config.neighbourDegrees[k] })),
      target: options.targetDegree ?? config.neighbours.length,
      onEvent: recordEdge,
      // Below half its degree, a node looks for new neighbours among the peers it knows.
      onLow: (have, target) => {
        if (repairing) return
        repairing = true
        const candidates = directory.list().filter((r) => r.id !== config.id && neighbourSet?.has(r.id) !== true && neighbourSet?.coolingDown(r.id) !== true && !config.colluders.includes(r.id))
        log('only %d of %d neighbours left: asking %d known peers', have, target, candidates.length)
        peer.requestNeighbours(shuffle(candidates, round * 7919 + config.index), target - have, round + 2)
          .catch((error: Error) => { log('finding new neighbours failed: %s', error.message) })
          .finally(() => { repairing = false })
      }
    })
  if (neighbourSet !== undefined) isNeighbour = (id) => neighbourSet.has(id)
  const services = createOpenSwarmServices(libp2p, {
    self: config.id,
    swarm: config.swarm,
    dimension: learner.dimension,
    dtype: config.dtype,
    directory,
    manifest: () => manifestFromConfig(config, learner.dimension, round, open),
    round: () => round,
    params: () => learner.getParams(),
    ...(neighbourSet === undefined ? {} : { neighbours: neighbourSet }),
    addPeer: async (id, entry) => {
      access.addMember(entry.peerId.toString())
      await exchange.addPeer(id, entry)
    },
    open
  })
  await orStop(services.start())
  // A closed swarm's members are the topology's nodes: an announcement of any other id is noise.
  control.on('membership', (m) => {
    if (!open && !knownIds.has(m.node)) return
    directory.bind({ id: m.node, peerId: m.peerId, addrs: m.addrs })
  })
  control.on('heartbeat', (m) => { directory.heard(m.node, m.round) })
  log('listening on %s', libp2p.getMultiaddrs().map(String).join(', '))

  const peer: MurmurPeer = {
    id: config.id,
    dimension: learner.dimension,
    libp2p,
    directory,
    address,
    resumeRound: () => checkpoint === undefined ? 0 : checkpoint.round + 1,
    async requestNeighbours (candidates, want, from) {
      const accepted: string[] = []
      const declined: Record<string, string> = {}
      let latestRound = 0
      const self = address()
      for (const candidate of candidates) {
        if (accepted.length >= want) break
        if (candidate.id === config.id || neighbourSet === undefined) continue
        try {
          const entry = bookEntry(candidate)
          await libp2p.peerStore.merge(entry.peerId, { multiaddrs: entry.multiaddrs })
          const answer = await requestNeighbour(libp2p, entry.peerId, { node: config.id, addrs: self.addrs, degree: neighbourSet.target, from }, { timeoutMs: 5000 })
          latestRound = Math.max(latestRound, answer.round)
          if (!answer.ok) {
            declined[candidate.id] = answer.reason
            log('%s declined to be a neighbour: %s (at round %d)', candidate.id, answer.reason, answer.round)
            continue
          }
          directory.bind(candidate)
          access.addMember(entry.peerId.toString())
          await exchange.addPeer(candidate.id, entry)
          if (neighbourSet.add(candidate.id, answer.degree, from)) accepted.push(candidate.id)
          else declined[candidate.id] = 'not taken here (full, or dropped too recently)'
        } catch (error) {
          declined[candidate.id] = (error as Error).message
          log('could not ask %s to be a neighbour: %s', candidate.id, (error as Error).message)
        }
      }
      return { accepted, latestRound, declined }
    },
    async fetchModels (sources) {
      const models = new Map<string, { round: number, params: Float32Array }>()
      await Promise.all(sources.map(async (source) => {
        try {
          const entry = bookEntry(source)
          await libp2p.peerStore.merge(entry.peerId, { multiaddrs: entry.multiaddrs })
          const state = await fetchState(libp2p, entry.peerId, { swarm: config.swarm, dimension: learner.dimension }, { timeoutMs: 10_000 })
          if (state.sender !== source.id) throw new Error(`the model is labelled ${state.sender}`)
          models.set(source.id, { round: state.round, params: state.params })
        } catch (error) {
          log('no model from %s: %s', source.id, (error as Error).message)
        }
      }))
      return models
    },
    setInitialParams (params) {
      if (params.length !== learner.dimension) throw new RangeError(`initial model has ${params.length} parameters, the model ${learner.dimension}`)
      learner.setParams(params)
    },
    connectionRefusals: () => access.refusals(),
    refusals: () => peerRefusals({ exchange, control, services }),
    async connect (book) {
      const entries = new Map(book.map((p) => [p.id, { peerId: peerIdFromString(p.peerId), multiaddrs: p.addrs.map((a) => multiaddr(a)) }]))
      access.setMembers(book.map((p) => p.peerId))
      for (const p of book) directory.bind(p)
      await exchange.setAddressBook(entries)
      control.setPeers(new Map([...entries].map(([id, e]) => [id, e.peerId])))
      if (config.byzantine) {
        const colluders = new Map([...entries].filter(([id]) => config.colluders.includes(id)).map(([id, e]) => [id, e.peerId]))
        collusion = createCollusionChannel(libp2p, { swarm: config.swarm, self: config.id, dimension: learner.dimension, colluders })
        await collusion.start()
      }
      const self = entries.get(config.id)
      if (self !== undefined) control.publish({ type: 'membership', node: config.id, peerId: libp2p.peerId.toString(), addrs: self.multiaddrs.map(String) })
      control.publish({ type: 'manifest', node: config.id, manifest: manifestFromConfig(config, learner.dimension, round, open) })
    },
    async dialNeighbours () {
      // Each pair is dialled once, from its smaller id; a failure only means round 0 dials.
      await Promise.all(config.neighbours.filter((id) => id > config.id).map(async (id) => {
        const entry = directory.get(id)
        if (entry === undefined) return
        try {
          await libp2p.dial(peerIdFromString(entry.peerId), { signal: AbortSignal.timeout(10_000) })
        } catch (error) {
          log('could not dial neighbour %s before the first round: %s', id, (error as Error).message)
        }
      }))
    },
    async run (run) {
      const metricsLog = createMetricsLog(join(stateDir, 'metrics.jsonl'), { from: run.startRound })
      const beatEvery = heartbeatPeriod(options.swarmSize ?? config.nodes)
      round = run.startRound
      const engine = new RoundEngine(engineOptions(config, {
        transport: exchange,
        learner,
        ...(neighbourSet === undefined ? {} : { neighbourSet }),
        ...(collusion === undefined ? {} : { collusion }),
        checkpointDir: stateDir,
        startRound: run.startRound,
        ...(run.signal === undefined ? {} : { signal: run.signal }),
        onRound: (metrics: RoundMetrics, params: Float32Array) => {
          round = metrics.round + 1
          metricsLog.write(metrics)
          // The launcher hears of lost lines with the round (its progress line warns).
          const lost = metricsLog.failures().count
          if (lost > 0) metrics.writeFailures = (metrics.writeFailures ?? 0) + lost
          if (heartbeatDue(metrics.round, config.index, beatEvery)) {
            control.publish({ type: 'heartbeat', node: config.id, round: metrics.round, time: Date.now() })
          }
          // Now and then the manifest too, for whoever subscribed since.
          if (heartbeatDue(metrics.round, config.index, 10 * beatEvery)) {
            control.publish({ type: 'manifest', node: config.id, manifest: manifestFromConfig(config, learner.dimension, round, open) })
          }
          run.onRound?.(metrics, params)
        }
      }))
      try {
        const summary = await engine.run()
        control.publish({
          type: 'summary',
          node: config.id,
          round: summary.lastRound,
          ...(summary.accuracy === undefined ? {} : { accuracy: summary.accuracy }),
          ...(summary.testLoss === undefined ? {} : { loss: summary.testLoss }),
          rejected: { ...exchange.rejections() }
        })
        return {
          id: config.id,
          byzantine: config.byzantine,
          lastRound: summary.lastRound,
          ...(summary.accuracy === undefined ? {} : { accuracy: summary.accuracy }),
          ...(summary.testLoss === undefined ? {} : { testLoss: summary.testLoss }),
          rejected: { ...exchange.rejections() },
          rejectedFrom: { ...exchange.rejectionsBySender() },
          skippedBehind: summary.skippedBehind,
          checkpointFailures: summary.checkpointFailures,
          ...(summary.checkpointError === undefined ? {} : { checkpointError: summary.checkpointError }),
          ...metricsFailures(metricsLog),
          connectionRefusals: access.refusals(),
          refusals: peerRefusals({ exchange, control, services })
        }
      } finally {
        await metricsLog.close()
      }
    },
    async stop () {
      await services.stop()
      await control.stop()
      await collusion?.stop()
      await exchange.stop()
      await libp2p.stop()
      learner.dispose()
    }
  }
  return peer
}

/** A seeded shuffle, so peer sampling differs between nodes and rounds. */
function shuffle<T> (items: readonly T[], seed: number): T[] {
  const order = permutation(items.length, createRng(seed >>> 0))
  return Array.from(order, (k) => items[k])
}

/** A metrics log's failed writes, as the peer's final result carries them (nothing when none). */
function metricsFailures (log: MetricsLog): Pick<PeerFinal, 'metricsFailures' | 'metricsError'> {
  const { count, error } = log.failures()
  return count === 0 ? {} : { metricsFailures: count, ...(error === undefined ? {} : { metricsError: error }) }
}
