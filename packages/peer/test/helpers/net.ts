// Real libp2p nodes on 127.0.0.1 for the network tests, and a way to write arbitrary bytes on a
// protocol stream (cut short, reset or stalled) as a misbehaving remote would.

import type { PeerId } from '@libp2p/interface'
import { loadOrCreateIdentity } from '../../src/net/identity.ts'
import { createMurmurNode, type MurmurNode } from '../../src/net/node.ts'
import type { AddressBook } from '../../src/net/exchange.ts'
import { tempDir } from './temp.ts'

/** A started node with a fresh identity in a temporary state directory. */
export async function startNode (tag: string): Promise<MurmurNode> {
  const privateKey = await loadOrCreateIdentity(tempDir(tag))
  return await createMurmurNode({ privateKey })
}

/** node id → PeerId and addresses, for the given nodes. */
export function addressBook (nodes: Record<string, MurmurNode>): AddressBook {
  return new Map(Object.entries(nodes).map(([id, node]) => [id, { peerId: node.peerId, multiaddrs: node.getMultiaddrs() }]))
}

/** Resolves once `condition` holds, or rejects naming `what` after `timeoutMs` (generous: a bound for a hang on a busy machine, not a timing). */
export async function until (condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

export const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** LEB128, the unsigned varint it-length-prefixed puts before each message. */
export function varint (value: number): Uint8Array {
  const bytes: number[] = []
  let v = value
  while (v >= 0x80) {
    bytes.push((v % 0x80) | 0x80)
    v = Math.floor(v / 0x80)
  }
  bytes.push(v)
  return Uint8Array.from(bytes)
}

/**
 * Opens `protocol` to `to` and writes `chunks` as they are (no framing added), then:
 * 'close' ends the stream, 'reset' aborts it, 'stall' keeps it open without writing until the
 * remote gives up (or `release` is called). Errors on this side are expected and swallowed.
 */
export async function writeRaw (from: MurmurNode, to: PeerId, protocol: string, chunks: Uint8Array[], end: 'close' | 'reset' | 'stall'): Promise<{ release: () => void }> {
  const stream = await from.dialProtocol(to, protocol)
  let release = (): void => {}
  const held = new Promise<void>((resolve) => { release = resolve })
  const source = async function * (): AsyncGenerator<Uint8Array> {
    yield * chunks
    if (end !== 'close') await held
  }
  const sink = stream.sink(source()).catch(() => {})
  if (end === 'close') {
    await sink
    await stream.close().catch(() => {})
  } else if (end === 'reset') {
    await sleep(50)
    stream.abort(new Error('reset by the test'))
    release()
  }
  return { release }
}
