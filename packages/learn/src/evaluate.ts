/**
 * Held-out evaluation in fixed-size batches inside tf.tidy, so evaluating any number of times
 * leaves no tensors behind.
 */
import * as tf from '@tensorflow/tfjs'
import { LearnInputError, checkInt } from './errors.ts'
import { BatchBuilder, checkFits } from './batch.ts'
import type { ClassificationDataset, Dataset } from './data/dataset.ts'
import type { Model } from './models.ts'
import { attackSuccessRate, triggeredTestSet, type Trigger } from './poison.ts'

export interface Evaluation {
  /** Mean loss over the set (the model's training loss). */
  loss: number
  /** Share of correct predictions; NaN for regression. */
  accuracy: number
  count: number
}

const identity = (n: number): Uint32Array => {
  const order = new Uint32Array(n)
  for (let i = 0; i < n; i++) order[i] = i
  return order
}

/** Loss and accuracy of the model on a dataset, in batches of `batchSize` (default 500). */
export function evaluate (model: Model, data: Dataset, batchSize = 500): Evaluation {
  checkFits(model, data, 'evaluate')
  checkInt('evaluate', 'batchSize', batchSize, 1)
  if (data.count === 0) return { loss: NaN, accuracy: NaN, count: 0 }
  const order = identity(data.count)
  const builder = new BatchBuilder(data, Math.min(batchSize, data.count))
  let lossSum = 0
  let correct = 0
  for (let start = 0; start < data.count; start += builder.capacity) {
    const size = Math.min(builder.capacity, data.count - start)
    const batch = builder.build(order, start, size)
    const [loss, hits] = tf.tidy(() => {
      const l = model.loss(batch)
      if (model.task !== 'classification') return [l.dataSync()[0], 0]
      const predicted = tf.argMax(model.forward(batch.x), 1)
      const truth = tf.argMax(batch.y, 1)
      return [l.dataSync()[0], tf.sum(tf.cast(tf.equal(predicted, truth), 'int32')).dataSync()[0]]
    })
    tf.dispose([batch.x, batch.y])
    lossSum += loss * size
    correct += hits
  }
  return {
    loss: lossSum / data.count,
    accuracy: model.task === 'classification' ? correct / data.count : NaN,
    count: data.count
  }
}

/** Predicted class of every sample (argmax of the logits). */
export function predictLabels (model: Model, data: ClassificationDataset, batchSize = 500): Uint8Array {
  checkFits(model, data, 'predictLabels')
  checkInt('predictLabels', 'batchSize', batchSize, 1)
  const out = new Uint8Array(data.count)
  if (data.count === 0) return out
  const order = identity(data.count)
  const builder = new BatchBuilder(data, Math.min(batchSize, data.count))
  for (let start = 0; start < data.count; start += builder.capacity) {
    const size = Math.min(builder.capacity, data.count - start)
    const batch = builder.build(order, start, size)
    const labels = tf.tidy(() => tf.argMax(model.forward(batch.x), 1).dataSync())
    tf.dispose([batch.x, batch.y])
    out.set(labels, start)
  }
  return out
}

/**
 * Attack success rate of a backdoor on a model: stamps the full trigger on every test input not
 * of the target class and returns the share classified as the target.
 */
export function backdoorSuccessRate (model: Model, test: ClassificationDataset, trigger: Trigger, target: number): number {
  if (model.task !== 'classification') throw new LearnInputError('shape-mismatch', 'backdoorSuccessRate needs a classifier')
  const triggered = triggeredTestSet(test, trigger, target)
  return attackSuccessRate(predictLabels(model, triggered), triggered.labels, target)
}
