// The model exchange over real TCP on 127.0.0.1, beyond the compliance suite (exchange-compliance.test.ts): large models,
// and every way a remote can send bad bytes is refused under its reason without harming the node.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server, type Socket } from 'node:net'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import * as lp from 'it-length-prefixed'
import { fromString } from 'uint8arrays'
import { createRng } from '@murmur/robust'
import { createModelExchange, exchangeTimeouts, MODEL_PROTOCOL, MODEL_STREAM_LIMIT, type ModelExchange } from '../../src/net/exchange.ts'
import { encodeFrame, maxFrameBytes, type FrameRejection } from '../../src/wire/frame.ts'
import { loadOrCreateIdentity } from '../../src/net/identity.ts'
import type { MurmurNode } from '../../src/net/node.ts'
import { addressBook, startNode, until, varint, writeRaw } from '../helpers/net.ts'
import { tempDir } from '../helpers/temp.ts'

const D = 64
const SWARM = 'test-swarm'

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
  assert.deepEqual(new Uint32Array(actual.buffer, actual.byteOffset, actual.length), new Uint32Array(expected.buffer, expected.byteOffset, expected.length), what)
}

interface Peer { node: MurmurNode, exchange: ModelExchange }

async function startPeers (ids: string[], options: { readTimeoutMs?: number } = {}): Promise<Record<string, Peer>> {
  const peers: Record<string, Peer> = {}
  await Promise.all(ids.map(async (id) => {
    const node = await startNode(id)
    const exchange = createModelExchange(node, { swarm: SWARM, self: id, dimension: D, readTimeoutMs: options.readTimeoutMs ?? 5000 })
    await exchange.start()
    peers[id] = { node, exchange }
  }))
  return peers
}

const stopPeers = async (peers: Record<string, Peer>): Promise<void> => {
  await Promise.all(Object.values(peers).map(async (p) => { await p.node.stop() }))
}

describe('exchange timeouts follow the round', () => {
  test('short rounds keep the 10 s send and 30 s read defaults; long rounds stretch both', () => {
    assert.deepEqual(exchangeTimeouts(1000), { sendTimeoutMs: 10_000, readTimeoutMs: 30_000 })
    assert.deepEqual(exchangeTimeouts(10_000), { sendTimeoutMs: 10_000, readTimeoutMs: 30_000 })
    assert.deepEqual(exchangeTimeouts(60_000), { sendTimeoutMs: 60_000, readTimeoutMs: 180_000 })
  })
})

describe('models larger than it-length-prefixed\'s default 4 MiB message limit', () => {
  test('a 1.5·10⁶-parameter f32 model (6 MB frame) arrives bit-exact', async () => {
    const d = 1_500_000
    const [a, b] = await Promise.all([startNode('big-a'), startNode('big-b')])
    try {
      const book = addressBook({ a, b })
      const sender = createModelExchange(a, { swarm: SWARM, self: 'a', dimension: d, addressBook: book })
      const receiver = createModelExchange(b, { swarm: SWARM, self: 'b', dimension: d, addressBook: book })
      await sender.start()
      await receiver.start()
      const sent = randomVector(4, d)
      const collecting = receiver.collect(0, ['a'], Date.now() + 10_000)
      await sender.send('b', 0, sent)
      assertBitExact((await collecting).get('a'), sent, 'large model')
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
  })
})

describe('refusals: a real remote sends bad bytes over the real protocol', () => {
  const READ_TIMEOUT = 600
  let peers: Record<string, Peer>
  let outsider: MurmurNode
  before(async () => {
    peers = await startPeers(['a', 'b', 'c'], { readTimeoutMs: READ_TIMEOUT })
    const book = addressBook({ a: peers.a.node, b: peers.b.node, c: peers.c.node })
    for (const p of Object.values(peers)) await p.exchange.setAddressBook(book)
    outsider = await startNode('x')
    // b is collecting round 5: rounds 5..7 are accepted.
    peers.b.exchange.startAt(5)
  })
  after(async () => { await Promise.all([stopPeers(peers), outsider.stop()]) })

  test('each bad frame is counted under its reason, and good frames still get through', async () => {
    const { a, b, c } = peers
    const good = (round: number, options: { sender?: string, d?: number, swarm?: string, value?: number } = {}): Uint8Array =>
      encodeFrame({ swarm: options.swarm ?? SWARM, sender: options.sender ?? 'a', round, dtype: 'f32', params: filled(options.value ?? 0.5, options.d ?? D) })
    const corrupt = good(5)
    corrupt[corrupt.length - 1] ^= 0x01
    const poisoned = filled(0.5)
    poisoned[7] = Number.NaN
    const nan = encodeFrame({ swarm: SWARM, sender: 'a', round: 5, dtype: 'f32', params: poisoned }) // checksum is valid
    const futureVersion = good(5)
    futureVersion[4] = 2

    const cases: Array<[FrameRejection, Peer, Uint8Array]> = [
      ['wrong-swarm', a, good(5, { swarm: 'other-swarm' })],
      ['stale-round', a, good(4)],
      ['future-round', a, good(8)],
      ['dimension', a, good(5, { d: D - 1 })],
      ['checksum', a, corrupt],
      ['non-finite', a, nan],
      ['version', a, futureVersion],
      ['malformed', a, fromString('hello, not a frame at all')],
      ['oversized', a, new Uint8Array(maxFrameBytes(D) + 1)],
      ['unknown-sender', c, good(5, { sender: 'a' })] // c claims to be a
    ]
    for (const [reason, from, bytes] of cases) {
      const before = b.exchange.rejections()[reason] ?? 0
      await from.exchange.sendRaw('b', bytes).catch(() => {})
      await until(() => (b.exchange.rejections()[reason] ?? 0) === before + 1, `a '${reason}' refusal`)
    }
    // A stranger: b does not know its PeerId, whatever the frame says.
    await outsider.peerStore.merge(b.node.peerId, { multiaddrs: b.node.getMultiaddrs() })
    await writeRaw(outsider, b.node.peerId, MODEL_PROTOCOL, [lp.encode.single(good(5, { sender: 'x' })).subarray()], 'close')
    await until(() => b.exchange.rejections()['unknown-sender'] === 2, 'the outsider to be refused')

    await a.exchange.send('b', 5, filled(3))
    await a.exchange.sendRaw('b', good(5, { value: 9 })) // a second frame for round 5: the first wins
    await until(() => b.exchange.rejections().duplicate === 1, 'the duplicate to be refused')

    const expected: Partial<Record<FrameRejection, number>> = Object.fromEntries(cases.map(([reason]) => [reason, 1]))
    expected['unknown-sender'] = 2
    expected.duplicate = 1
    assert.deepEqual(b.exchange.rejections(), expected)
    const round5 = await b.exchange.collect(5, ['a', 'c'], Date.now() + 300)
    assert.deepEqual([...round5.keys()], ['a'], 'nothing c or the outsider sent was taken')
    assert.deepEqual(round5.get('a'), filled(3))
  })

  test('streams cut short, reset, stalled or announcing a huge frame are refused, and the node goes on', async () => {
    const { a, b } = peers
    const before = { ...b.exchange.rejections() }
    const frame = lp.encode.single(encodeFrame({ swarm: SWARM, sender: 'a', round: 6, dtype: 'f32', params: filled(1) })).subarray()
    const half = frame.subarray(0, frame.length >> 1)
    await writeRaw(a.node, b.node.peerId, MODEL_PROTOCOL, [], 'close') // no frame at all
    await writeRaw(a.node, b.node.peerId, MODEL_PROTOCOL, [half], 'close') // truncated
    await writeRaw(a.node, b.node.peerId, MODEL_PROTOCOL, [half], 'reset')
    // Announces one byte more than any frame of this model and stalls: refused on the length
    // prefix alone (waiting for the bytes would end in a read timeout, 'incomplete').
    const huge = await writeRaw(a.node, b.node.peerId, MODEL_PROTOCOL, [varint(maxFrameBytes(D) + 1), new Uint8Array(16)], 'stall')
    await until(() => (b.exchange.rejections().oversized ?? 0) === (before.oversized ?? 0) + 1, 'the huge frame to be refused')
    // A slow sender: half a frame, then nothing; cut off at the read timeout.
    const slow = await writeRaw(a.node, b.node.peerId, MODEL_PROTOCOL, [half], 'stall')
    await until(() => (b.exchange.rejections().incomplete ?? 0) === (before.incomplete ?? 0) + 4, 'the slow sender to be cut off')
    huge.release()
    slow.release()
    // The receiver still works (round 9: a's round-8 frame kept from the last test would stand in for any earlier round).
    await a.exchange.send('b', 9, filled(6))
    assert.deepEqual((await b.exchange.collect(9, ['a'], Date.now() + 5000)).get('a'), filled(6))
    const after = b.exchange.rejections()
    assert.equal((after.incomplete ?? 0) - (before.incomplete ?? 0), 4)
    assert.equal((after.oversized ?? 0) - (before.oversized ?? 0), 1)
    assert.equal(after.malformed ?? 0, before.malformed ?? 0)
  })
})

describe('sending to a neighbour that cannot be reached', () => {
  let node: MurmurNode
  let gone: MurmurNode
  let silent: Server
  const sockets: Socket[] = []
  before(async () => {
    [node, gone] = await Promise.all([startNode('s'), startNode('gone')])
    // Accepts TCP connections and never answers: the handshake would wait forever.
    silent = createServer((socket) => { sockets.push(socket) })
    await new Promise<void>((resolve) => { silent.listen(0, '127.0.0.1', resolve) })
  })
  after(async () => {
    for (const s of sockets) s.destroy()
    silent.close()
    await node.stop()
  })

  test('rejects for an unknown neighbour, a stopped one, and one that never answers (within the send timeout)', async () => {
    const port = (silent.address() as { port: number }).port
    const silentId = peerIdFromPrivateKey(await loadOrCreateIdentity(tempDir('mute')))
    const goneBook = addressBook({ gone })
    await gone.stop()
    const exchange = createModelExchange(node, {
      swarm: SWARM,
      self: 's',
      dimension: D,
      sendTimeoutMs: 500,
      addressBook: new Map([...goneBook, ['mute', { peerId: silentId, multiaddrs: [multiaddr(`/ip4/127.0.0.1/tcp/${port}`)] }]])
    })
    await exchange.start()
    await assert.rejects(exchange.send('nobody', 0, filled(1)), /no address for neighbour nobody/)
    await assert.rejects(exchange.send('gone', 0, filled(1)))
    // Given up by its send timeout, not refused by anything else.
    await assert.rejects(exchange.send('mute', 0, filled(1)), { name: 'TimeoutError' })
    assert.ok(sockets.length > 0, 'the silent peer was really dialled')
    assert.equal(exchange.bytesSent(), 0)
  })

  test('a neighbour past its stream limit: every send still ends, none hangs', { timeout: 60_000 }, async () => {
    const busy = await startNode('busy')
    try {
      const receiver = createModelExchange(busy, { swarm: SWARM, self: 'busy', dimension: D, addressBook: addressBook({ busy, s: node }) })
      await receiver.start()
      const exchange = createModelExchange(node, { swarm: SWARM, self: 's', dimension: D, sendTimeoutMs: 2000 })
      await exchange.setAddressBook(addressBook({ busy }))
      // More streams at once than the receiver takes: the ones past its limit are refused, and a
      // sink waiting on such a stream used to wait forever (and with it the end of the round).
      const outcomes = await Promise.allSettled(Array.from({ length: MODEL_STREAM_LIMIT + 100 }, async () => { await exchange.send('busy', 0, filled(1)) }))
      assert.ok(outcomes.some((o) => o.status === 'rejected'), 'the sends past the limit failed')
      assert.ok(outcomes.some((o) => o.status === 'fulfilled'), 'the others went through')
    } finally {
      await busy.stop()
    }
  })

  test('bad options are refused up front', () => {
    assert.throws(() => createModelExchange(node, { swarm: SWARM, self: 's', dimension: 0 }), /dimension must be an integer ≥ 1/)
    assert.throws(() => createModelExchange(node, { swarm: SWARM, self: 's', dimension: D, roundsAhead: -1 }), /roundsAhead/)
    const twin = { peerId: node.peerId, multiaddrs: [] }
    assert.throws(() => createModelExchange(node, { swarm: SWARM, self: 's', dimension: D, addressBook: new Map([['p', twin], ['q', twin]]) }), /nodes p and q share PeerId/)
  })
})
