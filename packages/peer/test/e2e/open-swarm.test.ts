// The open-swarm pieces: manifest checks, the changing neighbourhood, the directory, and the four
// services between real libp2p nodes over TCP on loopback.

import { describe, test, after } from 'node:test'
import assert from 'node:assert/strict'
import { fromString } from 'uint8arrays'
import { MANIFEST_PROTOCOL, ManifestError, parseManifest, PROTOCOL_VERSION, type SwarmManifest } from '../../src/wire/manifest.ts'
import { NeighbourSet, type EdgeEvent } from '../../src/open/neighbours.ts'
import {
  createOpenSwarmServices, Directory, fetchManifest, fetchMembers, fetchState, MembershipError, NEIGHBOUR_PROTOCOL, parseMemberList, requestNeighbour
} from '../../src/open/open-swarm.ts'
import type { MurmurNode } from '../../src/net/node.ts'
import { startNode, until, varint, writeRaw } from '../helpers/net.ts'

function manifest (overrides: Partial<SwarmManifest> = {}): SwarmManifest {
  return {
    protocol: PROTOCOL_VERSION,
    swarm: 's',
    task: { dataset: 'synthetic-mean' },
    nodes: 4,
    dimension: 3,
    training: { localSteps: 1, lr: 0.1, momentum: 0, batchSize: 8, weightDecay: 0.001, schedule: { kind: 'step', every: 20, gamma: 0.5 }, seed: 7 },
    mixing: { rule: 'cwtm', f: 1, joinerF: 1, shortfall: 'shrink-f', dtype: 'f32' },
    schedule: { rounds: 10, roundTimeoutMs: 1000, evalEvery: 1, round: 4 },
    open: true,
    ...overrides
  }
}

describe('manifest', () => {
  test('a valid manifest parses to itself', () => {
    assert.deepEqual(parseManifest(JSON.parse(JSON.stringify(manifest()))), manifest())
  })

  test('another protocol version is reported as such, before any other field', () => {
    assert.throws(() => parseManifest({ protocol: PROTOCOL_VERSION + 1 }), (e: Error) =>
      e instanceof ManifestError && e.field === 'protocol' && e.message.includes(`version ${PROTOCOL_VERSION + 1}`) && e.message.includes(`version ${PROTOCOL_VERSION}`))
  })

  test('a bad field is named', () => {
    const bad = (patch: Record<string, unknown>, field: string): void => {
      const value = { ...JSON.parse(JSON.stringify(manifest())), ...patch }
      assert.throws(() => parseManifest(value), (e: Error) => e instanceof ManifestError && e.field === field, field)
    }
    bad({ dimension: 0 }, 'dimension')
    bad({ task: { dataset: 'imagenet' } }, 'task')
    bad({ training: { localSteps: 1, lr: -1, momentum: 0, batchSize: 8 } }, 'training.lr')
    bad({ mixing: { rule: 'cwtm', f: 'some', joinerF: 1, shortfall: 'shrink-f', dtype: 'f32' } }, 'mixing.f')
    bad({ schedule: { rounds: 10, roundTimeoutMs: 1000, evalEvery: 1, round: -1 } }, 'schedule.round')
    bad({ open: 'yes' }, 'open')
    const training = manifest().training
    bad({ training: { ...training, weightDecay: -0.1 } }, 'training.weightDecay')
    bad({ training: { ...training, schedule: { kind: 'linear' } } }, 'training.schedule.kind')
    bad({ training: { ...training, schedule: { kind: 'step', every: 0, gamma: 0.5 } } }, 'training.schedule.every')
    bad({ training: { ...training, schedule: { kind: 'cosine', totalSteps: 100, warmup: 5 } } }, 'training.schedule.warmup')
    bad({ training: { ...training, seed: -1 } }, 'training.seed')
  })

  test('a manifest of an earlier version gets the defaults of the fields added since', () => {
    const old = JSON.parse(JSON.stringify(manifest({ task: { dataset: 'synthetic-mean', seed: 3 } }))) as { training: Record<string, unknown> }
    old.training = { localSteps: 1, lr: 0.1, momentum: 0, batchSize: 8 }
    assert.deepEqual(parseManifest(old).training, { localSteps: 1, lr: 0.1, momentum: 0, batchSize: 8, weightDecay: 0, schedule: { kind: 'constant' }, seed: 3 })
  })
})

describe('NeighbourSet', () => {
  test('a newcomer is active from its agreed round; silent neighbours are dropped after dropAfter rounds', () => {
    const events: EdgeEvent[] = []
    const low: number[] = []
    const set = new NeighbourSet({ self: 'a', initial: [{ id: 'b', degree: 2 }, { id: 'c', degree: 2 }], dropAfter: 2, onEvent: (e) => events.push(e), onLow: (have) => low.push(have) })
    assert.ok(set.add('j', 3, 5))
    assert.deepEqual(set.at(4).ids, ['b', 'c'])
    assert.deepEqual(set.at(5), { ids: ['b', 'c', 'j'], degrees: [2, 2, 3] })
    set.observe(5, new Set(['b', 'j']))
    set.observe(6, new Set(['b', 'j']))
    assert.deepEqual(set.at(7).ids, ['b', 'j'])
    assert.deepEqual(events.map((e) => `${e.event} ${e.neighbour} ${e.round}`), ['add j 5', 'drop c 6'])
    assert.deepEqual(low, [])
    set.observe(7, new Set())
    set.observe(8, new Set())
    assert.equal(set.size, 0)
    assert.deepEqual(low, [0], 'below half the target degree it asks for more')
  })

  test('itself is refused, a full neighbourhood too, and a pending edge may move to a later round', () => {
    const set = new NeighbourSet({ self: 'a', initial: [{ id: 'b', degree: 1 }], maxDegree: 2 })
    assert.equal(set.add('a', 1, 3), false)
    assert.ok(set.add('j', 1, 3))
    assert.equal(set.add('k', 1, 3), false)
    set.observe(1, new Set(['b']))
    assert.ok(set.add('j', 1, 6))
    assert.deepEqual(set.at(5).ids, ['b'])
    assert.deepEqual(set.at(6).ids, ['b', 'j'])
  })
})

describe('Directory', () => {
  test('the first PeerId bound to an id keeps it; a PeerId cannot take a second id', () => {
    const dir = new Directory()
    const fresh: string[] = []
    dir.onNew((r) => fresh.push(r.id))
    assert.ok(dir.bind({ id: 'a', peerId: 'P1', addrs: ['/ip4/127.0.0.1/tcp/1'] }))
    assert.equal(dir.bind({ id: 'a', peerId: 'P2', addrs: [] }), false)
    assert.equal(dir.bind({ id: 'b', peerId: 'P1', addrs: [] }), false)
    assert.ok(dir.bind({ id: 'a', peerId: 'P1', addrs: [], round: 3 }), 'a refresh keeps the addresses')
    assert.deepEqual(dir.get('a'), { id: 'a', peerId: 'P1', addrs: ['/ip4/127.0.0.1/tcp/1'], round: 3 })
    dir.heard('a', 7)
    assert.equal(dir.get('a')?.round, 7)
    assert.deepEqual(fresh, ['a'])
  })
})

describe('open-swarm services over TCP', () => {
  const nodes: MurmurNode[] = []
  after(async () => { await Promise.all(nodes.map(async (n) => { await n.stop() })) })

  /** Lets `from` dial `to` by PeerId. */
  async function know (from: MurmurNode, to: MurmurNode): Promise<void> {
    await from.peerStore.merge(to.peerId, { multiaddrs: to.getMultiaddrs() })
  }

  async function serving (options: { open: boolean, round: number }): Promise<{ node: MurmurNode, set: NeighbourSet, directory: Directory, added: string[], refused: () => number }> {
    const node = await startNode('open')
    nodes.push(node)
    const directory = new Directory()
    directory.bind({ id: 'a', peerId: node.peerId.toString(), addrs: node.getMultiaddrs().map(String) })
    const set = new NeighbourSet({ self: 'a', initial: [], target: 2 })
    const added: string[] = []
    const services = createOpenSwarmServices(node, {
      self: 'a',
      swarm: 's',
      dimension: 3,
      directory,
      manifest: () => manifest({ schedule: { rounds: 10, roundTimeoutMs: 1000, evalEvery: 1, round: options.round } }),
      round: () => options.round,
      params: () => Float32Array.of(1, 2, 3),
      neighbours: set,
      addPeer: async (id) => { added.push(id) },
      open: options.open
    })
    await services.start()
    return { node, set, directory, added, refused: services.refused }
  }

  test('a caller gets the manifest, the members (after announcing itself) and the model', async () => {
    const { node, directory } = await serving({ open: true, round: 4 })
    const caller = await startNode('caller')
    nodes.push(caller)
    assert.deepEqual(await fetchManifest(caller, node.getMultiaddrs()[0]), manifest())
    const me = { id: 'c', peerId: caller.peerId.toString(), addrs: caller.getMultiaddrs().map(String) }
    const members = await fetchMembers(caller, node.peerId, [me])
    assert.deepEqual(members.map((m) => m.id).sort(), ['a', 'c'])
    assert.equal(directory.get('c')?.peerId, me.peerId)
    const state = await fetchState(caller, node.peerId, { swarm: 's', dimension: 3 })
    assert.deepEqual([...state.params], [1, 2, 3])
    assert.equal(state.sender, 'a')
    assert.equal(state.round, 3, 'labelled with the last finished round')
    await assert.rejects(fetchManifest(caller, node.peerId, { protocol: PROTOCOL_VERSION + 1 }), /protocol version/)
    await assert.rejects(fetchState(caller, node.peerId, { swarm: 's', dimension: 4 }), /dimension|bytes/)
  })

  test('a model over the 4 MiB default of length-prefixed writers is served whole', async () => {
    const big = new Float32Array(1_200_000).map((_, i) => Math.sin(i))
    const node = await startNode('big')
    nodes.push(node)
    const services = createOpenSwarmServices(node, {
      self: 'a',
      swarm: 's',
      dimension: big.length,
      directory: new Directory(),
      manifest: () => manifest({ dimension: big.length }),
      round: () => 2,
      params: () => big,
      addPeer: async () => {},
      open: false
    })
    await services.start()
    const caller = await startNode('big-caller')
    nodes.push(caller)
    await know(caller, node)
    const state = await fetchState(caller, node.peerId, { swarm: 's', dimension: big.length })
    assert.equal(state.params.length, big.length)
    assert.deepEqual(state.params, big)
  })

  test('neighbour requests: accepted from a later round, refused when too late, closed or the id is taken', async () => {
    const open = await serving({ open: true, round: 4 })
    const caller = await startNode('joiner')
    nodes.push(caller)
    const addrs = caller.getMultiaddrs().map(String)
    await know(caller, open.node)
    assert.deepEqual(await requestNeighbour(caller, open.node.peerId, { node: 'j', addrs, degree: 3, from: 4 }), { ok: false, round: 4, reason: 'too-late' })
    assert.deepEqual(await requestNeighbour(caller, open.node.peerId, { node: 'j', addrs, degree: 3, from: 6 }), { ok: true, round: 4, degree: 1 })
    assert.deepEqual(open.set.at(6), { ids: ['j'], degrees: [3] })
    assert.deepEqual(open.added, ['j'])
    const impostor = await startNode('impostor')
    nodes.push(impostor)
    await know(impostor, open.node)
    assert.equal((await requestNeighbour(impostor, open.node.peerId, { node: 'j', addrs, degree: 3, from: 6 })).ok, false)
    assert.deepEqual(await requestNeighbour(impostor, open.node.peerId, { node: 'a', addrs, degree: 3, from: 6 }), { ok: false, round: 4, reason: 'id-taken' })
    const closed = await serving({ open: false, round: 0 })
    await know(caller, closed.node)
    assert.deepEqual(await requestNeighbour(caller, closed.node.peerId, { node: 'j', addrs, degree: 3, from: 6 }), { ok: false, round: 0, reason: 'closed' })
  })

  test('neighbour requests starting too far ahead or reaching a full peer are refused and leave no record', async () => {
    const open = await serving({ open: true, round: 4 })
    const caller = await startNode('far')
    nodes.push(caller)
    const addrs = caller.getMultiaddrs().map(String)
    await know(caller, open.node)
    assert.deepEqual(await requestNeighbour(caller, open.node.peerId, { node: 'f', addrs, degree: 3, from: 1e9 }), { ok: false, round: 4, reason: 'too-early' })
    for (let k = 0; open.set.size < open.set.maxDegree; k++) open.set.add(`n${k}`, 2, 5)
    assert.deepEqual(await requestNeighbour(caller, open.node.peerId, { node: 'f', addrs, degree: 3, from: 6 }), { ok: false, round: 4, reason: 'full' })
    assert.equal(open.directory.get('f'), undefined, 'a refused requester is not in the address book')
    assert.deepEqual(open.added, [])
  })

  test('malformed and oversized requests are refused and counted; the node keeps serving', async () => {
    const open = await serving({ open: true, round: 2 })
    const rogue = await startNode('rogue')
    nodes.push(rogue)
    await know(rogue, open.node)
    const junk = fromString('{"node": 7}')
    await writeRaw(rogue, open.node.peerId, NEIGHBOUR_PROTOCOL, [varint(junk.length), junk], 'close')
    await writeRaw(rogue, open.node.peerId, MANIFEST_PROTOCOL, [varint(10_000_000)], 'close')
    await until(() => open.refused() >= 2, 'two refusals')
    assert.equal(open.set.size, 0)
    assert.equal((await fetchManifest(rogue, open.node.peerId)).swarm, 's')
  })
})

describe('member lists', () => {
  test('one bad record is left out and reported; the others are kept', () => {
    const good = { id: 'p1', peerId: '12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq', addrs: ['/ip4/127.0.0.1/tcp/4001'] }
    const forged = { id: 'x', peerId: good.peerId, addrs: Array.from({ length: 21 }, (_, i) => `/ip4/127.0.0.1/tcp/${i + 1}`) }
    const bad: MembershipError[] = []
    const kept = parseMemberList({ members: [forged, good, { id: '' }] }, (error) => { bad.push(error) })
    assert.deepEqual(kept, [good])
    assert.deepEqual(bad.map((e) => e.message.split(':')[0]), ['members[0].addrs', 'members[2].id'])
    assert.throws(() => parseMemberList({ nope: [] }), MembershipError)
  })
})
