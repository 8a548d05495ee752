// A peer's checkpoint: the model, the optimiser state and the last completed round, so a stopped
// or crashed peer resumes where it was. Written atomically (temp file, fsync, rename) with the
// previous checkpoint kept beside it, so a crash at any moment leaves at least one good file.
//
//   offset  size  field
//   0       4     magic "MRCK"
//   4       4     version (u32, little-endian, as every integer here)
//   8       4     header length H
//   12      H     header: UTF-8 JSON { round, step, dimension, momentum, meta? }
//   12+H    4·d   parameters (f32)
//   ...     4·m   momentum buffer (f32)
//   end−4   4     CRC-32 of everything before it

import { mkdir, open, readFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { crc32 } from '../wire/frame.ts'

const MAGIC = 0x4b43524d // "MRCK" read as a little-endian u32
const VERSION = 1
const LATEST = 'checkpoint.bin'
const PREVIOUS = 'checkpoint.prev.bin'
const TEMP = 'checkpoint.bin.tmp'

export interface CheckpointData {
  /** The last completed round. */
  round: number
  params: Float32Array
  momentum: Float32Array
  /** Optimiser steps taken so far (drives the learning-rate schedule). */
  step: number
  /** Anything JSON the caller wants back (node id, rule, task...). */
  meta?: Record<string, unknown>
}

export interface LoadedCheckpoint extends CheckpointData {
  /** The file it came from. */
  path: string
  /** True when the latest file was unreadable and the previous one was used. */
  fallback: boolean
}

/** A checkpoint that cannot be used; the message names the file(s) and why. */
export class CheckpointError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'CheckpointError'
  }
}

interface Header {
  round: number
  step: number
  dimension: number
  momentum: number
  meta?: Record<string, unknown>
}

const littleEndian = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1

function writeFloats (target: Uint8Array, values: Float32Array): void {
  if (littleEndian) {
    target.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength))
    return
  }
  const view = new DataView(target.buffer, target.byteOffset, target.byteLength)
  for (let j = 0; j < values.length; j++) view.setFloat32(4 * j, values[j], true)
}

function readFloats (source: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count)
  if (littleEndian) {
    new Uint8Array(out.buffer).set(source.subarray(0, 4 * count))
    return out
  }
  const view = new DataView(source.buffer, source.byteOffset, source.byteLength)
  for (let j = 0; j < count; j++) out[j] = view.getFloat32(4 * j, true)
  return out
}

/** The bytes of a checkpoint file. */
export function encodeCheckpoint (data: CheckpointData): Uint8Array {
  if (!Number.isInteger(data.round) || data.round < 0) throw new RangeError(`checkpoint: round must be an integer ≥ 0, got ${data.round}`)
  if (!Number.isInteger(data.step) || data.step < 0) throw new RangeError(`checkpoint: step must be an integer ≥ 0, got ${data.step}`)
  const header: Header = { round: data.round, step: data.step, dimension: data.params.length, momentum: data.momentum.length }
  if (data.meta !== undefined) header.meta = data.meta
  const json = new TextEncoder().encode(JSON.stringify(header))
  const bodyStart = 12 + json.length
  const size = bodyStart + 4 * (data.params.length + data.momentum.length) + 4
  const bytes = new Uint8Array(size)
  const view = new DataView(bytes.buffer)
  view.setUint32(0, MAGIC, true)
  view.setUint32(4, VERSION, true)
  view.setUint32(8, json.length, true)
  bytes.set(json, 12)
  writeFloats(bytes.subarray(bodyStart), data.params)
  writeFloats(bytes.subarray(bodyStart + 4 * data.params.length), data.momentum)
  view.setUint32(size - 4, crc32(bytes.subarray(0, size - 4)), true)
  return bytes
}

/** Parses checkpoint bytes; throws an Error saying what is wrong with them. */
export function decodeCheckpoint (bytes: Uint8Array): CheckpointData {
  if (bytes.length < 16) throw new Error(`${bytes.length} bytes is shorter than any checkpoint`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (view.getUint32(0, true) !== MAGIC) throw new Error('not a murmur checkpoint (bad magic)')
  const version = view.getUint32(4, true)
  if (version !== VERSION) throw new Error(`checkpoint version ${version}, this build reads ${VERSION}`)
  if (crc32(bytes.subarray(0, bytes.length - 4)) !== view.getUint32(bytes.length - 4, true)) throw new Error('checksum mismatch (truncated or corrupt)')
  const headerLength = view.getUint32(8, true)
  if (12 + headerLength + 4 > bytes.length) throw new Error(`header length ${headerLength} runs past the end of the file`)
  let header: Header
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(12, 12 + headerLength))) as Header
  } catch {
    throw new Error('the header is not valid JSON')
  }
  for (const key of ['round', 'step', 'dimension', 'momentum'] as const) {
    if (!Number.isInteger(header[key]) || header[key] < 0) throw new Error(`header field ${key} is ${JSON.stringify(header[key])}, expected an integer ≥ 0`)
  }
  const bodyStart = 12 + headerLength
  if (bodyStart + 4 * (header.dimension + header.momentum) + 4 !== bytes.length) {
    throw new Error(`file length ${bytes.length} does not match ${header.dimension} parameters and ${header.momentum} momentum values`)
  }
  const params = readFloats(bytes.subarray(bodyStart), header.dimension)
  const momentum = readFloats(bytes.subarray(bodyStart + 4 * header.dimension), header.momentum)
  return { round: header.round, step: header.step, params, momentum, ...(header.meta === undefined ? {} : { meta: header.meta }) }
}

/**
 * Writes a checkpoint into `dir` atomically: the bytes go to a temp file that is fsynced and then
 * renamed over `checkpoint.bin`, after the current one is renamed to `checkpoint.prev.bin`. A crash
 * leaves the new file, or the previous one, intact.
 */
export async function saveCheckpoint (dir: string, data: CheckpointData): Promise<void> {
  const bytes = encodeCheckpoint(data)
  await mkdir(dir, { recursive: true })
  const temp = join(dir, TEMP)
  const file = await open(temp, 'w', 0o600)
  try {
    await file.writeFile(bytes)
    await file.sync()
  } finally {
    await file.close()
  }
  try {
    await rename(join(dir, LATEST), join(dir, PREVIOUS))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  await rename(temp, join(dir, LATEST))
  // Persist the renames themselves; not every platform lets a directory be fsynced.
  try {
    const handle = await open(dir, 'r')
    try { await handle.sync() } finally { await handle.close() }
  } catch {}
}

async function readIfPresent (path: string): Promise<Uint8Array | undefined> {
  try {
    return await readFile(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

/**
 * The checkpoint in `dir`: undefined when there is none, the previous one (fallback: true) when
 * the latest is missing or corrupt, and a CheckpointError naming both files when neither is usable.
 */
export async function loadCheckpoint (dir: string): Promise<LoadedCheckpoint | undefined> {
  const failures: string[] = []
  let sawFile = false
  for (const [name, fallback] of [[LATEST, false], [PREVIOUS, true]] as const) {
    const path = join(dir, name)
    const bytes = await readIfPresent(path)
    if (bytes === undefined) continue
    sawFile = true
    try {
      return { ...decodeCheckpoint(bytes), path, fallback: fallback || failures.length > 0 }
    } catch (error) {
      failures.push(`${path}: ${(error as Error).message}`)
    }
  }
  if (!sawFile) return undefined
  throw new CheckpointError(`no usable checkpoint in ${dir}:\n  ${failures.join('\n  ')}\nmove the directory aside to start from round 0`)
}

/** The round a peer resumes at: one past its checkpoint's, or 0 without one. */
export async function resumeRound (dir: string): Promise<number> {
  const checkpoint = await loadCheckpoint(dir)
  return checkpoint === undefined ? 0 : checkpoint.round + 1
}
