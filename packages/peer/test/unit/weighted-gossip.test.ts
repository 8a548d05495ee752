import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { defaultIds, degree, denseMixingMatrix, graphFromEdges, isConnected, metropolisHastings } from '@murmur/topology'
import { RoundEngine } from '../../src/round/engine.ts'
import { createQuadraticLearner } from '../../src/round/learner.ts'
import { createMemoryHub } from '../../src/net/memory-transport.ts'
import type { RoundMetrics } from '../../src/round/types.ts'

// One round of D-SGD with no local steps is one mixing step x ← W x. On an irregular graph the
// Metropolis–Hastings W differs from the plain neighbourhood average, so this checks that the
// engine's weights reach rule `mean` and that each node computes exactly its row of W.

/** A star centre p0 with leaves p1, p2, p3, and a path p3 – p4 – p5 hanging off p3: degrees 3, 1, 1, 2, 2, 1. */
function starWithTail (): ReturnType<typeof graphFromEdges> {
  return graphFromEdges(defaultIds(6), [0, 0, 0, 3, 4], [1, 2, 3, 4, 5])
}

describe('weighted gossip through the round engine', () => {
  test('one round of rule mean with Metropolis weights gives (W·X)_i on an irregular graph', async () => {
    const g = starWithTail()
    assert.ok(isConnected(g))
    assert.deepEqual(g.ids.map((_, i) => degree(g, i)), [3, 1, 1, 2, 2, 1])
    const n = g.n
    const d = 3
    // Distinct rows, far enough apart that a wrong weight shows well above float32 rounding.
    const X = g.ids.map((_, i) => Float32Array.from({ length: d }, (_, k) => (i + 1) * (k === 0 ? 1 : k === 1 ? -3 : 0.5) + 10 * k))
    const hub = createMemoryHub({ dimension: d })
    const after = new Map<string, Float32Array>()
    const metrics: RoundMetrics[] = []
    const engines = g.ids.map((id, i) => {
      const neighbours: string[] = []
      const neighbourDegrees: number[] = []
      for (let k = g.offsets[i]; k < g.offsets[i + 1]; k++) {
        neighbours.push(g.ids[g.neighbors[k]])
        neighbourDegrees.push(degree(g, g.neighbors[k]))
      }
      return new RoundEngine({
        self: id,
        neighbours,
        neighbourDegrees,
        transport: hub.transport(id),
        // The target plays no part: with no local steps the model is only mixed.
        learner: createQuadraticLearner({ target: new Float32Array(d), initial: X[i] }),
        rule: 'mean',
        tolerance: { kind: 'global', f: 0 },
        localSteps: 0,
        roundTimeoutMs: 2000,
        rounds: 1,
        swarm: hub.swarm,
        metrics: (m) => { metrics.push(m) },
        onRound: (_, params) => { after.set(id, params) }
      })
    })
    await Promise.all(engines.map(async (engine) => await engine.run()))

    // Every node mixed all of its neighbours' models at full tolerance.
    assert.equal(metrics.length, n)
    for (const m of metrics) {
      assert.equal(m.mix, 'ok', m.node)
      assert.equal(m.received, degree(g, g.index.get(m.node) as number), m.node)
    }

    const W = denseMixingMatrix(metropolisHastings(g))
    let plainDiffers = false
    for (let i = 0; i < n; i++) {
      const got = after.get(g.ids[i])
      assert.ok(got !== undefined, g.ids[i])
      const expected = new Float64Array(d)
      for (let j = 0; j < n; j++) for (let k = 0; k < d; k++) expected[k] += W[i * n + j] * X[j][k]
      for (let k = 0; k < d; k++) {
        const scale = Math.max(1, Math.abs(expected[k]))
        assert.ok(Math.abs(got[k] - expected[k]) <= 1e-5 * scale, `${g.ids[i]} coordinate ${k}: ${got[k]}, (W·X) = ${expected[k]}`)
      }
      // The unweighted neighbourhood average, what `mean` gave before it read the weights.
      const members = [i, ...g.neighbors.subarray(g.offsets[i], g.offsets[i + 1])]
      for (let k = 0; k < d; k++) {
        const plain = members.reduce((s, j) => s + X[j][k], 0) / members.length
        if (Math.abs(plain - expected[k]) > 1e-3 * Math.max(1, Math.abs(expected[k]))) plainDiffers = true
      }
    }
    assert.ok(plainDiffers, 'on this graph the weighted and the plain average must differ, or the test proves nothing')
  })
})
