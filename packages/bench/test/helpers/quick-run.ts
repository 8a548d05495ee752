// Runs a suite's quick profile, as CI does, and checks what every run directory must hold.

import assert from 'node:assert/strict'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { PNG_SIGNATURE } from '../../src/plot.ts'
import { runSuite } from '../../src/runner.ts'
import { allFinite } from '../../src/stats.ts'
import type { AnySuite, SuiteSummary } from '../../src/suite.ts'

/**
 * Every check passes (at least `minChecks` of them), every plot exists as SVG and PNG, every table
 * as CSV, every number in the cell results is finite, and the report says all checks passed.
 */
export async function quickRun (suite: AnySuite, dir: string, minChecks: number): Promise<{ summary: SuiteSummary, results: any }> {
  const outcome = await runSuite(suite, { profile: 'quick', outDir: dir })
  assert.equal(outcome.interrupted, false)
  const summary = outcome.summary
  assert.ok(summary !== undefined)
  assert.deepEqual(summary.checks.filter((c) => !c.ok), [], 'every quick-profile check passes')
  assert.ok(summary.checks.length >= minChecks, `${summary.checks.length} checks, expected ≥ ${minChecks}`)
  for (const plot of summary.plots) {
    assert.ok(statSync(join(dir, 'plots', `${plot.name}.svg`)).size > 1000, plot.name)
    assert.deepEqual(readFileSync(join(dir, 'plots', `${plot.name}.png`)).subarray(0, 8), Buffer.from(PNG_SIGNATURE))
  }
  for (const table of summary.tables) assert.ok(existsSync(join(dir, `${table.name}.csv`)), table.name)
  const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'))
  assert.ok(allFinite(results.cells.map((c: { result: unknown }) => c.result)), 'every number in the cell results is finite')
  assert.match(readFileSync(join(dir, 'report.md'), 'utf8'), /## Checks\n\nAll \d+ checks pass\./)
  return { summary, results }
}
