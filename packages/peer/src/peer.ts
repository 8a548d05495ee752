// One murmur peer: a libp2p node with its persistent identity, the model exchange, the control
// plane, its local learner and the round engine, assembled from a swarm plan.

import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { parseBehaviour } from './byzantine.ts'
import { loadCheckpoint } from './checkpoint.ts'
import { createCollusionChannel } from './collusion.ts'
import { createControlPlane } from './control.ts'
import { RoundEngine } from './engine.ts'
import { createModelExchange } from './exchange.ts'
import { loadOrCreateIdentity } from './identity.ts'
import { createLearner } from './learner.ts'
import { logger } from './log.ts'
import { createMetricsLog } from './metrics.ts'
import { createMurmurNode } from './node.ts'
import type { PeerAddress, PeerFinal } from './swarm-protocol.ts'
import type { NodePlan, SwarmPlan } from './swarm-plan.ts'
import { loadNodeData } from './task.ts'
import type { RoundMetrics } from './types.ts'
import { join } from 'node:path'

export interface PeerOptions {
  plan: SwarmPlan
  node: NodePlan
  /** identity.key, checkpoints and metrics.jsonl live here. */
  stateDir: string
  listen: string[]
}

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
  run: (options: RunOptions) => Promise<PeerFinal>
  stop: () => Promise<void>
}

/** Builds and starts a peer (listening, not yet running rounds). */
export async function createPeer (options: PeerOptions): Promise<MurmurPeer> {
  const { plan, node, stateDir } = options
  const log = logger(`peer:${node.id}`)
  const privateKey = await loadOrCreateIdentity(stateDir)
  const libp2p = await createMurmurNode({ privateKey, listen: options.listen })
  const behaviour = node.byzantine ? parseBehaviour(plan.options.attack) : undefined
  const loaded = await loadNodeData(plan.options.task, node.index, plan.nodes.length)
  const data = plan.options.initialization === 'independent'
    ? { ...loaded, model: { ...loaded.model, seed: (loaded.model.seed ?? 0) + 1 + node.index } }
    : loaded
  const seed = plan.options.task.seed ?? 0
  const learner = createLearner({
    data,
    // Each node its own batch order; the model seed (shared initial parameters) is in data.model.
    trainer: { lr: plan.options.lr, momentum: plan.options.momentum, batchSize: plan.options.batchSize, seed: seed * 100_003 + node.index }
  })
  const exchange = createModelExchange(libp2p, {
    swarm: plan.swarm,
    self: node.id,
    dimension: learner.dimension,
    dtype: plan.options.dtype
  })
  await exchange.start()
  const control = createControlPlane(libp2p, { swarm: plan.swarm, self: node.id })
  await control.start()
  const checkpoint = await loadCheckpoint(stateDir)
  let collusion: ReturnType<typeof createCollusionChannel> | undefined
  const graph = new Map(plan.nodes.map((n) => [n.id, n.neighbours]))
  log('listening on %s', libp2p.getMultiaddrs().map(String).join(', '))

  return {
    id: node.id,
    address: () => ({ id: node.id, peerId: libp2p.peerId.toString(), addrs: libp2p.getMultiaddrs().map(String) }),
    resumeRound: () => checkpoint === undefined ? 0 : checkpoint.round + 1,
    async connect (book) {
      const entries = new Map(book.map((p) => [p.id, { peerId: peerIdFromString(p.peerId), multiaddrs: p.addrs.map((a) => multiaddr(a)) }]))
      await exchange.setAddressBook(entries)
      control.setPeers(new Map([...entries].map(([id, e]) => [id, e.peerId])))
      if (node.byzantine) {
        const colluders = new Map([...entries].filter(([id]) => plan.byzantine.includes(id)).map(([id, e]) => [id, e.peerId]))
        collusion = createCollusionChannel(libp2p, { swarm: plan.swarm, self: node.id, dimension: learner.dimension, colluders })
        await collusion.start()
      }
      const self = entries.get(node.id)
      if (self !== undefined) control.publish({ type: 'membership', node: node.id, peerId: libp2p.peerId.toString(), addrs: self.multiaddrs.map(String) })
    },
    async run (run) {
      const metricsLog = createMetricsLog(join(stateDir, 'metrics.jsonl'))
      const engine = new RoundEngine({
        self: node.id,
        neighbours: node.neighbours,
        neighbourDegrees: node.neighbourDegrees,
        transport: exchange,
        learner,
        rule: plan.options.rule,
        tolerance: { kind: plan.options.f === 'auto' ? 'per-node' : 'global', f: node.f },
        shortfall: plan.options.shortfall,
        localSteps: plan.options.localSteps,
        roundTimeoutMs: plan.options.roundTimeoutMs,
        rounds: plan.options.rounds,
        evalEvery: plan.options.evalEvery,
        swarm: plan.swarm,
        dtype: plan.options.dtype,
        seed,
        ...(behaviour === undefined ? {} : { behaviour, colluders: plan.byzantine, graph }),
        ...(collusion === undefined ? {} : { collusion }),
        checkpointDir: stateDir,
        startRound: run.startRound,
        ...(run.signal === undefined ? {} : { signal: run.signal }),
        onRound: (metrics: RoundMetrics, params: Float32Array) => {
          metricsLog.write(metrics)
          control.publish({ type: 'heartbeat', node: node.id, round: metrics.round, time: Date.now() })
          run.onRound?.(metrics, params)
        }
      })
      try {
        const summary = await engine.run()
        control.publish({
          type: 'summary',
          node: node.id,
          round: summary.lastRound,
          ...(summary.accuracy === undefined ? {} : { accuracy: summary.accuracy }),
          ...(summary.testLoss === undefined ? {} : { loss: summary.testLoss }),
          rejected: { ...exchange.rejections() }
        })
        return {
          id: node.id,
          byzantine: node.byzantine,
          lastRound: summary.lastRound,
          ...(summary.accuracy === undefined ? {} : { accuracy: summary.accuracy }),
          ...(summary.testLoss === undefined ? {} : { testLoss: summary.testLoss }),
          rejected: { ...exchange.rejections() }
        }
      } finally {
        await metricsLog.close()
      }
    },
    async stop () {
      await control.stop()
      await collusion?.stop()
      await exchange.stop()
      await libp2p.stop()
      learner.dispose()
    }
  }
}
