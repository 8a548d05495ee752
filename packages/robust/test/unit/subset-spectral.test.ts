import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { caf, cafWeights, filtering, filteringWeights, klProjectCapped, noRegret } from '../../src/aggregators/spectral.ts'
import { binomial, mda, mdaSelect, smea, smeaSelect } from '../../src/aggregators/subset.ts'
import type { WeightedAggregator } from '../../src/aggregators/weighted-mean.ts'
import { RobustInputError } from '../../src/errors.ts'
import { jsKernels } from '../../src/kernels/index.ts'
import { symmetricEigen } from '../../src/linalg.ts'
import { createRng, permutation } from '../../src/rng.ts'
import type { Rng } from '../../src/rng.ts'
import type { Vectors } from '../../src/types.ts'

const vecs = (rows: number[][]): Float32Array[] => rows.map((r) => Float32Array.from(r))

function gaussian (rng: Rng, n: number, d: number, spread = 1): Float32Array[] {
  return Array.from({ length: n }, () => Float32Array.from({ length: d }, () => spread * rng.normal()))
}

function meanOf (xs: Vectors, idx: ArrayLike<number>): Float64Array {
  const d = xs[0].length
  const m = new Float64Array(d)
  for (let t = 0; t < idx.length; t++) for (let j = 0; j < d; j++) m[j] += xs[idx[t]][j] / idx.length
  return m
}

function meanOfWeighted (xs: Vectors, q: ArrayLike<number>): Float64Array {
  const m = new Float64Array(xs[0].length)
  for (let i = 0; i < xs.length; i++) for (let j = 0; j < m.length; j++) m[j] += q[i] * xs[i][j]
  return m
}

function dist (a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0
  for (let j = 0; j < a.length; j++) s += (a[j] - b[j]) ** 2
  return Math.sqrt(s)
}

function closeVec (actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): void {
  assert.equal(actual.length, expected.length)
  for (let j = 0; j < expected.length; j++) {
    assert.ok(Math.abs(actual[j] - expected[j]) <= tol * Math.max(1, Math.abs(expected[j])), `coordinate ${j}: ${actual[j]} vs ${expected[j]}`)
  }
}

function * subsets (n: number, k: number, start = 0, acc: number[] = []): Generator<number[]> {
  if (acc.length === k) { yield acc.slice(); return }
  for (let i = start; i <= n - (k - acc.length); i++) {
    acc.push(i)
    yield * subsets(n, k, i + 1, acc)
    acc.pop()
  }
}

/** Top eigenvalue of the subset's d×d covariance, straight from the coordinates (not from distances). */
function covarianceTop (xs: Vectors, S: number[]): number {
  const d = xs[0].length
  const mu = meanOf(xs, S)
  const C = new Float64Array(d * d)
  for (const i of S) {
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) C[a * d + b] += (xs[i][a] - mu[a]) * (xs[i][b] - mu[b]) / S.length
  }
  return symmetricEigen(C, d).values[0]
}

function bruteMda (xs: Vectors, f: number): number[] {
  const n = xs.length
  let best: number[] = []; let bestDiam = Infinity; let bestSpread = Infinity
  for (const S of subsets(n, n - f)) {
    let diam = 0; let spread = 0
    for (const a of S) {
      for (const b of S) {
        if (a < b) { const q = dist(xs[a], xs[b]) ** 2; diam = Math.max(diam, q); spread += q }
      }
    }
    if (diam < bestDiam || (diam === bestDiam && spread < bestSpread)) { best = S; bestDiam = diam; bestSpread = spread }
  }
  return best
}

function bruteSmea (xs: Vectors, f: number): { subset: number[], value: number } {
  let best: number[] = []; let value = Infinity
  for (const S of subsets(xs.length, xs.length - f)) {
    const v = covarianceTop(xs, S)
    if (v < value) { value = v; best = S }
  }
  return { subset: best, value }
}

const allRules = (): WeightedAggregator[] => [mda(), smea(), caf(), filtering(), noRegret()]

describe('MDA and SMEA: hand-computed', () => {
  test('1-D: the far value is dropped', () => {
    const xs = vecs([[0], [1], [2], [10]])
    assert.deepEqual(mda().aggregate(xs, { f: 1 }), Float32Array.of(1))
    assert.deepEqual(smea().aggregate(xs, { f: 1 }), Float32Array.of(1))
  })

  test('2-D example where the two rules choose different subsets', () => {
    // P0 (−1, −1), P1 (3, −1), P2 (−2, 2), P3 (0, −1), P4 (2, 1), f = 1.
    // Squared diameters of the 4-subsets: without P2: 16 (P0–P1); without P1: 17 (P2–P4);
    // the other three contain P1 and P2: 34. MDA keeps {0, 1, 3, 4}: mean (1, −0.5).
    // Covariance of {0, 2, 3, 4} (mean (−¼, ¼)): [[2.1875, −0.1875], [−0.1875, 1.6875]], top
    // eigenvalue 1.9375 + √(0.25² + 0.1875²) = 2.25; of {0, 1, 3, 4}: [[2.1875, 0.625], [0.625, 0.75]],
    // top 1.46875 + √(0.71875² + 0.625²) ≈ 2.4212; the three others exceed 3.3. SMEA keeps {0, 2, 3, 4}.
    const xs = vecs([[-1, -1], [3, -1], [-2, 2], [0, -1], [2, 1]])
    const m = mda()
    assert.deepEqual(m.aggregate(xs, { f: 1 }), Float32Array.of(1, -0.5))
    assert.deepEqual(Array.from(m.lastSelection?.subset ?? []), [0, 1, 3, 4])
    assert.equal(m.lastSelection?.score, 16)
    const s = smea()
    assert.deepEqual(s.aggregate(xs, { f: 1 }), Float32Array.of(-0.25, 0.25))
    assert.deepEqual(Array.from(s.lastSelection?.subset ?? []), [0, 2, 3, 4])
    assert.ok(Math.abs((s.lastSelection?.score ?? 0) - 2.25) < 1e-12)
    assert.equal(s.lastSelection?.exact, true)
  })

  test('binomial coefficients', () => {
    assert.equal(binomial(5, 2), 10)
    assert.equal(binomial(32, 8), 10518300)
    assert.equal(binomial(4, 0), 1)
    assert.equal(binomial(3, 4), 0)
  })
})

describe('MDA and SMEA: exact search equals brute force', () => {
  test('random small instances (both SMEA search orders are exercised)', () => {
    const rng = createRng(2024)
    // (10, 1) and (12, 2) take the removal search, (9, 4) and (9, 3) the growing one.
    const shapes = [[5, 1], [6, 2], [7, 3], [9, 3], [9, 4], [10, 1], [10, 2], [12, 2], [11, 5]]
    for (const [n, f] of shapes) {
      for (const d of [1, 2, 5]) {
        const xs = gaussian(rng, n, d)
        const D = jsKernels.sqDistances(xs)
        const m = mdaSelect(D, n, f)
        assert.equal(m.exact, true)
        assert.deepEqual(Array.from(m.subset), bruteMda(xs, f), `mda n=${n} f=${f} d=${d}`)
        const s = smeaSelect(D, n, f)
        const brute = bruteSmea(xs, f)
        assert.equal(s.exact, true)
        assert.deepEqual(Array.from(s.subset), brute.subset, `smea n=${n} f=${f} d=${d}`)
        assert.ok(Math.abs(s.score - brute.value) <= 1e-6 * brute.value, `smea score ${s.score} vs ${brute.value}`)
      }
    }
  })

  test('integer coordinates, full of ties: the exact scores equal the brute-force optimum', () => {
    const rng = createRng(1)
    for (let trial = 0; trial < 400; trial++) {
      const n = 5 + (trial % 7); const f = 1 + (trial % Math.floor((n - 1) / 2)); const d = 1 + (trial % 3)
      const xs = Array.from({ length: n }, () => Float32Array.from({ length: d }, () => rng.int(7) - 3))
      const D = jsKernels.sqDistances(xs)
      const m = Array.from(mdaSelect(D, n, f).subset)
      const brute = bruteMda(xs, f)
      const key = (S: number[]): [number, number] => {
        let diam = 0; let spread = 0
        for (const a of S) for (const b of S) if (a < b) { diam = Math.max(diam, D[a * n + b]); spread += D[a * n + b] }
        return [diam, spread]
      }
      assert.deepEqual(key(m), key(brute), `mda trial ${trial}`)
      const s = smeaSelect(D, n, f)
      const best = bruteSmea(xs, f).value
      assert.ok(Math.abs(s.score - best) <= 1e-9 * Math.max(1, best), `smea trial ${trial}: ${s.score} vs ${best}`)
    }
  })

  test('the approximation stays within its guarantee (MDA: twice the optimal diameter)', () => {
    const rng = createRng(7)
    for (let trial = 0; trial < 20; trial++) {
      const n = 8 + (trial % 4); const f = 1 + (trial % 3)
      const xs = gaussian(rng, n, 3)
      const D = jsKernels.sqDistances(xs)
      const exact = mdaSelect(D, n, f)
      const approx = mdaSelect(D, n, f, 0)
      assert.equal(approx.exact, false)
      assert.ok(approx.score <= 4 * exact.score + 1e-12) // squared distances: (2·diameter)²
      const smeaApprox = smeaSelect(D, n, f, 0)
      assert.equal(smeaApprox.exact, false)
      assert.ok(smeaApprox.score >= smeaSelect(D, n, f).score * (1 - 1e-9))
    }
  })

  test('large n is approximated and labelled so (n = 32, f = 8)', () => {
    const rng = createRng(32)
    const xs = gaussian(rng, 32, 10)
    for (let i = 0; i < 8; i++) xs[i] = xs[i].map((v) => v + 1e6)
    for (const rule of [mda(), smea()]) {
      assert.equal(rule.exactFor(32, 8), false)
      assert.equal(rule.exactFor(10, 3), true)
      const before = rule.lastSelection
      assert.equal(before, undefined)
      const out = rule.aggregate(xs, { f: 8 })
      assert.equal(rule.lastSelection?.exact, false)
      assert.deepEqual(Array.from(rule.lastSelection?.subset ?? []), Array.from({ length: 24 }, (_, i) => i + 8))
      closeVec(out, meanOf(xs, Array.from({ length: 24 }, (_, i) => i + 8)), 1e-5)
    }
    assert.equal(mda({ exactLimit: 2e7 }).exactFor(32, 8), true)
  })
})

describe('CAF, Filtering, No-Regret: hand-computed', () => {
  // Inputs −1, 0, 1, 10 with f = 1. Uniform weights: mean 2.5, variance 19.25. Scores
  // τ = (x − 2.5)² = 12.25, 6.25, 2.25, 56.25, so c = (176, 200, 216, 0)/225 (total 2.63 > n − 2f).
  // Weighted mean (−176 + 216)/592 = 5/74, weighted variance ≈ 0.6576.
  const xs = vecs([[-1], [0], [1], [10]])

  test('Filtering stops at the second iterate (variance 0.658 ≤ ξ = 2 · 2/3) with mean 5/74', () => {
    const out = filtering().aggregate(xs, { f: 1 })
    assert.ok(Math.abs(out[0] - 5 / 74) < 1e-6, `${out[0]}`)
    const q = filteringWeights(jsKernels.sqDistances(xs), 4, 1, 4 / 3)
    closeVec(q, [176 / 592, 200 / 592, 216 / 592, 0], 1e-12)
  })

  test('Filtering with a tiny ξ is stopped by the n − 2f mass guard instead of peeling to one input', () => {
    // With ξ = 0 the next step would zero x = −1 and leave total weight 1.11 ≤ n − 2f = 2.
    const q = filteringWeights(jsKernels.sqDistances(xs), 4, 1, 0)
    closeVec(q, [176 / 592, 200 / 592, 216 / 592, 0], 1e-12)
  })

  test('CAF returns the iterate of smallest top eigenvalue (the second: 0.658 < 19.25)', () => {
    const out = caf().aggregate(xs, { f: 1 })
    assert.ok(Math.abs(out[0] - 5 / 74) < 1e-6, `${out[0]}`)
    closeVec(cafWeights(jsKernels.sqDistances(xs), 4, 1), [176 / 592, 200 / 592, 216 / 592, 0], 1e-12)
  })

  test('No-Regret: the pre-filter drops 10 (3 of its distances exceed 2·2·√ln 4 ≈ 4.7), then the variance 2/3 ≤ ξ', () => {
    assert.deepEqual(noRegret().aggregate(xs, { f: 1 }), Float32Array.of(0))
  })

  test('KL projection onto the capped simplex: scale, then cap the largest', () => {
    // q̃ = (4, 1, 1, 2), cap 0.4: scaling gives (0.5, …) > 0.4, so q₀ = 0.4 and the rest share 0.6
    // in proportion 1 : 1 : 2.
    closeVec(klProjectCapped(Float64Array.of(4, 1, 1, 2), 0.4), [0.4, 0.15, 0.15, 0.3], 1e-12)
    closeVec(klProjectCapped(Float64Array.of(1, 1, 2), 1), [0.25, 0.25, 0.5], 1e-12)
  })
})

/** The CAF / Filtering loop computed directly in d-space (d×d covariance), as a reference for the n-space code. */
function referenceFilter (xs: Vectors, f: number, mode: 'caf' | 'filtering', xi = 0): Float64Array {
  const n = xs.length; const d = xs[0].length
  const c = new Float64Array(n).fill(1)
  let best = new Float64Array(n); let bestValue = Infinity
  for (let round = 0; round <= n; round++) {
    const W = c.reduce((a, b) => a + b, 0)
    const p = c.map((x) => x / W)
    const mu = new Float64Array(d)
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mu[j] += p[i] * xs[i][j]
    const C = new Float64Array(d * d)
    for (let i = 0; i < n; i++) {
      for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) C[a * d + b] += p[i] * (xs[i][a] - mu[a]) * (xs[i][b] - mu[b])
    }
    const eig = symmetricEigen(C, d)
    const value = eig.values[0]
    if (mode === 'filtering' && value <= xi) return p
    if (value < bestValue) { bestValue = value; best = p }
    const tau = new Float64Array(n)
    let max = 0
    for (let i = 0; i < n; i++) {
      let proj = 0
      for (let j = 0; j < d; j++) proj += (xs[i][j] - mu[j]) * eig.vectors[j]
      tau[i] = proj * proj
      if (p[i] > 0) max = Math.max(max, tau[i])
    }
    if (value === 0 || max === 0) return mode === 'caf' ? best : p
    const next = c.map((ci, i) => Math.max(0, ci * (1 - tau[i] / max)))
    if (next.reduce((a, b) => a + b, 0) <= n - 2 * f) return mode === 'caf' ? best : p
    c.set(next)
  }
  return mode === 'caf' ? best : c.map((x) => x / c.reduce((a, b) => a + b, 0))
}

describe('CAF and Filtering against a d-space reference', () => {
  test('CAF keeps the iterate of smallest top eigenvalue, not the last one', () => {
    // Top eigenvalues of the iterates: 39.10, 22.06, 31.69: CAF must return the second.
    const xs = vecs([[9, -2], [-3, 1], [5, -2], [3, -8], [6, 9], [6, -2], [-4, 1], [-5, 10]])
    const q = cafWeights(jsKernels.sqDistances(xs), 8, 3)
    closeVec(q, referenceFilter(xs, 3, 'caf'), 1e-9)
    const mu = meanOfWeighted(xs, q)
    const C = new Float64Array(4)
    for (let i = 0; i < 8; i++) {
      for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) C[a * 2 + b] += q[i] * (xs[i][a] - mu[a]) * (xs[i][b] - mu[b])
    }
    const value = symmetricEigen(C, 2).values[0]
    assert.ok(Math.abs(value - 22.0553) < 1e-3, `top eigenvalue ${value}: not the smallest iterate`)
  })

  test('random instances: the n-space weights match the d-space loop', () => {
    const rng = createRng(77)
    for (const [n, f, d] of [[6, 2, 2], [9, 3, 3], [11, 4, 4], [15, 5, 2]]) {
      const xs = gaussian(rng, n, d)
      for (let i = 0; i < f; i++) xs[i] = xs[i].map((v) => 3 * v + 4)
      const D = jsKernels.sqDistances(xs)
      closeVec(cafWeights(D, n, f), referenceFilter(xs, f, 'caf'), 1e-7)
      closeVec(filteringWeights(D, n, f, 0.5), referenceFilter(xs, f, 'filtering', 0.5), 1e-7)
    }
  })
})

describe('properties of every rule', () => {
  test('permutation invariance', () => {
    const rng = createRng(99)
    for (const [n, f, d] of [[7, 2, 3], [10, 3, 20], [13, 4, 5]]) {
      const xs = gaussian(rng, n, d)
      // A couple of moderately far inputs make the filters actually work.
      xs[0] = xs[0].map((v) => v + 8)
      xs[1] = xs[1].map((v, j) => v - (j === 0 ? 10 : 0))
      const perm = permutation(n, rng)
      const shuffled = Array.from(perm, (i) => xs[i])
      for (const rule of allRules()) {
        const a = rule.aggregate(xs, { f })
        const b = rule.aggregate(shuffled, { f })
        closeVec(b, a, 1e-5)
      }
    }
  })

  test('identical inputs give that input', () => {
    const x = Float32Array.of(1.5, -2.25, 1e-3, 7)
    const xs = Array.from({ length: 9 }, () => x.slice())
    for (const rule of allRules()) {
      for (const f of [0, 2, 4]) assert.deepEqual(rule.aggregate(xs, { f }), x, `${rule.name} f=${f}`)
    }
  })

  test('f far outliers (1e6 to 1e30) are removed or bounded', () => {
    const rng = createRng(123)
    for (const [n, f, d] of [[5, 2, 4], [9, 4, 10], [12, 3, 50], [32, 8, 8]]) {
      for (const scale of [1e6, 1e12, 1e20, 1e30]) {
        for (const pattern of ['spread', 'same', 'axis']) {
          const xs = gaussian(rng, n, d)
          const honest = Array.from({ length: n - f }, (_, i) => i + f)
          const mu = meanOf(xs, honest)
          let radius = 0
          for (const i of honest) radius = Math.max(radius, dist(xs[i], mu))
          for (let i = 0; i < f; i++) {
            xs[i] = Float32Array.from({ length: d }, (_, j) =>
              pattern === 'same' ? scale : pattern === 'axis' ? (j === i % d ? scale * (i % 2 === 0 ? 1 : -1) : 0) : scale * rng.normal())
          }
          for (const rule of allRules()) {
            const out = rule.aggregate(xs, { f })
            assert.ok(out.every(Number.isFinite), `${rule.name}: non-finite output`)
            const err = dist(out, mu)
            assert.ok(err <= radius, `${rule.name} n=${n} f=${f} scale=${scale} ${pattern}: error ${err} > honest radius ${radius}`)
          }
        }
      }
    }
  })

  test('inputs are not modified, `out` is honoured, weights sum to 1', () => {
    const rng = createRng(4)
    const xs = gaussian(rng, 9, 6)
    xs[0] = xs[0].map((v) => v * 50)
    const copy = xs.map((x) => x.slice())
    for (const rule of allRules()) {
      const fresh = rule.aggregate(xs, { f: 2 })
      const out = new Float32Array(6)
      assert.equal(rule.aggregate(xs, { f: 2 }, out), out)
      assert.deepEqual(out, fresh)
      const q = rule.weights(xs, { f: 2 })
      assert.ok(Math.abs(q.reduce((a, b) => a + b, 0) - 1) < 1e-12)
      assert.ok(q.every((w) => w >= 0))
      assert.deepEqual(xs, copy)
    }
  })
})

describe('errors', () => {
  test('n ≤ 2f is refused', () => {
    const xs = vecs([[0], [1], [2], [3]])
    for (const rule of allRules()) {
      assert.throws(() => rule.aggregate(xs, { f: 2 }), (e: unknown) => e instanceof RobustInputError && e.code === 'too-few-inputs')
      assert.equal(rule.minInputs(2), 5)
    }
    assert.throws(() => mdaSelect(jsKernels.sqDistances(xs), 4, 2), RobustInputError)
    assert.throws(() => smeaSelect(new Float64Array(3), 4, 1), RobustInputError)
  })

  test('bad parameters are refused in the factory', () => {
    const bad = (make: () => unknown): void => {
      assert.throws(make, (e: unknown) => e instanceof RobustInputError && e.code === 'bad-parameter')
    }
    bad(() => mda({ exactLimit: -1 }))
    bad(() => smea({ exactLimit: 1.5 }))
    bad(() => caf({ bound: -1 }))
    bad(() => filtering({ xi: Number.NaN }))
    bad(() => filtering({ xiFactor: 0 }))
    bad(() => noRegret({ eta: 1 }))
    bad(() => noRegret({ eta: 0 }))
    bad(() => noRegret({ maxIter: 0 }))
    bad(() => noRegret({ prefilter: -2 }))
  })

  test('non-finite inputs are refused', () => {
    const xs = vecs([[0], [1], [Number.NaN]])
    for (const rule of allRules()) {
      assert.throws(() => rule.aggregate(xs, { f: 1 }), (e: unknown) => e instanceof RobustInputError && e.code === 'non-finite')
    }
  })
})
