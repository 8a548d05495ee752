// Small request/response protocols over libp2p streams: one stream per call, the request and the
// response each one length-prefixed message. The swarm services (manifest, members, neighbour
// requests, state sync) all use it, so each one is only its handler and its message checks.

import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import * as lp from 'it-length-prefixed'
import { pipe } from 'it-pipe'
import { fromString, toString } from 'uint8arrays'
import { lengthPrefixed } from './length-prefix.ts'
import type { Logger } from './log.ts'
import type { MurmurNode } from './node.ts'

/** JSON messages larger than this are refused (a model travels as a frame, not as JSON). */
export const MAX_JSON_BYTES = 256 * 1024

export interface RpcOptions {
  /** Largest request and response, bytes (default MAX_JSON_BYTES). */
  maxBytes?: number
  /** The whole call (dial, request, response) must finish by then (default 10 s). */
  timeoutMs?: number
  signal?: AbortSignal
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

/** A JSON call: the request is serialised, the response parsed with `parse` (which checks it). */
export async function callJson<T> (node: MurmurNode, peer: PeerId | Multiaddr, protocol: string, request: unknown, parse: (value: unknown) => T, options: RpcOptions = {}): Promise<T> {
  const bytes = await call(node, peer, protocol, fromString(JSON.stringify(request)), options)
  return parse(parseJson(bytes, protocol))
}

export function parseJson (bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(toString(bytes))
  } catch {
    throw new Error(`${what}: the message is not JSON`)
  }
}

export type RpcHandler = (request: Uint8Array, connection: Connection) => Promise<Uint8Array>

/**
 * Serves `protocol`: each request is read (bounded), answered by `handler`, and the stream
 * closed. Whatever a remote sends, the handler's errors end that stream only; they are counted
 * through `onError` and logged, never thrown.
 */
export async function serve (node: MurmurNode, protocol: string, handler: RpcHandler, options: { maxBytes?: number, timeoutMs?: number, log: Logger, onError?: (error: Error) => void }): Promise<void> {
  await node.handle(protocol, ({ stream, connection }) => {
    const timer = setTimeout(() => { stream.abort(new Error(`${protocol}: request not answered in time`)) }, options.timeoutMs ?? 10_000)
    ;(async () => {
      const request = await readOne(stream, options.maxBytes ?? MAX_JSON_BYTES)
      const response = await handler(request, connection)
      await pipe([response], lengthPrefixed, stream.sink)
    })().catch((error: Error) => {
      options.log('%s request from %p refused: %s', protocol, connection.remotePeer, error.message)
      options.onError?.(error)
      stream.abort(error)
    }).finally(() => { clearTimeout(timer) })
  }, { maxInboundStreams: 64, maxOutboundStreams: 64 })
}

/** A JSON service: parse the request, answer with a JSON value. */
export async function serveJson (node: MurmurNode, protocol: string, handler: (request: unknown, connection: Connection) => Promise<unknown>, options: { log: Logger, onError?: (error: Error) => void }): Promise<void> {
  await serve(node, protocol, async (bytes, connection) => {
    const response = await handler(parseJson(bytes, protocol), connection)
    return fromString(JSON.stringify(response))
  }, options)
}
