// The model exchange on /murmur/model/1.0.0: one stream per frame, one length-prefixed frame per
// stream, straight to a graph neighbour. The receiver never buffers more than one model's worth of
// bytes per stream, and checks everything before a model reaches the inbox.

import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import * as lp from 'it-length-prefixed'
import { pipe } from 'it-pipe'
import { raceSignal } from 'race-signal'
import { encodeFrame, maxFrameBytes, type Dtype, type FrameRejection } from '../wire/frame.ts'
import { Inbox } from '../round/inbox.ts'
import { lengthPrefixed, readFailure } from '../wire/length-prefix.ts'
import { logger, type Logger } from '../log.ts'
import type { MurmurNode } from './node.ts'
import type { RefusalCounts } from './refusals.ts'
import type { ModelTransport } from '../round/types.ts'

export const MODEL_PROTOCOL = '/murmur/model/1.0.0'

/**
 * Streams of the model protocol one connection may hold at once, each way. One frame per stream
 * and a few rounds in flight need far fewer; libp2p's default (32) could still be reached by an
 * equivocating peer re-sending, and a refused stream would be a lost model.
 */
export const MODEL_STREAM_LIMIT = 256

export interface AddressBookEntry {
  peerId: PeerId
  multiaddrs: Multiaddr[]
}

/** node id → who that node is on the network and where it listens. */
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
  /** A sender that has not delivered its whole frame by then is cut off (default 30 s). */
  readTimeoutMs?: number
  /** The address book, if known at creation (see setAddressBook). */
  addressBook?: AddressBook
  /**
   * Whether node `id` is a neighbour now (an edge about to start included). Frames of any other
   * node of the book are refused unread, like a stranger's, so they never count under its name
   * (default: every node of the address book is a neighbour).
   */
  isNeighbour?: (id: string) => boolean
  /** Defaults to `murmur:exchange:<self>`. */
  log?: Logger
}

export interface ModelExchange extends ModelTransport {
  /** Registers the protocol handler: frames are received from now on. */
  start: () => Promise<void>
  /** Unregisters the handler. */
  stop: () => Promise<void>
  /**
   * Who is who: node id → PeerId and addresses (added to the peer store). Frames arriving over
   * a connection whose PeerId is not listed, or naming another node than the one listed for it,
   * are refused as 'unknown-sender'.
   */
  setAddressBook: (book: AddressBook) => Promise<void>
  /** Adds one node to the address book (a newcomer accepted as a neighbour). */
  addPeer: (id: string, entry: AddressBookEntry) => Promise<void>
  /** Frame bytes written so far (successful sends only). */
  bytesSent: () => number
  /**
   * Refused frames: by reason (all of them) and by neighbour, and how many came from strangers
   * (peers not in the address book, or not neighbours), which no neighbour's count includes.
   */
  refusals: () => { frames: RefusalCounts, strangers: number }
  /** Opens the receive window at `round` (see ModelTransport.startAt). */
  startAt: (round: number) => void
}

function checkPositiveInteger (name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`model exchange: ${name} must be an integer ≥ ${min}, got ${value}`)
}


/**
 * Send and read timeouts for a round of `roundTimeoutMs`: a longer round (a large model, a slow
 * link) gives its sends the whole round and its senders three rounds to deliver; never less than
 * the defaults, since a round's first send may also have to dial.
 */
export function exchangeTimeouts (roundTimeoutMs: number): { sendTimeoutMs: number, readTimeoutMs: number } {
  return { sendTimeoutMs: Math.max(10_000, roundTimeoutMs), readTimeoutMs: Math.max(30_000, 3 * roundTimeoutMs) }
}

/**
 * The model exchange of one node: a ModelTransport over libp2p streams. Everything a remote
 * peer can send is caught and counted under a FrameRejection reason; nothing it does throws out
 * of the protocol handler.
 */
export function createModelExchange (node: MurmurNode, options: ExchangeOptions): ModelExchange {
  checkPositiveInteger('dimension', options.dimension, 1)
  const roundsAhead = options.roundsAhead ?? 2
  checkPositiveInteger('roundsAhead', roundsAhead, 0)
  const sendTimeoutMs = options.sendTimeoutMs ?? 10_000
  const readTimeoutMs = options.readTimeoutMs ?? 30_000
  checkPositiveInteger('sendTimeoutMs', sendTimeoutMs, 1)
  checkPositiveInteger('readTimeoutMs', readTimeoutMs, 1)
  const log = options.log ?? logger(`exchange:${options.self}`)
  const dtype = options.dtype ?? 'f32'
  const maxBytes = maxFrameBytes(options.dimension)
  const inbox = new Inbox({
    swarm: options.swarm,
    dimension: options.dimension,
    roundsAhead,
    onReject: (reason, detail, from) => { log('refused a frame from %s (%s): %s', from ?? 'an unknown peer', reason, detail) }
  })
  let book: AddressBook = new Map()
  let nodeOfPeer = new Map<string, string>()
  let sent = 0

  const receive = async (stream: Stream, connection: Connection): Promise<void> => {
    // The sender is who the noise handshake authenticated; a frame's own sender field never decides.
    const from = nodeOfPeer.get(connection.remotePeer.toString())
    if (from === undefined || options.isNeighbour?.(from) === false) {
      // Refused before reading: a stranger gets no buffer at all.
      inbox.countStranger('unknown-sender', from === undefined ? `peer ${connection.remotePeer.toString()} is not in the address book` : `${from} is not a neighbour`)
      stream.abort(new Error(from === undefined ? 'unknown peer' : 'not a neighbour'))
      return
    }
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      stream.abort(new Error(`no whole frame within ${readTimeoutMs} ms`))
    }, readTimeoutMs)
    let bytes: Uint8Array | undefined
    try {
      for await (const chunk of lp.decode(stream.source, { maxDataLength: maxBytes })) {
        bytes = chunk.subarray()
        break
      }
    } catch (error) {
      inbox.count(timedOut ? 'incomplete' : readFailure(error as Error), (error as Error).message, from)
      stream.abort(error as Error)
      return
    } finally {
      clearTimeout(timer)
    }
    if (bytes === undefined) {
      inbox.count('incomplete', 'stream closed without a frame', from)
      stream.abort(new Error('no frame'))
      return
    }
    inbox.receive(from, bytes)
    // One frame per stream: anything after it is not read.
    stream.close().catch((error: Error) => { stream.abort(error) })
  }

  const write = async (to: string, bytes: Uint8Array, cancel?: AbortSignal): Promise<void> => {
    const entry = book.get(to)
    if (entry === undefined) throw new Error(`model exchange: no address for neighbour ${to}`)
    const timeout = AbortSignal.timeout(sendTimeoutMs)
    const signal = cancel === undefined ? timeout : AbortSignal.any([timeout, cancel])
    const stream = await node.dialProtocol(entry.peerId, MODEL_PROTOCOL, { signal })
    // The signal bounds the whole send: a receiver that stops reading cannot hold it forever.
    const onTimeout = (): void => {
      stream.abort(new Error(timeout.aborted ? `send to ${to} timed out after ${sendTimeoutMs} ms` : `send to ${to} cancelled: a newer model replaced it`))
    }
    signal.addEventListener('abort', onTimeout, { once: true })
    try {
      // A receiver past its stream limit may leave the sink pending even after the stream was
      // aborted: the send gives up when the signal says, whatever the sink does.
      await raceSignal(pipe([bytes], lengthPrefixed, stream.sink), signal)
      await stream.close({ signal })
    } catch (error) {
      stream.abort(error as Error)
      throw error
    } finally {
      signal.removeEventListener('abort', onTimeout)
    }
    sent += bytes.length
  }

  /** Checks and installs a book; throws before changing anything when it is ambiguous. */
  const install = (entries: AddressBook): void => {
    const byPeer = new Map<string, string>()
    for (const [id, entry] of entries) {
      const peer = entry.peerId.toString()
      const other = byPeer.get(peer)
      if (other !== undefined) throw new Error(`address book: nodes ${other} and ${id} share PeerId ${peer}`)
      byPeer.set(peer, id)
    }
    book = entries
    nodeOfPeer = byPeer
  }

  /** Lets libp2p dial the book's peers by PeerId. */
  const remember = async (entries: AddressBook): Promise<void> => {
    for (const [id, entry] of entries) {
      if (id !== options.self && entry.multiaddrs.length > 0) await node.peerStore.merge(entry.peerId, { multiaddrs: entry.multiaddrs })
    }
  }

  if (options.addressBook !== undefined) install(options.addressBook)

  return {
    self: options.self,
    async start () {
      await remember(book)
      await node.handle(MODEL_PROTOCOL, ({ stream, connection }) => {
        receive(stream, connection).catch((error: Error) => {
          // Only a bug gets here; the remote's stream is dropped and the node goes on.
          log.error('model stream from %p failed: %s', connection.remotePeer, error.message)
          stream.abort(error)
        })
      }, { maxInboundStreams: MODEL_STREAM_LIMIT, maxOutboundStreams: MODEL_STREAM_LIMIT })
    },
    async stop () {
      await node.unhandle(MODEL_PROTOCOL)
    },
    async setAddressBook (entries) {
      install(entries)
      await remember(entries)
    },
    async addPeer (id, entry) {
      const current = book.get(id)
      if (current !== undefined && current.peerId.equals(entry.peerId)) return
      const next = new Map(book)
      next.set(id, entry)
      install(next)
      await remember(new Map([[id, entry]]))
    },
    send: async (to, round, params, signal) => {
      await write(to, encodeFrame({ swarm: options.swarm, sender: options.self, round, dtype, params }), signal)
    },
    sendRaw: async (to, bytes, signal) => { await write(to, bytes, signal) },
    collect: async (round, from, deadline, signal, also, alsoUntil) => await inbox.collect(round, from, deadline, signal, also, alsoUntil),
    rejections: () => inbox.rejections(),
    rejectionsBySender: () => inbox.rejectionsBySender(),
    timings: () => inbox.timings(),
    frontier: (from, quorum) => inbox.frontier(from, quorum),
    lastHeard: (id) => inbox.lastHeard(id),
    startAt: (round) => { inbox.advance(round) },
    bytesSent: () => sent,
    refusals: () => ({ frames: { byReason: { ...inbox.rejections() }, bySender: inbox.rejectionsBySender() }, strangers: inbox.strangers })
  }
}
