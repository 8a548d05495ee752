import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { encodeFrame } from '../../src/wire/frame.ts'
import { createMemoryHub } from '../../src/net/memory-transport.ts'

const soon = (ms: number): number => Date.now() + ms
const tick = async (): Promise<void> => { await new Promise((resolve) => setImmediate(resolve)) }

describe('memory hub: model exchange', () => {
  test('models arrive bit-exact (f32) and collect resolves as soon as all arrived', { timeout: 60_000 }, async () => {
    const hub = createMemoryHub({ dimension: 3 })
    const [a, b, c] = ['a', 'b', 'c'].map((id) => hub.transport(id))
    const x = Float32Array.of(1.5, -2, 1e-7)
    const y = Float32Array.of(0, 3, -4)
    // A ten-minute deadline: only the arrivals can end this collect before the test times out.
    const pending = c.collect(0, ['a', 'b'], soon(600_000))
    await a.send('c', 0, x)
    await b.send('c', 0, y)
    const got = await pending
    assert.deepEqual([...got.keys()], ['a', 'b'])
    assert.deepEqual(got.get('a'), x)
    assert.deepEqual(got.get('b'), y)
    // The sender may reuse its buffer: the receiver holds its own copy.
    x[0] = 99
    assert.equal(got.get('a')?.[0], 1.5)
    assert.equal(a.bytesSent(), 20 + 'murmur'.length + 1 + 12)
  })

  test('f16 on the wire keeps values to half precision', async () => {
    const hub = createMemoryHub({ dimension: 2, dtype: 'f16' })
    const [a, b] = ['a', 'b'].map((id) => hub.transport(id))
    await a.send('b', 0, Float32Array.of(0.1, 1000.3))
    const got = await b.collect(0, ['a'], soon(1000))
    assert.deepEqual(Array.from(got.get('a') as Float32Array), [Math.f16round(0.1), Math.f16round(1000.3)])
  })

  test('at the deadline collect resolves with the partial set', async () => {
    const hub = createMemoryHub({ dimension: 1 })
    const [a, , c] = ['a', 'b', 'c'].map((id) => hub.transport(id))
    await a.send('c', 0, Float32Array.of(1))
    const started = Date.now()
    const got = await c.collect(0, ['a', 'b'], soon(50))
    assert.ok(Date.now() - started >= 45)
    assert.deepEqual([...got.keys()], ['a'])
  })

  test('frames of the next rounds are kept for their round; later ones are future, earlier ones stale', async () => {
    const hub = createMemoryHub({ dimension: 1, roundsAhead: 2 })
    const [a, b] = ['a', 'b'].map((id) => hub.transport(id))
    b.startAt?.(0)
    for (const round of [1, 2, 3]) await a.send('b', round, Float32Array.of(round))
    await tick()
    assert.deepEqual(b.rejections(), { 'future-round': 1 })
    assert.deepEqual(await b.collect(0, [], soon(10)), new Map())
    assert.deepEqual((await b.collect(1, ['a'], soon(1000))).get('a'), Float32Array.of(1))
    assert.deepEqual((await b.collect(2, ['a'], soon(1000))).get('a'), Float32Array.of(2))
    await a.send('b', 2, Float32Array.of(2)) // round 2 is done
    await a.send('b', 2, Float32Array.of(2))
    await tick()
    assert.deepEqual(b.rejections(), { 'future-round': 1, 'stale-round': 2 })
  })

  test('before it knows its start round a node keeps any round, within the bound', async () => {
    const hub = createMemoryHub({ dimension: 1, roundsAhead: 1 })
    const [a, b] = ['a', 'b'].map((id) => hub.transport(id))
    for (const round of [40, 41, 42]) await a.send('b', round, Float32Array.of(round))
    await tick()
    assert.deepEqual(b.rejections(), {})
    b.startAt?.(41)
    // Round 40 was dropped to keep roundsAhead + 1 rounds; 41 and 42 wait for their collect.
    assert.deepEqual((await b.collect(41, ['a'], soon(1000))).get('a'), Float32Array.of(41))
    assert.deepEqual((await b.collect(42, ['a'], soon(1000))).get('a'), Float32Array.of(42))
  })

  test('refusals are counted by reason: dimension, NaN, swarm, spoofed sender, duplicate, garbage', async () => {
    const hub = createMemoryHub({ swarm: 's', dimension: 2 })
    const [a, b] = ['a', 'b'].map((id) => hub.transport(id))
    b.startAt?.(0)
    await a.send('b', 0, Float32Array.of(1, 2, 3))
    await a.send('b', 0, Float32Array.of(NaN, 1))
    await a.sendRaw('b', encodeFrame({ swarm: 'other', sender: 'a', round: 0, dtype: 'f32', params: Float32Array.of(1, 2) }))
    await a.sendRaw('b', encodeFrame({ swarm: 's', sender: 'c', round: 0, dtype: 'f32', params: Float32Array.of(1, 2) }))
    await a.sendRaw('b', Uint8Array.of(1, 2, 3))
    await a.send('b', 0, Float32Array.of(5, 6))
    await a.send('b', 0, Float32Array.of(7, 8))
    await tick()
    assert.deepEqual(b.rejections(), { dimension: 1, 'non-finite': 1, 'wrong-swarm': 1, 'unknown-sender': 1, malformed: 1, duplicate: 1 })
    // The first good frame won.
    assert.deepEqual((await b.collect(0, ['a'], soon(1000))).get('a'), Float32Array.of(5, 6))
  })

  test('sending to an unknown or disconnected node rejects; an abort ends collect early', { timeout: 60_000 }, async () => {
    const hub = createMemoryHub({ dimension: 1 })
    const [a, b] = ['a', 'b'].map((id) => hub.transport(id))
    await assert.rejects(a.send('nobody', 0, Float32Array.of(1)), /nobody is unreachable/)
    hub.disconnect('b')
    await assert.rejects(a.send('b', 0, Float32Array.of(1)), /b is unreachable/)
    const controller = new AbortController()
    setTimeout(() => { controller.abort() }, 20)
    // Only the abort can end this ten-minute collect before the test times out.
    assert.deepEqual(await b.collect(0, ['a'], soon(600_000), controller.signal), new Map())
    await assert.rejects(Promise.all([b.collect(1, ['a'], soon(50)), b.collect(2, ['a'], soon(50))]), /round 1 is still being collected/)
  })

  test('bad hub options are refused', () => {
    assert.throws(() => createMemoryHub({ dimension: 0 }), /dimension must be an integer ≥ 1/)
    assert.throws(() => createMemoryHub({ dimension: 1, roundsAhead: -1 }), /roundsAhead must be an integer ≥ 0/)
  })
})

describe('memory hub: collusion channel', () => {
  test('colluders pool what each received; gather waits for every report or the deadline', async () => {
    const hub = createMemoryHub({ dimension: 1 })
    const colluders = ['x', 'y', 'z']
    const [x, y, z] = colluders.map((id) => hub.collusion(id, colluders))
    const pending = x.gather(3, soon(5000))
    await x.share(3, new Map([['h1', Float32Array.of(1)]]))
    await y.share(3, new Map([['h2', Float32Array.of(2)], ['h1', Float32Array.of(1)]]))
    await z.share(3, new Map()) // received nothing, still reports
    const pooled = await pending
    assert.deepEqual([...pooled.keys()].sort(), ['h1', 'h2'])
    assert.deepEqual((await y.gather(3, soon(10))).get('h2'), Float32Array.of(2))
    // Round 4: z never reports, so gather returns at the deadline with the rest.
    await x.share(4, new Map([['h3', Float32Array.of(3)]]))
    const started = Date.now()
    const partial = await y.gather(4, soon(40))
    assert.ok(Date.now() - started >= 35)
    assert.deepEqual([...partial.keys()], ['h3'])
  })

  test('a node must be one of its colluders', () => {
    const hub = createMemoryHub({ dimension: 1 })
    assert.throws(() => hub.collusion('h', ['x', 'y']), /h is not among its colluders/)
  })
})
