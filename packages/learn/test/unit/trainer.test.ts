import assert from 'node:assert/strict'
import { before, describe, test } from 'node:test'
import {
  createModel, evaluate, initBackend, learningRate, loadMnist, meanEstimationTask, Trainer,
  type ClassificationDataset, type MomentumKind, type RegressionDataset
} from '../../src/index.ts'

/** Two samples of y = 2x − 1 for a 1-input linear model: every step is a full-batch step. */
const line: RegressionDataset = {
  kind: 'regression', x: Float32Array.of(1, 2), targets: Float32Array.of(1, 3), count: 2, features: 1, targetDim: 1
}

/** The trainer's update computed by hand in float64: L = ½ mean (w x + b − y)², g = ∇L + λθ. */
function handUpdates (kind: MomentumKind, beta: number, lr: number, wd: number, steps: number): { params: number[], momentum: number[] } {
  let [w, b] = [0.5, -0.25]
  let [mw, mb] = [0, 0]
  for (let t = 0; t < steps; t++) {
    let gw = 0
    let gb = 0
    for (let i = 0; i < 2; i++) {
      const r = w * line.x[i] + b - line.targets[i]
      gw += r * line.x[i] / 2
      gb += r / 2
    }
    gw += wd * w
    gb += wd * b
    const scale = kind === 'polyak' ? 1 - beta : 1
    mw = beta * mw + scale * gw
    mb = beta * mb + scale * gb
    w -= lr * mw
    b -= lr * mb
  }
  return { params: [w, b], momentum: [mw, mb] }
}

function assertClose (got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(got.length, want.length)
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= tol, `${what}[${i}]: ${got[i]} vs ${want[i]}`)
}

describe('trainer', () => {
  let small: ClassificationDataset
  before(async () => {
    await initBackend({ backend: 'wasm' })
    small = (await loadMnist({ seed: 3, trainSize: 1200, testSize: 0 })).train
  })

  for (const kind of ['heavy-ball', 'polyak'] as const) {
    test(`${kind} momentum with weight decay matches the hand-computed update`, () => {
      const model = createModel({ kind: 'linear', inputDim: 1, outputDim: 1 })
      model.setParams(Float32Array.of(0.5, -0.25))
      const trainer = new Trainer(model, line, { lr: 0.1, momentum: 0.9, momentumKind: kind, weightDecay: 0.01, batchSize: 2 })
      trainer.train(4)
      const want = handUpdates(kind, 0.9, 0.1, 0.01, 4)
      assertClose(model.getParams(), want.params, 1e-6, 'params')
      assertClose(trainer.getOptimizerState(), want.momentum, 1e-6, 'momentum')
      // The two variants really differ after a few steps.
      const other = handUpdates(kind === 'polyak' ? 'heavy-ball' : 'polyak', 0.9, 0.1, 0.01, 4)
      assert.ok(Math.abs(other.params[0] - want.params[0]) > 1e-3)
      trainer.dispose()
      model.dispose()
    })
  }

  test('plain SGD (β = 0) is θ ← θ − γ ∇L', () => {
    const model = createModel({ kind: 'linear', inputDim: 1, outputDim: 1 })
    model.setParams(Float32Array.of(0.5, -0.25))
    const trainer = new Trainer(model, line, { lr: 0.2, batchSize: 8 })
    const result = trainer.train(1)
    // residuals: 0.5 − 0.25 − 1 = −0.75, 1 − 0.25 − 3 = −2.25; loss ½·mean(r²) = 1.40625
    assert.ok(Math.abs(result.loss - 1.40625) < 1e-6)
    assertClose(model.getParams(), [0.5 + 0.2 * (0.75 + 4.5) / 2, -0.25 + 0.2 * 1.5], 1e-6, 'params')
    trainer.dispose()
    model.dispose()
  })

  test('learning-rate schedules', () => {
    assert.equal(learningRate(0.1, { kind: 'constant' }, 1000), 0.1)
    const step = { kind: 'step', every: 10, gamma: 0.5 } as const
    assert.deepEqual([0, 9, 10, 25].map((t) => learningRate(0.8, step, t)), [0.8, 0.8, 0.4, 0.2])
    const cosine = { kind: 'cosine', totalSteps: 100, minLr: 0.01 } as const
    assert.ok(Math.abs(learningRate(0.11, cosine, 0) - 0.11) < 1e-15)
    assert.ok(Math.abs(learningRate(0.11, cosine, 50) - 0.06) < 1e-15)
    assert.equal(learningRate(0.11, cosine, 100), 0.01)
    assert.equal(learningRate(0.11, cosine, 500), 0.01)
    // γ/√(1 + t): 0.6/√1, 0.6/√4, 0.6/√9, 0.6/√100.
    const invSqrt = { kind: 'inv-sqrt' } as const
    const expected = [0.6, 0.3, 0.2, 0.06]
    for (const [k, t] of [0, 3, 8, 99].entries()) assert.ok(Math.abs(learningRate(0.6, invSqrt, t) - expected[k]) < 1e-15, `step ${t}`)
    // The trainer follows it: after 25 steps of a step schedule the last rate is γ·0.5².
    const model = createModel({ kind: 'linear', inputDim: 1, outputDim: 1 })
    const trainer = new Trainer(model, line, { lr: 0.08, schedule: step, batchSize: 2 })
    assert.equal(trainer.train(26).lr, 0.08 * 0.25)
    assert.equal(trainer.stepCount, 26)
    trainer.dispose()
    // Steps 0..3 run at γ/1, γ/√2, γ/√3, γ/2: the fourth step's rate is reported.
    const inv = new Trainer(model, line, { lr: 0.08, schedule: invSqrt, batchSize: 2 })
    assert.equal(inv.train(4).lr, 0.04)
    inv.dispose()
    model.dispose()
  })

  test('loss decreases on a small MNIST task and the model learns', () => {
    const model = createModel({ kind: 'logistic', seed: 1 })
    const trainer = new Trainer(model, small, { lr: 0.1, momentum: 0.9, batchSize: 32, seed: 1 })
    const before = evaluate(model, small)
    const first = trainer.train(10).loss
    trainer.train(60)
    const last = trainer.train(10).loss
    const after = evaluate(model, small)
    assert.ok(before.loss > 2, `initial loss ${before.loss}`)
    assert.ok(last < first && after.loss < 0.6 * before.loss, `${first} → ${last}, eval ${before.loss} → ${after.loss}`)
    assert.ok(after.accuracy > 0.8, `accuracy ${after.accuracy}`)
    trainer.dispose()
    model.dispose()
  })

  test('a seed fixes the run: same seed bitwise equal, other seed different', () => {
    const run = (seed: number): Float32Array => {
      const model = createModel({ kind: 'mlp', hidden: 16, seed })
      const trainer = new Trainer(model, small, { lr: 0.05, momentum: 0.9, batchSize: 16, seed })
      trainer.train(30)
      const p = model.getParams()
      trainer.dispose()
      model.dispose()
      return p
    }
    const a = run(7)
    assert.deepEqual(run(7), a)
    assert.notDeepEqual(run(8), a)
  })

  test('optimizer state export/import resumes a run (a checkpoint)', () => {
    const options = { lr: 0.05, momentum: 0.9, batchSize: 2 }
    const original = createModel({ kind: 'linear', inputDim: 1, outputDim: 1 })
    const trainer = new Trainer(original, line, options)
    trainer.train(5)
    const params = original.getParams()
    const state = trainer.getOptimizerState()
    assert.ok(state.some((v) => v !== 0))
    trainer.train(5)

    const resumed = createModel({ kind: 'linear', inputDim: 1, outputDim: 1 })
    const again = new Trainer(resumed, line, options)
    resumed.setParams(params)
    again.setOptimizerState(state)
    again.stepCount = 5
    again.train(5)
    assertClose(resumed.getParams(), original.getParams(), 1e-6, 'resumed params')

    const cold = createModel({ kind: 'linear', inputDim: 1, outputDim: 1 })
    const fresh = new Trainer(cold, line, options)
    cold.setParams(params)
    fresh.train(5)
    assert.ok(Math.abs(cold.getParams()[0] - original.getParams()[0]) > 1e-3, 'without the momentum the run differs')
    for (const t of [trainer, again, fresh]) t.dispose()
    for (const m of [original, resumed, cold]) m.dispose()
  })

  test('mean estimation (seed 004): full-batch training reaches the node sample mean', () => {
    const task = meanEstimationTask({ nodes: 2, samplesPerNode: 50, dim: 3, heterogeneity: 2, seed: 4 })
    const node = task.nodes[1]
    const mean = [0, 1, 2].map((j) => Array.from({ length: 50 }, (_, s) => node.targets[s * 3 + j]).reduce((a, b) => a + b, 0) / 50)
    const model = createModel({ kind: 'mean', outputDim: 3 })
    const trainer = new Trainer(model, node, { lr: 0.5, batchSize: 50 })
    trainer.train(60)
    assertClose(model.getParams(), mean, 1e-4, 'θ')
    trainer.dispose()
    model.dispose()
  })

  test('evaluate: loss and accuracy of a hand-set classifier, in uneven batches', () => {
    const data: ClassificationDataset = {
      kind: 'classification', x: Float32Array.of(1, 0, 0, 1, 2, 1, 0, 3), labels: Uint8Array.of(0, 1, 1, 1), count: 4, features: 2, numClasses: 2
    }
    const model = createModel({ kind: 'logistic', inputDim: 2, numClasses: 2 })
    model.setParams(Float32Array.of(1, 0, 0, 1, 0, 0)) // logits = x
    const result = evaluate(model, data, 3)
    assert.equal(result.accuracy, 0.75) // (2, 1) is predicted 0 but labelled 1
    const nll = (own: number, other: number): number => Math.log(1 + Math.exp(other - own))
    const want = (nll(1, 0) + nll(1, 0) + nll(1, 2) + nll(3, 0)) / 4
    assert.ok(Math.abs(result.loss - want) < 1e-6, `${result.loss} vs ${want}`)
    model.dispose()
  })

  test('data that does not fit the model, and bad options, are refused', () => {
    const model = createModel({ kind: 'logistic' })
    assert.throws(() => new Trainer(model, line, { lr: 0.1 }), /a logistic model \(classification\) cannot use regression data/)
    const narrow = createModel({ kind: 'logistic', inputDim: 3 })
    assert.throws(() => new Trainer(narrow, small, { lr: 0.1 }), /takes 3 features, the data has 784/)
    assert.throws(() => new Trainer(model, small, { lr: 0.1, momentum: 1 }), /momentum must be in \[0, 1\)/)
    assert.throws(() => new Trainer(model, small, { lr: 0.1, schedule: { kind: 'step', every: 0, gamma: 0.5 } }), /schedule.every must be an integer/)
    const mislabelled: ClassificationDataset = {
      kind: 'classification', x: Float32Array.of(1, 2, 3), labels: Uint8Array.of(5), count: 1, features: 3, numClasses: 2
    }
    const binary = createModel({ kind: 'logistic', inputDim: 3, numClasses: 2 })
    assert.throws(() => new Trainer(binary, mislabelled, { lr: 0.1 }), /label 5 of sample 0 is not below numClasses 2/)
    assert.throws(() => evaluate(binary, mislabelled), /label 5 of sample 0 is not below numClasses 2/)
    binary.dispose()
    model.dispose()
    narrow.dispose()
  })
})
