import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { cwmed, cwtm, meamed } from '../../src/aggregators/coordinatewise.ts'
import { mean } from '../../src/aggregators/mean.ts'
import { createRng, jsKernels, kernels, permutation, RobustInputError, useKernels, wasmKernels } from '../../src/index.ts'
import type { Aggregator, Kernels, Rng } from '../../src/index.ts'

const implementations: Kernels[] = [jsKernels]
const wasm = wasmKernels()
if (wasm !== undefined) implementations.push(wasm)

/** Runs fn with the given kernels active, then restores the previous ones. */
function withKernels (k: Kernels, fn: () => void): void {
  const previous = kernels()
  useKernels(k)
  try { fn() } finally { useKernels(previous) }
}

function randomInputs (n: number, d: number, rng: Rng): Float32Array[] {
  return Array.from({ length: n }, () => Float32Array.from({ length: d }, () => rng.normal()))
}

const vec = (...v: number[]): Float32Array => Float32Array.from(v)
const robustRules = (): Aggregator[] => [cwmed(), cwtm(), meamed()]

// Seed 001, "From Classic to Robust Mini-Batch GD": d = 2, n = 5, f = 1, the gradients are the
// columns of [[2, 3, 2, 1, 12], [5, 6, 4, 5, 0]].
const seedExample = (): Float32Array[] => [vec(2, 5), vec(3, 6), vec(2, 4), vec(1, 5), vec(12, 0)]

for (const k of implementations) {
  describe(`coordinate-wise rules (${k.name} kernels)`, () => {
    test('seed 001 example: CWMed = (2, 5), Avg = (4, 4), CWTM = (2.33, 4.67), MeaMed = (2, 5)', () => {
      withKernels(k, () => {
        const inputs = seedExample()
        const options = { f: 1 }
        assert.deepEqual(Array.from(cwmed().aggregate(inputs, options)), [2, 5])
        assert.deepEqual(Array.from(mean().aggregate(inputs, options)), [4, 4])
        // coordinate 1: drop 1 and 12, (2 + 2 + 3) / 3; coordinate 2: drop 0 and 6, (4 + 5 + 5) / 3
        const tm = cwtm().aggregate(inputs, options)
        assert.deepEqual(Array.from(tm), [Math.fround(7 / 3), Math.fround(14 / 3)])
        assert.deepEqual(Array.from(tm, (v) => Math.round(v * 100) / 100), [2.33, 4.67])
        // the 4 values nearest the median 2 are {2, 2, 3, 1} (12 is out); nearest 5: {5, 5, 6, 4}
        assert.deepEqual(Array.from(meamed().aggregate(inputs, options)), [2, 5])
      })
    })

    test('even n: the median averages the two middle values; trimming and MeaMed by hand', () => {
      withKernels(k, () => {
        // coordinate values: (1, 4, 2, 10) and (-3, -1, 0, 7); f = 1
        const inputs = [vec(1, -3), vec(4, -1), vec(2, 0), vec(10, 7)]
        assert.deepEqual(Array.from(cwmed().aggregate(inputs, { f: 1 })), [3, -0.5])
        assert.deepEqual(Array.from(cwtm().aggregate(inputs, { f: 1 })), [3, -0.5])
        // median 3: distances 2, 1, 1, 7 → keep {1, 4, 2}; median −0.5: 2.5, 0.5, 0.5, 7.5 → {−3, −1, 0}
        assert.deepEqual(Array.from(meamed().aggregate(inputs, { f: 1 })), [7 / 3, -4 / 3].map(Math.fround))
      })
    })

    test('with f = 0, CWTM and MeaMed are the mean', () => {
      withKernels(k, () => {
        const inputs = randomInputs(6, 41, createRng(11))
        const m = mean().aggregate(inputs, { f: 0 })
        for (const rule of [cwtm(), meamed()]) {
          const r = rule.aggregate(inputs, { f: 0 })
          for (let j = 0; j < m.length; j++) assert.ok(Math.abs(r[j] - m[j]) <= 1e-6, `${rule.name} coordinate ${j}`)
        }
      })
    })

    test('permutation invariance', () => {
      withKernels(k, () => {
        const rng = createRng(12)
        for (const [n, f] of [[5, 2], [9, 2], [16, 5]]) {
          const inputs = randomInputs(n, 37, rng)
          const shuffled = Array.from(permutation(n, rng), (i) => inputs[i])
          for (const rule of robustRules()) {
            assert.deepEqual(rule.aggregate(shuffled, { f }), rule.aggregate(inputs, { f }), `${rule.name} n=${n}`)
          }
          const a = mean().aggregate(inputs, { f })
          const b = mean().aggregate(shuffled, { f })
          for (let j = 0; j < a.length; j++) assert.ok(Math.abs(a[j] - b[j]) <= 1e-6, `mean coordinate ${j}`)
        }
      })
    })

    test('identical inputs return that input', () => {
      withKernels(k, () => {
        const x = Float32Array.from(randomInputs(1, 29, createRng(13))[0], (v) => v * 1e3)
        const inputs = Array.from({ length: 7 }, () => Float32Array.from(x))
        for (const rule of robustRules()) assert.deepEqual(rule.aggregate(inputs, { f: 3 }), x, rule.name)
        const m = mean().aggregate(inputs, { f: 3 })
        for (let j = 0; j < x.length; j++) assert.ok(Math.abs(m[j] - x[j]) <= 1e-6 * Math.abs(x[j]), `mean coordinate ${j}`)
      })
    })

    test('f huge outliers (±1e30) cannot move the robust rules outside the honest range', () => {
      withKernels(k, () => {
        const rng = createRng(14)
        for (const [n, f] of [[3, 1], [11, 5], [12, 5], [32, 8]]) {
          const d = 53
          const honest = randomInputs(n - f, d, rng)
          for (const sign of [1, -1, 0]) {
            const byzantine = Array.from({ length: f }, (_, b) =>
              new Float32Array(d).fill((sign === 0 ? (b % 2 === 0 ? 1 : -1) : sign) * 1e30))
            // Byzantine inputs first, so a rule that trusts position cannot pass
            const inputs = [...byzantine, ...honest]
            for (const rule of robustRules()) {
              const r = rule.aggregate(inputs, { f })
              for (let j = 0; j < d; j++) {
                let lo = Infinity
                let hi = -Infinity
                for (const x of honest) { lo = Math.min(lo, x[j]); hi = Math.max(hi, x[j]) }
                assert.ok(r[j] >= lo && r[j] <= hi, `${rule.name} n=${n} f=${f}: coordinate ${j} = ${r[j]} outside [${lo}, ${hi}]`)
              }
            }
            if (sign !== 0) assert.ok(Math.abs(mean().aggregate(inputs, { f })[0]) > 1e20, 'the mean should be dragged away')
          }
        }
      })
    })

    test('writes into `out` and leaves the inputs alone', () => {
      withKernels(k, () => {
        const inputs = randomInputs(5, 10, createRng(15))
        const copies = inputs.map((x) => Float32Array.from(x))
        for (const rule of [...robustRules(), mean()]) {
          const out = new Float32Array(10)
          assert.equal(rule.aggregate(inputs, { f: 2 }, out), out)
          assert.deepEqual(out, rule.aggregate(inputs, { f: 2 }))
        }
        assert.deepEqual(inputs, copies)
      })
    })
  })
}

describe('coordinate-wise rules: names, bounds and bad input', () => {
  const code = (c: string) => (e: unknown): boolean => e instanceof RobustInputError && e.code === c

  test('names and minInputs', () => {
    assert.deepEqual([cwmed(), cwtm(), meamed(), mean()].map((r) => r.name), ['cwmed', 'cwtm', 'meamed', 'mean'])
    for (const rule of robustRules()) {
      assert.equal(rule.minInputs(0), 1)
      assert.equal(rule.minInputs(3), 7)
    }
    assert.equal(mean().minInputs(5), 1)
  })

  test('n ≤ 2f is refused with too-few-inputs; the mean ignores f', () => {
    const inputs = [vec(1), vec(2), vec(3), vec(4)]
    for (const rule of robustRules()) {
      assert.throws(() => rule.aggregate(inputs, { f: 2 }), code('too-few-inputs'))
      assert.throws(() => rule.aggregate(inputs.slice(0, 2), { f: 1 }), /needs at least 3 inputs/)
      assert.doesNotThrow(() => rule.aggregate(inputs.slice(0, 3), { f: 1 }))
    }
    assert.deepEqual(Array.from(mean().aggregate(inputs, { f: 3 })), [2.5])
  })

  test('empty input, dimension mismatch, non-finite values, bad f and a wrong-size out', () => {
    for (const rule of [...robustRules(), mean()]) {
      assert.throws(() => rule.aggregate([], { f: 0 }), code('empty-input'))
      assert.throws(() => rule.aggregate([new Float32Array(0)], { f: 0 }), code('empty-input'))
      assert.throws(() => rule.aggregate([vec(1, 2), vec(1, 2), vec(1)], { f: 1 }), code('dimension-mismatch'))
      assert.throws(() => rule.aggregate([vec(1, 2), vec(NaN, 2), vec(1, 2)], { f: 1 }), code('non-finite'))
      assert.throws(() => rule.aggregate([vec(1, 2), vec(3, Infinity), vec(1, 2)], { f: 1 }), /input 1 has a non-finite value \(Infinity\) at coordinate 1/)
      assert.throws(() => rule.aggregate([vec(1), vec(2), vec(3)], { f: -1 }), code('bad-parameter'))
      assert.throws(() => rule.aggregate([vec(1), vec(2), vec(3)], { f: 0.5 }), code('bad-parameter'))
      assert.throws(() => rule.aggregate([vec(1, 2), vec(1, 2), vec(1, 2)], { f: 1 }, new Float32Array(3)), code('dimension-mismatch'))
    }
  })
})
