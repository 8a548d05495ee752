import { RobustInputError } from './errors.ts'
import { createRng } from './rng.ts'

// Dense symmetric eigen-problems of the small n×n (or m×m) matrices the spectral rules build in
// input space. Matrices are row-major Float64Array. Both solvers scale the matrix by its largest
// entry first, so Gram matrices of far outliers (entries near 1e80) neither overflow nor underflow.

/** Eigen-decomposition of a symmetric matrix. */
export interface SymmetricEigen {
  /** Eigenvalues, largest first. */
  values: Float64Array
  /** Unit eigenvectors, row k (entries k·m .. k·m + m − 1) belonging to values[k]. */
  vectors: Float64Array
}

/** The largest eigenvalue of a symmetric matrix and a unit eigenvector for it. */
export interface TopEigen {
  value: number
  vector: Float64Array
}

export interface TopEigenOptions {
  /** A guess of the top eigenvector (e.g. from the previous iteration of a filter); length m. */
  start?: ArrayLike<number>
  /** Stop once the residual ‖Av − θv‖ ≤ tol · maxᵢⱼ|Aᵢⱼ|; default 1e-12. */
  tol?: number
}

export interface LowerBoundOptions {
  /** A guess of the top eigenvector; length m. */
  start?: ArrayLike<number>
  /** Stop as soon as the bound reaches this value. */
  stopAbove?: number
  /** Lanczos steps at most; default m (then the bound is the eigenvalue itself, up to rounding). */
  maxSteps?: number
}

function normalise (v: Float64Array): number {
  let s = 0
  for (let i = 0; i < v.length; i++) s += v[i] * v[i]
  const norm = Math.sqrt(s)
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i] /= norm
  return norm
}

function checkSquare (name: string, A: Float64Array, m: number): void {
  if (!Number.isInteger(m) || m < 1 || A.length !== m * m) {
    throw new RobustInputError('dimension-mismatch', `${name}: matrix has ${A.length} entries, expected m² for m = ${m}`)
  }
}

function maxAbs (A: Float64Array): number {
  let s = 0
  for (let i = 0; i < A.length; i++) { const a = Math.abs(A[i]); if (a > s) s = a }
  return s
}

/** Flips v so that its largest-magnitude entry is positive: a deterministic sign for eigenvectors. */
function fixSign (v: Float64Array, offset: number, m: number): void {
  let k = offset
  for (let i = offset + 1; i < offset + m; i++) if (Math.abs(v[i]) > Math.abs(v[k])) k = i
  if (v[k] < 0) for (let i = offset; i < offset + m; i++) v[i] = -v[i]
}

/**
 * All eigenvalues and eigenvectors of the symmetric m×m matrix A (row-major; A is not modified) by
 * the cyclic Jacobi method: accurate to rounding even for tightly clustered or repeated
 * eigenvalues, O(m³) per sweep, a handful of sweeps. Values come largest first; each eigenvector's
 * largest-magnitude entry is positive.
 */
export function symmetricEigen (A: Float64Array, m: number): SymmetricEigen {
  checkSquare('symmetricEigen', A, m)
  const scale = maxAbs(A)
  const values = new Float64Array(m)
  const vectors = new Float64Array(m * m)
  if (!(scale > 0) || !Number.isFinite(scale)) {
    if (!(scale === 0)) throw new RobustInputError('non-finite', 'symmetricEigen: matrix has a non-finite entry')
    for (let i = 0; i < m; i++) vectors[i * m + i] = 1
    return { values, vectors }
  }
  // a: working copy (symmetrised, scaled); V: accumulated rotations, eigenvectors in columns.
  const a = new Float64Array(m * m)
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) a[i * m + j] = 0.5 * (A[i * m + j] + A[j * m + i]) / scale
  }
  const V = new Float64Array(m * m)
  for (let i = 0; i < m; i++) V[i * m + i] = 1
  let total = 0
  for (let i = 0; i < m * m; i++) total += a[i] * a[i]
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0
    for (let p = 0; p < m; p++) for (let q = p + 1; q < m; q++) off += a[p * m + q] * a[p * m + q]
    if (off <= 1e-32 * total) break
    for (let p = 0; p < m - 1; p++) {
      for (let q = p + 1; q < m; q++) {
        const apq = a[p * m + q]
        if (apq === 0) continue
        const app = a[p * m + p]
        const aqq = a[q * m + q]
        // Entries already negligible beside both diagonals are dropped (classic Jacobi threshold).
        if (sweep > 3 && Math.abs(app) + 1e3 * Math.abs(apq) === Math.abs(app) &&
            Math.abs(aqq) + 1e3 * Math.abs(apq) === Math.abs(aqq)) {
          a[p * m + q] = 0; a[q * m + p] = 0
          continue
        }
        const theta = (aqq - app) / (2 * apq)
        const t = Math.abs(theta) > 1e150
          ? 1 / (2 * theta)
          : Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1))
        const c = 1 / Math.sqrt(t * t + 1)
        const s = t * c
        a[p * m + p] = app - t * apq
        a[q * m + q] = aqq + t * apq
        a[p * m + q] = 0; a[q * m + p] = 0
        for (let r = 0; r < m; r++) {
          if (r !== p && r !== q) {
            const arp = a[r * m + p]
            const arq = a[r * m + q]
            const np = c * arp - s * arq
            const nq = s * arp + c * arq
            a[r * m + p] = np; a[p * m + r] = np
            a[r * m + q] = nq; a[q * m + r] = nq
          }
          const vrp = V[r * m + p]
          const vrq = V[r * m + q]
          V[r * m + p] = c * vrp - s * vrq
          V[r * m + q] = s * vrp + c * vrq
        }
      }
    }
  }
  const order = Array.from({ length: m }, (_, i) => i).sort((i, j) => a[j * m + j] - a[i * m + i] || i - j)
  for (let k = 0; k < m; k++) {
    const col = order[k]
    values[k] = a[col * m + col] * scale
    for (let r = 0; r < m; r++) vectors[k * m + r] = V[r * m + col]
    fixSign(vectors, k * m, m)
  }
  return { values, vectors }
}

// Lanczos with full reorthogonalisation. After j steps the tridiagonal T_j = QᵀAQ (Q orthonormal,
// m×j) has eigenvalues (Ritz values) that interlace A's: the r-th largest Ritz value is at most
// the r-th largest eigenvalue of A, and the top one converges to λ_max in far fewer than m steps.

/** Number of eigenvalues below x of the symmetric tridiagonal (alpha, beta) of size j (Sturm count). */
function sturmCount (alpha: Float64Array, beta: Float64Array, j: number, x: number): number {
  let count = 0
  let q = 1
  for (let i = 0; i < j; i++) {
    q = alpha[i] - x - (i > 0 ? beta[i - 1] * beta[i - 1] / q : 0)
    if (q === 0) q = -1e-300
    if (q < 0) count++
  }
  return count
}

/** A certified lower end of the r-th largest (1-based) eigenvalue of the tridiagonal, by bisection. */
function tridiagonalEigenvalue (alpha: Float64Array, beta: Float64Array, j: number, r: number): { lo: number, hi: number } {
  let lo = Infinity; let hi = -Infinity
  for (let i = 0; i < j; i++) {
    const radius = (i > 0 ? Math.abs(beta[i - 1]) : 0) + (i < j - 1 ? Math.abs(beta[i]) : 0)
    lo = Math.min(lo, alpha[i] - radius)
    hi = Math.max(hi, alpha[i] + radius)
  }
  const below = j - r // eigenvalues strictly below the wanted one
  for (let it = 0; it < 200 && hi - lo > 1e-15 * Math.max(Math.abs(lo), Math.abs(hi)) + 1e-300; it++) {
    const mid = 0.5 * (lo + hi)
    if (mid <= lo || mid >= hi) break
    if (sturmCount(alpha, beta, j, mid) > below) hi = mid; else lo = mid
  }
  return { lo, hi }
}

/**
 * Eigenvector of the tridiagonal for its top eigenvalue by inverse iteration with a shift just
 * above it: T − σI is then negative definite, so the unpivoted tridiagonal solve is stable.
 */
function tridiagonalTopVector (alpha: Float64Array, beta: Float64Array, j: number, top: number): Float64Array {
  const sigma = top + Math.max(1e-13 * Math.abs(top), 1e-290)
  let x = new Float64Array(j).fill(1)
  const c = new Float64Array(j)
  const y = new Float64Array(j)
  for (let pass = 0; pass < 3; pass++) {
    // Thomas algorithm on (T − σI) y = x.
    let denom = alpha[0] - sigma
    c[0] = j > 1 ? beta[0] / denom : 0
    y[0] = x[0] / denom
    for (let i = 1; i < j; i++) {
      denom = alpha[i] - sigma - beta[i - 1] * c[i - 1]
      c[i] = i < j - 1 ? beta[i] / denom : 0
      y[i] = (x[i] - beta[i - 1] * y[i - 1]) / denom
    }
    for (let i = j - 2; i >= 0; i--) y[i] -= c[i] * y[i + 1]
    let norm = 0
    for (let i = 0; i < j; i++) norm += y[i] * y[i]
    norm = Math.sqrt(norm)
    if (!(norm > 0) || !Number.isFinite(norm)) break
    x = y.map((v) => v / norm)
  }
  return x
}

interface LanczosState {
  Q: Float64Array
  alpha: Float64Array
  beta: Float64Array
  steps: number
}

/** The start vector: `start` (if usable) plus a fixed pseudo-random vector, so it is never orthogonal to the top eigenvector. */
function startVector (m: number, start?: ArrayLike<number>): Float64Array {
  const v = new Float64Array(m)
  const rng = createRng(0x7e1a)
  for (let i = 0; i < m; i++) v[i] = rng.normal()
  normalise(v)
  if (start !== undefined && start.length === m) {
    const s = Float64Array.from(start)
    const norm = normalise(s)
    if (norm > 0 && Number.isFinite(norm)) for (let i = 0; i < m; i++) v[i] = s[i] + 0.1 * v[i]
    normalise(v)
  }
  return v
}

/**
 * Runs Lanczos on A/scale from `start` until `done(state)` says so, the Krylov space is exhausted
 * (breakdown: it is then invariant and holds every eigenvalue the start vector touches) or
 * maxSteps. Returns the recurrence.
 */
function lanczos (A: Float64Array, m: number, scale: number, start: Float64Array, maxSteps: number, done: (s: LanczosState) => boolean): LanczosState {
  const steps = Math.min(m, maxSteps)
  const state: LanczosState = { Q: new Float64Array(steps * m), alpha: new Float64Array(steps), beta: new Float64Array(steps), steps: 0 }
  const { Q, alpha, beta } = state
  const w = new Float64Array(m)
  let q = start
  for (let j = 0; j < steps; j++) {
    Q.set(q, j * m)
    for (let i = 0; i < m; i++) {
      let s = 0
      const row = i * m
      for (let k = 0; k < m; k++) s += A[row + k] * q[k]
      w[i] = s / scale
    }
    let a = 0
    for (let i = 0; i < m; i++) a += q[i] * w[i]
    alpha[j] = a
    // Full reorthogonalisation (twice is enough) replaces the three-term recurrence's subtraction.
    for (let pass = 0; pass < 2; pass++) {
      for (let t = 0; t <= j; t++) {
        let c = 0
        const off = t * m
        for (let i = 0; i < m; i++) c += Q[off + i] * w[i]
        for (let i = 0; i < m; i++) w[i] -= c * Q[off + i]
      }
    }
    let b = 0
    for (let i = 0; i < m; i++) b += w[i] * w[i]
    b = Math.sqrt(b)
    beta[j] = b
    state.steps = j + 1
    if (done(state) || b <= 1e-13) break
    q = w.map((x) => x / b)
  }
  return state
}

/**
 * A lower bound on the r-th largest eigenvalue (r ≥ 1) of the symmetric m×m matrix A, from Lanczos
 * Ritz values (Cauchy interlacing). Stops early once the bound reaches `stopAbove`: branch-and-bound
 * searches use it to discard a candidate after a few matrix-vector products. Exact up to rounding
 * (of order 1e-12 · maxᵢⱼ|Aᵢⱼ| · m) when run to m steps. Returns 0 when r > m.
 */
export function eigenLowerBound (A: Float64Array, m: number, r: number, options: LowerBoundOptions = {}): number {
  checkSquare('eigenLowerBound', A, m)
  if (!Number.isInteger(r) || r < 1) throw new RobustInputError('bad-parameter', `eigenLowerBound: rank must be a positive integer, got ${r}`)
  const scale = maxAbs(A)
  if (scale === 0 || r > m) return 0
  if (!Number.isFinite(scale)) throw new RobustInputError('non-finite', 'eigenLowerBound: matrix has a non-finite entry')
  const target = (options.stopAbove ?? Infinity) / scale
  let bound = -Infinity
  let prev = -Infinity
  lanczos(A, m, scale, startVector(m, options.start), options.maxSteps ?? m, (s) => {
    if (s.steps < r) return false
    bound = tridiagonalEigenvalue(s.alpha, s.beta, s.steps, r).lo
    if (bound >= target) return true
    // Converged to rounding: more steps cannot raise it.
    const still = bound - prev <= 1e-15 * Math.abs(bound)
    prev = bound
    return still && s.steps > r + 1
  })
  return bound === -Infinity ? 0 : bound * scale
}

/**
 * The largest eigenvalue of the symmetric m×m matrix A (not modified) and a unit eigenvector, by
 * Lanczos with full reorthogonalisation, stopped once the Ritz residual ‖Av − θv‖ is ≤ tol ·
 * maxᵢⱼ|Aᵢⱼ| (the Jacobi solver answers in the rare case that never happens). The start vector mixes
 * `start` (when given) with a fixed pseudo-random vector, so a guess orthogonal to the top
 * eigenvector cannot stall it. The eigenvector's largest-magnitude entry is positive.
 */
export function topEigen (A: Float64Array, m: number, options: TopEigenOptions = {}): TopEigen {
  checkSquare('topEigen', A, m)
  const tol = options.tol ?? 1e-12
  const scale = maxAbs(A)
  if (scale === 0) {
    const vector = new Float64Array(m)
    vector[0] = 1
    return { value: 0, vector }
  }
  if (!Number.isFinite(scale)) throw new RobustInputError('non-finite', 'topEigen: matrix has a non-finite entry')
  if (m === 1) return { value: A[0], vector: Float64Array.of(1) }
  let theta = 0
  let prev = -Infinity
  let ritz: Float64Array = new Float64Array(0)
  let converged = false
  const state = lanczos(A, m, scale, startVector(m, options.start), m, (s) => {
    theta = tridiagonalEigenvalue(s.alpha, s.beta, s.steps, 1).hi
    const last = s.beta[s.steps - 1] <= 1e-13 || s.steps === m
    // The residual needs the Ritz vector: test it once θ settles (or every 8 steps), not every step.
    const settling = theta - prev <= 1e-6 * Math.abs(theta) || s.steps % 8 === 0
    prev = theta
    if (!last && !settling) return false
    ritz = tridiagonalTopVector(s.alpha, s.beta, s.steps, theta)
    converged = last || s.beta[s.steps - 1] * Math.abs(ritz[s.steps - 1]) <= tol
    return converged
  })
  if (!converged && state.beta[state.steps - 1] > 1e-13) {
    const full = symmetricEigen(A, m)
    return { value: full.values[0], vector: full.vectors.slice(0, m) }
  }
  const vector = new Float64Array(m)
  for (let t = 0; t < state.steps; t++) {
    const c = ritz[t]
    const off = t * m
    for (let i = 0; i < m; i++) vector[i] += c * state.Q[off + i]
  }
  normalise(vector)
  fixSign(vector, 0, m)
  return { value: theta * scale, vector }
}
