/**
 * Learning benchmark: centralized MNIST accuracy of the shipped models against their targets,
 * and the per-step training time at batch 32 of every model on every backend that starts.
 *
 *   node packages/learn/bench/learn-bench.ts [--quick] [--out bench-results/learn.json]
 *        [--backend tensorflow|wasm|cpu] [--skip-accuracy] [--skip-speed]
 *
 * --quick trains one short epoch per model and times fewer steps (a smoke run; the accuracy
 * targets are only expected to hold in a full run). --backend pins the accuracy run and the
 * speed table to one backend. Results are deterministic for the seeds on one backend.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import * as tf from '@tensorflow/tfjs'
import {
  backendNames, createModel, evaluate, initBackend, loadMnist, Trainer,
  type BackendName, type ClassificationDataset, type ModelKind, type TrainerOptions
} from '../src/index.ts'

interface Recipe {
  kind: ModelKind
  /** Test accuracy the model must reach on the 2,000 held-out digits. */
  target: number
  epochs: number
  options: Omit<TrainerOptions, 'schedule'>
}

const batchSize = 32
const recipes: Recipe[] = [
  { kind: 'logistic', target: 0.89, epochs: 3, options: { lr: 0.05, momentum: 0.9, batchSize, seed: 1 } },
  { kind: 'mlp', target: 0.95, epochs: 10, options: { lr: 0.05, momentum: 0.9, weightDecay: 5e-4, batchSize, seed: 1 } },
  { kind: 'cnn', target: 0.97, epochs: 8, options: { lr: 0.05, momentum: 0.9, weightDecay: 5e-4, batchSize, seed: 1 } }
]

/** Per-step time limits this benchmark checks (ms, batch 32). */
const stepLimits: Partial<Record<string, number>> = { 'wasm/cnn': 25 }

interface AccuracyResult {
  model: ModelKind
  backend: string
  params: number
  epochs: number
  steps: number
  target: number
  accuracy: number
  testLoss: number
  passed: boolean
  perEpochAccuracy: number[]
  seconds: number
  recipe: Recipe['options'] & { schedule: string }
}

interface SpeedResult {
  backend: string
  model: ModelKind
  batchSize: number
  steps: number
  medianMs: number
  p10Ms: number
  p90Ms: number
  minMs: number
  limitMs?: number
  withinLimit?: boolean
}

function quantile (sorted: number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))
  return sorted[i]
}

async function accuracyRun (recipe: Recipe, train: ClassificationDataset, test: ClassificationDataset, quick: boolean): Promise<AccuracyResult> {
  const epochs = quick ? 1 : recipe.epochs
  const stepsPerEpoch = Math.floor(train.count / batchSize)
  const totalSteps = epochs * stepsPerEpoch
  const model = createModel({ kind: recipe.kind, seed: 1 })
  const trainer = new Trainer(model, train, { ...recipe.options, schedule: { kind: 'cosine', totalSteps } })
  const start = performance.now()
  const perEpochAccuracy: number[] = []
  let last = evaluate(model, test)
  for (let e = 0; e < epochs; e++) {
    const { loss } = trainer.train(stepsPerEpoch)
    last = evaluate(model, test)
    perEpochAccuracy.push(last.accuracy)
    console.log(`  ${recipe.kind} epoch ${e + 1}/${epochs}: train loss ${loss.toFixed(4)}, test accuracy ${(100 * last.accuracy).toFixed(2)}%`)
  }
  const seconds = (performance.now() - start) / 1000
  const result: AccuracyResult = {
    model: recipe.kind,
    backend: tf.getBackend(),
    params: model.paramCount,
    epochs,
    steps: totalSteps,
    target: recipe.target,
    accuracy: last.accuracy,
    testLoss: last.loss,
    passed: last.accuracy >= recipe.target,
    perEpochAccuracy,
    seconds,
    recipe: { ...recipe.options, schedule: `cosine over ${totalSteps} steps` }
  }
  trainer.dispose()
  model.dispose()
  return result
}

function speedRun (backend: string, kind: ModelKind, train: ClassificationDataset, steps: number): SpeedResult {
  const model = createModel({ kind, seed: 2 })
  const trainer = new Trainer(model, train, { lr: 0.01, momentum: 0.9, batchSize, seed: 2 })
  trainer.train(Math.max(2, Math.ceil(steps / 5))) // warm-up: kernel set-up, XNNPACK operators
  const times: number[] = []
  for (let s = 0; s < steps; s++) {
    const t = performance.now()
    trainer.train(1)
    times.push(performance.now() - t)
  }
  trainer.dispose()
  model.dispose()
  times.sort((a, b) => a - b)
  const limit = stepLimits[`${backend}/${kind}`]
  const median = quantile(times, 0.5)
  return {
    backend,
    model: kind,
    batchSize,
    steps,
    medianMs: median,
    p10Ms: quantile(times, 0.1),
    p90Ms: quantile(times, 0.9),
    minMs: times[0],
    ...(limit === undefined ? {} : { limitMs: limit, withinLimit: median <= limit })
  }
}

/** Steps timed per model and backend: enough for a stable median, few where a step is slow. */
function speedSteps (backend: string, kind: ModelKind, quick: boolean): number {
  if (backend === 'cpu' && kind === 'cnn') return quick ? 3 : 9
  return quick ? 10 : 40
}

async function main (): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: 'bench-results/learn.json' },
      quick: { type: 'boolean', default: false },
      backend: { type: 'string' },
      'skip-accuracy': { type: 'boolean', default: false },
      'skip-speed': { type: 'boolean', default: false }
    }
  })
  const quick = values.quick
  const chosen = await initBackend({ backend: values.backend, log: (line) => console.log(line) })

  const loadStart = performance.now()
  const { train, test } = await loadMnist()
  const mnistLoadMs = performance.now() - loadStart
  console.log(`MNIST: ${train.count} train / ${test.count} test digits loaded in ${mnistLoadMs.toFixed(0)} ms`)

  const accuracy: AccuracyResult[] = []
  if (!values['skip-accuracy']) {
    console.log(`accuracy (${quick ? 'quick: 1 epoch each' : 'full'}) on ${chosen}`)
    for (const recipe of recipes) accuracy.push(await accuracyRun(recipe, train, test, quick))
  }

  const speed: SpeedResult[] = []
  const skipped: Record<string, string> = {}
  if (!values['skip-speed']) {
    const candidates: BackendName[] = values.backend === undefined ? [...backendNames] : [chosen]
    for (const backend of candidates) {
      try {
        await initBackend({ backend })
      } catch (err) {
        skipped[backend] = (err as Error).message
        console.log(`speed: ${backend} skipped (${(err as Error).message})`)
        continue
      }
      for (const { kind } of recipes) {
        const r = speedRun(backend, kind, train, speedSteps(backend, kind, quick))
        speed.push(r)
        const limit = r.limitMs === undefined ? '' : ` (limit ${r.limitMs} ms: ${r.withinLimit === true ? 'ok' : 'OVER'})`
        console.log(`speed: ${backend} ${kind}: median ${r.medianMs.toFixed(2)} ms/step over ${r.steps} steps, ` +
          `p10 ${r.p10Ms.toFixed(2)}, p90 ${r.p90Ms.toFixed(2)}${limit}`)
      }
    }
  }

  console.log('\nmodel     backend  params   epochs  accuracy  target  pass')
  for (const a of accuracy) {
    console.log(`${a.model.padEnd(9)} ${a.backend.padEnd(8)} ${String(a.params).padEnd(8)} ${String(a.epochs).padEnd(7)} ` +
      `${(100 * a.accuracy).toFixed(2).padStart(7)}%  ${(100 * a.target).toFixed(0)}%     ${a.passed ? 'yes' : 'NO'}`)
  }

  const report = {
    benchmark: 'learn',
    date: new Date().toISOString(),
    command: `node ${path.relative(process.cwd(), process.argv[1])} ${process.argv.slice(2).join(' ')}`.trim(),
    quick,
    node: process.version,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    loadAverage: os.loadavg(),
    backend: chosen,
    mnist: { train: train.count, test: test.count, loadMs: mnistLoadMs },
    accuracy,
    speed,
    skippedBackends: skipped,
    note: 'Timings depend on machine load; compare them only between runs on a quiet machine.'
  }
  mkdirSync(path.dirname(path.resolve(values.out)), { recursive: true })
  writeFileSync(values.out, JSON.stringify(report, null, 2) + '\n')
  console.log(`\nwrote ${values.out}`)
}

await main()
