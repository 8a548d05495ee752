/**
 * Synthetic tasks with controllable heterogeneity across nodes: mean estimation (seed 004's
 * toy task: node i samples N(μ_i, σ² I)) and linear / logistic regression where each node's
 * true parameter and feature distribution can be shifted away from the global ones.
 */
import { createRng, type Rng } from '@murmur/robust'
import { checkInt, checkNumber } from '../errors.ts'
import type { ClassificationDataset, Dataset, RegressionDataset } from './dataset.ts'

export interface MeanEstimationOptions {
  nodes: number
  samplesPerNode: number
  dim: number
  /** Standard deviation σ of the samples around their node's mean (default 1). */
  noise?: number
  /** ‖μ_i − μ‖: how far each node's mean sits from the common centre μ (default 0: identical nodes). */
  heterogeneity?: number
  seed?: number
}

export interface MeanEstimationTask {
  /** Node i's samples z ~ N(μ_i, σ² I) as regression targets with no input features. */
  nodes: RegressionDataset[]
  /** The centre μ the node means are shifted from. */
  center: Float32Array
  /** μ_i per node. */
  nodeMeans: Float32Array[]
  /** (1/n) Σ μ_i: what a model trained on all nodes' data converges to. */
  globalMean: Float32Array
}

/** Uniform direction on the unit sphere of R^dim, scaled to `norm`. */
function randomDirection (dim: number, norm: number, rng: Rng): Float32Array {
  const v = new Float32Array(dim)
  let sq = 0
  for (let j = 0; j < dim; j++) {
    v[j] = rng.normal()
    sq += v[j] * v[j]
  }
  const scale = sq > 0 ? norm / Math.sqrt(sq) : 0
  for (let j = 0; j < dim; j++) v[j] *= scale
  return v
}

/** Seed 004's mean-estimation task: node i holds samples of N(μ_i, σ² I), μ_i = μ + Δ·u_i. */
export function meanEstimationTask (options: MeanEstimationOptions): MeanEstimationTask {
  const where = 'meanEstimationTask'
  const { nodes, samplesPerNode, dim } = options
  const noise = options.noise ?? 1
  const delta = options.heterogeneity ?? 0
  checkInt(where, 'nodes', nodes, 1)
  checkInt(where, 'samplesPerNode', samplesPerNode, 1)
  checkInt(where, 'dim', dim, 1)
  checkNumber(where, 'noise', noise, 0)
  checkNumber(where, 'heterogeneity', delta, 0)
  const rng = createRng(options.seed ?? 0)
  const center = randomDirection(dim, Math.sqrt(dim), rng)
  const nodeMeans: Float32Array[] = []
  const data: RegressionDataset[] = []
  const globalMean = new Float32Array(dim)
  for (let i = 0; i < nodes; i++) {
    const shift = randomDirection(dim, delta, rng)
    const mu = new Float32Array(dim)
    for (let j = 0; j < dim; j++) {
      mu[j] = center[j] + shift[j]
      globalMean[j] += mu[j] / nodes
    }
    const targets = new Float32Array(samplesPerNode * dim)
    for (let s = 0; s < samplesPerNode; s++) {
      for (let j = 0; j < dim; j++) targets[s * dim + j] = mu[j] + noise * rng.normal()
    }
    nodeMeans.push(mu)
    data.push({ kind: 'regression', x: new Float32Array(0), targets, count: samplesPerNode, features: 0, targetDim: dim })
  }
  return { nodes: data, center, nodeMeans, globalMean }
}

export interface RegressionTaskOptions {
  /** 'linear': y = w·x + b + noise; 'logistic': y ~ Bernoulli(sigmoid(w·x + b)), labels 0/1. */
  kind: 'linear' | 'logistic'
  nodes: number
  samplesPerNode: number
  dim: number
  /** Held-out samples drawn from the global task (default 1,000). */
  testSamples?: number
  /** Standard deviation of the additive label noise of 'linear' (default 0.1). */
  noise?: number
  /** ‖w*‖ of the global parameter (default 1 for linear, 4 for logistic, so its classes are learnable). */
  weightNorm?: number
  /** ‖w_i − w*‖: per-node shift of the true parameter (default 0). */
  paramShift?: number
  /** ‖m_i‖: node i's features are N(m_i, I) instead of N(0, I) (default 0). */
  featureShift?: number
  seed?: number
}

export interface RegressionTask {
  nodes: Dataset[]
  /** Drawn from the global task: x ~ N(0, I), parameter w*. */
  test: Dataset
  /** [w*, b*] (dim + 1 values). */
  trueParams: Float32Array
  /** [w_i, b*] per node. */
  nodeParams: Float32Array[]
  /** m_i per node. */
  featureMeans: Float32Array[]
}

function sigmoid (z: number): number {
  return 1 / (1 + Math.exp(-z))
}

function drawSamples (kind: 'linear' | 'logistic', count: number, params: Float32Array, mean: Float32Array,
  noise: number, rng: Rng): Dataset {
  const dim = mean.length
  const x = new Float32Array(count * dim)
  const y = kind === 'linear' ? new Float32Array(count) : new Uint8Array(count)
  for (let s = 0; s < count; s++) {
    let z = params[dim]
    for (let j = 0; j < dim; j++) {
      const v = mean[j] + rng.normal()
      x[s * dim + j] = v
      z += params[j] * v
    }
    y[s] = kind === 'linear' ? z + noise * rng.normal() : (rng.next() < sigmoid(z) ? 1 : 0)
  }
  if (kind === 'linear') {
    return { kind: 'regression', x, targets: y as Float32Array, count, features: dim, targetDim: 1 }
  }
  const data: ClassificationDataset = { kind: 'classification', x, labels: y as Uint8Array, count, features: dim, numClasses: 2 }
  return data
}

/** Linear or logistic regression spread over nodes, with per-node parameter and feature shifts. */
export function regressionTask (options: RegressionTaskOptions): RegressionTask {
  const where = 'regressionTask'
  const { kind, nodes, samplesPerNode, dim } = options
  const testSamples = options.testSamples ?? 1000
  const noise = options.noise ?? 0.1
  const weightNorm = options.weightNorm ?? (kind === 'linear' ? 1 : 4)
  const paramShift = options.paramShift ?? 0
  const featureShift = options.featureShift ?? 0
  checkInt(where, 'nodes', nodes, 1)
  checkInt(where, 'samplesPerNode', samplesPerNode, 1)
  checkInt(where, 'dim', dim, 1)
  checkInt(where, 'testSamples', testSamples, 0)
  for (const [name, v] of [['noise', noise], ['weightNorm', weightNorm], ['paramShift', paramShift], ['featureShift', featureShift]] as const) {
    checkNumber(where, name, v, 0)
  }
  const rng = createRng(options.seed ?? 0)
  const trueParams = new Float32Array(dim + 1)
  trueParams.set(randomDirection(dim, weightNorm, rng))
  trueParams[dim] = 0.5 * rng.normal()
  const nodeParams: Float32Array[] = []
  const featureMeans: Float32Array[] = []
  const data: Dataset[] = []
  for (let i = 0; i < nodes; i++) {
    const params = trueParams.slice()
    const shift = randomDirection(dim, paramShift, rng)
    for (let j = 0; j < dim; j++) params[j] += shift[j]
    const mean = randomDirection(dim, featureShift, rng)
    nodeParams.push(params)
    featureMeans.push(mean)
    data.push(drawSamples(kind, samplesPerNode, params, mean, noise, rng))
  }
  const test = drawSamples(kind, testSamples, trueParams, new Float32Array(dim), noise, rng)
  return { nodes: data, test, trueParams, nodeParams, featureMeans }
}
