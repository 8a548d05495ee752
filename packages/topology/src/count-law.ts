import type { ByzantineLaw } from './byzantine/types.ts'
import type { Graph } from './graph.ts'

/** How an exact law of the Byzantine-neighbour counts was obtained. */
export type CountLawSource = 'poisson-binomial' | 'constant' | 'enumeration'

/**
 * The exact law of X_i = |N(i) ∩ B| under μ_H for every node i, truncated at a per-node cap:
 * bins 0 … cap_i hold P(X_i = c) and bin cap_i + 1 holds P(X_i > cap_i). With
 * `conditionOnHonest` the bins hold P(· | i honest) (all zero when i is never honest).
 */
export interface CountLaw {
  source: CountLawSource
  /** Node i's bins are mass[base[i] … base[i + 1]), cap_i + 2 of them. */
  base: Int32Array
  mass: Float64Array
  /** P(i Byzantine). */
  marginal: Float64Array
  /** E|B| and Var|B|. */
  expectedCount: number
  countVariance: number
}

export interface CountLawOptions {
  /** Per-node caps (the largest f asked about). */
  caps: ArrayLike<number>
  conditionOnHonest?: boolean
  /**
   * Largest n for which a law without product form is enumerated over all 2ⁿ sets (default 20):
   * the Ising model up to this n, the cascade (3ⁿ recursion) up to ⌊¾ of it⌋.
   */
  enumerationLimit?: number
}

/** Largest n the enumeration accepts at all (2ⁿ doubles: 128 MiB at 24). */
const HARD_LIMIT = 24

/**
 * The exact law of every node's Byzantine-neighbour count on `graph` (the communication graph)
 * when μ_H allows it: independent models by a Poisson-binomial recursion over each neighbourhood
 * (O(deg · cap) per node), constant sets by counting, Ising and cascade models on small graphs by
 * enumerating all Byzantine sets. Undefined when none applies (the Gaussian copula, large graphs).
 */
export function exactCountLaw (graph: Graph, law: ByzantineLaw, options: CountLawOptions): CountLaw | undefined {
  const n = graph.n
  const limit = Math.min(HARD_LIMIT, options.enumerationLimit ?? 20)
  const conditional = options.conditionOnHonest === true
  switch (law.kind) {
    case 'independent': return poissonBinomial(graph, law.probabilities, options.caps, conditional)
    case 'constant': return constant(graph, law.mask, options.caps, conditional)
    case 'ising':
      if (n > limit || law.graph.n !== n) return undefined
      return fromSetMass(graph, isingMass(law.graph, law.beta, law.h), options.caps, conditional)
    case 'cascade':
      if (n > Math.floor(0.75 * limit) || law.graph.n !== n) return undefined
      return fromSetMass(graph, cascadeMass(law.graph, law.seedRates, law.edgeProbabilities), options.caps, conditional)
    case 'gaussian':
      return undefined
  }
}

function bases (caps: ArrayLike<number>): Int32Array {
  const base = new Int32Array(caps.length + 1)
  for (let i = 0; i < caps.length; i++) base[i + 1] = base[i] + caps[i] + 2
  return base
}

/**
 * Independent Byzantine nodes: X_i is Poisson-binomial over the neighbours' probabilities. The
 * recursion adds neighbours in increasing probability (so nodes with the same multiset of
 * neighbour probabilities get bit-identical laws) and keeps the mass above the cap in one bin.
 * Node i's own state is independent of X_i, so conditioning on i honest changes nothing.
 */
function poissonBinomial (graph: Graph, p: Float64Array, caps: ArrayLike<number>, conditional: boolean): CountLaw {
  const { n, offsets, neighbors } = graph
  if (p.length !== n) throw new RangeError(`independent law has ${p.length} nodes, the graph ${n}`)
  const base = bases(caps)
  const mass = new Float64Array(base[n])
  const row: number[] = []
  for (let i = 0; i < n; i++) {
    const cap = caps[i]
    const q = mass.subarray(base[i], base[i + 1])
    if (conditional && p[i] >= 1) continue
    row.length = 0
    for (let k = offsets[i]; k < offsets[i + 1]; k++) row.push(p[neighbors[k]])
    row.sort((a, b) => a - b)
    q[0] = 1
    let top = 0 // highest bin that can hold mass so far
    for (const pj of row) {
      const stay = 1 - pj
      // The bin above the cap absorbs: once there, more Byzantine neighbours change nothing.
      if (top >= cap) q[cap + 1] += q[cap] * pj
      for (let c = Math.min(top + 1, cap); c >= 1; c--) q[c] = q[c] * stay + q[c - 1] * pj
      q[0] *= stay
      top = Math.min(top + 1, cap + 1)
    }
  }
  let expectedCount = 0; let countVariance = 0
  for (let i = 0; i < n; i++) { expectedCount += p[i]; countVariance += p[i] * (1 - p[i]) }
  return { source: 'poisson-binomial', base, mass, marginal: p.slice(), expectedCount, countVariance }
}

/** A fixed Byzantine set: X_i is a constant. */
function constant (graph: Graph, mask: Uint8Array, caps: ArrayLike<number>, conditional: boolean): CountLaw {
  const { n, offsets, neighbors } = graph
  if (mask.length !== n) throw new RangeError(`constant law has ${mask.length} nodes, the graph ${n}`)
  const base = bases(caps)
  const mass = new Float64Array(base[n])
  let size = 0
  for (let i = 0; i < n; i++) {
    size += mask[i]
    if (conditional && mask[i] !== 0) continue
    let c = 0
    for (let k = offsets[i]; k < offsets[i + 1]; k++) c += mask[neighbors[k]]
    mass[base[i] + Math.min(c, caps[i] + 1)] = 1
  }
  return { source: 'constant', base, mass, marginal: Float64Array.from(mask), expectedCount: size, countVariance: 0 }
}

/** Index of the lowest set bit of t > 0. */
const lowestBit = (t: number): number => 31 - Math.clz32(t & -t)

/**
 * P(B = S) for every S ⊆ [n] (bit i of S = node i) under the Ising law
 * P(s) ∝ exp(β Σ_edges w_ij s_i s_j + h Σ s_i), Byzantine iff s_i = +1. The energies are walked
 * in Gray-code order (one spin flip, O(deg) per set), then exponentiated relative to the largest.
 */
export function isingMass (graph: Graph, beta: number, h: number): Float64Array {
  const { n, offsets, neighbors, weights } = graph
  if (n > HARD_LIMIT) throw new RangeError(`ising enumeration: ${n} nodes is too many`)
  const size = 2 ** n
  const energy = new Float64Array(size)
  const spin = new Int8Array(n).fill(-1)
  const field = new Float64Array(n) // Σ_j w_ij s_j
  let total = 0
  for (let i = 0; i < n; i++) {
    for (let k = offsets[i]; k < offsets[i + 1]; k++) { field[i] -= weights[k]; total += weights[k] }
  }
  // All spins −1: every edge term is +w, every field term −h.
  let e = beta * total / 2 - h * n
  let state = 0
  energy[0] = e
  let top = e
  for (let t = 1; t < size; t++) {
    const j = lowestBit(t)
    const change = -2 * spin[j] // new − old
    e += change * (beta * field[j] + h)
    for (let k = offsets[j]; k < offsets[j + 1]; k++) field[neighbors[k]] += weights[k] * change
    spin[j] = -spin[j]
    state ^= 1 << j
    energy[state] = e
    if (e > top) top = e
  }
  let z = 0
  for (let s = 0; s < size; s++) { energy[s] = Math.exp(energy[s] - top); z += energy[s] }
  for (let s = 0; s < size; s++) energy[s] /= z
  return energy
}

/**
 * P(B = S) for every S under the independent cascade: seeds with probability r_i, each Byzantine
 * node x turning neighbour y once with probability q_xy (CSR entry of x's row). With
 * c_T(y) = (1 − r_y) Π_{x ∈ T ∩ N(y)} (1 − q_xy), the probability that the cascade restricted to
 * S reaches all of S is R(S) = 1 − Σ_{T ⊊ S} R(T) Π_{y ∈ S∖T} c_T(y), and
 * P(B = S) = R(S) Π_{y ∉ S} c_S(y). Cost O(3ⁿ) (every T with every U ⊆ its complement).
 */
export function cascadeMass (graph: Graph, seedRates: ArrayLike<number>, edgeProbabilities: ArrayLike<number>): Float64Array {
  const { n, offsets, neighbors } = graph
  if (n > HARD_LIMIT) throw new RangeError(`cascade enumeration: ${n} nodes is too many`)
  const size = 2 ** n
  const full = size - 1
  const reached = new Float64Array(size) // Σ_{T ⊊ S} R(T) Π c_T, pushed forward
  const out = new Float64Array(size)
  const c = new Float64Array(n)
  const free: number[] = []
  const product = new Float64Array(size)
  const subset = new Int32Array(size)
  for (let t = 0; t < size; t++) {
    const r = t === 0 ? 1 : Math.max(0, 1 - reached[t])
    free.length = 0
    for (let y = 0; y < n; y++) {
      if ((t >> y & 1) === 0) { c[y] = 1 - seedRates[y]; free.push(y) }
    }
    for (let x = 0; x < n; x++) {
      if ((t >> x & 1) === 0) continue
      for (let k = offsets[x]; k < offsets[x + 1]; k++) {
        const y = neighbors[k]
        if ((t >> y & 1) === 0) c[y] *= 1 - edgeProbabilities[k]
      }
    }
    const count = 2 ** free.length
    product[0] = 1; subset[0] = 0
    for (let u = 1; u < count; u++) {
      const low = lowestBit(u)
      const rest = u & (u - 1)
      product[u] = product[rest] * c[free[low]]
      subset[u] = subset[rest] | (1 << free[low])
      if (r !== 0) reached[t | subset[u]] += r * product[u]
    }
    out[t] = r * product[count - 1]
  }
  // Rounding in 1 − Σ can leave tiny negative or excess mass: renormalise.
  let z = 0
  for (let s = 0; s <= full; s++) z += out[s]
  for (let s = 0; s <= full; s++) out[s] /= z
  return out
}

/** Count laws from the mass of every Byzantine set (bit i of the index = node i). */
function fromSetMass (graph: Graph, setMass: Float64Array, caps: ArrayLike<number>, conditional: boolean): CountLaw {
  const { n, offsets, neighbors } = graph
  const size = setMass.length
  const neighbourMask = new Int32Array(n)
  for (let i = 0; i < n; i++) for (let k = offsets[i]; k < offsets[i + 1]; k++) neighbourMask[i] |= 1 << neighbors[k]
  const base = bases(caps)
  const mass = new Float64Array(base[n])
  const marginal = new Float64Array(n)
  let expectedCount = 0; let second = 0
  for (let s = 0; s < size; s++) {
    const w = setMass[s]
    if (w === 0) continue
    const b = popcount(s)
    expectedCount += w * b; second += w * b * b
    for (let i = 0; i < n; i++) {
      const own = s >> i & 1
      marginal[i] += own * w
      if (conditional && own !== 0) continue
      mass[base[i] + Math.min(popcount(s & neighbourMask[i]), caps[i] + 1)] += w
    }
  }
  if (conditional) {
    for (let i = 0; i < n; i++) {
      const honest = 1 - marginal[i]
      for (let k = base[i]; k < base[i + 1]; k++) mass[k] = honest > 0 ? mass[k] / honest : 0
    }
  }
  return { source: 'enumeration', base, mass, marginal, expectedCount, countVariance: Math.max(0, second - expectedCount * expectedCount) }
}

function popcount (x: number): number {
  x -= (x >>> 1) & 0x55555555
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333)
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24
}
