import type { Rng } from '@murmur/robust'
import type { Graph } from '../graph.ts'
import { maskFor, type ByzantineSampler } from './types.ts'

export interface IsingParameters {
  /** Coupling β (β > 0: neighbours tend to agree). Edge weights scale it per edge. */
  beta: number
  /** Field h (h < 0 makes Byzantine nodes rarer). */
  h: number
  /** Gibbs sweeps of each chain before its first draw (default 200). */
  burnIn?: number
  /** Gibbs sweeps of a chain between its draws (default 5). */
  thin?: number
  /** Independent chains the draws come from in turn (default 4). */
  chains?: number
}

/**
 * Ising μ_H: P(s) ∝ exp(β Σ_edges w_ij s_i s_j + h Σ_i s_i), s ∈ {−1, +1}ⁿ, Byzantine iff s_i = +1.
 * Gibbs chains (systematic sweeps, s_i = +1 with probability sigmoid(2(β Σ_j w_ij s_j + h))) take
 * turns: draw k comes from chain k mod `chains`. Their starts are spread so that chains which have
 * not forgotten them disagree: the first from the β = 0 distribution, the second all honest, the
 * third all Byzantine, any further ones from the β = 0 distribution. Each chain makes its first
 * draw after `burnIn` sweeps, then one every `thin` sweeps. Cost: (Σ deg + n) per sweep.
 */
export function isingSampler (graph: Graph, parameters: IsingParameters, rng: Rng): ByzantineSampler {
  const { n, offsets, neighbors, weights } = graph
  const { beta, h } = parameters
  const burnIn = parameters.burnIn ?? 200
  const thin = Math.max(1, parameters.thin ?? 5)
  const chains = Math.max(1, Math.floor(parameters.chains ?? 4))
  const spins = new Int8Array(chains * n)
  const states = Array.from({ length: chains }, (_, c) => spins.subarray(c * n, (c + 1) * n))
  const started = new Uint8Array(chains)
  const start = (chain: number): void => {
    const spin = states[chain]
    if (chain === 1 || chain === 2) { spin.fill(chain === 1 ? -1 : 1); return }
    const p0 = 1 / (1 + Math.exp(-2 * h))
    for (let i = 0; i < n; i++) spin[i] = rng.next() < p0 ? 1 : -1
  }
  const sweep = (spin: Int8Array): void => {
    for (let i = 0; i < n; i++) {
      let field = 0
      for (let k = offsets[i]; k < offsets[i + 1]; k++) field += weights[k] * spin[neighbors[k]]
      const up = 1 / (1 + Math.exp(-2 * (beta * field + h)))
      spin[i] = rng.next() < up ? 1 : -1
    }
  }
  let next = 0
  let last = -1
  return {
    model: 'ising',
    n,
    deterministic: false,
    law: { kind: 'ising', graph, beta, h },
    chains: { count: chains, last: () => last },
    sample: (out) => {
      const mask = maskFor(n, out)
      const chain = next
      next = (next + 1) % chains
      if (started[chain] === 0) start(chain)
      const sweeps = started[chain] === 1 ? thin : Math.max(burnIn, 1)
      started[chain] = 1
      const spin = states[chain]
      for (let s = 0; s < sweeps; s++) sweep(spin)
      for (let i = 0; i < n; i++) mask[i] = spin[i] > 0 ? 1 : 0
      last = chain
      return mask
    }
  }
}
