// The control plane: strict message checks, and over real gossipsub between nodes on 127.0.0.1,
// heartbeats and membership delivered while malformed or impersonating messages are rejected by
// the topic validator and never reach a handler.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { Message } from '@libp2p/interface'
import { fromString, toString } from 'uint8arrays'
import { controlTopic, createControlPlane, heartbeatDue, heartbeatPeriod, HEARTBEATS_PER_ROUND, MAX_CONTROL_BYTES, parseControlMessage, type ControlMessage, type ControlPlane } from '../../src/net/control.ts'
import { PROTOCOL_VERSION } from '../../src/wire/manifest.ts'
import type { MurmurNode } from '../../src/net/node.ts'
import { sleep, startNode, until } from '../helpers/net.ts'

const SWARM = 'test-swarm'
const json = (value: unknown): Uint8Array => fromString(JSON.stringify(value))

describe('control messages', () => {
  test('the topic is /murmur/<swarm>/control/1', () => {
    assert.equal(controlTopic('lab-7'), '/murmur/lab-7/control/1')
  })

  test('valid messages of each type parse to exactly their fields', () => {
    assert.deepEqual(parseControlMessage(json({ type: 'heartbeat', node: 'p1', round: 3, time: 1700 })), { type: 'heartbeat', node: 'p1', round: 3, time: 1700 })
    assert.deepEqual(parseControlMessage(json({ type: 'membership', node: 'p1', peerId: '12D3KooWabc', addrs: ['/ip4/127.0.0.1/tcp/4001'] })),
      { type: 'membership', node: 'p1', peerId: '12D3KooWabc', addrs: ['/ip4/127.0.0.1/tcp/4001'] })
    assert.deepEqual(parseControlMessage(json({ type: 'summary', node: 'p1', round: 9, accuracy: 0.5, rejected: { checksum: 2 } })),
      { type: 'summary', node: 'p1', round: 9, accuracy: 0.5, rejected: { checksum: 2 } })
  })

  test('a manifest announcement carries a checked manifest; a bad one is refused naming its field', () => {
    const manifest = {
      protocol: PROTOCOL_VERSION, swarm: 's', task: { dataset: 'synthetic-mean' }, nodes: 4, dimension: 3,
      training: { localSteps: 1, lr: 0.1, momentum: 0, batchSize: 8, weightDecay: 0, schedule: { kind: 'constant' }, seed: 0 },
      mixing: { rule: 'cwtm', f: 1, joinerF: 1, shortfall: 'shrink-f', dtype: 'f32' },
      schedule: { rounds: 10, roundTimeoutMs: 1000, evalEvery: 1, round: 4 },
      open: true
    }
    assert.deepEqual(parseControlMessage(json({ type: 'manifest', node: 'p1', manifest })), { type: 'manifest', node: 'p1', manifest })
    assert.throws(() => parseControlMessage(json({ type: 'manifest', node: 'p1', manifest: { ...manifest, dimension: -1 } })), /manifest message: manifest dimension/)
  })

  test('anything else is refused with a reason', () => {
    const bad: Array<[unknown, RegExp]> = [
      ['not json', /not JSON/],
      [[1, 2], /not a JSON object/],
      [{ type: 'launch', node: 'p1' }, /unknown control message type "launch"/],
      [{ node: 'p1', round: 1, time: 1 }, /unknown control message type/],
      [{ type: 'heartbeat', node: 'p1', round: -1, time: 1 }, /round must be an integer/],
      [{ type: 'heartbeat', node: 'p1', round: 1.5, time: 1 }, /round must be an integer/],
      [{ type: 'heartbeat', node: 'p1', round: 1 }, /time must be a finite number/],
      [{ type: 'heartbeat', node: '', round: 1, time: 1 }, /node must be a string/],
      [{ type: 'heartbeat', node: 7, round: 1, time: 1 }, /node must be a string/],
      [{ type: 'heartbeat', node: 'p1', round: 1, time: 1, extra: true }, /unexpected field "extra"/],
      [{ type: 'summary', node: 'p1', round: 1, accuracy: 'high' }, /accuracy must be a finite number/],
      [{ type: 'summary', node: 'p1', round: 1, rejected: { checksum: -1 } }, /rejected\.checksum/],
      [{ type: 'membership', node: 'p1', peerId: 'x', addrs: '/ip4/1.2.3.4' }, /addrs must be an array/],
      // What a member list accepts, gossip accepts: at most 16 real multiaddrs.
      [{ type: 'membership', node: 'p1', peerId: 'x', addrs: Array.from({ length: 17 }, (_, i) => `/ip4/127.0.0.1/tcp/${4000 + i}`) }, /at most 16 multiaddrs/],
      [{ type: 'membership', node: 'p1', peerId: 'x', addrs: ['not an address'] }, /at most 16 multiaddrs/],
      [{ type: 'heartbeat', node: 'p1', round: 1, time: 1, pad: 'x'.repeat(MAX_CONTROL_BYTES) }, /exceeds 65536/]
    ]
    for (const [value, reason] of bad) {
      const bytes = typeof value === 'string' ? fromString(value) : json(value)
      assert.throws(() => parseControlMessage(bytes), reason, JSON.stringify(value).slice(0, 80))
    }
  })
})

describe('heartbeat schedule', () => {
  test('up to 16 peers every peer beats every round; beyond, the period grows with N', () => {
    assert.equal(HEARTBEATS_PER_ROUND, 16)
    for (const n of [1, 2, 8, 16]) assert.equal(heartbeatPeriod(n), 1)
    assert.equal(heartbeatPeriod(17), 2)
    assert.equal(heartbeatPeriod(64), 4)
    assert.equal(heartbeatPeriod(128), 8)
    assert.equal(heartbeatPeriod(129), 9)
    assert.equal(heartbeatPeriod(10, 3), 4)
    for (const bad of [0, -1, 2.5, Number.NaN]) assert.throws(() => heartbeatPeriod(bad), /swarm size/)
    assert.throws(() => heartbeatPeriod(8, 0), /heartbeats per round/)
  })

  test('every peer beats once per period, and no round has more than the budget of speakers', () => {
    for (let n = 1; n <= 300; n++) {
      const period = heartbeatPeriod(n)
      const beats = new Array<number>(n).fill(0)
      for (let round = 0; round < 3 * period; round++) {
        let speakers = 0
        for (let index = 0; index < n; index++) {
          if (heartbeatDue(round, index, period)) { speakers++; beats[index]++ }
        }
        assert.ok(speakers <= HEARTBEATS_PER_ROUND, `n=${n} round ${round}: ${speakers} speakers`)
        assert.ok(speakers >= Math.floor(n / period), `n=${n} round ${round}: only ${speakers} speakers`)
      }
      assert.ok(beats.every((b) => b === 3), `n=${n}: beats ${beats.join(',')}`)
    }
  })
})

describe('control plane over gossipsub', () => {
  const ids = ['p0', 'p1', 'p2']
  let nodes: MurmurNode[]
  let planes: ControlPlane[]
  let rogue: MurmurNode
  before(async () => {
    nodes = await Promise.all(ids.map(startNode))
    rogue = await startNode('rogue')
    const peers = new Map(nodes.map((n, i) => [ids[i], n.peerId]))
    planes = nodes.map((n, i) => createControlPlane(n, { swarm: SWARM, self: ids[i], peers }))
    for (const p of planes) await p.start()
    for (let i = 0; i < nodes.length; i++) {
      for (let j = i + 1; j < nodes.length; j++) await nodes[i].dial(nodes[j].getMultiaddrs()[0])
    }
  })
  after(async () => {
    for (const p of planes) await p.stop()
    await Promise.all([...nodes, rogue].map(async (n) => { await n.stop() }))
  })

  test('publishing with nobody subscribed, or an invalid message, never throws', async () => {
    const lonely = createControlPlane(rogue, { swarm: 'empty-swarm', self: 'r' })
    await lonely.start()
    lonely.publish({ type: 'heartbeat', node: 'r', round: 0, time: Date.now() })
    lonely.publish({ type: 'heartbeat', node: 'r', round: -5, time: Date.now() })
    lonely.publish({ type: 'summary', node: 'r', round: 0, loss: Number.NaN })
    await sleep(50)
    await lonely.stop()
  })

  test('heartbeats are delivered between three nodes and members() tracks the last round', async () => {
    const heard = planes.map(() => new Map<string, number>())
    planes.forEach((p, i) => p.on('heartbeat', (m) => { heard[i].set(m.node, m.round) }))
    let round = 4
    const stops = planes.map((p) => p.startHeartbeat(50, () => round))
    try {
      await until(() => heard.every((h) => h.size === 2), 'every node to hear both others')
      round = 5
      await until(() => planes.every((p, i) => ids.every((id, j) => i === j || p.members().get(id)?.round === 5)), 'members to reach round 5')
    } finally {
      for (const stop of stops) stop()
    }
    heard.forEach((h, i) => { assert.deepEqual([...h.keys()].sort(), ids.filter((_, j) => j !== i)) })
    assert.equal(planes[0].members().has('p0'), false, 'own heartbeats are not echoed back')
    const member = planes[0].members().get('p1')
    assert.ok(member !== undefined && member.lastSeen >= member.time - 1000)
  })

  test('malformed, oversized and impersonating messages are rejected by the validator and never delivered', async () => {
    await rogue.dial(nodes[0].getMultiaddrs()[0])
    const topic = controlTopic(SWARM)
    await until(() => rogue.services.pubsub.getSubscribers(topic).some((p) => p.equals(nodes[0].peerId)), 'the rogue to see p0 subscribed')
    const delivered: ControlMessage[] = []
    const raw: Message[] = []
    planes[0].on('heartbeat', (m) => { delivered.push(m) })
    planes[0].on('membership', (m) => { delivered.push(m) })
    planes[0].on('summary', (m) => { delivered.push(m) })
    const onRaw = (event: CustomEvent<Message>): void => { if (event.detail.topic === topic) raw.push(event.detail) }
    nodes[0].services.pubsub.addEventListener('message', onRaw)
    try {
      const before = planes[0].rejected()
      const bad = [
        fromString('{"type":"heartbeat","node":"r"'), // cut JSON
        json({ type: 'heartbeat', node: 'r', round: 'one', time: 1 }),
        json({ type: 'vote', node: 'r' }),
        json({ type: 'summary', node: 'r', round: 1, pad: 'x'.repeat(MAX_CONTROL_BYTES) }),
        json({ type: 'heartbeat', node: 'p1', round: 99, time: 1 }), // speaks for p1
        json({ type: 'membership', node: 'p2', peerId: rogue.peerId.toString(), addrs: [] }), // claims p2
        json({ type: 'membership', node: 'r', peerId: nodes[1].peerId.toString(), addrs: [] }) // announces another peer
      ]
      for (const message of bad) await rogue.services.pubsub.publish(topic, message)
      await until(() => planes[0].rejected() === before + bad.length, `${bad.length} rejections`)
      // The rogue's valid message under its own name still gets through: the validator is not a wall.
      await rogue.services.pubsub.publish(topic, json({ type: 'membership', node: 'r', peerId: rogue.peerId.toString(), addrs: ['/ip4/127.0.0.1/tcp/1'] }))
      await until(() => delivered.length > 0, 'the valid message')
    } finally {
      nodes[0].services.pubsub.removeEventListener('message', onRaw)
    }
    assert.equal(delivered.length, 1)
    assert.deepEqual(delivered[0], { type: 'membership', node: 'r', peerId: rogue.peerId.toString(), addrs: ['/ip4/127.0.0.1/tcp/1'] })
    assert.deepEqual(raw.map((m) => toString(m.data)), [JSON.stringify(delivered[0])], 'gossipsub emitted only the valid message')
    // Its first membership bound r to the rogue: nobody else may speak for r now.
    const rejectedBefore = planes[0].rejected()
    await nodes[2].services.pubsub.publish(topic, json({ type: 'heartbeat', node: 'r', round: 1, time: 1 }))
    await until(() => planes[0].rejected() === rejectedBefore + 1, 'the heartbeat for r from p2 to be rejected')
    assert.equal(planes[0].members().has('r'), false)
  })
})
