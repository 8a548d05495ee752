import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { isLossAwareRule, lossGaps, RoundEngine } from '../../src/round/engine.ts'
import { loadCheckpoint } from '../../src/round/checkpoint.ts'
import { createQuadraticLearner } from '../../src/round/learner.ts'
import { createMemoryHub } from '../../src/net/memory-transport.ts'
import type { Aggregator } from '@murmur/robust'
import type { Learner } from '../../src/round/types.ts'
import {
  consensusDistance, distance, makeTargets, meanOf, ringGraph, simulate, torusGraph
} from '../helpers/simulate.ts'

const scratch = mkdtempSync(join(tmpdir(), 'murmur-engine-'))
after(() => { rmSync(scratch, { recursive: true, force: true }) })

const norm = (x: Float32Array): number => Math.hypot(...x)
const finite = (x: Float32Array): boolean => x.every((v) => Number.isFinite(v))

describe('round engine: honest swarms', () => {
  test('ring of 8 with mean mixing: consensus distance falls by > 100× and models reach the honest optimum', async () => {
    const lr = 0.2
    const run = await simulate({ graph: ringGraph(8), rule: 'mean', f: 0, rounds: 40, initialSpread: 10, heterogeneity: 1, lr })
    const cd = run.history.map((h) => consensusDistance(run.honest.map((id) => h.get(id) as Float32Array)))
    assert.ok(cd[0] > 10, `initial consensus distance ${cd[0]}`)
    assert.ok(cd[39] / cd[0] < 0.01, `consensus distance ${cd[0]} → ${cd[39]}`)
    // Uniform mixing on a regular graph is doubly stochastic, so the average follows plain gradient
    // descent on the mean loss: avg(t+1) − θ* = (1 − γ)(avg(t) − θ*), exactly.
    const avg0 = meanOf([...(run.history[0]).values()])
    const avg39 = meanOf([...run.params.values()])
    const factor = (1 - lr) ** 39
    for (let j = 0; j < avg0.length; j++) {
      assert.ok(Math.abs((avg39[j] - run.optimum[j]) - factor * (avg0[j] - run.optimum[j])) < 1e-5, `coordinate ${j}`)
    }
    // Alone, nodes would sit at their own targets (up to ~3 from θ*); mixing pulls them to within a quarter of that.
    const spread = Math.max(...run.honest.map((id) => distance(run.targets.get(id) as Float32Array, run.optimum)))
    for (const id of run.honest) assert.ok(distance(run.params.get(id) as Float32Array, run.optimum) < 0.25 * spread, id)
    for (const s of run.summaries.values()) {
      assert.deepEqual([s.rounds, s.mixes.ok, s.sendFailures, s.interrupted], [40, 40, 0, false])
      assert.equal(s.bytesSent, 40 * 2 * (20 + 'murmur'.length + s.node.length + 4 * 4))
    }
  })

  test('3×3 torus with nnm+cwtm: consensus distance falls by > 1000×', async () => {
    const run = await simulate({ graph: torusGraph(3, 3), rule: 'nnm+cwtm', f: 1, rounds: 40, initialSpread: 10 })
    const cd = run.history.map((h) => consensusDistance(run.honest.map((id) => h.get(id) as Float32Array)))
    assert.ok(cd[39] / cd[0] < 1e-3, `consensus distance ${cd[0]} → ${cd[39]}`)
    for (const id of run.honest) assert.ok(distance(run.params.get(id) as Float32Array, run.optimum) < 0.6, id)
  })

  test('metrics carry the time split, counts and evaluation rounds', async () => {
    const run = await simulate({ graph: ringGraph(3), rule: 'cwmed', f: 0, rounds: 5, engine: { evalEvery: 2 } })
    const p0 = run.metrics.filter((m) => m.node === 'p0')
    assert.deepEqual(p0.map((m) => m.round), [0, 1, 2, 3, 4])
    // Evaluated every 2 rounds (after rounds 1 and 3) and at the last round.
    assert.deepEqual(p0.map((m) => m.testLoss !== undefined), [false, true, false, true, true])
    for (const m of p0) {
      assert.deepEqual([m.received, m.neighbours, m.f, m.mix, m.byzantine], [2, 2, 0, 'ok', false])
      assert.ok(m.roundMs >= m.computeMs + m.communicateMs + m.aggregateMs - 1e-6)
    }
    assert.equal(run.summaries.get('p0')?.testLoss, p0[4].testLoss)
  })
})

describe('round engine: Byzantine neighbours', () => {
  test('sign flip: cwtm and nnm+cwtm stay near the honest optimum, mean is dragged far away', async () => {
    const options = { graph: torusGraph(3, 3), rounds: 40, byzantine: { p4: 'signflip' }, heterogeneity: 0.5, localSteps: 2 }
    const far = (run: Awaited<ReturnType<typeof simulate>>): number[] => run.honest.map((id) => distance(run.params.get(id) as Float32Array, run.optimum))
    const robust = await simulate({ ...options, rule: 'nnm+cwtm', f: 1 })
    const trimmed = await simulate({ ...options, rule: 'cwtm', f: 1 })
    const plain = await simulate({ ...options, rule: 'mean', f: 0 })
    const scale = norm(robust.optimum) // ≈ 10
    assert.ok(Math.max(...far(robust)) < 0.05 * scale, `nnm+cwtm: ${far(robust).join(', ')}`)
    assert.ok(Math.max(...far(trimmed)) < 0.06 * scale, `cwtm: ${far(trimmed).join(', ')}`)
    assert.ok(Math.min(...far(plain)) > 0.3 * scale, `mean: ${far(plain).join(', ')}`)
    // The attacker really sent: 4 honest neighbours × 40 rounds.
    assert.equal(robust.summaries.get('p4')?.bytesSent, 40 * 4 * (20 + 6 + 2 + 16))
  })

  for (const [shortfall, mix] of [['shrink-f', 'degraded'], ['keep', 'skipped']] as const) {
    test(`crash neighbour, ${shortfall}: rounds wait out the deadline until it has been silent twice, then only the floor, and count as ${mix}`, async () => {
      const timeout = 1000
      const floor = 50
      const run = await simulate({ graph: ringGraph(5), rule: 'cwtm', f: 1, rounds: 6, byzantine: { p2: 'crash(from=2)' }, roundTimeoutMs: timeout, shortfall, engine: { minRoundTimeoutMs: floor } })
      for (const id of ['p1', 'p3']) {
        const rounds = run.metrics.filter((m) => m.node === id)
        assert.deepEqual(rounds.map((m) => m.mix), ['ok', 'ok', mix, mix, mix, mix], id)
        assert.deepEqual(rounds.map((m) => m.received), [2, 2, 1, 1, 1, 1], id)
        // The deadline does not learn from rounds with a model missing, so it stays at the cap (two
        // complete rounds are too few to adapt); once the neighbour was silent twice running, only
        // the floor is waited for it.
        for (const m of rounds.slice(2, 4)) assert.deepEqual([m.deadlineMs, m.missing], [timeout, ['p2']], `${id} round ${m.round}`)
        // (round 5, not 4: on a busy machine its last model may come a round late, which counts as
        // hearing from it)
        assert.deepEqual(rounds.slice(0, 4).map((m) => m.silent), [undefined, undefined, undefined, undefined], id)
        assert.deepEqual(rounds[5].silent, ['p2'], `${id} round 5 waits for the crashed neighbour only up to the floor`)
        assert.deepEqual(rounds[5].missing, ['p2'], `${id} round 5 ended without the crashed neighbour`)
        for (const m of rounds.slice(2)) {
          assert.equal(m.f, shortfall === 'shrink-f' ? 0 : 1)
          if (shortfall === 'keep') assert.equal(m.skipReason, 'shortfall')
        }
        assert.equal(run.summaries.get(id)?.mixes[mix], 4)
      }
      const crashed = run.metrics.filter((m) => m.node === 'p2')
      assert.deepEqual(crashed.map((m) => m.skipReason), [undefined, undefined, 'crashed', 'crashed', 'crashed', 'crashed'])
      assert.equal(run.summaries.get('p2')?.bytesSent, 2 * 2 * (20 + 6 + 2 + 16))
    })
  }

  test('nan and malformed frames are refused by reason at the receivers; honest models stay finite', async () => {
    const rounds = 6
    const hub = createMemoryHub({ dimension: 4 })
    const run = await simulate({ graph: ringGraph(6), rule: 'cwtm', f: 1, rounds, byzantine: { p1: 'nan', p4: 'malformed' }, roundTimeoutMs: 80, hub })
    // Refused models are not waited for, so the rogue peers may still be sending when an honest
    // receiver ends: count at the hub once the last frames are delivered.
    await new Promise((resolve) => setTimeout(resolve, 20))
    for (const id of ['p0', 'p2']) assert.deepEqual(hub.transport(id).rejections(), { 'non-finite': rounds }, id)
    // `rotate` walks through the six breakages by round and receiver: each receiver sees each once.
    for (const id of ['p3', 'p5']) {
      assert.deepEqual(hub.transport(id).rejections(), { malformed: 2, checksum: 1, dimension: 1, 'wrong-swarm': 1, version: 1 }, id)
    }
    for (const id of run.honest) {
      assert.ok(finite(run.params.get(id) as Float32Array), id)
      for (const h of run.history) assert.ok(finite(h.get(id) as Float32Array))
    }
    // Every receiver of a rogue peer mixed with f shrunk to what arrived.
    for (const id of ['p0', 'p2', 'p3', 'p5']) assert.equal(run.summaries.get(id)?.mixes.degraded, rounds)
  })

  test('equivocation sends a different vector to each neighbour, each −mean of its local view', async () => {
    // On a 4×4 torus no two neighbours of p5 are adjacent, so their local views all differ.
    const graph = torusGraph(4, 4)
    for (const [spec, distinct] of [['equivocate:signflip', 4], ['signflip', 1]] as const) {
      const hub = createMemoryHub({ dimension: 4 })
      const sent = new Map<string, Float32Array>()
      let seen = new Map<string, Float32Array>()
      const attacker = hub.transport('p5')
      const send = attacker.send
      attacker.send = async (to, round, params) => {
        if (round === 0) sent.set(to, params.slice())
        await send(to, round, params)
      }
      const collect = attacker.collect
      attacker.collect = async (round, from, deadline, signal) => {
        const got = await collect(round, from, deadline, signal)
        if (round === 0) seen = new Map(got)
        return got
      }
      await simulate({ graph, rule: 'cwtm', f: 1, rounds: 2, byzantine: { p5: spec }, hub, initialSpread: 3 })
      assert.equal(sent.size, 4)
      const vectors = [...sent.values()].map((v) => Array.from(v).join(','))
      assert.equal(new Set(vectors).size, distinct, spec)
      for (const [receiver, vector] of sent) {
        const view = spec === 'signflip'
          ? [...seen.values()]
          : [receiver, ...(graph.get(receiver) as string[])].filter((id) => id !== 'p5' && seen.has(id)).map((id) => seen.get(id) as Float32Array)
        const expected = meanOf(view).map((v) => -v)
        assert.ok(distance(vector, expected) < 1e-5, `${spec} → ${receiver}`)
      }
    }
  })

  test('a non-finite or failed mixing result is never applied: the own model is kept', async () => {
    // Every rule of @murmur/robust keeps finite inputs finite; a stand-in rule breaks that promise.
    const broken = (name: string, aggregate: Aggregator['aggregate']): Aggregator => ({ name, minInputs: () => 1, aggregate })
    for (const [rule, reason] of [
      [broken('overflow', (inputs) => new Float32Array(inputs[0].length).fill(NaN)), 'non-finite'],
      [broken('throws', () => { throw new Error('refused') }), 'rule-error']
    ] as const) {
      const hub = createMemoryHub({ dimension: 2 })
      const learners = ['a', 'b'].map((id) => createQuadraticLearner({ target: new Float32Array([4, 4]), initial: new Float32Array(id === 'a' ? [1, 1] : [3, 3]) }))
      const summaries = await Promise.all(['a', 'b'].map(async (id, i) => await new RoundEngine({
        self: id, neighbours: [id === 'a' ? 'b' : 'a'], transport: hub.transport(id), learner: learners[i], rule,
        tolerance: { kind: 'global', f: 0 }, localSteps: 1, roundTimeoutMs: 1000, rounds: 1
      }).run()))
      assert.deepEqual(summaries[0].mixes, { ok: 0, degraded: 0, skipped: 1 })
      assert.equal(summaries[0].nonFiniteMixes, reason === 'non-finite' ? 1 : 0)
      // θ(t+½) = 1 − 0.1·(1 − 4) = 1.3: the trained own model, never the rule's output.
      assert.deepEqual(Array.from(learners[0].getParams()), [Math.fround(1.3), Math.fround(1.3)])
    }
  })
})

describe('round engine: checkpoints and loss-aware rules', () => {
  test('a run stopped after round 3 and restarted resumes at round 4 and ends where an unbroken run ends', async () => {
    const options = { graph: ringGraph(4), rule: 'nnm+cwtm', f: 1, rounds: 8, momentum: 0.5, initialSpread: 3 }
    const unbroken = await simulate(options)
    const root = join(scratch, 'resume')
    const first = await simulate({ ...options, checkpointRoot: root, stopAfter: 3 })
    for (const s of first.summaries.values()) assert.deepEqual([s.lastRound, s.interrupted], [3, true])
    const resumedAt = new Map<string, Float32Array>()
    const second = await simulate({
      ...options,
      checkpointRoot: root,
      wrapLearner: (id, learner) => ({
        ...learner,
        train: (steps) => {
          if (!resumedAt.has(id)) resumedAt.set(id, learner.getParams())
          return learner.train(steps)
        }
      })
    })
    for (const [id, s] of second.summaries) {
      assert.deepEqual([s.startRound, s.lastRound, s.rounds, s.resumed], [4, 7, 4, true], id)
      // Round 4 starts from exactly the parameters round 3 ended with.
      assert.deepEqual(resumedAt.get(id), first.history[3].get(id), id)
      // Same parameters and momentum: the restarted run is the unbroken one, bit for bit.
      assert.deepEqual(second.params.get(id), unbroken.params.get(id), id)
    }
    assert.deepEqual(second.metrics.filter((m) => m.node === 'p0').map((m) => m.round), [4, 5, 6, 7])
  })

  test('a checkpoint that cannot be written is counted with its reason, and the rounds go on', async () => {
    const { mkdirSync } = await import('node:fs')
    // A directory where the temporary checkpoint file must go: every write fails, as on a full disk.
    const blocked = join(scratch, 'unwritable')
    mkdirSync(join(blocked, 'checkpoint.bin.tmp'), { recursive: true })
    const engine = new RoundEngine({
      self: 'a', neighbours: [], transport: createMemoryHub({ dimension: 2 }).transport('a'), learner: createQuadraticLearner({ target: Float32Array.of(1, 2) }),
      rule: 'mean', tolerance: { kind: 'global', f: 0 }, localSteps: 1, roundTimeoutMs: 1000, rounds: 3, checkpointDir: blocked
    })
    const summary = await engine.run()
    assert.equal(summary.rounds, 3)
    assert.equal(summary.checkpointFailures, 3)
    assert.match(summary.checkpointError ?? '', /^round 2: /)
  })

  test('checkpoints are written behind the rounds, yet the last round is on disk when run() returns', async () => {
    const hub = createMemoryHub({ dimension: 3 })
    const dirs = { a: join(scratch, 'behind-a'), b: join(scratch, 'behind-b') }
    const engines = (['a', 'b'] as const).map((id) => {
      const learner = createQuadraticLearner({ target: Float32Array.of(1, 2, 3), initial: Float32Array.of(id === 'a' ? 5 : -5, 0, 0) })
      return {
        learner,
        engine: new RoundEngine({
          self: id, neighbours: [id === 'a' ? 'b' : 'a'], transport: hub.transport(id), learner,
          rule: 'mean', tolerance: { kind: 'global', f: 0 }, localSteps: 1, roundTimeoutMs: 5000, rounds: 6, checkpointDir: dirs[id]
        })
      }
    })
    await Promise.all(engines.map(async ({ engine }) => await engine.run()))
    for (const [k, id] of (['a', 'b'] as const).entries()) {
      const saved = await loadCheckpoint(dirs[id])
      assert.ok(saved !== undefined, id)
      assert.equal(saved.round, 5, id)
      assert.deepEqual(saved.params, engines[k].learner.getParams(), id)
      assert.equal(saved.fallback, false)
    }
  })

  test('a round reads the parameters out of the model once, yet reports and checkpoints the model it ends with', async () => {
    const hub = createMemoryHub({ dimension: 2 })
    const dir = join(scratch, 'reads')
    const reads = { a: 0, b: 0 }
    const reported: Array<{ reported: Float32Array, model: Float32Array }> = []
    const engines = (['a', 'b'] as const).map((id) => {
      const inner = createQuadraticLearner({ target: Float32Array.of(1, 2), initial: Float32Array.of(id === 'a' ? 4 : -4, 0) })
      const learner: Learner = { ...inner, getParams: () => { reads[id]++; return inner.getParams() } }
      const onRound = (_m: unknown, params: Float32Array): void => { reported.push({ reported: params, model: inner.getParams() }) }
      return new RoundEngine({
        self: id, neighbours: [id === 'a' ? 'b' : 'a'], transport: hub.transport(id), learner,
        rule: 'mean', tolerance: { kind: 'global', f: 0 }, localSteps: 1, roundTimeoutMs: 5000, rounds: 4,
        ...(id === 'a' ? { checkpointDir: dir, onRound } : {})
      })
    })
    await Promise.all(engines.map(async (engine) => await engine.run()))
    assert.deepEqual(reads, { a: 4, b: 4 })
    assert.equal(reported.length, 4)
    for (const { reported: params, model } of reported) assert.deepEqual(params, model)
    assert.deepEqual((await loadCheckpoint(dir))?.params, reported[3].model)
  })

  test('aborting mid-round drops the round: the checkpoint of the last completed one stands', async () => {
    const hub = createMemoryHub({ dimension: 2 })
    const controller = new AbortController()
    const dir = join(scratch, 'abort')
    const engine = new RoundEngine({
      self: 'a', neighbours: ['b'], transport: hub.transport('a'), learner: createQuadraticLearner({ target: new Float32Array([1, 2]) }),
      rule: 'mean', tolerance: { kind: 'global', f: 0 }, localSteps: 1, roundTimeoutMs: 60_000, rounds: 10, checkpointDir: dir, signal: controller.signal
    })
    hub.transport('b') // b exists but never sends: a would wait a minute
    setTimeout(() => { controller.abort() }, 30)
    // Stopped within round 0 (none completed), not after waiting out its minute-long deadline.
    const summary = await engine.run()
    assert.deepEqual([summary.lastRound, summary.rounds, summary.interrupted], [-1, 0, true])
  })

  test('loss-aware rules get one held-out loss per input and shut out a bad neighbour', async () => {
    const ring = ringGraph(5)
    const targets = makeTargets([...ring.keys()], 4, 5, 0.3, 3)
    targets.set('p0', new Float32Array(4).fill(-20)) // a neighbour whose data is far off
    const good = ['p1', 'p2', 'p3', 'p4']
    const goodOptimum = meanOf(good.map((id) => targets.get(id) as Float32Array))
    const calls = new Map<string, number>()
    const spy = (id: string, learner: Learner): Learner => ({
      ...learner,
      heldOutLoss: (params) => {
        calls.set(id, (calls.get(id) ?? 0) + 1)
        return learner.heldOutLoss(params)
      }
    })
    const rounds = 30
    const gap = (run: Awaited<ReturnType<typeof simulate>>): number[] => good.map((id) => distance(run.params.get(id) as Float32Array, goodOptimum))
    const fedlaw = await simulate({ graph: ring, rule: 'fedlaw', f: 1, rounds, targets, wrapLearner: spy })
    for (const id of ring.keys()) assert.equal(calls.get(id), rounds * 3, id)
    const plain = await simulate({ graph: ring, rule: 'mean', f: 0, rounds, targets })
    assert.ok(Math.max(...gap(fedlaw)) < 0.6, `fedlaw: ${gap(fedlaw).join(', ')}`)
    assert.ok(Math.min(...gap(plain)) > 5, `mean: ${gap(plain).join(', ')}`)

    const torus = torusGraph(3, 3)
    const torusTargets = makeTargets([...torus.keys()], 4, 5, 0.3, 3)
    torusTargets.set('p4', new Float32Array(4).fill(-20))
    const rest = [...torus.keys()].filter((id) => id !== 'p4')
    const restOptimum = meanOf(rest.map((id) => torusTargets.get(id) as Float32Array))
    const pawbrofl = await simulate({ graph: torus, rule: 'pawbrofl', f: 1, rounds, targets: torusTargets })
    for (const id of rest) assert.ok(distance(pawbrofl.params.get(id) as Float32Array, restOptimum) < 0.7, id)
  })

  test('isLossAwareRule and lossGaps', () => {
    assert.equal(isLossAwareRule('fedlaw'), true)
    assert.equal(isLossAwareRule('nnm+pawbrofl(mu=0.5)'), true)
    assert.equal(isLossAwareRule('nnm+cwtm'), false)
    assert.deepEqual(Array.from(lossGaps([2.5, 1, 4])), [1.5, 0, 3])
    assert.deepEqual(Array.from(lossGaps([NaN, 1, Infinity])), [1e12, 0, 1e12])
    assert.deepEqual(Array.from(lossGaps([NaN, NaN])), [0, 0])
  })

  test('bad engine options are refused with the field named', () => {
    const hub = createMemoryHub({ dimension: 2 })
    const base = {
      self: 'a', neighbours: ['b', 'c'], transport: hub.transport('a'), learner: createQuadraticLearner({ target: new Float32Array(2) }),
      rule: 'cwtm', tolerance: { kind: 'global' as const, f: 1 }, localSteps: 1, roundTimeoutMs: 100, rounds: 3
    }
    assert.throws(() => new RoundEngine({ ...base, tolerance: { kind: 'global', f: 2 } }), /cwtm tolerates f ≤ 1 with 3 inputs at a, asked for f = 2/)
    assert.throws(() => new RoundEngine({ ...base, neighbourDegrees: [2] }), /1 neighbour degrees for 2 neighbours/)
    assert.throws(() => new RoundEngine({ ...base, neighbours: ['b', 'a'] }), /distinct and exclude itself/)
    assert.throws(() => new RoundEngine({ ...base, rule: 'cwtmm' }), /unknown rule "cwtmm"/)
    assert.throws(() => new RoundEngine({ ...base, roundTimeoutMs: 0 }), /roundTimeoutMs must be a finite number > 0/)
  })
})
