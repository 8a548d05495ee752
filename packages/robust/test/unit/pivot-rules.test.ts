import assert from 'node:assert/strict'
import { before, describe, test } from 'node:test'
import { cclip, scclip } from '../../src/aggregators/cclip.ts'
import { monna } from '../../src/aggregators/monna.ts'
import { RobustInputError } from '../../src/errors.ts'
import { jsKernels, useKernels, wasmKernels } from '../../src/kernels/index.ts'
import type { Kernels } from '../../src/kernels/index.ts'
import { createRng, permutation } from '../../src/rng.ts'
import type { Rng } from '../../src/rng.ts'
import type { AggregateOptions, Aggregator } from '../../src/types.ts'
import { PLACEMENTS, aliasHostile, diameter, makeInstance, meanF64, reorder, sqDist } from './distance-rules.fixtures.ts'

const vec = (...values: number[]): Float32Array => Float32Array.from(values)
const code = (c: string) => (err: unknown): boolean => err instanceof RobustInputError && err.code === c

function assertClose (actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what = ''): void {
  assert.equal(actual.length, expected.length)
  for (let j = 0; j < actual.length; j++) {
    assert.ok(Math.abs(actual[j] - expected[j]) <= tol, `${what} coordinate ${j}: ${actual[j]} vs ${expected[j]} (tol ${tol})`)
  }
}

const norm = (x: ArrayLike<number>): number => Math.sqrt(sqDist(x, new Float64Array(x.length)))

/** Centered clipping in plain f64 on the raw vectors (reference). */
function cclipF64 (inputs: Float32Array[], tau: number, iters: number, start: ArrayLike<number>): Float64Array {
  const d = inputs[0].length
  let v = Float64Array.from(start)
  for (let t = 0; t < iters; t++) {
    const next = Float64Array.from(v)
    for (const x of inputs) {
      const r = Math.sqrt(sqDist(x, v))
      const c = r <= tau ? 1 : tau / r
      for (let j = 0; j < d; j++) next[j] += c * (x[j] - v[j]) / inputs.length
    }
    v = next
  }
  return v
}

const KERNEL_SETS = [jsKernels, wasmKernels()].filter((k): k is Kernels => k !== undefined)

// A 2-D example: pivot x0 = (0, 0); x1 = (3, 4) at distance 5, x2 = (1, 0) at 1, x3 = (0, −10) at 10.
const example = (): Float32Array[] => [vec(0, 0), vec(3, 4), vec(1, 0), vec(0, -10)]

const randomWeights = (rng: Rng, n: number): Float64Array => Float64Array.from({ length: n }, () => rng.next() / n)

/** The same call with the inputs reordered: the pivot and the weights follow their inputs. */
function permuted (inputs: Float32Array[], options: AggregateOptions, rng: Rng): [Float32Array[], AggregateOptions] {
  const order = permutation(inputs.length, rng)
  const pivot = Array.from(order).indexOf(options.pivot ?? 0)
  const weights = options.weights === undefined ? undefined : reorder(Array.from(options.weights), order)
  return [reorder(inputs, order), { ...options, pivot, weights }]
}

for (const k of KERNEL_SETS) {
  describe(`${k.name} kernels`, () => {
    before(() => useKernels(k))

    describe('monna', () => {
      test('mean of the n − f inputs nearest to the pivot, pivot included', () => {
        // Values 0, 1, 2, 6, 7, f = 2, so 3 are kept.
        // Pivot 3 (value 6): squared distances 36, 25, 16, 0, 1 -> 6, 7, 2 -> mean 5.
        // Pivot 0 (the default, value 0): 0, 1, 2 -> mean 1.
        const inputs = [0, 1, 2, 6, 7].map((v) => vec(v, -2 * v))
        assertClose(monna().aggregate(inputs, { f: 2, pivot: 3 }), [5, -10], 1e-6)
        assertClose(monna().aggregate(inputs, { f: 2 }), [1, -2], 1e-6)
        // f = 0 keeps everything: the mean 16/5.
        assertClose(monna().aggregate(inputs, { f: 0, pivot: 4 }), [3.2, -6.4], 1e-6)
      })

      test('errors: n ≤ 2f, pivot out of range', () => {
        const four = [0, 1, 2, 3].map((v) => vec(v))
        assert.throws(() => monna().aggregate(four, { f: 2 }), code('too-few-inputs'))
        assert.throws(() => monna().aggregate(four, { f: 1, pivot: 4 }), code('bad-parameter'))
        assert.throws(() => monna().aggregate(four, { f: 1, pivot: -1 }), code('bad-parameter'))
      })
    })

    describe('cclip', () => {
      test('one step from the pivot, by hand', () => {
        // τ = 2, v = x0: clip(x1 − v) = (3, 4)·2/5 = (1.2, 1.6); x2 − v = (1, 0) is kept;
        // clip(x3 − v) = (0, −2); x0 − v = 0. v + mean = (2.2, −0.4)/4 = (0.55, −0.1).
        assertClose(cclip({ tau: 2 }).aggregate(example(), { f: 1 }), [0.55, -0.1], 1e-7)
      })

      test('one step from the previous output, by hand', () => {
        // v = (1, 0): x0 − v = (−1, 0) kept; x1 − v = (2, 4), norm √20, scaled by 2/√20;
        // x2 − v = 0; x3 − v = (−1, −10), norm √101, scaled by 2/√101.
        const s5 = Math.sqrt(5)
        const s101 = Math.sqrt(101)
        const expected = [1 + (-1 + 2 / s5 - 2 / s101) / 4, (4 / s5 - 20 / s101) / 4]
        assertClose(cclip({ tau: 2 }).aggregate(example(), { f: 1, previous: vec(1, 0) }), expected, 1e-6)
      })

      test('several steps match an f64 reference on random inputs', () => {
        const rng = createRng(5)
        for (const placement of PLACEMENTS) {
          const { inputs } = makeInstance(rng, 9, 7, 3, placement)
          const tau = 1.5
          const got = cclip({ tau, iters: 3 }).aggregate(inputs, { f: 3, pivot: 2 })
          assertClose(got, cclipF64(inputs, tau, 3, inputs[2]), 2e-5 * (1 + norm(got)), placement)
        }
      })

      test('each step moves v by at most τ; identical honest inputs move it by at most L·τ·f/n', () => {
        for (const seed of [1, 2, 3]) {
          const rng = createRng(400 + seed)
          for (const n of [5, 9, 17]) {
            const f = (n - 1) >> 1
            for (const iters of [1, 4]) {
              const tau = 0.5
              const { inputs, honest } = makeInstance(rng, n, 7, f, 'far')
              const start = inputs[honest[0]]
              const out = cclip({ tau, iters }).aggregate(inputs, { f, pivot: honest[0] })
              assert.ok(Math.sqrt(sqDist(out, start)) <= iters * tau * (1 + 1e-6))
              const same = makeInstance(rng, n, 7, f, 'far', true)
              const p = same.inputs[same.honest[0]]
              const moved = Math.sqrt(sqDist(cclip({ tau, iters }).aggregate(same.inputs, { f, previous: p }), p))
              assert.ok(moved <= iters * tau * f / n * (1 + 1e-6), `moved ${moved}`)
            }
          }
        }
      })

      test('a single input, identical inputs: no 0/0', () => {
        assert.deepEqual(cclip({ tau: 1 }).aggregate([vec(3, -1)], { f: 0 }), vec(3, -1))
        const same = Array.from({ length: 5 }, () => vec(0.25, -7, 0))
        assert.deepEqual(cclip({ tau: 1, iters: 3 }).aggregate(same, { f: 2 }), same[0])
        assert.equal(cclip({ tau: 1 }).minInputs(10), 1)
      })

      test('out may be the previous output or an input', () => {
        const inputs = example()
        const expected = cclip({ tau: 2, iters: 2 }).aggregate(inputs, { f: 1, previous: vec(1, 0) })
        const previous = vec(1, 0)
        const returned = cclip({ tau: 2, iters: 2 }).aggregate(inputs, { f: 1, previous }, previous)
        assert.equal(returned, previous)
        assert.deepEqual(previous, expected)
        const own = example()
        useKernels(aliasHostile(k))
        try {
          cclip({ tau: 2 }).aggregate(own, { f: 1 }, own[0])
          const again = vec(1, 0)
          cclip({ tau: 2, iters: 2 }).aggregate(inputs, { f: 1, previous: again }, again)
          assert.deepEqual(again, expected)
        } finally { useKernels(k) }
        assert.deepEqual(own[0], cclip({ tau: 2 }).aggregate(example(), { f: 1 }))
      })

      test('errors: bad τ or L, bad previous', () => {
        for (const tau of [0, -1, Number.NaN, Infinity]) assert.throws(() => cclip({ tau }), code('bad-parameter'))
        assert.throws(() => cclip({} as { tau: number }), code('bad-parameter'))
        for (const iters of [0, 1.5, -2]) assert.throws(() => cclip({ tau: 1, iters }), code('bad-parameter'))
        assert.throws(() => cclip({ tau: 1 }).aggregate(example(), { f: 1, previous: vec(1) }), code('dimension-mismatch'))
        assert.throws(() => cclip({ tau: 1 }).aggregate(example(), { f: 1, previous: vec(1, Number.NaN) }), code('non-finite'))
      })
    })

    describe('scclip', () => {
      test('weighted self-centred clipping, by hand', () => {
        // Pivot x0, W = (·, 0.25, 0.25, 0.1), τ = 2: 0.25·(1.2, 1.6) + 0.25·(1, 0) + 0.1·(0, −2) = (0.55, 0.2).
        const weights = [0.4, 0.25, 0.25, 0.1]
        assertClose(scclip({ tau: 2 }).aggregate(example(), { f: 1, weights }), [0.55, 0.2], 1e-7)
        // The pivot's own weight is ignored.
        assertClose(scclip({ tau: 2 }).aggregate(example(), { f: 1, weights: [0, 0.25, 0.25, 0.1] }), [0.55, 0.2], 1e-7)
      })

      test('adaptive τ: weighted RMS distance to the n − f − 1 nearest neighbours', () => {
        // f = 1: the 2 nearest of x0 are x2 (d² = 1) and x1 (d² = 25), both W = 0.25:
        // τ = √((0.25·1 + 0.25·25)/0.5) = √13. x1 is clipped by √13/5, x3 by √13/10, x2 kept:
        // 0.25·(√13/5)(3, 4) + 0.25·(1, 0) + 0.1·(√13/10)(0, −10) = (0.15√13 + 0.25, 0.1√13).
        const s13 = Math.sqrt(13)
        const weights = [0.4, 0.25, 0.25, 0.1]
        assertClose(scclip().aggregate(example(), { f: 1, weights }), [0.15 * s13 + 0.25, 0.1 * s13], 1e-6)
      })

      test('uniform weights make it one centered-clipping step from the pivot', () => {
        const rng = createRng(8)
        for (const placement of PLACEMENTS) {
          const { inputs, honest } = makeInstance(rng, 9, 7, 3, placement)
          const options = { f: 3, pivot: honest[1] }
          assertClose(scclip({ tau: 1.2 }).aggregate(inputs, options), cclip({ tau: 1.2 }).aggregate(inputs, options), 1e-5, placement)
        }
      })

      test('identical honest inputs come back exactly under the adaptive τ', () => {
        for (const seed of [1, 2, 3]) {
          const rng = createRng(500 + seed)
          for (const n of [5, 9, 17]) {
            for (const placement of ['far', 'shifted'] as const) {
              const f = (n - 1) >> 1
              const { inputs, honest } = makeInstance(rng, n, 7, f, placement, true)
              const options = { f, pivot: honest[seed % honest.length], weights: randomWeights(rng, n) }
              assert.deepEqual(scclip().aggregate(inputs, options), inputs[honest[0]])
            }
          }
        }
      })

      test('errors: bad τ, bad weights, n ≤ 2f only with the adaptive τ', () => {
        for (const tau of [0, -1, Number.NaN]) assert.throws(() => scclip({ tau }), code('bad-parameter'))
        const inputs = example()
        assert.throws(() => scclip().aggregate(inputs, { f: 1, weights: [0.1, 0.2, 0.3] }), code('bad-parameter'))
        assert.throws(() => scclip().aggregate(inputs, { f: 1, weights: [0.1, -0.2, 0.3, 0.1] }), code('bad-parameter'))
        assert.throws(() => scclip().aggregate(inputs, { f: 1, weights: [0.1, Number.NaN, 0.3, 0.1] }), code('bad-parameter'))
        assert.throws(() => scclip().aggregate(inputs, { f: 2 }), code('too-few-inputs'))
        assert.equal(scclip({ tau: 1 }).minInputs(2), 1)
        assertClose(scclip({ tau: 1 }).aggregate(inputs, { f: 2 }), [0.25 * (0.6 + 1), 0.25 * (0.8 - 1)], 1e-7)
      })
    })

    describe('pivot rules: shared properties', () => {
      const RULES: Array<[string, () => Aggregator, number]> = [
        // [label, rule, how far (in honest diameters) from the honest mean the output may be]
        ['monna', () => monna(), 1],
        ['cclip', () => cclip({ tau: 1, iters: 2 }), 1],
        ['scclip', () => scclip(), 2],
        ['scclip tau', () => scclip({ tau: 1 }), 1]
      ]
      for (const [label, make, reach] of RULES) {
        test(`${label}: invariant under reordering (the pivot and weights follow)`, () => {
          const rule = make()
          for (const seed of [1, 2, 3]) {
            const rng = createRng(600 + seed)
            for (const n of [5, 9, 17]) {
              for (const d of [1, 7, 50]) {
                const f = (n - 1) >> 1
                const { inputs, honest } = makeInstance(rng, n, d, f, PLACEMENTS[(n + d + seed) % 3])
                const options = { f, pivot: honest[0], weights: randomWeights(rng, n) }
                const base = rule.aggregate(inputs, options)
                const [inputs2, options2] = permuted(inputs, options, rng)
                const scale = 1e-5 * (1 + base.reduce((m, v) => Math.max(m, Math.abs(v)), 0))
                assertClose(rule.aggregate(inputs2, options2), base, scale, `n=${n} d=${d}`)
              }
            }
          }
        })

        test(`${label}: huge outliers leave the output near the honest inputs`, () => {
          const rule = make()
          for (const seed of [1, 2, 3]) {
            const rng = createRng(700 + seed)
            for (const n of [5, 9, 17]) {
              for (const d of [1, 7, 50]) {
                const f = (n - 1) >> 1
                const { inputs, honest } = makeInstance(rng, n, d, f, 'far')
                const good = honest.map((i) => inputs[i])
                const out = rule.aggregate(inputs, { f, pivot: honest[seed % honest.length], weights: randomWeights(rng, n) })
                assert.ok(out.every(Number.isFinite))
                // Monna averages honest inputs only; clipping moves the honest pivot by at most
                // L·τ (τ = 1 here is about the honest spread) or, adaptively, by the honest
                // neighbours' RMS distance.
                const dist = Math.sqrt(sqDist(out, meanF64(good)))
                const bound = reach * diameter(good) + (label.startsWith('cclip') ? 2 : label === 'scclip tau' ? 1 : 0)
                assert.ok(dist <= bound, `n=${n} d=${d}: ${dist} > ${bound}`)
              }
            }
          }
        })

        test(`${label}: honours out, never modifies inputs, identical inputs give themselves back`, () => {
          const rule = make()
          const rng = createRng(9)
          const { inputs } = makeInstance(rng, 9, 7, 4, 'shifted')
          const copies = inputs.map((x) => x.slice())
          const out = new Float32Array(7)
          const options = { f: 4, pivot: 3, weights: randomWeights(rng, 9) }
          assert.equal(rule.aggregate(inputs, options, out), out)
          assert.deepEqual(inputs, copies)
          assert.deepEqual(rule.aggregate(inputs, options), out)
          assert.throws(() => rule.aggregate(inputs, options, new Float32Array(8)), code('dimension-mismatch'))
          // A node may write the result over its own model, even with kernels that scribble on
          // their outputs before reading the inputs.
          const own = inputs.map((x) => x.slice())
          useKernels(aliasHostile(k))
          try { rule.aggregate(own, options, own[3]) } finally { useKernels(k) }
          assert.deepEqual(own[3], out)
          const same = Array.from({ length: 5 }, () => vec(1e-3, -4, 2e5))
          assert.deepEqual(rule.aggregate(same, { f: 2, pivot: 1 }), same[0])
          const zeros = Array.from({ length: 5 }, () => new Float32Array(3))
          assert.deepEqual(rule.aggregate(zeros, { f: 2 }), new Float32Array(3))
        })
      }
    })
  })
}
