// The Byzantine peers' private channel over real TCP: colluders pool what each received, an
// empty report still counts, the deadline bounds the wait, and outsiders are not heard.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import * as lp from 'it-length-prefixed'
import { fromString } from 'uint8arrays'
import { COLLUSION_PROTOCOL, createCollusionChannel, type Libp2pCollusionChannel } from '../../src/net/collusion.ts'
import { encodeFrame } from '../../src/wire/frame.ts'
import type { MurmurNode } from '../../src/net/node.ts'
import { startNode, until, writeRaw } from '../helpers/net.ts'

const D = 16
const SWARM = 'test-swarm'
const filled = (value: number): Float32Array => new Float32Array(D).fill(value)

describe('collusion channel', () => {
  let nodes: MurmurNode[]
  let channels: Libp2pCollusionChannel[]
  let outsider: MurmurNode
  before(async () => {
    nodes = await Promise.all(['b0', 'b1', 'b2'].map(startNode))
    outsider = await startNode('x')
    for (const n of [...nodes, outsider]) {
      for (const m of nodes) if (n !== m) await n.peerStore.merge(m.peerId, { multiaddrs: m.getMultiaddrs() })
    }
    const colluders = new Map(nodes.map((n, i) => [`b${i}`, n.peerId]))
    channels = nodes.map((n, i) => createCollusionChannel(n, { swarm: SWARM, self: `b${i}`, dimension: D, colluders }))
    for (const ch of channels) await ch.start()
  })
  after(async () => { await Promise.all([...nodes, outsider].map(async (n) => { await n.stop() })) })

  // Gathers that must end early get ten-minute deadlines: the test's own timeout fails them if they wait it out.
  test('three colluders pool their honest models, own share included; an empty share still completes the round', { timeout: 120_000 }, async () => {
    const deadline = Date.now() + 600_000
    const gathering = channels.map(async (ch) => await ch.gather(0, deadline))
    await Promise.all([
      channels[0].share(0, new Map([['h1', filled(1)], ['h3', filled(3)]])),
      channels[1].share(0, new Map([['h2', filled(2)]])),
      channels[2].share(0, new Map()) // received nothing: says so
    ])
    const pooled = await Promise.all(gathering)
    for (const [i, models] of pooled.entries()) {
      assert.deepEqual([...models.keys()].sort(), ['h1', 'h2', 'h3'], `colluder b${i}`)
      assert.deepEqual(models.get('h1'), filled(1))
      assert.deepEqual(models.get('h2'), filled(2))
      assert.deepEqual(models.get('h3'), filled(3))
    }
  })

  test('a colluder that never reports leaves gather to the deadline with what was shared', { timeout: 120_000 }, async () => {
    await channels[0].share(1, new Map([['h1', filled(10)]]))
    await channels[1].share(1, new Map([['h2', filled(20)]]))
    const controller = new AbortController()
    let settled = false
    const waiting = channels[0].gather(1, Date.now() + 600_000, controller.signal).finally(() => { settled = true })
    const pooled = await channels[0].gather(1, Date.now() + 300)
    assert.deepEqual([...pooled.keys()].sort(), ['h1', 'h2'])
    assert.deepEqual(pooled.get('h2'), filled(20))
    assert.equal(settled, false, 'without a deadline of its own, gather still waits for the colluder missing')
    controller.abort()
    assert.deepEqual([...(await waiting).keys()].sort(), ['h1', 'h2'])
  })

  test('an outsider is refused, whatever it claims, and its models never reach the pool', { timeout: 120_000 }, async () => {
    // The outsider runs a channel of its own that lists b0 as a fellow colluder.
    const rogue = createCollusionChannel(outsider, { swarm: SWARM, self: 'b2', dimension: D, colluders: new Map([['b2', outsider.peerId], ['b0', nodes[0].peerId]]) })
    await rogue.share(2, new Map([['h9', filled(9)]]))
    await until(() => channels[0].refused() === 1, 'the outsider to be refused')
    // A colluder sending a report in another colluder's name is refused too.
    const forged = [fromString(JSON.stringify({ reporter: 'b2', round: 2, count: 1 })), encodeFrame({ swarm: SWARM, sender: 'h8', round: 2, dtype: 'f32', params: filled(8) })]
    await writeRaw(nodes[1], nodes[0].peerId, COLLUSION_PROTOCOL, forged.map((m) => lp.encode.single(m).subarray()), 'close')
    await until(() => channels[0].refused() === 2, 'the forged report to be refused')
    await channels[0].share(2, new Map())
    await channels[1].share(2, new Map([['h2', filled(2)]]))
    await channels[2].share(2, new Map())
    // The forged report must not stand in for b2, nor keep b2's own from completing the round.
    const pooled = await channels[0].gather(2, Date.now() + 600_000)
    assert.deepEqual([...pooled.keys()], ['h2'])
  })

  test('models over the 4 MiB default of length-prefixed writers are pooled whole', async () => {
    const d = 1_200_000
    const big = await Promise.all(['bb0', 'bb1'].map(startNode))
    try {
      await big[0].peerStore.merge(big[1].peerId, { multiaddrs: big[1].getMultiaddrs() })
      await big[1].peerStore.merge(big[0].peerId, { multiaddrs: big[0].getMultiaddrs() })
      const colluders = new Map(big.map((n, i) => [`bb${i}`, n.peerId]))
      const pair = big.map((n, i) => createCollusionChannel(n, { swarm: SWARM, self: `bb${i}`, dimension: d, colluders }))
      for (const ch of pair) await ch.start()
      const model = new Float32Array(d).map((_, i) => Math.cos(i))
      const gathering = pair[1].gather(0, Date.now() + 20_000)
      await Promise.all([pair[0].share(0, new Map([['h1', model]])), pair[1].share(0, new Map())])
      const pooled = await gathering
      assert.deepEqual([...pooled.keys()], ['h1'])
      assert.deepEqual(pooled.get('h1'), model)
    } finally {
      await Promise.all(big.map(async (n) => { await n.stop() }))
    }
  })

  test('a channel must be among its own colluders', () => {
    assert.throws(() => createCollusionChannel(nodes[0], { swarm: SWARM, self: 'b9', dimension: D, colluders: new Map([['b0', nodes[0].peerId]]) }), /b9 is not among its colluders/)
  })
})
