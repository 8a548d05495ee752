// Draws of a Markov-chain sampler kept for measuring them: how many independent draws they are
// worth and whether the chains agree. Every estimate built on such draws takes its interval from
// these measurements rather than from the raw number of draws.

import type { ByzantineSampler } from './byzantine/types.ts'
import type { Graph } from './graph.ts'
import { effectiveSampleSize, rankNormalizedSplitRhat, rhatFromMoments } from './mcmc.ts'

/** Chains whose split-R̂ exceeds this have not mixed (Vehtari et al. 2021). */
export const RHAT_LIMIT = 1.05
/** Below this many effective draws of |B|, R̂ and the intervals rest on too little. */
export const MIN_EFFECTIVE_DRAWS = 100

/** Each draw's chain and Byzantine set (bit-packed, 32 nodes a word). */
export class DrawRecord {
  readonly n: number
  readonly chains: number
  readonly words: number
  readonly bits: Uint32Array
  readonly chainOf: Uint16Array
  drawn = 0

  constructor (n: number, chains: number, capacity: number) {
    if (!(chains >= 1 && chains <= 0xffff)) throw new RangeError(`draw record: ${chains} chains`)
    this.n = n
    this.chains = chains
    this.words = Math.ceil(n / 32)
    this.bits = new Uint32Array(capacity * this.words)
    this.chainOf = new Uint16Array(capacity)
  }

  add (mask: Uint8Array, chain: number): void {
    const base = this.drawn * this.words
    if (base >= this.bits.length && this.n > 0) throw new RangeError('draw record is full')
    for (let i = 0; i < this.n; i++) if (mask[i] !== 0) this.bits[base + (i >>> 5)] |= 1 << (i & 31)
    this.chainOf[this.drawn++] = chain
  }

  /** 1 when node i was Byzantine in draw t. */
  byzantine (t: number, i: number): number {
    return (this.bits[t * this.words + (i >>> 5)] >>> (i & 31)) & 1
  }

  /** |N(i) ∩ B| in draw t, counted up to the first value above `limit`. */
  neighbourCount (graph: Graph, t: number, i: number, limit: number): number {
    const base = t * this.words
    let count = 0
    for (let k = graph.offsets[i]; k < graph.offsets[i + 1]; k++) {
      const j = graph.neighbors[k]
      count += (this.bits[base + (j >>> 5)] >>> (j & 31)) & 1
      if (count > limit) break
    }
    return count
  }

  /** A per-draw statistic of the first `length` draws, split into its chains (in draw order). */
  byChain (values: ArrayLike<number>, length = this.drawn): Float64Array[] {
    const sizes = new Int32Array(this.chains)
    for (let t = 0; t < length; t++) sizes[this.chainOf[t]]++
    const out = Array.from(sizes, (size) => new Float64Array(size))
    sizes.fill(0)
    for (let t = 0; t < length; t++) { const c = this.chainOf[t]; out[c][sizes[c]++] = values[t] }
    return out.filter((chain) => chain.length > 0)
  }
}

/** Convergence and efficiency of a Markov-chain sampler's draws. */
export interface ChainDiagnostics {
  chains: number
  draws: number
  /** Effective sample size of |B| (multi-chain, Geyer's initial monotone sequence). */
  countEss: number
  /** Rank-normalised split-R̂ of |B|. */
  countRhat: number
  /** The largest split-R̂ of a node's Byzantine indicator, and that node's id. */
  marginalRhat: number
  marginalRhatNode: string | null
  /** Both R̂ at most RHAT_LIMIT. */
  mixed: boolean
  /** What a report should print: chains that have not mixed, too few effective draws. */
  warnings: string[]
}

/** Diagnostics of the recorded draws; `totals` (|B| per draw) is counted from the record when omitted. */
export function diagnoseDraws (record: DrawRecord, ids: readonly string[], totals?: ArrayLike<number>): ChainDiagnostics {
  const count = totals ?? drawSizes(record)
  const countChains = record.byChain(count)
  const countEss = effectiveSampleSize(countChains).ess
  const countRhat = rankNormalizedSplitRhat(countChains)
  const { rhat: marginalRhat, node } = worstMarginalRhat(record)
  const worst = Math.max(...[countRhat, marginalRhat].filter((x) => !Number.isNaN(x)))
  const diagnostics: ChainDiagnostics = {
    chains: record.chains,
    draws: record.drawn,
    countEss,
    countRhat,
    marginalRhat,
    marginalRhatNode: node < 0 ? null : ids[node],
    mixed: !(worst > RHAT_LIMIT),
    warnings: []
  }
  diagnostics.warnings = chainWarnings(diagnostics)
  return diagnostics
}

/**
 * Draws `draws` sets from a Markov-chain sampler and diagnoses them: its effective sample size
 * and whether its chains mixed.
 */
export function diagnoseSampler (sampler: ByzantineSampler, ids: readonly string[], draws: number): ChainDiagnostics {
  if (sampler.chains === undefined) throw new RangeError(`${sampler.model} sampler: independent draws, no chains to diagnose`)
  if (!Number.isInteger(draws) || draws < 1) throw new RangeError(`draws must be a positive integer, got ${draws}`)
  const record = new DrawRecord(sampler.n, sampler.chains.count, draws)
  const mask = new Uint8Array(sampler.n)
  for (let k = 0; k < draws; k++) {
    sampler.sample(mask)
    record.add(mask, sampler.chains.last())
  }
  return diagnoseDraws(record, ids)
}

function drawSizes (record: DrawRecord): Float64Array {
  const sizes = new Float64Array(record.drawn)
  for (let t = 0; t < record.drawn; t++) {
    let size = 0
    for (let w = t * record.words; w < (t + 1) * record.words; w++) size += popcount(record.bits[w])
    sizes[t] = size
  }
  return sizes
}

/**
 * Split-R̂ of every node's Byzantine indicator, from the hits in each half of each chain (a
 * 0/1 series has mean p and variance p(1 − p)·L/(L − 1) over L draws). Rank normalisation leaves
 * R̂ of a 0/1 series unchanged, so the plain form is the rank-normalised one here.
 */
function worstMarginalRhat (record: DrawRecord): { rhat: number, node: number } {
  const { n, chains, drawn, words, bits, chainOf } = record
  const lengths = new Int32Array(chains)
  for (let t = 0; t < drawn; t++) lengths[chainOf[t]]++
  let length = Infinity
  for (let c = 0; c < chains; c++) length = Math.min(length, lengths[c])
  const half = Math.floor(length / 2)
  if (half < 2) return { rhat: NaN, node: -1 }
  const hits = new Int32Array(2 * chains * n) // hits[(2c + part)·n + i]
  const position = new Int32Array(chains)
  for (let t = 0; t < drawn; t++) {
    const c = chainOf[t]
    const at = position[c]++
    const part = at < half ? 0 : at >= length - half && at < length ? 1 : -1
    if (part < 0) continue
    const row = (2 * c + part) * n
    for (let w = 0; w < words; w++) {
      let word = bits[t * words + w]
      while (word !== 0) {
        hits[row + 32 * w + (31 - Math.clz32(word & -word))]++
        word &= word - 1
      }
    }
  }
  const means = new Float64Array(2 * chains)
  const variances = new Float64Array(2 * chains)
  let worst = -Infinity; let node = -1
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 2 * chains; j++) {
      const p = hits[j * n + i] / half
      means[j] = p
      variances[j] = p * (1 - p) * half / (half - 1)
    }
    const rhat = rhatFromMoments(means, variances, half)
    if (rhat > worst) { worst = rhat; node = i }
  }
  return { rhat: node < 0 ? NaN : worst, node }
}

function chainWarnings (d: ChainDiagnostics): string[] {
  const warnings: string[] = []
  const fmt = (x: number): string => Number.isFinite(x) ? x.toFixed(3) : String(x)
  if (!d.mixed) {
    const marginal = d.marginalRhatNode === null ? '' : `, ${fmt(d.marginalRhat)} on node ${d.marginalRhatNode}'s marginal`
    warnings.push(`the ${d.chains} Markov chains drawing μ_H have not mixed: split-R̂ ${fmt(d.countRhat)} on |B|${marginal} (above ${RHAT_LIMIT}); ` +
      `after ${d.draws} draws they still depend on where they started, so neither their draws nor estimates from them follow μ_H ` +
      '(more draws, or a larger burnIn or thin, may help)')
  }
  if (d.countEss < MIN_EFFECTIVE_DRAWS) {
    warnings.push(`the ${d.draws} draws of μ_H are worth only ${d.countEss.toFixed(0)} independent ones for |B| (effective sample size): ` +
      'intervals and R̂ rest on few of them')
  }
  return warnings
}

function popcount (x: number): number {
  x -= (x >>> 1) & 0x55555555
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333)
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24
}
