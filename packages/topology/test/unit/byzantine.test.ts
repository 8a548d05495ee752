import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createRng } from '@murmur/robust'
import {
  bandwidth, barabasiAlbert, cascadeSampler, chain, complete, createByzantineSampler, generateTopology, graphFromEdges,
  independentSampler, isingSampler, maliciousRing, maskToIndices, overrunNodes, randomRegular, reverseCuthillMcKee, ring,
  star, TopologyError, topologyGraph, topologySampler, torus, worstCasePlacement, type ByzantineSampler, type Graph
} from '../../src/index.ts'

/** Per-node Byzantine frequencies over `draws` samples. */
function rates (sampler: ByzantineSampler, draws: number): Float64Array {
  const hits = new Float64Array(sampler.n)
  const mask = new Uint8Array(sampler.n)
  for (let s = 0; s < draws; s++) {
    sampler.sample(mask)
    for (let i = 0; i < mask.length; i++) hits[i] += mask[i]
  }
  return hits.map((h) => h / draws)
}

/** |observed − p| within z binomial standard errors. */
function near (observed: number, p: number, draws: number, z = 4.5, message = ''): void {
  const se = Math.sqrt(p * (1 - p) / draws)
  assert.ok(Math.abs(observed - p) <= z * se + 1e-12, `${message} observed ${observed}, expected ${p} ± ${z}·${se.toFixed(5)}`)
}

/** Pearson correlation of the two endpoints' indicators, pooled over edges and draws. */
function neighbourCorrelation (graph: Graph, sampler: ByzantineSampler, draws: number): number {
  let sx = 0; let sxx = 0; let sxy = 0; let pairs = 0
  const mask = new Uint8Array(graph.n)
  for (let s = 0; s < draws; s++) {
    sampler.sample(mask)
    for (let i = 0; i < graph.n; i++) {
      for (let k = graph.offsets[i]; k < graph.offsets[i + 1]; k++) {
        const j = graph.neighbors[k]
        sx += mask[i]; sxx += mask[i]; sxy += mask[i] * mask[j]; pairs++
      }
    }
  }
  const mean = sx / pairs
  return (sxy / pairs - mean * mean) / (sxx / pairs - mean * mean)
}

const drawsOf = (sampler: ByzantineSampler, count: number): string =>
  Array.from({ length: count }, () => Array.from(sampler.sample()).join('')).join('|')

describe('independent', () => {
  test('marginal rates match p_i within binomial bounds', () => {
    const p = [0, 1, 0.5, 0.1, 0.9, 0.25]
    const draws = 20000
    const r = rates(independentSampler(p, createRng(1)), draws)
    assert.equal(r[0], 0)
    assert.equal(r[1], 1)
    for (let i = 2; i < p.length; i++) near(r[i], p[i], draws, 4.5, `node ${i}`)
  })

  test('node priors override the global p', () => {
    const topology = generateTopology('ring', { n: 6, byzantine: { model: 'independent', p: 0.5 } })
    topology.nodes[2].prior = 0
    topology.nodes[3].prior = 1
    const r = rates(topologySampler(topology, { seed: 3 }) as ByzantineSampler, 4000)
    assert.equal(r[2], 0)
    assert.equal(r[3], 1)
    near(r[0], 0.5, 4000)
  })
})

describe('cascade', () => {
  const p0 = 0.2; const q = 0.5; const draws = 40000
  test('two-node path: P(B) = p0 + (1 − p0) p0 q', () => {
    const r = rates(cascadeSampler(chain(2), p0, q, createRng(2)), draws)
    const exact = p0 + (1 - p0) * p0 * q // 0.28
    near(r[0], exact, draws)
    near(r[1], exact, draws)
  })

  test('three-node path against the live-edge calculation', () => {
    const r = rates(cascadeSampler(chain(3), p0, q, createRng(3)), draws)
    // Middle: not Byzantine iff not a seed and neither end turns it.
    const middle = 1 - (1 - p0) * (1 - p0 * q) ** 2 // 0.352
    // End: not a seed and not turned by the middle, which is Byzantine without the end's help
    // with probability 1 − (1 − p0)(1 − p0 q).
    const end = 1 - (1 - p0) * (1 - q * (1 - (1 - p0) * (1 - p0 * q))) // 0.3088
    near(r[1], middle, draws, 4.5, 'middle')
    near(r[0], end, draws, 4.5, 'end 0')
    near(r[2], end, draws, 4.5, 'end 2')
  })

  test('edge weights scale the spread probability', () => {
    const weighted = graphFromEdges(['a', 'b'], [0], [1], [2])
    const r = rates(cascadeSampler(weighted, p0, q / 2, createRng(4)), draws)
    near(r[0], p0 + (1 - p0) * p0 * q, draws) // 2 · q/2 = q
    const capped = rates(cascadeSampler(weighted, p0, 0.9, createRng(5)), draws)
    near(capped[0], p0 + (1 - p0) * p0, draws) // min(1, 1.8) = 1
  })

  test('a separate correlation graph replaces the communication graph', () => {
    // Ring communication graph, but an empty correlation graph: nothing spreads, rate = seed rate.
    const topology = generateTopology('ring', { n: 10, byzantine: { model: 'cascade', seed: 0.1, spread: 1, graph: { edges: [] } } })
    const alone = rates(topologySampler(topology, { seed: 6 }) as ByzantineSampler, 20000)
    near(alone.reduce((a, b) => a + b) / 10, 0.1, 20000 * 10, 4.5)
    const spread = { ...topology, byzantine: { model: 'cascade' as const, seed: 0.1, spread: 1 } }
    const together = rates(topologySampler(spread, { seed: 6 }) as ByzantineSampler, 2000)
    near(together[0], 1 - 0.9 ** 10, 2000) // spread 1 on a connected ring: any seed takes all
  })
})

describe('Ising', () => {
  test('β = 0: independent nodes with P(B) = sigmoid(2h) and no neighbour correlation', () => {
    const g = torus(6, 6)
    const h = -0.5
    const draws = 3000
    const sampler = isingSampler(g, { beta: 0, h, burnIn: 1, thin: 1 }, createRng(7))
    const r = rates(sampler, draws)
    near(r.reduce((a, b) => a + b) / g.n, 1 / (1 + Math.exp(-2 * h)), draws * g.n)
    const corr = neighbourCorrelation(g, isingSampler(g, { beta: 0, h, burnIn: 1, thin: 1 }, createRng(8)), draws)
    assert.ok(Math.abs(corr) < 4 / Math.sqrt(draws * g.m), `β = 0 correlation ${corr}`)
  })

  test('β > 0 gives positive neighbour correlation, growing with β', () => {
    const g = torus(6, 6)
    const weak = neighbourCorrelation(g, isingSampler(g, { beta: 0.1, h: -0.3 }, createRng(9)), 1500)
    const strong = neighbourCorrelation(g, isingSampler(g, { beta: 0.3, h: -0.3 }, createRng(9)), 1500)
    const noise = 4 / Math.sqrt(1500 * g.m)
    assert.ok(weak > noise, `β = 0.1 correlation ${weak}`)
    assert.ok(strong > weak + noise, `β = 0.3 correlation ${strong}`)
  })

  test('one edge: the Gibbs chain samples the exact Boltzmann distribution', () => {
    const beta = 0.7; const h = -0.4
    // States (s1, s2) with weights exp(β s1 s2 + h (s1 + s2)).
    const weight = (a: number, b: number): number => Math.exp(beta * a * b + h * (a + b))
    const z = weight(1, 1) + weight(1, -1) + weight(-1, 1) + weight(-1, -1)
    const both = weight(1, 1) / z
    const sampler = isingSampler(chain(2), { beta, h, burnIn: 20, thin: 4 }, createRng(10))
    const draws = 20000
    let count = 0
    for (let s = 0; s < draws; s++) { const m = sampler.sample(); if (m[0] === 1 && m[1] === 1) count++ }
    near(count / draws, both, draws, 5)
  })
})

describe('Gaussian copula', () => {
  test('every node is Byzantine with probability p, whatever its degree', () => {
    const g = barabasiAlbert(25, 2, 3) // degrees from 2 to ~10: marginal variances differ
    const p = 0.2; const draws = 20000
    const r = rates(createByzantineSampler({ model: 'gaussian', tau: 0.5, p }, g, { seed: 11 }), draws)
    for (let i = 0; i < g.n; i++) near(r[i], p, draws, 4.5, `node ${i}`)
  })

  test('neighbours are positively correlated, more so for small τ', () => {
    const g = ring(30)
    const strong = neighbourCorrelation(g, createByzantineSampler({ model: 'gaussian', tau: 0.1, p: 0.2 }, g, { seed: 12 }), 2000)
    const weak = neighbourCorrelation(g, createByzantineSampler({ model: 'gaussian', tau: 10, p: 0.2 }, g, { seed: 12 }), 2000)
    assert.ok(strong > 0.3, `τ = 0.1: ${strong}`)
    assert.ok(weak > 0 && weak < strong, `τ = 10: ${weak}`)
  })

  test('reverse Cuthill–McKee recovers a narrow band from a shuffled ring', () => {
    const n = 200
    const order = Array.from({ length: n }, (_, i) => i)
    const rng = createRng(13)
    for (let i = n - 1; i > 0; i--) { const j = rng.int(i + 1); [order[i], order[j]] = [order[j], order[i]] }
    const g = graphFromEdges(order.map(String), order, order.map((_, k) => order[(k + 1) % n]))
    const identity = Int32Array.from({ length: n }, (_, i) => i)
    assert.ok(bandwidth(g, identity) > 50)
    const rcm = reverseCuthillMcKee(g)
    const position = new Int32Array(n)
    rcm.forEach((node, k) => { position[node] = k })
    assert.ok(bandwidth(g, position) <= 2)
  })

  test('refuses graphs whose band is too wide, naming the byzantine section', () => {
    const g = randomRegular(3000, 8, 1)
    assert.throws(() => createByzantineSampler({ model: 'gaussian', tau: 1, p: 0.1 }, g),
      (e: unknown) => e instanceof TopologyError && e.path === 'byzantine' && /cascade or ising/.test(e.message))
  })
})

describe('fixed and worst case', () => {
  test('a fixed list is the same set every draw', () => {
    const t = generateTopology('malicious-ring', { honest: 5 })
    const sampler = topologySampler(t) as ByzantineSampler
    assert.equal(sampler.deterministic, true)
    assert.deepEqual(Array.from(maskToIndices(sampler.sample())), [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15])
    // In the malicious ring only p0 has more Byzantine neighbours (3) than it tolerates (⌊5/2⌋ = 2).
    assert.deepEqual(overrunNodes(topologyGraph(t), sampler.sample()), [0])
  })

  test('max degree picks the hubs', () => {
    assert.deepEqual(Array.from(worstCasePlacement(star(6), 1, 'max-degree')), [0])
    const g = maliciousRing(5).graph
    assert.deepEqual(Array.from(worstCasePlacement(g, 3, 'max-degree')), [0, 1, 2])
  })

  test('greedy overruns as many honest neighbourhoods as possible, one node at a time', () => {
    // Ring of 6, tolerance 1 each: B = {0, 2} overruns node 1 (both neighbours Byzantine).
    const r = ring(6)
    const chosen = worstCasePlacement(r, 2, 'greedy')
    assert.deepEqual(Array.from(chosen), [0, 2])
    const mask = new Uint8Array(6); mask[0] = 1; mask[2] = 1
    assert.deepEqual(overrunNodes(r, mask), [1])
    // For f = 1 greedy is optimal by construction: compare with every single node.
    for (const g of [maliciousRing(5).graph, barabasiAlbert(30, 2, 4), star(8)]) {
      const best = Math.max(...Array.from({ length: g.n }, (_, v) => { const m = new Uint8Array(g.n); m[v] = 1; return overrunNodes(g, m).length }))
      const m = new Uint8Array(g.n); m[worstCasePlacement(g, 1)[0]] = 1
      assert.equal(overrunNodes(g, m).length, best)
    }
  })

  test('the worst-case model reads the communication graph', () => {
    const t = generateTopology('star', { n: 6, byzantine: { model: 'worst-case', f: 1, strategy: 'max-degree', graph: { edges: [['p1', 'p2']] } } })
    assert.deepEqual(Array.from(maskToIndices((topologySampler(t) as ByzantineSampler).sample())), [0])
  })
})

describe('reproducibility', () => {
  const g = torus(4, 4)
  const specs = [
    { model: 'independent', p: 0.3 },
    { model: 'cascade', seed: 0.1, spread: 0.4 },
    { model: 'ising', beta: 0.2, h: -0.2 },
    { model: 'gaussian', tau: 1, p: 0.3 }
  ] as const
  for (const spec of specs) {
    test(`${spec.model}: identical for one seed, different across seeds`, () => {
      const a = drawsOf(createByzantineSampler(spec, g, { seed: 21 }), 20)
      assert.equal(drawsOf(createByzantineSampler(spec, g, { seed: 21 }), 20), a)
      assert.notEqual(drawsOf(createByzantineSampler(spec, g, { seed: 22 }), 20), a)
    })
  }

  test('complete graph sampler returns masks of the right length', () => {
    const s = createByzantineSampler({ model: 'independent', p: 0.5 }, complete(4), { seed: 1 })
    assert.equal(s.sample().length, 4)
    assert.throws(() => s.sample(new Uint8Array(3)), /length 3/)
  })
})
