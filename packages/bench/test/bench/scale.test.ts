import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { findSuite } from '../../src/runner.ts'
import { allFinite } from '../../src/stats.ts'
import { scale, type ScaleResult } from '../../src/suites/scale/index.ts'
import { quickRun } from '../helpers/quick-run.ts'

const work = mkdtempSync(join(tmpdir(), 'murmur-scale-'))
after(() => { rmSync(work, { recursive: true, force: true }) })

describe('scale suite', () => {
  test('registered; options are checked and errors name the option', () => {
    assert.equal(findSuite('scale'), scale)
    assert.match(scale.fullDuration, /~\d/)
    assert.deepEqual(scale.cells('full', {}).map((c) => c.params.n), [16, 32, 64, 128])
    assert.deepEqual(scale.cells('quick', {}).map((c) => c.params.n), [4, 8])
    const ids = scale.cells('full', {}).map((c) => c.id)
    assert.equal(new Set(ids).size, ids.length)
    assert.equal(scale.cells('full', { sizes: '20,40', degree: 4, rounds: 10, model: 'mlp' }).length, 2)
    assert.throws(() => scale.cells('full', { sizes: '16,x' }), /--sizes: expected integers between 4 and 1024, got "x"/)
    assert.throws(() => scale.cells('full', { sizes: '2' }), /--sizes: expected integers between 4 and 1024, got "2"/)
    assert.throws(() => scale.cells('full', { sizes: '16,16' }), /--sizes: a size is listed twice/)
    assert.throws(() => scale.cells('full', { degree: 1 }), /--degree: expected an integer ≥ 2/)
    assert.throws(() => scale.cells('full', { sizes: '8', degree: 8 }), /--degree: 8 needs more than 8 nodes/)
    assert.throws(() => scale.cells('full', { sizes: '9', degree: 3 }), /--degree: n·k must be even/)
    assert.throws(() => scale.cells('full', { rounds: 3 }), /--rounds: expected an integer ≥ 4/)
    assert.throws(() => scale.cells('full', { model: 'cnn' }), /--model: expected one of logistic, mlp, got "cnn"/)
    assert.throws(() => scale.cells('full', { 'round-timeout': 5 }), /--round-timeout: expected an integer ≥ 100/)
  })

  test('quick profile: real swarms run every round, learn, and every check passes', async () => {
    const dir = join(work, 'quick')
    const { results } = await quickRun(scale, dir, 4)
    const cells: ScaleResult[] = results.cells.map((c: { result: ScaleResult }) => c.result)
    assert.ok(allFinite(cells), 'every number in the cell results is finite')
    assert.deepEqual(cells.map((r) => r.n), [4, 8])
    for (const r of cells) {
      assert.equal(r.roundsCompleted, r.rounds)
      assert.equal(r.series.length, r.rounds)
      assert.ok(r.medianRoundMs > 0 && r.p90RoundMs > 0, `N = ${r.n}: round times recorded`)
      assert.ok(r.split.computeMs > 0 && r.split.communicateMs > 0 && r.split.aggregateMs > 0)
      assert.ok(r.rssPerPeerMiB > 0 && r.rssPerPeerMaxMiB >= r.rssPerPeerMiB)
      assert.ok(r.accuracy > 0.5, `N = ${r.n}: accuracy ${r.accuracy}`)
      assert.ok(r.receivedFraction > 0 && r.receivedFraction <= 1)
      // Each launch keeps its run directory under the cell's own folder.
      assert.ok(existsSync(join(dir, 'cells', `n${r.n}-k3`, 'summary.json')))
    }
  })
})
