import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { main } from '../../src/index.ts'

// murmur bench / murmur report through the same command table the binary runs, in-process.
const work = mkdtempSync(join(tmpdir(), 'murmur-bench-cli-'))
after(() => { rmSync(work, { recursive: true, force: true }) })

async function murmur (...argv: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  let stdout = ''; let stderr = ''
  const code = await main(argv, { stdout: (t) => { stdout += t }, stderr: (t) => { stderr += t } })
  return { code, stdout, stderr }
}

describe('murmur bench', () => {
  test('--help lists the suites with their own options; a suite\'s --help shows the common ones too', async () => {
    const help = await murmur('bench', '--help')
    assert.equal(help.code, 0)
    assert.match(help.stdout, /^Usage: murmur bench \[suite\] \[options\]/)
    assert.match(help.stdout, /convergence — gossip averaging .*\(full ~[\d.]+ min\)\n\s+--topologies <list>/)
    assert.match(help.stdout, /aggregators — .*\n(.*\n)*?\s+--runs <n>\s+timed runs per rule/)
    const suite = await murmur('bench', 'convergence', '--help')
    assert.equal(suite.code, 0)
    assert.match(suite.stdout, /^Usage: murmur bench convergence \[options\]/)
    for (const flag of ['--quick', '--out <dir>', '--seed <n>', '--sizes <list>', '--lr <x>']) assert.ok(suite.stdout.includes(flag), flag)
    assert.match((await murmur('--help')).stdout, /\n\s+bench\s+run a benchmark suite[^\n]*\n\s+report\s+re-render/)
  })

  test('--list names every suite with its full duration', async () => {
    const list = await murmur('bench', '--list')
    assert.equal(list.code, 0)
    assert.match(list.stdout, /^convergence\s+full ~[\d.]+ min\s+gossip averaging/m)
    assert.match(list.stdout, /^aggregators\s+full ~[\d.]+ min\s+speed of every robust/m)
  })

  test('an unknown suite, a missing suite and a bad suite option are usage errors (exit 2)', async () => {
    const unknown = await murmur('bench', 'speed')
    assert.equal(unknown.code, 2)
    assert.match(unknown.stderr, /^murmur: unknown command "speed" for "murmur bench" \(expected [^)]*convergence[^)]*\)\nRun 'murmur bench --help' for usage\./)
    const missing = await murmur('bench')
    assert.equal(missing.code, 2)
    assert.match(missing.stderr, /missing <suite>/)
    const bad = await murmur('bench', 'convergence', '--quick', '--sizes', '16,many', '--out', join(work, 'bad'))
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /^murmur: --sizes: expected integers between 9 and 4096, got "many"\nRun 'murmur bench convergence --help'/)
    assert.equal(existsSync(join(work, 'bad')), false, 'nothing written on a usage error')
    assert.equal((await murmur('bench', 'aggregators', '--runs', 'two')).code, 2)
  })

  test('a quick run writes its report and prints the checks; murmur report re-renders it', async () => {
    const dir = join(work, 'agg')
    const run = await murmur('bench', 'aggregators', '--quick', '--rules', 'mean,cwtm,krum', '--n', '8', '--runs', '3', '--out', dir)
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stdout, /✓ timings finite and positive/)
    assert.match(run.stdout, /1 cell run, 0 resumed; report: .*agg\/report\.md/)
    assert.match(run.stderr, /\[1\/1\] n8-d1e4 /)
    assert.match(readFileSync(join(dir, 'report.md'), 'utf8'), /npx murmur bench aggregators --quick --rules mean,cwtm,krum --n 8 --runs 3 --out /)
    const again = await murmur('bench', 'aggregators', '--quick', '--rules', 'mean,cwtm,krum', '--n', '8', '--runs', '3', '--out', dir)
    assert.match(again.stdout, /0 cells run, 1 resumed/)
    const report = readFileSync(join(dir, 'report.md'), 'utf8')
    const rendered = await murmur('report', dir)
    assert.equal(rendered.code, 0, rendered.stderr)
    assert.match(rendered.stdout, /wrote .*report\.md: 2 tables, 2 plots, \d+ of \d+ checks pass/)
    assert.equal(readFileSync(join(dir, 'report.md'), 'utf8'), report)
  })
})

describe('murmur report', () => {
  test('a missing or foreign directory is a clear error (exit 1); no argument is a usage error', async () => {
    const missing = await murmur('report', join(work, 'nothing-here'))
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /^murmur: no run directory at .*nothing-here\n$/)
    const foreign = await murmur('report', work)
    assert.equal(foreign.code, 1)
    assert.match(foreign.stderr, /is not a benchmark run directory \(it has no run\.json\)/)
    const none = await murmur('report')
    assert.equal(none.code, 2)
    assert.match(none.stderr, /missing <run-dir>/)
    assert.equal((await murmur('report', '--help')).code, 0)
  })
})
