import type { ByzantineSampler } from './byzantine/types.ts'
import { summarizeMean, type MeanSummary } from './stats.ts'

/**
 * Draws K honest sets from μ_H as masks (1 = honest): the complements of K Byzantine draws.
 */
export function drawHonestSets (sampler: ByzantineSampler, count: number): Uint8Array[] {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`)
  const sets: Uint8Array[] = []
  for (let k = 0; k < count; k++) {
    const mask = sampler.sample()
    for (let i = 0; i < mask.length; i++) mask[i] ^= 1
    sets.push(mask)
  }
  return sets
}

/** The summary of a per-draw metric together with the values themselves. */
export interface ExpectedMetric extends MeanSummary { values: Float64Array }

/**
 * Estimates E_{S~μ_H}[metric(S)] (seed 000's expected robustness): draws K honest sets, evaluates
 * `metric` on each (for instance the honest-average loss after training with that set), and
 * returns the mean with a t-based confidence interval.
 */
export async function expectedOverHonestSets (
  sampler: ByzantineSampler,
  count: number,
  metric: (honest: Uint8Array, draw: number) => number | Promise<number>,
  confidence = 0.95
): Promise<ExpectedMetric> {
  const values = new Float64Array(count)
  const sets = drawHonestSets(sampler, count)
  for (let k = 0; k < count; k++) values[k] = await metric(sets[k], k)
  return { ...summarizeMean(values, confidence), values }
}
