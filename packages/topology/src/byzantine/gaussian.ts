import type { Rng } from '@murmur/robust'
import { TopologyError } from '../errors.ts'
import type { Graph } from '../graph.ts'
import { normalQuantile } from '../stats.ts'
import { maskFor, type ByzantineSampler } from './types.ts'

/** Largest band the sampler stores: n·(b + 1) entries per factor (a dense 2000-node graph fits). */
export const GAUSSIAN_BAND_LIMIT = 2000 * 2001

/**
 * Gaussian copula μ_H: z ~ N(0, C) with C the correlation matrix of Σ = (L + τI)⁻¹ (L the
 * weighted Laplacian), Byzantine iff z_i > Φ⁻¹(1 − p); every node is Byzantine with probability
 * exactly p and neighbours are positively correlated.
 *
 * The precision Q = L + τI is reordered by reverse Cuthill–McKee and factored Q = R Rᵀ in band
 * form (bandwidth b): a draw is x = R⁻ᵀ ξ (so Cov x = Q⁻¹), and the marginal variances Σ_ii come
 * from the Takahashi recursion inside the band, all without a dense inverse. Cost O(n b²) once and
 * O(n b) per draw; graphs with n·(b + 1) > GAUSSIAN_BAND_LIMIT after reordering (large
 * expanders) are refused with a TopologyError.
 */
export function gaussianCopulaSampler (graph: Graph, tau: number, p: number, rng: Rng): ByzantineSampler {
  const { n } = graph
  if (!(tau > 0) || !Number.isFinite(tau)) throw new RangeError(`gaussian: tau must be a positive finite number, got ${tau}`)
  const order = reverseCuthillMcKee(graph)
  const position = new Int32Array(n)
  for (let k = 0; k < n; k++) position[order[k]] = k
  const b = bandwidth(graph, position)
  if (n * (b + 1) > GAUSSIAN_BAND_LIMIT) {
    throw new TopologyError({
      path: 'byzantine',
      message: `the gaussian model needs a Cholesky band of n·(b + 1) = ${n * (b + 1)} entries (n = ${n}, ` +
        `bandwidth b = ${b} after reverse Cuthill–McKee), above the limit ${GAUSSIAN_BAND_LIMIT}: use the cascade or ising model for this graph`
    })
  }
  const factor = bandCholesky(graph, order, position, b, tau)
  const variance = bandInverseDiagonal(factor, n, b)
  const scale = Float64Array.from(variance, (v) => 1 / Math.sqrt(v))
  const threshold = normalQuantile(1 - p)
  const xi = new Float64Array(n)
  const x = new Float64Array(n)
  const w = b + 1
  return {
    model: 'gaussian',
    n,
    deterministic: false,
    law: { kind: 'gaussian', graph, tau, p },
    sample: (out) => {
      const mask = maskFor(n, out)
      for (let i = 0; i < n; i++) xi[i] = rng.normal()
      // Back substitution Rᵀ x = ξ: x_i = (ξ_i − Σ_{k = i+1}^{i+b} R_ki x_k) / R_ii.
      for (let i = n - 1; i >= 0; i--) {
        let s = xi[i]
        const last = Math.min(n - 1, i + b)
        for (let k = i + 1; k <= last; k++) s -= factor[k * w + (i - k + b)] * x[k]
        x[i] = s / factor[i * w + b]
      }
      for (let k = 0; k < n; k++) mask[order[k]] = x[k] * scale[k] > threshold ? 1 : 0
      return mask
    }
  }
}

/**
 * Reverse Cuthill–McKee ordering: BFS from a low-degree peripheral node of each component,
 * visiting neighbours by increasing degree, then reversed. Returns order[k] = node at position k.
 */
export function reverseCuthillMcKee (graph: Graph): Int32Array {
  const { n, offsets, neighbors } = graph
  const deg = (i: number): number => offsets[i + 1] - offsets[i]
  const order = new Int32Array(n)
  const placed = new Uint8Array(n)
  const level = new Int32Array(n)
  let count = 0
  const byDegree = Array.from({ length: n }, (_, i) => i).sort((a, b) => deg(a) - deg(b) || a - b)
  for (const candidate of byDegree) {
    if (placed[candidate] !== 0) continue
    // Move towards the periphery: restart from a min-degree node on the last BFS level, twice.
    let start = candidate
    for (let round = 0; round < 2; round++) start = farthestLowDegree(graph, start, level, placed)
    const begin = count
    order[count++] = start
    placed[start] = 1
    for (let head = begin; head < count; head++) {
      const x = order[head]
      const next: number[] = []
      for (let k = offsets[x]; k < offsets[x + 1]; k++) if (placed[neighbors[k]] === 0) next.push(neighbors[k])
      next.sort((a, b) => deg(a) - deg(b) || a - b)
      for (const y of next) { placed[y] = 1; order[count++] = y }
    }
  }
  return order.reverse()
}

function farthestLowDegree (graph: Graph, start: number, level: Int32Array, placed: Uint8Array): number {
  const { offsets, neighbors } = graph
  const queue = [start]
  const seen = new Set<number>([start])
  level[start] = 0
  let best = start
  for (let head = 0; head < queue.length; head++) {
    const x = queue[head]
    const better = level[x] > level[best] || (level[x] === level[best] && offsets[x + 1] - offsets[x] < offsets[best + 1] - offsets[best])
    if (better) best = x
    for (let k = offsets[x]; k < offsets[x + 1]; k++) {
      const y = neighbors[k]
      if (!seen.has(y) && placed[y] === 0) { seen.add(y); level[y] = level[x] + 1; queue.push(y) }
    }
  }
  return best
}

/** Largest |position[u] − position[v]| over edges. */
export function bandwidth (graph: Graph, position: Int32Array): number {
  let b = 0
  for (let i = 0; i < graph.n; i++) {
    for (let k = graph.offsets[i]; k < graph.offsets[i + 1]; k++) b = Math.max(b, Math.abs(position[i] - position[graph.neighbors[k]]))
  }
  return b
}

/**
 * Band Cholesky of Q = L + τI in the permuted order: returns R (lower) with row i stored at
 * [i·(b+1), (i+1)·(b+1)), entry R_ij at offset j − i + b for i − b ≤ j ≤ i.
 */
function bandCholesky (graph: Graph, order: Int32Array, position: Int32Array, b: number, tau: number): Float64Array {
  const { n, offsets, neighbors, weights } = graph
  const w = b + 1
  const r = new Float64Array(n * w)
  for (let i = 0; i < n; i++) {
    const node = order[i]
    // Lower half of row i of Q: −w_ij off the diagonal, weighted degree + τ on it.
    let diag = tau
    for (let k = offsets[node]; k < offsets[node + 1]; k++) {
      diag += weights[k]
      const j = position[neighbors[k]]
      if (j < i) r[i * w + (j - i + b)] = -weights[k]
    }
    r[i * w + b] = diag
    const first = Math.max(0, i - b)
    // R_ik lives at ri + k and R_jk at rj + k.
    const ri = i * w - i + b
    for (let j = first; j <= i; j++) {
      const rj = j * w - j + b
      let s = r[ri + j]
      for (let k = Math.max(first, j - b); k < j; k++) s -= r[ri + k] * r[rj + k]
      if (j < i) r[ri + j] = s / r[rj + j]
      else r[ri + i] = Math.sqrt(s)
    }
  }
  return r
}

/**
 * Diagonal of Q⁻¹ from the band factor Q = R Rᵀ by the Takahashi recursion: for i from n − 1
 * down, Σ_ij = (δ_ij / R_ii − Σ_{k=i+1}^{i+b} R_ki Σ_kj) / R_ii for j = i+b … i, which only ever
 * reads entries inside the band.
 */
function bandInverseDiagonal (r: Float64Array, n: number, b: number): Float64Array {
  const w = b + 1
  // Upper band of Σ: row i holds Σ_{i, i..i+b}.
  const sigma = new Float64Array(n * w)
  const diagonal = new Float64Array(n)
  for (let i = n - 1; i >= 0; i--) {
    const rii = r[i * w + b]
    const last = Math.min(n - 1, i + b)
    for (let j = last; j >= i; j--) {
      let s = j === i ? 1 / rii : 0
      for (let k = i + 1; k <= last; k++) {
        // R_ki (k > i) and Σ_kj from the upper band (rows > i are done).
        const sigmaKJ = k <= j ? sigma[k * w + (j - k)] : sigma[j * w + (k - j)]
        s -= r[k * w + (i - k + b)] * sigmaKJ
      }
      sigma[i * w + (j - i)] = s / rii
    }
    diagonal[i] = sigma[i * w]
  }
  return diagonal
}
