// An open swarm under abuse: a newcomer that never sends costs its victim one round's wait and is
// not taken back before a cool-down; neighbour requests are limited per requesting PeerId; every
// refused request is counted by reason and requester and leaves no trace in the directory; member
// lists keep their good records. The services run between real libp2p nodes over TCP on loopback.

import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { fromString } from 'uint8arrays'
import { multiaddr } from '@multiformats/multiaddr'
import { joinSwarm } from '../../src/open/join.ts'
import { PROTOCOL_VERSION, type SwarmManifest } from '../../src/wire/manifest.ts'
import { COOL_DOWN_ROUNDS, NeighbourSet, NEWCOMER_DROP_AFTER, type EdgeEvent } from '../../src/open/neighbours.ts'
import type { MurmurNode } from '../../src/net/node.ts'
import {
  createOpenSwarmServices, Directory, fetchManifest, fetchMembers, MAX_MEMBERS, MAX_START_AHEAD, MEMBERS_PROTOCOL, NEIGHBOUR_PROTOCOL,
  NEIGHBOUR_REQUEST_LIMIT, requestNeighbour, type NeighbourAnswer, type NeighbourRequest, type OpenSwarmServices
} from '../../src/open/open-swarm.ts'
import { callJson, RequestRefused } from '../../src/net/rpc.ts'
import { startNode, varint, writeRaw, until } from '../helpers/net.ts'
import { tempDir } from '../helpers/temp.ts'

describe('a silent newcomer', () => {
  test('the defaults: dropped after its first silent round, not taken back for 16 rounds', () => {
    assert.equal(NEWCOMER_DROP_AFTER, 1)
    assert.equal(COOL_DOWN_ROUNDS, 16)
  })

  test('is dropped after its first silent round, while a topology neighbour gets dropAfter rounds', () => {
    const events: EdgeEvent[] = []
    const set = new NeighbourSet({ self: 'a', initial: [{ id: 'b', degree: 2 }, { id: 'c', degree: 2 }], onEvent: (e) => events.push(e) })
    assert.ok(set.add('x', 3, 2))
    assert.ok(set.add('j', 3, 2))
    for (let r = 0; r < 2; r++) set.observe(r, new Set(['b', 'c']))
    set.observe(2, new Set(['b', 'j'])) // x never sent; c misses its first round
    assert.deepEqual(set.at(3).ids, ['b', 'c', 'j'])
    set.observe(3, new Set(['b']))
    set.observe(4, new Set(['b']))
    assert.deepEqual(set.at(5).ids, ['b', 'j'], 'j delivered once: an established neighbour, it has dropAfter rounds')
    set.observe(5, new Set(['b']))
    assert.deepEqual(set.at(6).ids, ['b'])
    assert.deepEqual(events.map((e) => `${e.event} ${e.neighbour} ${e.round} ${e.reason ?? ''}`), [
      'add x 2 ', 'add j 2 ',
      'drop x 2 no model in its first 1 round',
      'drop c 4 no model for 3 rounds',
      'drop j 5 no model for 3 rounds'
    ])
  })

  test('an outsider that re-registers whenever dropped is waited for in 3 rounds of 40, not 30', () => {
    // Each round the outsider asks to start next round if it is not a neighbour; it never sends.
    const waited = (set: NeighbourSet): number[] => {
      const rounds: number[] = []
      for (let r = 0; r < 40; r++) {
        if (!set.has('x')) set.add('x', 3, r + 1)
        if (set.at(r).ids.includes('x')) rounds.push(r)
        set.observe(r, new Set(['b', 'c']))
      }
      return rounds
    }
    const initial = [{ id: 'b', degree: 2 }, { id: 'c', degree: 2 }]
    // Dropped at its first silent round r, cooling down while observed < r + 16: back at r + 17.
    assert.deepEqual(waited(new NeighbourSet({ self: 'a', initial })), [1, 19, 37])
    // Without the newcomer rule and the cool-down: 3 silent rounds, re-added at once, 3 of every 4 rounds.
    const unguarded = waited(new NeighbourSet({ self: 'a', initial, newcomerDropAfter: 3, coolDown: 0 }))
    assert.equal(unguarded.length, 30)
    assert.deepEqual(unguarded.slice(0, 6), [1, 2, 3, 5, 6, 7])
  })

  test('a dropped id cools down for coolDown rounds; others are not affected', () => {
    const set = new NeighbourSet({ self: 'a', initial: [{ id: 'b', degree: 1 }], coolDown: 4 })
    assert.ok(set.add('x', 1, 1))
    set.observe(0, new Set(['b']))
    set.observe(1, new Set(['b'])) // x dropped at round 1
    assert.equal(set.has('x'), false)
    for (let r = 2; r <= 4; r++) {
      set.observe(r, new Set(['b']))
      assert.equal(set.coolingDown('x'), true, `round ${r}`)
      assert.equal(set.add('x', 1, r + 1), false, `round ${r}`)
    }
    assert.ok(set.add('y', 1, 5), 'another id is accepted meanwhile')
    set.observe(5, new Set(['b', 'y']))
    assert.equal(set.coolingDown('x'), false)
    assert.ok(set.add('x', 1, 6))
  })

  test('bad options are refused', () => {
    assert.throws(() => new NeighbourSet({ self: 'a', initial: [], coolDown: -1 }), /coolDown/)
    assert.throws(() => new NeighbourSet({ self: 'a', initial: [], newcomerDropAfter: 0 }), /newcomerDropAfter/)
  })
})

function manifest (round: number): SwarmManifest {
  return {
    protocol: PROTOCOL_VERSION,
    swarm: 's',
    task: { dataset: 'synthetic-mean' },
    nodes: 4,
    dimension: 3,
    training: { localSteps: 1, lr: 0.1, momentum: 0, batchSize: 8, weightDecay: 0, schedule: { kind: 'constant' }, seed: 0 },
    mixing: { rule: 'cwtm', f: 1, joinerF: 1, shortfall: 'shrink-f', dtype: 'f32' },
    schedule: { rounds: 100, roundTimeoutMs: 1000, evalEvery: 1, round },
    open: true
  }
}

interface Served {
  node: MurmurNode
  set: NeighbourSet
  directory: Directory
  services: OpenSwarmServices
  added: string[]
  /** The served peer's round, and its clock for the request limits. */
  state: { round: number, now: number }
}

describe('open-swarm services under abuse, over TCP', () => {
  const nodes: MurmurNode[] = []
  after(async () => { await Promise.all(nodes.map(async (n) => { await n.stop() })) })

  const node = async (tag: string): Promise<MurmurNode> => {
    const n = await startNode(tag)
    nodes.push(n)
    return n
  }

  async function serve (options: { round: number, open?: boolean, limits?: Parameters<typeof createOpenSwarmServices>[1]['limits'] }): Promise<Served> {
    const n = await node('served')
    const directory = new Directory()
    directory.bind({ id: 'a', peerId: n.peerId.toString(), addrs: n.getMultiaddrs().map(String) })
    const set = new NeighbourSet({ self: 'a', initial: [], target: 2 })
    const added: string[] = []
    const state = { round: options.round, now: 0 }
    const services = createOpenSwarmServices(n, {
      self: 'a',
      swarm: 's',
      dimension: 3,
      directory,
      manifest: () => manifest(state.round),
      round: () => state.round,
      params: () => Float32Array.of(1, 2, 3),
      neighbours: set,
      addPeer: async (id) => { added.push(id) },
      open: options.open ?? true,
      now: () => state.now,
      ...(options.limits === undefined ? {} : { limits: options.limits })
    })
    await services.start()
    return { node: n, set, directory, services, added, state }
  }

  const caller = async (tag: string, served: Served): Promise<{ node: MurmurNode, ask: (node: string, from: number) => Promise<NeighbourAnswer> }> => {
    const n = await node(tag)
    await n.peerStore.merge(served.node.peerId, { multiaddrs: served.node.getMultiaddrs() })
    const addrs = n.getMultiaddrs().map(String)
    return { node: n, ask: async (id, from) => await requestNeighbour(n, served.node.peerId, { node: id, addrs, degree: 2, from }) }
  }

  const isRateLimited = (error: unknown): boolean => error instanceof RequestRefused && error.reason === 'rate-limited' && /rate-limited/.test(error.message)

  test('neighbour requests: 4 at once per PeerId, then one per 15 s, whatever node id they name', async () => {
    assert.deepEqual(NEIGHBOUR_REQUEST_LIMIT, { burst: 4, intervalMs: 15_000 })
    const served = await serve({ round: 10 })
    const rogue = await caller('rogue', served)
    const honest = await caller('honest', served)
    const tooEarly: NeighbourAnswer = { ok: false, round: 10, reason: 'too-early' }
    // Far-ahead requests are declined without any state: only the limit can tell them apart.
    for (let k = 0; k < 4; k++) assert.deepEqual(await rogue.ask(`r${k}`, 100), tooEarly)
    await assert.rejects(rogue.ask('r4', 100), isRateLimited)
    await assert.rejects(rogue.ask('other-name', 100), isRateLimited)
    assert.deepEqual(await honest.ask('h', 100), tooEarly, 'another PeerId has its own budget')
    served.state.now += 14_999
    await assert.rejects(rogue.ask('r5', 100), isRateLimited)
    served.state.now += 1
    assert.deepEqual(await rogue.ask('r6', 100), tooEarly, 'a token came back after 15 s')
    await assert.rejects(rogue.ask('r7', 100), isRateLimited)
    const r = rogue.node.peerId.toString()
    const h = honest.node.peerId.toString()
    assert.deepEqual(served.services.refusals(), { byReason: { 'too-early': 6, 'rate-limited': 4 }, bySender: { [r]: 9, [h]: 1 } })
    assert.equal(served.services.refused(), 10)
    assert.equal(served.directory.size, 1, 'no requester is remembered')
  })

  test('the limit is per protocol: a rate-limited neighbour requester still gets the manifest', async () => {
    const served = await serve({ round: 3, limits: { neighbour: { burst: 1, intervalMs: 60_000 } } })
    const rogue = await caller('rogue', served)
    assert.deepEqual(await rogue.ask('x', 100), { ok: false, round: 3, reason: 'too-early' })
    await assert.rejects(rogue.ask('x', 100), isRateLimited)
    assert.equal((await fetchManifest(rogue.node, served.node.peerId)).schedule.round, 3)
  })

  test('a silent newcomer is dropped after one round and refused as cooling-down until 16 rounds passed', async () => {
    const served = await serve({ round: 4 })
    const joiner = await caller('joiner', served)
    const advance = (to: number): void => {
      for (let r = served.state.round; r < to; r++) served.set.observe(r, new Set())
      served.state.round = to
    }
    assert.deepEqual(await joiner.ask('j', 5), { ok: true, round: 4, degree: 1 })
    advance(6) // round 5, j's first: nothing came
    assert.equal(served.set.has('j'), false)
    served.state.now += 60_000
    assert.deepEqual(await joiner.ask('j', 7), { ok: false, round: 6, reason: 'cooling-down' })
    advance(21) // observed 20 < 5 + 16
    served.state.now += 60_000
    assert.deepEqual(await joiner.ask('j', 22), { ok: false, round: 21, reason: 'cooling-down' })
    advance(22) // observed 21
    served.state.now += 60_000
    assert.deepEqual(await joiner.ask('j', 23), { ok: true, round: 22, degree: 1 })
    assert.deepEqual(served.added, ['j', 'j'])
    assert.deepEqual(served.services.refusals(), { byReason: { 'cooling-down': 2 }, bySender: { [joiner.node.peerId.toString()]: 2 } })
  })

  test(`an edge may start up to ${MAX_START_AHEAD} rounds ahead, not one more`, async () => {
    const served = await serve({ round: 4 })
    const first = await caller('first', served)
    const second = await caller('second', served)
    assert.deepEqual(await first.ask('f', 4 + MAX_START_AHEAD + 1), { ok: false, round: 4, reason: 'too-early' })
    assert.deepEqual(await second.ask('s', 4 + MAX_START_AHEAD), { ok: true, round: 4, degree: 1 })
    assert.deepEqual(served.set.at(4 + MAX_START_AHEAD).ids, ['s'])
  })

  test('a refused requester is not remembered, whatever the reason', async () => {
    const served = await serve({ round: 4, limits: { neighbour: { burst: 5, intervalMs: 60_000 } } })
    const asker = await caller('asker', served)
    const answers = [
      await asker.ask('late', 4), // starts at a round already begun
      await asker.ask('early', 4 + MAX_START_AHEAD + 1),
      await asker.ask('a', 6) // the served node's own id
    ]
    assert.deepEqual(answers.map((a) => a.ok ? 'ok' : a.reason), ['too-late', 'too-early', 'id-taken'])
    for (let k = 0; served.set.size < served.set.maxDegree; k++) served.set.add(`n${k}`, 2, 6)
    assert.deepEqual(await asker.ask('full', 6), { ok: false, round: 4, reason: 'full' })
    await asker.ask('limited', 6)
    await assert.rejects(asker.ask('limited', 6), isRateLimited)
    for (const id of ['late', 'early', 'full', 'limited']) assert.equal(served.directory.get(id), undefined, id)
    assert.equal(served.directory.idOf(asker.node.peerId), undefined)
    assert.deepEqual(served.added, [])
    assert.deepEqual(served.services.refusals().byReason, { 'too-late': 1, 'too-early': 1, 'id-taken': 1, full: 2, 'rate-limited': 1 })
  })

  test('a closed peer declines and counts; another protocol version is refused as such', async () => {
    const closed = await serve({ round: 2, open: false })
    const asker = await caller('asker', closed)
    assert.deepEqual(await asker.ask('j', 5), { ok: false, round: 2, reason: 'closed' })
    const request = { node: 'j', addrs: [], degree: 2, from: 5, protocol: PROTOCOL_VERSION + 1 } as NeighbourRequest
    await assert.rejects(requestNeighbour(asker.node, closed.node.peerId, request), (e: Error) =>
      e instanceof RequestRefused && e.reason === 'version' && e.message.includes(`version ${PROTOCOL_VERSION + 1}`))
    const members = callJson(asker.node, closed.node.peerId, MEMBERS_PROTOCOL, { protocol: PROTOCOL_VERSION + 1, announce: [] }, (v) => v)
    await assert.rejects(members, (e: Error) => e instanceof RequestRefused && e.reason === 'version')
    const id = asker.node.peerId.toString()
    assert.deepEqual(closed.services.refusals(), { byReason: { closed: 1, version: 2 }, bySender: { [id]: 3 } })
  })

  test('malformed, oversized and cut-short requests are counted by reason and requester; a JSON caller is told why', async () => {
    const served = await serve({ round: 2 })
    const rogue = await caller('rogue', served)
    const junk = fromString('{"node": 7}')
    await writeRaw(rogue.node, served.node.peerId, NEIGHBOUR_PROTOCOL, [varint(junk.length), junk], 'close')
    const notJson = fromString('hello')
    await writeRaw(rogue.node, served.node.peerId, NEIGHBOUR_PROTOCOL, [varint(notJson.length), notJson], 'close')
    await writeRaw(rogue.node, served.node.peerId, MEMBERS_PROTOCOL, [varint(10_000_000)], 'close')
    await writeRaw(rogue.node, served.node.peerId, MEMBERS_PROTOCOL, [], 'close')
    await until(() => served.services.refused() === 4, 'four refusals')
    await assert.rejects(callJson(rogue.node, served.node.peerId, NEIGHBOUR_PROTOCOL, [1, 2], (v) => v), (e: Error) =>
      e instanceof RequestRefused && e.reason === 'malformed' && /expected an object/.test(e.message))
    const id = rogue.node.peerId.toString()
    assert.deepEqual(served.services.refusals(), { byReason: { malformed: 3, oversized: 1, incomplete: 1 }, bySender: { [id]: 5 } })
    assert.equal(served.set.size, 0)
  })

  test('a member list keeps its good records: each bad or conflicting one is left out and counted', async () => {
    const served = await serve({ round: 2 })
    const announcer = await caller('announcer', served)
    const other = await node('other')
    const good = { id: 'g', peerId: other.peerId.toString(), addrs: other.getMultiaddrs().map(String) }
    const bad = { id: 'b', peerId: 'not-a-peer-id', addrs: [] }
    const taken = { id: 'a', peerId: other.peerId.toString(), addrs: [] } // a is the served node
    const tooMany = { id: 't', peerId: announcer.node.peerId.toString(), addrs: Array.from({ length: 17 }, (_, i) => `/ip4/127.0.0.1/tcp/${i + 1}`) }
    const members = await fetchMembers(announcer.node, served.node.peerId, [bad, good, taken, tooMany])
    assert.deepEqual(members.map((m) => m.id).sort(), ['a', 'g'])
    assert.equal(served.directory.get('g')?.peerId, good.peerId)
    const id = announcer.node.peerId.toString()
    assert.deepEqual(served.services.refusals(), { byReason: { 'bad-record': 2, 'conflicting-record': 1 }, bySender: { [id]: 3 } })
    // The caller's side is as lenient: a bad record in an answer costs that record only.
    const left: string[] = []
    const again = await fetchMembers(announcer.node, served.node.peerId, [], { onBad: (e) => left.push(e.message) })
    assert.equal(again.length, 2)
    assert.deepEqual(left, [])
  })

  test('announcements never grow the directory past what a member list may hold', async () => {
    const served = await serve({ round: 2 })
    const announcer = await caller('announcer', served)
    const known = '12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq'
    served.directory.bind({ id: 'm1', peerId: known, addrs: [] })
    for (let k = 2; k < MAX_MEMBERS; k++) served.directory.bind({ id: `m${k}`, peerId: `P${k}`, addrs: [] })
    assert.equal(served.directory.size, MAX_MEMBERS)
    const self = { id: 'late', peerId: announcer.node.peerId.toString(), addrs: [] }
    const refresh = { id: 'm1', peerId: known, addrs: ['/ip4/127.0.0.1/tcp/1'] }
    let unusable = 0
    const members = await fetchMembers(announcer.node, served.node.peerId, [self, refresh], { onBad: () => { unusable++ } })
    // The records made up here have no real PeerIds: the caller leaves them out, one by one.
    assert.deepEqual([members.length, unusable], [2, MAX_MEMBERS - 2], 'a full directory still answers whole')
    assert.equal(served.directory.get('late'), undefined)
    assert.deepEqual(served.directory.get('m1')?.addrs, refresh.addrs, 'a known record is still refreshed')
    assert.deepEqual(served.services.refusals(), { byReason: { 'directory-full': 1 }, bySender: { [announcer.node.peerId.toString()]: 1 } })
  })
})

describe('join reports the real cause', () => {
  const nodes: MurmurNode[] = []
  after(async () => { await Promise.all(nodes.map(async (n) => { await n.stop() })) })

  test('a failed probe names every bootstrap address with its own last failure', async () => {
    // One peer that speaks no murmur protocol, one address nobody listens on.
    const mute = await startNode('mute')
    nodes.push(mute)
    const muteAddr = `${mute.getMultiaddrs()[0].toString()}`
    const deadAddr = multiaddr('/ip4/127.0.0.1/tcp/9/p2p/12D3KooWKWnWEpN9Lsp7Nn4VDwH5wJT2KSR1taGRcnBGiaLJ1tAb').toString()
    await assert.rejects(joinSwarm({ bootstrap: [muteAddr, deadAddr], stateDir: tempDir('join-cause'), connectTimeoutMs: 1500 }), (e: Error) => {
      assert.equal(e.name, 'JoinError')
      assert.match(e.message, /could not reach a bootstrap peer within 2 s/)
      assert.ok(e.message.includes(`${muteAddr}: `), e.message)
      assert.ok(e.message.includes(`${deadAddr}: `), e.message)
      return true
    })
  })
})
