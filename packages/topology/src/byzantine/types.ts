import type { Graph } from '../graph.ts'
import type { ByzantineModelName } from '../types.ts'
import type { WorstCase } from './worst-case.ts'

/**
 * The distribution a sampler draws from, for exact computations and symmetry detection:
 * - `independent`: node i Byzantine independently with probability `probabilities[i]`;
 * - `constant`: always the set `mask`;
 * - `cascade`: seeds with probability `seedRates[i]`; a Byzantine node x turns neighbour y (the
 *   CSR entry k of x's row in `graph`) with probability `edgeProbabilities[k]`;
 * - `ising`: P(s) ∝ exp(β Σ_edges w_ij s_i s_j + h Σ s_i) with w the weights of `graph`;
 * - `gaussian`: the copula of N(0, (L + τI)⁻¹), L the weighted Laplacian of `graph`, threshold
 *   Φ⁻¹(1 − p).
 * Samplers whose draws only approximate the law (the Ising Gibbs chains) still describe the law.
 */
export type ByzantineLaw =
  | { readonly kind: 'independent', readonly probabilities: Float64Array }
  | { readonly kind: 'constant', readonly mask: Uint8Array }
  | { readonly kind: 'cascade', readonly graph: Graph, readonly seedRates: Float64Array, readonly edgeProbabilities: Float64Array }
  | { readonly kind: 'ising', readonly graph: Graph, readonly beta: number, readonly h: number }
  | { readonly kind: 'gaussian', readonly graph: Graph, readonly tau: number, readonly p: number }

/** Draws Byzantine sets from μ_H. */
export interface ByzantineSampler {
  readonly model: ByzantineModelName
  readonly n: number
  /** True when every draw is the same set (fixed lists, worst-case placements). */
  readonly deterministic: boolean
  /**
   * The law of the draws when known (every built-in sampler gives it); consumers fall back to
   * plain Monte Carlo without it.
   */
  readonly law?: ByzantineLaw
  /** Markov-chain samplers only: their draws are dependent (see MarkovChains). */
  readonly chains?: MarkovChains
  /** Worst-case samplers only: the placement and how it was found. */
  readonly worstCase?: WorstCase
  /** Draws one set as a mask over nodes (1 = Byzantine), written into `out` when given. */
  sample: (out?: Uint8Array) => Uint8Array
}

/**
 * Draws that come from `count` Markov chains in turn: successive draws of one chain are dependent,
 * so estimates from them rest on an effective sample size, and chains that disagree (split-R̂)
 * have not forgotten their starts. `last()` is the chain of the latest draw.
 */
export interface MarkovChains {
  readonly count: number
  last: () => number
}

/** A mask of length n: `out` when it fits, else a new one. */
export function maskFor (n: number, out?: Uint8Array): Uint8Array {
  if (out === undefined) return new Uint8Array(n)
  if (out.length !== n) throw new RangeError(`mask has length ${out.length}, the graph has ${n} nodes`)
  return out
}

/** Indices of the set bits of a mask. */
export function maskToIndices (mask: Uint8Array): Int32Array {
  let count = 0
  for (let i = 0; i < mask.length; i++) count += mask[i]
  const out = new Int32Array(count)
  let k = 0
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) out[k++] = i
  return out
}

/** Mask of length n with the given indices set. */
export function indicesToMask (n: number, indices: ArrayLike<number>): Uint8Array {
  const mask = new Uint8Array(n)
  for (let k = 0; k < indices.length; k++) mask[indices[k]] = 1
  return mask
}
