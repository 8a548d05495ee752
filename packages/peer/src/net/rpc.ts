// Small request/response protocols over libp2p streams: one stream per call, the request and the
// response each one length-prefixed message. The swarm services (manifest, members, neighbour
// requests, state sync) all use it, so each one is only its handler and its message checks.
// Every refused request is counted by reason and by requester (the PeerId the noise handshake
// authenticated); a JSON service tells the caller why, so a caller can report the real cause.

import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import * as lp from 'it-length-prefixed'
import { pipe } from 'it-pipe'
import { fromString, toString } from 'uint8arrays'
import { lengthPrefixed, readFailure } from '../wire/length-prefix.ts'
import type { Logger } from '../log.ts'
import type { MurmurNode } from './node.ts'
import { MAX_TRACKED_SENDERS, type RefusalCounter } from './refusals.ts'

/** JSON messages larger than this are refused (a model travels as a frame, not as JSON). */
export const MAX_JSON_BYTES = 256 * 1024

export interface RpcOptions {
  /** Largest request and response, bytes (default MAX_JSON_BYTES). */
  maxBytes?: number
  /** The whole call (dial, request, response) must finish by then (default 10 s). */
  timeoutMs?: number
  signal?: AbortSignal
}

/** Longest refusal detail sent back to a caller, in characters. */
const MAX_DETAIL = 200

/**
 * Why a request was refused: unreadable ('malformed', 'oversized', 'incomplete': cut short or
 * not sent in time), too many from one requester ('rate-limited'), another protocol version
 * ('version'), the handler failing ('failed'), or a service's own reason (a neighbour request's).
 */
export type RpcRefusal = 'malformed' | 'oversized' | 'incomplete' | 'rate-limited' | 'version' | 'failed' | (string & {})

/**
 * A request refused with a reason. Thrown by a handler, it is counted and, on a JSON service,
 * answered as `{refused, detail}`; `callJson` throws it again on the caller's side.
 */
export class RequestRefused extends Error {
  readonly reason: RpcRefusal
  constructor (reason: RpcRefusal, message: string) {
    super(message)
    this.name = 'RequestRefused'
    this.reason = reason
  }
}

/** At most `burst` requests at once, then one per `intervalMs`: a token bucket. */
export interface RateLimit {
  burst: number
  intervalMs: number
}

/**
 * Token buckets by key (a requesting PeerId). A full bucket is the same as none, so full ones are
 * forgotten first when more than `maxKeys` are held; past that the least recently used goes.
 */
export class RateLimiter {
  readonly limit: RateLimit
  private readonly buckets = new Map<string, { tokens: number, at: number }>()
  private readonly now: () => number
  private readonly maxKeys: number

  constructor (limit: RateLimit, now: () => number = () => Date.now(), maxKeys = MAX_TRACKED_SENDERS) {
    if (!Number.isInteger(limit.burst) || limit.burst < 1) throw new RangeError(`rate limit: burst must be an integer ≥ 1, got ${limit.burst}`)
    if (!(limit.intervalMs > 0 && Number.isFinite(limit.intervalMs))) throw new RangeError(`rate limit: intervalMs must be a positive number, got ${limit.intervalMs}`)
    this.limit = limit
    this.now = now
    this.maxKeys = maxKeys
  }

  /** Takes a token of `key`'s bucket; false when it is empty (the request is refused). */
  take (key: string): boolean {
    const now = this.now()
    const bucket = this.refilled(key, now)
    const allowed = bucket.tokens >= 1
    if (allowed) bucket.tokens -= 1
    // Most recently used last; this bucket is not full now, so pruning keeps it.
    this.buckets.delete(key)
    this.buckets.set(key, bucket)
    if (this.buckets.size > this.maxKeys) this.prune(now)
    return allowed
  }

  /** Requests `key` may make right now. */
  available (key: string): number {
    return Math.floor(this.refilled(key, this.now()).tokens)
  }

  private refilled (key: string, now: number): { tokens: number, at: number } {
    const bucket = this.buckets.get(key)
    if (bucket === undefined) return { tokens: this.limit.burst, at: now }
    // A clock that steps back never takes tokens away.
    const tokens = Math.min(this.limit.burst, bucket.tokens + Math.max(0, now - bucket.at) / this.limit.intervalMs)
    return { tokens, at: Math.max(bucket.at, now) }
  }

  private prune (now: number): void {
    for (const key of [...this.buckets.keys()]) {
      if (this.refilled(key, now).tokens >= this.limit.burst) this.buckets.delete(key)
    }
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= this.maxKeys) break
      this.buckets.delete(key)
    }
  }
}

/** Reads the one message of a stream, at most `maxBytes`. */
async function readOne (stream: Stream, maxBytes: number): Promise<Uint8Array> {
  for await (const chunk of lp.decode(stream.source, { maxDataLength: maxBytes })) return chunk.subarray()
  throw new Error('the stream closed without a message')
}

/** Calls `protocol` on `peer` with `request`; resolves with the response bytes. */
export async function call (node: MurmurNode, peer: PeerId | Multiaddr, protocol: string, request: Uint8Array, options: RpcOptions = {}): Promise<Uint8Array> {
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 10_000)
  const signal = options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal])
  const stream = await node.dialProtocol(peer, protocol, { signal })
  const onAbort = (): void => { stream.abort(new Error(`${protocol} call timed out`)) }
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    // Write the request and half-close, then read the response on the same stream.
    await pipe([request], lengthPrefixed, stream.sink)
    return await readOne(stream, options.maxBytes ?? MAX_JSON_BYTES)
  } catch (error) {
    stream.abort(error as Error)
    if (signal.aborted) throw new Error(`${protocol}: no answer within ${options.timeoutMs ?? 10_000} ms`)
    throw error
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

/**
 * A JSON call: the request is serialised, the response parsed with `parse` (which checks it).
 * A refusal is thrown as a RequestRefused naming the protocol and the reason.
 */
export async function callJson<T> (node: MurmurNode, peer: PeerId | Multiaddr, protocol: string, request: unknown, parse: (value: unknown) => T, options: RpcOptions = {}): Promise<T> {
  const bytes = await call(node, peer, protocol, fromString(JSON.stringify(request)), options)
  const value = parseJson(bytes, protocol)
  const refusal = asRefusal(value)
  if (refusal !== undefined) throw new RequestRefused(refusal.refused, `${protocol}: request refused (${refusal.refused}): ${refusal.detail}`)
  return parse(value)
}

/** `{refused, detail}`, the answer of a JSON service to a refused request. */
function asRefusal (value: unknown): { refused: string, detail: string } | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  const { refused, detail } = value as Record<string, unknown>
  if (typeof refused !== 'string') return undefined
  return { refused: refused.slice(0, MAX_DETAIL), detail: typeof detail === 'string' ? detail.slice(0, MAX_DETAIL) : '' }
}

export function parseJson (bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(toString(bytes))
  } catch {
    throw new Error(`${what}: the message is not JSON`)
  }
}

export type RpcHandler = (request: Uint8Array, connection: Connection) => Promise<Uint8Array>

export interface ServeOptions {
  /** Largest request, bytes (default MAX_JSON_BYTES). */
  maxBytes?: number
  /** A request not read and answered by then is cut off (default 10 s). */
  timeoutMs?: number
  log: Logger
  /** Where refused requests are counted, by reason and by the requester's PeerId. */
  refusals?: RefusalCounter
  /** Requests of one PeerId past its limit are refused unread, as 'rate-limited'. */
  limit?: RateLimiter
  /** The answer to a refused request, for protocols that have one (see serveJson). */
  refusal?: (reason: RpcRefusal, detail: string) => Uint8Array
}

/**
 * Serves `protocol`: each request is read (bounded), answered by `handler`, and the stream
 * closed. Whatever a remote sends, it ends that stream only: every refusal is counted under its
 * reason and logged, never thrown. A RequestRefused from the handler is answered when the
 * protocol has a refusal answer; anything else that fails aborts the stream.
 */
export async function serve (node: MurmurNode, protocol: string, handler: RpcHandler, options: ServeOptions): Promise<void> {
  await node.handle(protocol, ({ stream, connection }) => {
    const peer = connection.remotePeer
    const refused = (reason: RpcRefusal, detail: string): void => {
      options.refusals?.add(reason, peer.toString())
      options.log('%s request from %p refused (%s): %s', protocol, peer, reason, detail)
    }
    const answer = async (reason: RpcRefusal, detail: string): Promise<void> => {
      if (options.refusal === undefined) throw new Error(detail)
      await pipe([options.refusal(reason, detail.slice(0, MAX_DETAIL))], lengthPrefixed, stream.sink)
    }
    const fail = (error: Error): void => { stream.abort(error) }
    if (options.limit !== undefined && !options.limit.take(peer.toString())) {
      // Refused before reading: a requester over its limit costs no buffer.
      refused('rate-limited', `over its limit (${options.limit.limit.burst} at once, then one per ${options.limit.limit.intervalMs} ms)`)
      answer('rate-limited', 'too many requests; try again later').catch(fail)
      return
    }
    const timer = setTimeout(() => { stream.abort(new Error(`${protocol}: request not answered in time`)) }, options.timeoutMs ?? 10_000)
    ;(async () => {
      let request: Uint8Array
      try {
        request = await readOne(stream, options.maxBytes ?? MAX_JSON_BYTES)
      } catch (error) {
        refused(readFailure(error as Error), (error as Error).message)
        throw error
      }
      let response: Uint8Array
      try {
        response = await handler(request, connection)
      } catch (error) {
        const reason = error instanceof RequestRefused ? error.reason : 'failed'
        refused(reason, (error as Error).message)
        if (reason === 'failed') throw error
        await answer(reason, (error as Error).message)
        return
      }
      await pipe([response], lengthPrefixed, stream.sink)
    })().catch(fail).finally(() => { clearTimeout(timer) })
  }, { maxInboundStreams: 64, maxOutboundStreams: 64 })
}

/** The answer of a JSON service to a refused request. */
export function refusalAnswer (reason: RpcRefusal, detail: string): Uint8Array {
  return fromString(JSON.stringify({ refused: reason, detail }))
}

/** A JSON service: parse the request (refused as 'malformed' if it is not JSON), answer with a JSON value. */
export async function serveJson (node: MurmurNode, protocol: string, handler: (request: unknown, connection: Connection) => Promise<unknown>, options: ServeOptions): Promise<void> {
  await serve(node, protocol, async (bytes, connection) => {
    let request: unknown
    try {
      request = parseJson(bytes, protocol)
    } catch (error) {
      throw new RequestRefused('malformed', (error as Error).message)
    }
    const response = await handler(request, connection)
    return fromString(JSON.stringify(response))
  }, { refusal: refusalAnswer, ...options })
}
