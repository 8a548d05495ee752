// End-to-end: one topology launched across two "hosts" (two OS processes listening on two
// loopback addresses, 127.0.0.1 and 127.0.0.2), the second bootstrapping from the first.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { tempDir } from '../../packages/peer/test/helpers/temp.ts'

const MURMUR = fileURLToPath(new URL('../../packages/cli/bin/murmur.ts', import.meta.url))

function launch (args: string[]): { done: Promise<{ code: number | null, stdout: string, stderr: string }> } {
  const child = spawn(process.execPath, [MURMUR, 'launch', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  return { done: new Promise((resolve) => child.on('close', (code) => { resolve({ code, stdout, stderr }) })) }
}

async function waitForFile (path: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`${path} did not appear`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return readFileSync(path, 'utf8')
}

test('a ring of 6 split over two hosts trains as one swarm, across the hosts\' edges', async () => {
  const dir = tempDir('hosts')
  const topology = join(dir, 'ring-6.json')
  const nodes = Array.from({ length: 6 }, (_, i) => ({ id: `p${i}` }))
  writeFileSync(topology, JSON.stringify({ name: 'ring-6', nodes, edges: nodes.map((n, i) => [n.id, `p${(i + 1) % 6}`]) }))
  const common = [
    topology, '--model', 'logistic', '--rounds', '8', '--local-steps', '5', '--lr', '0.1', '--eval-every', '4',
    '--rule', 'cwtm', '--f', '1', '--round-timeout', '8000', '--workers', '1'
  ]
  const a = launch([...common, '--only', 'p0,p1,p2', '--listen', '127.0.0.1', '--run-dir', join(dir, 'a')])
  const bootstrap = (await waitForFile(join(dir, 'a', 'bootstrap.txt'), 60_000)).split('\n')[0]
  assert.match(bootstrap, /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/12D3/)
  // A host with other options is turned away before it announces anything.
  const other = await launch([
    ...common.map((x) => x === '8' ? '9' : x), '--only', 'p3,p4,p5', '--listen', '127.0.0.2', '--bootstrap', bootstrap,
    '--run-dir', join(dir, 'other'), '--peer-wait', '20'
  ]).done
  assert.notEqual(other.code, 0)
  assert.match(other.stderr, /runs another plan: schedule here \{"rounds":9/)
  const b = launch([...common, '--only', 'p3,p4,p5', '--listen', '127.0.0.2', '--bootstrap', bootstrap, '--run-dir', join(dir, 'b')])
  const [ra, rb] = await Promise.all([a.done, b.done])
  assert.equal(ra.code, 0, ra.stderr)
  assert.equal(rb.code, 0, rb.stderr)

  for (const [host, ids] of [['a', ['p0', 'p1', 'p2']], ['b', ['p3', 'p4', 'p5']]] as const) {
    const summary = JSON.parse(readFileSync(join(dir, host, 'summary.json'), 'utf8')) as { roundsCompleted: number, final: { accuracy: number } }
    assert.equal(summary.roundsCompleted, 8)
    assert.ok(summary.final.accuracy > 0.75, `host ${host} accuracy ${summary.final.accuracy}`)
    for (const id of ids) {
      const rounds = readFileSync(join(dir, host, 'peers', id, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { received: number })
      assert.equal(rounds.length, 8)
      // Both ring neighbours delivered in most rounds, including the ones on the other host.
      assert.ok(rounds.filter((r) => r.received === 2).length >= 6, `${id}: ${rounds.map((r) => r.received).join(',')}`)
    }
  }
  // Host b's peers really listened on the second address.
  const plan = readFileSync(join(dir, 'b', 'bootstrap.txt'), 'utf8')
  assert.match(plan, /\/ip4\/127\.0\.0\.2\//)
})

test('a host that starts fresh next to one resuming from round 6 is brought to round 6', async () => {
  const dir = tempDir('hosts-resume')
  const topology = join(dir, 'ring-4.json')
  const nodes = Array.from({ length: 4 }, (_, i) => ({ id: `p${i}` }))
  writeFileSync(topology, JSON.stringify({ name: 'ring-4', nodes, edges: nodes.map((n, i) => [n.id, `p${(i + 1) % 4}`]) }))
  const common = (rounds: number): string[] => [
    topology, '--dataset', 'synthetic-mean', '--rounds', String(rounds), '--local-steps', '2', '--lr', '0.1', '--eval-every', '2',
    '--rule', 'mean', '--f', '0', '--round-timeout', '8000', '--workers', '1'
  ]
  // Host a alone first: six rounds of the whole ring, so its peers hold round-5 checkpoints.
  const first = await launch([...common(6), '--run-dir', join(dir, 'a')]).done
  assert.equal(first.code, 0, first.stderr)
  const a = launch([...common(10), '--only', 'p0,p1', '--listen', '127.0.0.1', '--run-dir', join(dir, 'a'), '--force'])
  const bootstrap = (await waitForFile(join(dir, 'a', 'bootstrap.txt'), 60_000)).split('\n')[0]
  const b = launch([...common(10), '--only', 'p2,p3', '--listen', '127.0.0.2', '--bootstrap', bootstrap, '--run-dir', join(dir, 'b')])
  const [ra, rb] = await Promise.all([a.done, b.done])
  assert.equal(ra.code, 0, ra.stderr)
  assert.equal(rb.code, 0, rb.stderr)
  assert.match(rb.stdout + rb.stderr, /the other hosts are at round 6: this host's peers start there/)
  for (const id of ['p2', 'p3']) {
    const rounds = readFileSync(join(dir, 'b', 'peers', id, 'metrics.jsonl'), 'utf8').trim().split('\n')
      .map((l) => JSON.parse(l) as { round: number, missing: string[] })
    assert.deepEqual(rounds.map((r) => r.round), [6, 7, 8, 9], `${id} ran rounds 6–9 only`)
    // From the second round on, the neighbours on the other host deliver: both hosts are in step.
    assert.ok(rounds.slice(1).every((r) => r.missing.length === 0), `${id}: ${JSON.stringify(rounds.map((r) => r.missing))}`)
  }
})
