// A peer built from a swarm plan, over real TCP on 127.0.0.1: before the first round it opens
// one connection to each topology neighbour, and none to anyone else.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { initBackend } from '@murmur/learn'
import type { Topology } from '@murmur/topology'
import { createPeer, type MurmurPeer } from '../../src/peer.ts'
import { planSwarm } from '../../src/swarm/plan.ts'
import { until } from '../helpers/net.ts'

const scratch = mkdtempSync(join(tmpdir(), 'murmur-peer-'))
after(() => { rmSync(scratch, { recursive: true, force: true }) })

/** A chain p0 – p1 – p2 – p3: p0 and p3 are not neighbours of each other. */
function chain4 (): Topology {
  const nodes = Array.from({ length: 4 }, (_, i) => ({ id: `p${i}` }))
  return { name: 'chain-4', nodes, edges: [['p0', 'p1'], ['p1', 'p2'], ['p2', 'p3']] }
}

describe('peer', () => {
  const peers: MurmurPeer[] = []
  before(async () => { await initBackend({ backend: 'wasm' }) })
  after(async () => { await Promise.all(peers.map(async (p) => { await p.stop() })) })

  test('dialNeighbours opens exactly one connection per topology edge, and no other', async () => {
    const plan = planSwarm({
      topology: chain4(),
      task: { dataset: 'synthetic-mean', seed: 1 },
      rounds: 2,
      localSteps: 1,
      lr: 0.1,
      momentum: 0,
      batchSize: 8,
      rule: 'mean',
      f: 0,
      roundTimeoutMs: 2000,
      evalEvery: 1
    })
    for (const node of plan.nodes) {
      peers.push(await createPeer({ plan, node, stateDir: join(scratch, node.id), listen: ['/ip4/127.0.0.1/tcp/0'] }))
    }
    const book = peers.map((p) => p.address())
    for (const peer of peers) await peer.connect(book)
    for (const peer of peers) assert.equal(peer.libp2p.getConnections().length, 0, `${peer.id} dialled before dialNeighbours`)
    await Promise.all(peers.map(async (p) => { await p.dialNeighbours() }))
    const byId = new Map(peers.map((p) => [p.id, p]))
    const connected = (a: string, b: string): number => (byId.get(a) as MurmurPeer).libp2p.getConnections((byId.get(b) as MurmurPeer).libp2p.peerId).length
    const edges = [['p0', 'p1'], ['p1', 'p2'], ['p2', 'p3']]
    // The dialler's side is up when dial resolves; the listener's may register a moment later.
    await until(() => edges.every(([a, b]) => connected(b, a) > 0), 'both ends of every edge to see the connection')
    for (const [a, b] of edges) {
      assert.equal(connected(a, b), 1, `${a}–${b}`)
      assert.equal(connected(b, a), 1, `${b}–${a}`)
    }
    for (const [a, b] of [['p0', 'p2'], ['p0', 'p3'], ['p1', 'p3']]) assert.equal(connected(a, b), 0, `${a}–${b}`)
  })
})
