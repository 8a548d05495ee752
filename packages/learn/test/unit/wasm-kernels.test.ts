import assert from 'node:assert/strict'
import { before, describe, test } from 'node:test'
import * as tf from '@tensorflow/tfjs'
import { createRng } from '@murmur/robust'
import { createModel, initBackend, replaceSlowKernels, type ModelSpec } from '../../src/index.ts'

/** Seeded normal values. */
function values (size: number, seed: number): Float32Array {
  const rng = createRng(seed)
  const v = new Float32Array(size)
  for (let i = 0; i < size; i++) v[i] = rng.normal()
  return v
}

function tensor (shape: number[], seed: number): tf.Tensor {
  return tf.tensor(values(shape.reduce((a, b) => a * b, 1), seed), shape)
}

/** max |a − b| / max |a|: relative to the size of the reference gradient. */
function relativeError (ref: Float32Array, got: Float32Array): number {
  assert.equal(got.length, ref.length)
  let diff = 0
  let scale = 0
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(ref[i] - got[i]))
    scale = Math.max(scale, Math.abs(ref[i]))
  }
  assert.ok(scale > 0, 'reference gradient is all zeros: the case tests nothing')
  return diff / scale
}

/**
 * Runs the same computation on cpu (tfjs's reference kernels) and wasm (the kernels registered
 * here) and returns each output's relative error. Also checks the wasm kernels leave no data
 * behind in the backend.
 */
async function compare (compute: () => tf.Tensor[]): Promise<number[]> {
  await tf.setBackend('cpu')
  const ref = compute().map((t) => { const d = t.dataSync() as Float32Array; t.dispose(); return d })
  await tf.setBackend('wasm')
  const dataIdsBefore = tf.backend().numDataIds()
  const tensorsBefore = tf.memory().numTensors
  const out = compute()
  const got = out.map((t) => t.dataSync() as Float32Array)
  tf.dispose(out)
  assert.equal(tf.memory().numTensors, tensorsBefore, 'tensors leaked')
  assert.equal(tf.backend().numDataIds(), dataIdsBefore, 'wasm data leaked inside a kernel')
  return ref.map((r, i) => relativeError(r, got[i]))
}

const tolerance = 1e-4

type Pad = 'same' | 'valid'
const convCases: Array<{ x: number[], w: number[], stride: number, pad: Pad }> = [
  { x: [4, 28, 28, 1], w: [5, 5, 1, 8], stride: 2, pad: 'same' }, // the CNN's first layer
  { x: [4, 14, 14, 8], w: [5, 5, 8, 16], stride: 2, pad: 'same' }, // the CNN's second layer
  { x: [3, 28, 28, 1], w: [5, 5, 1, 4], stride: 2, pad: 'valid' }, // last input row unused by the forward conv
  { x: [2, 9, 9, 3], w: [3, 3, 3, 5], stride: 1, pad: 'same' },
  { x: [2, 9, 9, 3], w: [3, 3, 3, 5], stride: 1, pad: 'valid' },
  { x: [2, 10, 11, 2], w: [3, 2, 2, 3], stride: 2, pad: 'valid' }, // odd sizes, non-square filter
  { x: [2, 8, 8, 2], w: [1, 1, 2, 3], stride: 2, pad: 'same' } // 1×1 filter: some stride phases have no tap
]

describe('wasm gradient kernels against the cpu backend', () => {
  before(async () => {
    await initBackend({ backend: 'wasm' })
  })

  for (const c of convCases) {
    test(`conv2d ${c.x.join('×')} * ${c.w.join('×')}, stride ${c.stride}, ${c.pad}: dx and dW within 1e-4`, async () => {
      const errors = await compare(() => {
        const x = tensor(c.x, 1)
        const w = tensor(c.w, 2)
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad))))([x, w])
        tf.dispose([x, w])
        return g
      })
      for (const e of errors) assert.ok(e < tolerance, `relative error ${e}`)
    })
  }

  for (const c of convCases.filter((k) => k.w[0] > 1)) {
    test(`depthwise conv ${c.x.join('×')}, ${c.w[0]}×${c.w[1]}, multiplier 2, stride ${c.stride}, ${c.pad}: dx and dF within 1e-4`, async () => {
      const filterShape = [c.w[0], c.w[1], c.x[3], 2]
      const errors = await compare(() => {
        const x = tensor(c.x, 3)
        const f = tensor(filterShape, 4)
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.square(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad))))([x, f])
        tf.dispose([x, f])
        return g
      })
      for (const e of errors) assert.ok(e < tolerance, `relative error ${e}`)
    })
  }

  test('unsortedSegmentSum, and the gather gradient built on it, match cpu (ids out of range drop out)', async () => {
    const errors = await compare(() => {
      const x = tensor([6, 3, 2], 5)
      const ids = tf.tensor1d([0, 3, 1, 3, 0, 7], 'int32')
      const sum = tf.unsortedSegmentSum(x, ids, 4)
      const table = tensor([5, 4], 6)
      const gatherIds = tf.tensor1d([4, 0, 4, 2], 'int32')
      const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.gather(t, gatherIds))))(table)
      tf.dispose([x, ids, table, gatherIds])
      return [sum, grad]
    })
    for (const e of errors) assert.ok(e < tolerance, `relative error ${e}`)
    await tf.setBackend('wasm')
    const hand = tf.unsortedSegmentSum(tf.tensor2d([[1, 2], [3, 4], [5, 6]]), tf.tensor1d([2, 0, 2], 'int32'), 3)
    assert.deepEqual(Array.from(hand.dataSync()), [3, 4, 0, 0, 6, 8])
    hand.dispose()
  })

  test('matMul with transposed operands (every dense gradient) matches cpu', async () => {
    const errors = await compare(() => {
      const a = tensor([7, 5], 7)
      const b = tensor([7, 3], 8)
      const c = tensor([3, 5], 9)
      const out = [tf.matMul(a, b, true, false), tf.matMul(b, c, false, false), tf.matMul(a, c, false, true), tf.matMul(c, b, true, true)]
      tf.dispose([a, b, c])
      return out
    })
    for (const e of errors) assert.ok(e < tolerance, `relative error ${e}`)
  })

  const shipped: ModelSpec[] = [
    { kind: 'logistic', seed: 3 },
    { kind: 'mlp', seed: 3 },
    { kind: 'cnn', seed: 3 },
    { kind: 'linear', inputDim: 6, outputDim: 2, seed: 3 },
    { kind: 'mean', outputDim: 4, seed: 3 }
  ]
  for (const spec of shipped) {
    test(`a full ${spec.kind} gradient matches cpu within 1e-4`, async () => {
      const batch = 8
      const errors = await compare(() => {
        const model = createModel(spec)
        const x = tf.tensor2d(values(batch * model.inputDim, 10).map((v) => Math.abs(v) / 3), [batch, model.inputDim])
        const y = tf.tidy(() => model.task === 'classification'
          ? tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7].map((v) => v % model.outputDim), 'int32'), model.outputDim).toFloat() as tf.Tensor2D
          : tf.tensor2d(values(batch * model.outputDim, 11), [batch, model.outputDim]))
        const { value, grads } = tf.variableGrads(() => model.loss({ x, y }), model.variables as tf.Variable[])
        const out = model.variables.map((v) => grads[v.name])
        tf.dispose([x, y, value])
        model.dispose()
        return out
      })
      assert.equal(errors.length, spec.kind === 'cnn' ? 8 : spec.kind === 'mlp' ? 4 : spec.kind === 'mean' ? 1 : 2)
      for (const e of errors) assert.ok(e < tolerance, `relative error ${e}`)
    })
  }

  // Last: it swaps a cpu kernel for the rest of this process.
  test('the cpu filter-gradient replacement matches the original cpu kernel', async () => {
    await tf.setBackend('cpu')
    const grads = (): Float32Array[] => convCases.map((c) => {
      const g = tf.tidy(() => {
        const x = tensor(c.x, 12) as tf.Tensor4D
        return tf.grad((w: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x, w as tf.Tensor4D, c.stride, c.pad))))(tensor(c.w, 13))
      })
      const data = g.dataSync() as Float32Array
      g.dispose()
      return data
    })
    const reference = grads()
    assert.deepEqual(replaceSlowKernels('cpu'), ['Conv2DBackpropFilter'])
    const replaced = grads()
    reference.forEach((r, i) => assert.ok(relativeError(r, replaced[i]) < tolerance, `case ${i}`))
  })
})
