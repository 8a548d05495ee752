import type { Rng } from '@murmur/robust'
import { maskFor, type ByzantineSampler } from './types.ts'

/** Node i is Byzantine independently with probability p_i. */
export function independentSampler (probabilities: ArrayLike<number>, rng: Rng): ByzantineSampler {
  const p = Float64Array.from(probabilities)
  return {
    model: 'independent',
    n: p.length,
    deterministic: false,
    law: { kind: 'independent', probabilities: p },
    sample: (out) => {
      const mask = maskFor(p.length, out)
      for (let i = 0; i < p.length; i++) mask[i] = rng.next() < p[i] ? 1 : 0
      return mask
    }
  }
}
