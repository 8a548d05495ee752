import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { monna } from '../../src/aggregators/monna.ts'
import { createRule } from '../../src/compose.ts'
import { alphaGossip, gossipAggregate, metropolisWeights, mixMetropolis, robustMix } from '../../src/gossip.ts'
import { createRng } from '../../src/rng.ts'

const vec = (...v: number[]): Float32Array => Float32Array.from(v)

function assertClose (actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-6): void {
  assert.equal(actual.length, expected.length)
  for (let j = 0; j < expected.length; j++) {
    assert.ok(Math.abs(actual[j] - expected[j]) <= tol * Math.max(1, Math.abs(expected[j])), `coordinate ${j}: ${actual[j]} vs ${expected[j]}`)
  }
}

// Triangle 0-1-2 with a pendant 3 on node 0: degrees 3, 2, 2, 1.
const adjacency = [[1, 2, 3], [0, 2], [0, 1], [0]]
const degree = adjacency.map((a) => a.length)

/** The full W from each node's row. */
function metropolisMatrix (): number[][] {
  const W = adjacency.map(() => new Array<number>(adjacency.length).fill(0))
  adjacency.forEach((nbrs, i) => {
    const w = metropolisWeights(degree[i], nbrs.map((j) => degree[j]))
    W[i][i] = w[0]
    nbrs.forEach((j, t) => { W[i][j] = w[t + 1] })
  })
  return W
}

describe('Metropolis–Hastings weights', () => {
  test('hand-computed rows: W_ij = 1/(1 + max(d_i, d_j)), W_ii = 1 − Σ', () => {
    assert.deepEqual(Array.from(metropolisWeights(3, [2, 2, 1])), [0.25, 0.25, 0.25, 0.25])
    assertClose(metropolisWeights(2, [3, 2]), [5 / 12, 1 / 4, 1 / 3], 1e-15)
    assertClose(metropolisWeights(1, [3]), [3 / 4, 1 / 4], 1e-15)
  })

  test('the matrix of a small graph is symmetric with rows and columns summing to 1', () => {
    const W = metropolisMatrix()
    for (let i = 0; i < 4; i++) {
      assert.ok(Math.abs(W[i].reduce((a, b) => a + b, 0) - 1) < 1e-15)
      assert.ok(Math.abs(W.reduce((a, row) => a + row[i], 0) - 1) < 1e-15)
      for (let j = 0; j < 4; j++) assert.equal(W[i][j], W[j][i])
    }
  })

  test('a neighbour missing this round leaves its share on the self weight', () => {
    assertClose(metropolisWeights(3, [2, 2]), [0.5, 0.25, 0.25], 1e-15)
  })

  test('inconsistent degrees are refused', () => {
    assert.throws(() => metropolisWeights(1, [2, 2]), /degreeSelf/)
    assert.throws(() => metropolisWeights(2, [0, 2]), /degree of neighbour 0/)
    assert.throws(() => metropolisWeights(2, [1.5]), /degree of neighbour 0/)
  })
})

describe('plain mixing', () => {
  test('mixMetropolis computes Σ_j W_ij x_j', () => {
    const out = mixMetropolis(vec(1, 0), [vec(3, 4), vec(-1, 8)], [0.5, 0.25, 0.25])
    assertClose(out, [1, 3])
  })

  test('repeated MH rounds keep the average and reach consensus on it', () => {
    const W = metropolisMatrix()
    const rng = createRng(3)
    let x: Float32Array[] = adjacency.map(() => Float32Array.from({ length: 3 }, () => rng.normal()))
    const avg = [0, 1, 2].map((j) => x.reduce((a, v) => a + v[j], 0) / 4)
    for (let t = 0; t < 200; t++) {
      x = adjacency.map((nbrs, i) => mixMetropolis(x[i], nbrs.map((j) => x[j]), [W[i][i], ...nbrs.map((j) => W[i][j])]))
    }
    for (const v of x) assertClose(v, avg, 1e-5)
  })

  test('weights must match the inputs', () => {
    assert.throws(() => mixMetropolis(vec(1), [vec(2)], [1]), /1 weights for 2 inputs/)
    assert.throws(() => mixMetropolis(vec(1), [vec(2)], [0.5, NaN]), /weight 1 is NaN/)
  })

  test('α-gossip: θ_i − α Σ_j (θ_i − θ_j), hand-computed', () => {
    // (1,1) − 0.25·[(1−3, 1−1) + (1−1, 1−5)] = (1,1) + (0.5, 1)
    const out = alphaGossip(vec(1, 1), [vec(3, 1), vec(1, 5)], 0.25)
    assertClose(out, [1.5, 2])
    const into = new Float32Array(2)
    assert.equal(alphaGossip(vec(1, 1), [vec(3, 1), vec(1, 5)], 0, into), into)
    assertClose(into, [1, 1])
    assert.throws(() => alphaGossip(vec(1), [vec(2)], -0.1), /alpha must be/)
  })
})

describe('robust gossip', () => {
  const own = vec(0)
  const neighbours = [vec(1), vec(2), vec(100), vec(-50)]

  test('gossipAggregate puts own first as the pivot and uses the per-call f', () => {
    // MoNNA centres on the pivot: with f = 2 the 3 inputs nearest 0 are 0, 1, 2.
    assertClose(gossipAggregate(monna(), own, neighbours, 2), [1])
    // With f = 1 the 4 nearest are 0, 1, 2, −50.
    assertClose(gossipAggregate(monna(), own, neighbours, 1), [-11.75])
    // Centred on the neighbour 100 instead, the answer would differ: the pivot really is own.
    assertClose(gossipAggregate(monna(), vec(100), [vec(1), vec(2), own, vec(-50)], 2), [103 / 3])
  })

  test('weights must have one entry per input, own first', () => {
    assert.throws(() => gossipAggregate(monna(), own, neighbours, 1, { weights: [1, 1] }), /2 weights for 5 inputs/)
  })

  test('composed rules run in gossip form too', () => {
    const out = gossipAggregate(createRule('clip(c=10)+monna'), own, neighbours, 2)
    assertClose(out, [1])
  })

  test('robustMix blends own and the robust aggregate by η (default 1)', () => {
    assertClose(robustMix(monna(), own, neighbours, 2), [1])
    assertClose(robustMix(monna(), vec(4), [vec(1), vec(2), vec(100), vec(-50)], 2, { eta: 0.5 }), [2 + 7 / 6])
    const out = new Float32Array(1)
    assert.equal(robustMix(monna(), own, neighbours, 2, { eta: 0.25, out }), out)
    assertClose(out, [0.25])
    assert.throws(() => robustMix(monna(), own, neighbours, 2, { eta: 1.5 }), /eta must be in \[0, 1\]/)
  })
})
