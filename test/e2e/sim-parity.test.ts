// End-to-end: the in-process simulator and real peers over TCP run one seeded swarm the same way.
// Both build every node from its PeerConfig, so when every model arrives in time each node's
// per-round test accuracy and loss must match exactly. Independent initial models, weight decay
// and an inv-sqrt learning rate make any drift in how either side seeds or trains a node show.

import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { launchSwarm, planSwarm, type RoundMetrics } from '@murmur/peer'
import type { Topology } from '@murmur/topology'
import { simulateSwarm } from '../../packages/bench/src/sim/swarm.ts'

const scratch = mkdtempSync(join(tmpdir(), 'murmur-parity-'))
after(() => { rmSync(scratch, { recursive: true, force: true }) })

function ring4 (): Topology {
  const nodes = Array.from({ length: 4 }, (_, i) => ({ id: `p${i}` }))
  return { name: 'ring-4', nodes, edges: nodes.map((n, i) => [n.id, `p${(i + 1) % 4}`] as [string, string]) }
}

type Trajectory = Map<string, Array<{ round: number, accuracy?: number, testLoss?: number }>>

function trajectory (metrics: Iterable<RoundMetrics>): Trajectory {
  const out: Trajectory = new Map()
  for (const m of metrics) {
    if (m.byzantine) continue
    const rows = out.get(m.node) ?? []
    rows.push({ round: m.round, ...(m.accuracy === undefined ? {} : { accuracy: m.accuracy }), ...(m.testLoss === undefined ? {} : { testLoss: m.testLoss }) })
    out.set(m.node, rows)
  }
  for (const rows of out.values()) rows.sort((a, b) => a.round - b.round)
  return out
}

describe('simulator and launch agree', { concurrency: false }, () => {
  test('a seeded 4-node ring: the same per-node accuracy and test loss every round', async (t) => {
    const plan = planSwarm({
      topology: ring4(),
      task: { dataset: 'mnist', model: 'logistic', samplesPerNode: 200, testSize: 300, heldOutSize: 0, seed: 3 },
      rounds: 4,
      localSteps: 5,
      lr: 0.2,
      momentum: 0.9,
      batchSize: 16,
      weightDecay: 0.01,
      lrSchedule: { kind: 'inv-sqrt' },
      rule: 'mean',
      f: 0,
      roundTimeoutMs: 10_000,
      evalEvery: 1,
      initialization: 'independent'
    })

    const simulated: RoundMetrics[] = []
    const sim = await simulateSwarm({ plan, kappa: false, onRound: (metrics) => { simulated.push(metrics) } })
    assert.equal(sim.delivery.honest.delivered, sim.delivery.honest.expected, 'in memory every model arrives')
    assert.equal(sim.delivery.valid, true, sim.delivery.warnings.join('; '))

    const runDir = join(scratch, 'run')
    const launched = await launchSwarm({ plan, runDir, workers: 2 })
    assert.equal(launched.rounds.length, 4)
    const { delivered, expected } = launched.delivery.honest
    assert.equal(expected, 4 * 2 * 4, 'each of the 8 directed ring edges expects one model per round')
    if (delivered < expected) {
      t.skip(`only ${delivered} of ${expected} models arrived in time over loopback; trajectories are not comparable`)
      return
    }

    const peers = trajectory(plan.nodes.flatMap((node) =>
      readFileSync(join(runDir, 'peers', node.id, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as RoundMetrics)))
    const inMemory = trajectory(simulated)
    assert.deepEqual([...inMemory.keys()].sort(), ['p0', 'p1', 'p2', 'p3'])
    for (const node of plan.nodes) {
      const a = inMemory.get(node.id)
      const b = peers.get(node.id)
      assert.equal(a?.length, 4, `${node.id}: simulated rounds`)
      assert.ok(a?.every((r) => r.accuracy !== undefined && r.testLoss !== undefined), `${node.id}: evaluated every round`)
      assert.deepEqual(b, a, `${node.id}: launched vs simulated (round, accuracy, test loss)`)
    }
    // The swarm-level figures follow (up to the order the means add up in).
    for (const [k, r] of sim.rounds.entries()) {
      const l = launched.rounds[k]
      assert.equal(l.round, r.round)
      assert.ok(Math.abs((l.accuracy ?? Number.NaN) - r.meanAccuracy) < 1e-12, `round ${r.round}: accuracy ${l.accuracy} vs ${r.meanAccuracy}`)
      assert.ok(Math.abs(l.consensusDistance - r.consensus) <= 1e-9 * Math.max(1, r.consensus),
        `round ${r.round}: consensus ${l.consensusDistance} vs ${r.consensus}`)
    }
  })
})
