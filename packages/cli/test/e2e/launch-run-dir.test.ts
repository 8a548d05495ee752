import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { checkRunDirectory, planSwarm } from '@murmur/peer'
import { readTopology } from '@murmur/topology'
import { main } from '../../src/main.ts'

const repo = fileURLToPath(new URL('../../../../', import.meta.url))
const ring8 = join(repo, 'topologies', 'ring-8.json')
const work = mkdtempSync(join(tmpdir(), 'murmur-launch-run-dir-'))
after(() => { rmSync(work, { recursive: true, force: true }) })
let dirs = 0
const freshDir = (): string => {
  const dir = join(work, `run${dirs++}`)
  mkdirSync(dir, { recursive: true })
  return dir
}

async function murmur (args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  let stdout = ''
  let stderr = ''
  const code = await main(args, { stdout: (t) => { stdout += t }, stderr: (t) => { stderr += t } })
  return { code, stdout, stderr }
}

describe('murmur launch into an existing run directory', () => {
  test('--help describes --force', async () => {
    const help = await murmur(['launch', '--help'])
    assert.equal(help.code, 0)
    assert.match(help.stdout, /--force\s+resume from --run-dir even when its run was made with other options/)
  })

  test('a run directory made with another rule is refused, naming the rule, before any peer starts', async () => {
    const dir = freshDir()
    // The plan `murmur launch ring-8.json --rule cwmed` makes with the other options at their defaults.
    const earlier = planSwarm({
      topology: await readTopology(ring8),
      task: { dataset: 'mnist', partition: { kind: 'iid' }, model: 'mlp', testSize: 1000, seed: 0 },
      rounds: 100,
      localSteps: 10,
      lr: 0.05,
      momentum: 0.9,
      batchSize: 32,
      rule: 'cwmed',
      f: 'auto',
      delta: 0.05,
      shortfall: 'shrink-f',
      attack: 'none',
      muSeed: 0,
      roundTimeoutMs: 10000,
      evalEvery: 5,
      dtype: 'f32',
      initialization: 'shared'
    })
    checkRunDirectory(dir, earlier)
    const planFile = readFileSync(join(dir, 'plan.json'), 'utf8')
    const result = await murmur(['launch', ring8, '--run-dir', dir])
    assert.equal(result.code, 1, result.stderr)
    assert.match(result.stderr, /holds a run with (.*, )?rule cwmed(, .*)?; this launch asks for (.*, )?rule scclip(, .*)?: use another --run-dir, or --force to overwrite/)
    assert.doesNotMatch(result.stderr, /starting \d+ peers/)
    assert.equal(readFileSync(join(dir, 'plan.json'), 'utf8'), planFile)
    assert.equal(existsSync(join(dir, 'peers')), false)
  })

  test('an unreadable plan.json is refused, naming the file', async () => {
    const dir = freshDir()
    writeFileSync(join(dir, 'plan.json'), '{ not json')
    const result = await murmur(['launch', ring8, '--run-dir', dir, '--rounds', '2'])
    assert.equal(result.code, 1, result.stderr)
    assert.ok(result.stderr.includes(`${join(dir, 'plan.json')} cannot be read`), result.stderr)
    assert.match(result.stderr, /--force to overwrite it/)
    assert.equal(readFileSync(join(dir, 'plan.json'), 'utf8'), '{ not json')
  })
})

describe('murmur launch stopped by SIGTERM', () => {
  test('finishes the round, keeps the checkpoints and writes summary.json as interrupted', async () => {
    const { spawn } = await import('node:child_process')
    const dir = freshDir()
    const child = spawn(process.execPath, [join(repo, 'packages', 'cli', 'bin', 'murmur.ts'), 'launch', ring8,
      '--dataset', 'synthetic-mean', '--rounds', '200', '--round-timeout', '2000', '--run-dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    const rounds = join(dir, 'rounds.jsonl')
    const deadline = Date.now() + 120_000
    while (!(existsSync(rounds) && readFileSync(rounds, 'utf8').split('\n').length > 3)) {
      assert.ok(Date.now() < deadline, `no rounds after 120 s: ${output}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    child.kill('SIGTERM')
    const code = await exited
    assert.equal(code, 0, output)
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as { interrupted: boolean, roundsCompleted: number }
    assert.equal(summary.interrupted, true)
    assert.ok(summary.roundsCompleted >= 3 && summary.roundsCompleted < 200, output)
    assert.ok(existsSync(join(dir, 'peers', 'p0', 'checkpoint.bin')))
  })
})
