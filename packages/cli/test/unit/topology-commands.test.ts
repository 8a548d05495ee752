import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { parseTopology } from '@murmur/topology'
import { commands } from '../../src/commands/index.ts'
import { main } from '../../src/index.ts'

// The same command table the binary runs, called in-process (no start-up cost per case).
const root = fileURLToPath(new URL('../../../../', import.meta.url))
const work = mkdtempSync(join(tmpdir(), 'murmur-commands-'))
after(() => { rmSync(work, { recursive: true, force: true }) })

async function murmur (...argv: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  let stdout = ''; let stderr = ''
  const code = await main(argv, { stdout: (t) => { stdout += t }, stderr: (t) => { stderr += t } })
  return { code, stdout, stderr }
}

describe('murmur command table', () => {
  test('--version, group help and the missing-command error', async () => {
    const pkg = JSON.parse(readFileSync(join(root, 'packages/cli/package.json'), 'utf8')) as { version: string }
    assert.equal((await murmur('--version')).stdout, `${pkg.version}\n`)
    const group = await murmur('topology', '--help')
    assert.match(group.stdout, /generate\s+write a generated topology file/)
    assert.match(group.stdout, /inspect\s+report size/)
    assert.match(group.stdout, /Run 'murmur topology <command> --help'/)
    const generate = await murmur('topology', 'generate', '-h')
    assert.match(generate.stdout, /malicious-ring\s+honest ring/)
    assert.match(generate.stdout, /-o, --output <file>/)
    const none = await murmur()
    assert.equal(none.code, 2)
    assert.ok(none.stderr.startsWith(`murmur: missing command for "murmur" (expected ${commands.map((c) => c.name).join(', ')})`), none.stderr)
    assert.ok(commands.some((c) => c.name === 'join') && commands.some((c) => c.name === 'launch'))
  })
})

describe('murmur topology generate', () => {
  test('prints to stdout without -o; the output parses back', async () => {
    const r = await murmur('topology', 'generate', 'malicious-ring', '--honest', '4')
    assert.equal(r.code, 0)
    const t = parseTopology(r.stdout)
    assert.equal(t.name, 'malicious-ring-13')
    assert.equal(t.byzantine?.model, 'fixed')
  })

  test('Byzantine flags build the section; negative numbers work as values', async () => {
    const r = await murmur('topology', 'generate', 'ring', '--n', '6', '--byzantine-model', 'ising', '--ising-beta', '0.4', '--ising-h', '-0.5')
    assert.deepEqual(parseTopology(r.stdout).byzantine, { model: 'ising', beta: 0.4, h: -0.5 })
    const fixed = await murmur('topology', 'generate', 'star', '--n', '4', '--byzantine-model', 'fixed', '--byzantine-nodes', 'p1, p3')
    assert.deepEqual(parseTopology(fixed.stdout).byzantine, { model: 'fixed', nodes: ['p1', 'p3'] })
    const none = await murmur('topology', 'generate', 'malicious-ring', '--byzantine-model', 'none')
    assert.equal(parseTopology(none.stdout).byzantine, undefined)
  })

  test('writes the edge-list format for .txt outputs', async () => {
    const file = join(work, 'ring.txt')
    assert.equal((await murmur('topology', 'generate', 'ring', '--n', '4', '-o', file)).code, 0)
    assert.equal(readFileSync(file, 'utf8'), '# ring-4\n4\n0 1\n0 3\n1 2\n2 3\n')
  })

  test('usage errors: flags of another kind or model, bad values, unknown kinds', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['ring', '--n', '8', '--rows', '3'], /--rows does not apply to ring \(it reads --n\)/],
      [['sbm', '--n', '10', '--p-in', '2'], /--p-in: expected a probability in \[0, 1\]/],
      [['ring', '--n', '2'], /--n: expected an integer ≥ 3 for a ring, got 2/],
      [['ring'], /--n: required for ring/],
      [['ring', '--n', '5', '--cascade-spread', '0.2'], /--cascade-spread needs --byzantine-model cascade/],
      [['ring', '--n', '5', '--byzantine-model', 'worst-case'], /--byzantine-model worst-case needs --worst-f/],
      [['hypercube', '--n', '8'], /unknown kind "hypercube"/],
      [['ring', '--n', 'eight'], /--n: expected a number, got "eight"/]
    ]
    for (const [argv, pattern] of cases) {
      const r = await murmur('topology', 'generate', ...argv)
      assert.equal(r.code, 2, argv.join(' '))
      assert.match(r.stderr, new RegExp(`^murmur: ${pattern.source}`))
    }
  })

  test('a generated topology that fails validation is a failure naming the field', async () => {
    const r = await murmur('topology', 'generate', 'ring', '--n', '5', '--byzantine-model', 'worst-case', '--worst-f', '9')
    assert.equal(r.code, 1)
    assert.match(r.stderr, /^murmur: byzantine\.f: expected an integer in \[0, 5\]/)
  })
})

describe('murmur topology inspect', () => {
  test('big graphs get a histogram of f_i instead of a row per node', async () => {
    const file = join(work, 'regular.json')
    await murmur('topology', 'generate', 'regular', '--n', '60', '--k', '4', '--byzantine-model', 'independent', '--byzantine-p', '0.2', '-o', file)
    const r = await murmur('topology', 'inspect', file, '--samples', '300')
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /\n {2}f_i {3}nodes\n/)
    assert.doesNotMatch(r.stdout, /\n {2}p17 /)
    const all = await murmur('topology', 'inspect', file, '--samples', '300', '--all-nodes')
    assert.match(all.stdout, /\n {2}p17 /)
  })

  test('a file without a byzantine section reports μ_H as none', async () => {
    const example = await murmur('topology', 'inspect', join(root, 'topologies/ring-8.json'), '--json')
    assert.equal(JSON.parse(example.stdout).byzantine.model, 'cascade')
    const file = join(work, 'plain.json')
    await murmur('topology', 'generate', 'complete', '--n', '4', '-o', file)
    const plain = await murmur('topology', 'inspect', file)
    assert.match(plain.stdout, /μ_H\s+none/)
    assert.equal(JSON.parse((await murmur('topology', 'inspect', file, '--json')).stdout).tolerance, null)
  })

  test('bad option values and missing files', async () => {
    const delta = await murmur('topology', 'inspect', 'x.json', '--delta', '2')
    assert.equal(delta.code, 2)
    assert.match(delta.stderr, /--delta: expected a probability in \[0, 1\], got 2/)
    const missing = await murmur('topology', 'inspect', join(work, 'nope.json'))
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /nope\.json: no such file/)
  })
})
