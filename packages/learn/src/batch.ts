/**
 * Turns rows of a dataset into batch tensors through reusable staging buffers, so a training
 * step allocates no JavaScript arrays.
 */
import * as tf from '@tensorflow/tfjs'
import { LearnInputError } from './errors.ts'
import { outputWidth, validateDataset, type Dataset } from './data/dataset.ts'
import type { Batch, Model } from './models.ts'

/**
 * Checks that a dataset is consistent and fits a model's input and output: a label outside
 * the classes would otherwise land in the next row of the one-hot batch.
 */
export function checkFits (model: Model, data: Dataset, where: string): void {
  validateDataset(data, where)
  if (model.task !== data.kind) {
    throw new LearnInputError('shape-mismatch', `${where}: a ${model.kind} model (${model.task}) cannot use ${data.kind} data`)
  }
  if (model.inputDim !== data.features) {
    throw new LearnInputError('shape-mismatch', `${where}: the ${model.kind} model takes ${model.inputDim} features, the data has ${data.features}`)
  }
  if (model.outputDim !== outputWidth(data)) {
    const what = data.kind === 'classification' ? 'classes' : 'targets'
    throw new LearnInputError('shape-mismatch', `${where}: the ${model.kind} model has ${model.outputDim} outputs, the data has ${outputWidth(data)} ${what}`)
  }
}

/** Copies dataset rows into fixed staging buffers and wraps them as batch tensors. */
export class BatchBuilder {
  private readonly data: Dataset
  private readonly xBuf: Float32Array
  private readonly yBuf: Float32Array
  readonly capacity: number

  constructor (data: Dataset, capacity: number) {
    this.data = data
    this.capacity = capacity
    this.xBuf = new Float32Array(capacity * data.features)
    this.yBuf = new Float32Array(capacity * outputWidth(data))
  }

  /**
   * Tensors for rows order[start .. start + size). The caller disposes them before the next
   * call: on the cpu backend they share the staging buffers.
   */
  build (order: ArrayLike<number>, start: number, size: number): Batch {
    const { data } = this
    const f = data.features
    const width = outputWidth(data)
    const x = size === this.capacity ? this.xBuf : this.xBuf.subarray(0, size * f)
    const y = size === this.capacity ? this.yBuf : this.yBuf.subarray(0, size * width)
    if (data.kind === 'classification') y.fill(0)
    for (let i = 0; i < size; i++) {
      const row = order[start + i]
      if (f > 0) x.set(data.x.subarray(row * f, row * f + f), i * f)
      if (data.kind === 'classification') y[i * width + data.labels[row]] = 1
      else y.set(data.targets.subarray(row * width, row * width + width), i * width)
    }
    return { x: tf.tensor2d(x, [size, f]), y: tf.tensor2d(y, [size, width]) }
  }
}
