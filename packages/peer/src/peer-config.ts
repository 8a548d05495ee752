// One node's configuration, and the one path from it to a learner and a round engine. A launched
// peer gets it from the swarm plan, a joiner from the swarm manifest, the in-process simulator
// from the plan again: whatever runs a node, the node trains, seeds and mixes the same way.

import type { Aggregator } from '@murmur/robust'
import type { LrSchedule } from '@murmur/learn'
import { parseBehaviour } from './round/byzantine.ts'
import type { RoundEngineOptions } from './round/engine.ts'
import type { Dtype } from './wire/frame.ts'
import { createLearner } from './round/learner.ts'
import type { SwarmManifest } from './wire/manifest.ts'
import type { NodePlan, SwarmPlan } from './swarm/plan.ts'
import { loadNodeData, type NodeData, type TaskConfig } from './round/task.ts'
import type { CollusionChannel, Learner, ModelTransport, ShortfallPolicy, TolerancePolicy } from './round/types.ts'

/** How every node of a swarm trains locally. */
export interface TrainingConfig {
  /** Local SGD steps K per round. */
  localSteps: number
  lr: number
  momentum: number
  batchSize: number
  /** L2 weight decay λ (0: none). */
  weightDecay: number
  /** Learning rate over the node's SGD steps (the step count survives a resume). */
  schedule: LrSchedule
}

export interface PeerConfig {
  swarm: string
  task: TaskConfig
  /** Nodes of the launched topology: the task's data is split over them. */
  nodes: number
  training: TrainingConfig
  mixing: {
    /** Rule spec of @murmur/robust, e.g. `nnm+cwtm`. */
    rule: string
    shortfall: ShortfallPolicy
    /** 'global': one f for the whole swarm; 'per-node': each node's f_i from μ_H. */
    tolerance: TolerancePolicy['kind']
    /** The f a newcomer runs with, as this node's manifest tells it (the largest honest f_i). */
    joinerF: number
  }
  schedule: {
    rounds: number
    roundTimeoutMs: number
    evalEvery: number
  }
  dtype: Dtype
  /** 'independent': this node draws its own initial model instead of the swarm's shared one. */
  initialization: 'shared' | 'independent'
  /** Seed of the batch order, the rule's and the attacks' randomness. */
  seed: number

  /** This node: its id, its slot in the topology (picks its data partition and seeds). */
  id: string
  index: number
  neighbours: readonly string[]
  /** The neighbours' degrees, same order (Metropolis weights). */
  neighbourDegrees: readonly number[]
  /** Tolerance the node's rule runs with. */
  f: number
  byzantine: boolean
  /** Byzantine only: the behaviour spec. */
  behaviour?: string
  /**
   * The Byzantine ids the launcher chose: a Byzantine node colludes with them, an honest one of
   * an open swarm never takes them on as new neighbours.
   */
  colluders: readonly string[]
  /** The whole topology's adjacency (Byzantine attacks aim at receivers with it). */
  adjacency: ReadonlyMap<string, readonly string[]>
}

/** What runs the engine: everything of RoundEngineOptions that is not configuration. */
export interface EngineSeams {
  transport: ModelTransport
  learner: Learner
  /** Byzantine only: the channel to the colluders. */
  collusion?: CollusionChannel
  /** An open swarm's changing neighbourhood (honest nodes only). */
  neighbourSet?: RoundEngineOptions['neighbourSet']
  checkpointDir?: string
  startRound?: number
  signal?: AbortSignal
  metrics?: RoundEngineOptions['metrics']
  onRound?: RoundEngineOptions['onRound']
  /** Runs this rule object instead of the configured spec (e.g. one that watches the aggregations). */
  rule?: string | Aggregator
}

const adjacencies = new WeakMap<SwarmPlan, ReadonlyMap<string, readonly string[]>>()

/** Adjacency of a plan's topology, built once per plan (every node's config shares it). */
function adjacencyOf (plan: SwarmPlan): ReadonlyMap<string, readonly string[]> {
  let adjacency = adjacencies.get(plan)
  if (adjacency === undefined) {
    adjacency = new Map(plan.nodes.map((n) => [n.id, n.neighbours]))
    adjacencies.set(plan, adjacency)
  }
  return adjacency
}

/** The largest f among the honest nodes of a plan: what a newcomer runs with. */
export function joinerTolerance (plan: SwarmPlan): number {
  return Math.max(0, ...plan.nodes.filter((n) => !n.byzantine).map((n) => n.f))
}

/** Node `node` of a planned swarm. */
export function peerConfigFromPlan (plan: SwarmPlan, node: NodePlan): PeerConfig {
  const o = plan.options
  return {
    swarm: plan.swarm,
    task: o.task,
    nodes: plan.nodes.length,
    training: { localSteps: o.localSteps, lr: o.lr, momentum: o.momentum, batchSize: o.batchSize, weightDecay: o.weightDecay, schedule: o.lrSchedule },
    mixing: { rule: o.rule, shortfall: o.shortfall, tolerance: o.f === 'auto' ? 'per-node' : 'global', joinerF: joinerTolerance(plan) },
    schedule: { rounds: o.rounds, roundTimeoutMs: o.roundTimeoutMs, evalEvery: o.evalEvery },
    dtype: o.dtype,
    initialization: o.initialization,
    seed: o.seed,
    id: node.id,
    index: node.index,
    neighbours: node.neighbours,
    neighbourDegrees: node.neighbourDegrees,
    f: node.f,
    byzantine: node.byzantine,
    ...(node.byzantine ? { behaviour: o.attack } : {}),
    colluders: plan.byzantine,
    adjacency: adjacencyOf(plan)
  }
}

export interface JoinerIdentity {
  id: string
  /** Slot of the newcomer: it seeds the batch order (the swarm's nodes hold 0..nodes − 1). */
  index: number
  /** The tolerance it runs with (at most the manifest's joinerF). */
  f: number
}

/**
 * A newcomer of the swarm a manifest describes. It starts without neighbours (it asks for them)
 * and from its neighbours' models, so the swarm's initialization does not apply.
 */
export function peerConfigFromManifest (manifest: SwarmManifest, joiner: JoinerIdentity): PeerConfig {
  const { seed, ...training } = manifest.training
  return {
    swarm: manifest.swarm,
    task: manifest.task,
    nodes: manifest.nodes,
    training,
    mixing: {
      rule: manifest.mixing.rule,
      shortfall: manifest.mixing.shortfall,
      tolerance: manifest.mixing.f === 'auto' ? 'per-node' : 'global',
      joinerF: manifest.mixing.joinerF
    },
    schedule: { rounds: manifest.schedule.rounds, roundTimeoutMs: manifest.schedule.roundTimeoutMs, evalEvery: manifest.schedule.evalEvery },
    dtype: manifest.mixing.dtype,
    initialization: 'shared',
    seed,
    id: joiner.id,
    index: joiner.index,
    neighbours: [],
    neighbourDegrees: [],
    f: joiner.f,
    byzantine: false,
    colluders: [],
    adjacency: new Map()
  }
}

/**
 * Seed of node `index`'s batch order: its own per node, and the same for a node wherever it runs
 * (exact in doubles for any 32-bit seed; createRng keeps the low 32 bits).
 */
export function batchSeed (seed: number, index: number): number {
  return seed * 100_003 + index
}

/** The node's partition of the task's data. */
export async function loadPeerData (config: PeerConfig): Promise<NodeData> {
  return await loadNodeData(config.task, config.index, config.nodes)
}

/** The node's learner over `data`: its initial model and its optimiser, decided here only. */
export function createNodeLearner (config: PeerConfig, data: NodeData): Learner {
  // Independent: a model seed of its own per node, away from the shared one (offset 0).
  const model = config.initialization === 'independent'
    ? { ...data.model, seed: (data.model.seed ?? 0) + 1 + config.index }
    : data.model
  const t = config.training
  return createLearner({
    data: { ...data, model },
    trainer: { lr: t.lr, momentum: t.momentum, batchSize: t.batchSize, weightDecay: t.weightDecay, schedule: t.schedule, seed: batchSeed(config.seed, config.index) }
  })
}

/** The round engine's options for a configured node run over `seams`. */
export function engineOptions (config: PeerConfig, seams: EngineSeams): RoundEngineOptions {
  const behaviour = config.byzantine && config.behaviour !== undefined && config.behaviour !== 'none'
    ? parseBehaviour(config.behaviour)
    : undefined
  return {
    self: config.id,
    neighbours: config.neighbours,
    neighbourDegrees: config.neighbourDegrees,
    ...(seams.neighbourSet === undefined ? {} : { neighbourSet: seams.neighbourSet }),
    transport: seams.transport,
    learner: seams.learner,
    rule: seams.rule ?? config.mixing.rule,
    tolerance: { kind: config.mixing.tolerance, f: config.f },
    shortfall: config.mixing.shortfall,
    localSteps: config.training.localSteps,
    roundTimeoutMs: config.schedule.roundTimeoutMs,
    rounds: config.schedule.rounds,
    evalEvery: config.schedule.evalEvery,
    swarm: config.swarm,
    dtype: config.dtype,
    seed: config.seed,
    ...(behaviour === undefined ? {} : { behaviour, colluders: config.colluders, graph: config.adjacency }),
    ...(seams.collusion === undefined ? {} : { collusion: seams.collusion }),
    ...(seams.checkpointDir === undefined ? {} : { checkpointDir: seams.checkpointDir }),
    ...(seams.startRound === undefined ? {} : { startRound: seams.startRound }),
    ...(seams.signal === undefined ? {} : { signal: seams.signal }),
    ...(seams.metrics === undefined ? {} : { metrics: seams.metrics }),
    ...(seams.onRound === undefined ? {} : { onRound: seams.onRound })
  }
}
