import { createRng, type Rng } from '@murmur/robust'
import { correlationGraph, nodePriors, topologyGraph } from '../build.ts'
import type { Graph } from '../graph.ts'
import type { ByzantineSpec, Topology } from '../types.ts'
import { cascadeSampler } from './cascade.ts'
import { gaussianCopulaSampler } from './gaussian.ts'
import { independentSampler } from './independent.ts'
import { isingSampler } from './ising.ts'
import { indicesToMask, maskFor, type ByzantineSampler } from './types.ts'
import { worstCase, type WorstCase } from './worst-case.ts'

export interface SamplerOptions {
  /** Seed of the sampler's random stream (default 0); ignored when `rng` is given. */
  seed?: number
  rng?: Rng
  /** Per-node priors p_i (NaN where none): the independent probabilities and cascade seed rates. */
  priors?: ArrayLike<number>
  /**
   * Ising: the chains draws take turns from (default: the model's, 4). Estimates want several, to
   * see whether they agree; drawing one set wants one, so that a seed names the same set
   * whatever the diagnostics.
   */
  chains?: number
}

/**
 * A sampler for a μ_H model on `graph` (the graph the model correlates over; worst-case
 * placements read its degrees). Seeded: one seed gives one sequence of draws.
 */
export function createByzantineSampler (spec: ByzantineSpec, graph: Graph, options: SamplerOptions = {}): ByzantineSampler {
  const rng = options.rng ?? createRng(options.seed ?? 0)
  const n = graph.n
  const prior = (i: number, fallback: number | undefined): number => {
    const p = options.priors?.[i]
    if (p !== undefined && !Number.isNaN(p)) return p
    if (fallback === undefined) throw new RangeError(`${spec.model}: node ${graph.ids[i]} has no prior and the model gives no global probability`)
    return fallback
  }
  switch (spec.model) {
    case 'independent':
      return independentSampler(Float64Array.from({ length: n }, (_, i) => prior(i, spec.p)), rng)
    case 'cascade':
      return cascadeSampler(graph, Float64Array.from({ length: n }, (_, i) => prior(i, spec.seed)), spec.spread, rng)
    case 'ising':
      return isingSampler(graph, options.chains === undefined ? spec : { ...spec, chains: options.chains }, rng)
    case 'gaussian':
      return gaussianCopulaSampler(graph, spec.tau, spec.p, rng)
    case 'fixed':
      return constantSampler('fixed', n, spec.nodes.map((id) => {
        const i = graph.index.get(id)
        if (i === undefined) throw new RangeError(`fixed: unknown node "${id}"`)
        return i
      }))
    case 'worst-case': {
      const placement = worstCase(graph, spec.f, { strategy: spec.strategy ?? 'auto' })
      return constantSampler('worst-case', n, placement.nodes, placement)
    }
  }
}

function constantSampler (model: 'fixed' | 'worst-case', n: number, indices: ArrayLike<number>, placement?: WorstCase): ByzantineSampler {
  const set = indicesToMask(n, indices)
  return {
    model,
    n,
    deterministic: true,
    law: { kind: 'constant', mask: set.slice() },
    ...(placement === undefined ? {} : { worstCase: placement }),
    sample: (out) => { const mask = maskFor(n, out); mask.set(set); return mask }
  }
}

/**
 * The sampler of a topology's `byzantine` section: correlated models run on the correlation
 * graph (`byzantine.graph`, default the communication graph), worst-case placements on the
 * communication graph, node priors feed the independent and cascade models. Undefined when the
 * topology has no Byzantine model.
 */
export function topologySampler (topology: Topology, options: Omit<SamplerOptions, 'priors'> = {}): ByzantineSampler | undefined {
  const spec = topology.byzantine
  if (spec === undefined) return undefined
  const graph = spec.model === 'worst-case' ? topologyGraph(topology) : correlationGraph(topology)
  return createByzantineSampler(spec, graph, { ...options, priors: nodePriors(topology) })
}
