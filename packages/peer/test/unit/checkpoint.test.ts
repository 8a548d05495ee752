import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import {
  CheckpointError, decodeCheckpoint, encodeCheckpoint, loadCheckpoint, resumeRound, saveCheckpoint
} from '../../src/round/checkpoint.ts'
import { createMetricsLog, readMetricsLog } from '../../src/round/metrics.ts'
import type { RoundMetrics } from '../../src/round/types.ts'

const root = mkdtempSync(join(tmpdir(), 'murmur-checkpoint-'))
after(() => { rmSync(root, { recursive: true, force: true }) })
let dirs = 0
const freshDir = (): string => join(root, `d${dirs++}`)

const sample = (round: number): { round: number, params: Float32Array, momentum: Float32Array, step: number, meta: Record<string, unknown> } => ({
  round,
  params: Float32Array.of(round, -1.5, 3e-8, Math.fround(Math.PI)),
  momentum: Float32Array.of(0.25, -0.5, 0, 1),
  step: 10 * round,
  meta: { node: 'p3', rule: 'nnm+cwtm' }
})

describe('checkpoints', () => {
  test('save then load returns the same round, parameters, momentum, step and meta', async () => {
    const dir = freshDir()
    assert.equal(await loadCheckpoint(dir), undefined)
    assert.equal(await resumeRound(dir), 0)
    await saveCheckpoint(dir, sample(7))
    const loaded = await loadCheckpoint(dir)
    assert.ok(loaded !== undefined)
    assert.deepEqual({ round: loaded.round, params: loaded.params, momentum: loaded.momentum, step: loaded.step, meta: loaded.meta }, sample(7))
    assert.equal(loaded.fallback, false)
    assert.equal(await resumeRound(dir), 8)
    assert.equal(statSync(join(dir, 'checkpoint.bin')).mode & 0o777, 0o600)
    assert.ok(!existsSync(join(dir, 'checkpoint.bin.tmp')))
  })

  test('the byte layout: magic, version, header length, JSON header, floats, CRC-32', () => {
    const bytes = encodeCheckpoint({ round: 1, params: Float32Array.of(2), momentum: new Float32Array(0), step: 3 })
    const view = new DataView(bytes.buffer)
    assert.equal(new TextDecoder().decode(bytes.subarray(0, 4)), 'MRCK')
    assert.equal(view.getUint32(4, true), 1)
    const headerLength = view.getUint32(8, true)
    assert.deepEqual(JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength))), { round: 1, step: 3, dimension: 1, momentum: 0 })
    assert.equal(view.getFloat32(12 + headerLength, true), 2)
    assert.equal(bytes.length, 12 + headerLength + 4 + 4)
  })

  test('a corrupt latest file falls back to the previous checkpoint', async () => {
    const dir = freshDir()
    await saveCheckpoint(dir, sample(4))
    await saveCheckpoint(dir, sample(5))
    const latest = join(dir, 'checkpoint.bin')
    const bytes = readFileSync(latest)
    bytes[bytes.length - 9] ^= 0x40 // one bit of the momentum
    writeFileSync(latest, bytes)
    const loaded = await loadCheckpoint(dir)
    assert.deepEqual([loaded?.round, loaded?.fallback, loaded?.path], [4, true, join(dir, 'checkpoint.prev.bin')])
    assert.deepEqual(loaded?.params, sample(4).params)
    // A crash between the two renames leaves only the previous file: it is used.
    rmSync(latest)
    assert.equal((await loadCheckpoint(dir))?.round, 4)
  })

  test('when both files are unusable the error names both and why', async () => {
    const dir = freshDir()
    await saveCheckpoint(dir, sample(1))
    await saveCheckpoint(dir, sample(2))
    writeFileSync(join(dir, 'checkpoint.bin'), readFileSync(join(dir, 'checkpoint.bin')).subarray(0, 30))
    writeFileSync(join(dir, 'checkpoint.prev.bin'), 'not a checkpoint at all')
    await assert.rejects(loadCheckpoint(dir), (err: unknown) => err instanceof CheckpointError &&
      err.message.includes(`${join(dir, 'checkpoint.bin')}: checksum mismatch`) &&
      err.message.includes(`${join(dir, 'checkpoint.prev.bin')}: not a murmur checkpoint (bad magic)`))
  })

  test('decoding refuses what does not add up', () => {
    const good = encodeCheckpoint(sample(3))
    assert.throws(() => decodeCheckpoint(good.subarray(0, 10)), /shorter than any checkpoint/)
    const version = good.slice()
    version[4] = 9
    assert.throws(() => decodeCheckpoint(version), /checkpoint version 9/)
    assert.throws(() => encodeCheckpoint({ ...sample(3), round: -1 }), /round must be an integer ≥ 0/)
  })
})

describe('metrics log', () => {
  test('one JSON line per round, on disk as soon as it is written', () => {
    const path = join(freshDir(), 'nested', 'metrics.jsonl')
    const log = createMetricsLog(path)
    const metrics = (round: number): RoundMetrics => ({
      node: 'p0', round, byzantine: false, trainLoss: 0.5, received: 2, neighbours: 2, missing: [], f: 1, mix: 'ok', deadlineMs: 2000, bytesSent: 100,
      sendFailures: 0, rejected: { checksum: 1 }, computeMs: 1, communicateMs: 2, aggregateMs: 0.5, roundMs: 4
    })
    log.write(metrics(0))
    assert.deepEqual(readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as RoundMetrics), [metrics(0)])
    log.write(metrics(1))
    log.close()
    log.close()
    assert.throws(() => { log.write(metrics(2)) }, /is closed/)
    const again = createMetricsLog(path) // appends, as a resumed peer does
    again.write(metrics(2))
    again.close()
    assert.deepEqual(readFileSync(path, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as RoundMetrics).round), [0, 1, 2])
  })

  test('readMetricsLog gives back every record written, and nothing for a missing file', () => {
    const path = join(freshDir(), 'metrics.jsonl')
    const log = createMetricsLog(path)
    const records = [0, 1, 2].map((round): RoundMetrics => ({
      node: 'p3', round, byzantine: false, trainLoss: 0.1 * round, received: 1, neighbours: 2, missing: ['p4'], f: 0, mix: 'degraded', deadlineMs: 2000, bytesSent: 8,
      sendFailures: round, rejected: {}, computeMs: 1, communicateMs: 1, aggregateMs: 1, roundMs: 3
    }))
    for (const r of records) log.write(r)
    log.close()
    assert.deepEqual(readMetricsLog(path), records)
    assert.deepEqual(readMetricsLog(join(freshDir(), 'absent.jsonl')), [])
  })
})
