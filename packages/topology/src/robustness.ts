import type { ByzantineSampler } from './byzantine/types.ts'
import { effectiveSampleSize } from './mcmc.ts'
import { summarizeMean, type MeanSummary } from './stats.ts'

/**
 * Draws K honest sets from μ_H as masks (1 = honest): the complements of K Byzantine draws.
 */
export function drawHonestSets (sampler: ByzantineSampler, count: number): Uint8Array[] {
  return drawWithChains(sampler, count).sets
}

/** Honest sets with the chain each came from (all 0 for independent draws). */
function drawWithChains (sampler: ByzantineSampler, count: number): { sets: Uint8Array[], chainOf: Int32Array } {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`)
  const sets: Uint8Array[] = []
  const chainOf = new Int32Array(count)
  for (let k = 0; k < count; k++) {
    const mask = sampler.sample()
    chainOf[k] = sampler.chains?.last() ?? 0
    for (let i = 0; i < mask.length; i++) mask[i] ^= 1
    sets.push(mask)
  }
  return { sets, chainOf }
}

/** The summary of a per-draw metric together with the values themselves. */
export interface ExpectedMetric extends MeanSummary { values: Float64Array }

/**
 * Estimates E_{S~μ_H}[metric(S)] (seed 000's expected robustness): draws K honest sets, evaluates
 * `metric` on each (for instance the honest-average loss after training with that set), and
 * returns the mean with a t-based confidence interval. Draws from Markov chains are dependent:
 * the interval then rests on the metric's effective sample size over the chains.
 */
export async function expectedOverHonestSets (
  sampler: ByzantineSampler,
  count: number,
  metric: (honest: Uint8Array, draw: number) => number | Promise<number>,
  confidence = 0.95
): Promise<ExpectedMetric> {
  const values = new Float64Array(count)
  const { sets, chainOf } = drawWithChains(sampler, count)
  for (let k = 0; k < count; k++) values[k] = await metric(sets[k], k)
  const ess = sampler.chains === undefined ? undefined : effectiveSampleSize(splitByChain(values, chainOf)).ess
  return { ...summarizeMean(values, confidence, ess), values }
}

function splitByChain (values: Float64Array, chainOf: Int32Array): Float64Array[] {
  const chains = new Map<number, number[]>()
  chainOf.forEach((c, k) => {
    const chain = chains.get(c)
    if (chain === undefined) chains.set(c, [values[k]]); else chain.push(values[k])
  })
  return [...chains.values()].map((chain) => Float64Array.from(chain))
}
