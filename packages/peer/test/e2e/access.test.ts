// Access control between real libp2p nodes over TCP on 127.0.0.1: who may connect to a peer
// (members, allowed peers, strangers), how long an idle stranger stays, and the limits that keep
// outsiders from taking the connection slots members need.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { initBackend } from '@murmur/learn'
import type { Topology } from '@murmur/topology'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { AllowListError, parseAllowList, PeerAccess, strangerPolicy } from '../../src/net/access.ts'
import { ephemeralIdentity, loadOrCreateIdentity } from '../../src/net/identity.ts'
import { createMurmurNode, type MurmurNode } from '../../src/net/node.ts'
import { fetchManifest } from '../../src/open/open-swarm.ts'
import { createPeer, type MurmurPeer } from '../../src/peer.ts'
import type { SwarmPlan } from '../../src/swarm/plan.ts'
import { tinyPlan } from '../helpers/plan.ts'
import type { RoundMetrics } from '../../src/round/types.ts'
import { until } from '../helpers/net.ts'
import { tempDir } from '../helpers/temp.ts'

const ECHO = '/murmur/test-echo/1.0.0'

/** A ring p0 – p1 – p2 – p0 when `n` is 3; a chain otherwise. */
function line (n: number, closed: boolean): Topology {
  const nodes = Array.from({ length: n }, (_, i) => ({ id: `p${i}` }))
  const edges = nodes.slice(1).map((node, i) => [`p${i}`, node.id] as [string, string])
  if (closed) edges.push([`p${n - 1}`, 'p0'])
  return { name: `line-${n}`, nodes, edges }
}

function plan (topology: Topology): SwarmPlan {
  return tinyPlan(topology)
}

/** A node with no access control of its own, dialling from nowhere (no listener). */
async function outsider (key?: Awaited<ReturnType<typeof ephemeralIdentity>>): Promise<MurmurNode> {
  return await createMurmurNode({ privateKey: key ?? await ephemeralIdentity(), listen: [] })
}

function addressOf (node: MurmurNode): Multiaddr {
  return multiaddr(`${node.getMultiaddrs()[0].toString().split('/p2p/')[0]}/p2p/${node.peerId.toString()}`)
}

function peerAddress (peer: MurmurPeer): Multiaddr {
  return multiaddr(`${peer.address().addrs[0].split('/p2p/')[0]}/p2p/${peer.address().peerId}`)
}

/** Opens a stream of the test protocol and closes it. */
async function echo (from: MurmurNode, to: PeerId | Multiaddr): Promise<void> {
  const stream = await from.dialProtocol(to, ECHO, { signal: AbortSignal.timeout(5000) })
  await stream.close()
}

before(async () => { await initBackend({ backend: 'wasm' }) })

describe('allow lists', () => {
  test('comma-separated PeerIds or a file of them, one a line with # comments; a bad id is named', async () => {
    const a = peerIdFromPrivateKey(await ephemeralIdentity()).toString()
    const b = peerIdFromPrivateKey(await ephemeralIdentity()).toString()
    assert.deepEqual(parseAllowList(` ${a} ,${b},${a}`), [a, b])
    const file = join(tempDir('allow'), 'allow.txt')
    writeFileSync(file, `# the monitors\n${a}\n\n  ${b}   # second\n`)
    assert.deepEqual(parseAllowList(file), [a, b])
    assert.throws(() => parseAllowList(`${a},not-a-peer`), (e: Error) => e instanceof AllowListError && e.message.includes('"not-a-peer" is not a PeerId'))
    writeFileSync(file, `${a}\nQmNope\n`)
    assert.throws(() => parseAllowList(file), (e: Error) => e.message.includes(`${file} line 2: "QmNope" is not a PeerId`))
    assert.throws(() => parseAllowList(join(tempDir('allow'), 'missing.txt')), /cannot read .*missing\.txt: ENOENT/)
    assert.throws(() => parseAllowList(' , '), /expected comma-separated PeerIds or a file of them/)
  })

  test('open swarms admit strangers unless an allow list is given; a multi-host launch until its book is complete', () => {
    assert.equal(strangerPolicy({ open: true }), 'admit')
    assert.equal(strangerPolicy({ open: true, allow: [] }), 'deny')
    assert.equal(strangerPolicy({ open: false }), 'deny')
    assert.equal(strangerPolicy({ open: false, multiHost: true }), 'until-members')
    assert.equal(strangerPolicy({ open: true, allow: [], multiHost: true }), 'until-members')
  })
})

describe('a closed swarm', () => {
  const peers: MurmurPeer[] = []
  const others: MurmurNode[] = []
  after(async () => { await Promise.all([...peers, ...others].map(async (p) => { await p.stop() })) })

  test('an outsider cannot connect, and is counted, while the topology neighbours connect and exchange models', async () => {
    const swarm = plan(line(3, true))
    for (const node of swarm.nodes) peers.push(await createPeer({ plan: swarm, node, stateDir: tempDir(`access-${node.id}`), listen: ['/ip4/127.0.0.1/tcp/0'] }))
    const book = peers.map((p) => p.address())
    for (const peer of peers) await peer.connect(book)
    await Promise.all(peers.map(async (p) => { await p.dialNeighbours() }))

    const stranger = await outsider()
    others.push(stranger)
    // The stranger's side finishes the noise handshake first; the peer then closes at once.
    await stranger.dial(peerAddress(peers[1]), { signal: AbortSignal.timeout(5000) }).catch(() => {})
    await until(() => stranger.getConnections().length === 0, 'the refused connection to close')
    await assert.rejects(fetchManifest(stranger, peerAddress(peers[1]), { timeoutMs: 5000 }))
    const refusals = peers[1].connectionRefusals()
    assert.equal(refusals.denied, 2)
    assert.deepEqual(refusals.byPeer, { [stranger.peerId.toString()]: { denied: 2 } })
    assert.equal(peers[1].libp2p.getConnections(stranger.peerId).length, 0)

    const rounds: RoundMetrics[] = []
    const finals = await Promise.all(peers.map(async (p) => await p.run({ startRound: 0, onRound: (m) => rounds.push(m) })))
    assert.equal(rounds.length, 6)
    for (const m of rounds) assert.equal(m.received, 2, `${m.node} round ${m.round} got ${m.received} models`)
    assert.deepEqual(finals.map((f) => f.connectionRefusals?.denied), [0, 2, 0])
  })
})

describe('an open swarm', () => {
  const peers: MurmurPeer[] = []
  const others: MurmurNode[] = []
  after(async () => { await Promise.all([...peers, ...others].map(async (p) => { await p.stop() })) })

  test('--allow restricts it to the allowed newcomers; without, anyone may come', async () => {
    const swarm = plan(line(2, false))
    const friendKey = await loadOrCreateIdentity(tempDir('friend'))
    const friend = await outsider(friendKey)
    const stranger = await outsider()
    others.push(friend, stranger)
    const [restricted, unrestricted] = await Promise.all(swarm.nodes.map(async (node, k) => await createPeer({
      plan: swarm,
      node,
      stateDir: tempDir(`open-${node.id}`),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      open: true,
      ...(k === 0 ? { allow: [friend.peerId.toString()] } : {})
    })))
    peers.push(restricted, unrestricted)
    const book = peers.map((p) => p.address())
    for (const peer of peers) await peer.connect(book)

    assert.equal((await fetchManifest(friend, peerAddress(restricted), { timeoutMs: 5000 })).open, true)
    await assert.rejects(fetchManifest(stranger, peerAddress(restricted), { timeoutMs: 5000 }))
    assert.deepEqual(restricted.connectionRefusals().byPeer, { [stranger.peerId.toString()]: { denied: 1 } })
    // The swarm's own peers need no mention in the list.
    await restricted.dialNeighbours()
    await until(() => unrestricted.libp2p.getConnections(restricted.libp2p.peerId).length > 0, 'the neighbours to connect')

    assert.equal((await fetchManifest(stranger, peerAddress(unrestricted), { timeoutMs: 5000 })).open, true)
    assert.equal(unrestricted.connectionRefusals().denied, 0)
  })
})

describe('idle strangers and connection limits', () => {
  const nodes: MurmurNode[] = []
  after(async () => { await Promise.all(nodes.map(async (n) => { await n.stop() })) })

  /** A peer admitting strangers, with a short grace and small limits. */
  async function guarded (): Promise<{ node: MurmurNode, access: PeerAccess }> {
    const access = new PeerAccess({ strangers: 'admit', idleGraceMs: 1000, maxStrangerConnections: 10, maxConnectionsPerPeer: 2 })
    const node = await createMurmurNode({ privateKey: await ephemeralIdentity(), access, maxConnections: 30 })
    await node.handle(ECHO, ({ stream }) => { stream.close().catch(() => {}) })
    nodes.push(node)
    return { node, access }
  }

  test('a stranger that opens no stream is disconnected after the grace time; one that keeps using the peer stays', async () => {
    const { node, access } = await guarded()
    const idle = await outsider()
    const busy = await outsider()
    nodes.push(idle, busy)
    await idle.dial(addressOf(node))
    await echo(busy, addressOf(node))
    let streams = 0
    const keepBusy = setInterval(() => { echo(busy, node.peerId).then(() => { streams++ }, () => {}) }, 100)
    try {
      await until(() => node.getConnections(idle.peerId).length === 0, 'the idle stranger to be disconnected', 10_000)
      assert.deepEqual(access.refusals().byPeer, { [idle.peerId.toString()]: { idle: 1 } })
      // A few grace times later the busy one is still there.
      const seen = streams
      await until(() => streams >= seen + 20, 'twenty more streams from the busy stranger', 10_000)
      assert.equal(node.getConnections(busy.peerId).length, 1)
      assert.equal(access.refusals().idle, 1)
    } finally {
      clearInterval(keepBusy)
    }
    await until(() => node.getConnections(busy.peerId).length === 0, 'the busy stranger to be disconnected once it stops', 10_000)
  })

  test('50 idle strangers hold at most the strangers\' share; a member still connects, and one peer cannot open many connections', async () => {
    const { node, access } = await guarded()
    const crowd = await Promise.all(Array.from({ length: 50 }, async () => await outsider()))
    const member = await outsider()
    nodes.push(...crowd, member)
    access.addMember(member.peerId.toString())
    const held = (): number => crowd.filter((o) => node.getConnections(o.peerId).length > 0).length
    let most = 0
    const sample = setInterval(() => { most = Math.max(most, held()) }, 5)
    try {
      const flood = Promise.allSettled(crowd.map(async (o) => await o.dial(addressOf(node), { signal: AbortSignal.timeout(10_000) })))
      // While the crowd dials, the member connects and is served.
      await echo(member, addressOf(node))
      assert.equal(node.getConnections(member.peerId).length, 1)
      await flood
      // Each stranger is refused over the limit or, once idle, closed (a dialler is done with its
      // handshake before the peer has decided: the counts may lag).
      await until(() => access.refusals().limit + access.refusals().idle === 50, 'every stranger to be refused or closed', 20_000)
    } finally {
      clearInterval(sample)
    }
    assert.ok(most <= 10, `${most} strangers held a connection at once`)
    assert.ok(access.refusals().limit > 0)
    assert.equal(held(), 0)

    // A second connection of the member's is fine, a third is not.
    await member.dial(addressOf(node), { force: true })
    await member.dial(addressOf(node), { force: true }).catch(() => {})
    await until(() => access.refusals().byPeer[member.peerId.toString()]?.limit === 1, 'the third connection to be refused')
    await until(() => member.getConnections(node.peerId).length === 2, 'the member to be left with two connections')
    assert.equal(access.refusals().byPeer[member.peerId.toString()]?.idle, undefined, 'a member is never closed for idleness')
  })

  test('a dial that arrives before the members are known waits for them', async () => {
    const access = new PeerAccess({ strangers: 'deny' })
    const node = await createMurmurNode({ privateKey: await ephemeralIdentity(), access })
    await node.handle(ECHO, ({ stream }) => { stream.close().catch(() => {}) })
    const early = await outsider()
    nodes.push(node, early)
    const dialled = echo(early, addressOf(node))
    // The handshake is underway: the book then decides.
    await new Promise((resolve) => setTimeout(resolve, 200))
    access.setMembers([early.peerId.toString()])
    await dialled
    assert.equal(access.refusals().denied, 0)
  })
})
