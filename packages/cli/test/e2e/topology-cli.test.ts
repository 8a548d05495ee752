import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../../../', import.meta.url))
const work = mkdtempSync(join(tmpdir(), 'murmur-cli-'))
after(() => { rmSync(work, { recursive: true, force: true }) })

/** Runs the real binary on this Node (24) from the repository root. */
function murmur (args: string[], env: Record<string, string> = {}): { code: number | null, stdout: string, stderr: string } {
  const result = spawnSync(process.execPath, ['packages/cli/bin/murmur.ts', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, DEBUG: '', ...env },
    timeout: 60_000
  })
  return { code: result.status, stdout: result.stdout, stderr: result.stderr }
}

describe('murmur help and usage errors', () => {
  test('murmur --help lists the commands', () => {
    const help = murmur(['--help'])
    assert.equal(help.code, 0)
    assert.match(help.stdout, /^Usage: murmur <command> \[options\]/)
    assert.match(help.stdout, /Commands:\n\s+launch\s+start every node of a topology as a real peer/)
    assert.match(help.stdout, /\n\s+topology\s+generate and inspect topology files/)
  })

  test('subcommand --help shows usage, options with defaults, and examples', () => {
    const inspect = murmur(['topology', 'inspect', '--help'])
    assert.equal(inspect.code, 0)
    assert.match(inspect.stdout, /^Usage: murmur topology inspect <file> \[options\]/)
    assert.match(inspect.stdout, /--delta <δ>\s+failure probability δ of f_i\(δ\) \(default: 0\.05\)/)
    assert.match(inspect.stdout, /--samples <n>\s+Monte Carlo draws from μ_H \(default: 2000\)/)
    assert.match(inspect.stdout, /Examples:\n\s+murmur topology inspect topologies\/ring-8\.json/)
  })

  test('an unknown flag is a usage error naming the flag (exit 2)', () => {
    const r = murmur(['topology', 'inspect', 'topologies/ring-8.json', '--detla', '0.1'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /^murmur: unknown option --detla\nRun 'murmur topology inspect --help' for usage\./)
    assert.equal(r.stdout, '')
  })
})

describe('murmur topology generate → inspect', () => {
  test('a generated torus round-trips through a file and is inspected as text and JSON', () => {
    const file = join(work, 'torus.json')
    const gen = murmur(['topology', 'generate', 'torus', '--rows', '4', '--cols', '4',
      '--byzantine-model', 'ising', '--ising-beta', '0.2', '--ising-h', '-1', '-o', file])
    assert.equal(gen.code, 0, gen.stderr)
    assert.match(gen.stderr, /wrote .*torus\.json: torus-4x4, 16 nodes, 32 edges/)
    const written = JSON.parse(readFileSync(file, 'utf8'))
    assert.deepEqual(written.byzantine, { model: 'ising', beta: 0.2, h: -1 })

    const text = murmur(['topology', 'inspect', file])
    assert.equal(text.code, 0, text.stderr)
    assert.match(text.stdout, /torus-4x4: 16 nodes, 32 edges, connected/)
    assert.match(text.stdout, /ρ = 0\.600000, spectral gap 0\.400000/) // W = (I + A)/5, eigenvalues of A in [−4, 4]
    assert.match(text.stdout, /diameter\s+4/)

    const json = murmur(['topology', 'inspect', file, '--json', '--delta', '0.1', '--samples', '500', '--seed', '3'])
    assert.equal(json.code, 0, json.stderr)
    const report = JSON.parse(json.stdout)
    assert.equal(report.nodes, 16)
    assert.equal(report.edges, 32)
    assert.deepEqual(report.degree, { min: 4, max: 4, mean: 4, median: 4, std: 0 })
    assert.ok(Math.abs(report.mixing.rho - 0.6) < 1e-9)
    assert.ok(Math.abs(report.algebraicConnectivity.value - 2) < 1e-9) // λ₂(L) of C4 × C4 = 2 − 2cos(2π/4)
    assert.equal(report.diameter.value, 4)
    assert.equal(report.byzantine.model, 'ising')
    assert.equal(report.byzantine.samples, 500)
    assert.ok(report.byzantine.expectedCount.low <= report.byzantine.expectedCount.mean)
    assert.equal(report.tolerance.delta, 0.1)
    assert.equal(report.tolerance.nodes.length, 16)
    assert.equal(report.tolerance.histogram.reduce((a: number, b: number) => a + b, 0), 16)
    assert.ok(Array.isArray(report.tolerance.unprotected))
  })
})

describe('murmur topology inspect on bad files', () => {
  test('a file with an unknown node exits non-zero naming the field', () => {
    const file = join(work, 'bad.json')
    writeFileSync(file, JSON.stringify({ name: 'bad', nodes: [{ id: 'p0' }, { id: 'p1' }], edges: [['p0', 'p1'], ['p1', 'p9']] }))
    const r = murmur(['topology', 'inspect', file])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /^murmur: .*bad\.json: edges\[1\]\[1\]: unknown node "p9"\n$/)
    assert.equal(r.stdout, '')
  })

  test('malformed JSON names the line and column; no stack trace unless DEBUG', () => {
    const file = join(work, 'broken.json')
    writeFileSync(file, '{\n  "name": "x",\n  "nodes": [\n    { "id": "p0" }\n  "edges": []\n}\n')
    const r = murmur(['topology', 'inspect', file])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /broken\.json: malformed JSON at line 5, column 3/)
    assert.doesNotMatch(r.stderr, /\n\s+at /)
    const debug = murmur(['topology', 'inspect', file], { DEBUG: '1' })
    assert.match(debug.stderr, /\n\s+at /)
  })
})
