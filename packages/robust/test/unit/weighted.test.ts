import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { filtering } from '../../src/aggregators/spectral.ts'
import { mda } from '../../src/aggregators/subset.ts'
import type { WeightedAggregator } from '../../src/aggregators/weighted-mean.ts'
import { fedlaw, pawbrofl, pawbroflWeights, projectSparseCappedSimplex } from '../../src/aggregators/weighted.ts'
import { RobustInputError } from '../../src/errors.ts'
import { createRng, permutation } from '../../src/rng.ts'
import type { Rng } from '../../src/rng.ts'
import type { Aggregator, AggregateOptions, Vectors } from '../../src/types.ts'

const vecs = (rows: number[][]): Float32Array[] => rows.map((r) => Float32Array.from(r))

function closeVec (actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): void {
  assert.equal(actual.length, expected.length)
  for (let j = 0; j < expected.length; j++) {
    assert.ok(Math.abs(actual[j] - expected[j]) <= tol * Math.max(1, Math.abs(expected[j])), `entry ${j}: ${actual[j]} vs ${expected[j]}`)
  }
}

function norm (x: ArrayLike<number>): number {
  let s = 0
  for (let j = 0; j < x.length; j++) s += x[j] * x[j]
  return Math.sqrt(s)
}

function gaussian (rng: Rng, n: number, d: number): Float32Array[] {
  return Array.from({ length: n }, () => Float32Array.from({ length: d }, () => rng.normal()))
}

/** A base rule with fixed weights, to check eq. 8–9 in isolation. */
function fixedWeights (q: number[]): WeightedAggregator {
  const weights = (_inputs: Vectors, _options: AggregateOptions): Float64Array => Float64Array.from(q)
  return {
    name: 'fixed',
    minInputs: () => 1,
    weights,
    aggregate: () => { throw new Error('not used') }
  }
}

const isCode = (code: string) => (e: unknown): boolean => e instanceof RobustInputError && e.code === code

/** Capped-simplex projection by bisection on the shift τ (independent of the sorting method). */
function bisectCapped (y: number[], t: number): number[] {
  let lo = Math.min(...y) - t - 1; let hi = Math.max(...y) + 1
  const phi = (tau: number): number => y.reduce((s, v) => s + Math.min(t, Math.max(0, v - tau)), 0)
  for (let it = 0; it < 200; it++) {
    const mid = (lo + hi) / 2
    if (phi(mid) > 1) lo = mid; else hi = mid
  }
  return y.map((v) => Math.min(t, Math.max(0, v - (lo + hi) / 2)))
}

function * subsets (n: number, k: number, start = 0, acc: number[] = []): Generator<number[]> {
  if (acc.length === k) { yield acc.slice(); return }
  for (let i = start; i <= n - (k - acc.length); i++) {
    acc.push(i)
    yield * subsets(n, k, i + 1, acc)
    acc.pop()
  }
}

describe('projectSparseCappedSimplex', () => {
  test('hand-solved vectors', () => {
    // No cap active: shift τ = (0.8 − 1)/3, the smallest entry is dropped by sparsity.
    closeVec(projectSparseCappedSimplex([0.5, 0.2, 0.1, -1], 3, 1), [0.5 + 1 / 15, 0.2 + 1 / 15, 0.1 + 1 / 15, 0], 1e-12)
    // Cap 0.6 binds on 3; the rest (1, 0) share 0.4 with τ = 0.6, which zeroes the 0.
    closeVec(projectSparseCappedSimplex([3, 1, 0, 0], 3, 0.6), [0.6, 0.4, 0, 0], 1e-12)
    // Ties keep the lower indices.
    closeVec(projectSparseCappedSimplex([1, 1, 1, 1], 2, 0.75), [0.5, 0.5, 0, 0], 1e-12)
    // s·t = 1: the only feasible point is uniform on the support (1/49 · 49 rounds below 1).
    closeVec(projectSparseCappedSimplex([5, 4, 3, 2, 1], 4, 0.25), [0.25, 0.25, 0.25, 0.25, 0], 1e-12)
    const w = projectSparseCappedSimplex(Array.from({ length: 50 }, (_, i) => -i), 49, 1 / 49)
    assert.equal(w[49], 0)
    closeVec(w.subarray(0, 49), new Array(49).fill(1 / 49), 1e-12)
  })

  test('matches brute force over every support on random vectors', () => {
    const rng = createRng(31)
    for (let trial = 0; trial < 60; trial++) {
      const n = 2 + (trial % 6)
      const s = 1 + rng.int(n)
      const t = (1 / s) * (1 + rng.next() * 2)
      const v = Array.from({ length: n }, () => rng.normal() * (trial % 3 === 0 ? 5 : 0.5))
      const w = projectSparseCappedSimplex(v, s, t)
      assert.ok(Math.abs(w.reduce((a, b) => a + b, 0) - 1) < 1e-12, 'sums to 1')
      assert.ok(w.every((x) => x >= 0 && x <= t + 1e-15), 'within [0, t]')
      assert.ok(w.filter((x) => x > 0).length <= s, 'at most s non-zeros')
      let bestCost = Infinity
      for (const S of subsets(n, s)) {
        const p = bisectCapped(S.map((i) => v[i]), t)
        let cost = 0
        for (let i = 0; i < n; i++) {
          const k = S.indexOf(i)
          cost += (v[i] - (k >= 0 ? p[k] : 0)) ** 2
        }
        bestCost = Math.min(bestCost, cost)
      }
      const ours = v.reduce((acc, vi, i) => acc + (vi - w[i]) ** 2, 0)
      assert.ok(Math.abs(ours - bestCost) <= 1e-9 * Math.max(1, bestCost), `trial ${trial}: ${ours} vs ${bestCost}`)
    }
  })

  test('errors: s·t < 1, bad s, bad t, non-finite entries', () => {
    assert.throws(() => projectSparseCappedSimplex([1, 2, 3], 2, 0.4), isCode('bad-parameter'))
    assert.throws(() => projectSparseCappedSimplex([1, 2, 3], 4, 1), isCode('bad-parameter'))
    assert.throws(() => projectSparseCappedSimplex([1, 2, 3], 0, 1), isCode('bad-parameter'))
    assert.throws(() => projectSparseCappedSimplex([1, 2, 3], 2, 0), isCode('bad-parameter'))
    assert.throws(() => projectSparseCappedSimplex([1, Number.NaN, 3], 2, 1), isCode('non-finite'))
  })
})

describe('PAwBRoFL', () => {
  // q = (0.5, 0.3, 0.2, 0), gaps = (0, 1, 2, 5), μ = 0.1.
  const q = [0.5, 0.3, 0.2, 0]
  const gaps = [0, 1, 2, 5]
  const xs = vecs([[2, 0], [0, 2], [1, 1], [100, 100]])

  test('eq. 8 weights, worked by hand', () => {
    // low-gap: z = −q·gap/μ = (0, −3, −4, 0); softmax denominator 2 + e⁻³ + e⁻⁴ = 2.068103.
    closeVec(pawbroflWeights(q, gaps, 0.1), [0.5 / 2.068103, 0.3 * Math.exp(-3) / 2.068103, 0.2 * Math.exp(-4) / 2.068103, 0], 1e-6)
    closeVec(pawbroflWeights(q, gaps, 0.1), [0.24176749, 0.00722214, 0.00177125, 0], 1e-6)
    // high-gap (eq. 8 verbatim): z = (0, 3, 4, 0); denominator 2 + e³ + e⁴ = 76.683693.
    closeVec(pawbroflWeights(q, gaps, 0.1, 'high-gap'), [0.00652029, 0.07857813, 0.14239834, 0], 1e-6)
  })

  test('eq. 9 output: the loss-aware direction with the robust norm', () => {
    // g_BR = Σ q x = (1.2, 0.8), ‖g_BR‖ = √2.08. g_PABR ∝ (2a₀ + a₂, 2a₁ + a₂) = (0.485307, 0.016216).
    const out = pawbrofl({ mu: 0.1, base: fixedWeights(q) }).aggregate(xs, { f: 1, lossGaps: gaps })
    closeVec(out, [1.44141612, 0.048162], 1e-6)
    assert.ok(Math.abs(norm(out) - Math.sqrt(2.08)) < 1e-6)
    const worst = pawbrofl({ mu: 0.1, base: fixedWeights(q), prefer: 'high-gap' }).aggregate(xs, { f: 1, lossGaps: gaps })
    closeVec(worst, [0.66426383, 1.28013811], 1e-6)
  })

  test('default base (filtering): an outlier stays dropped, the norm is the robust one, lower gaps pull harder', () => {
    const rng = createRng(3)
    const honest = gaussian(rng, 8, 5).map((x) => x.map((v) => 10 + v))
    const inputs = [Float32Array.from({ length: 5 }, () => 1e8), ...honest]
    const robust = filtering().aggregate(inputs, { f: 1 })
    const flat = pawbrofl().aggregate(inputs, { f: 1, lossGaps: new Array(9).fill(0) })
    closeVec(flat, robust, 1e-6) // equal gaps: the plain robust aggregate
    const lossGaps = [0, 0, 5, 5, 5, 5, 5, 5, 5] // the outlier (0) and input 1 look best
    const out = pawbrofl({ mu: 0.01 }).aggregate(inputs, { f: 1, lossGaps })
    assert.ok(Math.abs(norm(out) - norm(robust)) < 1e-4 * norm(robust))
    assert.ok(out.every((v) => Math.abs(v) < 100), 'the dropped outlier has no weight')
    const toFavoured = (x: Float32Array): number => Math.hypot(...Array.from(x, (v, j) => v - honest[0][j]))
    assert.ok(toFavoured(out) < toFavoured(robust), 'moves toward the low-gap input')
    const gentle = pawbrofl({ mu: 1e6 }).aggregate(inputs, { f: 1, lossGaps })
    closeVec(gentle, robust, 1e-5) // large μ: back to the base rule
  })

  test('permutation invariance (gaps permuted with the inputs), out honoured, inputs untouched', () => {
    const rng = createRng(12)
    const inputs = gaussian(rng, 9, 4)
    const lossGaps = Array.from({ length: 9 }, () => rng.next())
    const copy = inputs.map((x) => x.slice())
    const rule = pawbrofl({ mu: 0.05 })
    const a = rule.aggregate(inputs, { f: 2, lossGaps })
    const perm = permutation(9, rng)
    const b = rule.aggregate(Array.from(perm, (i) => inputs[i]), { f: 2, lossGaps: Array.from(perm, (i) => lossGaps[i]) })
    closeVec(b, a, 1e-5)
    const out = new Float32Array(4)
    assert.equal(rule.aggregate(inputs, { f: 2, lossGaps }, out), out)
    assert.deepEqual(out, a)
    assert.deepEqual(inputs, copy)
  })

  test('identical inputs give that input; other weighted bases work', () => {
    const x = Float32Array.of(3, -1, 0.5)
    const inputs = Array.from({ length: 5 }, () => x.slice())
    closeVec(pawbrofl().aggregate(inputs, { f: 2, lossGaps: [0, 1, 2, 3, 4] }), x, 1e-6)
    closeVec(pawbrofl({ base: mda() }).aggregate(inputs, { f: 1, lossGaps: [0, 1, 2, 3, 4] }), x, 1e-6)
  })

  test('errors: lossGaps missing, wrong length or non-finite; bad μ, preference or base; n ≤ 2f', () => {
    const rule = pawbrofl()
    assert.throws(() => rule.aggregate(xs, { f: 1 }), isCode('bad-parameter'))
    assert.throws(() => rule.aggregate(xs, { f: 1, lossGaps: [0, 1] }), isCode('dimension-mismatch'))
    assert.throws(() => rule.aggregate(xs, { f: 1, lossGaps: [0, 1, Number.NaN, 2] }), isCode('non-finite'))
    assert.throws(() => rule.aggregate(xs, { f: 2, lossGaps: gaps }), isCode('too-few-inputs'))
    assert.throws(() => pawbrofl({ mu: 0 }), isCode('bad-parameter'))
    assert.throws(() => pawbrofl({ mu: Number.POSITIVE_INFINITY }), isCode('bad-parameter'))
    assert.throws(() => pawbrofl({ prefer: 'best' as 'low-gap' }), isCode('bad-parameter'))
    const plain: Aggregator = { name: 'plain', minInputs: () => 1, aggregate: (_i, _o, out) => out ?? new Float32Array(1) }
    assert.throws(() => pawbrofl({ base: plain }), isCode('bad-parameter'))
  })
})

describe('FedLAW', () => {
  const xs = vecs([[0], [1], [2], [100]])
  const lossGaps = [0.1, 0.2, 0.3, 5]

  test('hand-computed weights and outputs', () => {
    // s = n − f = 3, t = 2/3, v = −gap: the projection of (−0.1, −0.2, −0.3) shifts by −8/15:
    // w = (13/30, 10/30, 7/30, 0), output 10/30 + 14/30 = 0.8.
    closeVec(fedlaw().weights(xs, { f: 1, lossGaps }), [13 / 30, 1 / 3, 7 / 30, 0], 1e-12)
    closeVec(fedlaw().aggregate(xs, { f: 1, lossGaps }), [0.8], 1e-6)
    // β = 10: v = (−1, −2, −3); the cap 2/3 binds on the first, the second gets 1/3, the third 0.
    closeVec(fedlaw({ beta: 10 }).weights(xs, { f: 1, lossGaps }), [2 / 3, 1 / 3, 0, 0], 1e-12)
    // t = 1/s: uniform over the s lowest gaps.
    closeVec(fedlaw({ t: 1 / 3 }).aggregate(xs, { f: 1, lossGaps }), [1], 1e-6)
    closeVec(fedlaw({ s: 2, t: 0.5 }).aggregate(xs, { f: 1, lossGaps }), [0.5], 1e-6)
  })

  test('high-loss far inputs get no weight; permutation invariance; out honoured', () => {
    const rng = createRng(8)
    const honest = gaussian(rng, 9, 6)
    const inputs = [...honest, ...Array.from({ length: 4 }, () => Float32Array.from({ length: 6 }, () => 1e30))]
    const gaps = [...Array.from({ length: 9 }, () => rng.next()), 50, 60, 70, 80]
    const rule = fedlaw()
    const a = rule.aggregate(inputs, { f: 4, lossGaps: gaps })
    assert.ok(a.every((v) => Math.abs(v) < 10))
    const perm = permutation(13, rng)
    const b = rule.aggregate(Array.from(perm, (i) => inputs[i]), { f: 4, lossGaps: Array.from(perm, (i) => gaps[i]) })
    closeVec(b, a, 1e-6)
    const out = new Float32Array(6)
    assert.equal(rule.aggregate(inputs, { f: 4, lossGaps: gaps }, out), out)
    assert.deepEqual(out, a)
  })

  test('errors: lossGaps missing or bad, s·t < 1, s > n, bad parameters, n ≤ 2f', () => {
    assert.throws(() => fedlaw().aggregate(xs, { f: 1 }), isCode('bad-parameter'))
    assert.throws(() => fedlaw().aggregate(xs, { f: 1, lossGaps: [1, 2, 3] }), isCode('dimension-mismatch'))
    assert.throws(() => fedlaw().aggregate(xs, { f: 1, lossGaps: [1, 2, 3, Number.POSITIVE_INFINITY] }), isCode('non-finite'))
    assert.throws(() => fedlaw().aggregate(xs, { f: 2, lossGaps }), isCode('too-few-inputs'))
    assert.throws(() => fedlaw({ s: 2, t: 0.4 }), isCode('bad-parameter'))
    assert.throws(() => fedlaw({ t: 0.1 }).aggregate(xs, { f: 1, lossGaps }), isCode('bad-parameter'))
    assert.throws(() => fedlaw({ s: 5 }).aggregate(xs, { f: 1, lossGaps }), isCode('bad-parameter'))
    assert.throws(() => fedlaw({ s: 0 }), isCode('bad-parameter'))
    assert.throws(() => fedlaw({ capFactor: 0.5 }), isCode('bad-parameter'))
    assert.throws(() => fedlaw({ beta: -1 }), isCode('bad-parameter'))
  })
})
