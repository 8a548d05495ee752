import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { crc32, decodeFrame, encodeFrame, FrameError, frameBytes, maxFrameBytes } from '../../src/wire/frame.ts'
import type { FrameExpectations, FrameRejection } from '../../src/wire/frame.ts'

const expect: FrameExpectations = { swarm: 's1', dimension: 5, minRound: 3, maxRound: 4 }
const params = Float32Array.of(1.5, -2, 0, 3.25, 1e-3)

function rejects (bytes: Uint8Array, reason: FrameRejection, at = expect): void {
  assert.throws(() => decodeFrame(bytes, at), (err: unknown) => err instanceof FrameError && err.reason === reason)
}

describe('model frame', () => {
  test('crc32 of "123456789" is the standard check value 0xcbf43926', () => {
    assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926)
  })

  test('crc32 agrees with the bitwise definition at every length and alignment', () => {
    const bitwise = (bytes: Uint8Array): number => {
      let c = 0xffffffff
      for (const b of bytes) {
        c ^= b
        for (let k = 0; k < 8; k++) c = (c & 1) !== 0 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
      }
      return (c ^ 0xffffffff) >>> 0
    }
    const buffer = new Uint8Array(80)
    for (let i = 0; i < buffer.length; i++) buffer[i] = (i * 37 + 11) & 0xff
    for (let offset = 0; offset < 8; offset++) {
      for (let length = 0; offset + length <= buffer.length; length++) {
        const view = buffer.subarray(offset, offset + length)
        assert.equal(crc32(view), bitwise(view), `offset ${offset}, length ${length}`)
      }
    }
  })

  test('crc32 of nothing is 0', () => {
    assert.equal(crc32(new Uint8Array(0)), 0)
  })

  test('frameBytes is the length of the encoded frame for either dtype and any ids', () => {
    for (const dtype of ['f32', 'f16'] as const) {
      for (const [swarm, sender] of [['', ''], ['s1', 'p7'], ['μ-swarm', 'péer']]) {
        const bytes = encodeFrame({ swarm, sender, round: 0, dtype, params })
        const idBytes = new TextEncoder().encode(swarm + sender).length
        assert.equal(bytes.length, frameBytes(params.length, dtype, idBytes))
      }
    }
    assert.equal(frameBytes(1000, 'f16'), 20 + 2000)
    assert.equal(maxFrameBytes(1000), frameBytes(1000, 'f32', 2 * 255))
  })

  test('f32 round trip is exact and carries the header', () => {
    const bytes = encodeFrame({ swarm: 's1', sender: 'p7', round: 3, dtype: 'f32', params })
    assert.equal(bytes.length, 20 + 2 + 2 + 5 * 4)
    const frame = decodeFrame(bytes, expect)
    assert.deepEqual([frame.swarm, frame.sender, frame.round, frame.dtype], ['s1', 'p7', 3, 'f32'])
    assert.deepEqual(frame.params, params)
  })

  test('f16 halves the payload and keeps values to half precision', () => {
    const bytes = encodeFrame({ swarm: 's1', sender: 'p7', round: 4, dtype: 'f16', params })
    assert.equal(bytes.length, 20 + 4 + 5 * 2)
    const frame = decodeFrame(bytes, expect)
    for (let j = 0; j < params.length; j++) assert.equal(frame.params[j], Math.f16round(params[j]))
  })

  test('f16 frames decode the same at any payload alignment (ids of odd and even length)', () => {
    const values = Float32Array.from({ length: 257 }, (_, j) => Math.sin(j) * 100)
    for (const sender of ['p', 'p7', 'p77', 'p777']) {
      const bytes = encodeFrame({ swarm: 's1', sender, round: 4, dtype: 'f16', params: values })
      const frame = decodeFrame(bytes, { ...expect, dimension: values.length })
      for (let j = 0; j < values.length; j++) assert.equal(frame.params[j], Math.f16round(values[j]), `${sender}[${j}]`)
    }
  })

  test('every kind of bad frame is rejected with its reason', () => {
    const good = encodeFrame({ swarm: 's1', sender: 'p7', round: 3, dtype: 'f32', params })
    rejects(encodeFrame({ swarm: 'other', sender: 'p7', round: 3, dtype: 'f32', params }), 'wrong-swarm')
    rejects(encodeFrame({ swarm: 's1', sender: 'p7', round: 2, dtype: 'f32', params }), 'stale-round')
    rejects(encodeFrame({ swarm: 's1', sender: 'p7', round: 5, dtype: 'f32', params }), 'future-round')
    rejects(encodeFrame({ swarm: 's1', sender: 'p7', round: 3, dtype: 'f32', params: new Float32Array(4) }), 'dimension')
    rejects(encodeFrame({ swarm: 's1', sender: 'p7', round: 3, dtype: 'f32', params: Float32Array.of(1, NaN, 0, 0, 0) }), 'non-finite')
    rejects(encodeFrame({ swarm: 's1', sender: 'p7', round: 3, dtype: 'f32', params: Float32Array.of(1, Infinity, 0, 0, 0) }), 'non-finite')
    const flipped = good.slice(); flipped[flipped.length - 1] ^= 0x40
    rejects(flipped, 'checksum')
    const version = good.slice(); version[4] = 9
    rejects(version, 'version')
    rejects(good.subarray(0, 10), 'malformed')
    rejects(good.subarray(0, good.length - 1), 'malformed')
    const magic = good.slice(); magic[0] = 0
    rejects(magic, 'malformed')
    rejects(new Uint8Array(maxFrameBytes(5) + 1), 'oversized')
  })
})

