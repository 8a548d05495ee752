import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { empiricalKappa } from '@murmur/robust'
import { parseHeterogeneity, splitSpecList } from '../../src/sim/common.ts'
import { quantile } from '@murmur/robust'
import { kappaReport, kappaStats } from '../../src/sim/swarm.ts'
import { robustness, type RobustnessResult } from '../../src/suites/robustness/index.ts'
import type { CellResult } from '../../src/suite.ts'

const close = (a: number | null, b: number, tol = 1e-12): void => {
  assert.ok(a !== null && Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${String(a)} ≠ ${b}`)
}

describe('empirical κ', () => {
  test('one aggregation, by hand', () => {
    // Honest (0, 0) and (2, 0): mean (1, 0), spread (1 + 1)/2 = 1. Output (1, 1): error 1, κ = 1.
    const inputs = [Float32Array.of(0, 0), Float32Array.of(2, 0), Float32Array.of(10, 10)]
    close(empiricalKappa(Float32Array.of(1, 1), inputs, [0, 1]), 1)
    // Output (4, 0): error 9 over spread 1.
    close(empiricalKappa(Float32Array.of(4, 0), inputs, [0, 1]), 9)
    // With the third input honest too: mean (4, 10/3), spread (16 + 100/9 + 4 + 100/9 + 36 + 400/9)/3 = 368/9.
    close(empiricalKappa(Float32Array.of(4, 10 / 3), inputs, [0, 1, 2]), 0, 1e-6)
    close(empiricalKappa(Float32Array.of(5, 10 / 3), inputs, [0, 1, 2]), 9 / 368, 1e-6)
  })

  test('quantiles and stats interpolate between order statistics', () => {
    close(quantile([3, 1, 2, 4], 0.5), 2.5)
    close(quantile([0, 10], 0.95), 9.5)
    assert.ok(Number.isNaN(quantile([], 0.5)))
    assert.deepEqual(kappaStats([]), { count: 0, median: null, p95: null, max: null })
    const s = kappaStats([1, 2, 3, 4, 5])
    assert.equal(s.count, 5); close(s.median, 3); close(s.p95, 4.8); close(s.max, 5)
  })

  test('report: closed-form κ per (n, f), aggregations above it, overrun and uncovered ones', () => {
    // CWTM at n = 5, f = 1: r = 1/3, κ = 6 r (1 + r) = 8/3. At n = 7, f = 2: r = 2/3, κ = 4 · 5/3 = 20/3.
    const report = kappaReport('cwtm', [
      { n: 5, f: 1, byzantine: 0, kappa: 0.1 },
      { n: 5, f: 1, byzantine: 1, kappa: 0.5 },
      { n: 5, f: 1, byzantine: 1, kappa: 3 }, // above 8/3
      { n: 5, f: 1, byzantine: 2, kappa: 50 }, // b > f: the guarantee does not apply
      { n: 7, f: 2, byzantine: 2, kappa: 6 }
    ], 2)
    close(report.bound, 20 / 3)
    close(report.lowerBound, 2 / 3) // f/(n − 2f) at n = 7, f = 2
    assert.equal(report.aboveBound, 1)
    assert.equal(report.overrun, 1)
    assert.equal(report.undefinedCount, 2)
    assert.deepEqual([report.all.count, report.exposed.count, report.covered.count], [5, 4, 3])
    close(report.covered.max, 6)
    close(report.all.max, 50)
    // CWMed: 4 (1 + r)² = 64/9 at n = 5, f = 1; composite rules have no closed form.
    close(kappaReport('cwmed', [{ n: 5, f: 1, byzantine: 1, kappa: 1 }]).bound, 64 / 9)
    const nnm = kappaReport('nnm+cwtm', [{ n: 5, f: 1, byzantine: 1, kappa: 1 }])
    assert.equal(nnm.bound, null)
    close(nnm.lowerBound, 1 / 3)
    assert.equal(kappaReport('mean', [{ n: 5, f: 0, byzantine: 0, kappa: 0 }]).lowerBound, null)
  })
})

describe('robustness suite', () => {
  test('options: spec lists keep parenthesised commas; bad rules, attacks and partitions are named', () => {
    assert.deepEqual(splitSpecList('mean, gaussian(mu=0,sigma=2),ipm(eps=0.5)'), ['mean', 'gaussian(mu=0,sigma=2)', 'ipm(eps=0.5)'])
    assert.deepEqual(parseHeterogeneity('0.1'), { kind: 'dirichlet', alpha: 0.1 })
    assert.deepEqual(parseHeterogeneity('dir10'), { kind: 'dirichlet', alpha: 10 })
    assert.throws(() => parseHeterogeneity('-1'), /heterogeneity "-1"/)
    assert.throws(() => robustness.cells('quick', { rules: 'mean,nope' }), /--rules: "nope"/)
    assert.throws(() => robustness.cells('quick', { attacks: 'teleport' }), /--attacks: "teleport"/)
    assert.throws(() => robustness.cells('quick', { f: 'x' }), /--f: expected an integer/)
    const full = robustness.cells('full', {})
    assert.equal(full.length, 5 * 5 * 4)
    assert.equal(new Set(full.map((c) => c.id)).size, full.length)
  })

  test('quick profile: every cell runs and every check passes', async () => {
    const cells = robustness.cells('quick', {})
    assert.equal(cells.length, 6)
    const results: Array<CellResult<RobustnessResult>> = []
    const signal = new AbortController().signal
    for (const cell of cells) {
      const started = performance.now()
      const result = await robustness.run(cell, { profile: 'quick', options: {}, outDir: '', signal, progress: () => {}, log: () => {} })
      results.push({ cell, result, ms: performance.now() - started })
    }
    const summary = robustness.summarize(results, 'quick')
    assert.deepEqual(summary.checks.filter((c) => !c.ok), [])
    assert.ok(summary.checks.length >= 5, summary.checks.map((c) => c.name).join('; '))
    assert.deepEqual(summary.plots.map((p) => p.name), ['accuracy-heatmap', 'kappa'])
    for (const { cell, result } of results) {
      const attacked = (cell.params as { attack: string }).attack !== 'none'
      assert.equal(result.byzantine.length, attacked ? 3 : 0, cell.id)
      assert.equal(result.kappa.all.count + result.kappa.undefinedCount, (16 - result.byzantine.length) * 10, cell.id)
    }
    // NNM maps every honest input onto the honest mean when b ≤ f: κ vanishes up to rounding.
    const nnm = results.find((r) => r.cell.id === 'iid-nnm+cwtm-signflip')?.result
    assert.ok(nnm !== undefined && (nnm.kappa.covered.max as number) < 1e-6)
    // Same inputs, same outputs: summarize is pure.
    assert.deepEqual(robustness.summarize(results, 'quick'), summary)
  })
})
