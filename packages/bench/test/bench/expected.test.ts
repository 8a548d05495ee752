import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { meanInterval } from '../../src/sim/common.ts'
import { expected, groupSummaries, pairedDifference, type ExpectedParams, type RunKey, type ExpectedResult } from '../../src/suites/expected/index.ts'
import type { CellResult } from '../../src/suite.ts'

const close = (a: number | null, b: number, tol = 1e-9): void => {
  assert.ok(a !== null && Math.abs(a - b) <= tol, `${String(a)} ≠ ${b}`)
}

/** A cell result with only what the summaries read. */
function fake (setting: ExpectedParams['setting'], tolerance: ExpectedParams['tolerance'], run: number, accuracy: number, byzantine = 2): CellResult<ExpectedResult, RunKey> {
  return {
    cell: { id: `${setting}-${run}-${tolerance}`, seed: run, params: { setting, tolerance, run } },
    result: { nodes: 8, byzantine: Array.from({ length: byzantine }, (_, i) => `p${i}`), overrun: [], f: [1, 1], meanAccuracy: accuracy, minAccuracy: accuracy - 0.1, meanTestLoss: 1 - accuracy, consensus: 0, delivered: 1, deliveryValid: true, deliveryWarnings: [] },
    ms: 1
  }
}

describe('confidence intervals', () => {
  test('t-interval by hand', () => {
    // [0.8, 0.9, 1.0]: mean 0.9, s = 0.1, t_{0.975, 2} = 4.302652729911275, half-width 4.3027 · 0.1/√3.
    const a = meanInterval([0.8, 0.9, 1.0])
    close(a.mean, 0.9, 1e-12)
    close(a.halfWidth, 4.302652729911275 * 0.1 / Math.sqrt(3), 1e-9)
    close(a.halfWidth, 0.248413771, 1e-8)
    close(a.low, 0.9 - 0.248413771, 1e-8)
    close(a.high, 0.9 + 0.248413771, 1e-8)
    // [1, 2, 3, 4, 5]: mean 3, s = √2.5, t_{0.975, 4} = 2.776445105, half-width 2.7764 · √(2.5/5) = 1.963243.
    const b = meanInterval([1, 2, 3, 4, 5])
    close(b.halfWidth, 2.776445105197793 * Math.sqrt(0.5), 1e-9)
    close(b.low, 3 - 1.9632432, 1e-6)
    // Identical runs: a zero-width interval. One run: no interval.
    assert.deepEqual(meanInterval([0.5, 0.5]), { count: 2, mean: 0.5, low: 0.5, high: 0.5, halfWidth: 0 })
    assert.deepEqual(meanInterval([0.7]), { count: 1, mean: 0.7, low: null, high: null, halfWidth: null })
  })

  test('groups and the paired per-node − global difference', () => {
    const results = [
      fake('mu-h', 'global', 0, 0.80, 1), fake('mu-h', 'per-node', 0, 0.82, 1),
      fake('mu-h', 'global', 1, 0.70, 5), fake('mu-h', 'per-node', 1, 0.75, 5),
      fake('mu-h', 'global', 2, 0.90, 0), fake('mu-h', 'per-node', 2, 0.90, 0),
      fake('worst-case', 'global', 0, 0.60, 3), fake('worst-case', 'per-node', 0, 0.65, 3)
    ]
    const groups = groupSummaries(results)
    assert.deepEqual(groups.map((g) => `${g.setting}/${g.tolerance}/${g.runs}`), ['mu-h/global/3', 'mu-h/per-node/3', 'worst-case/global/1', 'worst-case/per-node/1'])
    close(groups[0].accuracy.mean, 0.8)
    close(groups[0].meanByzantine, 2)
    close(groups[0].worstRun, 0.7)
    // global: 0.8, 0.7, 0.9 → s = 0.1, the same half-width as [0.8, 0.9, 1.0].
    close(groups[0].accuracy.halfWidth, 0.248413771, 1e-8)
    assert.equal(groups[2].accuracy.low, null)
    // Differences 0.02, 0.05, 0: mean 0.07/3, s = √(((0.02 − m)² + (0.05 − m)² + m²)/2).
    const m = 0.07 / 3
    const s = Math.sqrt(((0.02 - m) ** 2 + (0.05 - m) ** 2 + m ** 2) / 2)
    const diff = pairedDifference(results)
    close(diff?.mean ?? null, m, 1e-12)
    close(diff?.halfWidth ?? null, 4.302652729911275 * s / Math.sqrt(3), 1e-9)
    assert.equal(pairedDifference(results.slice(0, 2)), undefined)
  })
})

describe('expected suite', () => {
  test('options are checked and name the option', () => {
    assert.throws(() => expected.cells('quick', { attack: 'none' }), /--attack: the expected objective needs an attack/)
    assert.throws(() => expected.cells('quick', { rule: 'nope' }), /--rule: "nope"/)
    assert.throws(() => expected.cells('quick', { draws: 1 }), /--draws: expected an integer ≥ 2/)
    assert.throws(() => expected.cells('quick', { topology: 'topologies/none.json' }), /topology file topologies\/none.json does not exist/)
    const full = expected.cells('full', {})
    assert.equal(full.length, 2 * (20 + 5))
    assert.equal(new Set(full.map((c) => c.id)).size, full.length)
  })

  test('quick profile: every cell runs and every check passes', async () => {
    const cells = expected.cells('quick', {})
    assert.equal(cells.length, 2 * (3 + 1))
    const results: Array<CellResult<ExpectedResult, ExpectedParams>> = []
    const signal = new AbortController().signal
    for (const cell of cells) {
      const started = performance.now()
      const result = await expected.run(cell, { profile: 'quick', options: {}, outDir: '', signal, progress: () => {}, log: () => {} })
      results.push({ cell, result, ms: performance.now() - started })
    }
    const summary = expected.summarize(results, 'quick')
    assert.deepEqual(summary.checks.filter((c) => !c.ok), [])
    assert.ok(summary.checks.length >= 4)
    assert.deepEqual(summary.plots.map((p) => p.name), ['expected-accuracy'])
    assert.ok(summary.notes.some((n) => n.startsWith('**What it means.**')))
    const params = (r: CellResult<ExpectedResult, ExpectedParams>): ExpectedParams => r.cell.params
    for (const r of results) {
      if (params(r).setting === 'worst-case') assert.equal(r.result.byzantine.length, params(r).worstCount, r.cell.id)
    }
    // Draw k is the same Byzantine set under both tolerance designs (a paired comparison).
    for (let k = 0; k < 3; k++) {
      const pair = results.filter((r) => params(r).setting === 'mu-h' && params(r).run === k)
      assert.equal(pair.length, 2)
      assert.deepEqual(pair[0].result.byzantine, pair[1].result.byzantine)
    }
    assert.deepEqual(expected.summarize(results, 'quick'), summary)
  })
})
