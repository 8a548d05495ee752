import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createRng } from '@murmur/robust'
import {
  clopperPearsonInterval, createByzantineSampler, diagnoseSampler, effectiveSampleSize, expectedOverHonestSets, isingSampler, nodeTolerances,
  rankNormalizedSplitRhat, splitRhat, torus
} from '../../src/index.ts'

/** An AR(1) series x_t = ρ x_{t−1} + ε_t started in its stationary law (var 1/(1 − ρ²)). */
function autoregressive (length: number, rho: number, seed: number, shift = 0, scale = 1): Float64Array {
  const rng = createRng(seed)
  const x = new Float64Array(length)
  let v = rng.normal() / Math.sqrt(1 - rho * rho)
  for (let t = 0; t < length; t++) { v = rho * v + rng.normal(); x[t] = shift + scale * v }
  return x
}

const within = (actual: number, expected: number, relative: number, message = ''): void => {
  assert.ok(Math.abs(actual / expected - 1) <= relative, `${message} ${actual} vs ${expected} (± ${100 * relative}%)`)
}

describe('effective sample size', () => {
  test('independent draws are worth their number, one chain or several', () => {
    within(effectiveSampleSize([autoregressive(4000, 0, 1)]).ess, 4000, 0.15, 'one chain')
    const chains = [0, 1, 2, 3].map((c) => autoregressive(1000, 0, 10 + c))
    within(effectiveSampleSize(chains).ess, 4000, 0.15, 'four chains')
  })

  test('AR(1) with ρ = 0.9 is worth n(1 − ρ)/(1 + ρ) draws', () => {
    const rho = 0.9
    const expected = 20000 * (1 - rho) / (1 + rho) // 1052.6
    within(effectiveSampleSize([autoregressive(20000, rho, 2)]).ess, expected, 0.2, 'one chain')
    const chains = [0, 1, 2, 3].map((c) => autoregressive(5000, rho, 20 + c))
    within(effectiveSampleSize(chains).ess, expected, 0.2, 'four chains')
    // Long autocorrelations reach the FFT path (lags ≥ 32): ρ = 0.99 gives τ ≈ 199.
    const slow = effectiveSampleSize([autoregressive(100000, 0.99, 3)]).ess
    within(slow, 100000 * 0.01 / 1.99, 0.3, 'ρ = 0.99')
  })

  test('chains stuck apart are worth about one draw each; a constant says nothing', () => {
    const stuck = [0, 1, 2, 3].map((c) => autoregressive(1000, 0.5, 30 + c, 10 * c))
    assert.ok(effectiveSampleSize(stuck).ess < 10, `${effectiveSampleSize(stuck).ess}`)
    const flat = effectiveSampleSize([new Float64Array(100).fill(2)])
    assert.equal(flat.variance, 0)
    assert.ok(Number.isNaN(flat.ess))
  })
})

describe('split-R̂', () => {
  test('≈ 1 for well-mixed chains', () => {
    const chains = [0, 1, 2, 3].map((c) => autoregressive(1000, 0.5, 40 + c))
    assert.ok(splitRhat(chains) < 1.01, `${splitRhat(chains)}`)
    assert.ok(rankNormalizedSplitRhat(chains) < 1.01, `${rankNormalizedSplitRhat(chains)}`)
  })

  test('> 1.05 for chains in different modes, for a drifting chain, and (rank-normalised) for different spreads', () => {
    const modes = [0, 1, 2, 3].map((c) => autoregressive(1000, 0.5, 50 + c, c < 2 ? 0 : 3))
    assert.ok(splitRhat(modes) > 1.05 && rankNormalizedSplitRhat(modes) > 1.05)
    // One chain drifting from 0 to 2: its two halves disagree.
    const drift = autoregressive(2000, 0.5, 60).map((x, t) => x + 2 * t / 2000)
    assert.ok(splitRhat([drift]) > 1.05, `${splitRhat([drift])}`)
    // Same centre, spreads 1 and 4: the means agree, so only the folded (tail) R̂ sees it.
    const spreads = [0, 1, 2, 3].map((c) => autoregressive(1000, 0, 70 + c, 0, c < 2 ? 1 : 4))
    assert.ok(splitRhat(spreads) < 1.05, `plain ${splitRhat(spreads)}`)
    assert.ok(rankNormalizedSplitRhat(spreads) > 1.05, `rank-normalised ${rankNormalizedSplitRhat(spreads)}`)
  })
})

describe('Ising chains on the 4×4 torus', () => {
  const g = torus(4, 4)

  test('β = 0.8, h = 0: the chains stay in the modes they started near, and R̂ says so', () => {
    // Exactly, every node is Byzantine with probability 1/2 (the law is symmetric under s → −s).
    const d = diagnoseSampler(isingSampler(g, { beta: 0.8, h: 0 }, createRng(1)), g.ids, 2000)
    assert.ok(d.countRhat > 1.05, `R̂(|B|) ${d.countRhat}`)
    assert.ok(d.marginalRhat > 1.05, `R̂ marginal ${d.marginalRhat}`)
    assert.equal(d.mixed, false)
    assert.ok(d.countEss < 20, `ESS ${d.countEss}`)
    assert.ok(d.warnings.some((w) => /have not mixed/.test(w)), d.warnings.join('\n'))
    // The tolerance report built on such draws carries the warning.
    const report = nodeTolerances(g, isingSampler(g, { beta: 0.8, h: 0 }, createRng(2)), { exact: false, samples: 2000 })
    assert.equal(report.chain?.mixed, false)
    assert.ok(report.warnings.some((w) => /have not mixed/.test(w)), report.warnings.join('\n'))
  })

  test('β = 0.3, h = −1: mixed, nearly independent draws, no warning', () => {
    const d = diagnoseSampler(isingSampler(g, { beta: 0.3, h: -1 }, createRng(1)), g.ids, 2000)
    assert.ok(d.countRhat < 1.05 && d.marginalRhat < 1.05, `R̂ ${d.countRhat}, ${d.marginalRhat}`)
    assert.equal(d.mixed, true)
    assert.ok(d.countEss > 1000, `ESS ${d.countEss}`)
    assert.deepEqual(d.warnings, [])
  })

  test('β = 0.5, h = 0: ESS-based intervals cover the enumerated values at the 95% rate', () => {
    // τ ≈ 260 sweeps here: 8000 draws 5 sweeps apart are worth ~100–300. Intervals that took the
    // raw count would cover in roughly a third of the runs.
    const beta = 0.5; const h = 0; const draws = 8000; const runs = 100
    const exact = nodeTolerances(g, isingSampler(g, { beta, h }, createRng(0)), { delta: 1 })
    assert.equal(exact.source, 'enumeration')
    const tail = exact.nodes[0].probability // P(|N(i) ∩ B| > 0) = 0.5683
    const count = exact.byzantineCount.mean // E|B| = 8 by symmetry
    let tailCovered = 0; let countCovered = 0; let rawCovered = 0
    const sizes: number[] = []
    for (let run = 0; run < runs; run++) {
      // δ = 1 fixes f_i = 0 for every node, so the interval is that of P(X_i > 0).
      const report = nodeTolerances(g, isingSampler(g, { beta, h }, createRng(run)), { delta: 1, samples: draws, maxSamples: draws, exact: false })
      const node = report.nodes[0]
      assert.equal(node.f, 0)
      if (node.low <= tail && tail <= node.high) tailCovered++
      const c = report.byzantineCount
      if (c.low <= count && count <= c.high) countCovered++
      const raw = clopperPearsonInterval(node.probability * draws, draws)
      if (raw.low <= tail && tail <= raw.high) rawCovered++
      sizes.push(node.effectiveDraws)
    }
    // Binomial(100, 0.95): 95 ± 2.2; 88 is three standard deviations below.
    assert.ok(tailCovered >= 88, `P(X > 0) covered in ${tailCovered} of ${runs}`)
    assert.ok(countCovered >= 88, `E|B| covered in ${countCovered} of ${runs}`)
    assert.ok(rawCovered < 60, `raw-count intervals covered in ${rawCovered} of ${runs}`)
    sizes.sort((a, b) => a - b)
    const median = sizes[runs / 2]
    assert.ok(median > 50 && median < 600, `median effective size ${median} of ${draws} draws × 16 nodes`)
  })

  test('independent draws carry no chain diagnostics', () => {
    const report = nodeTolerances(g, createByzantineSampler({ model: 'gaussian', tau: 1, p: 0.1 }, g, { seed: 3 }), { samples: 500 })
    assert.equal(report.chain, null)
    assert.deepEqual(report.warnings, [])
    assert.equal(report.byzantineCount.effectiveCount, undefined)
  })

  test('a mean over chain draws rests on their effective number', async () => {
    const sampler = isingSampler(g, { beta: 0.5, h: 0 }, createRng(5))
    const result = await expectedOverHonestSets(sampler, 2000, (honest) => honest.reduce((a, b) => a + b, 0))
    assert.ok(result.effectiveCount !== undefined && result.effectiveCount < 200, `${result.effectiveCount}`)
    assert.equal(result.count, 2000)
  })
})
