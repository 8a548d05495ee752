import type { Rng } from '@murmur/robust'
import type { Graph } from '../graph.ts'
import { maskFor, type ByzantineSampler } from './types.ts'

/**
 * Independent cascade: each node is a seed with probability seedRates[i]; every node that turns
 * Byzantine gets one chance to turn each neighbour j, succeeding with probability
 * min(1, spread · w_ij). Equivalently, each edge is "open" with that probability and the
 * Byzantine set is everything reachable from a seed through open edges.
 */
export function cascadeSampler (graph: Graph, seedRates: number | ArrayLike<number>, spread: number, rng: Rng): ByzantineSampler {
  const { n, offsets, neighbors, weights } = graph
  const rates = typeof seedRates === 'number' ? new Float64Array(n).fill(seedRates) : Float64Array.from(seedRates)
  if (rates.length !== n) throw new RangeError(`cascade: ${rates.length} seed rates for ${n} nodes`)
  const edgeProbability = Float64Array.from(weights, (w) => Math.min(1, spread * w))
  const queue = new Int32Array(n)
  return {
    model: 'cascade',
    n,
    deterministic: false,
    law: { kind: 'cascade', graph, seedRates: rates, edgeProbabilities: edgeProbability },
    sample: (out) => {
      const mask = maskFor(n, out)
      let tail = 0
      for (let i = 0; i < n; i++) {
        const seeded = rng.next() < rates[i]
        mask[i] = seeded ? 1 : 0
        if (seeded) queue[tail++] = i
      }
      for (let head = 0; head < tail; head++) {
        const x = queue[head]
        for (let k = offsets[x]; k < offsets[x + 1]; k++) {
          const y = neighbors[k]
          if (mask[y] === 0 && rng.next() < edgeProbability[k]) { mask[y] = 1; queue[tail++] = y }
        }
      }
      return mask
    }
  }
}
