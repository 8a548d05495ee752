import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { alie, signFlip } from '../../src/attacks.ts'
import { createRule } from '../../src/compose.ts'
import { createRng } from '../../src/rng.ts'
import type { Rng } from '../../src/rng.ts'
import { empiricalKappa, kappaBound, kappaLowerBound } from '../../src/theory.ts'

const vec = (...v: number[]): Float32Array => Float32Array.from(v)
const near = (a: number | undefined, b: number): boolean => a !== undefined && Math.abs(a - b) < 1e-12 * Math.max(1, Math.abs(b))

describe('κ formulas (seed 001)', () => {
  test('hand-computed points', () => {
    // n = 10, f = 2: r = 2/6 = 1/3.
    assert.ok(near(kappaBound('cwmed', 10, 2), 64 / 9)) // 4 (4/3)²
    assert.ok(near(kappaBound('geomed', 10, 2), 64 / 9))
    assert.ok(near(kappaBound('cwtm', 10, 2), 8 / 3)) // 6 (1/3)(4/3)
    assert.ok(near(kappaBound('krum', 10, 2), 32 / 3)) // 6 (4/3)²
    // n = 17, f = 4: r = 4/9, CWTM 6 (4/9)(13/9) = 312/81.
    assert.ok(near(kappaBound('cwtm', 17, 4), 312 / 81))
    // f = 0: the trimmed mean is the mean (κ = 0); the medians keep their constant.
    assert.equal(kappaBound('cwtm', 5, 0), 0)
    assert.equal(kappaBound('cwmed', 5, 0), 4)
    assert.equal(kappaBound('krum', 5, 0), 6)
  })

  test('names, aliases and specs; no formula gives undefined', () => {
    assert.ok(near(kappaBound('TrMean', 10, 2), 8 / 3))
    assert.ok(near(kappaBound('median', 10, 2), 64 / 9))
    assert.ok(near(kappaBound('geomed(tol=1e-8)', 10, 2), 64 / 9))
    assert.equal(kappaBound('nnm+cwtm', 10, 2), undefined)
    assert.equal(kappaBound('bulyan', 20, 2), undefined)
  })

  test('lower bound f/(n − 2f), and n ≤ 2f refused', () => {
    assert.ok(near(kappaLowerBound(10, 2), 1 / 3))
    assert.ok(near(kappaLowerBound(17, 4), 4 / 9))
    assert.equal(kappaLowerBound(3, 0), 0)
    assert.throws(() => kappaLowerBound(4, 2), /n > 2f/)
    assert.throws(() => kappaBound('cwtm', 9, 5), /n > 2f/)
  })

  test('every formula is at least the lower bound', () => {
    for (let n = 1; n < 30; n++) {
      for (let f = 0; 2 * f < n; f++) {
        for (const rule of ['cwmed', 'geomed', 'cwtm', 'krum']) {
          assert.ok((kappaBound(rule, n, f) as number) >= kappaLowerBound(n, f) - 1e-12, `${rule} n = ${n} f = ${f}`)
        }
      }
    }
  })
})

describe('empirical κ', () => {
  // Honest 0 and 2 (mean 1, spread (1 + 1)/2 = 1), Byzantine 100.
  const inputs = [vec(0, 5), vec(2, 5), vec(100, -7)]

  test('‖F − x̄_G‖² over the honest spread, hand-computed', () => {
    assert.equal(empiricalKappa(vec(3, 5), inputs, [0, 1]), 4)
    assert.equal(empiricalKappa(vec(1, 5), inputs, [1, 0]), 0)
    assert.equal(empiricalKappa(vec(1, 8), inputs, [0, 1]), 9)
  })

  test('0/0 = 0 and x/0 = Infinity when the honest inputs coincide', () => {
    const same = [vec(5), vec(5), vec(9)]
    assert.equal(empiricalKappa(vec(5), same, [0, 1]), 0)
    assert.equal(empiricalKappa(vec(6), same, [0, 1]), Infinity)
  })

  test('bad honest sets are refused', () => {
    assert.throws(() => empiricalKappa(vec(1, 1), inputs, []), /no honest indices/)
    assert.throws(() => empiricalKappa(vec(1, 1), inputs, [0, 3]), /honest index 3/)
    assert.throws(() => empiricalKappa(vec(1, 1), inputs, [0, 0]), /listed twice/)
    assert.throws(() => empiricalKappa(vec(1), inputs, [0, 1]), /dimension/)
  })
})

/** Honest inputs around a random mean with per-coordinate scales. */
function honestSet (rng: Rng, h: number, d: number): Float32Array[] {
  const mu = Array.from({ length: d }, () => 3 * rng.normal())
  const scale = Array.from({ length: d }, () => 0.1 + 2 * rng.next())
  return Array.from({ length: h }, () => Float32Array.from({ length: d }, (_, j) => mu[j] + scale[j] * rng.normal()))
}

type Placement = (rng: Rng, honest: Float32Array[], n: number, f: number) => Float32Array[]

const placements: Record<string, Placement> = {
  far: (rng, honest, n, f) => Array.from({ length: f }, () => Float32Array.from(honest[0], () => 1e3 * rng.normal())),
  shifted: (rng, honest, n, f) => {
    const m = meanOf(honest)
    const delta = 0.5 + 2 * rng.next()
    const u = Float32Array.from(m, () => rng.normal())
    return Array.from({ length: f }, () => Float32Array.from(m, (v, j) => v + delta * u[j]))
  },
  alie: (rng, honest, n, f) => Array.from({ length: f }, () => alie()({ honest, n, f })),
  alie15: (rng, honest, n, f) => Array.from({ length: f }, () => alie({ z: 1.5 })({ honest, n, f })),
  signflip: (rng, honest, n, f) => Array.from({ length: f }, () => signFlip()({ honest, n, f })),
  cluster: (rng, honest, n, f) => Array.from({ length: f }, () => Float32Array.from(honest[0], (v) => v + 5))
}

function meanOf (vs: Float32Array[]): Float32Array {
  return Float32Array.from(vs[0], (_, j) => vs.reduce((s, v) => s + v[j], 0) / vs.length)
}

/** Honest first then Byzantine, shuffled; returns the inputs and where the honest ones went. */
function shuffle (rng: Rng, honest: Float32Array[], byz: Float32Array[]): { inputs: Float32Array[], honestIdx: number[] } {
  const all = [...honest, ...byz]
  const perm = all.map((_, i) => i)
  for (let i = perm.length - 1; i > 0; i--) { const j = rng.int(i + 1); [perm[i], perm[j]] = [perm[j], perm[i]] }
  return { inputs: perm.map((p) => all[p]), honestIdx: perm.flatMap((p, i) => p < honest.length ? [i] : []) }
}

const configs: Array<[number, number]> = [[5, 2], [7, 3], [7, 2], [9, 4], [10, 3], [11, 1], [15, 5], [17, 4]]
const boundedRules = ['cwmed', 'cwtm', 'geomed', 'krum']

describe('empirical κ never exceeds the (f, κ) bound', () => {
  for (const name of boundedRules) {
    test(`${name}: ${configs.length} (n, f) × ${Object.keys(placements).length} placements × 8 seeds`, () => {
      const rule = createRule(name)
      let worst = 0
      for (const [n, f] of configs) {
        const bound = kappaBound(name, n, f) as number
        for (const [place, byzantine] of Object.entries(placements)) {
          for (let seed = 0; seed < 8; seed++) {
            const rng = createRng(1 + seed + 97 * n + 13 * f)
            const honest = honestSet(rng, n - f, 1 + rng.int(10))
            const { inputs, honestIdx } = shuffle(rng, honest, byzantine(rng, honest, n, f))
            const k = empiricalKappa(rule.aggregate(inputs, { f }), inputs, honestIdx)
            assert.ok(k <= bound, `${name} n = ${n} f = ${f} ${place} seed ${seed}: κ = ${k} > ${bound}`)
            worst = Math.max(worst, k / bound)
          }
        }
      }
      assert.ok(worst > 0) // the instances do move the output off the honest mean
    })

    test(`${name}: Byzantine inputs moved by a random search to maximize κ stay within the bound`, () => {
      const rule = createRule(name)
      for (const [n, f] of [[5, 2], [7, 2], [10, 3]] as Array<[number, number]>) {
        const bound = kappaBound(name, n, f) as number
        for (let seed = 0; seed < 2; seed++) {
          const rng = createRng(500 + seed + n)
          const d = 1 + seed
          const honest = honestSet(rng, n - f, d)
          const honestIdx = honest.map((_, i) => i)
          const score = (b: Float32Array[]): number => {
            const inputs = [...honest, ...b]
            return empiricalKappa(rule.aggregate(inputs, { f }), inputs, honestIdx)
          }
          let byz = Array.from({ length: f }, () => Float32Array.from({ length: d }, () => 3 * rng.normal()))
          let best = score(byz)
          for (let it = 0; it < 150; it++) {
            const step = 2 * Math.exp(-it / 60)
            const candidate = byz.map((v) => Float32Array.from(v, (x) => x + step * rng.normal()))
            const s = score(candidate)
            if (s >= best) { best = s; byz = candidate }
          }
          assert.ok(best <= bound, `${name} n = ${n} f = ${f}: searched κ = ${best} > ${bound}`)
        }
      }
    })
  }
})

describe('NNM against ALIE', () => {
  // Measured: with z ≥ 1, NNM+CWTM's κ is below CWTM's in 75–100% of low-dimensional instances and
  // in every instance at d = 50; with ALIE's own small z (near the mean) NNM does not help at
  // d = 5 (it is worse about half the time), so that case is reported, not asserted.
  const cwtm = createRule('cwtm')
  const mixed = createRule('nnm+cwtm')
  const run = (n: number, f: number, d: number, z: number, seed: number): [number, number] => {
    const rng = createRng(seed * 7 + n)
    const honest = Array.from({ length: n - f }, () => Float32Array.from({ length: d }, () => rng.normal()))
    const b = alie({ z })({ honest, n, f })
    const inputs = [...honest, ...Array.from({ length: f }, () => b)]
    const idx = honest.map((_, i) => i)
    return [empiricalKappa(cwtm.aggregate(inputs, { f }), inputs, idx), empiricalKappa(mixed.aggregate(inputs, { f }), inputs, idx)]
  }

  test('z = 1.5, d = 50: nnm+cwtm below cwtm in every instance', () => {
    for (const [n, f] of [[10, 2], [17, 4], [15, 5]]) {
      for (let seed = 0; seed < 10; seed++) {
        const [plain, withNnm] = run(n, f, 50, 1.5, seed)
        assert.ok(withNnm < plain, `n = ${n} f = ${f} seed ${seed}: ${withNnm} ≥ ${plain}`)
      }
    }
  })

  test('z ∈ {1, 1.5}, d = 5: nnm+cwtm below cwtm on average', () => {
    for (const [n, f] of [[10, 2], [17, 4], [15, 5]]) {
      for (const z of [1, 1.5]) {
        let plain = 0; let withNnm = 0
        for (let seed = 0; seed < 30; seed++) {
          const [a, b] = run(n, f, 5, z, seed)
          plain += a; withNnm += b
        }
        assert.ok(withNnm < 0.95 * plain, `n = ${n} f = ${f} z = ${z}: mean ${withNnm / 30} vs ${plain / 30}`)
      }
    }
  })
})
