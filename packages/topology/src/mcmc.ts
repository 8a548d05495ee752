// How far dependent draws can be trusted: the effective sample size of a mean over Markov chains
// (Geyer's initial monotone sequence on the multi-chain autocorrelation) and split-R̂, plain and
// rank-normalised, after Vehtari, Gelman, Simpson, Carpenter and Bürkner (2021), "Rank-normalization,
// folding, and localization: an improved R̂ for assessing convergence of MCMC".

import { quantile } from '@murmur/robust'
import { normalQuantile } from './stats.ts'

/** One chain's values, in draw order. */
export type ChainSeries = ArrayLike<number>

/** The mean of a statistic over chains and how much its dependent draws are worth. */
export interface ChainMean {
  /** Draws used: chains × the shortest chain's length. */
  draws: number
  mean: number
  /**
   * var⁺: the within-chain variance plus the between-chain variance of the chain means; it
   * estimates the statistic's variance under the target even when the chains disagree.
   */
  variance: number
  /**
   * Effective sample size of the mean: its squared standard error is variance / ess. Equal to
   * `draws` for independent draws, smaller for positively autocorrelated ones; NaN when every
   * value is the same (nothing to measure), `draws` when the chains are too short (< 4 draws).
   */
  ess: number
}

/** Lags computed one at a time before switching to the FFT (which gets all of them at once). */
const DIRECT_LAGS = 32

/**
 * Multi-chain effective sample size (Vehtari et al. 2021, eq. 10–11): with W the mean within-chain
 * variance and var⁺ as above, ρ̂_t = 1 − (W − mean over chains of the lag-t autocovariance)/var⁺;
 * τ̂ = −1 + 2 Σ P̂_k over Geyer's pairs P̂_k = ρ̂_{2k} + ρ̂_{2k+1}, cut at the first negative pair
 * and made non-increasing; ess = draws / τ̂ (τ̂ at least 1/log₁₀(draws), as in Stan). Chains
 * longer than the shortest are cut to its length.
 */
export function effectiveSampleSize (chains: readonly ChainSeries[]): ChainMean {
  const m = chains.length
  if (m === 0) throw new RangeError('effectiveSampleSize: no chains')
  let length = Infinity
  for (const chain of chains) length = Math.min(length, chain.length)
  const draws = m * length
  const means = chainMeans(chains, length)
  let mean = 0
  for (let c = 0; c < m; c++) mean += means[c] / m
  if (length < 4) return { draws, mean, variance: NaN, ess: draws }
  const acov = meanAutocovariance(chains, length, means)
  const within = acov(0) * length / (length - 1)
  let between = 0
  for (let c = 0; c < m; c++) between += m > 1 ? (means[c] - mean) ** 2 / (m - 1) : 0
  const variance = within * (length - 1) / length + between
  if (!(variance > 0)) return { draws, mean, variance: 0, ess: NaN }
  const rho = (t: number): number => 1 - (within - acov(t)) / variance
  // Geyer: sum pairs while positive, each pair no larger than the one before.
  let tau = -1
  let previous = Infinity
  for (let t = 0; t + 1 < length; t += 2) {
    const pair = Math.min(previous, rho(t) + rho(t + 1))
    if (!(pair > 0)) break
    tau += 2 * pair
    previous = pair
  }
  tau = Math.max(tau, 1 / Math.log10(Math.max(draws, 10)))
  return { draws, mean, variance, ess: draws / tau }
}

function chainMeans (chains: readonly ChainSeries[], length: number): Float64Array {
  const means = new Float64Array(chains.length)
  for (let c = 0; c < chains.length; c++) {
    let sum = 0
    for (let t = 0; t < length; t++) sum += chains[c][t]
    means[c] = sum / length
  }
  return means
}

/**
 * acov(t): the lag-t autocovariance (divided by the length, the usual biased estimator) averaged
 * over chains. Short lags are summed directly; a longer one triggers an FFT of every chain.
 */
function meanAutocovariance (chains: readonly ChainSeries[], length: number, means: Float64Array): (t: number) => number {
  const m = chains.length
  let all: Float64Array | undefined
  return (t) => {
    if (all === undefined && t >= DIRECT_LAGS) all = fftAutocovariance(chains, length, means)
    if (all !== undefined) return all[t]
    let sum = 0
    for (let c = 0; c < m; c++) {
      const x = chains[c]; const mu = means[c]
      for (let s = 0; s + t < length; s++) sum += (x[s] - mu) * (x[s + t] - mu)
    }
    return sum / (length * m)
  }
}

function fftAutocovariance (chains: readonly ChainSeries[], length: number, means: Float64Array): Float64Array {
  let size = 1
  while (size < 2 * length) size *= 2
  const re = new Float64Array(size)
  const im = new Float64Array(size)
  const out = new Float64Array(length)
  for (let c = 0; c < chains.length; c++) {
    re.fill(0); im.fill(0)
    for (let t = 0; t < length; t++) re[t] = chains[c][t] - means[c]
    fft(re, im, false)
    for (let k = 0; k < size; k++) { re[k] = re[k] * re[k] + im[k] * im[k]; im[k] = 0 }
    fft(re, im, true)
    for (let t = 0; t < length; t++) out[t] += re[t] / (size * length * chains.length)
  }
  return out
}

/** In-place radix-2 FFT of (re, im), length a power of two; `inverse` leaves out the 1/size. */
function fft (re: Float64Array, im: Float64Array, inverse: boolean): void {
  const size = re.length
  for (let i = 1, j = 0; i < size; i++) {
    let bit = size >> 1
    for (; (j & bit) !== 0; bit >>= 1) j ^= bit
    j ^= bit
    if (i < j) {
      let x = re[i]; re[i] = re[j]; re[j] = x
      x = im[i]; im[i] = im[j]; im[j] = x
    }
  }
  for (let half = 1; half < size; half *= 2) {
    const angle = (inverse ? Math.PI : -Math.PI) / half
    const stepRe = Math.cos(angle); const stepIm = Math.sin(angle)
    for (let start = 0; start < size; start += 2 * half) {
      let wRe = 1; let wIm = 0
      for (let k = start; k < start + half; k++) {
        const xRe = re[k + half] * wRe - im[k + half] * wIm
        const xIm = re[k + half] * wIm + im[k + half] * wRe
        re[k + half] = re[k] - xRe; im[k + half] = im[k] - xIm
        re[k] += xRe; im[k] += xIm
        const next = wRe * stepRe - wIm * stepIm
        wIm = wRe * stepIm + wIm * stepRe
        wRe = next
      }
    }
  }
}

/**
 * R̂ from the means and (n − 1)-denominator variances of equally long chains of `length` draws:
 * √(var⁺ / W). 1 when nothing varies at all; Infinity when the chains are each constant but
 * differ.
 */
export function rhatFromMoments (means: ArrayLike<number>, variances: ArrayLike<number>, length: number): number {
  const m = means.length
  let mean = 0; let within = 0
  for (let c = 0; c < m; c++) { mean += means[c] / m; within += variances[c] / m }
  let between = 0
  for (let c = 0; c < m; c++) between += m > 1 ? (means[c] - mean) ** 2 / (m - 1) : 0
  const plus = within * (length - 1) / length + between
  if (within > 0) return Math.sqrt(plus / within)
  return plus > 0 ? Infinity : 1
}

/**
 * Split-R̂ (Gelman et al., BDA3): each chain cut in two halves (the middle draw of an odd length
 * dropped, chains cut to the shortest), R̂ over the 2m halves. Values near 1 say the halves agree;
 * above 1.05 the chains have not forgotten their starts or drift. NaN for chains of < 4 draws.
 */
export function splitRhat (chains: readonly ChainSeries[]): number {
  let length = Infinity
  for (const chain of chains) length = Math.min(length, chain.length)
  const half = Math.floor(length / 2)
  if (chains.length === 0 || half < 2) return NaN
  const means = new Float64Array(2 * chains.length)
  const variances = new Float64Array(2 * chains.length)
  chains.forEach((chain, c) => {
    for (let part = 0; part < 2; part++) {
      const from = part === 0 ? 0 : length - half
      let sum = 0
      for (let t = from; t < from + half; t++) sum += chain[t]
      const mu = sum / half
      let ss = 0
      for (let t = from; t < from + half; t++) ss += (chain[t] - mu) ** 2
      means[2 * c + part] = mu
      variances[2 * c + part] = ss / (half - 1)
    }
  })
  return rhatFromMoments(means, variances, half)
}

/**
 * Rank-normalised split-R̂ (Vehtari et al. 2021): the larger of split-R̂ on the normal scores of
 * the pooled ranks (bulk) and on those of |x − median| (tails), so heavy tails, an infinite
 * variance or chains differing only in spread do not hide.
 */
export function rankNormalizedSplitRhat (chains: readonly ChainSeries[]): number {
  let length = Infinity
  for (const chain of chains) length = Math.min(length, chain.length)
  if (chains.length === 0 || length < 4) return NaN
  const pooled = new Float64Array(chains.length * length)
  chains.forEach((chain, c) => { for (let t = 0; t < length; t++) pooled[c * length + t] = chain[t] })
  const bulk = splitRhat(split(normalScores(pooled), chains.length, length))
  const median = quantile(pooled, 0.5)
  for (let k = 0; k < pooled.length; k++) pooled[k] = Math.abs(pooled[k] - median)
  const tails = splitRhat(split(normalScores(pooled), chains.length, length))
  return Math.max(bulk, tails)
}

function split (pooled: Float64Array, chains: number, length: number): Float64Array[] {
  return Array.from({ length: chains }, (_, c) => pooled.subarray(c * length, (c + 1) * length))
}

/** Φ⁻¹((r − 3/8)/(S + 1/4)) for the average rank r of each value among all S (Blom's scores). */
function normalScores (values: Float64Array): Float64Array {
  const size = values.length
  const order = Int32Array.from({ length: size }, (_, k) => k).sort((a, b) => values[a] - values[b])
  const scores = new Float64Array(size)
  for (let start = 0; start < size;) {
    let end = start + 1
    while (end < size && values[order[end]] === values[order[start]]) end++
    const rank = (start + end + 1) / 2 // average of the 1-based ranks start + 1 … end
    const score = normalQuantile((rank - 0.375) / (size + 0.25))
    for (let k = start; k < end; k++) scores[order[k]] = score
    start = end
  }
  return scores
}
