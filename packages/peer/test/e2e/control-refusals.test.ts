// Control-plane refusals over real gossipsub on 127.0.0.1: each refused message is counted under
// its reason and under the PeerId that signed it (the node id once that PeerId is bound), never
// under the node the message names. A closed swarm refuses messages about nodes outside it.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { fromString } from 'uint8arrays'
import { controlTopic, createControlPlane, MAX_CONTROL_BYTES, parseControlMessage, type ControlMessageError, type ControlPlane } from '../../src/net/control.ts'
import { PROTOCOL_VERSION } from '../../src/wire/manifest.ts'
import type { MurmurNode } from '../../src/net/node.ts'
import { startNode, until } from '../helpers/net.ts'

const SWARM = 'refusal-swarm'
const json = (value: unknown): Uint8Array => fromString(JSON.stringify(value))

function manifest (swarm: string, protocol = PROTOCOL_VERSION): unknown {
  return {
    protocol, swarm, task: { dataset: 'synthetic-mean' }, nodes: 4, dimension: 3,
    training: { localSteps: 1, lr: 0.1, momentum: 0, batchSize: 8, weightDecay: 0, schedule: { kind: 'constant' }, seed: 0 },
    mixing: { rule: 'cwtm', f: 1, joinerF: 1, shortfall: 'shrink-f', dtype: 'f32' },
    schedule: { rounds: 10, roundTimeoutMs: 1000, evalEvery: 1, round: 4 },
    open: true
  }
}

describe('control message refusal reasons', () => {
  test('each check names its reason', () => {
    const reason = (bytes: Uint8Array): string => {
      try {
        parseControlMessage(bytes)
      } catch (error) {
        return (error as ControlMessageError).reason
      }
      return 'accepted'
    }
    assert.equal(reason(fromString('{')), 'malformed')
    assert.equal(reason(json({ type: 'heartbeat', node: 'p', round: -1, time: 0 })), 'malformed')
    assert.equal(reason(json({ type: 'heartbeat', node: 'p', round: 1, time: 0, pad: 'x'.repeat(MAX_CONTROL_BYTES) })), 'oversized')
    assert.equal(reason(json({ type: 'manifest', node: 'p', manifest: manifest('s', PROTOCOL_VERSION + 1) })), 'version')
    assert.equal(reason(json({ type: 'manifest', node: 'p', manifest: { ...(manifest('s') as object), dimension: 1e308 } })), 'malformed')
    assert.equal(reason(json({ type: 'heartbeat', node: 'p', round: 1, time: 0 })), 'accepted')
  })
})

/** Three planes p0–p2 bound to each other, and a rogue node connected to p0 only. */
async function swarm (swarmName: string, options: { closed: boolean }): Promise<{ nodes: MurmurNode[], planes: ControlPlane[], rogue: MurmurNode, stop: () => Promise<void> }> {
  const ids = ['p0', 'p1', 'p2']
  const nodes = await Promise.all(ids.map(startNode))
  const rogue = await startNode('rogue')
  const peers = new Map(nodes.map((n, i) => [ids[i], n.peerId]))
  const planes = nodes.map((n, i) => createControlPlane(n, { swarm: swarmName, self: ids[i], peers, ...(options.closed ? { known: new Set(ids) } : {}) }))
  for (const p of planes) await p.start()
  await nodes[0].dial(nodes[1].getMultiaddrs()[0])
  await nodes[1].dial(nodes[2].getMultiaddrs()[0])
  await rogue.dial(nodes[0].getMultiaddrs()[0])
  const topic = controlTopic(swarmName)
  await until(() => rogue.services.pubsub.getSubscribers(topic).some((p) => p.equals(nodes[0].peerId)), 'the rogue to see p0 subscribed')
  await until(() => nodes[2].services.pubsub.getSubscribers(topic).some((p) => p.equals(nodes[1].peerId)), 'p2 to see p1 subscribed')
  return {
    nodes,
    planes,
    rogue,
    stop: async () => {
      for (const p of planes) await p.stop()
      await Promise.all([...nodes, rogue].map(async (n) => { await n.stop() }))
    }
  }
}

describe('control-plane refusals, open swarm', () => {
  let s: Awaited<ReturnType<typeof swarm>>
  before(async () => { s = await swarm(SWARM, { closed: false }) })
  after(async () => { await s.stop() })

  test('every refusal is counted by reason and under its signer; the nodes it names are not charged', async () => {
    const { nodes, planes, rogue } = s
    const topic = controlTopic(SWARM)
    const bad = [
      fromString('{"type":"heartbeat"'), // malformed
      json({ type: 'heartbeat', node: 'r', round: 'one', time: 1 }), // malformed
      json({ type: 'summary', node: 'r', round: 1, pad: 'x'.repeat(MAX_CONTROL_BYTES) }), // oversized
      json({ type: 'heartbeat', node: 'p1', round: 99, time: 1 }), // spoofed: p1 is bound to its own PeerId
      json({ type: 'membership', node: 'p2', peerId: rogue.peerId.toString(), addrs: [] }), // spoofed
      json({ type: 'membership', node: 'r', peerId: nodes[1].peerId.toString(), addrs: [] }), // spoofed: announces p1's PeerId
      json({ type: 'manifest', node: 'r', manifest: manifest('another-swarm') }), // wrong-swarm
      json({ type: 'manifest', node: 'r', manifest: manifest(SWARM, PROTOCOL_VERSION + 1) }) // version
    ]
    for (const message of bad) await rogue.services.pubsub.publish(topic, message)
    await until(() => planes[0].rejected() === bad.length, `${bad.length} refusals`)
    const r = rogue.peerId.toString()
    assert.deepEqual(planes[0].refusals(), {
      byReason: { malformed: 2, oversized: 1, spoofed: 3, 'wrong-swarm': 1, version: 1 },
      bySender: { [r]: 8 }
    })

    // The rogue's first valid message binds node r to it; from then on its refusals count under r,
    // and it may speak for no other node.
    await rogue.services.pubsub.publish(topic, json({ type: 'heartbeat', node: 'r', round: 1, time: 1 }))
    await until(() => planes[0].members().has('r'), 'the rogue\'s heartbeat')
    await rogue.services.pubsub.publish(topic, json({ type: 'heartbeat', node: 'r2', round: 1, time: 1 }))
    await until(() => planes[0].rejected() === bad.length + 1, 'the second name to be refused')
    assert.equal(planes[0].members().has('r2'), false)
    assert.deepEqual(planes[0].refusals().bySender, { [r]: 8, r: 1 })
    assert.equal(planes[0].refusals().byReason.spoofed, 4)

    // Nothing reached p1 or p2: p0's validator stopped every refused message.
    assert.equal(planes[1].rejected(), 0)
    assert.equal(planes[2].rejected(), 0)
  })

  test('an honest peer speaking for another node is charged under its own name', async () => {
    const { nodes, planes } = s
    const before = planes[0].rejected()
    await nodes[2].services.pubsub.publish(controlTopic(SWARM), json({ type: 'heartbeat', node: 'r', round: 2, time: 1 }))
    await until(() => planes[1].rejected() === 1, 'p1 to refuse it')
    assert.deepEqual(planes[1].refusals(), { byReason: { spoofed: 1 }, bySender: { p2: 1 } })
    assert.equal(planes[0].rejected(), before, 'p1 never forwarded it')
  })
})

describe('control-plane refusals, closed swarm', () => {
  let s: Awaited<ReturnType<typeof swarm>>
  before(async () => { s = await swarm(`${SWARM}-closed`, { closed: true }) })
  after(async () => { await s.stop() })

  test('messages about a node outside the topology are refused as unknown-sender; members still get through', async () => {
    const { nodes, planes, rogue } = s
    const topic = controlTopic(`${SWARM}-closed`)
    await rogue.services.pubsub.publish(topic, json({ type: 'membership', node: 'r', peerId: rogue.peerId.toString(), addrs: [] }))
    await rogue.services.pubsub.publish(topic, json({ type: 'heartbeat', node: 'r', round: 1, time: 1 }))
    await until(() => planes[0].rejected() === 2, 'two refusals')
    assert.deepEqual(planes[0].refusals(), { byReason: { 'unknown-sender': 2 }, bySender: { [rogue.peerId.toString()]: 2 } })
    assert.equal(planes[0].members().has('r'), false)
    const heard: string[] = []
    planes[2].on('heartbeat', (m) => { heard.push(m.node) })
    // Relayed through p1: on a busy machine the first copy may go out before p1's mesh holds p2,
    // so p0 heartbeats until p2 hears one, as a peer does every few rounds.
    let beat = 0
    const beating = setInterval(() => {
      nodes[0].services.pubsub.publish(topic, json({ type: 'heartbeat', node: 'p0', round: 1, time: ++beat })).catch(() => {})
    }, 500)
    try {
      await until(() => heard.length > 0, 'p0\'s heartbeat at p2', 30_000)
    } finally {
      clearInterval(beating)
    }
    assert.deepEqual([...new Set(heard)], ['p0'])
  })
})
