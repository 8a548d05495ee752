import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import * as tf from '@tensorflow/tfjs'
import { createRng } from '@murmur/robust'
import { createModel, initBackend, LearnInputError, type ModelSpec } from '../../src/index.ts'

const counts: Array<[ModelSpec, number]> = [
  [{ kind: 'logistic' }, 784 * 10 + 10],
  [{ kind: 'mlp' }, 784 * 128 + 128 + 128 * 10 + 10], // 101,770
  // conv1 5·5·1·16 + 16, conv2 5·5·16·32 + 32, dense 7·7·32·64 + 64, dense 64·10 + 10
  [{ kind: 'cnn' }, 5 * 5 * 16 + 16 + 5 * 5 * 16 * 32 + 32 + 7 * 7 * 32 * 64 + 64 + 64 * 10 + 10],
  [{ kind: 'cnn', channels: [4, 8], hidden: 16, imageShape: [10, 10, 1], inputDim: 100, numClasses: 3 },
    5 * 5 * 4 + 4 + 5 * 5 * 4 * 8 + 8 + 3 * 3 * 8 * 16 + 16 + 16 * 3 + 3],
  [{ kind: 'linear', inputDim: 5, outputDim: 2 }, 5 * 2 + 2],
  [{ kind: 'mean', outputDim: 3 }, 3]
]

function randomParams (n: number, seed: number): Float32Array {
  const rng = createRng(seed)
  return Float32Array.from({ length: n }, () => rng.normal())
}

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`models on ${backend}`, () => {
    test('parameter counts match the hand-computed ones', async () => {
      await initBackend({ backend })
      assert.equal(counts[1][1], 101770)
      assert.equal(counts[2][1], 114314)
      for (const [spec, expected] of counts) {
        const model = createModel(spec)
        assert.equal(model.paramCount, expected, spec.kind)
        assert.equal(model.getParams().length, expected)
        model.dispose()
      }
    })

    test('flat set then get round-trips exactly, into the caller\'s buffer, without new tensors', async () => {
      await initBackend({ backend })
      for (const [spec] of counts) {
        const model = createModel(spec)
        const p = randomParams(model.paramCount, 1)
        const out = new Float32Array(model.paramCount)
        const tensors = tf.memory().numTensors
        model.setParams(p)
        assert.equal(model.getParams(out), out, 'getParams writes into the given buffer')
        assert.deepEqual(out, p)
        model.setParams(randomParams(model.paramCount, 2))
        model.setParams(p)
        assert.deepEqual(model.getParams(out), p)
        assert.equal(tf.memory().numTensors, tensors, 'set/get allocate no lasting tensors')
        // The model must not keep a view of the caller's array.
        p.fill(0)
        assert.notDeepEqual(model.getParams(), p)
        model.dispose()
      }
    })

    test('parameter order: each variable row-major, in declaration order', async () => {
      await initBackend({ backend })
      const model = createModel({ kind: 'linear', inputDim: 2, outputDim: 2 })
      model.setParams(Float32Array.of(1, 2, 3, 4, 10, 20)) // w = [[1, 2], [3, 4]], b = [10, 20]
      const y = tf.tidy(() => model.forward(tf.tensor2d([[1, 1], [2, 0]])).dataSync())
      assert.deepEqual(Array.from(y), [1 + 3 + 10, 2 + 4 + 20, 2 + 10, 4 + 20])
      model.dispose()
    })

    test('initialisation is seeded: same seed same weights, other seed other weights, biases zero', async () => {
      await initBackend({ backend })
      const a = createModel({ kind: 'mlp', seed: 4 })
      const b = createModel({ kind: 'mlp', seed: 4 })
      const c = createModel({ kind: 'mlp', seed: 5 })
      const pa = a.getParams()
      assert.deepEqual(b.getParams(), pa)
      assert.notDeepEqual(c.getParams(), pa)
      const limit = Math.sqrt(6 / (784 + 128))
      for (let i = 0; i < 784 * 128; i++) assert.ok(Math.abs(pa[i]) <= limit)
      for (let i = 784 * 128; i < 784 * 128 + 128; i++) assert.equal(pa[i], 0)
      for (const m of [a, b, c]) m.dispose()
    })

    test('wrong sizes and specs are refused', async () => {
      await initBackend({ backend })
      const model = createModel({ kind: 'logistic', inputDim: 3, numClasses: 2 })
      assert.throws(() => model.setParams(new Float32Array(7)), /setParams: got 7 values, the logistic model has 8 parameters/)
      assert.throws(() => model.getParams(new Float32Array(9)), /getParams: buffer has 9 entries/)
      assert.throws(() => createModel({ kind: 'cnn', inputDim: 100 }), (err: unknown) => err instanceof LearnInputError && /does not match imageShape 28×28×1/.test(err.message))
      assert.throws(() => createModel({ kind: 'mlp', hidden: 0 }), /hidden must be an integer/)
      assert.throws(() => createModel({ kind: 'rnn' as 'mlp' }), /unknown model kind 'rnn'/)
      model.dispose()
    })
  })
}
