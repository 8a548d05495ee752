import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createMemoryHub } from '../../src/net/memory-transport.ts'

const soon = (ms: number): number => Date.now() + ms
const tick = async (): Promise<void> => { await new Promise((resolve) => setImmediate(resolve)) }

describe('memory hub: options', () => {
  test('bad hub options are refused', () => {
    assert.throws(() => createMemoryHub({ dimension: 0 }), /dimension must be an integer ≥ 1/)
    assert.throws(() => createMemoryHub({ dimension: 1, roundsAhead: -1 }), /roundsAhead must be an integer ≥ 0/)
  })
})

describe('memory hub: collusion channel', () => {
  test('colluders pool what each received; gather waits for every report or the deadline', { timeout: 60_000 }, async () => {
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
    // Round 4: z never reports, so gather waits for it (until aborted) or returns at the deadline with the rest.
    await x.share(4, new Map([['h3', Float32Array.of(3)]]))
    const controller = new AbortController()
    let settled = false
    const waiting = y.gather(4, soon(600_000), controller.signal).finally(() => { settled = true })
    await tick()
    assert.equal(settled, false, 'gather waits while a colluder has not reported')
    const partial = await y.gather(4, soon(40))
    assert.deepEqual([...partial.keys()], ['h3'])
    controller.abort()
    assert.deepEqual([...(await waiting).keys()], ['h3'])
  })

  test('a node must be one of its colluders', () => {
    const hub = createMemoryHub({ dimension: 1 })
    assert.throws(() => hub.collusion('h', ['x', 'y']), /h is not among its colluders/)
  })
})
