// The model frame carried on /murmur/model/1.0.0: a fixed binary header, then the parameters.
// Streams length-prefix each frame (it-length-prefixed); this module only knows one frame's bytes.
//
//   offset size field
//   0      4    magic "MRMR"
//   4      1    version (FRAME_VERSION)
//   5      1    dtype: 0 = f32, 1 = f16
//   6      1    swarm id length S (bytes, UTF-8, ≤ 255)
//   7      1    sender id length P (bytes, UTF-8, ≤ 255)
//   8      4    round (u32, little-endian, as every integer here)
//   12     4    dimension d
//   16     4    CRC-32 of the payload
//   20     S    swarm id
//   20+S   P    sender id
//   20+S+P d·4 or d·2 payload, little-endian

import { crc32 as zlibCrc32 } from 'node:zlib'

export const FRAME_VERSION = 1
const MAGIC = 0x524d524d // "MRMR" read as a little-endian u32
/** Bytes of the header before the ids. */
export const FRAME_HEADER_BYTES = 20
const MAX_ID_BYTES = 255

export type Dtype = 'f32' | 'f16'

export interface ModelFrame {
  swarm: string
  sender: string
  round: number
  dtype: Dtype
  params: Float32Array
}

/** Why a frame was refused; receivers count rejections by these reasons. */
export type FrameRejection =
  | 'oversized'
  | 'malformed'
  | 'version'
  | 'wrong-swarm'
  | 'stale-round'
  | 'future-round'
  | 'dimension'
  | 'checksum'
  | 'non-finite'
  /** The frame names a sender other than the peer that sent it, or that peer is unknown. */
  | 'unknown-sender'
  /** A second frame from one sender for one round. */
  | 'duplicate'
  /** The stream ended, was reset or stalled past the read timeout before a whole frame arrived. */
  | 'incomplete'

export class FrameError extends Error {
  readonly reason: FrameRejection
  constructor (reason: FrameRejection, message: string) {
    super(message)
    this.name = 'FrameError'
    this.reason = reason
  }
}

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/** Bytes of a frame of `dimension` parameters as `dtype` whose swarm and sender ids take `idBytes` UTF-8 bytes together. */
export function frameBytes (dimension: number, dtype: Dtype, idBytes = 0): number {
  return FRAME_HEADER_BYTES + idBytes + (dtype === 'f16' ? 2 : 4) * dimension
}

/** The largest frame a receiver must accept for a model of dimension d (f32, longest ids). */
export function maxFrameBytes (dimension: number): number {
  return frameBytes(dimension, 'f32', 2 * MAX_ID_BYTES)
}

/** Encodes one frame. f16 halves the bytes at ~3 significant digits. */
export function encodeFrame (frame: ModelFrame): Uint8Array {
  const swarm = encoder.encode(frame.swarm)
  const sender = encoder.encode(frame.sender)
  if (swarm.length > MAX_ID_BYTES || sender.length > MAX_ID_BYTES) {
    throw new RangeError(`frame ids are limited to ${MAX_ID_BYTES} bytes`)
  }
  const d = frame.params.length
  const start = FRAME_HEADER_BYTES + swarm.length + sender.length
  const bytes = new Uint8Array(frameBytes(d, frame.dtype, swarm.length + sender.length))
  const view = new DataView(bytes.buffer)
  view.setUint32(0, MAGIC, true)
  view.setUint8(4, FRAME_VERSION)
  view.setUint8(5, frame.dtype === 'f16' ? 1 : 0)
  view.setUint8(6, swarm.length)
  view.setUint8(7, sender.length)
  view.setUint32(8, frame.round, true)
  view.setUint32(12, d, true)
  bytes.set(swarm, FRAME_HEADER_BYTES)
  bytes.set(sender, FRAME_HEADER_BYTES + swarm.length)
  const payload = bytes.subarray(start)
  writeParams(frame.params, frame.dtype, payload)
  view.setUint32(16, crc32(payload), true)
  return bytes
}

export interface FrameExpectations {
  swarm: string
  dimension: number
  /** Accept rounds in [minRound, maxRound]. */
  minRound: number
  maxRound: number
}

/**
 * Decodes and validates one frame. Every way a frame can be wrong throws a FrameError whose reason
 * the caller counts; a frame that returns is safe to hand to a mixing rule (finite, right size).
 */
export function decodeFrame (bytes: Uint8Array, expect: FrameExpectations): ModelFrame {
  if (bytes.length > maxFrameBytes(expect.dimension)) {
    throw new FrameError('oversized', `frame of ${bytes.length} bytes exceeds the ${maxFrameBytes(expect.dimension)}-byte limit`)
  }
  if (bytes.length < FRAME_HEADER_BYTES) throw new FrameError('malformed', `frame of ${bytes.length} bytes is shorter than its header`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (view.getUint32(0, true) !== MAGIC) throw new FrameError('malformed', 'frame does not start with the murmur magic')
  const version = view.getUint8(4)
  if (version !== FRAME_VERSION) throw new FrameError('version', `frame version ${version}, expected ${FRAME_VERSION}`)
  const dtypeCode = view.getUint8(5)
  if (dtypeCode > 1) throw new FrameError('malformed', `unknown dtype code ${dtypeCode}`)
  const dtype: Dtype = dtypeCode === 1 ? 'f16' : 'f32'
  const swarmLength = view.getUint8(6)
  const senderLength = view.getUint8(7)
  const round = view.getUint32(8, true)
  const d = view.getUint32(12, true)
  const start = FRAME_HEADER_BYTES + swarmLength + senderLength
  if (bytes.length !== frameBytes(d, dtype, swarmLength + senderLength)) {
    throw new FrameError('malformed', `frame length ${bytes.length} does not match its header (${start} + ${d}×${dtype === 'f16' ? 2 : 4})`)
  }
  let swarm: string, sender: string
  try {
    swarm = decoder.decode(bytes.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + swarmLength))
    sender = decoder.decode(bytes.subarray(FRAME_HEADER_BYTES + swarmLength, start))
  } catch {
    throw new FrameError('malformed', 'frame ids are not valid UTF-8')
  }
  if (swarm !== expect.swarm) throw new FrameError('wrong-swarm', `frame for swarm "${swarm}", this is "${expect.swarm}"`)
  if (round < expect.minRound) throw new FrameError('stale-round', `frame for round ${round}, expected ≥ ${expect.minRound}`)
  if (round > expect.maxRound) throw new FrameError('future-round', `frame for round ${round}, expected ≤ ${expect.maxRound}`)
  if (d !== expect.dimension) throw new FrameError('dimension', `frame has dimension ${d}, the model has ${expect.dimension}`)
  const payload = bytes.subarray(start)
  if (crc32(payload) !== view.getUint32(16, true)) throw new FrameError('checksum', 'payload checksum mismatch')
  const params = readParams(payload, dtype, d)
  for (let j = 0; j < d; j++) {
    if (!Number.isFinite(params[j])) throw new FrameError('non-finite', `non-finite value at coordinate ${j}`)
  }
  return { swarm, sender, round, dtype, params }
}

const littleEndian = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1

function writeParams (params: Float32Array, dtype: Dtype, payload: Uint8Array): void {
  const d = params.length
  if (dtype === 'f32' && littleEndian) {
    payload.set(new Uint8Array(params.buffer, params.byteOffset, d * 4))
    return
  }
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength)
  if (dtype === 'f32') {
    for (let j = 0; j < d; j++) view.setFloat32(4 * j, params[j], true)
  } else {
    for (let j = 0; j < d; j++) view.setFloat16(2 * j, params[j], true)
  }
}

function readParams (payload: Uint8Array, dtype: Dtype, d: number): Float32Array {
  const params = new Float32Array(d)
  if (dtype === 'f32' && littleEndian) {
    new Uint8Array(params.buffer).set(payload)
    return params
  }
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength)
  if (dtype === 'f32') {
    for (let j = 0; j < d; j++) params[j] = view.getFloat32(4 * j, true)
  } else {
    for (let j = 0; j < d; j++) params[j] = view.getFloat16(2 * j, true)
  }
  return params
}

/** CRC-32 (IEEE 802.3), the checksum in the frame header (and of checkpoints): node:zlib's, native code. */
export function crc32 (bytes: Uint8Array): number {
  return zlibCrc32(bytes)
}
