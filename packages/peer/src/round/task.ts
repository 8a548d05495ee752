// What a swarm learns, as a serialisable value every peer (and every joiner) receives, and how a
// node turns it into its own data. Every node derives the same split, partition and test subset
// from the same seed, so node i's data is the same wherever node i runs.

import { createRng, permutation } from '@murmur/robust'
import {
  loadCsv, loadFashionMnist, loadMnist, meanEstimationTask, partition, subset,
  type ClassificationDataset, type Dataset, type ImageSplit, type ModelSpec, type PartitionSpec, type RegressionDataset
} from '@murmur/learn'

export type TaskDataset = 'mnist' | 'fashion-mnist' | 'synthetic-mean'
export type TaskModel = 'logistic' | 'mlp' | 'cnn'

/** Parameters of the synthetic mean-estimation task (seed 004's toy task). */
export interface SyntheticMeanConfig {
  /** Dimension of the estimated vector (default 10). */
  dim?: number
  /** σ of the samples around their node's mean (default 1). */
  noise?: number
  /** ‖μ_i − μ‖, how far node means sit from the common centre (default 1). */
  heterogeneity?: number
}

/** A learning task, JSON-serialisable (it travels in the swarm manifest). */
export interface TaskConfig {
  dataset: TaskDataset
  /** How training data is spread over nodes (default iid). Ignored by synthetic-mean. */
  partition?: PartitionSpec
  /** Classifier architecture (default mlp). synthetic-mean always uses the mean model. */
  model?: TaskModel
  /** Hidden units of the mlp / dense units of the cnn (the model's default when absent). */
  hidden?: number
  /**
   * Training samples per node on average. Default: the whole training set split over the nodes
   * (synthetic-mean: 100).
   */
  samplesPerNode?: number
  /** Test samples, the same subset on every node so accuracies compare (default 1000). */
  testSize?: number
  /** Samples each node keeps out of its own partition to score models for loss-aware rules (default 64). */
  heldOutSize?: number
  /** Seed of the data split, partition and model initialisation (default 0). */
  seed?: number
  synthetic?: SyntheticMeanConfig
}

/** A TaskConfig with every default filled in. */
export interface ResolvedTaskConfig {
  dataset: TaskDataset
  partition: PartitionSpec
  model: TaskModel
  hidden?: number
  samplesPerNode?: number
  testSize: number
  heldOutSize: number
  seed: number
  synthetic: Required<SyntheticMeanConfig>
}

/** A task that cannot run; the message names the field. */
export class TaskConfigError extends Error {
  readonly field: string
  constructor (field: string, message: string) {
    super(`task.${field}: ${message}`)
    this.name = 'TaskConfigError'
    this.field = field
  }
}

const DATASETS: readonly TaskDataset[] = ['mnist', 'fashion-mnist', 'synthetic-mean']
const MODELS: readonly TaskModel[] = ['logistic', 'mlp', 'cnn']
const TASK_FIELDS = ['dataset', 'partition', 'model', 'hidden', 'samplesPerNode', 'testSize', 'heldOutSize', 'seed', 'synthetic']
const SYNTHETIC_FIELDS = ['dim', 'noise', 'heterogeneity']
const PARTITION_FIELDS: Record<string, readonly string[]> = {
  iid: ['kind'],
  dirichlet: ['kind', 'alpha'],
  shards: ['kind', 'shardsPerNode'],
  quantity: ['kind', 'beta']
}

/** MNIST's split (the `mnist` package holds 10,000 digits) and Fashion-MNIST's, as loaded here. */
const IMAGE_SPLITS: Record<'mnist' | 'fashion-mnist', { train: number, test: number }> = {
  mnist: { train: 8000, test: 2000 },
  'fashion-mnist': { train: 60000, test: 10000 }
}

function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function rejectUnknown (where: string, value: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw new TaskConfigError(where === '' ? key : `${where}.${key}`, `unknown field; known fields: ${known.join(', ')}`)
  }
}

function integer (field: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new TaskConfigError(field, `expected an integer ≥ ${min}, got ${JSON.stringify(value)}`)
  }
  return value
}

function positive (field: string, value: unknown, allowZero = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new TaskConfigError(field, `expected a finite number ${allowZero ? '≥' : '>'} 0, got ${JSON.stringify(value)}`)
  }
  return value
}

function checkPartition (value: unknown): PartitionSpec {
  if (!isObject(value)) throw new TaskConfigError('partition', `expected an object such as { "kind": "dirichlet", "alpha": 0.5 }, got ${JSON.stringify(value)}`)
  const kind = value.kind
  if (typeof kind !== 'string' || !(kind in PARTITION_FIELDS)) {
    throw new TaskConfigError('partition.kind', `expected one of ${Object.keys(PARTITION_FIELDS).join(', ')}, got ${JSON.stringify(kind)}`)
  }
  rejectUnknown('partition', value, PARTITION_FIELDS[kind])
  switch (kind) {
    case 'dirichlet': return { kind, alpha: positive('partition.alpha', value.alpha) }
    case 'shards': return { kind, shardsPerNode: integer('partition.shardsPerNode', value.shardsPerNode, 1) }
    case 'quantity': return { kind, beta: positive('partition.beta', value.beta) }
    default: return { kind: 'iid' }
  }
}

/**
 * Checks a task and fills in its defaults. Throws a TaskConfigError naming the first bad field
 * (`task.partition.alpha: expected a finite number > 0, got -1`); unknown fields are refused too,
 * so a typo in a manifest never passes silently.
 */
export function validateTaskConfig (config: TaskConfig): ResolvedTaskConfig {
  if (!isObject(config)) throw new TaskConfigError('dataset', `the task must be an object, got ${JSON.stringify(config)}`)
  rejectUnknown('', config, TASK_FIELDS)
  const dataset = config.dataset
  if (!DATASETS.includes(dataset)) throw new TaskConfigError('dataset', `expected one of ${DATASETS.join(', ')}, got ${JSON.stringify(dataset)}`)
  const model = config.model ?? 'mlp'
  if (!MODELS.includes(model)) throw new TaskConfigError('model', `expected one of ${MODELS.join(', ')}, got ${JSON.stringify(model)}`)
  const resolved: ResolvedTaskConfig = {
    dataset,
    partition: config.partition === undefined ? { kind: 'iid' } : checkPartition(config.partition),
    model,
    testSize: integer('testSize', config.testSize ?? 1000, 1),
    heldOutSize: integer('heldOutSize', config.heldOutSize ?? 64, 0),
    seed: integer('seed', config.seed ?? 0, 0),
    synthetic: { dim: 10, noise: 1, heterogeneity: 1 }
  }
  if (config.hidden !== undefined) resolved.hidden = integer('hidden', config.hidden, 1)
  if (config.samplesPerNode !== undefined) resolved.samplesPerNode = integer('samplesPerNode', config.samplesPerNode, 1)
  if (resolved.seed > 0xffffffff) throw new TaskConfigError('seed', `expected an integer below 2^32, got ${resolved.seed}`)
  if (config.synthetic !== undefined) {
    if (!isObject(config.synthetic)) throw new TaskConfigError('synthetic', `expected an object, got ${JSON.stringify(config.synthetic)}`)
    rejectUnknown('synthetic', config.synthetic, SYNTHETIC_FIELDS)
    const s = config.synthetic
    if (s.dim !== undefined) resolved.synthetic.dim = integer('synthetic.dim', s.dim, 1)
    if (s.noise !== undefined) resolved.synthetic.noise = positive('synthetic.noise', s.noise, true)
    if (s.heterogeneity !== undefined) resolved.synthetic.heterogeneity = positive('synthetic.heterogeneity', s.heterogeneity, true)
  }
  if (dataset !== 'synthetic-mean') {
    const split = IMAGE_SPLITS[dataset]
    if (resolved.testSize > split.test) {
      throw new TaskConfigError('testSize', `${dataset} has ${split.test} test samples here, asked for ${resolved.testSize}`)
    }
  }
  return resolved
}

/**
 * Checks that the task's data can be split over `nodeCount` nodes, each keeping `heldOutSize`
 * samples plus at least one to train on, before any peer starts (the peers would find out one by
 * one, after the launch began). Throws a TaskConfigError naming the field to change.
 */
export function checkTaskFits (config: TaskConfig, nodeCount: number): void {
  const task = validateTaskConfig(config)
  if (task.dataset === 'synthetic-mean') return
  const available = IMAGE_SPLITS[task.dataset].train
  const pool = task.samplesPerNode === undefined ? available : Math.min(available, task.samplesPerNode * nodeCount)
  const need = (task.heldOutSize + 1) * nodeCount
  if (pool < need) {
    const field = task.samplesPerNode === undefined || task.samplesPerNode * nodeCount > available ? 'heldOutSize' : 'samplesPerNode'
    throw new TaskConfigError(field, `${pool} training samples of ${task.dataset} cannot give ${nodeCount} nodes ${task.heldOutSize} held-out samples plus at least one to train on`)
  }
}

/** One node's share of a task. */
export interface NodeData {
  /** The node's training samples (its partition minus the held-out batch). */
  train: Dataset
  /** The shared test subset, identical on every node. */
  test: Dataset
  /** Samples out of the node's own partition, for scoring neighbours' models. */
  heldOut: Dataset
  /** The model every node builds (same seed, so the same initial parameters everywhere). */
  model: ModelSpec
  /** For synthetic-mean: the honest optimum (1/n) Σ μ_i, what honest training should reach. */
  optimum?: Float32Array
}

interface SharedTaskData {
  /** Per node: its indices into `pool`. */
  parts: Uint32Array[]
  pool: Dataset
  test: Dataset
  optimum?: Float32Array
}

// Many peers share one process: load, split and partition once per (task, node count).
const shared = new Map<string, Promise<SharedTaskData>>()

async function loadImages (task: ResolvedTaskConfig): Promise<ImageSplit> {
  const split = IMAGE_SPLITS[task.dataset as 'mnist' | 'fashion-mnist']
  const options = { trainSize: split.train, testSize: split.test, seed: task.seed }
  return task.dataset === 'mnist' ? await loadMnist(options) : await loadFashionMnist(options)
}

function range (start: number, count: number): Uint32Array {
  const out = new Uint32Array(count)
  for (let i = 0; i < count; i++) out[i] = start + i
  return out
}

async function buildImageTask (task: ResolvedTaskConfig, nodeCount: number): Promise<SharedTaskData> {
  const { train, test } = await loadImages(task)
  const wanted = task.samplesPerNode === undefined ? train.count : Math.min(train.count, task.samplesPerNode * nodeCount)
  // The split is already a seeded shuffle, so its first rows are a uniform sample.
  const pool = wanted === train.count ? train : subset(train, range(0, wanted))
  const minPerNode = task.heldOutSize + 1
  if (pool.count < minPerNode * nodeCount) {
    const field = task.samplesPerNode === undefined ? 'heldOutSize' : 'samplesPerNode'
    throw new TaskConfigError(field, `${pool.count} training samples cannot give ${nodeCount} nodes ${task.heldOutSize} held-out samples plus at least one to train on`)
  }
  const parts = partition(pool.labels, task.partition, { nodes: nodeCount, numClasses: pool.numClasses, seed: task.seed, minPerNode }).nodes
  return { parts, pool, test: subset(test, range(0, task.testSize)) }
}

function buildMeanTask (task: ResolvedTaskConfig, nodeCount: number): SharedTaskData {
  const perNode = (task.samplesPerNode ?? 100) + task.heldOutSize
  const { dim, noise, heterogeneity } = task.synthetic
  const generated = meanEstimationTask({ nodes: nodeCount, samplesPerNode: perNode, dim, noise, heterogeneity, seed: task.seed })
  // One pool of every node's samples, node i owning rows [i·perNode, (i+1)·perNode).
  const targets = new Float32Array(nodeCount * perNode * dim)
  generated.nodes.forEach((node, i) => targets.set(node.targets, i * perNode * dim))
  const pool: RegressionDataset = { kind: 'regression', x: new Float32Array(0), targets, count: nodeCount * perNode, features: 0, targetDim: dim }
  const parts = generated.nodes.map((_, i) => range(i * perNode, perNode))
  // Test samples around the honest optimum: the test loss measures the distance to it.
  const rng = createRng(task.seed ^ 0x7e57)
  const testTargets = new Float32Array(task.testSize * dim)
  for (let s = 0; s < task.testSize; s++) {
    for (let j = 0; j < dim; j++) testTargets[s * dim + j] = generated.globalMean[j] + noise * rng.normal()
  }
  const test: RegressionDataset = { kind: 'regression', x: new Float32Array(0), targets: testTargets, count: task.testSize, features: 0, targetDim: dim }
  return { parts, pool, test, optimum: generated.globalMean }
}

function sharedData (task: ResolvedTaskConfig, nodeCount: number): Promise<SharedTaskData> {
  const key = JSON.stringify([task, nodeCount])
  let pending = shared.get(key)
  if (pending === undefined) {
    pending = task.dataset === 'synthetic-mean'
      ? Promise.resolve().then(() => buildMeanTask(task, nodeCount))
      : buildImageTask(task, nodeCount)
    pending.catch(() => shared.delete(key))
    shared.set(key, pending)
  }
  return pending
}

function modelSpec (task: ResolvedTaskConfig, data: Dataset): ModelSpec {
  if (task.dataset === 'synthetic-mean') return { kind: 'mean', outputDim: task.synthetic.dim, seed: task.seed }
  const images = data as ClassificationDataset
  return {
    kind: task.model,
    inputDim: images.features,
    numClasses: images.numClasses,
    ...(task.hidden === undefined ? {} : { hidden: task.hidden }),
    ...(images.imageShape === undefined ? {} : { imageShape: images.imageShape }),
    seed: task.seed
  }
}

/**
 * Node `index`'s data for a swarm of `nodeCount` nodes: its partition of the training set minus
 * `heldOutSize` samples kept to score models, and the shared test subset. Deterministic in the
 * task (seed included); the dataset load and the partition are shared within a process.
 */
export async function loadNodeData (config: TaskConfig, index: number, nodeCount: number): Promise<NodeData> {
  const task = validateTaskConfig(config)
  if (!Number.isInteger(nodeCount) || nodeCount < 1) throw new RangeError(`loadNodeData: nodeCount must be an integer ≥ 1, got ${nodeCount}`)
  if (!Number.isInteger(index) || index < 0 || index >= nodeCount) {
    throw new RangeError(`loadNodeData: index must be an integer in [0, ${nodeCount - 1}], got ${index}`)
  }
  const data = await sharedData(task, nodeCount)
  const own = data.parts[index]
  // The held-out batch is a seeded sample of the node's own partition, different per node.
  const order = permutation(own.length, createRng((task.seed + 0x9e3779b9 * (index + 1)) >>> 0))
  const held = new Uint32Array(task.heldOutSize)
  const rest = new Uint32Array(own.length - task.heldOutSize)
  for (let i = 0; i < own.length; i++) {
    if (i < task.heldOutSize) held[i] = own[order[i]]
    else rest[i - task.heldOutSize] = own[order[i]]
  }
  held.sort()
  rest.sort()
  return {
    train: subset(data.pool, rest),
    test: data.test,
    heldOut: subset(data.pool, held),
    model: modelSpec(task, data.pool),
    ...(data.optimum === undefined ? {} : { optimum: data.optimum })
  }
}

/** Where a joining node's training data comes from. */
export type JoinerDataSpec =
  /** Partition `index` of the task's data split `count` ways (the swarm's own split and seed). */
  | { kind: 'partition', index: number, count: number }
  /** The node's own samples: numeric feature columns and a label column (learn's CSV format). */
  | { kind: 'csv', path: string }

/**
 * A newcomer's data for a swarm's task. It is tested on the swarm's shared test subset, so its
 * accuracy compares with everyone else's; a CSV must have the model's feature count and labels
 * within the task's classes.
 */
export async function loadJoinerData (config: TaskConfig, swarmNodes: number, spec: JoinerDataSpec): Promise<NodeData> {
  if (spec.kind === 'partition') return await loadNodeData(config, spec.index, spec.count)
  const task = validateTaskConfig(config)
  if (task.dataset === 'synthetic-mean') throw new TaskConfigError('dataset', 'synthetic-mean is generated per node; a CSV file cannot stand in for it')
  const reference = await loadNodeData(config, 0, swarmNodes)
  const spec0 = reference.model as { inputDim?: number, numClasses?: number }
  const own = await loadCsv(spec.path, { numClasses: spec0.numClasses })
  if (own.kind !== 'classification') throw new TaskConfigError('dataset', `${spec.path} does not hold class labels`)
  if (own.features !== spec0.inputDim) {
    throw new TaskConfigError('dataset', `${spec.path} has ${own.features} feature columns, the swarm's ${task.model} model takes ${String(spec0.inputDim)}`)
  }
  const held = Math.min(task.heldOutSize, Math.floor(own.count / 2))
  if (own.count - held < 1) throw new TaskConfigError('dataset', `${spec.path} has ${own.count} rows; at least 2 are needed`)
  return {
    train: subset(own, range(held, own.count - held)),
    heldOut: subset(own, range(0, held)),
    test: reference.test,
    model: reference.model
  }
}
