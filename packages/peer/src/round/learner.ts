// Learners the round engine drives: one over @murmur/learn (tfjs model + trainer) for real tasks,
// and a tfjs-free quadratic one whose optimum is known in closed form, for engine tests and fast
// simulations.

import { createRng, type Rng } from '@murmur/robust'
import { createModel, evaluate, Trainer, type TrainerOptions } from '@murmur/learn'
import type { NodeData } from './task.ts'
import type { Learner } from './types.ts'

export interface LearnerOptions {
  /** The node's data and model (what loadNodeData returns). */
  data: Pick<NodeData, 'model' | 'train' | 'test' | 'heldOut'>
  /**
   * Optimiser settings. Give each node its own `seed` (its batch order); the model's seed lives
   * in `data.model` and is shared by every node.
   */
  trainer: TrainerOptions
  /** Samples per evaluation batch (default 500). */
  evalBatchSize?: number
}

/**
 * A Learner over a @murmur/learn model and Trainer. Nodes built from the same ModelSpec (same
 * seed) start from identical parameters, as gossip learning assumes.
 */
export function createLearner (options: LearnerOptions): Learner {
  const { data } = options
  const model = createModel(data.model)
  let trainer: Trainer
  try {
    trainer = new Trainer(model, data.train, options.trainer)
  } catch (error) {
    model.dispose()
    throw error
  }
  const evalBatch = options.evalBatchSize ?? 500
  // Scratch for heldOutLoss: the current parameters are parked here while a candidate is scored.
  const parked = new Float32Array(model.paramCount)
  let disposed = false
  const alive = (what: string): void => {
    if (disposed) throw new Error(`learner: ${what} after dispose()`)
  }
  return {
    dimension: model.paramCount,
    getParams: () => { alive('getParams'); return model.getParams() },
    setParams: (params) => {
      alive('setParams')
      if (params.length !== model.paramCount) {
        throw new RangeError(`learner: ${params.length} parameters given, the model has ${model.paramCount}`)
      }
      model.setParams(params)
    },
    train: (steps) => { alive('train'); return { loss: trainer.train(steps).loss } },
    heldOutLoss: (params) => {
      alive('heldOutLoss')
      if (data.heldOut.count === 0) throw new Error('learner: heldOutLoss needs held-out samples, but this node has none (heldOutSize 0)')
      if (params.length !== model.paramCount) {
        throw new RangeError(`learner: candidate has ${params.length} parameters, the model has ${model.paramCount}`)
      }
      model.getParams(parked)
      try {
        model.setParams(params)
        return evaluate(model, data.heldOut, evalBatch).loss
      } finally {
        model.setParams(parked)
      }
    },
    evaluate: () => {
      alive('evaluate')
      const result = evaluate(model, data.test, evalBatch)
      return model.task === 'classification' ? { loss: result.loss, accuracy: result.accuracy } : { loss: result.loss }
    },
    optimizerState: () => { alive('optimizerState'); return { momentum: trainer.getOptimizerState(), step: trainer.stepCount } },
    restoreOptimizerState: (state) => {
      alive('restoreOptimizerState')
      if (!Number.isInteger(state.step) || state.step < 0) throw new RangeError(`learner: step must be an integer ≥ 0, got ${state.step}`)
      trainer.setOptimizerState(state.momentum)
      trainer.stepCount = state.step
    },
    poison: (transform) => {
      alive('poison')
      trainer.setData(transform(data.train))
    },
    dispose: () => {
      if (disposed) return
      disposed = true
      trainer.dispose()
      model.dispose()
    }
  }
}

export interface QuadraticLearnerOptions {
  /** This node's local optimum target_i: its loss is ½‖θ − target_i‖². */
  target: Float32Array
  /** Step size γ (default 0.1). */
  lr?: number
  /** Heavy-ball momentum β in [0, 1) (default 0). */
  momentum?: number
  /** σ of the Gaussian gradient noise (default 0). */
  noise?: number
  /** Seed of the gradient noise (default 0). */
  seed?: number
  /** Initial parameters, the same on every node (default zeros). */
  initial?: Float32Array
  /** What evaluate() measures the distance to, e.g. the honest optimum (default target). */
  optimum?: Float32Array
}

function halfSquaredDistance (a: Float32Array, b: Float32Array): number {
  let s = 0
  for (let j = 0; j < a.length; j++) {
    const diff = a[j] - b[j]
    s += diff * diff
  }
  return 0.5 * s
}

/**
 * A tfjs-free learner for tests and simulations: each step θ ← θ − γ m with
 * m ← β m + (θ − target_i + σ ξ), ξ ~ N(0, I), i.e. SGD on ½‖θ − target_i‖². Honest nodes
 * mixing well end near the mean of their targets, which a test can compute exactly.
 * heldOutLoss(p) = ½‖p − target_i‖²; evaluate() = ½‖θ − optimum‖².
 */
export function createQuadraticLearner (options: QuadraticLearnerOptions): Learner {
  const target = Float32Array.from(options.target)
  const d = target.length
  if (d === 0) throw new RangeError('quadratic learner: target must not be empty')
  const lr = options.lr ?? 0.1
  const beta = options.momentum ?? 0
  const noise = options.noise ?? 0
  if (!(lr > 0 && Number.isFinite(lr))) throw new RangeError(`quadratic learner: lr must be a finite number > 0, got ${lr}`)
  if (!(beta >= 0 && beta < 1)) throw new RangeError(`quadratic learner: momentum must be in [0, 1), got ${beta}`)
  if (!(noise >= 0 && Number.isFinite(noise))) throw new RangeError(`quadratic learner: noise must be a finite number ≥ 0, got ${noise}`)
  const optimum = options.optimum === undefined ? target : Float32Array.from(options.optimum)
  for (const [name, v] of [['optimum', optimum], ['initial', options.initial]] as const) {
    if (v !== undefined && v.length !== d) throw new RangeError(`quadratic learner: ${name} has ${v.length} values, target has ${d}`)
  }
  const theta = options.initial === undefined ? new Float32Array(d) : Float32Array.from(options.initial)
  let momentum = new Float32Array(d)
  let step = 0
  let rng: Rng = createRng(options.seed ?? 0)
  return {
    dimension: d,
    getParams: () => theta.slice(),
    setParams: (params) => {
      if (params.length !== d) throw new RangeError(`quadratic learner: ${params.length} parameters given, the model has ${d}`)
      theta.set(params)
    },
    train: (steps) => {
      if (!Number.isInteger(steps) || steps < 0) throw new RangeError(`quadratic learner: steps must be an integer ≥ 0, got ${steps}`)
      let lossSum = 0
      for (let s = 0; s < steps; s++) {
        lossSum += halfSquaredDistance(theta, target)
        for (let j = 0; j < d; j++) {
          const g = theta[j] - target[j] + (noise > 0 ? noise * rng.normal() : 0)
          momentum[j] = beta * momentum[j] + g
          theta[j] -= lr * momentum[j]
        }
        step++
      }
      return { loss: steps > 0 ? lossSum / steps : NaN }
    },
    heldOutLoss: (params) => {
      if (params.length !== d) throw new RangeError(`quadratic learner: candidate has ${params.length} parameters, the model has ${d}`)
      return halfSquaredDistance(params, target)
    },
    evaluate: () => ({ loss: halfSquaredDistance(theta, optimum) }),
    optimizerState: () => ({ momentum: momentum.slice(), step }),
    restoreOptimizerState: (state) => {
      if (state.momentum.length !== d) throw new RangeError(`quadratic learner: momentum has ${state.momentum.length} values, the model has ${d}`)
      momentum = Float32Array.from(state.momentum)
      step = state.step
      // A resumed run draws fresh noise seeded by the step, so it does not replay the first rounds'.
      rng = createRng(((options.seed ?? 0) + Math.imul(step, 0x9e3779b1)) >>> 0)
    },
    dispose: () => {}
  }
}
