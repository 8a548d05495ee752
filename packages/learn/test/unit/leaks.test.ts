import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import * as tf from '@tensorflow/tfjs'
import { createRng } from '@murmur/robust'
import { createModel, evaluate, initBackend, Trainer, type ClassificationDataset } from '../../src/index.ts'

function tinyData (count: number, features: number, classes: number): ClassificationDataset {
  const rng = createRng(2)
  const x = Float32Array.from({ length: count * features }, () => rng.next())
  const labels = Uint8Array.from({ length: count }, () => rng.int(classes))
  return { kind: 'classification', x, labels, count, features, numClasses: classes }
}

describe('tensor hygiene', () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    test(`1,000 training steps leave tf.memory().numTensors unchanged (${backend})`, async () => {
      await initBackend({ backend })
      const data = tinyData(200, 20, 4)
      const model = createModel({ kind: 'mlp', inputDim: 20, hidden: 8, numClasses: 4, seed: 1 })
      const trainer = new Trainer(model, data, {
        lr: 0.05, momentum: 0.9, momentumKind: 'polyak', weightDecay: 1e-4, batchSize: 16, schedule: { kind: 'cosine', totalSteps: 1000 }
      })
      const params = new Float32Array(model.paramCount)
      const state = new Float32Array(model.paramCount)
      const start = tf.memory().numTensors
      const counts: number[] = []
      for (let round = 0; round < 10; round++) {
        trainer.train(100)
        // A gossip round's other traffic: read, overwrite and checkpoint the parameters, evaluate.
        model.setParams(model.getParams(params))
        trainer.setOptimizerState(trainer.getOptimizerState(state))
        evaluate(model, data, 64)
        counts.push(tf.memory().numTensors)
      }
      assert.equal(trainer.stepCount, 1000)
      assert.deepEqual(counts, new Array(10).fill(start))
      trainer.dispose()
      model.dispose()
      assert.equal(tf.memory().numTensors, start - 8, 'dispose frees the 4 variables and 4 momentum buffers')
    })
  }
})
