// End-to-end: a swarm of 6 real peers (one launcher, worker processes) open to newcomers, and
// separate OS processes running `murmur join` against it over TCP on loopback.

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { launchSwarm, loadCheckpoint, planSwarm, PROTOCOL_VERSION } from '@murmur/peer'
import type { Topology } from '@murmur/topology'
import { tempDir } from '../../packages/peer/test/helpers/temp.ts'

const MURMUR = fileURLToPath(new URL('../../packages/cli/bin/murmur.ts', import.meta.url))

interface Run { code: number | null, stdout: string, stderr: string }

/** Starts `murmur <args>` as its own OS process. */
function start (args: string[]): { child: ChildProcess, done: Promise<Run> } {
  const child = spawn(process.execPath, [MURMUR, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  return { child, done: new Promise((resolve) => child.on('close', (code) => { resolve({ code, stdout, stderr }) })) }
}

/** Runs `murmur <args>`; resolves with its exit code and output. */
async function murmur (args: string[]): Promise<Run> {
  return await start(args).done
}

/** A joiner that crashes (SIGKILL) a few rounds after it joined. */
async function joinAndCrash (bootstrap: string, dir: string): Promise<string[]> {
  const { child, done } = start(['join', '--bootstrap', bootstrap, '--run-dir', dir, '--degree', '2', '--id', 'leaver'])
  const deadline = Date.now() + 60_000
  while (!existsSync(join(dir, 'join.json')) && Date.now() < deadline && child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 100))
  await new Promise((resolve) => setTimeout(resolve, 1500))
  child.kill('SIGKILL')
  await done
  return existsSync(join(dir, 'join.json')) ? (JSON.parse(readFileSync(join(dir, 'join.json'), 'utf8')) as { neighbours: string[] }).neighbours : []
}

function ring6 (): Topology {
  const nodes = Array.from({ length: 6 }, (_, i) => ({ id: `p${i}` }))
  return { name: 'ring-6', nodes, edges: nodes.map((n, i) => [n.id, `p${(i + 1) % 6}`] as [string, string]) }
}

function edges (dir: string): Array<{ round: number, event: string, neighbour: string }> {
  const path = join(dir, 'edges.jsonl')
  if (!existsSync(path)) return []
  return readFileSync(path, 'utf8').trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l))
}

function squaredDistance (a: Float32Array, b: Float64Array): number {
  let s = 0
  for (let k = 0; k < a.length; k++) s += (a[k] - b[k]) ** 2
  return s
}

describe('murmur join', () => {
  test('a separate process joins a running 6-peer swarm, gets neighbours both ways and converges to the swarm', async () => {
    const dir = tempDir('join')
    const plan = planSwarm({
      topology: ring6(),
      task: { dataset: 'mnist', model: 'logistic', samplesPerNode: 400, testSize: 500, seed: 1 },
      rounds: 70,
      localSteps: 5,
      lr: 0.1,
      momentum: 0.9,
      batchSize: 32,
      rule: 'cwtm',
      f: 1,
      roundTimeoutMs: 4000,
      evalEvery: 5
    })
    let joined: Promise<[Run, Run, string[]]> | undefined
    const joinerDir = join(dir, 'joiner')
    const result = await launchSwarm({
      plan,
      runDir: join(dir, 'swarm'),
      workers: 2,
      open: true,
      onBootstrap: (addrs) => {
        joined = Promise.all([
          murmur(['join', '--bootstrap', addrs[0], '--run-dir', joinerDir, '--degree', '3', '--id', 'newcomer']),
          murmur(['join', '--bootstrap', addrs[0], '--run-dir', join(dir, 'old'), '--protocol', String(PROTOCOL_VERSION + 1)]),
          joinAndCrash(addrs[1], join(dir, 'leaver'))
        ])
      }
    })
    assert.ok(joined !== undefined, 'the launcher announced bootstrap addresses')
    const [ok, mismatched, left] = await joined

    // A newcomer that crashed is dropped by the neighbours it had.
    assert.ok(left.length > 0, 'the crashing joiner got neighbours first')
    for (const id of left) {
      assert.ok(edges(join(dir, 'swarm', 'peers', id)).some((e) => e.event === 'drop' && e.neighbour === 'leaver'), `${id} dropped the crashed joiner`)
    }

    // A joiner of another protocol version is turned away, naming the mismatch.
    assert.notEqual(mismatched.code, 0)
    assert.match(mismatched.stderr, new RegExp(`protocol version ${PROTOCOL_VERSION}.*version ${PROTOCOL_VERSION + 1}`))

    assert.equal(ok.code, 0, ok.stderr)
    // It fetched the manifest: join.json records the swarm it joined.
    const record = JSON.parse(readFileSync(join(joinerDir, 'join.json'), 'utf8')) as {
      manifest: { swarm: string, protocol: number }
      neighbours: string[]
      startRound: number
    }
    assert.equal(record.manifest.swarm, plan.swarm)
    assert.equal(record.manifest.protocol, PROTOCOL_VERSION)
    assert.equal(record.neighbours.length, 3)

    // Edges in both directions: the joiner added its neighbours, and each of them added it.
    const mine = new Set(edges(joinerDir).filter((e) => e.event === 'add').map((e) => e.neighbour))
    for (const id of record.neighbours) {
      assert.ok(mine.has(id), `the joiner lists ${id}`)
      assert.ok(edges(join(dir, 'swarm', 'peers', id)).some((e) => e.event === 'add' && e.neighbour === 'newcomer'), `${id} lists the joiner`)
    }

    // By the last round its model sits with the swarm's: no farther from the honest mean than
    // the swarm's own members (local steps keep every model some way off the mean).
    const swarmModels = await Promise.all(plan.nodes.map(async (n) => (await loadCheckpoint(join(dir, 'swarm', 'peers', n.id)))!))
    assert.ok(swarmModels.every((c) => c.round === plan.options.rounds - 1))
    const d = swarmModels[0].params.length
    const centre = new Float64Array(d)
    for (const c of swarmModels) for (let k = 0; k < d; k++) centre[k] += c.params[k] / swarmModels.length
    const joiner = (await loadCheckpoint(joinerDir))!
    assert.equal(joiner.round, plan.options.rounds - 1)
    const norm = Math.sqrt(centre.reduce((s, x) => s + x * x, 0))
    const spread = Math.max(...swarmModels.map((c) => Math.sqrt(squaredDistance(c.params, centre))))
    const gap = Math.sqrt(squaredDistance(joiner.params, centre))
    assert.ok(gap < 1.5 * spread, `joiner is ${gap.toFixed(3)} from the honest mean, the farthest member ${spread.toFixed(3)}`)
    assert.ok(gap < 0.5 * norm, `joiner is ${gap.toFixed(3)} from the honest mean of norm ${norm.toFixed(3)}`)
    // And it was mixing with all its neighbours to the end.
    const last = readFileSync(join(joinerDir, 'metrics.jsonl'), 'utf8').trim().split('\n')
      .map((l) => JSON.parse(l) as { round: number, received: number }).at(-1)!
    assert.equal(last.round, plan.options.rounds - 1)
    assert.equal(last.received, 3)

    // The swarm is not harmed by its newcomer.
    assert.ok(result.final !== undefined && result.final.accuracy !== undefined)
    assert.ok(result.final.minAccuracy! > 0.8, `honest min accuracy ${result.final.minAccuracy}`)
    assert.match(ok.stdout, /joined .* as newcomer; neighbours/)
  })

  test('an unreachable bootstrap fails with a clear message after the connect timeout', async () => {
    const nobody = '/ip4/127.0.0.1/tcp/9/p2p/12D3KooWKWnWEpN9Lsp7Nn4VDwH5wJT2KSR1taGRcnBGiaLJ1tAb'
    const run = await murmur(['join', '--bootstrap', nobody, '--connect-timeout', '2', '--run-dir', tempDir('join')])
    assert.notEqual(run.code, 0)
    assert.match(run.stderr, /could not reach a bootstrap peer within 2 s/)
  })

  test('a bootstrap address without a PeerId is a usage error', async () => {
    const run = await murmur(['join', '--bootstrap', '/ip4/127.0.0.1/tcp/9', '--run-dir', tempDir('join')])
    assert.notEqual(run.code, 0)
    assert.match(run.stderr, /not a peer multiaddr/)
  })
})
