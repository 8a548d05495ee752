import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { DeliveryReport } from '@murmur/peer'
import { findSuite } from '../../src/runner.ts'
import { judge, resilience, type ResilienceResult } from '../../src/suites/resilience/index.ts'
import { swarmBars, type SwarmBarResult } from '../../src/suites/swarm-bars/index.ts'

// The two suites that launch real swarms: their cells, bars and tables, without a launch.

function delivery (share: number): DeliveryReport {
  return {
    honest: { expected: 1000, delivered: Math.round(1000 * share), share, liveAtEnd: 1, edges: 32, worst: [] },
    isolated: { peerRounds: 0, peers: [] },
    skippedBehind: 7,
    thresholds: { honest: 0.99, attack: 0.9 },
    valid: share >= 0.99,
    warnings: share >= 0.99 ? [] : ['too few models']
  }
}

function resilienceResult (over: Partial<ResilienceResult> = {}): ResilienceResult {
  return { delivery: delivery(1), missingAtEnd: {}, isolatedRounds: {}, paused: ['p1', 'p3'], medianRoundMs: 1000, wallS: 60, ...over }
}

const pause = { cell: 'pause' as const, topologyPath: 'topologies/torus-4x4.json', rounds: 45, pauseMs: 45_000, pauseAfter: 8, hogs: 4 }

describe('resilience suite', () => {
  test('the full profile keeps the settings of the committed results; options and bad values', () => {
    assert.equal(findSuite('resilience'), resilience)
    const full = resilience.cells('full', {})
    assert.deepEqual(full.map((c) => c.id), ['pause', 'load'])
    assert.deepEqual(full[0].params, pause)
    const quick = resilience.cells('quick', { cells: 'load' })
    assert.deepEqual(quick.map((c) => [c.id, c.params.rounds, c.params.hogs]), [['load', 20, 2]])
    assert.throws(() => resilience.cells('full', { cells: 'fire' }), /--cells: expected some of pause, load, got "fire"/)
    assert.throws(() => resilience.cells('full', { rounds: 10 }), /--rounds: expected an integer > 13, got 10/)
  })

  test('pause passes when every edge healed and only paused peers were alone, at most twice', () => {
    assert.equal(judge(pause, resilienceResult({ isolatedRounds: { p1: [9], p3: [9, 10] } })).passed, true)
    assert.equal(judge(pause, resilienceResult({ isolatedRounds: { p1: [9, 10, 11] } })).passed, false)
    assert.equal(judge(pause, resilienceResult({ isolatedRounds: { p0: [9] } })).passed, false)
    const unhealed = judge(pause, resilienceResult({ missingAtEnd: { p2: ['p1'] } }))
    assert.equal(unhealed.passed, false)
    assert.match(unhealed.measured, /^missing at the end: \{"p2":\["p1"\]\}; rounds without an honest neighbour's model: \{\}; 7 rounds skipped/)
    assert.match(judge(pause, resilienceResult()).bar, /^one of two worker processes frozen for 45 s after round 8: over the last 5 rounds/)
  })

  test('load passes at 99 % honest-edge delivery; the summary has one check per cell', () => {
    const load = { ...pause, cell: 'load' as const }
    assert.equal(judge(load, resilienceResult({ delivery: delivery(0.99) })).passed, true)
    assert.equal(judge(load, resilienceResult({ delivery: delivery(0.98) })).passed, false)
    assert.equal(judge(load, resilienceResult()).measured, '100.00 % (1000 of 1000); isolated peer-rounds 0')
    const summary = resilience.summarize([
      { cell: { id: 'pause', params: pause, seed: 0 }, result: resilienceResult(), ms: 1 },
      { cell: { id: 'load', params: load, seed: 0 }, result: resilienceResult({ delivery: delivery(0.5) }), ms: 1 }
    ], 'full')
    assert.deepEqual(summary.checks.map((c) => c.ok), [true, false])
    assert.deepEqual(summary.tables[0].rows.map((r) => r.slice(0, 2)), [['pause', 'yes'], ['load', 'no']])
    assert.equal(summary.tables[0].rows[1][4], "4 × node -e 'for(;;){}'")
  })
})

function barResult (over: Partial<SwarmBarResult> = {}): SwarmBarResult {
  return {
    rounds: 8, accuracy: 0.9, minAccuracy: 0.85, medianRoundMs: 900, computeMs: 10, communicateMs: 80, aggregateMs: 10, rssPerPeerMiB: 50,
    wallS: 10, byzantine: [], honestDelivered: 1, valid: true, warnings: [], ...over
  }
}

describe('swarm-bars suite', () => {
  test('the full profile has the three bars of the committed results; quick runs bars 1 and 2 briefly', () => {
    assert.equal(findSuite('swarm-bars'), swarmBars)
    const full = swarmBars.cells('full', {})
    assert.equal(full.length, 1 + 5 * 4 + 1)
    assert.deepEqual([full[0].id, full[1].id, full[full.length - 1].id], ['bar1-torus-mlp-noattack', 'bar2-signflip-mean-100', 'bar3-regular64'])
    assert.deepEqual(full[1].params, { bar: 2, topologyPath: 'topologies/torus-4x4.json', rounds: 100, rule: 'mean', f: 1, attack: 'signflip' })
    assert.deepEqual(swarmBars.cells('quick', {}).map((c) => c.id), ['bar1-torus-mlp-noattack', 'bar2-signflip-mean-8', 'bar2-signflip-nnm+cwtm-8'])
    const custom = swarmBars.cells('full', { bars: '2', rules: 'cclip(tau=1)', attacks: 'alie', 'attack-rounds': 60 })
    assert.deepEqual(custom.map((c) => c.id), ['bar2-alie-cclip_tau_1_-60'])
    assert.throws(() => swarmBars.cells('full', { bars: '4' }), /--bars: expected some of 1, 2, 3, got "4"/)
  })

  test('a cell that measured nothing is "not a result" in the tables and fails the check', () => {
    const cells = swarmBars.cells('quick', {})
    const summary = swarmBars.summarize([
      { cell: cells[0], result: barResult({ reached94: 7 }), ms: 1 },
      { cell: cells[1], result: barResult(), ms: 1 },
      { cell: cells[2], result: barResult({ valid: false, warnings: ['attack did not land'] }), ms: 1 }
    ], 'quick')
    assert.deepEqual(summary.tables.map((t) => t.name), ['bar1', 'bar2'])
    assert.deepEqual(summary.tables[0].rows, [[8, '90.00%', '85.00%', 7, 900]])
    assert.deepEqual(summary.tables[1].rows, [['signflip', '90.00% (85.00%)', 'not a result (1 warning, see results.json)']])
    assert.deepEqual(summary.checks.map((c) => [c.ok, c.detail]), [[false, 'bar2-signflip-nnm+cwtm-8: attack did not land']])
  })
})
