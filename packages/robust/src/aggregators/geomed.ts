import { RobustInputError } from '../errors.ts'
import { kernels } from '../kernels/index.ts'
import type { Aggregator, AggregateOptions, Vectors } from '../types.ts'
import { checkInputs, checkInteger, output } from '../validate.ts'
import { combineInto, lowerMedian } from './ranking.ts'

export interface GeoMedParams {
  /**
   * Relative tolerance: iteration stops once z is estimated to be within tol times the median
   * distance from z to the inputs of the limit (see `geomed`). In (0, 1); default 1e-6.
   */
  tol?: number
  /** Iteration cap of each phase (see `geomed`); default 200. */
  maxIter?: number
  /**
   * Relative smoothing ν: the Weiszfeld weights are 1/max(ν·m, ‖x_i − z‖), m the median distance
   * from z to the inputs, so an input that z lands on cannot divide by zero, whatever the scale of
   * the inputs. In (0, 1); default 1e-8.
   */
  nu?: number
}

interface Settings { readonly tol: number, readonly maxIter: number, readonly nu: number }

function geomedSettings (rule: string, params: GeoMedParams): Settings {
  const tol = params.tol ?? 1e-6
  const maxIter = params.maxIter ?? 200
  const nu = params.nu ?? 1e-8
  if (typeof tol !== 'number' || !(tol > 0 && tol < 1)) {
    throw new RobustInputError('bad-parameter', `${rule}: tol must be a number in (0, 1), got ${tol}`)
  }
  checkInteger(rule, 'maxIter', maxIter, 1)
  if (typeof nu !== 'number' || !(nu > 0 && nu < 1)) {
    throw new RobustInputError('bad-parameter', `${rule}: nu must be a number in (0, 1), got ${nu}`)
  }
  return { tol, maxIter, nu }
}

/**
 * Relative accuracy of the squared distances the active kernels return: f64 sums in the
 * TypeScript kernels, f32 partial sums (about 1e-7, bounded here by 2^-20) in the WebAssembly ones.
 */
function distanceAccuracy (): number {
  return kernels().name === 'js' ? 64 * Number.EPSILON : 2 ** -20
}

/**
 * Relative rounding of the quantities recovered from D (dot products of n terms in f64 on top of
 * the rounding of D itself): an estimate used to decide when D can no longer resolve z.
 */
function roundingFactor (n: number): number {
  return 4 * n * Number.EPSILON + distanceAccuracy()
}

/**
 * The largest rounding drift (as a share of the median distance) phase 1 accepts: the tolerance,
 * but never below what the kernels' own rounding gives on benign inputs (a few times their
 * distance accuracy), which phase 2, built from the same kernels, could not improve on.
 */
function trustLimit (s: Settings): number {
  return Math.max(s.tol, 16 * distanceAccuracy())
}

/**
 * With z = Σ α_i x_i (Σ α = 1): ‖x_k − z‖² = (Dα)_k − ½ αᵀDα. Writes r_k = ‖x_k − z‖ (tiny
 * negative rounding clamped to 0), using g for Dα.
 */
function distancesFromMatrix (D: Float64Array, n: number, alpha: Float64Array, g: Float64Array, r: Float64Array): void {
  let q = 0
  for (let k = 0; k < n; k++) {
    let s = 0
    const row = k * n
    for (let i = 0; i < n; i++) s += D[row + i] * alpha[i]
    g[k] = s
    q += alpha[k] * s
  }
  for (let k = 0; k < n; k++) r[k] = Math.sqrt(Math.max(0, g[k] - q / 2))
}

/**
 * How far rounding in `distancesFromMatrix` may move the next z. Each r_k carries an absolute
 * error up to e_k = γ((D|α|)_k + ½ |α|ᵀD|α|), i.e. up to Δr_k = e_k/(r_k + √e_k), and a relative
 * error Δr_k/r_k in weight k moves z by about |α_k| Δr_k. Inputs at wildly different scales (e.g.
 * one 1e10 times farther away than the others' spread) make this large. |α| because a step off
 * an input may leave some weights negative.
 */
function roundingDrift (D: Float64Array, n: number, alpha: Float64Array, r: Float64Array, gamma: number, g: Float64Array): number {
  let q = 0
  for (let k = 0; k < n; k++) {
    let s = 0
    for (let i = 0; i < n; i++) s += D[k * n + i] * Math.abs(alpha[i])
    g[k] = s
    q += Math.abs(alpha[k]) * s
  }
  let drift = 0
  for (let k = 0; k < n; k++) {
    const e = gamma * (g[k] + q / 2)
    if (e > 0) drift += Math.abs(alpha[k]) * e / (r[k] + Math.sqrt(e))
  }
  return drift
}

/** ‖Σ δ_i x_i‖² = −½ δᵀDδ for δ = next − alpha (Σ δ = 0), clamped to ≥ 0. */
function stepSquared (D: Float64Array, n: number, alpha: Float64Array, next: Float64Array): number {
  let s = 0
  for (let i = 0; i < n; i++) {
    const di = next[i] - alpha[i]
    if (di === 0) continue
    const row = i * n
    for (let j = 0; j < n; j++) s += di * (next[j] - alpha[j]) * D[row + j]
  }
  return Math.max(0, -s / 2)
}

/** Smoothed Weiszfeld weights w_k = 1/max(floor, r_k), normalised to sum 1. Returns the index of the largest. */
function weiszfeldWeights (r: Float64Array, floor: number, w: Float64Array): number {
  let sum = 0
  for (let k = 0; k < r.length; k++) { w[k] = 1 / Math.max(floor, r[k]); sum += w[k] }
  let best = 0
  for (let k = 0; k < r.length; k++) {
    w[k] /= sum
    if (w[k] > w[best]) best = k
  }
  return best
}

/**
 * Inputs closer than this share of the median distance to an input x_m count as sitting on it
 * when deciding whether to step off x_m: near-duplicates otherwise add a unit vector pointing
 * along their tiny offset to R and shrink the step to their distance.
 */
const CLUSTER = 1e-3

interface VertexTest {
  readonly verdict: 'optimal' | 'not-optimal' | 'unknown'
  /** ‖R‖² (see `vertexTest`), as far as D resolves it. */
  readonly norm2: number
  /** μ: how many inputs sit on x_m (x_m included). */
  readonly multiplicity: number
}

/**
 * Is input x_m a geometric median? With μ inputs sitting on x_m (squared distance ≤ radius2;
 * radius2 = 0: exact copies), x_m is optimal iff ‖R‖ ≤ μ, R = Σ_{others} (x_k − x_m)/‖x_k − x_m‖
 * (0 is then a subgradient of Σ‖x_k − z‖). ‖R‖² follows from D through
 * ⟨u_k, u_l⟩ = (D_mk + D_ml − D_kl)/(2 r_mk r_ml); the verdict is 'unknown' when the rounding of
 * those differences could flip the comparison. With radius2 > 0 the verdict is about the cluster.
 */
function vertexTest (D: Float64Array, n: number, m: number, radius2 = 0): VertexTest {
  const row = m * n
  let mult = 0
  for (let k = 0; k < n; k++) if (D[row + k] <= radius2) mult++
  if (2 * mult >= n) return { verdict: 'optimal', norm2: 0, multiplicity: mult }
  const gamma = roundingFactor(n)
  let s = 0
  let err = 0
  for (let k = 0; k < n; k++) {
    const dk = D[row + k]
    if (dk <= radius2) continue
    s += 1
    const rk = Math.sqrt(dk)
    for (let l = k + 1; l < n; l++) {
      const dl = D[row + l]
      if (dl <= radius2) continue
      const scale = rk * Math.sqrt(dl)
      s += (dk + dl - D[k * n + l]) / scale
      err += gamma * (dk + dl + D[k * n + l]) / scale
    }
  }
  const bound = mult * mult
  const verdict = s + err <= bound ? 'optimal' : s - err > bound ? 'not-optimal' : 'unknown'
  return { verdict, norm2: Math.max(0, s), multiplicity: mult }
}

/**
 * `vertexTest` for exact copies, settled on the vectors when D cannot decide (one `combine` for R
 * and an O(d) norm). Returns whether x_m is optimal, ‖R‖ (when known) and μ.
 */
function vertexTestOnVectors (inputs: Vectors, D: Float64Array, m: number, scratch: Float32Array): ExactVertex {
  const n = inputs.length
  const test = vertexTest(D, n, m)
  if (test.verdict !== 'unknown') {
    return { optimal: test.verdict === 'optimal', norm: Math.sqrt(test.norm2), multiplicity: test.multiplicity }
  }
  const coeffs = new Float64Array(n)
  let total = 0
  for (let k = 0; k < n; k++) {
    const dk = D[m * n + k]
    if (dk === 0) continue
    coeffs[k] = 1 / Math.sqrt(dk)
    total += coeffs[k]
  }
  coeffs[m] = -total
  kernels().combine(inputs, coeffs, [scratch])
  let norm2 = 0
  for (let j = 0; j < scratch.length; j++) norm2 += scratch[j] * scratch[j]
  const norm = Math.sqrt(norm2)
  return { optimal: norm <= test.multiplicity, norm, multiplicity: test.multiplicity }
}

interface ExactVertex { readonly optimal: boolean, readonly norm: number, readonly multiplicity: number }

/**
 * The Vardi–Zhang step off the inputs sitting on x_m (within radius2) when they are not a median
 * (‖R‖ > μ): z = x_m + (1 − μ/‖R‖)(T − x_m), T the Weiszfeld map of x_m over the other inputs.
 * Plain Weiszfeld cannot leave an input it sits on and crawls near one (steps so small they look
 * like convergence), while the objective falls along this step. Writes the weights of z into
 * `alpha` and returns Σ 1/‖x_k − x_m‖ over the other inputs, so that ‖z − x_m‖ = λ‖R‖ / that.
 * Some input must lie outside radius2 (the callers know x_m is not a median).
 */
function stepOff (D: Float64Array, n: number, m: number, radius2: number, lambda: number, alpha: Float64Array): number {
  let total = 0
  for (let k = 0; k < n; k++) {
    const dk = D[m * n + k]
    alpha[k] = dk <= radius2 ? 0 : 1 / Math.sqrt(dk)
    total += alpha[k]
  }
  for (let k = 0; k < n; k++) alpha[k] *= lambda / total
  alpha[m] += 1 - lambda
  return total
}

/**
 * When z crawls near input x_m whose cluster (inputs within CLUSTER × rMed) is not a median,
 * writes into `jump` the weights of the point stepped off that cluster and says whether to go
 * there: only when it lies farther from x_m than z does (rm). Writes `jump` in any case.
 */
function jumpOff (D: Float64Array, n: number, m: number, rMed: number, rm: number, jump: Float64Array, exact?: ExactVertex): boolean {
  const radius2 = (CLUSTER * rMed) ** 2
  const test = vertexTest(D, n, m, radius2)
  if (test.verdict === 'not-optimal') return rm < lineStepOff(D, n, m, radius2, Math.sqrt(test.norm2), jump)
  if (test.verdict === 'unknown' && exact !== undefined && !exact.optimal && exact.multiplicity === test.multiplicity) {
    // D cannot resolve the directions, but the vectors gave ‖R‖ (no near-duplicates here).
    const lambda = 1 - exact.multiplicity / exact.norm
    return rm < lambda * exact.norm / stepOff(D, n, m, radius2, lambda, jump)
  }
  return false
}

/**
 * Exact line search off a cluster that is not a median (`vertexTest` said 'not-optimal', so D
 * resolves the directions): along u = R/‖R‖ from x_m, the inputs' projections are
 * p_k = ⟨x_k − x_m, u⟩ = Σ_l (D_mk + D_ml − D_kl)/(2 r_ml ‖R‖) and their distances
 * √(D_mk − 2 t p_k + t²), so the convex objective F(x_m + t u) is minimised by bisection on
 * F′(t) = Σ_k (t − p_k)/‖x_k − x_m − t u‖. Where the Vardi–Zhang step only looks at the slope at
 * x_m, this lands at the minimum along the line even when ‖R‖ barely exceeds μ (Weiszfeld then
 * leaves x_m by a factor ‖R‖/μ a step). Writes the weights of z = x_m + t u into `alpha`
 * (affine: Σ = 1, some may be negative) and returns t.
 */
function lineStepOff (D: Float64Array, n: number, m: number, radius2: number, norm: number, alpha: Float64Array): number {
  const row = m * n
  const p = new Float64Array(n)
  let far = 0
  for (let k = 0; k < n; k++) {
    far = Math.max(far, Math.sqrt(D[row + k]))
    let s = 0
    for (let l = 0; l < n; l++) {
      const dl = D[row + l]
      if (dl > radius2) s += (D[row + k] + dl - D[k * n + l]) / (2 * Math.sqrt(dl))
    }
    p[k] = s / norm
  }
  const slope = (t: number): number => {
    let s = 0
    for (let k = 0; k < n; k++) {
      const dist = Math.sqrt(Math.max(0, D[row + k] - 2 * t * p[k] + t * t))
      if (dist > 0) s += (t - p[k]) / dist
    }
    return s
  }
  let lo = 0
  let hi = 2 * far
  for (let it = 0; it < 60 && hi - lo > 1e-12 * far; it++) {
    const mid = (lo + hi) / 2
    if (slope(mid) < 0) lo = mid; else hi = mid
  }
  const t = (lo + hi) / 2
  // z = x_m + t Σ_l (x_l − x_m)/(r_ml ‖R‖) over the inputs off the cluster.
  alpha.fill(0)
  let total = 0
  for (let l = 0; l < n; l++) {
    const dl = D[row + l]
    if (dl > radius2) { alpha[l] = t / (Math.sqrt(dl) * norm); total += alpha[l] }
  }
  alpha[m] = 1 - total
  return t
}

/** The weight w carries on x_m and the inputs within CLUSTER × rMed of it. */
function clusterWeight (D: Float64Array, n: number, m: number, rMed: number, w: Float64Array): number {
  const radius2 = (CLUSTER * rMed) ** 2
  let total = 0
  for (let k = 0; k < n; k++) if (D[m * n + k] <= radius2) total += w[k]
  return total
}

/**
 * Stop test shared by both phases: Weiszfeld converges linearly, so the distance still to go is
 * about step · ρ/(1 − ρ), ρ the ratio of the last two steps (capped at 0.99). Stop once that is
 * within `limit` (tol × the median distance); a single step (previousStep 0) is not enough to
 * judge, unless it is exactly 0.
 */
function closeEnough (step: number, previousStep: number, limit: number): boolean {
  if (step === 0) return true
  if (previousStep === 0) return false
  const rate = Math.min(step / previousStep, 0.99)
  return step * rate / (1 - rate) <= limit
}

interface MatrixSolution {
  /** z = Σ alpha_i x_i. */
  readonly alpha: Float64Array
  /** An input proven to be a geometric median, or -1. */
  readonly vertex: number
  /** Whether the distances recovered from D were accurate enough to trust z to the tolerance. */
  readonly reliable: boolean
}

/**
 * Where Weiszfeld starts: the mean or, when its objective Σ_k ‖x_k − z‖ is lower, the medoid (the
 * input minimising it, always inside the bulk of the inputs: far outliers drag the mean away and
 * Weiszfeld then needs many steps just to come back). An input that is a median has the least
 * objective of all inputs, so the medoid is the one input worth testing first; when it is not a
 * median the start steps off it (`lineStepOff`, or half of `stepOff` when D cannot resolve the
 * directions).
 */
function startingPoint (D: Float64Array, n: number, g: Float64Array, r: Float64Array): { alpha: Float64Array, medoid: number, vertex: boolean } {
  const alpha = new Float64Array(n).fill(1 / n)
  distancesFromMatrix(D, n, alpha, g, r)
  let meanObjective = 0
  for (let k = 0; k < n; k++) meanObjective += r[k]
  let medoid = 0
  let best = Infinity
  for (let m = 0; m < n; m++) {
    let objective = 0
    for (let k = 0; k < n; k++) objective += Math.sqrt(D[m * n + k])
    if (objective < best) { best = objective; medoid = m }
  }
  if (vertexTest(D, n, medoid).verdict === 'optimal') return { alpha, medoid, vertex: true }
  if (meanObjective <= best) return { alpha, medoid, vertex: false }
  // The median distance from the medoid stands in for the median distance from z.
  for (let k = 0; k < n; k++) r[k] = Math.sqrt(D[medoid * n + k])
  const radius2 = (CLUSTER * lowerMedian(r, g)) ** 2
  const test = vertexTest(D, n, medoid, radius2)
  if (test.verdict === 'not-optimal') lineStepOff(D, n, medoid, radius2, Math.sqrt(test.norm2), alpha)
  else if (test.multiplicity < n) stepOff(D, n, medoid, radius2, 0.5, alpha)
  return { alpha, medoid, vertex: false }
}

/** Smoothed Weiszfeld on the n×n squared-distance matrix alone (phase 1 of `geomed`). */
function solveOnMatrix (D: Float64Array, n: number, s: Settings): MatrixSolution {
  const unit = (m: number): MatrixSolution => {
    const alpha = new Float64Array(n)
    alpha[m] = 1
    return { alpha, vertex: m, reliable: true }
  }
  const gamma = roundingFactor(n)
  const trust = trustLimit(s)
  const next = new Float64Array(n)
  const jump = new Float64Array(n)
  const g = new Float64Array(n)
  const r = new Float64Array(n)
  const scratch = new Float64Array(n)
  const start = startingPoint(D, n, g, r)
  if (start.vertex) return unit(start.medoid)
  const alpha = start.alpha
  const checked = new Uint8Array(n)
  checked[start.medoid] = 1
  let previousStep = 0
  let undecided = false
  for (let it = 0; it < s.maxIter; it++) {
    distancesFromMatrix(D, n, alpha, g, r)
    const rMed = lowerMedian(r, scratch)
    // Stop before rounding noise steers the weights (it can pin z on an input): phase 2 goes on.
    if (roundingDrift(D, n, alpha, r, gamma, g) > trust * rMed) break
    if (rMed === 0) break // half of the inputs or more sit at z: z is optimal
    const m = weiszfeldWeights(r, s.nu * rMed, next)
    // Weiszfeld crawls near an input: return it if it is a median, else try to step off it.
    if (checked[m] === 0 && clusterWeight(D, n, m, rMed, next) >= 0.5) {
      checked[m] = 1
      const test = vertexTest(D, n, m)
      if (test.verdict === 'optimal') return unit(m)
      if (jumpOff(D, n, m, rMed, r[m], jump)) {
        alpha.set(jump) // a jump says nothing about convergence
        previousStep = 0
        continue
      }
      if (test.verdict === 'unknown') { undecided = true; break } // phase 2 decides on the vectors
    }
    const step = Math.sqrt(stepSquared(D, n, alpha, next))
    alpha.set(next)
    if (closeEnough(step, previousStep, s.tol * rMed)) break
    previousStep = step
  }
  distancesFromMatrix(D, n, alpha, g, r)
  const rMed = lowerMedian(r, scratch)
  return { alpha, vertex: -1, reliable: !undecided && roundingDrift(D, n, alpha, r, gamma, g) <= trust * rMed }
}

/**
 * Phase 2 of `geomed`: smoothed Weiszfeld on the vectors, from z = Σ alpha_i x_i, with distances
 * computed directly (one `sqDistancesTo` and one `combine` per step). Writes the median into `result`.
 */
function solveOnVectors (inputs: Vectors, D: Float64Array, alpha: Float64Array, s: Settings, result: Float32Array): void {
  const n = inputs.length
  const d = result.length
  const k = kernels()
  let z = new Float32Array(d)
  let zNext = new Float32Array(d)
  k.combine(inputs, alpha, [z])
  const w = new Float64Array(n)
  const r = new Float64Array(n)
  const scratch = new Float64Array(n)
  const jump = new Float64Array(n)
  const checked = new Uint8Array(n)
  let previousStep = 0
  for (let it = 0; it < s.maxIter; it++) {
    const sq = k.sqDistancesTo(inputs, z)
    for (let i = 0; i < n; i++) r[i] = Math.sqrt(sq[i])
    const rMed = lowerMedian(r, scratch)
    if (rMed === 0) break
    const m = weiszfeldWeights(r, s.nu * rMed, w)
    let jumped = false
    if (checked[m] === 0 && clusterWeight(D, n, m, rMed, w) >= 0.5) {
      checked[m] = 1
      const exact = vertexTestOnVectors(inputs, D, m, zNext)
      if (exact.optimal) {
        result.set(inputs[m])
        return
      }
      jumped = jumpOff(D, n, m, rMed, r[m], jump, exact)
      if (jumped) w.set(jump)
    }
    k.combine(inputs, w, [zNext])
    let step2 = 0
    for (let j = 0; j < d; j++) { const t = zNext[j] - z[j]; step2 += t * t }
    const previous = z
    z = zNext
    zNext = previous
    const step = Math.sqrt(step2)
    if (!jumped && closeEnough(step, previousStep, s.tol * rMed)) break
    previousStep = jumped ? 0 : step
  }
  result.set(z)
}

/**
 * GeoMed weights from the n×n squared-distance matrix D alone (phase 1 of `geomed`): α with
 * Σ α = 1 and Σ α_i x_i ≈ argmin_z Σ_i ‖x_i − z‖, a unit vector when an input is proven optimal
 * (Weiszfeld's weights are positive; a step off an input can leave some negative). For callers
 * that already hold D (from the active kernels, whose rounding it assumes). The distances
 * recovered from D lose precision when some inputs lie far beyond the others' spread (about 1e9
 * times with the TypeScript kernels' f64 distances, a few hundred times with the WebAssembly
 * kernels' f32 partial sums): `geomed` then continues on the vectors, this cannot.
 */
export function geomedWeights (D: Float64Array, n: number, params: GeoMedParams = {}): Float64Array {
  const s = geomedSettings('geomed', params)
  if (!Number.isInteger(n) || n < 1 || D.length !== n * n) {
    throw new RobustInputError('dimension-mismatch', `geomed: distance matrix has ${D.length} entries, expected n² for n = ${n}`)
  }
  return solveOnMatrix(D, n, s).alpha
}

/**
 * Geometric median argmin_z Σ_i ‖x_i − z‖ by smoothed Weiszfeld:
 * z ← Σ w_i x_i / Σ w_i with w_i = 1/max(ν·m, ‖x_i − z‖), m the median of the ‖x_i − z‖.
 * It starts from the mean or, when that is worse, from the medoid (the best input); it stops when
 * the distance still to go, estimated from the last step and the observed contraction rate, is at
 * most tol·m (a relative change of z), or after maxIter steps.
 *
 * Phase 1 runs on the squared-distance matrix D alone: with z = Σ α_i x_i,
 * ‖x_k − z‖² = (Dα)_k − ½ αᵀDα, so a step costs O(n²) and the data is read by one `sqDistances`
 * and one final `combine`. That identity cancels large terms when some inputs lie far beyond the
 * others' spread (see `geomedWeights`); when its rounding could move z by more than
 * max(tol, 16 × the kernels' distance accuracy) × m, phase 2 takes over on the vectors with
 * directly computed distances, one `sqDistancesTo` and one `combine` per step. So accuracy is
 * about tol with the TypeScript kernels and about 1e-5 of the spread with the WebAssembly ones.
 *
 * Near an input point Weiszfeld crawls, towards it or away from it. So the medoid, and any input
 * (with its near-duplicates) that comes to hold half of the weight, is tested for optimality:
 * when optimal it is returned exactly (collinear or repeated inputs), else z jumps to the minimum
 * of the objective along the steepest descent direction off it. Needs n > 2f (GeoMed's breakdown
 * point is 1/2).
 */
export function geomed (params: GeoMedParams = {}): Aggregator {
  const name = 'geomed'
  const s = geomedSettings(name, params)
  return {
    name,
    minInputs: (f) => 2 * f + 1,
    aggregate (inputs: Vectors, options: AggregateOptions, out?: Float32Array): Float32Array {
      const d = checkInputs(name, inputs, options, this.minInputs(options.f))
      const result = output(name, d, out)
      const D = kernels().sqDistances(inputs)
      const solution = solveOnMatrix(D, inputs.length, s)
      if (solution.vertex >= 0) {
        result.set(inputs[solution.vertex])
        return result
      }
      if (solution.reliable) return combineInto(inputs, solution.alpha, result)
      solveOnVectors(inputs, D, solution.alpha, s, result)
      return result
    }
  }
}
