import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { createRng } from '@murmur/robust'
import {
  binomialTail, cascadeMass, cascadeSampler, chain, clopperPearsonInterval, complete, createByzantineSampler, drawHonestSets,
  erdosRenyi, expectedOverHonestSets, incompleteBeta, isingMass, isingSampler, logGamma, nodeTolerances, normalCdf,
  normalQuantile, parseTopology, ring, star, studentTQuantile, summarizeMean, topologyGraph, topologySampler, torus,
  wilsonInterval, type ByzantineSampler, type Graph, type Topology, type ToleranceReport
} from '../../src/index.ts'

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

const topologyFile = (name: string): Topology =>
  parseTopology(readFileSync(fileURLToPath(new URL(`../../../../topologies/${name}.json`, import.meta.url)), 'utf8'))

describe('per-node tolerance f_i(δ): exact laws', () => {
  test('Poisson-binomial tails hand-computed on a star with per-node priors', () => {
    // Hub p0 with leaves of priors 0.1, 0.2, 0.5, 0.4 (the hub's own 0.3 comes from `p`).
    // P(X = 0) = .9·.8·.5·.6 = .216, P(X = 1) = .024 + .054 + .216 + .144 = .438,
    // P(X = 2) = .006 + .024 + .016 + .054 + .036 + .144 = .28, so the tails are
    // P(X > 0) = .784, P(X > 1) = .346, P(X > 2) = .066 (= .006 + .004 + .016 + .036 + .004).
    const g = star(5)
    const sampler = (): ByzantineSampler => createByzantineSampler({ model: 'independent', p: 0.3 }, g, { priors: [NaN, 0.1, 0.2, 0.5, 0.4] })
    const at = (delta: number, conditionOnHonest = false): ToleranceReport => nodeTolerances(g, sampler(), { delta, conditionOnHonest })
    const expectations: Array<[number, number, number, boolean]> = [
      [0.8, 0, 0.784, true], [0.35, 1, 0.346, true], [0.1, 2, 0.066, true], [0.05, 2, 0.066, false]
    ]
    for (const [delta, f, tail, safe] of expectations) {
      for (const conditioned of [false, true]) {
        const hub = at(delta, conditioned).nodes[0]
        assert.equal(hub.f, f, `δ = ${delta}`)
        close(hub.probability, tail, 1e-15, `δ = ${delta}`)
        assert.equal(hub.protected, safe)
        assert.equal(hub.exact, true)
        assert.equal(hub.source, 'poisson-binomial')
        assert.equal(hub.low, hub.probability)
        assert.equal(hub.high, hub.probability)
        assert.equal(hub.draws, 0)
      }
    }
    // A leaf's only neighbour is the hub: X = 1 with probability 0.3, and its cap is 0.
    const report = at(0.2)
    assert.deepEqual(report.nodes.slice(1).map((n) => [n.f, n.probability, n.protected]), [[0, 0.3, false], [0, 0.3, false], [0, 0.3, false], [0, 0.3, false]])
    assert.equal(report.samples, 0)
    assert.equal(report.exact, true)
    close(report.byzantineCount.mean, 1.5, 1e-15)
    assert.equal(report.byzantineCount.low, report.byzantineCount.high)
    assert.deepEqual(Array.from(report.marginal), [0.3, 0.1, 0.2, 0.5, 0.4])
  })

  test('complete graph with independent p: exactly the binomial tail, and Monte Carlo agrees', () => {
    const k = 10; const p = 0.1; const delta = 0.05
    const g = complete(k + 1)
    // Exact tails: P(X > 1) ≈ 0.2639, P(X > 2) ≈ 0.0702, P(X > 3) ≈ 0.0128 → f = 3.
    let exactF = 0
    while (binomialTail(k, p, exactF) > delta) exactF++
    assert.equal(exactF, 3)
    const sampler = (): ByzantineSampler => createByzantineSampler({ model: 'independent', p }, g, { seed: 5 })
    const exact = binomialTail(k, p, exactF)
    const report = nodeTolerances(g, sampler(), { delta })
    for (const node of report.nodes) {
      assert.equal(node.f, exactF, node.id)
      assert.equal(node.cap, 5)
      assert.ok(node.protected)
      close(node.probability, exact, 1e-15, node.id)
    }
    assert.deepEqual(report.histogram, [0, 0, 0, 11])
    assert.deepEqual(report.unprotected, [])
    close(report.byzantineCount.mean, (k + 1) * p, 1e-14)

    const mc = nodeTolerances(g, sampler(), { delta, samples: 6000, maxSamples: 6000, confidence: 0.999, exact: false })
    assert.equal(mc.samples, 6000)
    for (const node of mc.nodes) {
      assert.equal(node.f, exactF, node.id)
      assert.equal(node.exact, false)
      assert.equal(node.pooled, 11) // K11 is vertex-transitive: one orbit, one estimate
      assert.ok(node.low <= exact && exact <= node.high, `${node.id}: ${exact} outside [${node.low}, ${node.high}]`)
      // The pooled interval is narrower than one node's own would be, never wider.
      const alone = clopperPearsonInterval(node.probability * 6000, 6000, 0.999)
      assert.ok(node.high - node.low <= alone.high - alone.low + 1e-12)
    }
    close(mc.nodes[0].probability, exact, 4 * Math.sqrt(exact * (1 - exact) / 6000), 'pooled tail')
    close(mc.byzantineCount.mean, (k + 1) * p, 4 * Math.sqrt((k + 1) * p * (1 - p) / 6000))
  })

  test('nodes that cannot be protected are listed with their tail at the cap', () => {
    const g = star(10) // hub: 9 neighbours, cap 4; leaves: 1 neighbour, cap 0
    const report = nodeTolerances(g, createByzantineSampler({ model: 'independent', p: 0.5 }, g, { seed: 6 }), { samples: 4000 })
    assert.equal(report.unprotected.length, 10)
    const hub = report.nodes[0]
    assert.equal(hub.cap, 4)
    assert.equal(hub.f, 4)
    assert.equal(hub.protected, false)
    close(hub.probability, 0.5, 1e-15) // P(Binomial(9, ½) > 4) = ½ by symmetry
    assert.equal(report.nodes[3].cap, 0)
    close(report.nodes[3].probability, 0.5, 1e-15)
  })

  test('a two-node cascade: the enumerated law matches the formula, with and without conditioning', () => {
    // Seeds with rate r, spread q. P(1 ∈ B) = r + (1 − r) r q; P(1 ∈ B, 0 ∉ B) = r (1 − r)(1 − q).
    const r = 0.2; const q = 0.3
    const g = chain(2)
    const mass = cascadeMass(g, [r, r], [q, q])
    close(mass[0], (1 - r) ** 2, 1e-15) // nobody
    close(mass[1], r * (1 - r) * (1 - q), 1e-15) // node 0 only
    close(mass[2], r * (1 - r) * (1 - q), 1e-15)
    close(mass[3], r * r + 2 * r * (1 - r) * q, 1e-15) // both
    const sampler = (): ByzantineSampler => createByzantineSampler({ model: 'cascade', seed: r, spread: q }, g)
    const plain = nodeTolerances(g, sampler(), { delta: 0.01 })
    assert.equal(plain.source, 'enumeration')
    close(plain.nodes[0].probability, r + (1 - r) * r * q, 1e-15)
    const given = nodeTolerances(g, sampler(), { delta: 0.01, conditionOnHonest: true })
    close(given.nodes[1].probability, r * (1 - r) * (1 - q) / (1 - r - (1 - r) * r * q), 1e-15)
    close(given.byzantineCount.mean, 2 * (r + (1 - r) * r * q), 1e-15)
  })

  test('a two-node Ising law by hand', () => {
    // P(s) ∝ exp(β s₀ s₁ + h (s₀ + s₁)), bit i of the index = node i Byzantine (s_i = +1).
    const beta = 0.7; const h = -0.4
    const weights = [beta - 2 * h, -beta, -beta, beta + 2 * h].map(Math.exp)
    const z = weights.reduce((a, b) => a + b, 0)
    const mass = isingMass(chain(2), beta, h)
    for (let s = 0; s < 4; s++) close(mass[s], weights[s] / z, 1e-15, `state ${s}`)
  })

  test('enumeration agrees with Monte Carlo: Ising on torus-4x4, a cascade on a random graph', () => {
    const torus = topologyFile('torus-4x4')
    const tg = topologyGraph(torus)
    const cases: Array<{ name: string, graph: Graph, make: () => ByzantineSampler, delta: number }> = [
      { name: 'ising', graph: tg, make: () => isingSampler(tg, { beta: 0.3, h: -1, thin: 10 }, createRng(4)), delta: 0.05 },
      { name: 'ising (torus file)', graph: tg, make: () => topologySampler(torus, { seed: 9 })!, delta: 0.001 }
    ]
    const er = erdosRenyi(13, 0.3, 3)
    const rates = Array.from({ length: 13 }, (_, i) => 0.02 + 0.01 * (i % 4))
    cases.push({ name: 'cascade', graph: er, make: () => cascadeSampler(er, rates, 0.35, createRng(1)), delta: 0.1 })
    for (const { name, graph, make, delta } of cases) {
      const exact = nodeTolerances(graph, make(), { delta })
      assert.equal(exact.source, 'enumeration', name)
      assert.ok(exact.nodes.every((n) => n.exact && n.resolved))
      const mc = nodeTolerances(graph, make(), { delta, samples: 40000, maxSamples: 40000, exact: false, pool: false })
      for (let i = 0; i < graph.n; i++) {
        const a = exact.nodes[i]; const b = mc.nodes[i]
        assert.equal(b.f, a.f, `${name} ${a.id}`)
        // The Gibbs chain's draws are autocorrelated: allow 5 standard errors.
        close(b.probability, a.probability, 5 * Math.sqrt(Math.max(a.probability * (1 - a.probability), 1e-6) / b.draws), `${name} ${a.id}`)
        close(mc.marginal[i], exact.marginal[i], 5 * Math.sqrt(exact.marginal[i] * (1 - exact.marginal[i]) / 40000) + 1e-3, `${name} marginal ${a.id}`)
      }
      close(mc.byzantineCount.mean, exact.byzantineCount.mean, 5 * exact.byzantineCount.std / Math.sqrt(40000), `${name} E|B|`)
    }
  })

  test('a fixed set is exact, whatever the options', () => {
    const g = ring(6)
    for (const exact of [true, false]) {
      const report = nodeTolerances(g, createByzantineSampler({ model: 'fixed', nodes: ['p0', 'p2'] }, g), { samples: 1000, exact })
      assert.equal(report.samples, 0)
      assert.equal(report.source, 'constant')
      // Neighbour counts: p0 0, p1 2 (over its cap 1), p2 0, p3 1, p4 0, p5 1.
      assert.deepEqual(report.nodes.map((n) => n.f), [0, 1, 0, 1, 0, 1])
      assert.deepEqual(report.unprotected.map((n) => n.id), ['p1'])
      assert.equal(report.unprotected[0].probability, 1)
      assert.equal(report.byzantineCount.mean, 2)
    }
  })
})

describe('per-node tolerance f_i(δ): Monte Carlo', () => {
  test('conditioning on i honest uses fewer draws and lowers the tail under a cascade', () => {
    const g = ring(12)
    const spec = { model: 'cascade', seed: 0.1, spread: 0.6 } as const
    const options = { samples: 3000, maxSamples: 3000, delta: 0.2, exact: false }
    const plain = nodeTolerances(g, createByzantineSampler(spec, g, { seed: 7 }), options)
    const given = nodeTolerances(g, createByzantineSampler(spec, g, { seed: 7 }), { ...options, conditionOnHonest: true })
    assert.equal(plain.nodes[0].draws, 3000)
    assert.ok(given.nodes[0].draws < 3000)
    const meanTail = (r: typeof plain): number => r.nodes.reduce((s, n) => s + n.probability, 0) / r.nodes.length
    assert.ok(meanTail(given) < meanTail(plain), `${meanTail(given)} vs ${meanTail(plain)}`)
    // ... and both agree with the exact law of this 12-node cascade.
    for (const [mc, conditionOnHonest] of [[plain, false], [given, true]] as const) {
      const exact = nodeTolerances(g, createByzantineSampler(spec, g), { delta: 0.2, conditionOnHonest })
      assert.equal(exact.source, 'enumeration')
      const e = exact.nodes[0]
      assert.equal(mc.nodes[0].f, e.f)
      close(mc.nodes[0].probability, e.probability, 4 * Math.sqrt(e.probability * (1 - e.probability) / mc.nodes[0].draws))
    }
  })

  test('the point rule may pick a smaller f than the conservative one, never a larger', () => {
    const g = complete(9)
    const sampler = (): ByzantineSampler => createByzantineSampler({ model: 'independent', p: 0.12 }, g, { seed: 8 })
    const point = nodeTolerances(g, sampler(), { samples: 500, maxSamples: 500, conservative: false, exact: false, pool: false })
    const upper = nodeTolerances(g, sampler(), { samples: 500, maxSamples: 500, exact: false, pool: false })
    for (let i = 0; i < g.n; i++) {
      assert.ok(upper.nodes[i].f >= point.nodes[i].f)
      if (upper.nodes[i].protected) assert.ok(upper.nodes[i].high <= 0.05)
    }
  })

  test('draws continue until every estimate is settled: settled intervals lie on one side of δ', () => {
    const t = topologyFile('er-32')
    const g = topologyGraph(t)
    const report = nodeTolerances(g, topologySampler(t, { seed: 1 })!, { samples: 2000 })
    assert.equal(report.source, 'monte-carlo')
    assert.ok(report.samples > 2000 && report.samples <= report.maxSamples, `${report.samples} draws`)
    for (const node of report.nodes) {
      if (!node.resolved) continue
      if (node.protected) assert.ok(node.high <= report.delta, `${node.id}: [${node.low}, ${node.high}]`)
      else assert.ok(node.low > report.delta && node.f === node.cap, node.id)
    }
    assert.deepEqual(report.unresolved, report.nodes.filter((n) => !n.resolved))
    // A single round stays a single round.
    assert.equal(nodeTolerances(g, topologySampler(t, { seed: 1 })!, { samples: 500, maxSamples: 500 }).samples, 500)
  })

  test('f_i is the same for every seed and for automorphic nodes: ring-16, torus-4x4, er-32', () => {
    for (const name of ['ring-16', 'torus-4x4', 'er-32']) {
      const t = topologyFile(name)
      const g = topologyGraph(t)
      for (const exact of [true, false]) {
        const runs = [0, 1, 2, 3, 4].map((seed) => nodeTolerances(g, topologySampler(t, { seed })!, { exact }))
        const first = runs[0].nodes.map((n) => n.f)
        for (const run of runs) {
          assert.deepEqual(run.nodes.map((n) => n.f), first, `${name}, exact ${exact}`)
          // Nodes of one orbit share one estimate, hence one f_i.
          for (const node of run.nodes) assert.equal(node.f, run.nodes[node.orbit].f)
        }
        if (name !== 'er-32') {
          // Vertex-transitive, μ_H uniform: a single orbit.
          assert.ok(first.every((f) => f === first[0]), `${name}: ${first.join('')}`)
          if (!exact) assert.ok(runs.every((run) => run.nodes.every((n) => n.pooled === 16)))
        }
      }
    }
  })

  test('per-node priors split the orbits: a ring with one riskier node pools mirror images only', () => {
    const g = ring(16)
    const priors = Array.from({ length: 16 }, (_, i) => i === 3 ? 0.3 : 0.1)
    const report = nodeTolerances(g, createByzantineSampler({ model: 'cascade', seed: 0.1, spread: 0.2 }, g, { seed: 3, priors }),
      { samples: 1000, maxSamples: 1000 })
    assert.equal(report.source, 'monte-carlo')
    assert.deepEqual(report.symmetry, { classes: 9, orbits: 9, complete: true })
    // The reflection through node 3 maps i to 6 − i (mod 16).
    for (const node of report.nodes) {
      const mirror = report.nodes[(22 - node.index) % 16]
      assert.equal(node.orbit, mirror.orbit)
      assert.equal(node.probability, mirror.probability)
      assert.equal(node.pooled, node.index === 3 || node.index === 11 ? 1 : 2)
    }
  })

  test('10,000-node torus: one proven orbit, one pooled estimate, linear cost', { timeout: 120_000 }, () => {
    const g = torus(100, 100)
    const report = nodeTolerances(g, createByzantineSampler({ model: 'cascade', seed: 0.01, spread: 0.2 }, g, { seed: 1 }),
      { samples: 200, maxSamples: 400 })
    assert.deepEqual(report.symmetry, { classes: 1, orbits: 1, complete: true })
    assert.ok(report.nodes.every((n) => n.f === report.nodes[0].f && n.pooled === 10_000))
    const independent = nodeTolerances(g, createByzantineSampler({ model: 'independent', p: 0.1 }, g))
    assert.deepEqual(independent.histogram, [0, 0, 10_000])
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
    assert.ok(result.low < 0.75 && result.high > 0.75, `[${result.low}, ${result.high}]`)
    close(result.halfWidth, studentTQuantile(0.975, 39) * result.std / Math.sqrt(40), 1e-12)
  })
})
