// Hostile streams on the model protocol: what a Byzantine neighbour can write to an honest peer,
// each kind with the refusal reason the receiver must count for it. A campaign sends them over
// the neighbour's own authenticated connection, next to its honest traffic, and compares what it
// sent with what the receivers counted.

import { encodeFrame, FRAME_HEADER_BYTES, MODEL_PROTOCOL, type FrameRejection, type MurmurNode } from '@murmur/peer'
import { createRng, type Rng } from '@murmur/robust'
import type { PeerId } from '@libp2p/interface'
import * as lp from 'it-length-prefixed'
import { crc32 } from 'node:zlib'
import { raceSignal } from 'race-signal'
import { encode as varint } from 'uint8-varint'

/** What one hostile stream carries. */
export const FUZZ_KINDS = [
  'garbage', 'short', 'bad-magic', 'version', 'dtype', 'length-mismatch', 'dimension', 'wrong-swarm',
  'checksum', 'nan', 'infinity', 'spoofed-sender', 'stale-round', 'truncated-stream', 'empty-stream',
  'prefix-1gb', 'prefix-2^62', 'bad-varint'
] as const
export type FuzzKind = typeof FUZZ_KINDS[number]

/** The reason a receiver counts for each kind. */
export const EXPECTED_REASON: Readonly<Record<FuzzKind, FrameRejection>> = {
  garbage: 'malformed',
  short: 'malformed',
  'bad-magic': 'malformed',
  version: 'version',
  dtype: 'malformed',
  'length-mismatch': 'malformed',
  dimension: 'dimension',
  'wrong-swarm': 'wrong-swarm',
  checksum: 'checksum',
  nan: 'non-finite',
  infinity: 'non-finite',
  'spoofed-sender': 'unknown-sender',
  'stale-round': 'stale-round',
  'truncated-stream': 'incomplete',
  'empty-stream': 'incomplete',
  'prefix-1gb': 'oversized',
  'prefix-2^62': 'oversized',
  'bad-varint': 'oversized'
}

/** Honest traffic refused for these reasons too (a late model is stale): counts may exceed what was injected. */
export const ALSO_HONEST: ReadonlySet<FrameRejection> = new Set(['stale-round', 'future-round', 'duplicate', 'incomplete'])

export interface FuzzContext {
  swarm: string
  /** The node id the sending peer is known by. */
  sender: string
  /** A node id of the swarm other than the sender (for spoofing). */
  other: string
  dimension: number
}

/** The bytes written on one stream of `kind` (length prefixes included), and whether to end it early. */
export function fuzzStream (kind: FuzzKind, ctx: FuzzContext, rng: Rng): Uint8Array {
  const params = new Float32Array(ctx.dimension)
  for (let j = 0; j < params.length; j++) params[j] = rng.normal() * 0.01
  const frame = (over: { swarm?: string, sender?: string, round?: number } = {}): Uint8Array =>
    encodeFrame({ swarm: over.swarm ?? ctx.swarm, sender: over.sender ?? ctx.sender, round: over.round ?? 0, dtype: 'f32', params })
  const prefixed = (bytes: Uint8Array): Uint8Array => lp.encode.single(bytes).subarray()
  const random = (length: number): Uint8Array => {
    const bytes = new Uint8Array(length)
    for (let i = 0; i < length; i++) bytes[i] = rng.int(256)
    return bytes
  }
  switch (kind) {
    case 'garbage': {
      const bytes = random(FRAME_HEADER_BYTES + rng.int(400))
      bytes[0] = 0 // never the magic
      return prefixed(bytes)
    }
    case 'short': return prefixed(random(1 + rng.int(FRAME_HEADER_BYTES - 1)))
    case 'bad-magic': { const b = frame(); b[1] ^= 0xff; return prefixed(b) }
    case 'version': { const b = frame(); b[4] = 2 + rng.int(250); return prefixed(b) }
    case 'dtype': { const b = frame(); b[5] = 2 + rng.int(250); return prefixed(b) }
    case 'length-mismatch': return prefixed(frame().subarray(0, FRAME_HEADER_BYTES + 1 + rng.int(ctx.dimension)))
    case 'dimension': return prefixed(encodeFrame({ swarm: ctx.swarm, sender: ctx.sender, round: 0, dtype: 'f32', params: new Float32Array(ctx.dimension + 1 + rng.int(8)) }))
    case 'wrong-swarm': return prefixed(frame({ swarm: `not-${ctx.swarm}` }))
    case 'checksum': { const b = frame(); b[b.length - 1 - rng.int(ctx.dimension)] ^= 1 + rng.int(255); return prefixed(b) }
    case 'nan': case 'infinity': {
      const b = frame()
      const view = new DataView(b.buffer, b.byteOffset + b.length - 4 * ctx.dimension)
      view.setFloat32(4 * rng.int(ctx.dimension), kind === 'nan' ? Number.NaN : Number.NEGATIVE_INFINITY, true)
      // The checksum is right, so only the finiteness check can catch it.
      const header = new DataView(b.buffer, b.byteOffset)
      header.setUint32(16, crc32(b.subarray(b.length - 4 * ctx.dimension)), true)
      return prefixed(b)
    }
    case 'spoofed-sender': return prefixed(frame({ sender: ctx.other }))
    case 'stale-round': return prefixed(frame({ round: 0 }))
    // The prefix promises a whole frame; the stream ends half-way.
    case 'truncated-stream': { const whole = prefixed(frame()); return whole.subarray(0, Math.floor(whole.length / 2)) }
    case 'empty-stream': return new Uint8Array(0)
    case 'prefix-1gb': return varint(2 ** 30)
    // 2^62 as a varint: eight continuation bytes, then 0x40.
    case 'prefix-2^62': return Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40)
    case 'bad-varint': return new Uint8Array(12).fill(0xff)
  }
}

export interface Target { id: string, peerId: PeerId }

/** A hostile stream that has not been opened and written by then is given up. */
const STREAM_TIMEOUT_MS = 10_000

export interface InjectionReport {
  /** Streams opened per kind. */
  sent: Partial<Record<FuzzKind | 'slow-loris', number>>
  /** Expected refusals at the receivers, by reason. */
  expected: Partial<Record<FrameRejection, number>>
  /** Streams the receiver would not open (its per-connection stream limit) or that failed to send. */
  refusedAtOpen: number
  /**
   * The flood at the end: `streams` opened at once, of which `refusedAtOpen` failed on this side.
   * The receiver reads the ones its stream limit lets through ('malformed') and resets the others,
   * some only after their bytes went out: what it read is known only from its own count.
   */
  flood: { streams: number, refusedAtOpen: number }
}

export interface InjectOptions {
  node: MurmurNode
  targets: readonly Target[]
  /** Hostile streams to write, spread over the kinds and targets. */
  count: number
  context: FuzzContext
  seed: number
  /** Streams in flight at once (default 32). */
  concurrency?: number
  /** Extra streams opened at once to one target at the end, each with a garbage frame (default 0). */
  floodStreams?: number
  /**
   * Slow-loris streams (default 0): each sends a length prefix and a few bytes of a frame, then
   * nothing, and is held open until the receiver cuts it off at its read timeout ('incomplete').
   */
  slowLoris?: number
  /** How long a slow-loris stream is held at most, ms (default 150 s: the receiver's read timeout is up to three rounds). */
  slowLorisHoldMs?: number
  signal?: AbortSignal
  onProgress?: (done: number) => void
}

/** Writes `count` hostile streams to the targets over the node's connections. */
export async function injectFrames (options: InjectOptions): Promise<InjectionReport> {
  const { node, targets, count, context, signal } = options
  const rng = createRng(options.seed)
  const report: InjectionReport = { sent: {}, expected: {}, refusedAtOpen: 0, flood: { streams: 0, refusedAtOpen: 0 } }
  // A stream the receiver resets before the bytes are out (its stream limit) was refused at
  // opening; one whose bytes went out is the receiver's to count.
  const one = async (kind: FuzzKind, target: Target, bytes: Uint8Array, flood = false): Promise<void> => {
    const timeout = AbortSignal.timeout(STREAM_TIMEOUT_MS)
    try {
      const stream = await node.dialProtocol(target.peerId, MODEL_PROTOCOL, { signal: timeout })
      try {
        // A receiver past its stream limit may leave the sink pending: give up when the time is up.
        await raceSignal(stream.sink((async function * () { if (bytes.length > 0) yield bytes })()), timeout)
      } catch (error) {
        stream.abort(error as Error)
        throw error
      }
      // The receiver closes or resets it once it has judged the bytes; either is fine here.
      await stream.close({ signal: AbortSignal.timeout(STREAM_TIMEOUT_MS) }).catch(() => { stream.abort(new Error('closed')) })
      if (flood) return
      report.sent[kind] = (report.sent[kind] ?? 0) + 1
      const reason = EXPECTED_REASON[kind]
      report.expected[reason] = (report.expected[reason] ?? 0) + 1
    } catch {
      if (flood) report.flood.refusedAtOpen++
      else report.refusedAtOpen++
    }
  }
  let next = 0
  let done = 0
  const worker = async (): Promise<void> => {
    while (next < count && signal?.aborted !== true) {
      const k = next++
      const kind = FUZZ_KINDS[k % FUZZ_KINDS.length]
      const target = targets[Math.floor(k / FUZZ_KINDS.length) % targets.length]
      await one(kind, target, fuzzStream(kind, context, rng))
      options.onProgress?.(++done)
    }
  }
  const loris = Array.from({ length: options.slowLoris ?? 0 }, async (_, k) => {
    await holdSlowLoris(node, targets[k % targets.length], fuzzStream('truncated-stream', context, rng).subarray(0, 16), options.slowLorisHoldMs ?? 150_000, report)
  })
  await Promise.all([...Array.from({ length: options.concurrency ?? 32 }, worker), ...loris])
  const flood = options.floodStreams ?? 0
  if (flood > 0 && signal?.aborted !== true) {
    report.flood.streams = flood
    await Promise.all(Array.from({ length: flood }, async () => { await one('garbage', targets[0], fuzzStream('garbage', context, rng), true) }))
  }
  return report
}

/** Writes the first bytes of a frame and holds the stream until the receiver ends it (or `holdMs`). */
async function holdSlowLoris (node: MurmurNode, target: Target, bytes: Uint8Array, holdMs: number, report: InjectionReport): Promise<void> {
  let stream
  try {
    stream = await node.dialProtocol(target.peerId, MODEL_PROTOCOL, { signal: AbortSignal.timeout(STREAM_TIMEOUT_MS) })
  } catch {
    report.refusedAtOpen++
    return
  }
  let hold: () => void = () => {}
  const cut = new Promise<void>((resolve) => { hold = resolve })
  // The sink stays open (it waits on `cut`) until the receiver resets the stream or time is up.
  // (A sink on a stream the receiver reset may never settle: it is not waited for.)
  stream.sink((async function * () { yield bytes; await cut })()).catch(() => {})
  const timer = setTimeout(() => { stream.abort(new Error('held long enough')) }, holdMs)
  try {
    for await (const _ of stream.source) {}
  } catch {}
  clearTimeout(timer)
  hold()
  stream.abort(new Error('slow-loris stream over'))
  report.sent['slow-loris'] = (report.sent['slow-loris'] ?? 0) + 1
  report.expected.incomplete = (report.expected.incomplete ?? 0) + 1
}
