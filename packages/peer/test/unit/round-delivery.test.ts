// Rounds that mean what they report: the adaptive deadline, the inbox's catch-up bookkeeping, an
// engine that neither gives up a configured edge nor lets a silent neighbour hold its round, and
// the launcher's delivery ledger.

import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import { AdaptiveDeadline } from '../../src/round/deadline.ts'
import { DeliveryLedger, type DeliveryEvent } from '../../src/swarm/delivery.ts'
import { RoundEngine } from '../../src/round/engine.ts'
import { encodeFrame } from '../../src/wire/frame.ts'
import { Inbox, type RoundTiming } from '../../src/round/inbox.ts'
import { createQuadraticLearner } from '../../src/round/learner.ts'
import { createMemoryHub } from '../../src/net/memory-transport.ts'
import type { ModelTransport, RoundMetrics } from '../../src/round/types.ts'

/** A collected round's timing as the inbox gives it (the senders are a0, a1, … and l0, l1, …). */
const timing = (round: number, arrivals: number[], late: number[] = [], complete = true): RoundTiming[] => [{
  round,
  startedAt: 0,
  awaited: new Set([...arrivals.map((_, k) => `a${k}`), ...late.map((_, k) => `l${k}`)]),
  complete,
  arrivals: new Map(arrivals.map((ms, k) => [`a${k}`, ms])),
  late: new Map(late.map((ms, k) => [`l${k}`, ms]))
}]

describe('adaptive deadline', () => {
  it('waits the cap until it has observed enough rounds, then 3× the recent 90th percentile of the slowest arrival', () => {
    const d = new AdaptiveDeadline({ capMs: 10_000, floorMs: 100 })
    assert.equal(d.ms, 10_000)
    d.observe(timing(0, [50, 200]))
    d.observe(timing(1, [300]))
    assert.equal(d.ms, 10_000, 'two rounds are not enough')
    d.observe(timing(2, [100, 250]))
    // slowest per round: 200, 300, 250 → p90 = 290 → 870
    assert.equal(d.ms, 870)
  })

  it('stays within its floor and cap, ignores rounds where nothing arrived and repeated rounds', () => {
    const d = new AdaptiveDeadline({ capMs: 5000 })
    assert.equal(d.floorMs, 2000)
    for (let t = 0; t < 5; t++) d.observe(timing(t, [10]))
    assert.equal(d.ms, 2000, 'floor')
    for (let t = 5; t < 30; t++) d.observe(timing(t, []))
    assert.equal(d.ms, 2000, 'a silent round adds nothing')
    d.observe(timing(4, [100_000]))
    assert.equal(d.ms, 2000, 'an old round is not observed twice')
    const slow = new AdaptiveDeadline({ capMs: 5000 })
    for (let t = 0; t < 5; t++) slow.observe(timing(t, [4000]))
    assert.equal(slow.ms, 5000, 'cap')
  })

  it('of a round with a model missing, learns only from the late arrivals', () => {
    const d = new AdaptiveDeadline({ capMs: 60_000, floorMs: 100 })
    for (let t = 0; t < 3; t++) d.observe(timing(t, [100]))
    assert.equal(d.ms, 300)
    for (let t = 3; t < 10; t++) d.observe(timing(t, [250], [], false))
    assert.equal(d.ms, 300, 'arrivals skewed by waiting out a missing neighbour are not learnt')
    d.observe(timing(10, [250], [400], false))
    assert.equal(d.ms, 3 * (100 + 0.7 * 300), 'a late arrival is')
  })

  it('learns from models that came after the deadline', () => {
    const d = new AdaptiveDeadline({ capMs: 60_000, floorMs: 100 })
    for (let t = 0; t < 3; t++) d.observe(timing(t, [100]))
    assert.equal(d.ms, 300)
    for (let t = 3; t < 6; t++) d.observe(timing(t, [100], [900]))
    assert.ok(d.ms >= 2700, `late arrivals raise the deadline (got ${d.ms})`)
  })

  it('counts a model that came rounds after its own round towards that round, once', () => {
    const d = new AdaptiveDeadline({ capMs: 60_000, floorMs: 100 })
    for (let t = 0; t < 3; t++) d.observe(timing(t, [100]))
    const missing = timing(3, [100], [], false)
    d.observe(missing)
    assert.equal(d.ms, 300, 'a round with a model missing and nothing late teaches nothing')
    const late = [{ ...missing[0], late: new Map([['l0', 1000]]) }]
    d.observe([...late, ...timing(4, [100])])
    d.observe(late)
    // slowest per round: 100, 100, 100, 1000, 100 → p90 = 640 → 1920
    assert.equal(d.ms, 1920)
  })

  it('never learns from a round the process was stalled in', () => {
    const d = new AdaptiveDeadline({ capMs: 60_000, floorMs: 100 })
    for (let t = 0; t < 3; t++) d.observe(timing(t, [100]))
    d.ignore(3)
    d.observe(timing(3, [40_000]))
    assert.equal(d.ms, 300)
  })

  it('refuses bad options', () => {
    assert.throws(() => new AdaptiveDeadline({ capMs: 0 }), /capMs/)
    assert.throws(() => new AdaptiveDeadline({ capMs: 100, floorMs: 200 }), /floorMs/)
    assert.throws(() => new AdaptiveDeadline({ capMs: 100, window: 2, warmup: 3 }), /warmup/)
  })
})

describe('inbox: catching up and arrival times', () => {
  const frame = (sender: string, round: number, value = 1): Uint8Array =>
    encodeFrame({ swarm: 's', sender, round, dtype: 'f32', params: Float32Array.of(value, value) })

  it('the frontier is the highest round at least quorum senders reached', () => {
    const inbox = new Inbox({ swarm: 's', dimension: 2, roundsAhead: 2 })
    inbox.advance(0)
    inbox.receive('a', frame('a', 9))
    inbox.receive('b', frame('b', 12))
    inbox.receive('c', frame('c', 1))
    assert.equal(inbox.frontier(['a', 'b', 'c'], 1), 12)
    assert.equal(inbox.frontier(['a', 'b', 'c'], 2), 9)
    assert.equal(inbox.frontier(['a', 'b', 'c'], 3), 1)
    assert.equal(inbox.frontier(['a', 'b', 'd'], 3), -1, 'a node never heard from counts as nowhere')
    assert.equal(inbox.frontier(['a'], 2), -1)
  })

  it('frames too far ahead are refused for now, but the newest is kept and handed over when the window reaches it', async () => {
    const inbox = new Inbox({ swarm: 's', dimension: 2, roundsAhead: 2 })
    inbox.advance(0)
    inbox.receive('a', frame('a', 8, 8))
    inbox.receive('a', frame('a', 9, 9))
    assert.equal(inbox.rejections()['future-round'], 2)
    assert.equal(inbox.rejectionsBySender().a, 2)
    const got = await inbox.collect(9, ['a'], Date.now() + 1000)
    assert.deepEqual([...got.get('a') ?? []], [9, 9])
  })

  it('a neighbour already past the round stands in with its newest model, instead of being waited for', async () => {
    const inbox = new Inbox({ swarm: 's', dimension: 2, roundsAhead: 2 })
    inbox.advance(3)
    inbox.receive('a', frame('a', 4, 4))
    inbox.receive('b', frame('b', 3, 3))
    inbox.receive('b', frame('b', 5, 5))
    const got = await inbox.collect(3, ['a', 'b'], Date.now() + 1000)
    assert.deepEqual([...got.get('a') ?? []], [4, 4], 'a sent round 4 only')
    assert.deepEqual([...got.get('b') ?? []], [3, 3], 'b\'s own round-3 model first')
  })

  it('a silent neighbour is waited for only until its grace time, and taken when it comes', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 })
    const settle = async (): Promise<void> => { for (let k = 0; k < 5; k++) await Promise.resolve() }
    const inbox = new Inbox({ swarm: 's', dimension: 2, roundsAhead: 2 })
    inbox.receive('a', frame('a', 0))
    let done = false
    const pending = inbox.collect(0, ['a'], 1000, undefined, ['b'], 40).then((models) => { done = true; return models })
    t.mock.timers.tick(39)
    await settle()
    assert.equal(done, false, 'b is waited for until its grace time')
    t.mock.timers.tick(1)
    assert.deepEqual([...(await pending).keys()], ['a'], 'then the round goes on without it, long before the deadline')
    inbox.receive('a', frame('a', 1))
    const withB = inbox.collect(1, ['a'], 2000, undefined, ['b'], 1500)
    t.mock.timers.tick(10)
    inbox.receive('b', frame('b', 1))
    assert.deepEqual([...(await withB).keys()].sort(), ['a', 'b'], 'taken as soon as it comes')
  })

  it('records when each model arrived and which came after the round was collected', async (t) => {
    // Mocked clock: the arrival times are what the test sets, not what a busy machine takes.
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 })
    const inbox = new Inbox({ swarm: 's', dimension: 2, roundsAhead: 2 })
    inbox.receive('a', frame('a', 0))
    const collecting = inbox.collect(0, ['a', 'b'], 30, undefined, ['c'], 0)
    t.mock.timers.tick(30)
    const got = await collecting
    assert.equal(got.size, 1)
    t.mock.timers.tick(10)
    inbox.receive('b', frame('b', 0))
    inbox.receive('c', frame('c', 0))
    const timing = inbox.timings().at(-1)
    assert.equal(timing?.round, 0)
    assert.deepEqual([...timing?.awaited ?? []], ['a', 'b'], 'c was waited for only briefly')
    assert.equal(timing?.complete, false)
    assert.equal(timing?.arrivals.get('a'), 0, 'a model there before the collection started took no time')
    assert.equal(timing?.late.get('b'), 40, 'b came 10 ms after the 30 ms deadline')
    assert.equal(timing?.late.has('c'), false, 'a neighbour not waited for is not late')
    assert.equal(inbox.rejections()['stale-round'], 2)
  })

  it('a model that comes while the next round is collected still counts as late for its own round', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 })
    const inbox = new Inbox({ swarm: 's', dimension: 2, roundsAhead: 2 })
    const first = inbox.collect(0, ['b'], 10)
    t.mock.timers.tick(10)
    await first
    const next = inbox.collect(1, ['b'], 60_000)
    t.mock.timers.tick(5)
    inbox.receive('b', frame('b', 0))
    inbox.receive('b', frame('b', 1))
    await next
    const [zero, one] = inbox.timings()
    assert.equal(zero.round, 0)
    assert.equal(zero.late.get('b'), 15, 'round 0\'s model of b is late for round 0')
    assert.equal(one.complete, true)
  })
})

/** A 3-ring of quadratic learners over the memory hub; node `late` starts `delayMs` after the others. */
async function ringWithPausedNode (opts: { rounds: number, delayMs: number, late: string, timeoutMs: number }): Promise<Map<string, RoundMetrics[]>> {
  const ids = ['p0', 'p1', 'p2']
  // Every node is on the hub from the start (a paused peer still has its socket); 5 ms per
  // delivery keeps the others' rounds from racing through the whole run before it is back.
  const hub = createMemoryHub({ dimension: 2, latencyMs: 5 })
  for (const id of ids) hub.transport(id)
  const metrics = new Map(ids.map((id) => [id, [] as RoundMetrics[]]))
  const runs = ids.map(async (id, i) => {
    if (id === opts.late) await new Promise((resolve) => setTimeout(resolve, opts.delayMs))
    const engine = new RoundEngine({
      self: id,
      neighbours: ids.filter((other) => other !== id),
      neighbourDegrees: [2, 2],
      transport: hub.transport(id),
      learner: createQuadraticLearner({ target: Float32Array.of(i, -i) }),
      rule: 'mean',
      tolerance: { kind: 'global', f: 0 },
      localSteps: 1,
      roundTimeoutMs: opts.timeoutMs,
      minRoundTimeoutMs: opts.timeoutMs,
      rounds: opts.rounds,
      metrics: (m) => { metrics.get(id)?.push(m) }
    })
    return await engine.run()
  })
  const summaries = await Promise.all(runs)
  assert.ok(summaries.every((s) => !s.interrupted))
  return metrics
}

describe('round engine: a configured topology is kept', () => {
  it('a node started late catches up with its neighbours, and every edge delivers again', async () => {
    const metrics = await ringWithPausedNode({ rounds: 60, delayMs: 300, late: 'p2', timeoutMs: 50 })
    const late = metrics.get('p2') ?? []
    const behind = late.filter((m) => m.skipReason === 'behind')
    assert.ok(behind.length >= 3, `p2 skipped the rounds it missed (skipped ${behind.length})`)
    for (const [id, ms] of metrics) {
      assert.deepEqual(ms.map((m) => m.round), Array.from({ length: 60 }, (_, t) => t), `${id} reports every round once`)
      for (const m of ms.slice(-3)) assert.deepEqual(m.missing, [], `${id} round ${m.round}: every neighbour delivered again`)
      assert.ok(ms.every((m) => m.neighbours === 2), `${id} never lost an edge`)
    }
    // While p2 was away its neighbours missed its model, and said so per edge.
    assert.ok((metrics.get('p0') ?? []).some((m) => m.missing.includes('p2')))
  })

  it('a neighbour that never reads holds its own send, not the round; the next round cancels it', async () => {
    const hub = createMemoryHub({ dimension: 2 })
    const inner = hub.transport('p0')
    hub.transport('p1')
    const cancelled: number[] = []
    const stuck: ModelTransport = {
      ...inner,
      send: async (to, round, params, signal) => {
        if (to !== 'p1') { await inner.send(to, round, params, signal); return }
        await new Promise<void>((resolve, reject) => {
          signal?.addEventListener('abort', () => { cancelled.push(round); reject(new Error('cancelled')) }, { once: true })
        })
      }
    }
    const engine = new RoundEngine({
      self: 'p0',
      neighbours: ['p1'],
      transport: stuck,
      learner: createQuadraticLearner({ target: Float32Array.of(1, 1) }),
      rule: 'mean',
      tolerance: { kind: 'global', f: 0 },
      localSteps: 1,
      roundTimeoutMs: 40,
      minRoundTimeoutMs: 40,
      rounds: 3
    })
    const summary = await engine.run()
    assert.equal(summary.rounds, 3)
    assert.deepEqual(cancelled, [0, 1, 2], 'each round replaced the previous send; the last was stopped at the end')
    assert.equal(summary.sendFailures, 3)
  })
})

describe('round engine: a stalled round', () => {
  it('a round that ends far past its deadline (the process was paused) teaches the deadline nothing', async () => {
    const hub = createMemoryHub({ dimension: 2 })
    const inner = hub.transport('p0')
    hub.transport('p1')
    let stalledTiming: RoundTiming | undefined
    // Round 4 of p0 ends 2.2 s past its deadline, as after SIGSTOP; its arrival times then read as huge.
    const stalling: ModelTransport = {
      ...inner,
      collect: async (round, from, deadline, signal, also, alsoUntil) => {
        const got = await inner.collect(round, from, deadline, signal, also, alsoUntil)
        if (round === 4) {
          await new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now()) + 2200))
          stalledTiming = { round: 4, startedAt: 0, awaited: new Set(['p1']), complete: true, arrivals: new Map([['p1', 40_000]]), late: new Map() }
        }
        return got
      },
      timings: () => inner.timings().map((timing) => timing.round === 4 && stalledTiming !== undefined ? stalledTiming : timing)
    }
    const deadlines: number[] = []
    const engines = ['p0', 'p1'].map((id, i) => new RoundEngine({
      self: id,
      neighbours: [id === 'p0' ? 'p1' : 'p0'],
      transport: id === 'p0' ? stalling : hub.transport('p1'),
      learner: createQuadraticLearner({ target: Float32Array.of(i, i) }),
      rule: 'mean',
      tolerance: { kind: 'global', f: 0 },
      localSteps: 1,
      roundTimeoutMs: 60_000,
      minRoundTimeoutMs: 100,
      rounds: 7,
      metrics: (m) => { if (id === 'p0') deadlines[m.round] = m.deadlineMs }
    }))
    await Promise.all(engines.map(async (e) => await e.run()))
    // Learning the stall would set the deadline to the 60 s cap (3 × 40 s); it learns the rounds around it instead.
    assert.ok(deadlines[5] < 60_000 && deadlines[6] < 60_000, `deadlines after the stall: ${deadlines.join(', ')}`)
  })
})

const record = (node: string, round: number, missing: string[], extra: Partial<RoundMetrics> = {}): RoundMetrics => ({
  node,
  round,
  byzantine: false,
  trainLoss: 0,
  received: 2 - missing.length,
  neighbours: 2,
  missing,
  f: 0,
  mix: 'ok',
  deadlineMs: 100,
  bytesSent: 0,
  sendFailures: 0,
  rejected: {},
  computeMs: 0,
  communicateMs: 0,
  aggregateMs: 0,
  roundMs: 0,
  ...extra
})

describe('delivery ledger', () => {
  it('turns per-edge misses into events and shares, and judges the run', () => {
    const events: DeliveryEvent[] = []
    const ledger = new DeliveryLedger({ byzantine: [], onEvent: (e) => events.push(e) })
    const nb = { a: ['b', 'c'], b: ['a', 'c'] }
    ledger.observe(record('a', 0, []), nb.a)
    ledger.observe(record('b', 0, []), nb.b)
    ledger.observe(record('a', 1, ['c']), nb.a)
    ledger.observe(record('b', 1, ['a', 'c'], { received: 0 }), nb.b)
    assert.deepEqual(ledger.live(), { live: 1, edges: 4 })
    ledger.observe(record('a', 2, []), nb.a)
    ledger.observe(record('b', 2, ['c']), nb.b)
    assert.deepEqual(events, [
      { round: 1, event: 'edge-down', from: 'c', to: 'a' },
      { round: 1, event: 'edge-down', from: 'a', to: 'b' },
      { round: 1, event: 'edge-down', from: 'c', to: 'b' },
      { round: 1, event: 'isolated', node: 'b' },
      { round: 2, event: 'edge-up', from: 'c', to: 'a', missed: 1 },
      { round: 2, event: 'edge-up', from: 'a', to: 'b', missed: 1 },
      { round: 2, event: 'reconnected', node: 'b', rounds: 1 }
    ])
    const report = ledger.report()
    assert.equal(report.honest.expected, 12)
    assert.equal(report.honest.delivered, 8)
    assert.equal(report.honest.worst[0].from, 'c')
    assert.equal(report.honest.worst[0].to, 'b')
    assert.deepEqual(report.isolated, { peerRounds: 1, peers: ['b'] })
    assert.equal(report.valid, false)
    assert.equal(report.warnings.length, 2)
  })

  it('an attack that reaches under 90 % of its receivers did not land; refused frames did reach them; silence has nothing to deliver', () => {
    const run = (missedRounds: number, refused: number, sends = true): ReturnType<DeliveryLedger['report']> => {
      const ledger = new DeliveryLedger({ byzantine: ['x'], attack: { behaviour: 'signflip', sends } })
      for (let t = 0; t < 10; t++) ledger.observe(record('a', t, t < missedRounds ? ['x'] : []), ['b', 'x'])
      return ledger.report([{ x: refused }])
    }
    const landed = run(0, 0)
    assert.equal(landed.attack?.share, 1)
    assert.equal(landed.attack?.landed, true)
    assert.equal(landed.valid, true)
    const lost = run(2, 0)
    assert.equal(lost.attack?.reached, 0.8)
    assert.equal(lost.attack?.landed, false)
    assert.match(lost.warnings.join('\n'), /attack signflip did not land/)
    const refused = run(10, 10)
    assert.equal(refused.attack?.share, 0)
    assert.equal(refused.attack?.reached, 1, 'refused by the checks, but it did arrive')
    assert.equal(refused.attack?.landed, true)
    assert.equal(run(10, 0, false).attack, null)
  })
})
