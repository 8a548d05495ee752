import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  barabasiAlbert, chain, communityOf, complete, degree, degrees, diameter, dumbbell, erdosRenyi, generateTopology,
  generatorKinds, hasEdge, isConnected, maliciousRing, randomRegular, ring, star, stochasticBlockModel,
  TopologyError, topologyGraph, torus, validateTopology, wattsStrogatz, type Graph
} from '../../src/index.ts'

/** Rows sorted and strictly increasing: no duplicate edges; no self-loops; adjacency symmetric. */
function assertSimple (g: Graph): void {
  for (let i = 0; i < g.n; i++) {
    for (let k = g.offsets[i]; k < g.offsets[i + 1]; k++) {
      const j = g.neighbors[k]
      assert.notEqual(j, i, `self-loop at ${i}`)
      if (k > g.offsets[i]) assert.ok(g.neighbors[k - 1] < j, `row ${i} not strictly increasing`)
      assert.ok(hasEdge(g, j, i), `asymmetric ${i}-${j}`)
    }
  }
  assert.equal(g.offsets[g.n], 2 * g.m)
}

const edgesOf = (g: Graph): string => Array.from(g.neighbors).join(',')

describe('deterministic generators', () => {
  test('ring and chain', () => {
    const r = ring(7)
    assertSimple(r)
    assert.equal(r.m, 7)
    assert.deepEqual(Array.from(degrees(r)), [2, 2, 2, 2, 2, 2, 2])
    assert.ok(hasEdge(r, 0, 6) && hasEdge(r, 3, 4) && !hasEdge(r, 0, 2))
    const c = chain(5)
    assertSimple(c)
    assert.equal(c.m, 4)
    assert.deepEqual(Array.from(degrees(c)), [1, 2, 2, 2, 1])
    assert.equal(diameter(c).diameter, 4)
  })

  test('torus wraps around in both directions', () => {
    const t = torus(4, 5)
    assertSimple(t)
    assert.equal(t.n, 20)
    assert.equal(t.m, 40)
    assert.ok(degrees(t).every((d) => d === 4))
    // Node 0 = (0, 0): right (0, 1) = 1, left (0, 4) = 4, down (1, 0) = 5, up (3, 0) = 15.
    assert.deepEqual(Array.from(t.neighbors.subarray(t.offsets[0], t.offsets[1])), [1, 4, 5, 15])
    assert.equal(diameter(t).diameter, 2 + 2)
  })

  test('complete, star and dumbbell', () => {
    const k = complete(6)
    assertSimple(k)
    assert.equal(k.m, 15)
    const s = star(7)
    assertSimple(s)
    assert.equal(s.m, 6)
    assert.equal(degree(s, 0), 6)
    assert.equal(degree(s, 3), 1)
    const d = dumbbell(10)
    assertSimple(d)
    assert.equal(d.m, 2 * 10 + 1)
    assert.ok(hasEdge(d, 4, 5))
    assert.equal(degree(d, 4), 5)
    assert.equal(degree(d, 0), 4)
    assert.equal(diameter(d).diameter, 3)
    assert.equal(dumbbell(9).m, 6 + 10 + 1) // cliques of 4 and 5
  })

  test('malicious ring: h honest in a ring, 2 Byzantine leaves each, one more on p0', () => {
    const { graph, byzantine } = maliciousRing(5)
    assertSimple(graph)
    assert.equal(graph.n, 16)
    assert.equal(graph.m, 5 + 10 + 1)
    assert.deepEqual(byzantine, [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15])
    assert.deepEqual(Array.from(degrees(graph).subarray(0, 5)), [5, 4, 4, 4, 4])
    for (const b of byzantine) assert.equal(degree(graph, b), 1)
    // Honest i's own leaves are h + 2i and h + 2i + 1; the extra one hangs on p0.
    assert.ok(hasEdge(graph, 2, 9) && hasEdge(graph, 2, 10) && hasEdge(graph, 0, 15))
    const bigger = maliciousRing(7, 3, 2)
    assert.equal(bigger.graph.n, 7 * 4 + 2)
    assert.equal(bigger.byzantine.length, 7 * 3 + 2)
    assert.equal(degree(bigger.graph, 0), 2 + 3 + 2)
  })
})

describe('random generators', () => {
  test('Erdős–Rényi: edge count near p·C(n,2), connected, seeded', () => {
    const n = 200; const p = 0.05
    const g = erdosRenyi(n, p, 1)
    assertSimple(g)
    assert.ok(isConnected(g))
    const mean = p * n * (n - 1) / 2; const sd = Math.sqrt(mean * (1 - p))
    assert.ok(Math.abs(g.m - mean) < 5 * sd, `m = ${g.m}, expected ≈ ${mean}`)
    assert.equal(edgesOf(erdosRenyi(n, p, 1)), edgesOf(g))
    assert.notEqual(edgesOf(erdosRenyi(n, p, 2)), edgesOf(g))
  })

  test('Erdős–Rényi below the connectivity threshold is bridged into one component', () => {
    const g = erdosRenyi(300, 0.002, 4)
    assertSimple(g)
    assert.ok(isConnected(g))
  })

  test('random regular: every degree k, simple, connected, seeded', () => {
    // Dense ones (k > (n − 1)/2) are complements of sparse ones, k = n − 1 the complete graph.
    for (const [n, k] of [[100, 6], [51, 4], [20, 5], [64, 3], [100, 80], [400, 397], [12, 11], [30, 16]]) {
      const g = randomRegular(n, k, 3)
      assertSimple(g)
      assert.ok(degrees(g).every((d) => d === k), `${n}, ${k}`)
      assert.equal(g.m, n * k / 2)
      assert.ok(isConnected(g))
    }
    assert.equal(edgesOf(randomRegular(100, 6, 3)), edgesOf(randomRegular(100, 6, 3)))
    assert.notEqual(edgesOf(randomRegular(100, 6, 4)), edgesOf(randomRegular(100, 6, 3)))
    assert.throws(() => randomRegular(9, 3), (e: unknown) => e instanceof TopologyError && e.path === 'k' && /even/.test(e.message))
    assert.throws(() => randomRegular(5, 5), /k < n/)
  })

  test('Watts–Strogatz: β = 0 is the ring lattice; rewiring keeps the edge count', () => {
    const lattice = wattsStrogatz(20, 4, 0, 1)
    assertSimple(lattice)
    for (let i = 0; i < 20; i++) {
      assert.deepEqual(Array.from(lattice.neighbors.subarray(lattice.offsets[i], lattice.offsets[i + 1])),
        [(i + 18) % 20, (i + 19) % 20, (i + 1) % 20, (i + 2) % 20].sort((a, b) => a - b))
    }
    const g = wattsStrogatz(60, 4, 0.3, 2)
    assertSimple(g)
    assert.ok(isConnected(g))
    assert.ok(g.m >= 120 && g.m <= 122, `m = ${g.m}`)
    assert.notEqual(edgesOf(g), edgesOf(wattsStrogatz(60, 4, 0, 2)))
    assert.equal(edgesOf(g), edgesOf(wattsStrogatz(60, 4, 0.3, 2)))
    assert.notEqual(edgesOf(g), edgesOf(wattsStrogatz(60, 4, 0.3, 3)))
    assert.throws(() => wattsStrogatz(20, 3, 0.1), /even k/)
  })

  test('Barabási–Albert: clique seed plus m edges per node, hubs emerge', () => {
    const g = barabasiAlbert(200, 2, 5)
    assertSimple(g)
    assert.equal(g.m, 3 + (200 - 3) * 2)
    assert.ok(isConnected(g))
    const d = degrees(g)
    assert.ok(d.every((x) => x >= 2))
    assert.ok(Math.max(...d) >= 15, 'preferential attachment makes hubs')
    assert.equal(edgesOf(g), edgesOf(barabasiAlbert(200, 2, 5)))
    assert.notEqual(edgesOf(g), edgesOf(barabasiAlbert(200, 2, 6)))
  })

  test('stochastic block model: dense blocks, sparse across, connected', () => {
    const n = 60; const c = 3
    const g = stochasticBlockModel(n, c, 0.6, 0.02, 7)
    assertSimple(g)
    assert.ok(isConnected(g))
    const labels = communityOf(n, c)
    assert.deepEqual([labels[0], labels[19], labels[20], labels[59]], [0, 0, 1, 2])
    let inside = 0; let across = 0
    for (let i = 0; i < n; i++) {
      for (let k = g.offsets[i]; k < g.offsets[i + 1]; k++) {
        if (g.neighbors[k] > i) { if (labels[i] === labels[g.neighbors[k]]) inside++; else across++ }
      }
    }
    const insidePairs = c * 20 * 19 / 2; const acrossPairs = n * (n - 1) / 2 - insidePairs
    assert.ok(Math.abs(inside / insidePairs - 0.6) < 0.08, `inside density ${inside / insidePairs}`)
    assert.ok(across / acrossPairs < 0.05, `across density ${across / acrossPairs}`)
    assert.equal(edgesOf(g), edgesOf(stochasticBlockModel(n, c, 0.6, 0.02, 7)))
    assert.notEqual(edgesOf(g), edgesOf(stochasticBlockModel(n, c, 0.6, 0.02, 8)))
  })
})

describe('generateTopology', () => {
  test('every kind yields a valid, connected topology named after its size', () => {
    const opts = { n: 16, k: 4, p: 0.3, rows: 3, cols: 4, m: 2, communities: 2, pIn: 0.6, pOut: 0.1, seed: 2 }
    const names: Record<string, string> = {}
    for (const kind of generatorKinds) {
      const t = generateTopology(kind, opts)
      assert.deepEqual(validateTopology(t), t)
      assert.ok(isConnected(topologyGraph(t)), kind)
      names[kind] = t.name
    }
    assert.equal(names.torus, 'torus-3x4')
    assert.equal(names['erdos-renyi'], 'er-16')
    assert.equal(names['malicious-ring'], 'malicious-ring-16')
  })

  test('the malicious ring carries its Byzantine leaves as a fixed list', () => {
    const t = generateTopology('malicious-ring', { honest: 5 })
    assert.deepEqual(t.byzantine, { model: 'fixed', nodes: ['p5', 'p6', 'p7', 'p8', 'p9', 'p10', 'p11', 'p12', 'p13', 'p14', 'p15'] })
    assert.equal(generateTopology('malicious-ring', { byzantine: null }).byzantine, undefined)
  })

  test('bad parameters name the option', () => {
    const path = (f: () => unknown): string => { try { f(); return 'accepted' } catch (e) { return (e as TopologyError).path } }
    assert.equal(path(() => generateTopology('ring', {})), 'n')
    assert.equal(path(() => generateTopology('ring', { n: 2 })), 'n')
    assert.equal(path(() => generateTopology('torus', { rows: 3 })), 'cols')
    assert.equal(path(() => generateTopology('erdos-renyi', { n: 10, p: 1.5 })), 'p')
    assert.equal(path(() => generateTopology('sbm', { n: 10, pIn: -1 })), 'pIn')
    assert.equal(path(() => generateTopology('regular', { n: 10, k: 3, seed: 1.5 })), 'seed')
  })
})
