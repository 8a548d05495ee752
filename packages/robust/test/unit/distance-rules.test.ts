import assert from 'node:assert/strict'
import { before, describe, test } from 'node:test'
import { bulyan } from '../../src/aggregators/bulyan.ts'
import { geomed, geomedWeights } from '../../src/aggregators/geomed.ts'
import { krum, krumScores, multikrum } from '../../src/aggregators/krum.ts'
import { RobustInputError } from '../../src/errors.ts'
import { jsKernels, useKernels, wasmKernels } from '../../src/kernels/index.ts'
import type { Kernels } from '../../src/kernels/index.ts'
import { createRng, permutation } from '../../src/rng.ts'
import type { Aggregator } from '../../src/types.ts'
import {
  PLACEMENTS, aliasHostile, diameter, kappaRatio, makeInstance, meanF64, objectiveGap, reorder, spread, sqDist, weiszfeldF64
} from './distance-rules.fixtures.ts'

const vec = (...values: number[]): Float32Array => Float32Array.from(values)
/** Points t·(3, 4) on a line: squared distances are 25 (t − s)². */
const onLine = (...ts: number[]): Float32Array[] => ts.map((t) => vec(3 * t, 4 * t))

const code = (c: string) => (err: unknown): boolean => err instanceof RobustInputError && err.code === c

function assertClose (actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what = ''): void {
  assert.equal(actual.length, expected.length)
  for (let j = 0; j < actual.length; j++) {
    assert.ok(Math.abs(actual[j] - expected[j]) <= tol, `${what} coordinate ${j}: ${actual[j]} vs ${expected[j]} (tol ${tol})`)
  }
}

const NS = [5, 9, 17]
const DS = [1, 7, 50]
const SEEDS = [1, 2, 3]

/** Largest f each rule accepts for n inputs. */
const largestF = (rule: Aggregator, n: number): number => {
  let f = 0
  while (rule.minInputs(f + 1) <= n) f++
  return f
}

/** Every rule runs on both kernel sets: their rounding differs (f32 partial sums in WebAssembly). */
const KERNEL_SETS = [jsKernels, wasmKernels()].filter((k): k is Kernels => k !== undefined)

const RULES: Array<[string, () => Aggregator]> = [
  ['krum', () => krum()],
  ['krum n-f-2', () => krum({ convention: 'n-f-2' })],
  ['multikrum', () => multikrum()],
  ['bulyan', () => bulyan()],
  ['geomed', () => geomed()]
]

for (const k of KERNEL_SETS) {
  describe(`${k.name} kernels`, () => {
    before(() => useKernels(k))

    describe('krum and multikrum', () => {
      // Points 0, 1, 2, 6, 7 along (3, 4), n = 5, f = 1. Squared distances / 25 from each point:
      //   0: 1, 4, 36, 49   1: 1, 1, 25, 36   2: 4, 1, 16, 25   6: 36, 25, 16, 1   7: 49, 36, 25, 1
      // n − f − 1 = 3 nearest, sums / 25: 41, 27, 21, 42, 62  -> Krum picks t = 2.
      // n − f − 2 = 2 nearest, sums / 25:  5,  2,  5, 17, 26  -> Krum picks t = 1.
      const inputs = onLine(0, 1, 2, 6, 7)

      test('scores are the mean of the nearest squared distances, for both conventions', () => {
        const D = jsKernels.sqDistances(inputs)
        assertClose(krumScores(D, 5, 1), [41, 27, 21, 42, 62].map((s) => 25 * s / 3), 1e-9)
        assertClose(krumScores(D, 5, 1, 'n-f-2'), [5, 2, 5, 17, 26].map((s) => 25 * s / 2), 1e-9)
      })

      test('krum returns a copy of the best-scored input', () => {
        const out = krum().aggregate(inputs, { f: 1 })
        assert.deepEqual(out, inputs[2])
        assert.notEqual(out, inputs[2])
        assert.deepEqual(krum({ convention: 'n-f-2' }).aggregate(inputs, { f: 1 }), inputs[1])
      })

      test('multikrum averages the n − f best-scored inputs', () => {
        // Lowest 4 scores (n-f-1): t = 2, 1, 0, 6 -> mean t = 9/4, i.e. (6.75, 9).
        assertClose(multikrum().aggregate(inputs, { f: 1 }), [6.75, 9], 1e-6)
        // n-f-2: t = 1, then 0 and 2 (tie at 5, broken by total distance: 90 vs 46 -> 2 first), then 6.
        assertClose(multikrum({ convention: 'n-f-2' }).aggregate(inputs, { f: 1 }), [6.75, 9], 1e-6)
        // f = 2 keeps 3: scores over 2 nearest (n-f-1): 5, 2, 5, 17, 26 -> t = 1, 2, 0 (tie: totals 46 < 90).
        assertClose(multikrum().aggregate(inputs, { f: 2 }), [3, 4], 1e-6)
      })

      test('ties go to the input closer to all the others, whatever the order', () => {
        // n = 3, f = 1: the score is the squared nearest-neighbour distance, so the mutual nearest
        // pair ties. Points t = 0, 1, 3: scores 25, 25, 100; the totals 25 + 225 = 250 (t = 0) and
        // 25 + 100 = 125 (t = 1) decide -> t = 1 in every order.
        const pts = onLine(0, 1, 3)
        for (const order of [[0, 1, 2], [1, 0, 2], [2, 1, 0], [2, 0, 1]]) {
          assert.deepEqual(krum().aggregate(reorder(pts, order), { f: 1 }), pts[1])
        }
      })

      test('errors: too few inputs, bad convention, bad matrix', () => {
        const four = onLine(0, 1, 2, 3)
        assert.throws(() => krum().aggregate(four, { f: 2 }), code('too-few-inputs'))
        assert.throws(() => multikrum().aggregate(four, { f: 2 }), code('too-few-inputs'))
        // Blanchard's convention needs n ≥ 2f + 3.
        assert.throws(() => krum({ convention: 'n-f-2' }).aggregate(four, { f: 1 }), code('too-few-inputs'))
        assert.equal(krum({ convention: 'n-f-2' }).minInputs(2), 7)
        assert.equal(krum().minInputs(2), 5)
        assert.throws(() => krum({ convention: 'n-f' as 'n-f-1' }), code('bad-parameter'))
        assert.throws(() => multikrum({ convention: 'x' as 'n-f-1' }), code('bad-parameter'))
        assert.throws(() => krumScores(new Float64Array(8), 3, 0), code('dimension-mismatch'))
        assert.throws(() => krumScores(new Float64Array(9), 3, 2), code('too-few-inputs'))
      })
    })

    describe('bulyan', () => {
      test('repeated Krum selection, then trimmed mean', () => {
        // n = 7, f = 1, values 0, 1, 3, 4, 6, 20, 1000 (d = 1); each round scores over r − 2 nearest.
        //  r = 7 (5 nearest): 0: 1+9+16+36+400 = 462, 1: 1+4+9+25+361 = 400, 3: 9+4+1+9+289 = 312, 4: 16+9+1+4+256 = 286, 6: 36+25+9+4+196 = 270,
        //    20: 1502 -> select 6.
        //  r = 6 (4 nearest): 0: 426, 1: 375, 3: 303, 4: 282, 20: 1306 -> select 4.
        //  r = 5 (3 nearest): 0: 410, 1: 366, 3: 302, 20: 1050 -> select 3.
        //  r = 4 (2 nearest): 0: 401, 1: 362, 20: 761 -> select 1.
        //  r = 3 (1 nearest): 0: 400, 20: 400 tie; totals 400 + 10⁶ vs 400 + 980² -> select 20.
        // Selected {6, 4, 3, 1, 20}; trimmed mean dropping 1 each side: (3 + 4 + 6)/3 = 13/3.
        const inputs = [0, 1, 3, 4, 6, 20, 1000].map((v) => vec(v))
        assertClose(bulyan().aggregate(inputs, { f: 1 }), [13 / 3], 1e-6)
        // f = 0 selects everything and trims nothing: the mean.
        assertClose(bulyan().aggregate(inputs, { f: 0 }), [1034 / 7], 1e-4)
      })

      test('trims per coordinate over the selection (d = 2)', () => {
        // Same first coordinate as above; the second, within ±0.5, changes each squared distance by
        // at most 1, less than half of every winning margin above (16, 21, 64, 39; the last round's
        // tie is still broken by the distances to 1000), so the selection stays inputs 1, 2, 3, 4, 5.
        // Their second coordinates −0.5, 0.3, −0.25, 0, 0.4 trim to (−0.25 + 0 + 0.3)/3 = 0.05/3:
        // per coordinate, different inputs survive the trimming.
        const xs = [0, 1, 3, 4, 6, 20, 1000]
        const ys = [0.5, -0.5, 0.3, -0.25, 0, 0.4, -0.3]
        const inputs = xs.map((x, i) => vec(x, ys[i]))
        assertClose(bulyan().aggregate(inputs, { f: 1 }), [13 / 3, 0.05 / 3], 1e-6)
      })

      test('errors: needs n ≥ 4f + 3', () => {
        const six = [0, 1, 2, 3, 4, 5].map((v) => vec(v))
        assert.equal(bulyan().minInputs(1), 7)
        assert.throws(() => bulyan().aggregate(six, { f: 1 }), code('too-few-inputs'))
      })
    })

    describe('geomed', () => {
      test('collinear points: the median point, exactly', () => {
        // On a line the geometric median of an odd count is the middle point.
        const p = [1.5, -2, 0.25]
        const u = [0.48, 0.6, 0.64]
        const ts = [-4, 9, 0.5, 2, -1]
        const inputs = ts.map((t) => vec(...p.map((pj, j) => pj + t * u[j])))
        assert.deepEqual(geomed().aggregate(inputs, { f: 2 }), inputs[2])
      })

      test('symmetric configuration: its centre', () => {
        // Square corners around (2, −1) plus the centre's mirror pairs: the mean is the centre.
        const inputs = [[1, 1], [-1, 1], [1, -1], [-1, -1], [3, 0], [-3, 0]].map(([a, b]) => vec(2 + a, -1 + b))
        assertClose(geomed().aggregate(inputs, { f: 2 }), [2, -1], 1e-6)
      })

      test('triangle: the Fermat point, where the sides subtend 120°', () => {
        // A = (−1, 0), B = (1, 0), C = (0, 3): all angles < 120°, the median is (0, y) with
        // ∠AFB = 120°, i.e. y = tan(30°) = 1/√3; the mean (0, 1) is not it.
        const inputs = [vec(-1, 0), vec(1, 0), vec(0, 3)]
        assertClose(geomed().aggregate(inputs, { f: 1 }), [0, 1 / Math.sqrt(3)], 2e-6)
      })

      test('a point holding half of the inputs is returned exactly', () => {
        const p = vec(0.1, 0.2, 0.3)
        const inputs = [p, vec(5, 5, 5), p.slice(), vec(-7, 1, 2), p.slice(), vec(1e20, 0, 0)]
        assert.deepEqual(geomed().aggregate(inputs, { f: 2 }), p)
      })

      test('matches a brute-force f64 Weiszfeld on the raw vectors', () => {
        const rng = createRng(7)
        for (const [n, d] of [[5, 7], [9, 7], [9, 50], [17, 50], [17, 2], [17, 1], [5, 200]]) {
          for (const placement of ['far', 'shifted'] as const) {
            const f = (n - 1) >> 1
            const { inputs } = makeInstance(rng, n, d, f, placement)
            const ref = weiszfeldF64(inputs)
            const got = geomed().aggregate(inputs, { f })
            const scale = 1 + Math.sqrt(ref.reduce((s, v) => s + v * v, 0) / d)
            assertClose(got, ref, 1e-5 * scale, `n=${n} d=${d} ${placement}`)
          }
        }
      })

      test('never worse than the f64 reference on mixed and degenerate instances', () => {
        // Random n, d, f and placements, every third instance with a near-duplicate pair (an
        // input moved by 1e-6 of its size): Weiszfeld crawls near such clusters and near inputs
        // that are barely not optimal. The objective must match the reference to 1e-6 of
        // n × the honest spread.
        const rng = createRng(31)
        for (let t = 0; t < 120; t++) {
          const n = 3 + rng.int(16)
          const d = [1, 2, 3, 7, 50][rng.int(5)]
          const f = rng.int(((n - 1) >> 1) + 1)
          const { inputs, honest } = makeInstance(rng, n, d, f, PLACEMENTS[rng.int(3)])
          if (t % 3 === 0) {
            const a = rng.int(n)
            const b = rng.int(n)
            inputs[b] = inputs[a].slice()
            inputs[b][0] += 1e-6 * (1 + Math.abs(inputs[b][0]))
          }
          const scale = n * Math.max(Math.sqrt(spread(honest.map((i) => inputs[i]))), 0.1)
          const gap = objectiveGap(inputs, geomed().aggregate(inputs, { f }), weiszfeldF64(inputs, 20000))
          assert.ok(gap <= 1e-6 * scale, `instance ${t} (n=${n} d=${d} f=${f}): objective ${gap} above the reference`)
        }
      })

      test('d = 1 with far outliers: exactly the median input', () => {
        const rng = createRng(41)
        for (const n of NS) {
          for (let t = 0; t < 4; t++) {
            const f = (n - 1) >> 1
            const { inputs } = makeInstance(rng, n, 1, f, 'far')
            const sorted = inputs.map((x) => x[0]).sort((a, b) => a - b)
            assert.equal(geomed().aggregate(inputs, { f })[0], sorted[(n - 1) >> 1])
          }
        }
      })

      test('reads the data once for D and once for the result unless the scales demand more', () => {
        const calls = { sqDistances: 0, combine: 0, sqDistancesTo: 0 }
        const spy: Kernels = {
          ...k,
          sqDistances: (xs) => { calls.sqDistances++; return k.sqDistances(xs) },
          combine: (xs, c, outs) => { calls.combine++; k.combine(xs, c, outs) },
          sqDistancesTo: (xs, c) => { calls.sqDistancesTo++; return k.sqDistancesTo(xs, c) }
        }
        const count = (inputs: Float32Array[], f: number): typeof calls => {
          calls.sqDistances = calls.combine = calls.sqDistancesTo = 0
          useKernels(spy)
          try { geomed().aggregate(inputs, { f }) } finally { useKernels(k) }
          return { ...calls }
        }
        const rng = createRng(51)
        // Benign inputs: phase 1 only.
        assert.deepEqual(count(makeInstance(rng, 17, 50, 0, 'far').inputs, 0), { sqDistances: 1, combine: 1, sqDistancesTo: 0 })
        // A median on an input: proven from D and copied, no combine.
        assert.deepEqual(count(onLine(0, 1, 2, 6, 7), 2), { sqDistances: 1, combine: 0, sqDistancesTo: 0 })
        // Outliers 1e20 beyond the spread: D cannot resolve z, phase 2 runs on the vectors.
        const { inputs } = makeInstance(rng, 9, 7, 0, 'far')
        inputs[0] = Float32Array.from(inputs[0], (v, j) => v + (j === 0 ? 1e20 : 0))
        inputs[1] = Float32Array.from(inputs[1], (v, j) => v - (j === 1 ? 1e20 : 0))
        assert.ok(count(inputs, 2).sqDistancesTo > 0)
      })

      test('geomedWeights: weights summing to 1 whose combination is the median', () => {
        const rng = createRng(11)
        const { inputs } = makeInstance(rng, 9, 7, 3, 'shifted')
        const alpha = geomedWeights(jsKernels.sqDistances(inputs), 9)
        assert.ok(Math.abs(alpha.reduce((s, a) => s + a, 0) - 1) < 1e-12)
        const z = new Float32Array(7)
        jsKernels.combine(inputs, alpha, [z])
        assertClose(z, weiszfeldF64(inputs), 1e-5 * 10)
      })

      test('errors: too few inputs and bad parameters', () => {
        assert.throws(() => geomed().aggregate([vec(0), vec(1)], { f: 1 }), code('too-few-inputs'))
        for (const tol of [0, -1, 1, Number.NaN]) assert.throws(() => geomed({ tol }), code('bad-parameter'))
        for (const maxIter of [0, 1.5]) assert.throws(() => geomed({ maxIter }), code('bad-parameter'))
        for (const nu of [0, -1e-8, Infinity]) assert.throws(() => geomed({ nu }), code('bad-parameter'))
        assert.throws(() => geomedWeights(new Float64Array(5), 2), code('dimension-mismatch'))
        assert.throws(() => geomedWeights(new Float64Array(4), 2, { tol: 0 }), code('bad-parameter'))
      })
    })

    describe('distance rules: shared contract', () => {
      for (const [label, make] of RULES) {
        test(`${label}: honours out, never modifies inputs, rejects a wrong out`, () => {
          const rng = createRng(3)
          const rule = make()
          const n = 9
          const { inputs } = makeInstance(rng, n, 7, largestF(rule, n), 'shifted')
          const copies = inputs.map((x) => x.slice())
          const out = new Float32Array(7)
          const returned = rule.aggregate(inputs, { f: largestF(rule, n) }, out)
          assert.equal(returned, out)
          assert.deepEqual(inputs, copies)
          assert.deepEqual(rule.aggregate(inputs, { f: largestF(rule, n) }), out)
          assert.throws(() => rule.aggregate(inputs, { f: 1 }, new Float32Array(6)), code('dimension-mismatch'))
          // Writing into one of the inputs gives the same answer, even with kernels that
          // scribble on their outputs before reading the inputs.
          const aliased = inputs.map((x) => x.slice())
          useKernels(aliasHostile(k))
          try { rule.aggregate(aliased, { f: largestF(rule, n) }, aliased[4]) } finally { useKernels(k) }
          assert.deepEqual(aliased[4], out)
        })

        test(`${label}: identical inputs and zero inputs give themselves back (no 0/0)`, () => {
          const rule = make()
          const p = vec(0.5, -3, 1e-30)
          const same = Array.from({ length: 7 }, () => p.slice())
          assert.deepEqual(rule.aggregate(same, { f: largestF(rule, 7) }), p)
          const zeros = Array.from({ length: 7 }, () => new Float32Array(3))
          assert.deepEqual(rule.aggregate(zeros, { f: 1 }), new Float32Array(3))
        })
      }
    })

    describe('krum, multikrum and bulyan against direct f64 references', () => {
      /** Krum scores from f64 distances computed here, over the members of `pool`. */
      const scoresOver = (inputs: Float32Array[], pool: number[], count: number): Map<number, number> => {
        const scores = new Map<number, number>()
        for (const i of pool) {
          const dists = pool.filter((j) => j !== i).map((j) => sqDist(inputs[i], inputs[j])).sort((a, b) => a - b)
          scores.set(i, dists.slice(0, count).reduce((a, b) => a + b, 0))
        }
        return scores
      }
      const ranked = (scores: Map<number, number>): number[] => [...scores.keys()].sort((a, b) => scores.get(a)! - scores.get(b)!)

      test('krum and multikrum pick what the definition picks (both conventions)', () => {
        const rng = createRng(21)
        for (const n of NS) {
          for (const d of DS) {
            for (const [convention, drop] of [['n-f-1', 1], ['n-f-2', 2]] as const) {
              const f = largestF(krum({ convention }), n)
              const { inputs } = makeInstance(rng, n, d, f, 'shifted')
              const order = ranked(scoresOver(inputs, [...inputs.keys()], n - f - drop))
              assert.deepEqual(krum({ convention }).aggregate(inputs, { f }), inputs[order[0]])
              const expected = meanF64(order.slice(0, n - f).map((i) => inputs[i]))
              assertClose(multikrum({ convention }).aggregate(inputs, { f }), expected, 1e-5 * (1 + Math.max(...expected.map(Math.abs))))
            }
          }
        }
      })

      test('bulyan is the trimmed mean of the repeated-Krum selection', () => {
        const rng = createRng(22)
        for (const [n, f] of [[11, 2], [17, 2], [17, 3]]) {
          for (const d of DS) {
            for (const placement of PLACEMENTS) {
              const { inputs } = makeInstance(rng, n, d, f, placement)
              let pool = [...inputs.keys()]
              const selected: Float32Array[] = []
              while (selected.length < n - 2 * f) {
                const best = ranked(scoresOver(inputs, pool, pool.length - f - 1))[0]
                selected.push(inputs[best])
                pool = pool.filter((i) => i !== best)
              }
              const expected = Array.from({ length: d }, (_, j) => {
                const col = selected.map((x) => x[j]).sort((a, b) => a - b).slice(f, selected.length - f)
                return col.reduce((a, b) => a + b, 0) / col.length
              })
              assertClose(bulyan().aggregate(inputs, { f }), expected, 1e-5 * (1 + Math.max(...expected.map(Math.abs))), `n=${n} d=${d} ${placement}`)
            }
          }
        }
      })
    })

    describe('distance rules: properties on seeded instances', () => {
      for (const [label, make] of RULES) {
        test(`${label}: permutation invariance`, () => {
          const rule = make()
          for (const seed of SEEDS) {
            const rng = createRng(seed)
            for (const n of NS) {
              for (const d of DS) {
                const f = largestF(rule, n)
                const { inputs } = makeInstance(rng, n, d, f, PLACEMENTS[(n + d + seed) % 3])
                const base = rule.aggregate(inputs, { f })
                const permuted = rule.aggregate(reorder(inputs, permutation(n, rng)), { f })
                const scale = 1e-5 * (1 + base.reduce((m, v) => Math.max(m, Math.abs(v)), 0))
                assertClose(permuted, base, label.startsWith('krum') ? 0 : scale, `n=${n} d=${d}`)
              }
            }
          }
        })

        test(`${label}: identical honest inputs come back despite f Byzantine ones`, () => {
          const rule = make()
          for (const seed of SEEDS) {
            const rng = createRng(100 + seed)
            for (const n of NS) {
              for (const placement of ['far', 'shifted'] as const) {
                const f = largestF(rule, n)
                const { inputs, honest } = makeInstance(rng, n, 7, f, placement, true)
                assert.deepEqual(rule.aggregate(inputs, { f }), inputs[honest[0]], `n=${n} ${placement}`)
              }
            }
          }
        })

        test(`${label}: huge outliers (norms 1e6..1e30) leave the output near the honest inputs`, () => {
          const rule = make()
          for (const seed of SEEDS) {
            const rng = createRng(200 + seed)
            for (const n of NS) {
              for (const d of DS) {
                const f = largestF(rule, n)
                const { inputs, honest } = makeInstance(rng, n, d, f, 'far')
                const good = honest.map((i) => inputs[i])
                const out = rule.aggregate(inputs, { f })
                assert.ok(out.every(Number.isFinite))
                const dist = Math.sqrt(sqDist(out, meanF64(good)))
                assert.ok(dist <= 2 * diameter(good), `n=${n} d=${d}: ${dist} vs diameter ${diameter(good)}`)
              }
            }
          }
        })
      }

      // (f, κ)-robustness with G the honest inputs, κ from the table in REFERENCES.md.
      const KAPPA: Array<[string, () => Aggregator, (n: number, f: number) => number]> = [
        ['geomed', () => geomed(), (n, f) => 4 * (1 + f / (n - 2 * f)) ** 2],
        ['krum', () => krum(), (n, f) => 6 * (1 + f / (n - 2 * f)) ** 2],
        ['krum n-f-2', () => krum({ convention: 'n-f-2' }), (n, f) => 6 * (1 + f / (n - 2 * f)) ** 2]
      ]
      for (const [label, make, kappa] of KAPPA) {
        test(`${label}: empirical (f, κ)-robustness within the table's κ`, () => {
          const rule = make()
          let worst = 0
          for (const seed of [1, 2, 3, 4, 5, 6]) {
            const rng = createRng(300 + seed)
            for (const n of NS) {
              for (const d of DS) {
                for (const placement of PLACEMENTS) {
                  for (const f of [1, largestF(rule, n)]) {
                    const { inputs, honest } = makeInstance(rng, n, d, f, placement)
                    const ratio = kappaRatio(rule.aggregate(inputs, { f }), honest.map((i) => inputs[i]))
                    const bound = kappa(n, f)
                    worst = Math.max(worst, ratio / bound)
                    assert.ok(ratio <= bound * (1 + 1e-4), `n=${n} d=${d} f=${f} ${placement}: ratio ${ratio} > κ ${bound}`)
                  }
                }
              }
            }
          }
          assert.ok(worst > 0)
        })
      }
    })
  })
}
