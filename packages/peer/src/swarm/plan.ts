// Turns what a user asked for (a topology, a task, a rule, an attack) into a checked plan: who
// is Byzantine, each node's neighbours and tolerance f_i. Everything that can be wrong with a
// launch is found here, before a single peer starts.

import type { LrSchedule } from '@murmur/learn'
import { createRule, maxTolerableF } from '@murmur/robust'
import {
  degree, nodeTolerances, topologyGraph, topologySampler, type Graph, type Topology
} from '@murmur/topology'
import { parseBehaviour } from '../round/byzantine.ts'
import type { Dtype } from '../wire/frame.ts'
import { isLossAwareRule } from '../round/engine.ts'
import { checkTaskFits, validateTaskConfig, type TaskConfig } from '../round/task.ts'
import type { ShortfallPolicy } from '../round/types.ts'

/** A launch request, as the CLI or a benchmark states it. */
export interface SwarmOptions {
  topology: Topology
  task: TaskConfig
  rounds: number
  localSteps: number
  lr: number
  momentum: number
  batchSize: number
  /** L2 weight decay λ (default 0). */
  weightDecay?: number
  /** Learning rate over each node's SGD steps (default constant). */
  lrSchedule?: LrSchedule
  /** Mixing rule spec of @murmur/robust, e.g. `nnm+cwtm`. */
  rule: string
  /** One f for every node, or 'auto': each node's f_i(δ) from μ_H. */
  f: number | 'auto'
  /** δ of f_i(δ) (default 0.05). */
  delta?: number
  shortfall?: ShortfallPolicy
  /** Byzantine behaviour spec; absent or 'none' for an honest swarm. */
  attack?: string
  /** Explicit Byzantine node ids (instead of a draw from μ_H). */
  byzantine?: readonly string[]
  /** Draw from μ_H until the set has exactly this many nodes. */
  byzantineCount?: number
  /** Seed of the μ_H draw and of the tolerance estimate. */
  muSeed?: number
  roundTimeoutMs: number
  evalEvery: number
  dtype?: Dtype
  /** Swarm id carried in every frame (default: derived from the topology name). */
  swarm?: string
  /**
   * 'shared' (default): every node starts from the same initial model. 'independent': each node
   * draws its own, so consensus starts far apart (to watch gossip close the gap).
   */
  initialization?: 'shared' | 'independent'
  /** Seed of batch order, rule and attack randomness (default: the task's seed). */
  seed?: number
}

/** One node's part of the plan. */
export interface NodePlan {
  id: string
  index: number
  neighbours: string[]
  /** Degrees of the neighbours, in the same order (Metropolis weights). */
  neighbourDegrees: number[]
  degree: number
  /** Tolerance the node's rule runs with. */
  f: number
  byzantine: boolean
}

export interface SwarmPlan {
  swarm: string
  options: Required<Omit<SwarmOptions, 'byzantine' | 'byzantineCount' | 'attack'>> & { attack: string }
  nodes: NodePlan[]
  byzantine: string[]
  /** How the Byzantine set was chosen, for the run summary. */
  byzantineSource: 'none' | 'explicit' | 'mu-h'
  /** Honest nodes with more Byzantine neighbours than their f (worst-case overrun), for the summary. */
  overrun: string[]
  /** What makes the per-node f_i less sure than they look (e.g. Markov chains that did not mix). */
  warnings?: string[]
}

/** A launch that cannot start; the message says what to change. */
export class SwarmConfigError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'SwarmConfigError'
  }
}

const MAX_DRAWS = 100_000

/** A learning-rate schedule that is malformed; `field` is relative to the schedule ('' for itself). */
export class LrScheduleError extends Error {
  readonly field: string
  constructor (field: string, message: string) {
    super(message)
    this.name = 'LrScheduleError'
    this.field = field
  }
}

const LR_SCHEDULE_FORMS = 'constant, inv-sqrt, step:<every>:<gamma> or cosine:<totalSteps>'
/** Least and most arguments after the kind in a schedule spec. */
const LR_SCHEDULE_ARITY: Record<string, [number, number] | undefined> = { constant: [0, 0], 'inv-sqrt': [0, 0], step: [2, 2], cosine: [1, 2] }

/**
 * Checks a learning-rate schedule received as data (a plan, a manifest) and returns it with its
 * fields in a fixed order, so equal schedules serialise equally.
 */
export function checkLrSchedule (value: unknown): LrSchedule {
  const v = value as Record<string, unknown> | null
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new LrScheduleError('', `expected an object such as { "kind": "constant" }, got ${JSON.stringify(value)}`)
  const int = (key: string): number => {
    const x = v[key]
    if (!Number.isInteger(x) || (x as number) < 1) throw new LrScheduleError(key, `expected an integer ≥ 1, got ${JSON.stringify(x)}`)
    return x as number
  }
  const finite = (key: string, positive: boolean): number => {
    const x = v[key]
    if (typeof x !== 'number' || !Number.isFinite(x) || x < 0 || (positive && x === 0)) throw new LrScheduleError(key, `expected a finite number ${positive ? '>' : '≥'} 0, got ${JSON.stringify(x)}`)
    return x
  }
  const only = (...keys: string[]): void => {
    for (const key of Object.keys(v)) if (key !== 'kind' && !keys.includes(key)) throw new LrScheduleError(key, `unknown field of a ${String(v.kind)} schedule`)
  }
  switch (v.kind) {
    case 'constant':
    case 'inv-sqrt':
      only()
      return { kind: v.kind }
    case 'step':
      only('every', 'gamma')
      return { kind: 'step', every: int('every'), gamma: finite('gamma', true) }
    case 'cosine':
      only('totalSteps', 'minLr')
      return { kind: 'cosine', totalSteps: int('totalSteps'), ...(v.minLr === undefined ? {} : { minLr: finite('minLr', false) }) }
    default:
      throw new LrScheduleError('kind', `expected constant, inv-sqrt, step or cosine, got ${JSON.stringify(v.kind)}`)
  }
}

/** `constant`, `inv-sqrt`, `step:<every>:<gamma>`, `cosine:<totalSteps>[:<minLr>]` → a schedule. */
export function parseLrSchedule (text: string): LrSchedule {
  const [kind, ...args] = text.trim().split(':')
  const num = (s: string | undefined): number => s === undefined || s.trim() === '' ? Number.NaN : Number(s)
  const arity = Object.hasOwn(LR_SCHEDULE_ARITY, kind) ? LR_SCHEDULE_ARITY[kind] : undefined
  if (arity === undefined || args.length < arity[0] || args.length > arity[1]) {
    throw new LrScheduleError('', `expected ${LR_SCHEDULE_FORMS}, got "${text}"`)
  }
  const raw = kind === 'step'
    ? { kind, every: num(args[0]), gamma: num(args[1]) }
    : kind === 'cosine'
      ? { kind, totalSteps: num(args[0]), ...(args[1] === undefined ? {} : { minLr: num(args[1]) }) }
      : { kind }
  try {
    return checkLrSchedule(raw)
  } catch (error) {
    // Reworded with the argument as typed (a number that did not parse reads as NaN otherwise).
    const field = (error as LrScheduleError).field
    const position = ['every', 'totalSteps'].includes(field) ? 0 : 1
    const wanted = (error as Error).message.replace(/^expected /, '').replace(/, got .*$/, '')
    throw new LrScheduleError(field, `"${text}": <${field}> must be ${wanted}, got "${args[position] ?? ''}"`)
  }
}

/** A schedule as `parseLrSchedule` reads it. */
export function formatLrSchedule (schedule: LrSchedule): string {
  switch (schedule.kind) {
    case 'step': return `step:${schedule.every}:${schedule.gamma}`
    case 'cosine': return `cosine:${schedule.totalSteps}${schedule.minLr === undefined ? '' : `:${schedule.minLr}`}`
    default: return schedule.kind
  }
}

function positiveInt (name: string, value: number, min = 1): void {
  if (!Number.isInteger(value) || value < min) throw new SwarmConfigError(`${name}: expected an integer ≥ ${min}, got ${value}`)
}

function finiteIn (name: string, value: number, lo: number, hi: number): void {
  if (!Number.isFinite(value) || value < lo || value > hi) throw new SwarmConfigError(`${name}: expected a number in [${lo}, ${hi}], got ${value}`)
}

/** Validates a launch request and plans it. Throws SwarmConfigError on anything wrong. */
export function planSwarm (options: SwarmOptions): SwarmPlan {
  positiveInt('rounds', options.rounds)
  positiveInt('localSteps', options.localSteps, 0)
  positiveInt('batchSize', options.batchSize)
  positiveInt('roundTimeoutMs', options.roundTimeoutMs, 1)
  positiveInt('evalEvery', options.evalEvery)
  finiteIn('lr', options.lr, 0, 100)
  finiteIn('momentum', options.momentum, 0, 0.999999)
  const weightDecay = options.weightDecay ?? 0
  finiteIn('weightDecay', weightDecay, 0, 1)
  let lrSchedule: LrSchedule
  try {
    lrSchedule = checkLrSchedule(options.lrSchedule ?? { kind: 'constant' })
  } catch (error) {
    const field = (error as LrScheduleError).field
    throw new SwarmConfigError(`lrSchedule${field === '' ? '' : `.${field}`}: ${(error as Error).message}`)
  }
  const delta = options.delta ?? 0.05
  finiteIn('delta', delta, 0, 1)
  const muSeed = options.muSeed ?? 0
  positiveInt('muSeed', muSeed, 0)
  if (options.initialization !== undefined && options.initialization !== 'shared' && options.initialization !== 'independent') {
    throw new SwarmConfigError(`initialization: expected shared or independent, got ${String(options.initialization)}`)
  }
  let taskSeed: number
  try {
    taskSeed = validateTaskConfig(options.task).seed
  } catch (error) {
    throw new SwarmConfigError((error as Error).message)
  }
  const seed = options.seed ?? taskSeed
  positiveInt('seed', seed, 0)
  if (seed > 0xffffffff) throw new SwarmConfigError(`seed: expected an integer below 2^32, got ${seed}`)
  let rule
  try {
    rule = createRule(options.rule)
  } catch (error) {
    throw new SwarmConfigError(`rule "${options.rule}": ${(error as Error).message}`)
  }
  const attack = options.attack === undefined || options.attack === '' ? 'none' : options.attack
  if (attack !== 'none') {
    try {
      parseBehaviour(attack)
    } catch (error) {
      throw new SwarmConfigError(`attack "${attack}": ${(error as Error).message}`)
    }
  }

  const topology = options.topology
  const graph = topologyGraph(topology)
  // Held-out samples only serve loss-aware rules; unasked, other rules train on all the data.
  const task: TaskConfig = options.task.heldOutSize === undefined && !isLossAwareRule(rule.name)
    ? { ...options.task, heldOutSize: 0 }
    : options.task
  try {
    checkTaskFits(task, graph.n)
  } catch (error) {
    throw new SwarmConfigError(`${(error as Error).message} (topology ${topology.name} has ${graph.n} nodes)`)
  }
  const { set: byzantineMask, source } = chooseByzantine(options, topology, graph, attack, muSeed)

  // Tolerances: a global f, or each node's f_i(δ) from μ_H (zero when the topology has none).
  const tolerances = new Int32Array(graph.n)
  const warnings: string[] = []
  if (options.f === 'auto') {
    const sampler = topologySampler(topology, { seed: muSeed })
    if (sampler !== undefined) {
      const report = nodeTolerances(graph, sampler, { delta, samples: 2000 })
      for (const node of report.nodes) tolerances[node.index] = node.f
      warnings.push(...report.warnings)
    }
  } else {
    positiveInt('f', options.f, 0)
    tolerances.fill(options.f)
  }

  const nodes: NodePlan[] = []
  for (let i = 0; i < graph.n; i++) {
    const neighbours: string[] = []
    const neighbourDegrees: number[] = []
    for (let k = graph.offsets[i]; k < graph.offsets[i + 1]; k++) {
      const j = graph.neighbors[k]
      neighbours.push(graph.ids[j])
      neighbourDegrees.push(degree(graph, j))
    }
    const inputs = neighbours.length + 1
    let f = tolerances[i]
    const supported = maxTolerableF(rule, inputs)
    if (supported < 0) {
      throw new SwarmConfigError(`rule ${rule.name} needs at least ${rule.minInputs(0)} inputs even with f = 0, but node ${graph.ids[i]} has ${neighbours.length} neighbours (${inputs} inputs with its own model)`)
    }
    if (f > supported) {
      if (options.f !== 'auto') {
        throw new SwarmConfigError(`f = ${f} is more than rule ${rule.name} tolerates at node ${graph.ids[i]}: ${inputs} inputs (degree ${neighbours.length} + its own model) allow f ≤ ${supported}; lower --f, use --f auto, or pick a denser topology`)
      }
      f = supported // μ_H asked for more than the neighbourhood can give: use what it can.
    }
    nodes.push({ id: graph.ids[i], index: i, neighbours, neighbourDegrees, degree: neighbours.length, f, byzantine: byzantineMask[i] === 1 })
  }
  const overrun = nodes.filter((node) => !node.byzantine &&
    node.neighbours.filter((id) => byzantineMask[graph.index.get(id) as number] === 1).length > node.f).map((node) => node.id)

  return {
    swarm: options.swarm ?? `murmur-${topology.name}`,
    options: {
      topology,
      task,
      rounds: options.rounds,
      localSteps: options.localSteps,
      lr: options.lr,
      momentum: options.momentum,
      batchSize: options.batchSize,
      weightDecay,
      lrSchedule,
      rule: rule.name,
      f: options.f,
      delta,
      shortfall: options.shortfall ?? 'shrink-f',
      attack,
      muSeed,
      roundTimeoutMs: options.roundTimeoutMs,
      evalEvery: options.evalEvery,
      dtype: options.dtype ?? 'f32',
      initialization: options.initialization ?? 'shared',
      swarm: options.swarm ?? `murmur-${topology.name}`,
      seed
    },
    nodes,
    byzantine: nodes.filter((node) => node.byzantine).map((node) => node.id),
    byzantineSource: source,
    overrun,
    ...(warnings.length === 0 ? {} : { warnings })
  }
}

function chooseByzantine (options: SwarmOptions, topology: Topology, graph: Graph, attack: string, muSeed: number): { set: Uint8Array, source: SwarmPlan['byzantineSource'] } {
  const set = new Uint8Array(graph.n)
  if (options.byzantine !== undefined && options.byzantineCount !== undefined) {
    throw new SwarmConfigError('give either an explicit Byzantine list or a Byzantine count, not both')
  }
  if (attack === 'none') {
    if ((options.byzantine?.length ?? 0) > 0 || (options.byzantineCount ?? 0) > 0) {
      throw new SwarmConfigError('Byzantine peers were asked for but no attack was given: pass an attack (e.g. signflip)')
    }
    return { set, source: 'none' }
  }
  if (options.byzantine !== undefined) {
    for (const id of options.byzantine) {
      const i = graph.index.get(id)
      if (i === undefined) throw new SwarmConfigError(`Byzantine node "${id}" is not in topology ${topology.name}`)
      set[i] = 1
    }
    if (set.every((b) => b === 1)) throw new SwarmConfigError('every node is Byzantine: leave at least one honest peer')
    return { set, source: 'explicit' }
  }
  // One chain: the set a seed draws does not depend on how many chains estimates run.
  const sampler = topologySampler(topology, { seed: muSeed, chains: 1 })
  if (sampler === undefined) {
    throw new SwarmConfigError(`attack "${attack}" needs Byzantine peers, but topology ${topology.name} has no "byzantine" section (μ_H): add one, or list the peers explicitly`)
  }
  const want = options.byzantineCount
  if (want !== undefined) positiveInt('byzantineCount', want, 0)
  if (want !== undefined && want >= graph.n) throw new SwarmConfigError(`byzantineCount ${want}: the topology has only ${graph.n} nodes`)
  for (let draw = 0; draw < (sampler.deterministic ? 1 : MAX_DRAWS); draw++) {
    sampler.sample(set)
    let count = 0
    for (let i = 0; i < graph.n; i++) count += set[i]
    if ((want === undefined && count < graph.n) || count === want) return { set, source: 'mu-h' }
  }
  throw new SwarmConfigError(want === undefined
    ? `μ_H of ${topology.name} made every node Byzantine`
    : `μ_H of ${topology.name} gave no set of exactly ${want} Byzantine nodes in ${sampler.deterministic ? 1 : MAX_DRAWS} draws: list them explicitly or change the count`)
}
