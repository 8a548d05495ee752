import type { Graph } from './graph.ts'

/** Gossip mixing rules: `metropolis-hastings` W_ij = 1/(1 + max(d_i, d_j)); `uniform` W_ij = 1/(d_max + 1). */
export type MixingRule = 'metropolis-hastings' | 'uniform'

/**
 * A sparse symmetric mixing matrix on a graph: off-diagonal entries share the graph's CSR layout
 * (`values[k]` is W_{i, neighbors[k]}), the diagonal is stored apart.
 */
export interface MixingMatrix {
  readonly rule: MixingRule
  readonly n: number
  readonly offsets: Int32Array
  readonly columns: Int32Array
  readonly values: Float64Array
  readonly diagonal: Float64Array
}

/**
 * Metropolis–Hastings weights: W_ij = 1/(1 + max(d_i, d_j)) on edges, W_ii = 1 − Σ_j W_ij.
 * Symmetric and doubly stochastic for any graph, using only the two endpoint degrees (so a peer
 * computes its row locally). Edge weights are ignored.
 */
export function metropolisHastings (g: Graph): MixingMatrix {
  const { n, offsets, neighbors } = g
  const values = new Float64Array(neighbors.length)
  const diagonal = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const di = offsets[i + 1] - offsets[i]
    let row = 0
    for (let k = offsets[i]; k < offsets[i + 1]; k++) {
      const j = neighbors[k]
      const v = 1 / (1 + Math.max(di, offsets[j + 1] - offsets[j]))
      values[k] = v
      row += v
    }
    diagonal[i] = 1 - row
  }
  return { rule: 'metropolis-hastings', n, offsets, columns: neighbors, values, diagonal }
}

/** Uniform weights W_ij = 1/(d_max + 1) on edges, W_ii = 1 − d_i/(d_max + 1). */
export function uniformMixing (g: Graph): MixingMatrix {
  const { n, offsets, neighbors } = g
  let dmax = 0
  for (let i = 0; i < n; i++) dmax = Math.max(dmax, offsets[i + 1] - offsets[i])
  const w = 1 / (dmax + 1)
  const values = new Float64Array(neighbors.length).fill(w)
  const diagonal = new Float64Array(n)
  for (let i = 0; i < n; i++) diagonal[i] = 1 - (offsets[i + 1] - offsets[i]) * w
  return { rule: 'uniform', n, offsets, columns: neighbors, values, diagonal }
}

/** The mixing matrix of a graph under a named rule. */
export function mixingMatrix (g: Graph, rule: MixingRule = 'metropolis-hastings'): MixingMatrix {
  if (rule === 'metropolis-hastings') return metropolisHastings(g)
  if (rule === 'uniform') return uniformMixing(g)
  throw new RangeError(`unknown mixing rule "${String(rule)}" (expected metropolis-hastings or uniform)`)
}

/** out ← W x. */
export function mixingMultiply (w: MixingMatrix, x: ArrayLike<number>, out: Float64Array = new Float64Array(w.n)): Float64Array {
  const { n, offsets, columns, values, diagonal } = w
  for (let i = 0; i < n; i++) {
    let s = diagonal[i] * x[i]
    for (let k = offsets[i]; k < offsets[i + 1]; k++) s += values[k] * x[columns[k]]
    out[i] = s
  }
  return out
}

/** What `checkMixingMatrix` measured. */
export interface MixingCheck {
  symmetric: boolean
  nonNegative: boolean
  /** max_i |Σ_j W_ij − 1| and max_j |Σ_i W_ij − 1|. */
  maxRowSumError: number
  maxColumnSumError: number
  /** Symmetric, non-negative, and rows and columns sum to 1 within the tolerance. */
  doublyStochastic: boolean
}

/** Checks that W is symmetric, non-negative and doubly stochastic to within `tolerance`. */
export function checkMixingMatrix (w: MixingMatrix, tolerance = 1e-12): MixingCheck {
  const { n, offsets, columns, values, diagonal } = w
  const columnSums = Float64Array.from(diagonal)
  let symmetric = true; let nonNegative = true; let maxRowSumError = 0
  for (let i = 0; i < n; i++) {
    let row = diagonal[i]
    if (diagonal[i] < -tolerance) nonNegative = false
    for (let k = offsets[i]; k < offsets[i + 1]; k++) {
      const j = columns[k]
      row += values[k]
      columnSums[j] += values[k]
      if (values[k] < -tolerance) nonNegative = false
      if (Math.abs(values[k] - mixingEntry(w, j, i)) > tolerance) symmetric = false
    }
    maxRowSumError = Math.max(maxRowSumError, Math.abs(row - 1))
  }
  let maxColumnSumError = 0
  for (let j = 0; j < n; j++) maxColumnSumError = Math.max(maxColumnSumError, Math.abs(columnSums[j] - 1))
  return {
    symmetric,
    nonNegative,
    maxRowSumError,
    maxColumnSumError,
    doublyStochastic: symmetric && nonNegative && maxRowSumError <= tolerance && maxColumnSumError <= tolerance
  }
}

/** W_ij (0 when i and j are not adjacent). */
export function mixingEntry (w: MixingMatrix, i: number, j: number): number {
  if (i === j) return w.diagonal[i]
  let lo = w.offsets[i]; let hi = w.offsets[i + 1] - 1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const c = w.columns[mid]
    if (c === j) return w.values[mid]
    if (c < j) lo = mid + 1; else hi = mid - 1
  }
  return 0
}

/** W as a dense row-major n×n array (for tests and small graphs). */
export function denseMixingMatrix (w: MixingMatrix): Float64Array {
  const dense = new Float64Array(w.n * w.n)
  for (let i = 0; i < w.n; i++) {
    dense[i * w.n + i] = w.diagonal[i]
    for (let k = w.offsets[i]; k < w.offsets[i + 1]; k++) dense[i * w.n + w.columns[k]] = w.values[k]
  }
  return dense
}
