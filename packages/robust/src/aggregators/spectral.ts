import { RobustInputError } from '../errors.ts'
import { kernels } from '../kernels/index.ts'
import type { AggregateOptions, Vectors } from '../types.ts'
import { checkInteger, checkPositive } from '../validate.ts'
import { centrality, honestSpectralScale, weightedSpectrum } from './nspace.ts'
import { honestMajority, weightedMeanRule } from './weighted-mean.ts'
import type { WeightedAggregator } from './weighted-mean.ts'

// Spectral filters: weights over the inputs shrink the influence of inputs that stick out along
// the top eigenvector of the weighted covariance. All of it runs on the n×n squared-distance matrix
// (see nspace.ts): one `sqDistances` pass, n-space iterations, one final `combine`. The score of
// input i is the generalized quasi-gradient of the spectral objective at the current weights,
// gᵢ = ((xᵢ − μ_q)·v)², v the top eigenvector of the weighted covariance (Zhu, Jiao and Steinhardt).

function normalised (c: Float64Array): Float64Array {
  let s = 0
  for (let i = 0; i < c.length; i++) s += c[i]
  return c.map((x) => x / s)
}

function sum (c: Float64Array): number {
  let s = 0
  for (let i = 0; i < c.length; i++) s += c[i]
  return s
}

/** Scores gᵢ = projᵢ² on the support of p and their maximum. */
function quasiGradients (proj: Float64Array, p: Float64Array): { g: Float64Array, max: number } {
  const g = new Float64Array(p.length)
  let max = 0
  for (let i = 0; i < p.length; i++) {
    if (p[i] > 0) { g[i] = proj[i] * proj[i]; if (g[i] > max) max = g[i] }
  }
  return { g, max }
}

/** ξ from the parameters, else xiFactor × a robust estimate of the honest covariance's top eigenvalue. */
function threshold (D: Float64Array, n: number, f: number, xi: number | undefined, xiFactor: number): number {
  return xi ?? xiFactor * honestSpectralScale(D, n, f)
}

// ---------------------------------------------------------------------------------------------
// CAF

export interface CafParams {
  /**
   * Optional early stop: end as soon as the weighted covariance's top eigenvalue is ≤ bound (a known
   * bound on the honest covariance). Without it CAF needs no bound at all.
   */
  bound?: number
}

/**
 * CAF weights (covariance-bound agnostic filter, Allouah et al.; the ByzFL form): start from
 * cᵢ = 1; while Σc > n − 2f, take the weighted mean μ_c and the top eigen-pair (λ, v) of
 * Σ_c = Σ cᵢ (xᵢ − μ_c)(xᵢ − μ_c)ᵀ / Σc, set τᵢ = ((xᵢ − μ_c)·v)² and cᵢ ← cᵢ (1 − τᵢ / max τ); return
 * the weights c/Σc of the iterate with the smallest λ. The maximum runs over inputs of non-zero
 * weight, so each round removes at least one input and the loop ends within n rounds. Also stops
 * at λ = 0 (all weighted inputs equal) and, when `bound` is given, at λ ≤ bound.
 */
export function cafWeights (D: Float64Array, n: number, f: number, bound?: number): Float64Array {
  const c = new Float64Array(n).fill(1)
  let best = normalised(c)
  let bestValue = Infinity
  let warm: Float64Array | undefined
  for (let round = 0; round <= n; round++) {
    const p = normalised(c)
    const spec = weightedSpectrum(D, n, p, warm)
    warm = spec.vector
    if (spec.value < bestValue) { bestValue = spec.value; best = p }
    if (spec.value === 0 || (bound !== undefined && spec.value <= bound)) break
    const { g, max } = quasiGradients(spec.proj, p)
    if (!(max > 0)) break
    for (let i = 0; i < n; i++) c[i] = Math.max(0, c[i] * (1 - g[i] / max))
    if (sum(c) <= n - 2 * f) break
  }
  return best
}

/**
 * CAF, covariance-bound agnostic filter (see `cafWeights`): a weighted mean of the inputs that
 * needs no bound on the honest covariance. Needs n > 2f.
 */
export function caf (params: CafParams = {}): WeightedAggregator {
  const name = 'caf'
  if (params.bound !== undefined) checkPositive(name, 'bound', params.bound, true)
  return weightedMeanRule(name, honestMajority, (inputs: Vectors, options: AggregateOptions) =>
    cafWeights(kernels().sqDistances(inputs), inputs.length, options.f, params.bound))
}

// ---------------------------------------------------------------------------------------------
// Filtering (seed 002, Algorithm 2)

export interface FilteringParams {
  /** Stop once the weighted covariance's top eigenvalue is ≤ xi. Default: xiFactor × honest scale. */
  xi?: number
  /**
   * Default ξ = xiFactor × the top eigenvalue of the covariance of the n − f inputs nearest the
   * most central one (a robust estimate of the honest covariance's spectral norm); default 2.
   */
  xiFactor?: number
}

/**
 * Filtering weights (seed 002, Algorithm 2): q uniform; while ‖Cov_q‖ > ξ, gᵢ = ((xᵢ − μ_q)·v)²,
 * q̃ᵢ = qᵢ (1 − gᵢ / max g), q = q̃ / Σq̃ (inputs reaching 0 are removed). Safeguard beyond the
 * algorithm: the unnormalised weights Π(1 − gᵢ/max g) start at total n, and an update that would
 * bring the total to n − 2f or below is not applied (with a valid ξ the filter removes at most as
 * much honest mass as Byzantine mass, so it never gets there; a too small ξ would otherwise peel
 * the honest inputs down to a single one). For f = 0 this returns the plain mean.
 */
export function filteringWeights (D: Float64Array, n: number, f: number, xi: number): Float64Array {
  const c = new Float64Array(n).fill(1)
  let warm: Float64Array | undefined
  for (let round = 0; round <= n; round++) {
    const p = normalised(c)
    const spec = weightedSpectrum(D, n, p, warm)
    warm = spec.vector
    if (spec.value <= xi) return p
    const { g, max } = quasiGradients(spec.proj, p)
    if (!(max > 0)) return p
    const next = c.map((ci, i) => Math.max(0, ci * (1 - g[i] / max)))
    if (sum(next) <= n - 2 * f) return p
    c.set(next)
  }
  return normalised(c)
}

function checkXi (name: string, params: { xi?: number, xiFactor?: number }): number {
  if (params.xi !== undefined) checkPositive(name, 'xi', params.xi, true)
  const xiFactor = params.xiFactor ?? 2
  checkPositive(name, 'xiFactor', xiFactor)
  return xiFactor
}

/** Filtering (seed 002, Algorithm 2; see `filteringWeights`). Needs n > 2f. */
export function filtering (params: FilteringParams = {}): WeightedAggregator {
  const name = 'filtering'
  const xiFactor = checkXi(name, params)
  return weightedMeanRule(name, honestMajority, (inputs: Vectors, options: AggregateOptions) => {
    const n = inputs.length
    const D = kernels().sqDistances(inputs)
    return filteringWeights(D, n, options.f, threshold(D, n, options.f, params.xi, xiFactor))
  })
}

// ---------------------------------------------------------------------------------------------
// No-Regret (seed 002, Algorithm 1)

export interface NoRegretParams extends FilteringParams {
  /** Step size η ∈ (0, 1) of the multiplicative update; default 0.5. */
  eta?: number
  /** Iteration cap; default 500. */
  maxIter?: number
  /**
   * Pre-filter radius factor: x_i is dropped when more than 2f inputs lie farther than
   * prefilter · r · √max(1, ln n) from it, r the median over i of the median distance from x_i to
   * the others (the seed's Ω(√(d log m)) with the unknown scale √d σ replaced by r). Default 2.
   */
  prefilter?: number
}

/**
 * KL projection of q̃ (q̃ ≥ 0) onto {Σq = 1, 0 ≤ qᵢ ≤ cap}: qᵢ = min(cap, s·q̃ᵢ) with s fixed by the
 * sum. Needs cap · #{q̃ᵢ > 0} ≥ 1; when that fails (weights underflowed) it just normalises.
 */
export function klProjectCapped (qt: Float64Array, cap: number): Float64Array {
  const support: number[] = []
  for (let i = 0; i < qt.length; i++) if (qt[i] > 0) support.push(i)
  if (support.length * cap < 1) return normalised(qt)
  support.sort((a, b) => qt[b] - qt[a] || a - b)
  let rest = 0
  for (const i of support) rest += qt[i]
  const q = new Float64Array(qt.length)
  let capped = 0
  // Cap the largest entries one by one until the scaled remainder fits under the cap.
  while (capped < support.length) {
    const s = (1 - capped * cap) / rest
    if (s * qt[support[capped]] <= cap) {
      for (let t = capped; t < support.length; t++) q[support[t]] = s * qt[support[t]]
      break
    }
    q[support[capped]] = cap
    rest -= qt[support[capped]]
    capped++
  }
  return q
}

/** Indices the No-Regret pre-filter keeps (Algorithm 1, line 3), at most f removed. */
function prefilterKeep (D: Float64Array, n: number, f: number, factor: number): Uint8Array {
  const keep = new Uint8Array(n).fill(1)
  if (f === 0 || n < 2) return keep
  const dist = (i: number, j: number): number => Math.sqrt(D[i * n + j])
  const medians = new Float64Array(n)
  const row = new Float64Array(n - 1)
  for (let i = 0; i < n; i++) {
    let m = 0
    for (let j = 0; j < n; j++) if (j !== i) row[m++] = dist(i, j)
    row.sort()
    medians[i] = m % 2 === 1 ? row[m >> 1] : (row[m / 2 - 1] + row[m / 2]) / 2
  }
  const sortedMedians = medians.slice().sort()
  const r = n % 2 === 1 ? sortedMedians[n >> 1] : (sortedMedians[n / 2 - 1] + sortedMedians[n / 2]) / 2
  const radius = factor * r * Math.sqrt(Math.max(1, Math.log(n)))
  const far = new Float64Array(n)
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (dist(i, j) > radius) far[i]++
  // At most f inputs are Byzantine: dropping more could only drop honest ones, so the f worst
  // offenders (most far neighbours, then least central) go at most.
  const tie = centrality(D, n, n - f - 1)
  const flagged: number[] = []
  for (let i = 0; i < n; i++) if (far[i] > 2 * f) flagged.push(i)
  flagged.sort((a, b) => far[b] - far[a] || tie[b] - tie[a] || a - b)
  for (const i of flagged.slice(0, f)) keep[i] = 0
  return keep
}

/**
 * No-Regret weights (seed 002, Algorithm 1): pre-filter (see `NoRegretParams.prefilter`), then
 * from q uniform over the m′ kept inputs, while ‖Cov_q‖ > ξ: gᵢ = ((xᵢ − μ_q)·v)²,
 * q̃ᵢ = qᵢ (1 − η gᵢ / max g), q = KL projection of q̃ onto {Σq = 1, qᵢ ≤ 1/((1 − ε) m′)}, ε = f/n.
 * The seed's step η ε gᵢ / (2σ² d) presumes a known σ² and unit-scaled data; dividing by max g
 * instead makes the step scale-free and keeps every factor in [1 − η, 1], so weights never go
 * negative (as in Hopkins, Li and Zhang's regret-minimisation filter).
 */
export function noRegretWeights (
  D: Float64Array, n: number, f: number, xi: number,
  options: { eta?: number, maxIter?: number, prefilter?: number } = {}
): Float64Array {
  const eta = options.eta ?? 0.5
  const maxIter = options.maxIter ?? 500
  const keep = prefilterKeep(D, n, f, options.prefilter ?? 2)
  let kept = 0
  for (let i = 0; i < n; i++) kept += keep[i]
  const cap = 1 / ((1 - f / n) * kept)
  let q: Float64Array = Float64Array.from(keep, (k) => k / kept)
  let warm: Float64Array | undefined
  for (let it = 0; it < maxIter; it++) {
    const spec = weightedSpectrum(D, n, q, warm)
    warm = spec.vector
    if (spec.value <= xi) break
    const { g, max } = quasiGradients(spec.proj, q)
    if (!(max > 0)) break
    q = klProjectCapped(q.map((qi, i) => qi * (1 - eta * g[i] / max)), cap)
  }
  return q
}

/** No-Regret (seed 002, Algorithm 1; see `noRegretWeights`). Needs n > 2f. */
export function noRegret (params: NoRegretParams = {}): WeightedAggregator {
  const name = 'no-regret'
  const xiFactor = checkXi(name, params)
  const eta = params.eta ?? 0.5
  if (!(eta > 0 && eta < 1)) throw new RobustInputError('bad-parameter', `${name}: eta must be in (0, 1), got ${eta}`)
  const maxIter = params.maxIter ?? 500
  checkInteger(name, 'maxIter', maxIter, 1)
  const prefilter = params.prefilter ?? 2
  checkPositive(name, 'prefilter', prefilter)
  return weightedMeanRule(name, honestMajority, (inputs: Vectors, options: AggregateOptions) => {
    const n = inputs.length
    const D = kernels().sqDistances(inputs)
    return noRegretWeights(D, n, options.f, threshold(D, n, options.f, params.xi, xiFactor), { eta, maxIter, prefilter })
  })
}
