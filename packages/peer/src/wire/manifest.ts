// The swarm manifest: everything a newcomer must agree on to train with a swarm (task, model,
// optimiser, mixing rule and tolerance policy, round schedule, wire format, protocol version).
// Every peer serves it on /murmur/manifest/1.0.0 and announces it on the control topic.

import type { LrSchedule } from '@murmur/learn'
import { parseRuleSpec } from '@murmur/robust'
import { TOPOLOGY_LIMITS } from '@murmur/topology'
import type { PeerConfig, TrainingConfig } from '../peer-config.ts'
import { peerConfigFromPlan } from '../peer-config.ts'
import { checkLrSchedule, SwarmConfigError, type LrScheduleError, type SwarmPlan } from '../swarm/plan.ts'
import { validateTaskConfig, type TaskConfig } from '../round/task.ts'
import type { ShortfallPolicy } from '../round/types.ts'

/**
 * The version of murmur's swarm protocols (frames, model exchange, manifest, membership,
 * neighbour requests, state sync). Peers of different versions cannot train together.
 */
export const PROTOCOL_VERSION = 1

export const MANIFEST_PROTOCOL = '/murmur/manifest/1.0.0'

/**
 * The range of every number a manifest carries. A manifest comes from the network, and a joiner
 * sizes its model, data, timers and loops by it, so nothing in it is unbounded. Lower bounds are
 * in parseManifest (counts ≥ 1, rates ≥ 0).
 */
export const MANIFEST_LIMITS = {
  /** Nodes of the launched topology, and so its tolerance f (a topology holds at most this many). */
  nodes: TOPOLOGY_LIMITS.nodes,
  /** Parameters of the model: 2^28 make a 1 GiB frame of f32. */
  dimension: 2 ** 28,
  /** Rounds, evaluation period and the current round: frames carry the round in 32 bits. */
  rounds: 0xffffffff,
  /** A round's wait, ms (one day): the exchange waits three rounds, within a timer's 2^31 ms. */
  roundTimeoutMs: 86_400_000,
  localSteps: 1_000_000,
  batchSize: 1_000_000,
  /** The learning rate, and a cosine schedule's floor. */
  lr: 100,
  /** Momentum β, below 1. */
  momentum: 0.999999,
  weightDecay: 1,
  /** SGD steps of a schedule (a step schedule's period, a cosine's length): exact in a double. */
  scheduleSteps: Number.MAX_SAFE_INTEGER,
  /** A step schedule's factor, in (0, 1]: above 1 the rate grows until it overflows. */
  stepGamma: 1,
  /** Characters of the rule spec. */
  rule: 256,
  /** The task's sizes: hidden units, samples per node, test and held-out samples, synthetic dimension. */
  hidden: 65_536,
  samples: 1_000_000,
  syntheticDim: 1_000_000,
  /** The task's positive reals: partition α and β, synthetic noise and heterogeneity. */
  taskReal: 1e6
} as const

export interface SwarmManifest {
  protocol: number
  swarm: string
  /** What is learnt; a joiner loads its own data for it. */
  task: TaskConfig
  /** Nodes of the launched topology (the task's data is partitioned over them). */
  nodes: number
  /** Parameters of the model the task builds: a joiner checks its own build against it. */
  dimension: number
  /**
   * How every node trains, and the run seed (batch order, rule and attack randomness). A manifest
   * of an earlier version has no weightDecay, schedule or seed: 0, constant and the task's seed.
   */
  training: TrainingConfig & { seed: number }
  mixing: {
    rule: string
    /** The swarm's tolerance policy: one f, or 'auto' (each node's f_i from μ_H). */
    f: number | 'auto'
    /** The tolerance a joiner runs with: the largest f_i of the swarm (μ_H says nothing of a newcomer). */
    joinerF: number
    shortfall: ShortfallPolicy
    dtype: 'f32' | 'f16'
  }
  schedule: {
    /** Rounds 0..rounds − 1 make up the run. */
    rounds: number
    /** How long a round waits for the neighbours' models, ms. */
    roundTimeoutMs: number
    evalEvery: number
    /** The round the serving peer is at. */
    round: number
  }
  /** Whether the swarm accepts newcomers as neighbours. */
  open: boolean
}

/** A manifest that is malformed or that this peer cannot train with; the message names the field. */
export class ManifestError extends Error {
  readonly field: string
  constructor (field: string, message: string) {
    super(`manifest ${field}: ${message}`)
    this.name = 'ManifestError'
    this.field = field
  }
}

/** The manifest a configured peer serves. */
export function manifestFromConfig (config: PeerConfig, dimension: number, round: number, open: boolean): SwarmManifest {
  const t = config.training
  return {
    protocol: PROTOCOL_VERSION,
    swarm: config.swarm,
    task: config.task,
    nodes: config.nodes,
    dimension,
    // Field order as parseManifest builds it: hosts compare manifests as JSON text.
    training: { localSteps: t.localSteps, lr: t.lr, momentum: t.momentum, batchSize: t.batchSize, weightDecay: t.weightDecay, schedule: t.schedule, seed: config.seed },
    mixing: {
      rule: config.mixing.rule,
      // A global f is every node's f, so it is also the newcomers' one.
      f: config.mixing.tolerance === 'per-node' ? 'auto' : config.mixing.joinerF,
      joinerF: config.mixing.joinerF,
      shortfall: config.mixing.shortfall,
      dtype: config.dtype
    },
    schedule: { rounds: config.schedule.rounds, roundTimeoutMs: config.schedule.roundTimeoutMs, evalEvery: config.schedule.evalEvery, round },
    open
  }
}

/** The manifest of a planned swarm, as its peers serve it. */
export function manifestOf (plan: SwarmPlan, dimension: number, round: number, open: boolean): SwarmManifest {
  return manifestFromConfig(peerConfigFromPlan(plan, plan.nodes.find((n) => !n.byzantine) ?? plan.nodes[0]), dimension, round, open)
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function int (where: Record<string, unknown>, path: string, key: string, min: number, max: number): number {
  const v = where[key]
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) throw new ManifestError(`${path}${key}`, `expected an integer in [${min}, ${max}], got ${JSON.stringify(v)}`)
  return v as number
}

function num (where: Record<string, unknown>, path: string, key: string, lo: number, hi: number): number {
  const v = where[key]
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) throw new ManifestError(`${path}${key}`, `expected a number in [${lo}, ${hi}], got ${JSON.stringify(v)}`)
  return v
}

function obj (where: Record<string, unknown>, key: string): Record<string, unknown> {
  const v = where[key]
  if (!isObject(v)) throw new ManifestError(key, 'expected an object')
  return v
}

/** The task's numbers that validateTaskConfig leaves unbounded above, checked against MANIFEST_LIMITS. */
function checkTaskBounds (task: Record<string, unknown>): void {
  const L = MANIFEST_LIMITS
  const at = (where: unknown, path: string, key: string, max: number, integer: boolean): void => {
    if (!isObject(where) || where[key] === undefined) return
    const v = where[key]
    if (typeof v === 'number' && v <= max && (!integer || Number.isInteger(v))) return
    throw new ManifestError(`task.${path}${key}`, `expected ${integer ? 'an integer' : 'a number'} ≤ ${max}, got ${JSON.stringify(v)}`)
  }
  at(task, '', 'hidden', L.hidden, true)
  for (const key of ['samplesPerNode', 'testSize', 'heldOutSize']) at(task, '', key, L.samples, true)
  at(task.synthetic, 'synthetic.', 'dim', L.syntheticDim, true)
  for (const key of ['noise', 'heterogeneity']) at(task.synthetic, 'synthetic.', key, L.taskReal, false)
  for (const key of ['alpha', 'beta']) at(task.partition, 'partition.', key, L.taskReal, false)
  at(task.partition, 'partition.', 'shardsPerNode', L.samples, true)
}

/** A step or cosine schedule's numbers within MANIFEST_LIMITS (checkLrSchedule checked their kind and sign). */
function checkScheduleBounds (schedule: LrSchedule): void {
  const L = MANIFEST_LIMITS
  const bad = (key: string, range: string, value: number): never => {
    throw new ManifestError(`training.schedule.${key}`, `expected ${range}, got ${JSON.stringify(value)}`)
  }
  if (schedule.kind === 'step') {
    if (schedule.every > L.scheduleSteps) bad('every', `an integer ≤ ${L.scheduleSteps}`, schedule.every)
    if (schedule.gamma > L.stepGamma) bad('gamma', `a number in (0, ${L.stepGamma}]`, schedule.gamma)
  } else if (schedule.kind === 'cosine') {
    if (schedule.totalSteps > L.scheduleSteps) bad('totalSteps', `an integer ≤ ${L.scheduleSteps}`, schedule.totalSteps)
    if (schedule.minLr !== undefined && schedule.minLr > L.lr) bad('minLr', `a number in [0, ${L.lr}]`, schedule.minLr)
  }
}

/**
 * Refuses a plan whose manifest the swarm's own checks would refuse (a joiner, another host), as
 * a SwarmConfigError naming the field: better before the first peer starts than at the first joiner.
 */
export function checkPlanManifest (plan: SwarmPlan, open: boolean): void {
  try {
    parseManifest(manifestOf(plan, 1, 0, open))
  } catch (error) {
    if (error instanceof ManifestError) throw new SwarmConfigError(error.message.replace(/^manifest /, ''))
    throw error
  }
}

/**
 * Checks a manifest received from a peer, field by field: every number finite and within
 * MANIFEST_LIMITS, the rule a spec of the @murmur/robust registry. The protocol version is
 * checked first, so a peer of another version gets that as the reason, not some field it renamed.
 */
export function parseManifest (value: unknown, expectedProtocol = PROTOCOL_VERSION): SwarmManifest {
  if (!isObject(value)) throw new ManifestError('', 'expected a JSON object')
  if (value.protocol !== expectedProtocol) {
    throw new ManifestError('protocol', `the swarm speaks protocol version ${JSON.stringify(value.protocol)}, this peer speaks version ${expectedProtocol}`)
  }
  // Every frame carries the swarm id in at most 255 bytes of UTF-8.
  if (typeof value.swarm !== 'string' || value.swarm.length === 0 || Buffer.byteLength(value.swarm) > 255) throw new ManifestError('swarm', 'expected a swarm id of 1–255 bytes')
  if (!isObject(value.task)) throw new ManifestError('task', 'expected an object')
  let task: TaskConfig
  let taskSeed: number
  try {
    taskSeed = validateTaskConfig(value.task as unknown as TaskConfig).seed
    task = value.task as unknown as TaskConfig
  } catch (error) {
    throw new ManifestError('task', (error as Error).message)
  }
  checkTaskBounds(value.task)
  const L = MANIFEST_LIMITS
  const nodes = int(value, '', 'nodes', 1, L.nodes)
  const training = obj(value, 'training')
  const mixing = obj(value, 'mixing')
  const schedule = obj(value, 'schedule')
  if (typeof mixing.rule !== 'string' || mixing.rule.length === 0 || mixing.rule.length > L.rule) throw new ManifestError('mixing.rule', `expected a rule spec of 1–${L.rule} characters`)
  try {
    parseRuleSpec(mixing.rule)
  } catch (error) {
    throw new ManifestError('mixing.rule', (error as Error).message)
  }
  if (mixing.f !== 'auto' && !(Number.isInteger(mixing.f) && (mixing.f as number) >= 0 && (mixing.f as number) <= nodes)) {
    throw new ManifestError('mixing.f', `expected an integer in [0, ${nodes}] (the nodes) or "auto", got ${JSON.stringify(mixing.f)}`)
  }
  if (mixing.shortfall !== 'shrink-f' && mixing.shortfall !== 'keep') throw new ManifestError('mixing.shortfall', 'expected shrink-f or keep')
  if (mixing.dtype !== 'f32' && mixing.dtype !== 'f16') throw new ManifestError('mixing.dtype', 'expected f32 or f16')
  if (typeof value.open !== 'boolean') throw new ManifestError('open', 'expected true or false')
  let lrSchedule: LrSchedule
  try {
    lrSchedule = checkLrSchedule(training.schedule ?? { kind: 'constant' })
  } catch (error) {
    const field = (error as LrScheduleError).field
    throw new ManifestError(`training.schedule${field === '' ? '' : `.${field}`}`, (error as Error).message)
  }
  checkScheduleBounds(lrSchedule)
  const seed = training.seed === undefined ? taskSeed : int(training, 'training.', 'seed', 0, 0xffffffff)
  return {
    protocol: expectedProtocol,
    swarm: value.swarm,
    task,
    nodes,
    dimension: int(value, '', 'dimension', 1, L.dimension),
    training: {
      localSteps: int(training, 'training.', 'localSteps', 0, L.localSteps),
      lr: num(training, 'training.', 'lr', 0, L.lr),
      momentum: num(training, 'training.', 'momentum', 0, L.momentum),
      batchSize: int(training, 'training.', 'batchSize', 1, L.batchSize),
      weightDecay: training.weightDecay === undefined ? 0 : num(training, 'training.', 'weightDecay', 0, L.weightDecay),
      schedule: lrSchedule,
      seed
    },
    mixing: {
      rule: mixing.rule,
      f: mixing.f as number | 'auto',
      joinerF: int(mixing, 'mixing.', 'joinerF', 0, nodes),
      shortfall: mixing.shortfall,
      dtype: mixing.dtype
    },
    schedule: {
      rounds: int(schedule, 'schedule.', 'rounds', 1, L.rounds),
      roundTimeoutMs: int(schedule, 'schedule.', 'roundTimeoutMs', 1, L.roundTimeoutMs),
      evalEvery: int(schedule, 'schedule.', 'evalEvery', 1, L.rounds),
      round: int(schedule, 'schedule.', 'round', 0, L.rounds)
    },
    open: value.open
  }
}
