import { RobustInputError } from '../errors.ts'
import { kernels } from '../kernels/index.ts'
import type { Aggregator, AggregateOptions, Vectors } from '../types.ts'
import { checkInputs, checkInteger, checkPositive, output } from '../validate.ts'
import { filtering } from './spectral.ts'
import { honestMajority, isWeightedAggregator, weightedMeanRule } from './weighted-mean.ts'
import type { WeightedAggregator } from './weighted-mean.ts'

// Loss-aware rules: besides the models they read options.lossGaps, one number per input. In gossip
// form gapᵢ is the loss of input i's model on the aggregating node's own data minus the best such
// loss (0 for the best input), so a lower gap means a model that does better here.

/** Reads options.lossGaps: required, one finite value per input. */
export function checkLossGaps (rule: string, gaps: ArrayLike<number> | undefined, n: number): ArrayLike<number> {
  if (gaps === undefined || gaps === null) {
    throw new RobustInputError('bad-parameter', `${rule}: options.lossGaps is required (one loss gap per input)`)
  }
  if (gaps.length !== n) {
    throw new RobustInputError('dimension-mismatch', `${rule}: options.lossGaps has ${gaps.length} entries for ${n} inputs`)
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(gaps[i])) {
      throw new RobustInputError('non-finite', `${rule}: options.lossGaps[${i}] is not finite (${gaps[i]})`)
    }
  }
  return gaps
}

// ---------------------------------------------------------------------------------------------
// PAwBRoFL (seed 002, eq. 8–9)

/**
 * Which inputs the softmax favours. 'low-gap' (default, gossip form): gaps are losses of the inputs'
 * models on local data, so z = −q·gap/μ and better models get more weight. 'high-gap' is eq. 8
 * verbatim, z = +q·gap/μ, for the federated form where gapᵢ = fᵢ(θ) − fᵢ* is client i's own
 * sub-optimality at the shared model and the smoothed max over clients favours the worst served.
 */
export type GapPreference = 'low-gap' | 'high-gap'

export interface PawbroflParams {
  /** Softmax temperature μ > 0; default 0.1. Large μ tends to the base rule. */
  mu?: number
  /** The robust rule giving q and g_BR = Σ qᵢ xᵢ; must expose its weights. Default `filtering()`. */
  base?: Aggregator
  /** Default 'low-gap'. */
  prefer?: GapPreference
}

/**
 * The eq. 8 coefficients aᵢ = qᵢ · softmax(z)ᵢ, zᵢ = ±qᵢ gapᵢ / μ (sign from `prefer`), the softmax
 * over all inputs as in the seed. Computed with the max-shift, so no overflow for any finite z.
 */
export function pawbroflWeights (q: ArrayLike<number>, gaps: ArrayLike<number>, mu: number, prefer: GapPreference = 'low-gap'): Float64Array {
  const n = q.length
  const sign = prefer === 'high-gap' ? 1 : -1
  const z = new Float64Array(n)
  let zmax = -Infinity
  for (let i = 0; i < n; i++) { z[i] = sign * q[i] * gaps[i] / mu; if (z[i] > zmax) zmax = z[i] }
  let total = 0
  for (let i = 0; i < n; i++) { z[i] = Math.exp(z[i] - zmax); total += z[i] }
  const a = new Float64Array(n)
  for (let i = 0; i < n; i++) a[i] = q[i] * z[i] / total
  return a
}

function norm (x: Float32Array): number {
  let s = 0
  for (let j = 0; j < x.length; j++) s += x[j] * x[j]
  return Math.sqrt(s)
}

/**
 * PAwBRoFL (seed 002, eq. 8–9): with q the base rule's weights (default: the filtering weights),
 * g_BR = Σ qᵢ xᵢ and g_PABR = Σ qᵢ softmax(z)ᵢ xᵢ (see `pawbroflWeights`), the output is
 * ‖g_BR‖ · g_PABR / ‖g_PABR‖: the loss-aware direction with the robust aggregate's norm. Inputs the
 * base rule drops (qᵢ = 0) stay dropped. When g_PABR = 0 the direction is undefined and the output
 * is g_BR. Needs options.lossGaps; same bound as the base rule.
 */
export function pawbrofl (params: PawbroflParams = {}): Aggregator {
  const name = 'pawbrofl'
  const mu = params.mu ?? 0.1
  checkPositive(name, 'mu', mu)
  const prefer = params.prefer ?? 'low-gap'
  if (prefer !== 'low-gap' && prefer !== 'high-gap') {
    throw new RobustInputError('bad-parameter', `${name}: prefer must be 'low-gap' or 'high-gap', got ${String(prefer)}`)
  }
  const base = params.base ?? filtering()
  if (!isWeightedAggregator(base)) {
    throw new RobustInputError('bad-parameter', `${name}: base rule '${base.name}' does not expose its weights (needs a weights(inputs, options) method)`)
  }
  const robust: WeightedAggregator = base
  return {
    name,
    minInputs: (f: number) => robust.minInputs(f),
    aggregate (inputs: Vectors, options: AggregateOptions, out?: Float32Array): Float32Array {
      const d = checkInputs(name, inputs, options, robust.minInputs(options.f))
      const n = inputs.length
      const gaps = checkLossGaps(name, options.lossGaps, n)
      const result = output(name, d, out)
      // The inputs were just checked: the base rule need not scan them again.
      const q = robust.weights(inputs, { ...options, assumeFinite: true })
      const a = pawbroflWeights(q, gaps, mu, prefer)
      const coeffs = new Float64Array(2 * n)
      coeffs.set(q, 0)
      coeffs.set(a, n)
      const gBR = new Float32Array(d)
      kernels().combine(inputs, coeffs, [gBR, result])
      const nPA = norm(result)
      if (!(nPA > 0)) {
        result.set(gBR)
        return result
      }
      const scale = norm(gBR) / nPA
      for (let j = 0; j < d; j++) result[j] *= scale
      return result
    }
  }
}

// ---------------------------------------------------------------------------------------------
// FedLAW (seed 003)

/**
 * Euclidean projection of y onto the capped simplex {Σw = 1, 0 ≤ w ≤ t} (needs len·t ≥ 1):
 * wᵢ = clip(yᵢ − τ, 0, t) with τ found exactly on the sorted breakpoints {yᵢ, yᵢ − t}, where
 * φ(τ) = Σ clip(yᵢ − τ, 0, t) is piecewise linear and non-increasing.
 */
function projectCappedSimplex (y: Float64Array, t: number): Float64Array {
  const m = y.length
  const w = new Float64Array(m)
  if (m * t <= 1 + 1e-12) return w.fill(1 / m) // the only feasible point (up to rounding)
  const phi = (tau: number): number => {
    let s = 0
    for (let i = 0; i < m; i++) s += Math.min(t, Math.max(0, y[i] - tau))
    return s
  }
  const points = new Float64Array(2 * m)
  for (let i = 0; i < m; i++) { points[2 * i] = y[i]; points[2 * i + 1] = y[i] - t }
  points.sort()
  // φ(points[0]) = m·t ≥ 1 and φ(points[2m − 1]) = 0: bisect for the last breakpoint with φ ≥ 1.
  let lo = 0; let hi = 2 * m - 1
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1
    if (phi(points[mid]) >= 1) lo = mid; else hi = mid
  }
  const a = points[lo]; const b = points[hi]
  const pa = phi(a); const pb = phi(b)
  const tau = pa === pb || b === a ? a : a + (pa - 1) * (b - a) / (pa - pb)
  for (let i = 0; i < m; i++) w[i] = Math.min(t, Math.max(0, y[i] - tau))
  return w
}

/**
 * Projection onto the sparse capped simplex {Σw = 1, 0 ≤ w ≤ t, ‖w‖₀ ≤ s} (seed 003, Theorem 1):
 * keep the s largest entries of v (ties to the lower index), project them onto the capped simplex
 * {Σw = 1, 0 ≤ w ≤ t}, set the rest to 0. Exact for this non-convex set: moving weight from a
 * larger entry to a smaller one never lowers the distance. Requires s·t ≥ 1 (else the set is empty).
 */
export function projectSparseCappedSimplex (v: ArrayLike<number>, s: number, t: number): Float64Array {
  const rule = 'projectSparseCappedSimplex'
  const n = v.length
  checkInteger(rule, 's', s, 1, Math.max(1, n))
  checkPositive(rule, 't', t)
  if (n === 0) throw new RobustInputError('empty-input', `${rule}: empty vector`)
  if (s * t < 1 - 1e-12) {
    throw new RobustInputError('bad-parameter', `${rule}: s·t must be ≥ 1 for the set to be non-empty, got s = ${s}, t = ${t}`)
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(v[i])) throw new RobustInputError('non-finite', `${rule}: entry ${i} is not finite (${v[i]})`)
  }
  const support = Array.from({ length: n }, (_, i) => i).sort((a, b) => v[b] - v[a] || a - b).slice(0, s)
  const w = projectCappedSimplex(Float64Array.from(support, (i) => v[i]), t)
  const out = new Float64Array(n)
  support.forEach((i, k) => { out[i] = w[k] })
  return out
}

export interface FedlawParams {
  /** Sparsity: at most s inputs get weight; default n − f per call. */
  s?: number
  /** Per-input weight cap; default capFactor / s. Needs s·t ≥ 1. */
  t?: number
  /** Default cap as a multiple of the uniform weight 1/s; default 2 (t = 1/s gives uniform weights on the s best). */
  capFactor?: number
  /** Step on the loss gaps: scores vᵢ = −β·gapᵢ; default 1. */
  beta?: number
}

/**
 * FedLAW (seed 003) in gossip form: weights w = projection of vᵢ = −β·gapᵢ onto the sparse capped
 * simplex {Σw = 1, 0 ≤ w ≤ t, ‖w‖₀ ≤ s}, output Σ wᵢ xᵢ. This is the seed's weight step
 * h = w_k − β ∇_w Φ keeping the loss term: the projection is shift-invariant, so the previous
 * (uniform) weights drop out, and the gradient-alignment term needs trial gradients a gossip node
 * does not have. The s lowest-gap inputs get weight (the others are dropped), none more than t.
 * Needs options.lossGaps and n > 2f.
 */
export function fedlaw (params: FedlawParams = {}): WeightedAggregator {
  const name = 'fedlaw'
  if (params.s !== undefined) checkInteger(name, 's', params.s, 1)
  if (params.t !== undefined) checkPositive(name, 't', params.t)
  const capFactor = params.capFactor ?? 2
  if (!(Number.isFinite(capFactor) && capFactor >= 1)) {
    throw new RobustInputError('bad-parameter', `${name}: capFactor must be a finite number ≥ 1, got ${capFactor}`)
  }
  const beta = params.beta ?? 1
  checkPositive(name, 'beta', beta)
  if (params.s !== undefined && params.t !== undefined && params.s * params.t < 1 - 1e-12) {
    throw new RobustInputError('bad-parameter', `${name}: s·t must be ≥ 1, got s = ${params.s}, t = ${params.t}`)
  }
  return weightedMeanRule(name, honestMajority, (inputs: Vectors, options: AggregateOptions) => {
    const n = inputs.length
    const gaps = checkLossGaps(name, options.lossGaps, n)
    const s = params.s ?? n - options.f
    if (s > n) throw new RobustInputError('bad-parameter', `${name}: sparsity s = ${s} exceeds the ${n} inputs`)
    const t = params.t ?? capFactor / s
    if (s * t < 1 - 1e-12) {
      throw new RobustInputError('bad-parameter', `${name}: s·t must be ≥ 1, got s = ${s}, t = ${t}`)
    }
    const v = Float64Array.from({ length: n }, (_, i) => -beta * gaps[i])
    return projectSparseCappedSimplex(v, s, t)
  })
}
