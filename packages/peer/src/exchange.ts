// The model exchange on /murmur/model/1.0.0: one stream per frame, one length-prefixed frame per
// stream, straight to a graph neighbour. The receiver never buffers more than one model's worth of
// bytes per stream, and checks everything before a model reaches the inbox.

import type { PeerId, Stream, Connection } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { pipe } from 'it-pipe'
import * as lp from 'it-length-prefixed'
import { encodeFrame, maxFrameBytes, type Dtype } from './frame.ts'
import { Inbox } from './inbox.ts'
import { logger } from './log.ts'
import type { MurmurNode } from './node.ts'
import type { ModelTransport } from './types.ts'

export const MODEL_PROTOCOL = '/murmur/model/1.0.0'

export interface AddressBookEntry {
  peerId: PeerId
  multiaddrs: Multiaddr[]
}

export type AddressBook = ReadonlyMap<string, AddressBookEntry>

export interface ExchangeOptions {
  swarm: string
  /** This node's id in the topology. */
  self: string
  dimension: number
  /** Number format on the wire (default f32). */
  dtype?: Dtype
  /** Rounds past the one being collected that are buffered (default 2). */
  roundsAhead?: number
  /** A send that has not finished by then fails (default 10 s). */
  sendTimeoutMs?: number
  /** A sender that has not delivered its frame by then is cut off (default 30 s). */
  readTimeoutMs?: number
}

export interface ModelExchange extends ModelTransport {
  start: () => Promise<void>
  stop: () => Promise<void>
  /** Who is who: node id → PeerId and addresses. Frames from peers not listed are refused. */
  setAddressBook: (book: AddressBook) => Promise<void>
  /** Frame bytes written so far. */
  bytesSent: () => number
}

/** The model exchange of one node. */
export function createModelExchange (node: MurmurNode, options: ExchangeOptions): ModelExchange {
  const log = logger(`exchange:${options.self}`)
  const inbox = new Inbox({ swarm: options.swarm, dimension: options.dimension, roundsAhead: options.roundsAhead ?? 2 })
  const maxBytes = maxFrameBytes(options.dimension)
  const dtype = options.dtype ?? 'f32'
  const sendTimeoutMs = options.sendTimeoutMs ?? 10_000
  const readTimeoutMs = options.readTimeoutMs ?? 30_000
  let book: AddressBook = new Map()
  let nodeOfPeer = new Map<string, string>()
  let sent = 0

  const receive = async (stream: Stream, connection: Connection): Promise<void> => {
    const from = nodeOfPeer.get(connection.remotePeer.toString())
    const timer = setTimeout(() => { stream.abort(new Error('read timeout')) }, readTimeoutMs)
    try {
      let bytes: Uint8Array | undefined
      for await (const chunk of lp.decode(stream.source, { maxDataLength: maxBytes })) {
        bytes = chunk.subarray()
        break
      }
      if (bytes === undefined) {
        inbox.count('malformed')
        log('empty stream from %p', connection.remotePeer)
        return
      }
      if (from === undefined) {
        inbox.count('unknown-sender')
        log('frame from %p, which is not in the address book', connection.remotePeer)
        return
      }
      inbox.receive(from, bytes)
      await stream.close()
    } catch (error) {
      const name = (error as Error).name
      inbox.count(name === 'InvalidDataLengthError' ? 'oversized' : 'malformed')
      log('refused a frame from %p: %s', connection.remotePeer, (error as Error).message)
      stream.abort(error as Error)
    } finally {
      clearTimeout(timer)
    }
  }

  const write = async (to: string, bytes: Uint8Array): Promise<void> => {
    const entry = book.get(to)
    if (entry === undefined) throw new Error(`no address for neighbour ${to}`)
    const signal = AbortSignal.timeout(sendTimeoutMs)
    const stream = await node.dialProtocol(entry.peerId, MODEL_PROTOCOL, { signal })
    try {
      await pipe([bytes], (source) => lp.encode(source), stream.sink)
      await stream.close({ signal })
    } catch (error) {
      stream.abort(error as Error)
      throw error
    }
    sent += bytes.length
  }

  return {
    self: options.self,
    async start () {
      await node.handle(MODEL_PROTOCOL, ({ stream, connection }) => {
        receive(stream, connection).catch((error: Error) => { log.error('receive failed: %s', error.message) })
      }, { maxInboundStreams: 256, maxOutboundStreams: 256 })
    },
    async stop () {
      await node.unhandle(MODEL_PROTOCOL)
    },
    async setAddressBook (entries) {
      book = entries
      nodeOfPeer = new Map([...entries].map(([id, entry]) => [entry.peerId.toString(), id]))
      for (const [id, entry] of entries) {
        if (id !== options.self) await node.peerStore.merge(entry.peerId, { multiaddrs: entry.multiaddrs })
      }
    },
    send: async (to, round, params) => {
      await write(to, encodeFrame({ swarm: options.swarm, sender: options.self, round, dtype, params }))
    },
    sendRaw: async (to, bytes) => { await write(to, bytes) },
    collect: async (round, from, deadline, signal) => await inbox.collect(round, from, deadline, signal),
    rejections: () => inbox.rejections(),
    startAt: (round) => { inbox.advance(round) },
    bytesSent: () => sent
  }
}
