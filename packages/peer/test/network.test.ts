// The libp2p side of a peer, over real TCP on loopback: identity on disk, the model exchange and
// every way it refuses a frame, the collusion channel, the control plane's validator.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fromString } from 'uint8arrays'
import {
  createCollusionChannel, createControlPlane, createModelExchange, createMurmurNode, encodeFrame,
  loadOrCreateIdentity, parseControlMessage, type ModelExchange, type MurmurNode
} from '../src/index.ts'

const D = 64
const SWARM = 'test-swarm'

const vector = (value: number, d = D): Float32Array => new Float32Array(d).fill(value)

interface Peer { id: string, node: MurmurNode, exchange: ModelExchange }

async function startPeer (id: string): Promise<Peer> {
  const privateKey = await loadOrCreateIdentity(mkdtempSync(join(tmpdir(), `murmur-${id}-`)))
  const node = await createMurmurNode({ privateKey })
  const exchange = createModelExchange(node, { swarm: SWARM, self: id, dimension: D, readTimeoutMs: 2000 })
  await exchange.start()
  return { id, node, exchange }
}

async function introduce (peers: Peer[]): Promise<void> {
  const book = new Map(peers.map((p) => [p.id, { peerId: p.node.peerId, multiaddrs: p.node.getMultiaddrs() }]))
  for (const p of peers) await p.exchange.setAddressBook(book)
}

describe('identity', () => {
  test('is created with mode 0600, reused on restart, and a corrupt file is a clear error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'murmur-id-'))
    const first = await loadOrCreateIdentity(dir)
    assert.equal(statSync(join(dir, 'identity.key')).mode & 0o777, 0o600)
    const again = await loadOrCreateIdentity(dir)
    assert.ok(first.publicKey.equals(again.publicKey))
    writeFileSync(join(dir, 'identity.key'), 'not a key')
    await assert.rejects(loadOrCreateIdentity(dir), /identity\.key: not a valid private key/)
  })
})

describe('model exchange over TCP', () => {
  let a: Peer, b: Peer, c: Peer, outsider: Peer
  before(async () => {
    [a, b, c, outsider] = await Promise.all(['a', 'b', 'c', 'x'].map(startPeer))
    await introduce([a, b, c])
    // The outsider knows where b is, but b does not know the outsider.
    await outsider.exchange.setAddressBook(new Map([['b', { peerId: b.node.peerId, multiaddrs: b.node.getMultiaddrs() }]]))
  })
  after(async () => { await Promise.all([a, b, c, outsider].map(async (p) => { await p.node.stop() })) })

  test('models arrive bit-exact; collect returns as soon as all arrived, frames of the next round wait for it', async () => {
    const started = Date.now()
    await Promise.all([a.exchange.send('b', 0, vector(1.25)), c.exchange.send('b', 0, vector(-2)), a.exchange.send('b', 1, vector(7))])
    const round0 = await b.exchange.collect(0, ['a', 'c'], Date.now() + 5000)
    assert.ok(Date.now() - started < 4000)
    assert.deepEqual(round0.get('a'), vector(1.25))
    assert.deepEqual(round0.get('c'), vector(-2))
    // Only a's round-1 frame exists: the deadline ends the wait with what arrived.
    const round1 = await b.exchange.collect(1, ['a', 'c'], Date.now() + 300)
    assert.deepEqual([...round1.keys()], ['a'])
    assert.deepEqual(round1.get('a'), vector(7))
  })

  test('every bad frame is refused under its reason and the receiver keeps working', async () => {
    const good = (round: number, sender = 'a', d = D, swarm = SWARM): Uint8Array =>
      encodeFrame({ swarm, sender, round, dtype: 'f32', params: vector(0.5, d) })
    const corrupt = good(2)
    corrupt[corrupt.length - 1] ^= 0xff
    const poisoned = vector(0.5)
    poisoned[7] = Number.NaN
    const nan = encodeFrame({ swarm: SWARM, sender: 'a', round: 2, dtype: 'f32', params: poisoned }) // valid checksum
    const cases: Array<[string, Peer, Uint8Array]> = [
      ['wrong-swarm', a, good(2, 'a', D, 'other')],
      ['stale-round', a, good(0)],
      ['future-round', a, good(50)],
      ['dimension', a, good(2, 'a', D - 1)],
      ['checksum', a, corrupt],
      ['non-finite', a, nan],
      ['malformed', a, fromString('hello, not a frame')],
      ['oversized', a, new Uint8Array(D * 4 + 2000)],
      ['unknown-sender', c, good(2, 'a')], // c claims to be a
      ['unknown-sender', outsider, good(2, 'x')]
    ]
    for (const [, from, bytes] of cases) await from.exchange.sendRaw('b', bytes).catch(() => {})
    await a.exchange.send('b', 2, vector(3))
    await a.exchange.sendRaw('b', good(2)) // a second frame for round 2
    await new Promise((resolve) => setTimeout(resolve, 300))
    const rejected = b.exchange.rejections()
    for (const reason of ['wrong-swarm', 'stale-round', 'future-round', 'dimension', 'checksum', 'non-finite', 'malformed', 'oversized', 'duplicate'] as const) {
      assert.ok((rejected[reason] ?? 0) >= 1, `no '${reason}' rejection: ${JSON.stringify(rejected)}`)
    }
    assert.equal(rejected['unknown-sender'], 2)
    const round2 = await b.exchange.collect(2, ['a'], Date.now() + 2000)
    assert.deepEqual(round2.get('a'), vector(3))
  })

  test('f16 frames carry models to within half precision', async () => {
    const node = await createMurmurNode({ privateKey: await loadOrCreateIdentity(mkdtempSync(join(tmpdir(), 'murmur-f16-'))) })
    const sender = createModelExchange(node, { swarm: SWARM, self: 'c', dimension: D, dtype: 'f16' })
    await sender.setAddressBook(new Map([['b', { peerId: b.node.peerId, multiaddrs: b.node.getMultiaddrs() }]]))
    // b only accepts 'c' from c's own PeerId: this node is an impostor and is refused.
    const before = b.exchange.rejections()['unknown-sender'] ?? 0
    await sender.send('b', 3, vector(0.1))
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.equal(b.exchange.rejections()['unknown-sender'], before + 1)
    await node.stop()
    const real = createModelExchange(c.node, { swarm: SWARM, self: 'c', dimension: D, dtype: 'f16' })
    await real.setAddressBook(new Map([['b', { peerId: b.node.peerId, multiaddrs: b.node.getMultiaddrs() }]]))
    await real.send('b', 3, vector(0.1))
    const got = await b.exchange.collect(3, ['c'], Date.now() + 2000)
    const value = got.get('c')?.[0] ?? Number.NaN
    assert.ok(Math.abs(value - 0.1) < 1e-3 && value !== Math.fround(0.1), `f16 value ${value}`)
  })
})

describe('collusion channel and control plane', () => {
  test('colluders pool what they received; an outsider is refused', async () => {
    const nodes = await Promise.all([0, 1, 2, 3].map(async (i) => await createMurmurNode({ privateKey: await loadOrCreateIdentity(mkdtempSync(join(tmpdir(), `murmur-c${i}-`))) })))
    try {
      const colluders = new Map(nodes.slice(0, 3).map((n, i) => [`b${i}`, n.peerId]))
      for (const n of nodes) for (const m of nodes) if (n !== m) await n.peerStore.merge(m.peerId, { multiaddrs: m.getMultiaddrs() })
      const channels = nodes.slice(0, 3).map((n, i) => createCollusionChannel(n, { swarm: SWARM, self: `b${i}`, dimension: D, colluders }))
      for (const ch of channels) await ch.start()
      const outsider = createCollusionChannel(nodes[3], { swarm: SWARM, self: 'x', dimension: D, colluders: new Map([['x', nodes[3].peerId], ['b0', nodes[0].peerId]]) })
      await outsider.share(0, new Map([['h9', vector(9)]]))
      await Promise.all([
        channels[0].share(0, new Map([['h1', vector(1)]])),
        channels[1].share(0, new Map([['h2', vector(2)]])),
        channels[2].share(0, new Map())
      ])
      const pooled = await channels[0].gather(0, Date.now() + 3000)
      assert.deepEqual([...pooled.keys()].sort(), ['h1', 'h2'])
      assert.equal(channels[0].refused(), 1)
    } finally {
      await Promise.all(nodes.map(async (n) => { await n.stop() }))
    }
  })

  test('control messages are validated strictly', () => {
    const ok = parseControlMessage(fromString(JSON.stringify({ type: 'heartbeat', node: 'p1', round: 3, time: 1 })))
    assert.deepEqual(ok, { type: 'heartbeat', node: 'p1', round: 3, time: 1 })
    for (const bad of [
      '{"type":"heartbeat","node":"p1","round":-1,"time":1}',
      '{"type":"summary","node":"p1","round":1,"accuracy":"high"}',
      '{"type":"launch-missiles","node":"p1"}',
      'not json',
      JSON.stringify({ type: 'heartbeat', node: 'p1', round: 1, time: 1, pad: 'x'.repeat(70_000) })
    ]) assert.throws(() => parseControlMessage(fromString(bad)))
  })

  test('heartbeats travel over gossipsub; a malformed message is rejected and never delivered', async () => {
    const nodes = await Promise.all([0, 1].map(async (i) => await createMurmurNode({ privateKey: await loadOrCreateIdentity(mkdtempSync(join(tmpdir(), `murmur-g${i}-`))) })))
    try {
      const planes = nodes.map((n, i) => createControlPlane(n, { swarm: SWARM, self: `p${i}` }))
      for (const p of planes) await p.start()
      await nodes[0].dial(nodes[1].getMultiaddrs()[0])
      const heard: unknown[] = []
      planes[1].on('heartbeat', (m) => heard.push(m))
      // Wait for the subscription to propagate, then publish until heard.
      const deadline = Date.now() + 8000
      while (heard.length === 0 && Date.now() < deadline) {
        planes[0].publish({ type: 'heartbeat', node: 'p0', round: 7, time: Date.now() })
        await nodes[0].services.pubsub.publish(planes[0].topic, fromString('{"type":"heartbeat","node":"p0"}')).catch(() => {})
        await new Promise((resolve) => setTimeout(resolve, 250))
      }
      assert.ok(heard.length > 0, 'no heartbeat delivered')
      assert.ok(heard.every((m) => (m as { round: number }).round === 7))
      assert.ok(planes[1].rejected() > 0)
      assert.equal(planes[1].members().get('p0')?.round, 7)
    } finally {
      await Promise.all(nodes.map(async (n) => { await n.stop() }))
    }
  })
})
