// Helpers the swarm suites share: option lists, topology files, heterogeneity labels, the
// t-interval of a mean over independent runs.

import { existsSync, readFileSync } from 'node:fs'
import { isAbsolute, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parsePartitionSpec, type PartitionSpec } from '@murmur/learn'
import { DEFAULT_EVAL_EVERY } from '@murmur/peer'
import { parseTopology, summarizeMean, type Topology } from '@murmur/topology'

/** How every peer of the swarm suites trains: the same in every cell, so cells differ only by what they vary. */
export interface TrainingParams {
  model: 'logistic'
  localSteps: number
  lr: number
  momentum: number
  batchSize: number
  evalEvery: number
  taskSeed: number
}

export const TRAINING: TrainingParams = { model: 'logistic', localSteps: 5, lr: 0.05, momentum: 0.9, batchSize: 32, evalEvery: DEFAULT_EVAL_EVERY, taskSeed: 0 }

/** What every cell of a swarm suite names: the swarm, its data split, rule and attack, how long it trains. */
export interface SwarmCellParams extends TrainingParams {
  /** Topology file, and the topology's own name for reports. */
  topology: string
  topologyName: string
  rule: string
  attack: string
  /** The partition's label, e.g. `dirichlet-1`, and the partition itself. */
  heterogeneity: string
  partition: PartitionSpec
  rounds: number
}

/** The fields of a swarm-suite cell that name its swarm, trained the suites' shared way. */
export function swarmCell (options: { topologyPath: string, topology: Topology, rule: string, attack: string, partition: PartitionSpec, rounds: number }): SwarmCellParams {
  return {
    topology: options.topologyPath,
    topologyName: options.topology.name,
    rule: options.rule,
    attack: options.attack,
    heterogeneity: heterogeneityLabel(options.partition),
    partition: options.partition,
    rounds: options.rounds,
    ...TRAINING
  }
}

/** What a trained swarm leaves for its honest peers. */
export interface HonestOutcome {
  nodes: number
  byzantine: string[]
  /** Honest nodes with more Byzantine neighbours than their f. */
  overrun: string[]
  /** Smallest and largest f over honest nodes. */
  f: [number, number]
  meanAccuracy: number
  minAccuracy: number
  meanTestLoss: number
  consensus: number
  /** Share of honest-edge models delivered in time, and of crafted models that reached honest peers (absent without a sending attack). */
  delivered: number
  attackReached?: number
  /** False when edges lost models or the attack did not land: the cell then measured nothing. */
  deliveryValid: boolean
  deliveryWarnings: string[]
}

/** The repository root: option defaults name files relative to it. */
const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url))

/**
 * Splits a comma-separated list of specs, keeping commas inside parentheses
 * (`mean,gaussian(mu=0,sigma=2)` is two items). Empty items are dropped.
 */
export function splitSpecList (text: string): string[] {
  const out: string[] = []
  let depth = 0
  let current = ''
  for (const ch of text) {
    if (ch === '(') depth++
    else if (ch === ')') depth = Math.max(0, depth - 1)
    if (ch === ',' && depth === 0) {
      out.push(current.trim())
      current = ''
    } else {
      current += ch
    }
  }
  out.push(current.trim())
  return out.filter((s) => s !== '')
}

/** A topology path as given, or else relative to the repository root (so defaults work from any directory). */
export function resolveTopologyPath (path: string): string {
  if (isAbsolute(path) || existsSync(path)) return path
  const fromRoot = join(REPO_ROOT, path)
  return existsSync(fromRoot) ? fromRoot : path
}

/** Reads and validates a topology file (synchronously: a suite's cells() is synchronous). */
export function readTopologySync (path: string): Topology {
  const resolved = resolveTopologyPath(path)
  if (!existsSync(resolved)) throw new Error(`topology file ${path} does not exist`)
  try {
    return parseTopology(readFileSync(resolved, 'utf8'))
  } catch (error) {
    throw new Error(`topology ${path}: ${(error as Error).message}`)
  }
}

/** `iid` or a Dirichlet α such as `0.1` (also `dir0.1`, `dirichlet:0.1`). */
export function parseHeterogeneity (text: string): PartitionSpec {
  const t = text.trim().toLowerCase()
  // The shorthands name a partition spec of @murmur/learn's grammar, which then reads it.
  const match = /^(?:dir(?:ichlet)?[:=]?)?([0-9]*\.?[0-9]+(?:e[-+]?[0-9]+)?)$/.exec(t)
  const spec = t === 'iid' ? 'iid' : match === null ? undefined : `dirichlet:${match[1]}`
  let partition: PartitionSpec | undefined
  try {
    if (spec !== undefined) partition = parsePartitionSpec(spec)
  } catch {}
  if (partition === undefined || (partition.kind === 'dirichlet' && !Number.isFinite(partition.alpha))) {
    throw new Error(`heterogeneity "${text}": expected iid or a Dirichlet α > 0 such as 1 or 0.1`)
  }
  return partition
}

/** Short label of a partition: `iid`, `dir0.1`. */
export function heterogeneityLabel (partition: PartitionSpec): string {
  return partition.kind === 'dirichlet' ? `dir${partition.alpha}` : partition.kind
}

/** A label readers understand: `IID`, `Dirichlet α = 0.1`. */
export function heterogeneityTitle (partition: PartitionSpec): string {
  return partition.kind === 'dirichlet' ? `Dirichlet α = ${partition.alpha}` : partition.kind.toUpperCase()
}

/** Characters a cell id may not hold become '_'. */
export function safeId (text: string): string {
  return text.replace(/[^A-Za-z0-9._+=-]/g, '_')
}

/** Mean of independent runs with its two-sided t-interval. */
export interface MeanInterval {
  count: number
  mean: number
  /** null for a single run (the interval is unbounded). */
  low: number | null
  high: number | null
  halfWidth: number | null
}

/**
 * Mean and Student-t confidence interval (default 95%): mean ± t_{(1+c)/2, K−1} · s/√K with s the
 * sample standard deviation (K − 1 in the denominator).
 */
export function meanInterval (values: ArrayLike<number>, confidence = 0.95): MeanInterval {
  const s = summarizeMean(values, confidence)
  const bounded = Number.isFinite(s.halfWidth)
  return { count: s.count, mean: s.mean, low: bounded ? s.low : null, high: bounded ? s.high : null, halfWidth: bounded ? s.halfWidth : null }
}
