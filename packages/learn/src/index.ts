/**
 * @murmur/learn: tfjs backend selection, datasets, partitioners, models, the local trainer,
 * evaluation and data poisoning.
 */
export { LearnInputError, type LearnErrorCode } from './errors.ts'
export {
  initBackend, wasmDistDirectory, backendNames, backendEnvVar,
  type BackendName, type InitBackendOptions
} from './backend.ts'
export { registerWasmGradientKernels, replaceSlowKernels, wasmGradientKernels } from './wasm-kernels.ts'
export {
  subset, labelHistogram, validateDataset, outputWidth,
  type Dataset, type ClassificationDataset, type RegressionDataset
} from './data/dataset.ts'
export {
  loadMnist, loadFashionMnist,
  type ImageSplit, type ImageSplitOptions, type FashionMnistOptions
} from './data/mnist.ts'
export {
  meanEstimationTask, regressionTask,
  type MeanEstimationOptions, type MeanEstimationTask, type RegressionTaskOptions, type RegressionTask
} from './data/synthetic.ts'
export { parseCsv, loadCsv, type CsvOptions } from './data/csv.ts'
export {
  partition, parsePartitionSpec, formatPartitionSpec, partitionIid, partitionDirichlet, partitionShards, partitionQuantity, labelSkew, sampleDirichlet,
  type Partition, type PartitionSpec, type PartitionOptions
} from './data/partition.ts'
export { createModel, type Model, type ModelSpec, type ModelKind, type Task, type Batch } from './models.ts'
export {
  Trainer, learningRate,
  type TrainerOptions, type TrainResult, type MomentumKind, type LrSchedule
} from './trainer.ts'
export { evaluate, predictLabels, backdoorSuccessRate, type Evaluation } from './evaluate.ts'
export {
  flipLabels, labelFlip, patternTrigger, splitTrigger, stampTrigger, backdoor, triggeredTestSet, attackSuccessRate,
  type LabelMapping, type Trigger, type PatternTriggerOptions, type BackdoorOptions, type PoisonedData
} from './poison.ts'
