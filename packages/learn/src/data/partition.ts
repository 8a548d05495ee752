/**
 * Partitioners: how a labelled dataset is spread over nodes. IID, Dirichlet(α) label skew,
 * label shards (McMahan et al.) and quantity skew, all seeded. Each returns the sample indices
 * per node (sorted) and the per-node label histogram.
 */
import { createRng, permutation, type Rng } from '@murmur/robust'
import { LearnInputError, checkInt, checkNumber } from '../errors.ts'
import { labelHistogram } from './dataset.ts'

export interface Partition {
  /** Sample indices held by each node, ascending. */
  nodes: Uint32Array[]
  /** Per-node count of each label. */
  histograms: Uint32Array[]
}

export type PartitionSpec =
  | { kind: 'iid' }
  | { kind: 'dirichlet', alpha: number }
  | { kind: 'shards', shardsPerNode: number }
  | { kind: 'quantity', beta: number }

export interface PartitionOptions {
  nodes: number
  numClasses: number
  seed?: number
  /** Fewest samples any node may get (default 32, one batch). */
  minPerNode?: number
}

/**
 * A partition spec from its text form, the grammar of `--partition` and of run plans: `iid`,
 * `dirichlet:<α>`, `shards:<per node>` (an integer) or `quantity:<β>`, with α, β and the shard
 * count > 0. Throws a LearnInputError that says what was expected.
 */
export function parsePartitionSpec (text: string): PartitionSpec {
  const [kind, value] = text.split(':')
  const number = Number(value)
  switch (kind) {
    case 'iid':
      if (value === undefined) return { kind: 'iid' }
      break
    case 'dirichlet':
      if (number > 0) return { kind: 'dirichlet', alpha: number }
      break
    case 'shards':
      if (Number.isInteger(number) && number > 0) return { kind: 'shards', shardsPerNode: number }
      break
    case 'quantity':
      if (number > 0) return { kind: 'quantity', beta: number }
      break
  }
  throw new LearnInputError('bad-parameter', `expected iid, dirichlet:<α>, shards:<per node> or quantity:<β>, got "${text}"`)
}

/** The text form of a partition spec, as parsePartitionSpec reads it. */
export function formatPartitionSpec (spec: PartitionSpec): string {
  switch (spec.kind) {
    case 'iid': return 'iid'
    case 'dirichlet': return `dirichlet:${spec.alpha}`
    case 'shards': return `shards:${spec.shardsPerNode}`
    case 'quantity': return `quantity:${spec.beta}`
  }
}

/** Splits `labels.length` samples over nodes as `spec` says. */
export function partition (labels: Uint8Array, spec: PartitionSpec, options: PartitionOptions): Partition {
  switch (spec.kind) {
    case 'iid': return partitionIid(labels, options)
    case 'dirichlet': return partitionDirichlet(labels, spec.alpha, options)
    case 'shards': return partitionShards(labels, spec.shardsPerNode, options)
    case 'quantity': return partitionQuantity(labels, spec.beta, options)
    default: throw new LearnInputError('bad-parameter',
      `unknown partition kind '${String((spec as { kind: unknown }).kind)}', expected iid, dirichlet, shards or quantity`)
  }
}

function checkOptions (where: string, labels: Uint8Array, options: PartitionOptions): number {
  checkInt(where, 'nodes', options.nodes, 1)
  checkInt(where, 'numClasses', options.numClasses, 1, 256)
  const minPerNode = options.minPerNode ?? 32
  checkInt(where, 'minPerNode', minPerNode, 0)
  if (labels.length < options.nodes * minPerNode) {
    throw new LearnInputError('bad-parameter',
      `${where}: ${labels.length} samples cannot give ${options.nodes} nodes at least ${minPerNode} each`)
  }
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] >= options.numClasses) {
      throw new LearnInputError('bad-parameter', `${where}: label ${labels[i]} of sample ${i} is not below numClasses ${options.numClasses}`)
    }
  }
  return minPerNode
}

function finish (lists: number[][], labels: Uint8Array, numClasses: number): Partition {
  const nodes = lists.map((l) => Uint32Array.from(l).sort())
  return { nodes, histograms: nodes.map((idx) => labelHistogram(labels, numClasses, idx)) }
}

/** Splits [0, total) into `parts` consecutive sizes from cumulative proportions (they sum to total). */
function sizesFromProportions (proportions: Float64Array, total: number): number[] {
  const sizes: number[] = []
  let acc = 0
  let prev = 0
  for (let i = 0; i < proportions.length; i++) {
    acc += proportions[i]
    const end = i === proportions.length - 1 ? total : Math.round(acc * total)
    sizes.push(Math.max(0, end - prev))
    prev = Math.max(prev, end)
  }
  return sizes
}

/** Shuffle, then equal consecutive slices (sizes differ by at most one). */
export function partitionIid (labels: Uint8Array, options: PartitionOptions): Partition {
  checkOptions('partitionIid', labels, options)
  const order = permutation(labels.length, createRng(options.seed ?? 0))
  const lists: number[][] = Array.from({ length: options.nodes }, () => [])
  for (let i = 0; i < order.length; i++) lists[i % options.nodes].push(order[i])
  return finish(lists, labels, options.numClasses)
}

/**
 * log of a Gamma(shape, 1) draw (Marsaglia–Tsang; shape < 1 through Gamma(shape + 1)·U^{1/shape}).
 * Logs keep tiny α usable: U^{1/α} underflows to 0 for α ≈ 0.01, its log does not.
 */
function logGamma (shape: number, rng: Rng): number {
  if (shape < 1) return logGamma(shape + 1, rng) + Math.log(1 - rng.next()) / shape
  const d = shape - 1 / 3
  const c = 1 / Math.sqrt(9 * d)
  for (;;) {
    let z: number
    let v: number
    do {
      z = rng.normal()
      v = 1 + c * z
    } while (v <= 0)
    v = v * v * v
    const u = 1 - rng.next()
    if (Math.log(u) < 0.5 * z * z + d - d * v + d * Math.log(v)) return Math.log(d * v)
  }
}

/** A draw from the symmetric Dirichlet(α) over k outcomes. */
export function sampleDirichlet (k: number, alpha: number, rng: Rng): Float64Array {
  const logs = new Float64Array(k)
  let max = -Infinity
  for (let i = 0; i < k; i++) {
    logs[i] = logGamma(alpha, rng)
    if (logs[i] > max) max = logs[i]
  }
  let sum = 0
  for (let i = 0; i < k; i++) {
    logs[i] = Math.exp(logs[i] - max)
    sum += logs[i]
  }
  for (let i = 0; i < k; i++) logs[i] /= sum
  return logs
}

/**
 * Moves random samples from the largest nodes to any node below minPerNode. Deterministic for
 * the rng, and it disturbs the skew as little as possible: only the shortfall moves.
 */
function topUp (lists: number[][], minPerNode: number, rng: Rng): void {
  for (let i = 0; i < lists.length; i++) {
    while (lists[i].length < minPerNode) {
      let donor = 0
      for (let j = 1; j < lists.length; j++) if (lists[j].length > lists[donor].length) donor = j
      const from = lists[donor]
      const pick = rng.int(from.length)
      lists[i].push(from[pick])
      from[pick] = from[from.length - 1]
      from.pop()
    }
  }
}

/**
 * Label skew: for each class, node shares are drawn from Dirichlet(α) and that class's samples
 * split accordingly. Small α gives each node few classes; large α approaches IID. Nodes left
 * with fewer than minPerNode samples are topped up from the largest nodes.
 */
export function partitionDirichlet (labels: Uint8Array, alpha: number, options: PartitionOptions): Partition {
  const minPerNode = checkOptions('partitionDirichlet', labels, options)
  checkNumber('partitionDirichlet', 'alpha', alpha, 0, true)
  const rng = createRng(options.seed ?? 0)
  const byClass = classMembers(labels, options.numClasses, rng)
  const lists: number[][] = Array.from({ length: options.nodes }, () => [])
  for (const members of byClass) {
    const shares = sampleDirichlet(options.nodes, alpha, rng)
    const sizes = sizesFromProportions(shares, members.length)
    let start = 0
    for (let node = 0; node < options.nodes; node++) {
      for (let j = start; j < start + sizes[node]; j++) lists[node].push(members[j])
      start += sizes[node]
    }
  }
  topUp(lists, minPerNode, rng)
  return finish(lists, labels, options.numClasses)
}

/** Sample indices of each class, each list shuffled. */
function classMembers (labels: Uint8Array, numClasses: number, rng: Rng): number[][] {
  const byClass: number[][] = Array.from({ length: numClasses }, () => [])
  const order = permutation(labels.length, rng)
  for (let i = 0; i < order.length; i++) byClass[labels[order[i]]].push(order[i])
  return byClass
}

/**
 * Label shards: samples sorted by label are cut into nodes·shardsPerNode equal shards and each
 * node gets shardsPerNode random shards, so it sees about shardsPerNode classes.
 */
export function partitionShards (labels: Uint8Array, shardsPerNode: number, options: PartitionOptions): Partition {
  const minPerNode = checkOptions('partitionShards', labels, options)
  checkInt('partitionShards', 'shardsPerNode', shardsPerNode, 1)
  const shardCount = options.nodes * shardsPerNode
  if (shardCount > labels.length) {
    throw new LearnInputError('bad-parameter', `partitionShards: ${shardCount} shards need at least as many samples, got ${labels.length}`)
  }
  const rng = createRng(options.seed ?? 0)
  // Sorting by label, ties broken by a random order, so shard contents are seeded too.
  const order = Array.from(permutation(labels.length, rng))
  order.sort((a, b) => labels[a] - labels[b])
  const shardOrder = permutation(shardCount, rng)
  const lists: number[][] = Array.from({ length: options.nodes }, () => [])
  for (let s = 0; s < shardCount; s++) {
    const shard = shardOrder[s]
    const start = Math.floor(shard * labels.length / shardCount)
    const end = Math.floor((shard + 1) * labels.length / shardCount)
    const node = Math.floor(s / shardsPerNode)
    for (let j = start; j < end; j++) lists[node].push(order[j])
  }
  topUp(lists, minPerNode, rng)
  return finish(lists, labels, options.numClasses)
}

/**
 * Quantity skew: node sizes minPerNode + Dirichlet(β) shares of the rest, labels IID within a
 * node. Small β concentrates the data on few nodes.
 */
export function partitionQuantity (labels: Uint8Array, beta: number, options: PartitionOptions): Partition {
  const minPerNode = checkOptions('partitionQuantity', labels, options)
  checkNumber('partitionQuantity', 'beta', beta, 0, true)
  const rng = createRng(options.seed ?? 0)
  const spare = labels.length - options.nodes * minPerNode
  const sizes = sizesFromProportions(sampleDirichlet(options.nodes, beta, rng), spare).map((s) => s + minPerNode)
  const order = permutation(labels.length, rng)
  const lists: number[][] = []
  let start = 0
  for (const size of sizes) {
    lists.push(Array.from(order.subarray(start, start + size)))
    start += size
  }
  return finish(lists, labels, options.numClasses)
}

/**
 * Label skew of a partition: the mean over nodes of the total-variation distance between the
 * node's label distribution and the pooled one (0 = every node IID, → 1 = disjoint classes).
 */
export function labelSkew (histograms: readonly Uint32Array[]): number {
  if (histograms.length === 0) return 0
  const k = histograms[0].length
  const pooled = new Float64Array(k)
  let total = 0
  for (const h of histograms) {
    for (let c = 0; c < k; c++) {
      pooled[c] += h[c]
      total += h[c]
    }
  }
  if (total === 0) return 0
  let sum = 0
  let counted = 0
  for (const h of histograms) {
    let n = 0
    for (let c = 0; c < k; c++) n += h[c]
    if (n === 0) continue
    let tv = 0
    for (let c = 0; c < k; c++) tv += Math.abs(h[c] / n - pooled[c] / total)
    sum += tv / 2
    counted++
  }
  return counted === 0 ? 0 : sum / counted
}
