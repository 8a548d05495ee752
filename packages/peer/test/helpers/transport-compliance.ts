// What every ModelTransport must do, whatever carries the frames: one suite of tests, run against
// each implementation with a factory that makes a small swarm of them (the in-memory hub in the
// unit tier, the libp2p exchange over TCP on 127.0.0.1 in the e2e tier).

import assert from 'node:assert/strict'
import { describe, test, type TestContext } from 'node:test'
import { createRng } from '@murmur/robust'
import { createModelExchange, type ModelExchange } from '../../src/net/exchange.ts'
import { createMemoryHub } from '../../src/net/memory-transport.ts'
import type { MurmurNode } from '../../src/net/node.ts'
import type { ModelTransport } from '../../src/round/types.ts'
import { encodeFrame, type Dtype, type FrameRejection } from '../../src/wire/frame.ts'
import { addressBook, startNode, until } from './net.ts'

export interface SwarmOptions {
  swarm: string
  dimension: number
  dtype?: Dtype
  roundsAhead?: number
}

/** Both implementations count the frame bytes they wrote. */
export type TestTransport = ModelTransport & { bytesSent: () => number }

export interface TestSwarm {
  transports: Record<string, TestTransport>
  /** Makes node `id` unreachable, as a peer whose process is gone. */
  disconnect: (id: string) => Promise<void>
  stop: () => Promise<void>
}

export type MakeSwarm = (ids: string[], options: SwarmOptions) => Promise<TestSwarm>

/** Nodes on one in-memory hub. */
export const memorySwarm: MakeSwarm = async (ids, options) => {
  const hub = createMemoryHub(options)
  const transports = Object.fromEntries(ids.map((id) => [id, hub.transport(id)]))
  return { transports, disconnect: async (id) => { hub.disconnect(id) }, stop: async () => {} }
}

/** The one place the tests build a libp2p exchange on a started node. */
export async function createExchange (node: MurmurNode, self: string, options: SwarmOptions): Promise<ModelExchange> {
  const exchange = createModelExchange(node, { ...options, self })
  await exchange.start()
  return exchange
}

/** Real libp2p nodes on 127.0.0.1, each with an exchange whose address book lists them all. */
export const libp2pSwarm: MakeSwarm = async (ids, options) => {
  const nodes = Object.fromEntries(await Promise.all(ids.map(async (id) => [id, await startNode(id)] as const)))
  const book = addressBook(nodes)
  const transports: Record<string, ModelExchange> = {}
  for (const id of ids) {
    transports[id] = await createExchange(nodes[id], id, options)
    await transports[id].setAddressBook(book)
  }
  const running = new Set(ids)
  const stopNode = async (id: string): Promise<void> => {
    if (running.delete(id)) await nodes[id].stop()
  }
  return { transports, disconnect: stopNode, stop: async () => { await Promise.all(ids.map(stopNode)) } }
}

const SWARM = 'compliance'
const D = 64
const soon = (ms: number): number => Date.now() + ms
/** A collect only its arrivals or an abort can end before the test's own timeout fails it. */
const NEVER = 600_000
const GUARD = { timeout: 120_000 }

function randomVector (seed: number, d = D): Float32Array {
  const rng = createRng(seed)
  const v = new Float32Array(d)
  for (let j = 0; j < d; j++) v[j] = rng.normal() * 10 ** (rng.int(9) - 4)
  return v
}

const filled = (value: number, d = D): Float32Array => new Float32Array(d).fill(value)

/** Bit-exact equality, so -0 vs 0 or a rounded last bit would fail. */
function assertBitExact (actual: Float32Array | undefined, expected: Float32Array, what: string): void {
  assert.ok(actual !== undefined, `${what}: no model`)
  const bits = (v: Float32Array): Uint32Array => new Uint32Array(v.buffer, v.byteOffset, v.length)
  assert.deepEqual(bits(actual), bits(expected), what)
}

export function transportCompliance (name: string, makeSwarm: MakeSwarm): void {
  describe(`ModelTransport compliance: ${name}`, () => {
    const swarmOf = async (t: TestContext, ids: string[], options: Partial<SwarmOptions> = {}): Promise<TestSwarm> => {
      const swarm = await makeSwarm(ids, { swarm: SWARM, dimension: D, ...options })
      t.after(async () => { await swarm.stop() })
      return swarm
    }

    test('f32 models arrive bit-exact in the order asked for; collect resolves as soon as all arrived, and its timing says so', GUARD, async (t) => {
      const { transports: { a, b, c } } = await swarmOf(t, ['a', 'b', 'c'])
      const fromA = randomVector(1)
      const fromC = randomVector(2)
      fromC[5] = -0
      fromC[6] = 1e-42 // subnormal
      const kept = fromA.slice()
      const collecting = b.collect(0, ['c', 'a'], soon(NEVER))
      await Promise.all([a.send('b', 0, fromA), c.send('b', 0, fromC)])
      const got = await collecting
      assert.deepEqual([...got.keys()], ['c', 'a'], 'in the order of `from`')
      assertBitExact(got.get('a'), kept, 'model of a')
      assertBitExact(got.get('c'), fromC, 'model of c')
      // The sender may reuse its buffer: the receiver holds its own copy.
      fromA.fill(99)
      assertBitExact(got.get('a'), kept, 'model of a after the sender reused its buffer')
      const frameBytes = encodeFrame({ swarm: SWARM, sender: 'a', round: 0, dtype: 'f32', params: kept }).length
      assert.equal(a.bytesSent(), frameBytes, 'frame bytes, without any length prefix')
      const timing = b.timings().at(-1)
      assert.equal(timing?.round, 0)
      assert.equal(timing?.complete, true)
      assert.deepEqual([...(timing?.awaited ?? [])].sort(), ['a', 'c'])
      assert.deepEqual([...(timing?.arrivals.keys() ?? [])].sort(), ['a', 'c'])
      assert.ok(b.lastHeard('a') > 0 && b.lastHeard('c') > 0, 'both were heard')
      assert.equal(b.lastHeard('nobody'), 0)
    })

    test('f16 on the wire keeps values to half precision in half the bytes', GUARD, async (t) => {
      const { transports: { a, b } } = await swarmOf(t, ['a', 'b'], { dtype: 'f16' })
      const sent = randomVector(3).map((x) => Math.max(-60000, Math.min(60000, x)))
      sent[0] = 0.1
      sent[1] = 1000.3
      await a.send('b', 0, sent)
      const got = (await b.collect(0, ['a'], soon(NEVER))).get('a')
      assert.ok(got !== undefined)
      assert.deepEqual([got[0], got[1]], [Math.f16round(0.1), Math.f16round(1000.3)])
      for (let j = 0; j < D; j++) {
        // f16: 11 significant bits for normals, absolute step 2^-24 for subnormals.
        const tolerance = Math.abs(sent[j]) * 2 ** -11 + 2 ** -24
        assert.ok(Math.abs(got[j] - sent[j]) <= tolerance, `coordinate ${j}: sent ${sent[j]}, got ${got[j]}`)
      }
      assert.equal(a.bytesSent(), encodeFrame({ swarm: SWARM, sender: 'a', round: 0, dtype: 'f16', params: sent }).length)
    })

    test('a frame of round t+1 sent during round t is kept for it; at its deadline collect resolves with what came; late is stale', GUARD, async (t) => {
      const { transports: { a, b, c } } = await swarmOf(t, ['a', 'b', 'c'])
      const collecting = b.collect(1, ['a', 'c'], soon(NEVER))
      await a.send('b', 2, filled(22)) // early: a is one round ahead
      await Promise.all([a.send('b', 1, filled(11)), c.send('b', 1, filled(-11))])
      const round1 = await collecting
      assert.deepEqual(round1.get('a'), filled(11))
      assert.deepEqual(round1.get('c'), filled(-11))
      // c never sends round 2: the deadline ends the wait with a's early frame.
      const round2 = await b.collect(2, ['a', 'c'], soon(300))
      assert.deepEqual([...round2.keys()], ['a'])
      assert.deepEqual(round2.get('a'), filled(22))
      const timing = b.timings().at(-1)
      assert.equal(timing?.round, 2)
      assert.equal(timing?.complete, false, 'the round ended at its deadline with c missing')
      assert.deepEqual([...(timing?.arrivals.keys() ?? [])], ['a'])
      // Round 2 is collected: c's late frame is stale and never reaches round 3.
      await c.send('b', 2, filled(-22))
      await until(() => b.rejections()['stale-round'] === 1, 'the late frame to be refused as stale')
      assert.deepEqual(b.rejections(), { 'stale-round': 1 })
    })

    test('frames of the next rounds are kept for their round; later ones are future, earlier ones stale', GUARD, async (t) => {
      const { transports: { a, b } } = await swarmOf(t, ['a', 'b'], { dimension: 1, roundsAhead: 2 })
      b.startAt?.(0)
      for (const round of [1, 2, 3]) await a.send('b', round, Float32Array.of(round))
      await until(() => b.rejections()['future-round'] === 1, 'round 3 to be refused as too far ahead')
      assert.deepEqual(b.rejections(), { 'future-round': 1 })
      assert.deepEqual(await b.collect(0, [], soon(10)), new Map())
      assert.deepEqual((await b.collect(1, ['a'], soon(NEVER))).get('a'), Float32Array.of(1))
      assert.deepEqual((await b.collect(2, ['a'], soon(NEVER))).get('a'), Float32Array.of(2))
      await a.send('b', 2, Float32Array.of(2)) // round 2 is done
      await a.send('b', 2, Float32Array.of(2))
      await until(() => b.rejections()['stale-round'] === 2, 'both to be refused as stale')
      assert.deepEqual(b.rejections(), { 'future-round': 1, 'stale-round': 2 })
    })

    test('before it knows its start round a node keeps any round, within the bound', GUARD, async (t) => {
      const { transports: { a, b } } = await swarmOf(t, ['a', 'b'], { dimension: 1, roundsAhead: 1 })
      for (const round of [40, 41, 42]) await a.send('b', round, Float32Array.of(round))
      await until(() => b.frontier(['a'], 1) === 42, 'round 42 to arrive')
      assert.deepEqual(b.rejections(), {})
      b.startAt?.(41)
      // Round 40 was dropped to keep roundsAhead + 1 rounds; 41 and 42 wait for their collect.
      assert.deepEqual((await b.collect(41, ['a'], soon(NEVER))).get('a'), Float32Array.of(41))
      assert.deepEqual((await b.collect(42, ['a'], soon(NEVER))).get('a'), Float32Array.of(42))
    })

    test('refusals are counted by reason and sender (dimension, NaN, swarm, spoofed sender, garbage, duplicate); the first frame wins', GUARD, async (t) => {
      const { transports: { a, b } } = await swarmOf(t, ['a', 'b', 'c'], { dimension: 2 })
      b.startAt?.(0)
      const frame = (params: Float32Array, options: { swarm?: string, sender?: string } = {}): Uint8Array =>
        encodeFrame({ swarm: options.swarm ?? SWARM, sender: options.sender ?? 'a', round: 0, dtype: 'f32', params })
      await a.sendRaw('b', frame(Float32Array.of(1, 2, 3)))
      await a.sendRaw('b', frame(Float32Array.of(NaN, 1)))
      await a.sendRaw('b', frame(Float32Array.of(1, 2), { swarm: 'other' }))
      await a.sendRaw('b', frame(Float32Array.of(1, 2), { sender: 'c' })) // a claims to be c
      await a.sendRaw('b', Uint8Array.of(1, 2, 3))
      await a.send('b', 0, Float32Array.of(5, 6))
      await a.send('b', 0, Float32Array.of(7, 8))
      const expected: Partial<Record<FrameRejection, number>> = {
        dimension: 1, 'non-finite': 1, 'wrong-swarm': 1, 'unknown-sender': 1, malformed: 1, duplicate: 1
      }
      await until(() => Object.values(b.rejections()).reduce((s, n) => s + n, 0) === 6, 'six refusals')
      assert.deepEqual(b.rejections(), expected)
      assert.deepEqual(b.rejectionsBySender(), { a: 6 }, 'all delivered by a, whatever the frames claimed')
      assert.deepEqual((await b.collect(0, ['a'], soon(NEVER))).get('a'), Float32Array.of(5, 6))
    })

    test('sending to an unknown or unreachable node rejects', GUARD, async (t) => {
      const swarm = await swarmOf(t, ['a', 'b'], { dimension: 1 })
      const { a } = swarm.transports
      await assert.rejects(a.send('nobody', 0, Float32Array.of(1)), /nobody/)
      await swarm.disconnect('b')
      await assert.rejects(a.send('b', 0, Float32Array.of(1)))
      assert.equal(a.bytesSent(), 0)
    })

    test('an abort ends collect early with what came; a second collect while one is pending is refused', GUARD, async (t) => {
      const { transports: { a, b } } = await swarmOf(t, ['a', 'b', 'c'], { dimension: 1 })
      const controller = new AbortController()
      const collecting = b.collect(0, ['a', 'c'], soon(NEVER), controller.signal)
      await a.send('b', 0, Float32Array.of(1))
      await until(() => b.lastHeard('a') > 0, 'the model of a')
      await assert.rejects(b.collect(1, ['a'], soon(NEVER)), /round 0 is still being collected/)
      controller.abort()
      assert.deepEqual(await collecting, new Map([['a', Float32Array.of(1)]]))
    })
  })
}
