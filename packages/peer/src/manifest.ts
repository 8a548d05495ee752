// The swarm manifest: everything a newcomer must agree on to train with a swarm (task, model,
// optimiser, mixing rule and tolerance policy, round schedule, wire format, protocol version).
// Every peer serves it on /murmur/manifest/1.0.0 and announces it on the control topic.

import type { SwarmPlan } from './swarm-plan.ts'
import { validateTaskConfig, type TaskConfig } from './task.ts'
import type { ShortfallPolicy } from './types.ts'

/**
 * The version of murmur's swarm protocols (frames, model exchange, manifest, membership,
 * neighbour requests, state sync). Peers of different versions cannot train together.
 */
export const PROTOCOL_VERSION = 1

export const MANIFEST_PROTOCOL = '/murmur/manifest/1.0.0'

export interface SwarmManifest {
  protocol: number
  swarm: string
  /** What is learnt; a joiner loads its own data for it. */
  task: TaskConfig
  /** Nodes of the launched topology (the task's data is partitioned over them). */
  nodes: number
  /** Parameters of the model the task builds: a joiner checks its own build against it. */
  dimension: number
  training: { localSteps: number, lr: number, momentum: number, batchSize: number }
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

/** The manifest of a planned swarm, as its peers serve it. */
export function manifestOf (plan: SwarmPlan, dimension: number, round: number, open: boolean): SwarmManifest {
  const o = plan.options
  return {
    protocol: PROTOCOL_VERSION,
    swarm: plan.swarm,
    task: o.task,
    nodes: plan.nodes.length,
    dimension,
    training: { localSteps: o.localSteps, lr: o.lr, momentum: o.momentum, batchSize: o.batchSize },
    mixing: {
      rule: o.rule,
      f: o.f,
      joinerF: Math.max(0, ...plan.nodes.filter((n) => !n.byzantine).map((n) => n.f)),
      shortfall: o.shortfall,
      dtype: o.dtype
    },
    schedule: { rounds: o.rounds, roundTimeoutMs: o.roundTimeoutMs, evalEvery: o.evalEvery, round },
    open
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function int (where: Record<string, unknown>, path: string, key: string, min: number): number {
  const v = where[key]
  if (!Number.isInteger(v) || (v as number) < min) throw new ManifestError(`${path}${key}`, `expected an integer ≥ ${min}, got ${JSON.stringify(v)}`)
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

/**
 * Checks a manifest received from a peer, field by field. The protocol version is checked
 * first, so a peer of another version gets that as the reason, not some field it renamed.
 */
export function parseManifest (value: unknown, expectedProtocol = PROTOCOL_VERSION): SwarmManifest {
  if (!isObject(value)) throw new ManifestError('', 'expected a JSON object')
  if (value.protocol !== expectedProtocol) {
    throw new ManifestError('protocol', `the swarm speaks protocol version ${JSON.stringify(value.protocol)}, this peer speaks version ${expectedProtocol}`)
  }
  if (typeof value.swarm !== 'string' || value.swarm.length === 0 || value.swarm.length > 255) throw new ManifestError('swarm', 'expected a swarm id of 1–255 characters')
  if (!isObject(value.task)) throw new ManifestError('task', 'expected an object')
  let task: TaskConfig
  try {
    validateTaskConfig(value.task as unknown as TaskConfig)
    task = value.task as unknown as TaskConfig
  } catch (error) {
    throw new ManifestError('task', (error as Error).message)
  }
  const training = obj(value, 'training')
  const mixing = obj(value, 'mixing')
  const schedule = obj(value, 'schedule')
  if (typeof mixing.rule !== 'string' || mixing.rule.length === 0) throw new ManifestError('mixing.rule', 'expected a rule spec')
  if (mixing.f !== 'auto' && !(Number.isInteger(mixing.f) && (mixing.f as number) >= 0)) throw new ManifestError('mixing.f', `expected an integer ≥ 0 or "auto", got ${JSON.stringify(mixing.f)}`)
  if (mixing.shortfall !== 'shrink-f' && mixing.shortfall !== 'keep') throw new ManifestError('mixing.shortfall', 'expected shrink-f or keep')
  if (mixing.dtype !== 'f32' && mixing.dtype !== 'f16') throw new ManifestError('mixing.dtype', 'expected f32 or f16')
  if (typeof value.open !== 'boolean') throw new ManifestError('open', 'expected true or false')
  return {
    protocol: expectedProtocol,
    swarm: value.swarm,
    task,
    nodes: int(value, '', 'nodes', 1),
    dimension: int(value, '', 'dimension', 1),
    training: {
      localSteps: int(training, 'training.', 'localSteps', 0),
      lr: num(training, 'training.', 'lr', 0, 100),
      momentum: num(training, 'training.', 'momentum', 0, 0.999999),
      batchSize: int(training, 'training.', 'batchSize', 1)
    },
    mixing: {
      rule: mixing.rule,
      f: mixing.f as number | 'auto',
      joinerF: int(mixing, 'mixing.', 'joinerF', 0),
      shortfall: mixing.shortfall,
      dtype: mixing.dtype
    },
    schedule: {
      rounds: int(schedule, 'schedule.', 'rounds', 1),
      roundTimeoutMs: int(schedule, 'schedule.', 'roundTimeoutMs', 1),
      evalEvery: int(schedule, 'schedule.', 'evalEvery', 1),
      round: int(schedule, 'schedule.', 'round', 0)
    },
    open: value.open
  }
}
