// End-to-end: real libp2p peers over TCP on loopback, in worker processes, training on real MNIST
// digits. Each launch takes ~10 s on two cores, so the swarms are small and the runs short.

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { launchSwarm, planSwarm, type SwarmOptions } from '@murmur/peer'
import type { Topology } from '@murmur/topology'
import { main } from '@murmur/cli'
import { tempDir } from '../../packages/peer/test/helpers/temp.ts'

/** Eight peers, each joined to the two nearest on either side (circulant C8(1, 2)): degree 4, so f = 1 fits every robust rule here. */
function circulant8 (): Topology {
  const nodes = Array.from({ length: 8 }, (_, i) => ({ id: `p${i}` }))
  const edges: Array<[string, string]> = []
  for (let i = 0; i < 8; i++) edges.push([`p${i}`, `p${(i + 1) % 8}`], [`p${i}`, `p${(i + 2) % 8}`])
  return { name: 'circulant-8', nodes, edges }
}

function ring6 (): Topology {
  const nodes = Array.from({ length: 6 }, (_, i) => ({ id: `p${i}` }))
  return { name: 'ring-6', nodes, edges: nodes.map((n, i) => [n.id, `p${(i + 1) % 6}`] as [string, string]) }
}

function request (overrides: Partial<SwarmOptions>): SwarmOptions {
  return {
    topology: circulant8(),
    task: { dataset: 'mnist', model: 'logistic', samplesPerNode: 400, testSize: 500, seed: 1 },
    rounds: 6,
    localSteps: 5,
    lr: 0.1,
    momentum: 0.9,
    batchSize: 32,
    rule: 'nnm+cwtm',
    f: 1,
    roundTimeoutMs: 8000,
    evalEvery: 3,
    ...overrides
  }
}

const runDir = (): string => tempDir('launch')

function captureIo (): { io: { stdout: (t: string) => void, stderr: (t: string) => void }, out: () => string, err: () => string } {
  let out = ''
  let err = ''
  return { io: { stdout: (t) => { out += t }, stderr: (t) => { err += t } }, out: () => out, err: () => err }
}

describe('murmur launch: real peers over TCP', { concurrency: false }, () => {
  test('a worker process killed mid-run is started again; its peers resume and the run completes', async () => {
    const { rmSync } = await import('node:fs')
    const plan = planSwarm(request({
      topology: ring6(), task: { dataset: 'synthetic-mean', seed: 1 }, rule: 'mean', f: 0, rounds: 30, roundTimeoutMs: 2000, evalEvery: 10
    }))
    const dir = runDir()
    try {
      let pids: number[] = []
      let killed = false
      const result = await launchSwarm({
        plan,
        runDir: dir,
        workers: 2,
        onWorkers: (ids) => { pids = ids },
        onRound: (r) => { if (!killed && r.round >= 4) { killed = true; process.kill(pids[1], 'SIGKILL') } }
      })
      assert.ok(killed)
      assert.equal(result.interrupted, false)
      assert.equal(result.rounds[result.rounds.length - 1].round, 29, 'the run reached its last round')
      const events = readFileSync(join(dir, 'events.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { event: string, nodes?: string[] })
      const restart = events.find((e) => e.event === 'worker-restarted')
      assert.deepEqual(restart?.nodes, ['p1', 'p3', 'p5'])
      // Every peer of the restarted worker came back and finished.
      for (const id of ['p1', 'p3', 'p5']) assert.equal(result.peers.find((p) => p.id === id)?.lastRound, 29, id)
      assert.equal(result.delivery.honest.liveAtEnd, result.delivery.honest.edges, 'every edge delivers again at the end')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('honest peers reach consensus and learn well above chance', async () => {
    const plan = planSwarm(request({ topology: ring6(), rule: 'mean', f: 0, initialization: 'independent', rounds: 6 }))
    const dir = runDir()
    const result = await launchSwarm({ plan, runDir: dir, workers: 2 })
    assert.equal(result.rounds.length, 6)
    const first = result.rounds[0].consensusDistance
    const last = result.rounds[result.rounds.length - 1].consensusDistance
    // Independent initial models start far apart; gossip averaging closes most of the gap.
    assert.ok(last < first / 5, `consensus distance fell from ${first} to only ${last}`)
    assert.ok((result.final?.accuracy ?? 0) > 0.7, `honest accuracy ${result.final?.accuracy} is not well above chance (0.1)`)
    // Every peer wrote a metrics line per round and a checkpoint; the run wrote its summary.
    for (const id of plan.nodes.map((n) => n.id)) {
      const lines = readFileSync(join(dir, 'peers', id, 'metrics.jsonl'), 'utf8').trim().split('\n')
      assert.equal(lines.length, 6)
      assert.ok(readdirSync(join(dir, 'peers', id)).includes('identity.key'))
    }
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as { roundsCompleted: number, interrupted: boolean }
    assert.equal(summary.roundsCompleted, 6)
    assert.equal(summary.interrupted, false)
  })

  test('a Byzantine peer: the robust rule keeps honest accuracy, mean mixing is dragged down', async () => {
    // A Gaussian-noise peer stands in for the model-poisoning family in CI: it drags plain
    // averaging down within a few rounds, which sign flipping does only over long runs.
    const attack = { attack: 'gaussian(sigma=2)', byzantine: ['p4'] }
    const robust = await launchSwarm({ plan: planSwarm(request({ ...attack, rule: 'cwtm' })), runDir: runDir(), workers: 2 })
    const mean = await launchSwarm({ plan: planSwarm(request({ ...attack, rule: 'mean' })), runDir: runDir(), workers: 2 })
    const robustAcc = robust.final?.accuracy ?? 0
    const meanAcc = mean.final?.accuracy ?? 0
    assert.ok(robustAcc > 0.7, `cwtm honest accuracy ${robustAcc}`)
    assert.ok(meanAcc < robustAcc - 0.2, `mean (${meanAcc}) was not dragged below cwtm (${robustAcc})`)
    // The Byzantine peer is reported apart: no honest figure includes it.
    assert.deepEqual(robust.peers.filter((p) => p.byzantine).map((p) => p.id), ['p4'])
  })

  test('a sign-flipping peer sees the honest models it attacks and is resisted', async () => {
    const result = await launchSwarm({ plan: planSwarm(request({ attack: 'signflip', byzantine: ['p4'], rule: 'cwtm' })), runDir: runDir(), workers: 2 })
    assert.ok((result.final?.accuracy ?? 0) > 0.7, `cwtm honest accuracy ${result.final?.accuracy} under sign flip`)
  })

  test('a rogue peer\'s malformed frames are rejected and counted while the run completes', async () => {
    const plan = planSwarm(request({ attack: 'malformed', byzantine: ['p4'], rule: 'cwtm', rounds: 4, roundTimeoutMs: 2000 }))
    const result = await launchSwarm({ plan, runDir: runDir(), workers: 2 })
    assert.equal(result.rounds.length, 4)
    const neighbours = plan.nodes[4].neighbours
    for (const id of neighbours) {
      const peer = result.peers.find((p) => p.id === id)
      const refused = Object.values(peer?.rejected ?? {}).reduce((a, b) => a + (b ?? 0), 0)
      assert.ok(refused >= 4, `${id} refused ${refused} frames, expected one per round`)
    }
    assert.ok((result.final?.accuracy ?? 0) > 0.7)
  })

  test('a restarted swarm resumes from its checkpoints with the same identities', async () => {
    const dir = runDir()
    const first = await launchSwarm({ plan: planSwarm(request({ topology: ring6(), rounds: 3, f: 0 })), runDir: dir, workers: 2 })
    assert.equal(first.startRound, 0)
    const ids = readFileSync(join(dir, 'peers', 'p0', 'identity.key'))
    const second = await launchSwarm({ plan: planSwarm(request({ topology: ring6(), rounds: 5, f: 0 })), runDir: dir, workers: 2 })
    assert.equal(second.startRound, 3)
    assert.deepEqual(second.rounds.map((r) => r.round), [3, 4])
    assert.deepEqual(readFileSync(join(dir, 'peers', 'p0', 'identity.key')), ids)
    const lines = readFileSync(join(dir, 'peers', 'p0', 'metrics.jsonl'), 'utf8').trim().split('\n')
    assert.deepEqual(lines.map((l) => (JSON.parse(l) as { round: number }).round), [0, 1, 2, 3, 4])

    // p0's latest checkpoint is torn, as by a crash while it was written: p0 falls back to the
    // previous one (round 3), the launcher aligns everyone on round 4 and round 4 runs again.
    // Every file still holds each round once.
    writeFileSync(join(dir, 'peers', 'p0', 'checkpoint.bin'), 'torn')
    const third = await launchSwarm({ plan: planSwarm(request({ topology: ring6(), rounds: 5, f: 0 })), runDir: dir, workers: 2 })
    assert.equal(third.startRound, 4)
    assert.deepEqual(third.rounds.map((r) => r.round), [4])
    const roundsOf = (file: string): number[] => readFileSync(file, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { round: number }).round)
    assert.deepEqual(roundsOf(join(dir, 'rounds.jsonl')), [0, 1, 2, 3, 4])
    for (const id of ['p0', 'p1', 'p2', 'p3', 'p4', 'p5']) {
      assert.deepEqual(roundsOf(join(dir, 'peers', id, 'metrics.jsonl')), [0, 1, 2, 3, 4], `${id}/metrics.jsonl`)
    }

    // Another rule in the same run directory is refused before any peer starts.
    await assert.rejects(
      launchSwarm({ plan: planSwarm(request({ topology: ring6(), rounds: 5, f: 0, rule: 'cwmed' })), runDir: dir, workers: 2 }),
      /holds a run with rule nnm\+cwtm; this launch asks for rule cwmed: use another --run-dir, or --force to overwrite/
    )
  })
})

describe('murmur launch: bad requests fail before any peer starts', () => {
  test('an unknown rule, an unknown attack, an unsupported f and bad training options are usage errors', async () => {
    for (const [args, expected] of [
      [['--rule', 'nosuchrule'], /rule "nosuchrule"/],
      [['--attack', 'nosuchattack', '--byzantine', 'p1'], /attack "nosuchattack"/],
      [['--f', '3', '--rule', 'cwtm'], /f = 3 is more than rule cwtm tolerates at node p\d+/],
      [['--lr-schedule', 'linear'], /--lr-schedule: expected constant, inv-sqrt, step:<every>:<gamma> or cosine:<totalSteps>, got "linear"/],
      [['--lr-schedule', 'step:0:0.5'], /--lr-schedule: "step:0:0.5": <every> must be an integer ≥ 1/],
      [['--weight-decay', '2'], /weightDecay: expected a number in \[0, 1\], got 2/]
    ] as const) {
      const { io, err } = captureIo()
      const code = await main(['launch', 'topologies/ring-8.json', ...args, '--run-dir', runDir()], io)
      assert.equal(code, 2, err())
      assert.match(err(), expected)
    }
  })

  test('a malformed topology names the field', async () => {
    const { io, err } = captureIo()
    const dir = runDir()
    const file = join(dir, 'bad.json')
    writeFileSync(file, JSON.stringify({ name: 'bad', nodes: [{ id: 'a' }, { id: 'b' }], edges: [['a', 'c']] }))
    const code = await main(['launch', file, '--run-dir', dir], io)
    assert.equal(code, 1)
    assert.match(err(), /edges\[0\]/)
  })
})
