/**
 * Local trainer: K steps of mini-batch SGD with momentum, weight decay and a learning-rate
 * schedule on a model's variables. Batches come from a seeded reshuffle of the local data each
 * epoch, so a run is reproducible for a seed on one backend.
 */
import * as tf from '@tensorflow/tfjs'
import { createRng, permutation, type Rng } from '@murmur/robust'
import { LearnInputError, checkInt, checkNumber } from './errors.ts'
import { BatchBuilder, checkFits } from './batch.ts'
import type { Dataset } from './data/dataset.ts'
import type { Model } from './models.ts'

/**
 * 'heavy-ball': m ← β m + g, θ ← θ − γ m (the usual SGD momentum).
 * 'polyak': m ← β m + (1 − β) g, θ ← θ − γ m (seed 001's averaged momentum: the honest
 * variance shrinks by (1 − β) at the price of a bias ≈ β).
 */
export type MomentumKind = 'heavy-ball' | 'polyak'

export type LrSchedule =
  | { kind: 'constant' }
  /** γ_t = γ / √(1 + t): the classic decay of SGD's convergence proofs. */
  | { kind: 'inv-sqrt' }
  /** γ_t = γ · gamma^⌊t / every⌋ */
  | { kind: 'step', every: number, gamma: number }
  /** γ_t = minLr + ½ (γ − minLr)(1 + cos(π min(t, totalSteps) / totalSteps)) */
  | { kind: 'cosine', totalSteps: number, minLr?: number }

export interface TrainerOptions {
  /** Base learning rate γ. */
  lr: number
  /** β in [0, 1) (default 0: plain SGD). */
  momentum?: number
  momentumKind?: MomentumKind
  /** L2 weight decay λ: the gradient becomes g + λθ (default 0). */
  weightDecay?: number
  schedule?: LrSchedule
  /** Samples per step (default 32; the whole local set if smaller). */
  batchSize?: number
  /** Seed of the batch order (default 0). */
  seed?: number
}

export interface TrainResult {
  /** Mean training loss over the steps just run. */
  loss: number
  steps: number
  /** Learning rate of the last step. */
  lr: number
}

/** The learning rate of step t (0-based) under a schedule. */
export function learningRate (base: number, schedule: LrSchedule, step: number): number {
  switch (schedule.kind) {
    case 'constant': return base
    case 'inv-sqrt': return base / Math.sqrt(1 + step)
    case 'step': return base * Math.pow(schedule.gamma, Math.floor(step / schedule.every))
    case 'cosine': {
      const minLr = schedule.minLr ?? 0
      const t = Math.min(step, schedule.totalSteps) / schedule.totalSteps
      return minLr + 0.5 * (base - minLr) * (1 + Math.cos(Math.PI * t))
    }
    default: throw new LearnInputError('bad-parameter',
      `unknown learning-rate schedule '${String((schedule as { kind: unknown }).kind)}', expected constant, inv-sqrt, step or cosine`)
  }
}

function checkSchedule (schedule: LrSchedule): void {
  const where = 'Trainer'
  if (schedule.kind === 'step') {
    checkInt(where, 'schedule.every', schedule.every, 1)
    checkNumber(where, 'schedule.gamma', schedule.gamma, 0, true)
  } else if (schedule.kind === 'cosine') {
    checkInt(where, 'schedule.totalSteps', schedule.totalSteps, 1)
    checkNumber(where, 'schedule.minLr', schedule.minLr ?? 0, 0)
  }
  learningRate(1, schedule, 0)
}

export class Trainer {
  readonly model: Model
  readonly options: Readonly<Required<TrainerOptions>>
  /** Steps taken so far; drives the schedule. Restore it with the optimizer state. */
  stepCount = 0
  private data: Dataset
  private batches: BatchBuilder
  private batchSize: number
  private readonly rng: Rng
  private order: Uint32Array
  private cursor = 0
  private readonly momentumBuffers: tf.Variable[]

  constructor (model: Model, data: Dataset, options: TrainerOptions) {
    const momentum = options.momentum ?? 0
    checkNumber('Trainer', 'lr', options.lr, 0)
    checkNumber('Trainer', 'momentum', momentum, 0)
    if (momentum >= 1) throw new LearnInputError('bad-parameter', `Trainer: momentum must be in [0, 1), got ${momentum}`)
    const kind = options.momentumKind ?? 'heavy-ball'
    if (kind !== 'heavy-ball' && kind !== 'polyak') {
      throw new LearnInputError('bad-parameter', `Trainer: momentumKind must be 'heavy-ball' or 'polyak', got '${String(kind)}'`)
    }
    checkNumber('Trainer', 'weightDecay', options.weightDecay ?? 0, 0)
    checkInt('Trainer', 'batchSize', options.batchSize ?? 32, 1)
    const schedule = options.schedule ?? { kind: 'constant' }
    checkSchedule(schedule)
    this.options = {
      lr: options.lr,
      momentum,
      momentumKind: kind,
      weightDecay: options.weightDecay ?? 0,
      schedule,
      batchSize: options.batchSize ?? 32,
      seed: options.seed ?? 0
    }
    this.model = model
    this.rng = createRng(this.options.seed)
    this.momentumBuffers = model.variables.map((v) => tf.variable(tf.zerosLike(v), false))
    this.data = data
    this.batchSize = 0
    this.order = new Uint32Array(0)
    this.batches = this.attach(data)
  }

  private attach (data: Dataset): BatchBuilder {
    checkFits(this.model, data, 'Trainer')
    if (data.count === 0) throw new LearnInputError('bad-parameter', 'Trainer: the local dataset is empty')
    this.data = data
    this.batchSize = Math.min(this.options.batchSize, data.count)
    this.order = permutation(data.count, this.rng)
    this.cursor = 0
    return new BatchBuilder(data, this.batchSize)
  }

  /** Trains on other local data from now on (e.g. after poisoning); the batch order restarts. */
  setData (data: Dataset): void {
    this.batches = this.attach(data)
  }

  /** Runs `steps` SGD steps on the local data and returns their mean loss. */
  train (steps: number): TrainResult {
    checkInt('Trainer.train', 'steps', steps, 0)
    let lossSum = 0
    let lr = learningRate(this.options.lr, this.options.schedule, this.stepCount)
    for (let s = 0; s < steps; s++) {
      lr = learningRate(this.options.lr, this.options.schedule, this.stepCount)
      lossSum += this.step(lr)
      this.stepCount++
    }
    return { loss: steps > 0 ? lossSum / steps : NaN, steps, lr }
  }

  private nextBatchStart (): number {
    if (this.cursor + this.batchSize > this.data.count) {
      this.order = permutation(this.data.count, this.rng)
      this.cursor = 0
    }
    const start = this.cursor
    this.cursor += this.batchSize
    return start
  }

  private step (lr: number): number {
    const batch = this.batches.build(this.order, this.nextBatchStart(), this.batchSize)
    const vars = this.model.variables
    const { value, grads } = tf.variableGrads(() => this.model.loss(batch), vars as tf.Variable[])
    const { momentum: beta, momentumKind, weightDecay } = this.options
    tf.tidy(() => {
      for (let i = 0; i < vars.length; i++) {
        const v = vars[i]
        const buffer = this.momentumBuffers[i]
        let g: tf.Tensor = grads[v.name]
        if (weightDecay > 0) g = tf.add(g, tf.mul(v, weightDecay))
        const m = tf.add(tf.mul(buffer, beta), momentumKind === 'polyak' ? tf.mul(g, 1 - beta) : g)
        buffer.assign(m)
        v.assign(tf.sub(v, tf.mul(m, lr)))
      }
    })
    const loss = (value.dataSync() as Float32Array)[0]
    tf.dispose([value, batch.x, batch.y])
    tf.dispose(grads)
    return loss
  }

  /** Momentum buffers in flat-parameter order (copied into `out` when given). */
  getOptimizerState (out?: Float32Array): Float32Array {
    const target = out ?? new Float32Array(this.model.paramCount)
    if (target.length !== this.model.paramCount) {
      throw new LearnInputError('shape-mismatch', `getOptimizerState: buffer has ${target.length} entries, the model has ${this.model.paramCount} parameters`)
    }
    let offset = 0
    for (const buffer of this.momentumBuffers) {
      target.set(buffer.dataSync() as Float32Array, offset)
      offset += buffer.size
    }
    return target
  }

  /** Restores momentum buffers saved by getOptimizerState (e.g. from a checkpoint). */
  setOptimizerState (state: Float32Array): void {
    if (state.length !== this.model.paramCount) {
      throw new LearnInputError('shape-mismatch', `setOptimizerState: got ${state.length} values, the model has ${this.model.paramCount} parameters`)
    }
    let offset = 0
    for (const buffer of this.momentumBuffers) {
      // slice: the cpu backend would otherwise keep a view of the caller's array.
      const t = tf.tensor(state.slice(offset, offset + buffer.size), buffer.shape, 'float32')
      buffer.assign(t)
      t.dispose()
      offset += buffer.size
    }
  }

  /** Zeroes the momentum buffers. */
  resetOptimizerState (): void {
    tf.tidy(() => {
      for (const buffer of this.momentumBuffers) buffer.assign(tf.zerosLike(buffer))
    })
  }

  /** Frees the momentum buffers (the model stays alive). */
  dispose (): void {
    for (const buffer of this.momentumBuffers) buffer.dispose()
  }
}
