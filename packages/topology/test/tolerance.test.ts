import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  binomialTail, clopperPearsonInterval, complete, createByzantineSampler, drawHonestSets, expectedOverHonestSets,
  incompleteBeta, logGamma, nodeTolerances, normalCdf, normalQuantile, ring, star, studentTQuantile, summarizeMean,
  wilsonInterval
} from '../src/index.ts'

const close = (actual: number, expected: number, tolerance: number, message = ''): void => {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${message} ${actual} vs ${expected}`)
}

describe('statistics functions', () => {
  test('normal CDF and quantiles against tabulated values', () => {
    close(normalCdf(0), 0.5, 1e-16)
    close(normalCdf(1), 0.8413447460685429, 1e-15)
    close(normalCdf(-1.96), 0.024997895148220435, 1e-15)
    close(normalCdf(-5) / 2.866515718791939e-7, 1, 1e-12)
    close(normalQuantile(0.975), 1.959963984540054, 1e-13)
    close(normalQuantile(0.95), 1.6448536269514722, 1e-13)
    close(normalQuantile(0.01), -2.3263478740408408, 1e-13)
    close(normalQuantile(1e-10), -6.361340902404056, 1e-10)
    assert.equal(normalQuantile(0), -Infinity)
    assert.equal(normalQuantile(1), Infinity)
    for (const p of [0.001, 0.02, 0.3, 0.5, 0.77, 0.999]) close(normalCdf(normalQuantile(p)), p, 1e-14, `p=${p}`)
  })

  test('log-gamma and the incomplete beta function', () => {
    close(logGamma(0.5), Math.log(Math.sqrt(Math.PI)), 1e-14)
    close(logGamma(10), Math.log(362880), 1e-12)
    close(logGamma(1), 0, 1e-14)
    close(incompleteBeta(0.3, 1, 1), 0.3, 1e-14) // uniform CDF
    close(incompleteBeta(0.3, 2.5, 1), 0.3 ** 2.5, 1e-14) // I_x(a, 1) = x^a
    close(incompleteBeta(0.5, 7, 7), 0.5, 1e-14) // symmetry
    // I_p(f+1, k−f) = P(Binomial(k, p) > f).
    close(incompleteBeta(0.3, 3, 8), binomialTail(10, 0.3, 2), 1e-13)
  })

  test('Student-t quantiles match the table', () => {
    const table: Array<[number, number]> = [[1, 12.706204736174707], [2, 4.302652729749464], [4, 2.7764451051977934],
      [9, 2.2621571627982053], [29, 2.045229642132703], [120, 1.979930405052777]]
    for (const [nu, t] of table) close(studentTQuantile(0.975, nu), t, 1e-9, `ν=${nu}`)
    close(studentTQuantile(0.025, 4), -2.7764451051977934, 1e-9)
    close(studentTQuantile(0.95, 10), 1.8124611228107335, 1e-9)
    close(studentTQuantile(0.975, Infinity), 1.959963984540054, 1e-13)
  })

  test('binomial confidence intervals', () => {
    const w = wilsonInterval(5, 10)
    close(w.low, 0.23659309051256436, 1e-12)
    close(w.high, 0.7634069094874356, 1e-12)
    const cp = clopperPearsonInterval(5, 10)
    close(cp.low, 0.18708602844739, 1e-9)
    close(cp.high, 0.81291397155261, 1e-9)
    close(clopperPearsonInterval(0, 10).high, 1 - 0.025 ** (1 / 10), 1e-12)
    close(clopperPearsonInterval(10, 10).low, 0.025 ** (1 / 10), 1e-12)
    assert.equal(clopperPearsonInterval(0, 10).low, 0)
  })

  test('mean with a t-interval', () => {
    const s = summarizeMean([1, 2, 3, 4, 5])
    assert.equal(s.mean, 3)
    close(s.std, Math.sqrt(2.5), 1e-15)
    close(s.halfWidth, 2.7764451051977934 * Math.sqrt(2.5 / 5), 1e-9)
    close(s.low, 3 - s.halfWidth, 1e-15)
    assert.equal(summarizeMean([4]).halfWidth, Infinity)
    assert.throws(() => summarizeMean([]), /no values/)
  })

  test('exact binomial tail', () => {
    close(binomialTail(3, 0.5, 0), 7 / 8, 1e-15)
    close(binomialTail(3, 0.5, 1), 4 / 8, 1e-15)
    assert.equal(binomialTail(3, 0.5, 3), 0)
    assert.equal(binomialTail(3, 0.5, -1), 1)
  })
})

describe('per-node tolerance f_i(δ)', () => {
  test('complete graph with independent p: |N(i) ∩ B| ~ Binomial(k, p), compared with the exact tail', () => {
    const k = 10; const p = 0.1; const delta = 0.05
    const g = complete(k + 1)
    // Exact tails: P(X > 1) ≈ 0.2639, P(X > 2) ≈ 0.0702, P(X > 3) ≈ 0.0128 → f = 3.
    let exactF = 0
    while (binomialTail(k, p, exactF) > delta) exactF++
    assert.equal(exactF, 3)
    const report = nodeTolerances(g, createByzantineSampler({ model: 'independent', p }, g, { seed: 5 }),
      { delta, samples: 6000, confidence: 0.999 })
    const exact = binomialTail(k, p, exactF)
    for (const node of report.nodes) {
      assert.equal(node.f, exactF, node.id)
      assert.equal(node.cap, 5)
      assert.ok(node.protected)
      assert.ok(node.low <= exact && exact <= node.high, `${node.id}: ${exact} outside [${node.low}, ${node.high}]`)
    }
    const pooled = report.nodes.reduce((s, node) => s + node.probability, 0) / report.nodes.length
    close(pooled, exact, 4 * Math.sqrt(exact * (1 - exact) / (6000 * 11)) * Math.sqrt(11), 'pooled tail')
    assert.deepEqual(report.histogram, [0, 0, 0, 11])
    assert.deepEqual(report.unprotected, [])
    close(report.byzantineCount.mean, (k + 1) * p, 4 * Math.sqrt((k + 1) * p * (1 - p) / 6000))
  })

  test('nodes that cannot be protected are listed with their tail at the cap', () => {
    const g = star(10) // hub: 9 neighbours, cap 4; leaves: 1 neighbour, cap 0
    const report = nodeTolerances(g, createByzantineSampler({ model: 'independent', p: 0.5 }, g, { seed: 6 }), { samples: 4000 })
    assert.equal(report.unprotected.length, 10)
    const hub = report.nodes[0]
    assert.equal(hub.cap, 4)
    assert.equal(hub.f, 4)
    assert.equal(hub.protected, false)
    close(hub.probability, binomialTail(9, 0.5, 4), 4 * Math.sqrt(0.25 / 4000)) // exactly 1/2
    assert.ok(hub.low < 0.5 && 0.5 < hub.high)
    assert.equal(report.nodes[3].cap, 0)
  })

  test('conditioning on i honest uses fewer draws and lowers the tail under a cascade', () => {
    const g = ring(12)
    const spec = { model: 'cascade', seed: 0.1, spread: 0.6 } as const
    const plain = nodeTolerances(g, createByzantineSampler(spec, g, { seed: 7 }), { samples: 3000, delta: 0.2 })
    const given = nodeTolerances(g, createByzantineSampler(spec, g, { seed: 7 }), { samples: 3000, delta: 0.2, conditionOnHonest: true })
    assert.equal(plain.nodes[0].draws, 3000)
    assert.ok(given.nodes[0].draws < 3000)
    const meanTail = (r: typeof plain): number => r.nodes.reduce((s, n) => s + n.probability, 0) / r.nodes.length
    assert.ok(meanTail(given) < meanTail(plain), `${meanTail(given)} vs ${meanTail(plain)}`)
  })

  test('the conservative rule never picks a smaller f', () => {
    const g = complete(9)
    const sampler = (): ReturnType<typeof createByzantineSampler> => createByzantineSampler({ model: 'independent', p: 0.12 }, g, { seed: 8 })
    const point = nodeTolerances(g, sampler(), { samples: 500 })
    const upper = nodeTolerances(g, sampler(), { samples: 500, conservative: true })
    for (let i = 0; i < g.n; i++) {
      assert.ok(upper.nodes[i].f >= point.nodes[i].f)
      if (upper.nodes[i].protected) assert.ok(upper.nodes[i].high <= 0.05)
    }
  })

  test('a fixed set is exact from one draw', () => {
    const g = ring(6)
    const report = nodeTolerances(g, createByzantineSampler({ model: 'fixed', nodes: ['p0', 'p2'] }, g), { samples: 1000 })
    assert.equal(report.samples, 1)
    // Neighbour counts: p0 0, p1 2 (over its cap 1), p2 0, p3 1, p4 0, p5 1.
    assert.deepEqual(report.nodes.map((n) => n.f), [0, 1, 0, 1, 0, 1])
    assert.deepEqual(report.unprotected.map((n) => n.id), ['p1'])
    assert.equal(report.unprotected[0].probability, 1)
    assert.equal(report.byzantineCount.mean, 2)
  })
})

describe('expected robustness over honest sets', () => {
  test('drawHonestSets returns complements of Byzantine draws', () => {
    const g = ring(8)
    const sets = drawHonestSets(createByzantineSampler({ model: 'fixed', nodes: ['p1', 'p5'] }, g), 3)
    assert.equal(sets.length, 3)
    assert.deepEqual(Array.from(sets[2]), [1, 0, 1, 1, 1, 0, 1, 1])
  })

  test('the mean of a per-draw metric comes with a t-interval that covers the truth', async () => {
    const g = ring(20)
    const sampler = createByzantineSampler({ model: 'independent', p: 0.25 }, g, { seed: 9 })
    const result = await expectedOverHonestSets(sampler, 40, (honest) => honest.reduce((a, b) => a + b, 0) / honest.length)
    assert.equal(result.values.length, 40)
    assert.ok(result.low < 0.75 && 0.75 < result.high, `[${result.low}, ${result.high}]`)
    close(result.halfWidth, studentTQuantile(0.975, 39) * result.std / Math.sqrt(40), 1e-12)
  })
})
