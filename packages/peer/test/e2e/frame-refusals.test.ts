// Frame refusals over real TCP on 127.0.0.1: a neighbour's count (what the launch's delivery report
// reads) is raised only by that neighbour's own connection. Frames of anyone else (a peer of the
// address book that is not a neighbour, or a peer not in it at all) count as strangers', under no
// neighbour's name, whatever sender the frame claims.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import * as lp from 'it-length-prefixed'
import { createModelExchange, MODEL_PROTOCOL, type ModelExchange } from '../../src/net/exchange.ts'
import { encodeFrame } from '../../src/wire/frame.ts'
import type { MurmurNode } from '../../src/net/node.ts'
import { addressBook, startNode, until, writeRaw } from '../helpers/net.ts'

const D = 8
const SWARM = 'frames'
const frame = (sender: string, round: number, value = 1): Uint8Array =>
  encodeFrame({ swarm: SWARM, sender, round, dtype: 'f32', params: new Float32Array(D).fill(value) })

describe('frame refusals are charged to neighbours only through their own connection', () => {
  // b takes models from a only; c is in the address book, s is not.
  let nodes: Record<'a' | 'b' | 'c' | 's', MurmurNode>
  let exchanges: Record<'a' | 'b' | 'c', ModelExchange>
  let neighboursOfB: Set<string>
  before(async () => {
    const [a, b, c, s] = await Promise.all(['a', 'b', 'c', 's'].map(startNode))
    nodes = { a, b, c, s }
    neighboursOfB = new Set(['a'])
    const make = (id: 'a' | 'b' | 'c'): ModelExchange => createModelExchange(nodes[id], {
      swarm: SWARM,
      self: id,
      dimension: D,
      readTimeoutMs: 2000,
      ...(id === 'b' ? { isNeighbour: (n: string) => neighboursOfB.has(n) } : {})
    })
    exchanges = { a: make('a'), b: make('b'), c: make('c') }
    const book = addressBook({ a, b, c })
    for (const e of Object.values(exchanges)) {
      await e.start()
      await e.setAddressBook(book)
    }
    await s.peerStore.merge(b.peerId, { multiaddrs: b.getMultiaddrs() })
  })
  after(async () => { await Promise.all(Object.values(nodes).map(async (n) => { await n.stop() })) })

  test('a neighbour\'s bad frames count under its name; everyone else\'s only as strangers\'', async () => {
    const { a, b, c } = exchanges
    const corrupt = frame('a', 0)
    corrupt[corrupt.length - 1] ^= 0x01
    await a.sendRaw('b', corrupt)
    await until(() => b.refusals().frames.byReason.checksum === 1, 'a\'s corrupt frame')
    // c, not a neighbour of b, sends as a, as itself, and junk; s, unknown, sends as a.
    await c.sendRaw('b', frame('a', 0)).catch(() => {})
    await c.sendRaw('b', frame('c', 0)).catch(() => {})
    await c.sendRaw('b', new Uint8Array(3)).catch(() => {})
    await writeRaw(nodes.s, nodes.b.peerId, MODEL_PROTOCOL, [lp.encode.single(frame('a', 0)).subarray()], 'close')
    await until(() => b.refusals().strangers === 4, 'four strangers\' frames')
    assert.deepEqual(b.refusals(), { frames: { byReason: { checksum: 1, 'unknown-sender': 4 }, bySender: { a: 1 } }, strangers: 4 })
    assert.deepEqual(b.rejectionsBySender(), { a: 1 })
    // a's good frame still arrives.
    await a.send('b', 0, new Float32Array(D).fill(7))
    assert.deepEqual([...(await b.collect(0, ['a'], Date.now() + 5000)).get('a') ?? []], new Array(D).fill(7))
  })

  test('an edge that starts makes c a neighbour: from then on its frames count under c', async () => {
    const { b, c } = exchanges
    neighboursOfB.add('c')
    await c.sendRaw('b', frame('a', 1)) // c claims to be a: charged to c, not a
    await until(() => b.refusals().frames.bySender.c === 1, 'c to be charged')
    assert.deepEqual(b.refusals(), { frames: { byReason: { checksum: 1, 'unknown-sender': 5 }, bySender: { a: 1, c: 1 } }, strangers: 4 })
  })

})
