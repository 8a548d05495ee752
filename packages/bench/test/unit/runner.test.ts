import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { canonicalJson, renderReport, runSuite, toCsv, writeFileAtomic, type RunEvent } from '../../src/runner.ts'
import { defineSuite, type AnySuite } from '../../src/suite.ts'

const work = mkdtempSync(join(tmpdir(), 'murmur-runner-'))
after(() => { rmSync(work, { recursive: true, force: true }) })

interface ToyParams { k: number, scale: number, profile: string }
interface ToyResult { id: string, value: number, seed: number }

/** A suite of three cheap cells; `calls` records which cells really ran. */
function toySuite (calls: string[], options: { failOn?: string } = {}): AnySuite {
  return defineSuite<ToyParams, ToyResult>({
    name: 'toy',
    summary: 'a test suite',
    fullDuration: '~0 s',
    options: {
      scale: { type: 'number', default: 1, description: 'multiplies the values' },
      only: { type: 'string', description: 'scale only this cell' }
    },
    cells: (profile, opts) => ['a', 'b', 'c'].map((id, k) => ({
      id,
      params: { k, scale: opts.only === undefined || opts.only === id ? opts.scale as number : 1, profile },
      seed: 10 + k
    })),
    run: async (cell, context) => {
      calls.push(cell.id)
      if (cell.id === options.failOn) throw new Error('boom')
      context.progress(0.5)
      await new Promise((resolve) => setImmediate(resolve))
      return { id: cell.id, value: cell.params.k * cell.params.scale, seed: cell.seed }
    },
    summarize: (results) => ({
      notes: ['Three cells, values k × scale.'],
      tables: [{ name: 'values', title: 'Values', columns: ['cell', 'value', 'note'], rows: results.map((r) => [r.result.id, r.result.value, r.result.id === 'a' ? 'has, a comma' : null]) }],
      plots: [{
        name: 'values',
        title: 'Values per cell',
        caption: 'One bar per cell.',
        spec: { data: { values: results.map((r) => r.result) }, mark: 'bar', encoding: { x: { field: 'id', type: 'nominal' }, y: { field: 'value', type: 'quantitative' } } }
      }],
      checks: [{ name: 'values finite', ok: results.every((r) => Number.isFinite(r.result.value)), detail: `${results.length} cells` }]
    })
  })
}

const read = (dir: string, file: string): string => readFileSync(join(dir, file), 'utf8')

describe('runSuite', () => {
  test('writes the run directory: run.json, cells, results, CSV, plots and report', async () => {
    const dir = join(work, 'full')
    const calls: string[] = []
    const events: RunEvent['type'][] = []
    const outcome = await runSuite(toySuite(calls), { profile: 'quick', outDir: dir, onProgress: (e) => { events.push(e.type) } })
    assert.deepEqual([outcome.interrupted, outcome.ran, outcome.resumed, outcome.failed], [false, 3, 0, []])
    assert.deepEqual(calls, ['a', 'b', 'c'])
    assert.deepEqual(events, ['start', 'cell-start', 'cell-progress', 'cell-done', 'cell-start', 'cell-progress', 'cell-done', 'cell-start', 'cell-progress', 'cell-done', 'rendering'])
    const run = JSON.parse(read(dir, 'run.json'))
    assert.equal(run.suite, 'toy')
    assert.equal(run.profile, 'quick')
    assert.deepEqual(run.options, { scale: 1 })
    assert.deepEqual(run.cells, ['a', 'b', 'c'])
    assert.equal(run.machine.node, process.version)
    assert.ok(run.machine.cores >= 1 && typeof run.machine.cpu === 'string')
    assert.ok(run.endedAt >= run.startedAt)
    const cell = JSON.parse(read(dir, 'cells/b.json'))
    assert.deepEqual(cell.cell, { id: 'b', params: { k: 1, scale: 1, profile: 'quick' }, seed: 11 })
    assert.deepEqual(cell.result, { id: 'b', value: 1, seed: 11 })
    assert.ok(cell.ms >= 0)
    const results = JSON.parse(read(dir, 'results.json'))
    assert.equal(results.cells.length, 3)
    assert.equal(results.summary.checks[0].ok, true)
    assert.equal(read(dir, 'values.csv'), 'cell,value,note\na,0,"has, a comma"\nb,1,\nc,2,\n')
    assert.ok(read(dir, 'plots/values.svg').startsWith('<svg'))
    assert.ok(existsSync(join(dir, 'plots/values.png')))
    const report = read(dir, 'report.md')
    assert.match(report, /^# Benchmark `toy` \(quick profile\)/)
    assert.match(report, /Three cells, values k × scale\./)
    assert.match(report, /\| cell \| value \| note \|\n\| --- \| --- \| --- \|\n\| a \| 0 \| has, a comma \|/)
    assert.match(report, /!\[Values per cell\]\(plots\/values\.svg\)\n\n\*One bar per cell\.\*/)
    assert.match(report, /- ✓ \*\*values finite\*\*: 3 cells/)
    assert.match(report, /npx murmur bench toy --quick --out .*full/)
  })

  test('a rerun skips finished cells; a changed param or seed reruns just those cells', async () => {
    const dir = join(work, 'resume')
    const calls: string[] = []
    await runSuite(toySuite(calls), { profile: 'quick', outDir: dir })
    assert.deepEqual(calls, ['a', 'b', 'c'])
    calls.length = 0
    const again = await runSuite(toySuite(calls), { profile: 'quick', outDir: dir })
    assert.deepEqual([calls, again.ran, again.resumed], [[], 0, 3])
    // Cell b's params change with --only b --scale 3; a and c keep theirs.
    const changed = await runSuite(toySuite(calls), { profile: 'quick', outDir: dir, options: { scale: 3, only: 'b' } })
    assert.deepEqual([calls, changed.ran, changed.resumed], [['b'], 1, 2])
    assert.equal(JSON.parse(read(dir, 'cells/b.json')).result.value, 3)
    // Another base seed changes every cell's seed.
    calls.length = 0
    await runSuite(toySuite(calls), { profile: 'quick', outDir: dir, options: { scale: 3, only: 'b' }, seed: 7 })
    assert.deepEqual(calls, ['a', 'b', 'c'])
    assert.notEqual(JSON.parse(read(dir, 'cells/a.json')).cell.seed, 10)
  })

  test('an abort keeps the finished cells, writes no report, and the rerun finishes the rest', async () => {
    const dir = join(work, 'abort')
    const calls: string[] = []
    const controller = new AbortController()
    const outcome = await runSuite(toySuite(calls), {
      profile: 'quick',
      outDir: dir,
      signal: controller.signal,
      onProgress: (e) => { if (e.type === 'cell-done' && e.cell.id === 'a') controller.abort() }
    })
    assert.deepEqual([outcome.interrupted, outcome.ran, outcome.total], [true, 1, 3])
    assert.deepEqual(readdirSync(join(dir, 'cells')), ['a.json'])
    assert.equal(existsSync(join(dir, 'report.md')), false)
    assert.equal(JSON.parse(read(dir, 'run.json')).interrupted, true)
    await assert.rejects(renderReport(dir, { suite: toySuite([]) }), /2 of 3 cells are not finished \(b, c\); run the suite again/)
    calls.length = 0
    const rest = await runSuite(toySuite(calls), { profile: 'quick', outDir: dir })
    assert.deepEqual([calls, rest.ran, rest.resumed, rest.interrupted], [['b', 'c'], 2, 1, false])
  })

  test('a torn cell file (a crash mid-write) is run again; tmp files and a torn run.json are ignored', async () => {
    const dir = join(work, 'torn')
    const calls: string[] = []
    await runSuite(toySuite(calls), { profile: 'quick', outDir: dir })
    writeFileSync(join(dir, 'cells/c.json'), '{"cell": {"id": "c", "par')
    writeFileSync(join(dir, 'cells/b.json.123.0.tmp'), 'partial')
    writeFileSync(join(dir, 'run.json'), '{"suite": "to')
    calls.length = 0
    await runSuite(toySuite(calls), { profile: 'quick', outDir: dir })
    assert.deepEqual(calls, ['c'])
    assert.equal(JSON.parse(read(dir, 'cells/c.json')).result.value, 2)
  })

  test('a failing cell names itself and keeps the cells before it', async () => {
    const dir = join(work, 'fail')
    await assert.rejects(runSuite(toySuite([], { failOn: 'b' }), { profile: 'quick', outDir: dir }), /suite toy: cell b failed: boom/)
    assert.deepEqual(readdirSync(join(dir, 'cells')), ['a.json'])
  })

  test('bad options and foreign run directories are refused with the name of the problem', async () => {
    await assert.rejects(runSuite(toySuite([]), { profile: 'quick', outDir: join(work, 'x'), options: { sclae: 2 } }), /suite toy: unknown option --sclae \(options: --scale, --only\)/)
    await assert.rejects(runSuite(toySuite([]), { profile: 'quick', outDir: join(work, 'x'), options: { scale: 'big' } }), /--scale: expected a number, got "big"/)
    const dir = join(work, 'foreign')
    await runSuite(toySuite([]), { profile: 'quick', outDir: dir })
    await assert.rejects(runSuite({ ...toySuite([]), name: 'other' }, { profile: 'quick', outDir: dir }), /holds a run of suite "toy", not other/)
    await assert.rejects(renderReport(join(work, 'missing')), /no run directory at .*missing/)
    await assert.rejects(renderReport(work), /is not a benchmark run directory \(it has no run\.json\)/)
  })

  test('renderReport reproduces every rendered file byte for byte', async () => {
    const dir = join(work, 'render')
    await runSuite(toySuite([]), { profile: 'full', outDir: dir })
    const files = ['report.md', 'results.json', 'values.csv', 'plots/values.svg', 'plots/values.png']
    const before = files.map((f) => readFileSync(join(dir, f)))
    for (const f of files) rmSync(join(dir, f))
    await renderReport(dir, { suite: toySuite([]) })
    files.forEach((f, i) => { assert.ok(readFileSync(join(dir, f)).equals(before[i]), f) })
  })
})

describe('runner helpers', () => {
  test('writeFileAtomic replaces a file whole and leaves no temporary file', () => {
    const dir = mkdtempSync(join(work, 'atomic-'))
    const file = join(dir, 'x.json')
    writeFileAtomic(file, 'old')
    writeFileAtomic(file, new Uint8Array([110, 101, 119]))
    assert.equal(readFileSync(file, 'utf8'), 'new')
    assert.deepEqual(readdirSync(dir), ['x.json'])
    assert.throws(() => { writeFileAtomic(join(dir, 'no/such/dir/y'), 'z') }, /ENOENT/)
    assert.deepEqual(readdirSync(dir), ['x.json'])
  })

  test('canonicalJson ignores key order; toCsv quotes what needs quoting', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 3 }], c: null } }), canonicalJson({ a: { c: null, d: [1, { e: 3, f: 2 }] }, b: 1 }))
    assert.equal(toCsv({ name: 't', title: 't', columns: ['a', 'b'], rows: [['x "y"', 'p\nq'], [1.5, null]] }), 'a,b\n"x ""y""","p\nq"\n1.5,\n')
  })
})
