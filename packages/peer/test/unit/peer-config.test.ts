// The one path from a plan or a manifest to a node's learner and round engine options, and the
// training options it carries (weight decay, learning-rate schedule, run seed).

import { before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { initBackend } from '@murmur/learn'
import { createRule } from '@murmur/robust'
import type { Topology } from '@murmur/topology'
import { manifestOf, parseManifest } from '../../src/wire/manifest.ts'
import { createMemoryHub } from '../../src/net/memory-transport.ts'
import {
  batchSeed, createNodeLearner, engineOptions, loadPeerData, peerConfigFromManifest, peerConfigFromPlan
} from '../../src/peer-config.ts'
import { formatLrSchedule, parseLrSchedule, planSwarm, SwarmConfigError, type SwarmOptions } from '../../src/swarm/plan.ts'

function ring (n: number): Topology {
  const nodes = Array.from({ length: n }, (_, i) => ({ id: `p${i}` }))
  return { name: `ring-${n}`, nodes, edges: nodes.map((node, i) => [node.id, `p${(i + 1) % n}`] as [string, string]) }
}

function request (overrides: Partial<SwarmOptions> = {}): SwarmOptions {
  return {
    topology: ring(4),
    task: { dataset: 'mnist', model: 'logistic', samplesPerNode: 64, testSize: 100, heldOutSize: 0, seed: 5 },
    rounds: 3,
    localSteps: 2,
    lr: 0.1,
    momentum: 0.9,
    batchSize: 16,
    rule: 'mean',
    f: 0,
    roundTimeoutMs: 2000,
    evalEvery: 1,
    ...overrides
  }
}

describe('learning-rate schedule specs', () => {
  test('each form parses, and formats back to its spec', () => {
    for (const spec of ['constant', 'inv-sqrt', 'step:100:0.5', 'cosine:1000', 'cosine:1000:0.001']) {
      assert.equal(formatLrSchedule(parseLrSchedule(spec)), spec)
    }
    assert.deepEqual(parseLrSchedule('step:100:0.5'), { kind: 'step', every: 100, gamma: 0.5 })
  })

  test('a bad spec says which forms there are, or which argument is wrong', () => {
    assert.throws(() => parseLrSchedule('linear'), /expected constant, inv-sqrt, step:<every>:<gamma> or cosine:<totalSteps>, got "linear"/)
    assert.throws(() => parseLrSchedule('step:10'), /got "step:10"/)
    assert.throws(() => parseLrSchedule('step:0:0.5'), /"step:0:0.5": <every> must be an integer ≥ 1, got "0"/)
    assert.throws(() => parseLrSchedule('cosine:many'), /<totalSteps> must be an integer ≥ 1, got "many"/)
    assert.throws(() => parseLrSchedule('step:10:-1'), /<gamma> must be a finite number > 0/)
  })
})

describe('planSwarm: training options', () => {
  test('defaults: no weight decay, a constant rate, the task seed as run seed', () => {
    const o = planSwarm(request()).options
    assert.equal(o.weightDecay, 0)
    assert.deepEqual(o.lrSchedule, { kind: 'constant' })
    assert.equal(o.seed, 5)
    assert.equal(planSwarm(request({ seed: 11 })).options.seed, 11)
  })

  test('a bad value is refused, naming the field', () => {
    const refused = (overrides: Partial<SwarmOptions>, field: RegExp): void => {
      assert.throws(() => planSwarm(request(overrides)), (e: Error) => e instanceof SwarmConfigError && field.test(e.message), String(field))
    }
    refused({ weightDecay: -0.1 }, /^weightDecay: /)
    refused({ weightDecay: Number.NaN }, /^weightDecay: /)
    refused({ lrSchedule: { kind: 'step', every: 0, gamma: 0.5 } }, /^lrSchedule\.every: /)
    refused({ lrSchedule: { kind: 'cosine', totalSteps: 10, minLr: -1 } }, /^lrSchedule\.minLr: /)
    refused({ lrSchedule: { kind: 'warm' } as never }, /^lrSchedule\.kind: /)
    refused({ seed: -1 }, /^seed: /)
    refused({ seed: 2 ** 32 }, /^seed: /)
  })
})

describe('peer configuration', () => {
  before(async () => { await initBackend({ backend: 'wasm' }) })

  test('from a plan: the node, the swarm options and the engine options', () => {
    const plan = planSwarm(request({ topology: ring(5), rule: 'cwtm', f: 1, attack: 'signflip', byzantine: ['p2'], weightDecay: 0.01, lrSchedule: { kind: 'inv-sqrt' } }))
    const config = peerConfigFromPlan(plan, plan.nodes[1])
    assert.equal(config.id, 'p1')
    assert.equal(config.index, 1)
    assert.deepEqual(config.neighbours, ['p0', 'p2'])
    assert.deepEqual(config.training, { localSteps: 2, lr: 0.1, momentum: 0.9, batchSize: 16, weightDecay: 0.01, schedule: { kind: 'inv-sqrt' } })
    assert.deepEqual(config.mixing, { rule: 'cwtm', shortfall: 'shrink-f', tolerance: 'global', joinerF: 1 })
    assert.equal(config.byzantine, false)
    assert.equal(config.behaviour, undefined)

    const hub = createMemoryHub({ dimension: 3, swarm: plan.swarm })
    const learner = { dimension: 3 } as never
    const honest = engineOptions(config, { transport: hub.transport('p1'), learner, startRound: 2 })
    assert.equal(honest.self, 'p1')
    assert.deepEqual(honest.tolerance, { kind: 'global', f: 1 })
    assert.equal(honest.rule, 'cwtm')
    assert.equal(honest.seed, 5)
    assert.equal(honest.startRound, 2)
    assert.equal(honest.behaviour, undefined)
    assert.equal('checkpointDir' in honest, false)

    const attacker = engineOptions(peerConfigFromPlan(plan, plan.nodes[2]), { transport: hub.transport('p2'), learner })
    assert.equal(attacker.behaviour?.spec, 'signflip')
    assert.deepEqual(attacker.colluders, ['p2'])
    assert.deepEqual(attacker.graph?.get('p3'), ['p2', 'p4'])
    // A caller may run its own rule object instead of the spec.
    const rule = createRule('mean')
    assert.equal(engineOptions(config, { transport: hub.transport('p1'), learner, rule }).rule, rule)
  })

  test('from a manifest: a newcomer gets the swarm\'s training options and run seed', () => {
    const plan = planSwarm(request({ f: 'auto', weightDecay: 0.001, lrSchedule: { kind: 'step', every: 50, gamma: 0.5 }, seed: 8 }))
    const manifest = parseManifest(JSON.parse(JSON.stringify(manifestOf(plan, 7850, 3, true))))
    const config = peerConfigFromManifest(manifest, { id: 'j-1', index: manifest.nodes, f: 0 })
    assert.deepEqual(config.training, peerConfigFromPlan(plan, plan.nodes[0]).training)
    assert.equal(config.seed, 8)
    assert.equal(config.mixing.tolerance, 'per-node')
    assert.equal(config.index, 4)
    assert.deepEqual(config.neighbours, [])
  })

  test('the learner: shared or independent initial models, each node its own batch order, weight decay applied', async () => {
    const shared = planSwarm(request())
    const independent = planSwarm(request({ initialization: 'independent' }))
    const decayed = planSwarm(request({ weightDecay: 0.5 }))
    const build = async (plan: typeof shared, k: number) => {
      const config = peerConfigFromPlan(plan, plan.nodes[k])
      return createNodeLearner(config, await loadPeerData(config))
    }
    const [s0, s1, i0, i1, d0] = await Promise.all([build(shared, 0), build(shared, 1), build(independent, 0), build(independent, 1), build(decayed, 0)])
    try {
      assert.deepEqual(s0.getParams(), s1.getParams(), 'shared: one initial model')
      assert.notDeepEqual(i0.getParams(), i1.getParams(), 'independent: one per node')
      assert.notDeepEqual(i0.getParams(), s0.getParams(), 'independent: none is the shared one')
      assert.deepEqual(d0.getParams(), s0.getParams())
      s0.train(3)
      d0.train(3)
      const norm = (x: Float32Array): number => x.reduce((a, v) => a + v * v, 0)
      assert.ok(norm(d0.getParams()) < norm(s0.getParams()), 'weight decay shrinks the parameters')
    } finally {
      for (const learner of [s0, s1, i0, i1, d0]) learner.dispose()
    }
    assert.notEqual(batchSeed(5, 0), batchSeed(5, 1))
    assert.equal(batchSeed(0, 3), 3)
  })
})
