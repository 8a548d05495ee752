import { RobustInputError } from './errors.ts'
import type { Vectors } from './types.ts'

// Acklam's rational approximation of the standard normal quantile: a central rational function
// on [P_LOW, 1 − P_LOW] and a tail one in sqrt(−2 log p) outside; relative error below 1.2e-9.
const A = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
const B = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01]
const C = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
const D = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
const P_LOW = 0.02425

/** Φ⁻¹(p), the standard normal quantile; −∞ at 0 and +∞ at 1. Accurate to about 1e-9 (relative). */
export function normalQuantile (p: number): number {
  if (!(p >= 0 && p <= 1)) throw new RobustInputError('bad-parameter', `normal quantile: p must be in [0, 1], got ${p}`)
  if (p === 0) return -Infinity
  if (p === 1) return Infinity
  if (p < P_LOW) return tail(p)
  if (p > 1 - P_LOW) return -tail(1 - p)
  const q = p - 0.5
  const r = q * q
  return (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q /
    (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1)
}

/** The lower tail p < P_LOW. */
function tail (p: number): number {
  const q = Math.sqrt(-2 * Math.log(p))
  return (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) /
    ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1)
}

/**
 * Coordinate-wise mean and population variance (divide by n) of `vectors`, in one pass over the
 * data with f64 accumulators, a block of coordinates at a time. Each block's values are shifted
 * by the first vector's so that large means do not swamp small variances. `emit(start, end,
 * mean, variance)` receives coordinates [start, end) in entries [0, end − start) of two scratch
 * arrays that are reused for the next block.
 */
export function coordinateMoments (
  vectors: Vectors,
  emit: (start: number, end: number, mean: Float64Array, variance: Float64Array) => void
): void {
  const n = vectors.length
  if (n === 0) throw new RobustInputError('empty-input', 'moments: no vectors')
  const d = vectors[0].length
  for (let i = 1; i < n; i++) {
    if (vectors[i].length !== d) throw new RobustInputError('dimension-mismatch', `moments: vector ${i} has dimension ${vectors[i].length}, vector 0 has ${d}`)
  }
  const block = Math.min(d, 2048)
  const s1 = new Float64Array(block)
  const s2 = new Float64Array(block)
  const shift = vectors[0]
  for (let start = 0; start < d; start += block) {
    const end = Math.min(d, start + block)
    s1.fill(0)
    s2.fill(0)
    for (let i = 1; i < n; i++) {
      const x = vectors[i]
      for (let j = start; j < end; j++) {
        const t = x[j] - shift[j]
        s1[j - start] += t
        s2[j - start] += t * t
      }
    }
    for (let j = start; j < end; j++) {
      const m = s1[j - start] / n
      s1[j - start] = shift[j] + m
      s2[j - start] = Math.max(0, s2[j - start] / n - m * m)
    }
    emit(start, end, s1, s2)
  }
}

/** Coordinate-wise mean and population standard deviation (divide by n) as new vectors. */
export function meanAndStd (vectors: Vectors): { mean: Float32Array, std: Float32Array } {
  const d = vectors.length > 0 ? vectors[0].length : 0
  const mean = new Float32Array(d)
  const std = new Float32Array(d)
  coordinateMoments(vectors, (start, end, m, v) => {
    for (let j = start; j < end; j++) { mean[j] = m[j - start]; std[j] = Math.sqrt(v[j - start]) }
  })
  return { mean, std }
}

/**
 * The q-quantile (q in [0, 1]) of `values` by linear interpolation between order statistics
 * (R's type 7); NaN when there are none. Sorts a copy.
 */
export function quantile (values: ArrayLike<number>, q: number): number {
  if (!(q >= 0 && q <= 1)) throw new RobustInputError('bad-parameter', `quantile: q must be in [0, 1], got ${q}`)
  const xs = Float64Array.from(values).sort()
  if (xs.length === 0) return Number.NaN
  const pos = q * (xs.length - 1)
  const lo = Math.floor(pos)
  const hi = Math.min(xs.length - 1, lo + 1)
  return xs[lo] + (pos - lo) * (xs[hi] - xs[lo])
}

/**
 * Median of the finite values of `values` (non-finite ones are ignored; NaN when none is left): the
 * middle value, or the mean of the middle two for even counts. For reports: timings, sizes, degrees.
 */
export function median (values: ArrayLike<number>): number {
  const xs = Array.from(values).filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  if (xs.length === 0) return Number.NaN
  const m = xs.length >> 1
  return xs.length % 2 === 1 ? xs[m] : (xs[m - 1] + xs[m]) / 2
}
