// Small statistics toolkit for Monte Carlo estimates over μ_H: normal and Student-t quantiles,
// binomial confidence intervals, and mean ± t-interval summaries. Everything is computed from
// the defining series and continued fractions, accurate to ~1e-12 or better.

const SQRT_2PI = Math.sqrt(2 * Math.PI)

/** Standard normal density φ(x). */
export function normalPdf (x: number): number {
  return Math.exp(-0.5 * x * x) / SQRT_2PI
}

/** Standard normal CDF Φ(x), with full relative accuracy in the lower tail. */
export function normalCdf (x: number): number {
  if (Number.isNaN(x)) return NaN
  if (x < 0) return upperTail(-x)
  return 1 - upperTail(x)
}

/** Q(x) = 1 − Φ(x) for x ≥ 0. */
function upperTail (x: number): number {
  if (x === Infinity) return 0
  if (x < 3) {
    // Φ(x) − 1/2 = φ(x) Σ_k x^(2k+1) / (1·3·5···(2k+1)): all terms positive, no cancellation.
    let term = x; let sum = x
    for (let k = 1; k < 200 && term > 1e-17 * sum; k++) {
      term *= x * x / (2 * k + 1)
      sum += term
    }
    return 0.5 - normalPdf(x) * sum
  }
  // Laplace's continued fraction for the Mills ratio: Q(x) = φ(x) / (x + 1/(x + 2/(x + 3/(x + ...)))).
  let t = x
  for (let k = 120; k >= 1; k--) t = x + k / t
  return normalPdf(x) / t
}

// Rational approximation to Φ⁻¹ (Acklam), polished below by one Halley step.
const A = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
const B = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01]
const C = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
const D = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]

/** Standard normal quantile Φ⁻¹(p); −Infinity at 0 and Infinity at 1. */
export function normalQuantile (p: number): number {
  if (Number.isNaN(p) || p < 0 || p > 1) return NaN
  if (p === 0) return -Infinity
  if (p === 1) return Infinity
  const low = 0.02425
  let x: number
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p))
    x = (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1)
  } else if (p <= 1 - low) {
    const q = p - 0.5; const r = q * q
    x = (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1)
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p))
    x = -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1)
  }
  // Halley step on Φ(x) − p; the error is measured in the smaller tail to keep its precision.
  const e = x < 0 ? normalCdf(x) - p : (1 - p) - upperTail(x)
  const u = e * SQRT_2PI * Math.exp(0.5 * x * x)
  return x - u / (1 + 0.5 * x * u)
}

const LANCZOS = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
  -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7]

/** ln Γ(x) for x > 0 (Lanczos approximation, g = 7; relative error ~1e-15). */
export function logGamma (x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x)
  const z = x - 1
  let s = LANCZOS[0]
  for (let k = 1; k < 9; k++) s += LANCZOS[k] / (z + k)
  const t = z + 7.5
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(s)
}

/** Regularized incomplete beta I_x(a, b), by its continued fraction (modified Lentz). */
export function incompleteBeta (x: number, a: number, b: number): number {
  if (x <= 0) return 0
  if (x >= 1) return 1
  // The fraction converges fast for x < (a + 1)/(a + b + 2); use I_x(a, b) = 1 − I_{1−x}(b, a) otherwise.
  if (x > (a + 1) / (a + b + 2)) return 1 - incompleteBeta(1 - x, b, a)
  const front = Math.exp(a * Math.log(x) + b * Math.log1p(-x) - (logGamma(a) + logGamma(b) - logGamma(a + b))) / a
  const tiny = 1e-300
  let c = 1
  let d = 1 - (a + b) * x / (a + 1)
  if (Math.abs(d) < tiny) d = tiny
  d = 1 / d
  let h = d
  for (let m = 1; m <= 1000; m++) {
    const m2 = 2 * m
    let num = m * (b - m) * x / ((a + m2 - 1) * (a + m2))
    d = 1 + num * d; if (Math.abs(d) < tiny) d = tiny
    c = 1 + num / c; if (Math.abs(c) < tiny) c = tiny
    d = 1 / d; h *= d * c
    num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1))
    d = 1 + num * d; if (Math.abs(d) < tiny) d = tiny
    c = 1 + num / c; if (Math.abs(c) < tiny) c = tiny
    d = 1 / d
    const step = d * c
    h *= step
    if (Math.abs(step - 1) < 1e-16) break
  }
  return front * h
}

/** x with I_x(a, b) = p (bisection: monotone and robust, ~60 steps). */
export function betaQuantile (p: number, a: number, b: number): number {
  if (p <= 0) return 0
  if (p >= 1) return 1
  let lo = 0; let hi = 1
  for (let k = 0; k < 200 && hi - lo > 1e-16; k++) {
    const mid = 0.5 * (lo + hi)
    if (incompleteBeta(mid, a, b) < p) lo = mid; else hi = mid
  }
  return 0.5 * (lo + hi)
}

/** Student-t CDF with ν degrees of freedom. */
export function studentTCdf (t: number, nu: number): number {
  if (t === Infinity) return 1
  if (t === -Infinity) return 0
  const tail = 0.5 * incompleteBeta(nu / (nu + t * t), nu / 2, 0.5)
  return t >= 0 ? 1 - tail : tail
}

/** Student-t quantile: t with P(T ≤ t) = p for ν > 0 degrees of freedom (Infinity ν gives the normal). */
export function studentTQuantile (p: number, nu: number): number {
  if (!(nu > 0)) return NaN
  if (nu === Infinity) return normalQuantile(p)
  if (p <= 0) return -Infinity
  if (p >= 1) return Infinity
  if (p < 0.5) return -studentTQuantile(1 - p, nu)
  if (p === 0.5) return 0
  // Bracket from the normal quantile (t quantiles are larger), then bisect on the exact CDF.
  let lo = normalQuantile(p) * 0.999
  let hi = Math.max(1, lo) * 2
  while (studentTCdf(hi, nu) < p) { lo = hi; hi *= 2 }
  for (let k = 0; k < 200 && hi - lo > 1e-14 * hi; k++) {
    const mid = 0.5 * (lo + hi)
    if (studentTCdf(mid, nu) < p) lo = mid; else hi = mid
  }
  return 0.5 * (lo + hi)
}

/** A two-sided confidence interval. */
export interface Interval { low: number, high: number }

/** Wilson score interval for a binomial proportion (x successes in n trials). */
export function wilsonInterval (x: number, n: number, confidence = 0.95): Interval {
  if (n <= 0) return { low: 0, high: 1 }
  const z = normalQuantile(1 - (1 - confidence) / 2)
  const p = x / n
  const z2 = z * z
  const denom = 1 + z2 / n
  const center = (p + z2 / (2 * n)) / denom
  const half = z * Math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
  return { low: Math.max(0, center - half), high: Math.min(1, center + half) }
}

/** Clopper–Pearson ("exact") interval for a binomial proportion: coverage at least `confidence`. */
export function clopperPearsonInterval (x: number, n: number, confidence = 0.95): Interval {
  if (n <= 0) return { low: 0, high: 1 }
  const alpha = 1 - confidence
  return {
    low: x === 0 ? 0 : betaQuantile(alpha / 2, x, n - x + 1),
    high: x === n ? 1 : betaQuantile(1 - alpha / 2, x + 1, n - x)
  }
}

/** P(Binomial(k, p) > f), summed exactly. */
export function binomialTail (k: number, p: number, f: number): number {
  if (f < 0) return 1
  if (f >= k) return 0
  if (p === 0) return 0
  if (p === 1) return 1
  let tail = 0
  for (let j = f + 1; j <= k; j++) {
    tail += Math.exp(logGamma(k + 1) - logGamma(j + 1) - logGamma(k - j + 1) + j * Math.log(p) + (k - j) * Math.log1p(-p))
  }
  return Math.min(1, tail)
}

/** Mean of a metric over K draws with its t-based confidence interval. */
export interface MeanSummary {
  count: number
  /**
   * For dependent draws (Markov chains): the effective sample size K_eff ≤ K the interval uses
   * in place of K. Absent for independent draws.
   */
  effectiveCount?: number
  mean: number
  /** Sample standard deviation (K − 1 in the denominator). */
  std: number
  standardError: number
  confidence: number
  /** Half-width of the interval: t_{(1+c)/2, K−1} · std/√K (Infinity for a single draw). */
  halfWidth: number
  low: number
  high: number
}

/**
 * Mean and `confidence` (default 95%) t-interval of per-draw values. For dependent draws pass
 * their effective sample size: the interval becomes t_{(1+c)/2, K_eff−1} · std/√K_eff (K_eff is
 * capped at K; one that is not a positive number leaves K in place).
 */
export function summarizeMean (values: ArrayLike<number>, confidence = 0.95, effectiveCount?: number): MeanSummary {
  const count = values.length
  if (count === 0) throw new RangeError('summarizeMean: no values')
  let sum = 0
  for (let i = 0; i < count; i++) sum += values[i]
  const mean = sum / count
  let ss = 0
  for (let i = 0; i < count; i++) { const d = values[i] - mean; ss += d * d }
  const std = count > 1 ? Math.sqrt(ss / (count - 1)) : 0
  const dependent = effectiveCount !== undefined && effectiveCount > 0
  const size = dependent ? Math.min(count, effectiveCount) : count
  const standardError = std / Math.sqrt(size)
  const halfWidth = size > 1 ? studentTQuantile(1 - (1 - confidence) / 2, size - 1) * standardError : Infinity
  const summary: MeanSummary = { count, mean, std, standardError, confidence, halfWidth, low: mean - halfWidth, high: mean + halfWidth }
  if (dependent) summary.effectiveCount = size
  return summary
}
