/**
 * The models murmur ships, written directly on tfjs core ops over a flat list of variables:
 * multinomial logistic regression, an MLP, a small strided CNN, linear regression and the
 * mean-estimation "model" (a single vector). Parameters move in and out as one Float32Array in
 * a fixed order (each variable row-major, in declaration order), which is what peers exchange.
 */
import * as tf from '@tensorflow/tfjs'
import { createRng, type Rng } from '@murmur/robust'
import { LearnInputError, checkInt } from './errors.ts'

export type ModelKind = 'logistic' | 'mlp' | 'cnn' | 'linear' | 'mean'
export type Task = 'classification' | 'regression'

export interface ModelSpec {
  kind: ModelKind
  /** Input features (default 784; the CNN needs h·w·c of imageShape). Ignored by 'mean'. */
  inputDim?: number
  /** Classes of a classifier (default 10). */
  numClasses?: number
  /** Outputs of a regressor: targets for 'linear', the vector dimension for 'mean' (default 1). */
  outputDim?: number
  /** Hidden units of the MLP (default 128) or of the CNN's first dense layer (default 64). */
  hidden?: number
  /** CNN input image (default [28, 28, 1]). */
  imageShape?: readonly [number, number, number]
  /** CNN conv channels (default [16, 32]); each conv is 5×5, stride 2, 'same'. */
  channels?: readonly [number, number]
  /** Initialisation seed (default 0). */
  seed?: number
}

/** One training or evaluation batch as tensors. */
export interface Batch {
  /** [b, inputDim] features. */
  x: tf.Tensor2D
  /** [b, outputDim]: one-hot labels for a classifier, targets for a regressor. */
  y: tf.Tensor2D
}

export interface Model {
  readonly kind: ModelKind
  readonly task: Task
  readonly inputDim: number
  readonly outputDim: number
  /** Number of scalar parameters (length of getParams()). */
  readonly paramCount: number
  /** Trainable variables in flat-parameter order. */
  readonly variables: readonly tf.Variable[]
  /** Logits (classifier) or predictions (regressor), [b, outputDim]. */
  forward: (x: tf.Tensor2D) => tf.Tensor2D
  /** Mean loss over the batch: softmax cross-entropy, or ½‖prediction − target‖². */
  loss: (batch: Batch) => tf.Scalar
  /** Copies all parameters into `out` (allocated once if absent) and returns it. */
  getParams: (out?: Float32Array) => Float32Array
  /** Writes a flat parameter vector into the existing variables. */
  setParams: (params: Float32Array) => void
  dispose: () => void
}

type Init = 'glorot' | 'zeros'
interface ParamDef { name: string, shape: number[], init: Init, fanIn: number, fanOut: number }

let modelCounter = 0

/** Builds a model from a spec with seeded initialisation. */
export function createModel (spec: ModelSpec): Model {
  const where = `model '${spec.kind}'`
  const seed = spec.seed ?? 0
  const numClasses = spec.numClasses ?? 10
  const inputDim = spec.inputDim ?? 784
  if (spec.kind !== 'mean') checkInt(where, 'inputDim', inputDim, 1)
  switch (spec.kind) {
    case 'logistic': {
      checkInt(where, 'numClasses', numClasses, 2)
      const defs = [dense('w', inputDim, numClasses), bias('b', numClasses)]
      return new FlatModel('logistic', 'classification', inputDim, numClasses, defs, seed,
        (x, [w, b]) => tf.add(tf.matMul(x, w), b))
    }
    case 'mlp': {
      checkInt(where, 'numClasses', numClasses, 2)
      const hidden = spec.hidden ?? 128
      checkInt(where, 'hidden', hidden, 1)
      const defs = [dense('w1', inputDim, hidden), bias('b1', hidden), dense('w2', hidden, numClasses), bias('b2', numClasses)]
      return new FlatModel('mlp', 'classification', inputDim, numClasses, defs, seed,
        (x, [w1, b1, w2, b2]) => tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, w1), b1)), w2), b2))
    }
    case 'cnn':
      return createCnn(spec, inputDim, numClasses, seed)
    case 'linear': {
      const out = spec.outputDim ?? 1
      checkInt(where, 'outputDim', out, 1)
      const defs = [dense('w', inputDim, out), bias('b', out)]
      return new FlatModel('linear', 'regression', inputDim, out, defs, seed,
        (x, [w, b]) => tf.add(tf.matMul(x, w), b))
    }
    case 'mean': {
      const dim = spec.outputDim ?? 1
      checkInt(where, 'outputDim', dim, 1)
      // θ starts at zero; the prediction for every sample is θ itself.
      const defs = [bias('theta', dim)]
      return new FlatModel('mean', 'regression', 0, dim, defs, seed,
        (x, [theta]) => tf.tile(tf.reshape(theta, [1, dim]), [x.shape[0], 1]) as tf.Tensor2D)
    }
    default:
      throw new LearnInputError('bad-parameter', `unknown model kind '${String((spec as ModelSpec).kind)}', expected logistic, mlp, cnn, linear or mean`)
  }
}

/**
 * conv 5×5/2 (16) → relu → conv 5×5/2 (32) → relu → dense (64) → relu → dense. Strided convs
 * instead of pooling keep the wasm step cheap (no pooling gradients, a quarter of the conv
 * arithmetic): about 15 ms per batch of 32 on one core, and ≥ 97% on MNIST in 8 epochs.
 */
function createCnn (spec: ModelSpec, inputDim: number, numClasses: number, seed: number): Model {
  const where = "model 'cnn'"
  const [h, w, c] = spec.imageShape ?? [28, 28, 1]
  const [c1, c2] = spec.channels ?? [16, 32]
  const hidden = spec.hidden ?? 64
  const sizes = [['image height', h], ['image width', w], ['image channels', c], ['channels[0]', c1], ['channels[1]', c2], ['hidden', hidden]] as const
  for (const [name, v] of sizes) {
    checkInt(where, name, v, 1)
  }
  checkInt(where, 'numClasses', numClasses, 2)
  if (inputDim !== h * w * c) {
    throw new LearnInputError('shape-mismatch', `${where}: inputDim ${inputDim} does not match imageShape ${h}×${w}×${c}`)
  }
  const k = 5
  const h2 = Math.ceil(Math.ceil(h / 2) / 2)
  const w2 = Math.ceil(Math.ceil(w / 2) / 2)
  const flat = h2 * w2 * c2
  const defs: ParamDef[] = [
    { name: 'conv1', shape: [k, k, c, c1], init: 'glorot', fanIn: k * k * c, fanOut: k * k * c1 },
    bias('cb1', c1),
    { name: 'conv2', shape: [k, k, c1, c2], init: 'glorot', fanIn: k * k * c1, fanOut: k * k * c2 },
    bias('cb2', c2),
    dense('w3', flat, hidden), bias('b3', hidden),
    dense('w4', hidden, numClasses), bias('b4', numClasses)
  ]
  return new FlatModel('cnn', 'classification', inputDim, numClasses, defs, seed, (x, [k1, b1, k2, b2, w3, b3, w4, b4]) => {
    const img = tf.reshape(x, [x.shape[0], h, w, c]) as tf.Tensor4D
    const a1 = tf.relu(tf.add(tf.conv2d(img, k1 as tf.Tensor4D, 2, 'same'), b1)) as tf.Tensor4D
    const a2 = tf.relu(tf.add(tf.conv2d(a1, k2 as tf.Tensor4D, 2, 'same'), b2))
    const f = tf.reshape(a2, [x.shape[0], flat]) as tf.Tensor2D
    return tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(f, w3), b3)), w4), b4)
  })
}

function dense (name: string, fanIn: number, fanOut: number): ParamDef {
  return { name, shape: [fanIn, fanOut], init: 'glorot', fanIn, fanOut }
}

function bias (name: string, size: number): ParamDef {
  return { name, shape: [size], init: 'zeros', fanIn: size, fanOut: size }
}

/** Glorot-uniform weights (limit √(6/(fanIn+fanOut))), zero biases, from one seeded stream. */
function initialValues (def: ParamDef, rng: Rng): Float32Array {
  const size = def.shape.reduce((a, b) => a * b, 1)
  const values = new Float32Array(size)
  if (def.init === 'glorot') {
    const limit = Math.sqrt(6 / (def.fanIn + def.fanOut))
    for (let i = 0; i < size; i++) values[i] = (2 * rng.next() - 1) * limit
  }
  return values
}

class FlatModel implements Model {
  readonly kind: ModelKind
  readonly task: Task
  readonly inputDim: number
  readonly outputDim: number
  readonly paramCount: number
  readonly variables: tf.Variable[]
  private readonly sizes: number[]
  private readonly staging: Float32Array[]
  private readonly body: (x: tf.Tensor2D, vars: tf.Variable[]) => tf.Tensor2D

  constructor (kind: ModelKind, task: Task, inputDim: number, outputDim: number, defs: ParamDef[], seed: number,
    body: (x: tf.Tensor2D, vars: tf.Variable[]) => tf.Tensor2D) {
    this.kind = kind
    this.task = task
    this.inputDim = inputDim
    this.outputDim = outputDim
    this.body = body
    const rng = createRng(seed)
    const id = modelCounter++
    this.variables = defs.map((def) => {
      const values = initialValues(def, rng)
      return tf.tidy(() => tf.variable(tf.tensor(values, def.shape), true, `murmur/${kind}${id}/${def.name}`))
    })
    this.sizes = defs.map((def) => def.shape.reduce((a, b) => a * b, 1))
    this.paramCount = this.sizes.reduce((a, b) => a + b, 0)
    this.staging = this.sizes.map((size) => new Float32Array(size))
  }

  forward (x: tf.Tensor2D): tf.Tensor2D {
    return this.body(x, this.variables)
  }

  loss (batch: Batch): tf.Scalar {
    return tf.tidy(() => {
      const out = this.forward(batch.x)
      if (this.task === 'classification') {
        return tf.neg(tf.mean(tf.sum(tf.mul(batch.y, tf.logSoftmax(out)), 1))) as tf.Scalar
      }
      return tf.mul(0.5, tf.mean(tf.sum(tf.square(tf.sub(out, batch.y)), 1))) as tf.Scalar
    })
  }

  getParams (out?: Float32Array): Float32Array {
    const target = out ?? new Float32Array(this.paramCount)
    if (target.length !== this.paramCount) {
      throw new LearnInputError('shape-mismatch', `getParams: buffer has ${target.length} entries, the ${this.kind} model has ${this.paramCount} parameters`)
    }
    let offset = 0
    for (let i = 0; i < this.variables.length; i++) {
      target.set(this.variables[i].dataSync() as Float32Array, offset)
      offset += this.sizes[i]
    }
    return target
  }

  setParams (params: Float32Array): void {
    if (params.length !== this.paramCount) {
      throw new LearnInputError('shape-mismatch', `setParams: got ${params.length} values, the ${this.kind} model has ${this.paramCount} parameters`)
    }
    // The cpu backend keeps the array a tensor is made from instead of copying it, so there a
    // fresh copy is needed; the other backends copy into their own memory and the per-variable
    // staging buffers can be reused every round.
    const aliases = tf.getBackend() === 'cpu'
    let offset = 0
    for (let i = 0; i < this.variables.length; i++) {
      const v = this.variables[i]
      const chunk = params.subarray(offset, offset + this.sizes[i])
      offset += this.sizes[i]
      let values: Float32Array
      if (aliases) {
        values = chunk.slice()
      } else {
        values = this.staging[i]
        values.set(chunk)
      }
      const t = tf.tensor(values, v.shape, 'float32')
      v.assign(t)
      t.dispose()
    }
  }

  dispose (): void {
    for (const v of this.variables) v.dispose()
  }
}
