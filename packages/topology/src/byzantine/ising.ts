import type { Rng } from '@murmur/robust'
import type { Graph } from '../graph.ts'
import { maskFor, type ByzantineSampler } from './types.ts'

export interface IsingParameters {
  /** Coupling β (β > 0: neighbours tend to agree). Edge weights scale it per edge. */
  beta: number
  /** Field h (h < 0 makes Byzantine nodes rarer). */
  h: number
  /** Gibbs sweeps before the first draw (default 200). */
  burnIn?: number
  /** Gibbs sweeps between draws (default 5). */
  thin?: number
}

/**
 * Ising μ_H: P(s) ∝ exp(β Σ_edges w_ij s_i s_j + h Σ_i s_i), s ∈ {−1, +1}ⁿ, Byzantine iff s_i = +1.
 * One persistent Gibbs chain (systematic sweeps, s_i = +1 with probability
 * sigmoid(2(β Σ_j w_ij s_j + h))) started from the β = 0 distribution; the first draw comes after
 * `burnIn` sweeps, then one every `thin` sweeps. Cost: (Σ deg + n) per sweep.
 */
export function isingSampler (graph: Graph, parameters: IsingParameters, rng: Rng): ByzantineSampler {
  const { n, offsets, neighbors, weights } = graph
  const { beta, h } = parameters
  const burnIn = parameters.burnIn ?? 200
  const thin = Math.max(1, parameters.thin ?? 5)
  const spin = new Int8Array(n)
  const p0 = 1 / (1 + Math.exp(-2 * h))
  for (let i = 0; i < n; i++) spin[i] = rng.next() < p0 ? 1 : -1
  const sweep = (): void => {
    for (let i = 0; i < n; i++) {
      let field = 0
      for (let k = offsets[i]; k < offsets[i + 1]; k++) field += weights[k] * spin[neighbors[k]]
      const up = 1 / (1 + Math.exp(-2 * (beta * field + h)))
      spin[i] = rng.next() < up ? 1 : -1
    }
  }
  let warmed = false
  return {
    model: 'ising',
    n,
    deterministic: false,
    law: { kind: 'ising', graph, beta, h },
    sample: (out) => {
      const mask = maskFor(n, out)
      const sweeps = warmed ? thin : Math.max(burnIn, 1)
      warmed = true
      for (let s = 0; s < sweeps; s++) sweep()
      for (let i = 0; i < n; i++) mask[i] = spin[i] > 0 ? 1 : 0
      return mask
    }
  }
}
