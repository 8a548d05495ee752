/**
 * In-memory datasets: one row-major Float32Array of features plus labels or targets. Every
 * loader, partitioner and attack in murmur produces or consumes these.
 */
import { LearnInputError } from '../errors.ts'

export interface ClassificationDataset {
  readonly kind: 'classification'
  /** count × features, row-major. */
  readonly x: Float32Array
  readonly labels: Uint8Array
  readonly count: number
  readonly features: number
  readonly numClasses: number
  /** [height, width, channels] when the features are an image (row-major, channels last). */
  readonly imageShape?: readonly [number, number, number]
}

export interface RegressionDataset {
  readonly kind: 'regression'
  /** count × features, row-major (features may be 0: mean estimation has no inputs). */
  readonly x: Float32Array
  /** count × targetDim, row-major. */
  readonly targets: Float32Array
  readonly count: number
  readonly features: number
  readonly targetDim: number
}

export type Dataset = ClassificationDataset | RegressionDataset

/** Output width of a dataset: classes for a classifier, target dimension for a regressor. */
export function outputWidth (data: Dataset): number {
  return data.kind === 'classification' ? data.numClasses : data.targetDim
}

/** Checks the array lengths agree with count, features and the label range. */
export function validateDataset (data: Dataset, where = 'dataset'): void {
  if (!Number.isInteger(data.count) || data.count < 0) {
    throw new LearnInputError('shape-mismatch', `${where}: count must be a non-negative integer, got ${data.count}`)
  }
  if (data.x.length !== data.count * data.features) {
    throw new LearnInputError('shape-mismatch', `${where}: x has ${data.x.length} values, expected count ${data.count} × features ${data.features}`)
  }
  if (data.kind === 'classification') {
    if (data.labels.length !== data.count) throw new LearnInputError('shape-mismatch', `${where}: ${data.labels.length} labels for ${data.count} samples`)
    for (let i = 0; i < data.count; i++) {
      if (data.labels[i] >= data.numClasses) {
        throw new LearnInputError('shape-mismatch', `${where}: label ${data.labels[i]} of sample ${i} is not below numClasses ${data.numClasses}`)
      }
    }
  } else if (data.targets.length !== data.count * data.targetDim) {
    throw new LearnInputError('shape-mismatch',
      `${where}: targets have ${data.targets.length} values, expected count ${data.count} × targetDim ${data.targetDim}`)
  }
}

/** A new dataset holding the rows at `indices` (copied, in that order). */
export function subset<D extends Dataset> (data: D, indices: ArrayLike<number>): D {
  const n = indices.length
  const f = data.features
  const x = new Float32Array(n * f)
  for (let i = 0; i < n; i++) {
    const row = indices[i]
    if (!Number.isInteger(row) || row < 0 || row >= data.count) {
      throw new LearnInputError('bad-parameter', `subset: index ${row} at position ${i} is outside 0..${data.count - 1}`)
    }
    x.set(data.x.subarray(row * f, row * f + f), i * f)
  }
  if (data.kind === 'classification') {
    const labels = new Uint8Array(n)
    for (let i = 0; i < n; i++) labels[i] = data.labels[indices[i]]
    return { ...data, x, labels, count: n }
  }
  const t = data.targetDim
  const targets = new Float32Array(n * t)
  for (let i = 0; i < n; i++) targets.set(data.targets.subarray(indices[i] * t, indices[i] * t + t), i * t)
  return { ...data, x, targets, count: n }
}

/** Per-class sample counts of labels (restricted to `indices` when given). */
export function labelHistogram (labels: Uint8Array, numClasses: number, indices?: ArrayLike<number>): Uint32Array {
  const hist = new Uint32Array(numClasses)
  const n = indices === undefined ? labels.length : indices.length
  for (let i = 0; i < n; i++) {
    const label = labels[indices === undefined ? i : indices[i]]
    if (label >= numClasses) throw new LearnInputError('bad-parameter', `labelHistogram: label ${label} is not below numClasses ${numClasses}`)
    hist[label]++
  }
  return hist
}
