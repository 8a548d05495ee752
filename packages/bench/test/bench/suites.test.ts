import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { findSuite } from '../../src/runner.ts'
import { suites } from '../../src/suites/index.ts'
import { quickRun } from '../helpers/quick-run.ts'

const work = mkdtempSync(join(tmpdir(), 'murmur-suites-'))
after(() => { rmSync(work, { recursive: true, force: true }) })

/** Runs a suite's quick profile into its own folder. */
async function quickRunOf (name: string): Promise<{ dir: string, results: any }> {
  const dir = join(work, name)
  return { dir, results: (await quickRun(findSuite(name), dir, 3)).results }
}

describe('suites', () => {
  test('the registry knows convergence and aggregators, each fully described', () => {
    for (const name of ['convergence', 'aggregators']) {
      const suite = findSuite(name)
      assert.ok(suite.summary.length > 10 && /~\d/.test(suite.fullDuration))
      assert.ok(suite.cells('quick', {}).length < suite.cells('full', {}).length)
    }
    assert.equal(new Set(suites.map((s) => s.name)).size, suites.length, 'suite names are unique')
  })

  test('convergence, quick profile: slopes match 2 ln ρ, training converges', async () => {
    const { results } = await quickRunOf('convergence')
    const topologies = results.cells.map((c: any) => c.result.topology)
    assert.deepEqual(topologies, ['ring', 'torus', 'erdos-renyi', 'regular', 'small-world', 'complete'])
    const ring = results.cells[0].result
    // Ring of 16 with Metropolis weights 1/3: λ₂ = 1/3 + (2/3) cos(2π/16).
    assert.ok(Math.abs(ring.gossip.rho - (1 / 3 + (2 / 3) * Math.cos(2 * Math.PI / 16))) < 1e-9)
    assert.ok(Math.abs(ring.gossip.slope - 2 * Math.log(ring.gossip.rho)) < 1e-3 * Math.abs(ring.gossip.slope))
    assert.ok(ring.train.series.length > 10)
  })

  test('aggregators, quick profile: every rule timed or skipped for a reason, ratios against mean', async () => {
    const { results } = await quickRunOf('aggregators')
    for (const cell of results.cells) {
      const rules = cell.result.rules
      assert.equal(rules.find((r: any) => r.rule === 'mean').ratioToMean, 1)
      for (const r of rules) assert.ok(r.skipped !== undefined || (r.medianMs > 0 && r.times.length === cell.result.runs), r.rule)
    }
  })

  test('suite options are checked and name the option', () => {
    assert.throws(() => findSuite('convergence').cells('quick', { topologies: 'ring,hexagon' }), /--topologies: unknown topology "hexagon"/)
    assert.throws(() => findSuite('convergence').cells('quick', { sizes: '16,x' }), /--sizes: expected integers/)
    assert.throws(() => findSuite('aggregators').cells('quick', { rules: 'mean,foo' }), /unknown rule foo/)
    assert.throws(() => findSuite('nope'), /unknown suite "nope" \(known: [^)]*convergence/)
  })
})
