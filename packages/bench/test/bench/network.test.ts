import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { findSuite } from '../../src/runner.ts'
import { compareModels, f16Rounded, MAX_RATIO, network, varintLength, type NetworkResult } from '../../src/suites/network/index.ts'
import { logTicks } from '../../src/stats.ts'
import type { CellResult } from '../../src/suite.ts'
import { quickRun } from '../helpers/quick-run.ts'

const work = mkdtempSync(join(tmpdir(), 'murmur-network-'))
after(() => { rmSync(work, { recursive: true, force: true }) })

describe('network suite helpers', () => {
  test('varintLength is the length of an unsigned LEB128 varint (7 bits a byte)', () => {
    const cases = [[0, 1], [127, 1], [128, 2], [16_383, 2], [16_384, 3], [400_034, 3], [2 ** 21 - 1, 3], [2 ** 21, 4], [40_000_034, 4], [2 ** 28, 5]]
    for (const [n, bytes] of cases) assert.equal(varintLength(n), bytes, String(n))
  })

  test('f16Rounded rounds to the nearest half-precision value', () => {
    const got = f16Rounded(Float32Array.of(0, 1, 1 / 3, 65504, 1e5, 2 ** -24, 2 ** -26, -0.1))
    assert.deepEqual([...got], [0, 1, 0.333251953125, 65504, Infinity, 2 ** -24, 0, -0.0999755859375])
  })

  test('compareModels counts bitwise differences (so -0 vs 0) and the error relative to max |sent|', () => {
    const sent = Float32Array.of(1, -2, 0, 4)
    assert.deepEqual(compareModels(sent.slice(), sent, sent), { mismatches: 0, maxError: 0 })
    assert.deepEqual(compareModels(Float32Array.of(1, -2, -0, 3), sent, sent), { mismatches: 2, maxError: 0.25 })
    assert.equal(compareModels(new Float32Array(3), sent, sent).mismatches, 4)
  })

  test('logTicks: 1-2-3-5-7 ticks over the range, one beyond each end', () => {
    assert.deepEqual(logTicks([26, 97]), [20, 30, 50, 70, 100])
    assert.deepEqual(logTicks([7.8, 33]), [7, 10, 20, 30, 50])
    assert.deepEqual(logTicks([]), [1, 2, 3, 5, 7])
  })

  test('cells: profiles, options and their errors', () => {
    assert.deepEqual(network.cells('quick', {}).map((c) => c.id), ['d1e5-f32', 'd1e5-f16', 'd1e6-f32', 'd1e6-f16'])
    assert.deepEqual(network.cells('full', {}).map((c) => c.id), ['d1e5-f32', 'd1e5-f16', 'd1e6-f32', 'd1e6-f16', 'd1e7-f32', 'd1e7-f16'])
    const custom = network.cells('full', { d: '1e4,1e4,250000', dtypes: 'f16', runs: 2 })
    assert.deepEqual(custom.map((c) => c.id), ['d1e4-f16', 'd250000-f16'])
    assert.deepEqual(custom[1].params, { d: 250000, dtype: 'f16', runs: 2 })
    assert.equal(network.cells('quick', {})[0].seed, network.cells('quick', {})[1].seed, 'f32 and f16 send the same model')
    assert.throws(() => network.cells('quick', { dtypes: 'f32,f64' }), /--dtypes: unknown dtype "f64"/)
    assert.throws(() => network.cells('quick', { d: '1e5,big' }), /--d: expected dimensions/)
    assert.throws(() => network.cells('quick', { runs: 0 }), /--runs/)
  })

  test('summarize fails the checks on a wrong model, a missing byte or a slow protocol', () => {
    const timing = (ms: number): NetworkResult['murmur'] => ({ times: [ms], medianMs: ms, goodputMBps: 400 / ms, paramsPerS: 1e8 / ms })
    const result = (dtype: 'f32' | 'f16', over: Partial<NetworkResult> = {}): CellResult<NetworkResult> => ({
      cell: { id: `d1e5-${dtype}`, params: {}, seed: 1 },
      ms: 100,
      result: {
        d: 1e5, dtype, runs: 1, warmup: 2, frameBytes: dtype === 'f32' ? 400_034 : 200_034, wireBytes: 0, payloadBytes: 0,
        murmur: timing(12), bare: timing(10), ratio: 1.2, encodeMs: 1, decodeMs: 1, codec: { encode: [1], decode: [1] },
        verify: { runs: 3, mismatches: 0, maxError: 0, bareExact: 3 },
        ...over
      }
    })
    const failed = (rs: Array<CellResult<NetworkResult>>): string[] => network.summarize(rs, 'quick').checks.filter((c) => !c.ok).map((c) => c.name)
    assert.deepEqual(failed([result('f32'), result('f16')]), [])
    assert.deepEqual(failed([result('f32', { verify: { runs: 3, mismatches: 5, maxError: 0.1, bareExact: 3 } }), result('f16')]), ['received model equals the sent one'])
    assert.deepEqual(failed([result('f32', { verify: { runs: 3, mismatches: 0, maxError: 0, bareExact: 2 } })]), ['bare transfers delivered every byte'])
    // The timing bound is judged in the full profile only: the quick one is what CI asserts on a busy machine.
    assert.deepEqual(failed([result('f32', { ratio: MAX_RATIO + 0.1 })]), [])
    const failedFull = network.summarize([result('f32', { ratio: MAX_RATIO + 0.1 })], 'full').checks.filter((c) => !c.ok).map((c) => c.name)
    assert.deepEqual(failedFull, [`murmur within ${MAX_RATIO}× the bare stream`])
    assert.deepEqual(failed([result('f32'), result('f16', { frameBytes: 400_034 })]), ['f16 frames are half the f32 frames'])
  })
})

describe('network suite, quick profile', () => {
  test('two real peers exchange every model intact; goodput and ratios are measured', async () => {
    const dir = join(work, 'network')
    const { summary, results } = await quickRun(findSuite('network'), dir, 4)
    assert.deepEqual(summary.plots.map((p) => p.name), ['goodput', 'time-split'])

    const cells: NetworkResult[] = results.cells.map((c: { result: NetworkResult }) => c.result)
    assert.deepEqual(cells.map((r) => `${r.d} ${r.dtype}`), ['100000 f32', '100000 f16', '1000000 f32', '1000000 f16'])
    for (const r of cells) {
      assert.equal(r.runs, 5)
      assert.equal(r.murmur.times.length, 5)
      assert.equal(r.bare.times.length, 5)
      assert.equal(r.payloadBytes, r.d * (r.dtype === 'f32' ? 4 : 2))
      assert.equal(r.wireBytes, r.frameBytes + varintLength(r.frameBytes))
      assert.equal(r.verify.runs, r.runs + r.warmup)
      assert.equal(r.verify.mismatches, 0)
      for (const v of [r.murmur.medianMs, r.bare.medianMs, r.murmur.goodputMBps, r.bare.goodputMBps, r.ratio, r.encodeMs, r.decodeMs]) assert.ok(v > 0)
      assert.ok(Math.abs(r.murmur.paramsPerS * r.payloadBytes / r.d / 1e6 - r.murmur.goodputMBps) < 1e-3 * r.murmur.goodputMBps, 'params/s and MB/s agree')
    }
  })
})
