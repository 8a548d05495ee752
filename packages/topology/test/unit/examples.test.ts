import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import {
  communityOf, degrees, isConnected, metropolisHastings, mixingSpectrum, readTopology, topologyGraph, topologySampler,
  type ByzantineSampler, type Graph, type Topology
} from '../../src/index.ts'

const dir = fileURLToPath(new URL('../../../../topologies/', import.meta.url))

const allDegrees = (g: Graph, d: number): boolean => degrees(g).every((x) => x === d)

/** What each example must look like: node and edge counts, degrees, the μ_H model, and one property of its purpose. */
const expectations: Record<string, { nodes: number, edges?: number, model: string, check: (g: Graph, t: Topology) => void }> = {
  'ring-8.json': { nodes: 8, edges: 8, model: 'cascade', check: (g) => assert.ok(allDegrees(g, 2)) },
  'ring-16.json': { nodes: 16, edges: 16, model: 'independent', check: (g) => assert.ok(allDegrees(g, 2)) },
  'torus-4x4.json': { nodes: 16, edges: 32, model: 'ising', check: (g) => assert.ok(allDegrees(g, 4)) },
  'complete-8.json': {
    nodes: 8,
    edges: 28,
    model: 'independent',
    check: (g) => { assert.ok(allDegrees(g, 7)); assert.ok(mixingSpectrum(metropolisHastings(g)).rho < 1e-12) }
  },
  'er-32.json': { nodes: 32, model: 'gaussian', check: (g) => assert.ok(g.m > 40 && g.m < 110, `m = ${g.m}`) },
  'regular-64.json': {
    nodes: 64,
    edges: 192,
    model: 'worst-case',
    check: (g, t) => { assert.ok(allDegrees(g, 6)); assert.equal(t.byzantine?.model === 'worst-case' && t.byzantine.f, 6) }
  },
  'small-world-64.json': {
    nodes: 64,
    model: 'cascade',
    check: (g) => { assert.ok(g.m >= 128 && g.m <= 130); assert.ok(Math.min(...degrees(g)) >= 1) }
  },
  'dumbbell-20.json': {
    nodes: 20,
    edges: 91,
    model: 'independent',
    check: (g) => {
      // Two 10-cliques (degree 9) and the two bridge ends (degree 10); the bridge throttles mixing.
      assert.deepEqual(Array.from(degrees(g)).sort((a, b) => a - b), [...Array(18).fill(9), 10, 10])
      assert.ok(mixingSpectrum(metropolisHastings(g)).spectralGap < 0.05)
    }
  },
  'clusters-24.json': {
    nodes: 24,
    model: 'cascade',
    check: (g) => {
      const labels = communityOf(24, 3)
      let inside = 0
      for (let i = 0; i < g.n; i++) for (let k = g.offsets[i]; k < g.offsets[i + 1]; k++) if (labels[i] === labels[g.neighbors[k]]) inside++
      assert.ok(inside / 2 > 0.75 * g.m, 'most edges stay inside a community')
    }
  },
  'malicious-ring-16.json': {
    nodes: 16,
    edges: 16,
    model: 'fixed',
    check: (g, t) => {
      assert.deepEqual(Array.from(degrees(g)), [5, 4, 4, 4, 4, ...Array(11).fill(1)])
      const byzantine = (topologySampler(t) as ByzantineSampler).sample()
      assert.deepEqual(Array.from(byzantine), [0, 0, 0, 0, 0, ...Array(11).fill(1)])
    }
  }
}

describe('example topologies', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort()

  test('every file in topologies/ has an expectation here, and every expectation a file', () => {
    assert.deepEqual(files, Object.keys(expectations).sort())
  })

  for (const file of files) {
    test(file, async () => {
      const topology = await readTopology(join(dir, file))
      const expected = expectations[file]
      const graph = topologyGraph(topology)
      assert.equal(topology.name, file.replace(/\.json$/, ''))
      assert.equal(graph.n, expected.nodes)
      if (expected.edges !== undefined) assert.equal(graph.m, expected.edges)
      assert.ok(isConnected(graph))
      assert.equal(topology.byzantine?.model, expected.model)
      assert.equal(typeof topology.description, 'string')
      const sampler = topologySampler(topology, { seed: 1 }) as ByzantineSampler
      assert.equal(sampler.sample().length, graph.n)
      expected.check(graph, topology)
    })
  }
})
