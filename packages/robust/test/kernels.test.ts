import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { jsKernels } from '../src/index.ts'

describe('js kernels', () => {
  test('trimmed mean, median and meamed on a hand-computed column', () => {
    const inputs = [1, 2, 3, 10, -5].map((v) => Float32Array.of(v))
    const out = new Float32Array(1)
    jsKernels.median(inputs, out)
    assert.equal(out[0], 2)
    jsKernels.trimmedMean(inputs, 1, out)
    assert.equal(out[0], 2)
    jsKernels.meamed(inputs, 3, out) // the 3 values closest to 2: {1, 2, 3}
    assert.equal(out[0], 2)
  })
})
