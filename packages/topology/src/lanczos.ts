import { createRng } from '@murmur/robust'
import { tridiagonalEigen } from './eigen.ts'

/** y ← A x for a symmetric operator A. */
export type SymmetricOperator = (x: Float64Array, y: Float64Array) => void

export interface LanczosOptions {
  /** Most Krylov vectors to build (default 300; capped by the dimension and by memory). */
  maxIterations?: number
  /**
   * Stop when both extreme Ritz values moved by less than this over the last 8 iterations with
   * residuals ‖A y − θ y‖ below its square root, or when both residuals are below it (default 1e-10).
   */
  tolerance?: number
  /** Work in the complement of the all-ones vector (skip the trivial eigenvalue of W or L). */
  deflateOnes?: boolean
  /** Seed of the random start vector (default 1). */
  seed?: number
}

/** Extreme eigenvalues of a symmetric operator with their residual bounds. */
export interface LanczosResult {
  min: number
  max: number
  /**
   * Residual norms of the extreme Ritz pairs: each value is within its residual of a true
   * eigenvalue (a rigorous but often pessimistic bound; 0 when the result is exact).
   */
  minResidual: number
  maxResidual: number
  iterations: number
  /** The Krylov space became invariant or filled the space (exact), or the stopping test passed. */
  converged: boolean
  /** True when the values are exact up to rounding (invariant Krylov space). */
  exact: boolean
}

const CHECK_EVERY = 8

/**
 * Smallest and largest eigenvalues of a symmetric operator by Lanczos with full
 * reorthogonalization (classical Gram–Schmidt, repeated when it cancels badly), optionally
 * restricted to 1⊥. When the dimension is at most `maxIterations` the Krylov space fills the
 * whole space and the answer is exact to rounding; for large operators it stops once the extreme
 * Ritz values settle. Memory: one vector of length n per iteration.
 */
export function lanczosExtremes (apply: SymmetricOperator, n: number, options: LanczosOptions = {}): LanczosResult {
  const deflate = options.deflateOnes === true
  const dim = deflate ? n - 1 : n
  if (dim <= 0) return { min: NaN, max: NaN, minResidual: 0, maxResidual: 0, iterations: 0, converged: true, exact: true }
  const tolerance = options.tolerance ?? 1e-10
  const memoryCap = Math.max(20, Math.floor(2e7 / n))
  const kmax = Math.min(options.maxIterations ?? 300, dim, memoryCap)
  const rng = createRng(options.seed ?? 1)
  // One block for the whole basis: row j is the j-th Lanczos vector.
  const basis = new Float64Array(kmax * n)
  const row = (j: number): Float64Array => basis.subarray(j * n, (j + 1) * n)
  const alpha: number[] = []
  const beta: number[] = []
  const coefficients = new Float64Array(kmax)
  let q = row(0)
  for (let i = 0; i < n; i++) q[i] = rng.normal()
  if (deflate) removeMean(q)
  scale(q, 1 / norm(q))
  const w = new Float64Array(n)
  let result: LanczosResult = { min: NaN, max: NaN, minResidual: Infinity, maxResidual: Infinity, iterations: 0, converged: false, exact: false }
  let previous = { min: NaN, max: NaN }
  let scaleEstimate = 0
  for (let j = 0; j < kmax; j++) {
    q = row(j)
    apply(q, w)
    const a = dot(q, w)
    alpha.push(a)
    axpy(-a, q, w)
    if (j > 0) axpy(-beta[j - 1], row(j - 1), w)
    // Reorthogonalize against the whole basis; a second pass only when the first lost most of w.
    for (let pass = 0; pass < 2; pass++) {
      const before = norm(w)
      for (let i = 0; i <= j; i++) coefficients[i] = dot(row(i), w)
      for (let i = 0; i <= j; i++) axpy(-coefficients[i], row(i), w)
      if (deflate) removeMean(w)
      if (norm(w) > 0.7 * before) break
    }
    const b = norm(w)
    scaleEstimate = Math.max(scaleEstimate, Math.abs(a) + b + (j > 0 ? beta[j - 1] : 0))
    const exact = b <= 1e-12 * Math.max(scaleEstimate, 1e-300) || j + 1 === dim
    if (exact || j + 1 === kmax || (j + 1) % CHECK_EVERY === 0) {
      const { values, lastComponents } = tridiagonalEigen(alpha, beta)
      const k = values.length
      const min = values[0]; const max = values[k - 1]
      const minResidual = exact ? 0 : b * Math.abs(lastComponents[0])
      const maxResidual = exact ? 0 : b * Math.abs(lastComponents[k - 1])
      const settled = Math.abs(min - previous.min) <= tolerance && Math.abs(max - previous.max) <= tolerance
      // Settled values also need modest residuals, so a stall far from an eigenvalue cannot pass.
      const residual = Math.max(minResidual, maxResidual)
      const converged = exact || (settled && residual <= Math.sqrt(tolerance)) || residual <= tolerance
      result = { min, max, minResidual, maxResidual, iterations: j + 1, converged, exact }
      previous = { min, max }
      if (converged) break
    }
    if (j + 1 < kmax) {
      const next = row(j + 1)
      for (let i = 0; i < n; i++) next[i] = w[i] / b
    }
    beta.push(b)
  }
  return result
}

function dot (x: Float64Array, y: Float64Array): number {
  let s = 0
  for (let i = 0; i < x.length; i++) s += x[i] * y[i]
  return s
}

function norm (x: Float64Array): number {
  return Math.sqrt(dot(x, x))
}

function axpy (a: number, x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < x.length; i++) y[i] += a * x[i]
}

function scale (x: Float64Array, a: number): void {
  for (let i = 0; i < x.length; i++) x[i] *= a
}

function removeMean (x: Float64Array): void {
  let s = 0
  for (let i = 0; i < x.length; i++) s += x[i]
  const mean = s / x.length
  for (let i = 0; i < x.length; i++) x[i] -= mean
}
