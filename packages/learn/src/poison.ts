/**
 * Data poisoning for Byzantine peers that attack through their own data: label flipping and
 * backdoor triggers, including the distributed backdoor (DBA) that splits one trigger across
 * colluding peers, plus the attack success rate that measures a backdoor.
 */
import { createRng, permutation } from '@murmur/robust'
import { LearnInputError, checkInt, checkNumber } from './errors.ts'
import type { ClassificationDataset } from './data/dataset.ts'

/** 'reverse' maps y → numClasses − 1 − y (9 − y on MNIST); an array maps y → mapping[y]. */
export type LabelMapping = 'reverse' | ArrayLike<number>

/** New labels under the mapping (the input is left untouched). */
export function flipLabels (labels: Uint8Array, numClasses: number, mapping: LabelMapping = 'reverse'): Uint8Array {
  checkInt('flipLabels', 'numClasses', numClasses, 1, 256)
  if (mapping !== 'reverse') {
    if (mapping.length !== numClasses) throw new LearnInputError('bad-parameter', `flipLabels: mapping has ${mapping.length} entries for ${numClasses} classes`)
    for (let c = 0; c < numClasses; c++) checkInt('flipLabels', `mapping[${c}]`, mapping[c], 0, numClasses - 1)
  }
  const out = new Uint8Array(labels.length)
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]
    if (y >= numClasses) throw new LearnInputError('bad-parameter', `flipLabels: label ${y} of sample ${i} is not below numClasses ${numClasses}`)
    out[i] = mapping === 'reverse' ? numClasses - 1 - y : mapping[y]
  }
  return out
}

/** The dataset with flipped labels; the features are shared, not copied. */
export function labelFlip (data: ClassificationDataset, mapping: LabelMapping = 'reverse'): ClassificationDataset {
  return { ...data, labels: flipLabels(data.labels, data.numClasses, mapping) }
}

/** A trigger: feature positions and the values stamped there. */
export interface Trigger {
  /** Flat feature indices (row-major image positions · channels + channel). */
  positions: Uint32Array
  values: Float32Array
}

export interface PatternTriggerOptions {
  /** Image width and height (default 28). */
  width?: number
  height?: number
  /** Top-left corner of the pattern (default: 1 pixel from the bottom-right corner). */
  row?: number
  col?: number
  /** Rows of the pattern: '1' stamps `value`, anything else leaves the pixel alone. Default: a 4×4 checkerboard. */
  pattern?: readonly string[]
  /** Stamped intensity (default 1). */
  value?: number
}

const defaultPattern = ['1010', '0101', '1010', '0101']

/** A pixel-pattern trigger on a single-channel image, stamped where the pattern has a '1'. */
export function patternTrigger (options: PatternTriggerOptions = {}): Trigger {
  const width = options.width ?? 28
  const height = options.height ?? 28
  const pattern = options.pattern ?? defaultPattern
  const rows = pattern.length
  const cols = Math.max(0, ...pattern.map((r) => r.length))
  const row = options.row ?? height - rows - 1
  const col = options.col ?? width - cols - 1
  const value = options.value ?? 1
  checkInt('patternTrigger', 'width', width, 1)
  checkInt('patternTrigger', 'height', height, 1)
  checkNumber('patternTrigger', 'value', value)
  if (rows === 0 || cols === 0) throw new LearnInputError('bad-parameter', 'patternTrigger: the pattern is empty')
  if (!Number.isInteger(row) || !Number.isInteger(col) || row < 0 || col < 0 || row + rows > height || col + cols > width) {
    throw new LearnInputError('bad-parameter', `patternTrigger: a ${rows}×${cols} pattern at (${row}, ${col}) does not fit a ${height}×${width} image`)
  }
  const positions: number[] = []
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < pattern[r].length; c++) {
      if (pattern[r][c] === '1') positions.push((row + r) * width + col + c)
    }
  }
  if (positions.length === 0) throw new LearnInputError('bad-parameter', "patternTrigger: the pattern has no '1'")
  return { positions: Uint32Array.from(positions), values: new Float32Array(positions.length).fill(value) }
}

/**
 * Splits a trigger into `parts` local triggers for a distributed backdoor (DBA): contiguous,
 * disjoint runs of its positions in row-major order, so each is a strip of the pattern and their
 * union is the whole trigger. Peer i stamps part i mod parts.
 */
export function splitTrigger (trigger: Trigger, parts: number): Trigger[] {
  const n = trigger.positions.length
  checkInt('splitTrigger', 'parts', parts, 1, n)
  const order = Array.from(trigger.positions.keys()).sort((a, b) => trigger.positions[a] - trigger.positions[b])
  const out: Trigger[] = []
  for (let p = 0; p < parts; p++) {
    const start = Math.floor(p * n / parts)
    const end = Math.floor((p + 1) * n / parts)
    const idx = order.slice(start, end)
    out.push({
      positions: Uint32Array.from(idx.map((i) => trigger.positions[i])),
      values: Float32Array.from(idx.map((i) => trigger.values[i]))
    })
  }
  return out
}

function checkTrigger (where: string, trigger: Trigger, features: number): void {
  if (trigger.positions.length !== trigger.values.length) {
    throw new LearnInputError('bad-parameter', `${where}: trigger has ${trigger.positions.length} positions but ${trigger.values.length} values`)
  }
  for (const p of trigger.positions) {
    if (p >= features) throw new LearnInputError('bad-parameter', `${where}: trigger position ${p} is outside the ${features} features`)
  }
}

/** Stamps the trigger into rows `rows` of x (count × features) in place. */
export function stampTrigger (x: Float32Array, features: number, trigger: Trigger, rows: ArrayLike<number>): void {
  checkTrigger('stampTrigger', trigger, features)
  for (let i = 0; i < rows.length; i++) {
    const base = rows[i] * features
    if (!Number.isInteger(rows[i]) || rows[i] < 0 || base + features > x.length) {
      throw new LearnInputError('bad-parameter', `stampTrigger: row ${rows[i]} is outside the data`)
    }
    for (let j = 0; j < trigger.positions.length; j++) x[base + trigger.positions[j]] = trigger.values[j]
  }
}

export interface BackdoorOptions {
  trigger: Trigger
  /** Class the trigger should cause. */
  target: number
  /** Share of the local samples to stamp and relabel (default 0.5). */
  fraction?: number
  seed?: number
}

export interface PoisonedData {
  data: ClassificationDataset
  /** Rows that were stamped and relabelled. */
  poisoned: Uint32Array
}

/**
 * Backdoor poisoning of a peer's own data: a seeded `fraction` of its samples get the trigger
 * and the target label. Returns a copy; the input is left untouched.
 */
export function backdoor (data: ClassificationDataset, options: BackdoorOptions): PoisonedData {
  const fraction = options.fraction ?? 0.5
  checkInt('backdoor', 'target', options.target, 0, data.numClasses - 1)
  checkNumber('backdoor', 'fraction', fraction, 0)
  if (fraction > 1) throw new LearnInputError('bad-parameter', `backdoor: fraction must be in [0, 1], got ${fraction}`)
  checkTrigger('backdoor', options.trigger, data.features)
  const k = Math.round(fraction * data.count)
  const poisoned = permutation(data.count, createRng(options.seed ?? 0)).slice(0, k).sort()
  const x = data.x.slice()
  const labels = data.labels.slice()
  stampTrigger(x, data.features, options.trigger, poisoned)
  for (const i of poisoned) labels[i] = options.target
  return { data: { ...data, x, labels }, poisoned }
}

/**
 * The triggered test set for measuring a backdoor: every test sample whose true label is not
 * the target, with the full trigger stamped. Labels stay the true ones.
 */
export function triggeredTestSet (test: ClassificationDataset, trigger: Trigger, target: number): ClassificationDataset {
  checkInt('triggeredTestSet', 'target', target, 0, test.numClasses - 1)
  const keep: number[] = []
  for (let i = 0; i < test.count; i++) if (test.labels[i] !== target) keep.push(i)
  const f = test.features
  const x = new Float32Array(keep.length * f)
  const labels = new Uint8Array(keep.length)
  keep.forEach((row, i) => {
    x.set(test.x.subarray(row * f, row * f + f), i * f)
    labels[i] = test.labels[row]
  })
  stampTrigger(x, f, trigger, Array.from(keep.keys()))
  return { ...test, x, labels, count: keep.length }
}

/**
 * Attack success rate: among triggered inputs whose true label is not the target, the share
 * classified as the target. `predicted` and `trueLabels` are per triggered input; inputs of the
 * target class are skipped. NaN when no input qualifies.
 */
export function attackSuccessRate (predicted: ArrayLike<number>, trueLabels: ArrayLike<number>, target: number): number {
  if (predicted.length !== trueLabels.length) {
    throw new LearnInputError('shape-mismatch', `attackSuccessRate: ${predicted.length} predictions for ${trueLabels.length} labels`)
  }
  let eligible = 0
  let hits = 0
  for (let i = 0; i < predicted.length; i++) {
    if (trueLabels[i] === target) continue
    eligible++
    if (predicted[i] === target) hits++
  }
  return eligible === 0 ? NaN : hits / eligible
}
