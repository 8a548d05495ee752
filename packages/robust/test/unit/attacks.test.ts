import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  alie, alieZ, createAttack, dissensus, equivocate, gaussian, inverse, ipm, listAttacks, mimic, nonFinite,
  parseAttackSpec, principalExtreme, signFlip
} from '../../src/attacks.ts'
import type { AttackContext } from '../../src/attacks.ts'
import { createRule } from '../../src/compose.ts'
import { RobustInputError } from '../../src/errors.ts'
import { createRng, seedFromText } from '../../src/rng.ts'
import { meanAndStd, median, normalQuantile, quantile } from '../../src/stats.ts'

const vec = (...v: number[]): Float32Array => Float32Array.from(v)

function assertClose (actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-6): void {
  assert.equal(actual.length, expected.length)
  for (let j = 0; j < expected.length; j++) {
    assert.ok(Math.abs(actual[j] - expected[j]) <= tol * Math.max(1, Math.abs(expected[j])), `coordinate ${j}: ${actual[j]} vs ${expected[j]}`)
  }
}

// ḡ = (3, 3); population variances (4 + 0 + 4)/3 = 8/3 and (1 + 9 + 4)/3 = 14/3.
const honest = [vec(1, 2), vec(3, 6), vec(5, 1)]
const sigma = [Math.sqrt(8 / 3), Math.sqrt(14 / 3)]
const ctx: AttackContext = { honest, own: vec(1, -2), n: 25, f: 5 }

describe('seeds from text', () => {
  test('FNV-1a: the published check values', () => {
    assert.equal(seedFromText(''), 0x811c9dc5)
    assert.equal(seedFromText('a'), 0xe40c292c)
    assert.equal(seedFromText('foobar'), 0xbf9cf968)
  })
})

describe('median and quantile', () => {
  test('the middle value, the mean of the middle two, non-finite values ignored', () => {
    assert.equal(median([3, 1, 2]), 2)
    assert.equal(median(Float32Array.of(4, 1, 3, 2)), 2.5)
    assert.equal(median([Number.NaN, 5, Infinity, 1]), 3)
    assert.ok(Number.isNaN(median([])))
  })

  test('quantile interpolates between order statistics', () => {
    assert.equal(quantile([10, 0, 20, 30], 0.5), 15)
    assert.equal(quantile([10, 0, 20, 30], 0.9), 27)
    assert.equal(quantile([7], 0.3), 7)
    assert.ok(Number.isNaN(quantile([], 0.5)))
  })
})

describe('Φ⁻¹', () => {
  test('known quantiles to 1e-7', () => {
    const table: Array<[number, number]> = [
      [0.5, 0], [0.6, 0.2533471031357997], [0.8413447460685429, 1], [0.9, 1.2815515655446004],
      [0.95, 1.6448536269514722], [0.975, 1.959963984540054], [0.99, 2.3263478740408408],
      [0.02, -2.053748910631823], [0.001, -3.090232306167813], [1e-10, -6.361340902404056]
    ]
    for (const [p, z] of table) assert.ok(Math.abs(normalQuantile(p) - z) < 1e-7, `Φ⁻¹(${p}) = ${normalQuantile(p)}, expected ${z}`)
  })

  test('odd symmetry, infinities at the ends, and a checked domain', () => {
    for (const p of [0.001, 0.01, 0.3, 0.45]) assert.ok(Math.abs(normalQuantile(p) + normalQuantile(1 - p)) < 1e-9)
    assert.equal(normalQuantile(0), -Infinity)
    assert.equal(normalQuantile(1), Infinity)
    assert.throws(() => normalQuantile(1.5), /p must be in \[0, 1\]/)
    assert.throws(() => normalQuantile(NaN), /p must be in \[0, 1\]/)
  })
})

describe('moments', () => {
  test('coordinate-wise mean and population std, also with a large common offset', () => {
    const { mean, std } = meanAndStd(honest)
    assertClose(mean, [3, 3])
    assertClose(std, sigma)
    const shifted = honest.map((v) => vec(v[0] + 1e4, v[1] - 1e4))
    const s = meanAndStd(shifted)
    assertClose(s.std, sigma, 1e-6)
  })
})

describe('attacks on a worked example', () => {
  test('sign flip sends −ḡ', () => assertClose(signFlip()(ctx), [-3, -3]))

  test('inverse sends −c · own', () => {
    assertClose(inverse()(ctx), [-1, 2])
    assertClose(inverse({ c: 2 })(ctx), [-2, 4])
    assert.throws(() => inverse()({ honest, n: 4, f: 1 }), /no own update/)
  })

  test('IPM sends −ε ḡ', () => {
    assertClose(ipm()(ctx), [-0.3, -0.3])
    assertClose(ipm({ eps: 2 })(ctx), [-6, -6])
    assert.throws(() => ipm({ eps: 0 }), /eps must be/)
  })

  test('ALIE: z from n and f, ḡ − z σ', () => {
    // n = 25, f = 5: s = ⌊13.5⌋ − 5 = 8, z = Φ⁻¹((20 − 8)/20) = Φ⁻¹(0.6) = 0.2533471031357997.
    assert.ok(Math.abs(alieZ(25, 5) - 0.2533471031357997) < 1e-7)
    // n = 10, f = 2: s = 4, z = Φ⁻¹(4/8) = 0: ALIE sends the mean.
    assert.equal(alieZ(10, 2), 0)
    // n = 50, f = 12: s = 14, z = Φ⁻¹(24/38).
    assert.ok(Math.abs(alieZ(50, 12) - 0.33603814037182306) < 1e-7)
    const z = 0.2533471031357997
    assertClose(alie()(ctx), [3 - z * sigma[0], 3 - z * sigma[1]])
    assertClose(alie({ z: 1.5 })(ctx), [3 - 1.5 * sigma[0], 3 - 1.5 * sigma[1]])
    assertClose(alie({ z: -1.5 })(ctx), [3 + 1.5 * sigma[0], 3 + 1.5 * sigma[1]])
  })

  test('ALIE without a usable z is refused', () => {
    assert.throws(() => alieZ(2, 0), /give z explicitly/) // s = 2: probability 0
    assert.throws(() => alieZ(5, 5), /f must be an integer in \[0, 4\]/)
  })

  test('mimic copies a fixed honest vector', () => {
    const out = mimic({ index: 1 })(ctx)
    assert.deepEqual(Array.from(out), [3, 6])
    assert.notEqual(out, honest[1])
    assert.throws(() => mimic({ index: 3 })(ctx), /only 3 honest vectors/)
  })

  test('mimic picks the vector farthest along the top principal direction', () => {
    // Spread mostly along x: the extreme along it is (10, 0) although (0, 6) is as far from 0.
    const spread = [vec(0, 0), vec(1, 0.5), vec(2, -0.5), vec(10, 0), vec(-3, 0.5), vec(1, 6), vec(2, -5)]
    assert.equal(principalExtreme(spread), 3)
    // Same along y when y dominates.
    const upright = spread.map((v) => vec(v[1] * 3, v[0] * 0.2))
    assert.equal(principalExtreme(upright), 5)
    // No spread at all: the first.
    assert.equal(principalExtreme([vec(1, 1), vec(1, 1), vec(1, 1)]), 0)
  })

  test('mimic agrees with the closed-form 2-D principal axis on random sets', () => {
    const rng = createRng(11)
    for (let trial = 0; trial < 50; trial++) {
      const m = 4 + rng.int(8)
      const a = 0.2 + 3 * rng.next()
      const pts = Array.from({ length: m }, () => vec(a * rng.normal() + 1, rng.normal() + 0.3 * rng.normal() - 2))
      const mx = pts.reduce((s, p) => s + p[0], 0) / m
      const my = pts.reduce((s, p) => s + p[1], 0) / m
      let sxx = 0; let syy = 0; let sxy = 0
      for (const p of pts) { sxx += (p[0] - mx) ** 2; syy += (p[1] - my) ** 2; sxy += (p[0] - mx) * (p[1] - my) }
      const angle = 0.5 * Math.atan2(2 * sxy, sxx - syy)
      const proj = pts.map((p) => Math.abs((p[0] - mx) * Math.cos(angle) + (p[1] - my) * Math.sin(angle)))
      const sorted = [...proj].sort((x, y) => y - x)
      if (sorted[0] - sorted[1] < 1e-3 * sorted[0]) continue // near tie: either answer is right
      const expected = proj.indexOf(sorted[0])
      assert.equal(principalExtreme(pts), expected, `trial ${trial}`)
      assert.deepEqual(Array.from(mimic()({ honest: pts, n: m + 1, f: 1 })), Array.from(pts[expected]))
    }
  })

  test('gaussian: N(μ, σ²) coordinates, reproducible from the rng', () => {
    const d = 20000
    const big: AttackContext = { honest: [new Float32Array(d)], n: 5, f: 1, rng: createRng(5) }
    const out = gaussian({ mu: 3, sigma: 2 })(big)
    let s = 0; let s2 = 0
    for (const v of out) { s += v; s2 += v * v }
    const mean = s / d
    const std = Math.sqrt(s2 / d - mean * mean)
    assert.ok(Math.abs(mean - 3) < 0.06, `mean ${mean}`) // 4 standard errors: 4 · 2/√20000
    assert.ok(Math.abs(std - 2) < 0.05, `std ${std}`)
    const again = gaussian({ mu: 3, sigma: 2 })({ ...big, rng: createRng(5) })
    assert.deepEqual(again, out)
    // Without an rng the attack's own seed decides.
    assert.deepEqual(gaussian({ seed: 9 })({ honest: [], dimension: 4, n: 5, f: 1 }), gaussian({ seed: 9 })({ honest: [], dimension: 4, n: 5, f: 1 }))
    assert.throws(() => gaussian({ sigma: -1 }), /sigma must be/)
  })

  test('non-finite vectors, which a rule must refuse', () => {
    assert.ok(nonFinite()(ctx).every((v) => Number.isNaN(v)))
    assert.deepEqual(Array.from(nonFinite({ kind: 'inf' })(ctx)), [Infinity, Infinity])
    assert.deepEqual(Array.from(nonFinite({ kind: '-inf' })(ctx)), [-Infinity, -Infinity])
    assert.throws(() => nonFinite({ kind: 'zero' as 'nan' }), /kind must be nan, inf or -inf/)
    const bad = nonFinite({ kind: 'inf' })(ctx)
    assert.throws(() => createRule('geomed').aggregate([...honest, bad], { f: 1 }),
      (e: unknown) => e instanceof RobustInputError && e.code === 'non-finite')
  })

  test('dissensus on a 3-node path k – i – j (j Byzantine), MH weights 1/3', () => {
    // x_i = (1, 0), x_k = (4, 2): b = x_i − ε (1/3)(x_k − x_i)/(1/3) = x_i − ε (3, 2).
    const target = { model: vec(1, 0), neighbours: [vec(4, 2)], weights: [1 / 3], byzantineWeight: 1 / 3 }
    const b = dissensus({ eps: 1.5 })({ honest: [], n: 3, f: 1, target })
    assertClose(b, [-3.5, -3])
    // Plain mixing at i then moves by (1 − ε) (1/3)(x_k − x_i) = −(0.5, 1/3): away from k.
    const mixed = [0, 1].map((j) => (target.model[j] + target.neighbours[0][j] + b[j]) / 3)
    assertClose(mixed, [0.5, -1 / 3], 1e-6)
    // ε = 1 cancels the honest pull exactly: i stays put.
    const frozen = dissensus({ eps: 1 })({ honest: [], n: 3, f: 1, target })
    assertClose([0, 1].map((j) => (target.model[j] + target.neighbours[0][j] + frozen[j]) / 3), [1, 0], 1e-6)
  })

  test('dissensus with two honest neighbours and unequal weights', () => {
    // Σ_k W_ik (x_k − x_i) = 0.25 (1, −1) + 0.5 (−1, 3) = (−0.25, 1.25); over b = 0.25: (−1, 5).
    const target = { model: vec(1, 1), neighbours: [vec(2, 0), vec(0, 4)], weights: [0.25, 0.5], byzantineWeight: 0.25 }
    assertClose(dissensus({ eps: 1 })({ honest: [], n: 4, f: 1, target }), [2, -4])
    assert.throws(() => dissensus()({ honest: [], n: 4, f: 1 }), /no target/)
    assert.throws(() => dissensus()({ honest: [], n: 4, f: 1, target: { ...target, byzantineWeight: 0 } }), /Byzantine weight must be > 0/)
    assert.throws(() => dissensus()({ honest: [], n: 4, f: 1, target: { ...target, weights: [1] } }), /1 weights for 2/)
  })

  test('equivocation sends each receiver its own vector', () => {
    const receivers: AttackContext[] = [
      { honest: [vec(1, 1), vec(3, 3)], n: 3, f: 1 },
      { honest: [vec(-2, 0), vec(0, 4)], n: 3, f: 1 },
      { honest: [vec(5, 5)], n: 2, f: 0 }
    ]
    const sent = equivocate(signFlip(), receivers)
    assert.deepEqual(sent.map((v) => Array.from(v)), [[-2, -2], [1, -2], [-5, -5]])
  })
})

describe('attack specs', () => {
  test('createAttack builds the attack a spec names', () => {
    assertClose(createAttack('signflip')(ctx), [-3, -3])
    assertClose(createAttack(' SF ')(ctx), [-3, -3])
    assertClose(createAttack('ipm(eps=0.1)')(ctx), [-0.3, -0.3])
    assertClose(createAttack('foe(eps=2)')(ctx), [-6, -6])
    assertClose(createAttack('alie')(ctx), alie()(ctx))
    assertClose(createAttack('alie(z=1.5)')(ctx), [3 - 1.5 * sigma[0], 3 - 1.5 * sigma[1]])
    assert.deepEqual(Array.from(createAttack('mimic(index=2)')(ctx)), [5, 1])
    assert.equal(createAttack('gaussian(sigma=10)')({ ...ctx, rng: createRng(1) }).length, 2)
    assert.ok(createAttack('nonfinite(kind=-inf)')(ctx).every((v) => v === -Infinity))
  })

  test('normalized names drop defaults', () => {
    assert.equal(parseAttackSpec('IPM(eps=0.1)').spec, 'ipm')
    assert.equal(parseAttackSpec('ipm(eps=2)').spec, 'ipm(eps=2)')
    assert.equal(parseAttackSpec('sf').spec, 'signflip')
    assert.deepEqual(parseAttackSpec('gaussian(sigma=10, mu=1)').params, { sigma: 10, mu: 1 })
  })

  test('bad specs name the problem', () => {
    assert.throws(() => createAttack('foo'), /unknown attack "foo" at column 1; known attacks: signflip, inverse, ipm, alie/)
    assert.throws(() => createAttack('ipm(epsilon=1)'), /ipm has no parameter "epsilon" \(column 5\); its parameters: eps/)
    assert.throws(() => createAttack('ipm(eps=-1)'), /bad value "-1" for parameter "eps" of ipm at column 9: expected a value in \(0, ∞\)/)
    assert.throws(() => createAttack('nonfinite(kind=zero)'), /expected one of nan, inf, -inf/)
    assert.throws(() => createAttack('alie+ipm'), /one attack per spec/)
    assert.throws(() => createAttack('signflip(x=1)'), /it takes no parameters/)
  })

  test('listAttacks describes every attack', () => {
    const list = listAttacks()
    assert.deepEqual(list.map((a) => a.name), ['signflip', 'inverse', 'ipm', 'alie', 'mimic', 'gaussian', 'nonfinite', 'dissensus'])
    const ipmInfo = list.find((a) => a.name === 'ipm')
    assert.deepEqual(ipmInfo?.paramHelp, ['eps: number (0, ∞) (default 0.1) ε'])
  })
})
