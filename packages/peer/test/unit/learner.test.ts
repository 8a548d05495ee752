import assert from 'node:assert/strict'
import { before, describe, test } from 'node:test'
import { initBackend } from '@murmur/learn'
import { parseBehaviour } from '../../src/round/byzantine.ts'
import { RoundEngine } from '../../src/round/engine.ts'
import { createLearner, createQuadraticLearner } from '../../src/round/learner.ts'
import { createMemoryHub } from '../../src/net/memory-transport.ts'
import { loadNodeData, type NodeData, type TaskConfig } from '../../src/round/task.ts'

describe('tfjs learner (wasm backend)', () => {
  const task: TaskConfig = { dataset: 'mnist', model: 'logistic', samplesPerNode: 400, testSize: 500, heldOutSize: 64, seed: 1 }
  let data: NodeData
  before(async () => {
    await initBackend({ backend: 'wasm' })
    data = await loadNodeData(task, 0, 1)
  })
  const trainer = { lr: 0.5, batchSize: 32, seed: 0 }

  test('logistic regression on a small MNIST subset: accuracy rises over a few dozen steps', () => {
    const learner = createLearner({ data, trainer })
    try {
      const before = learner.evaluate()
      assert.ok((before.accuracy ?? 1) < 0.3, `untrained accuracy ${before.accuracy}`)
      const { loss } = learner.train(40)
      assert.ok(Number.isFinite(loss))
      const after = learner.evaluate()
      assert.ok((after.accuracy ?? 0) > 0.7, `accuracy ${before.accuracy} → ${after.accuracy}`)
      assert.ok(after.loss < before.loss)
      assert.equal(learner.dimension, 784 * 10 + 10)
    } finally {
      learner.dispose()
    }
  })

  test('every node starts from the same parameters; heldOutLoss scores a candidate without touching the current ones', () => {
    const a = createLearner({ data, trainer })
    const b = createLearner({ data, trainer: { ...trainer, seed: 9 } })
    try {
      assert.deepEqual(a.getParams(), b.getParams())
      b.train(20)
      const current = a.getParams()
      const trained = b.getParams()
      const trainedLoss = a.heldOutLoss(trained)
      assert.ok(trainedLoss < a.heldOutLoss(current), 'the trained candidate scores better')
      assert.deepEqual(a.getParams(), current)
      // Same candidate, same score: nothing carried over between calls.
      assert.equal(a.heldOutLoss(trained), trainedLoss)
      assert.throws(() => a.heldOutLoss(new Float32Array(3)), /candidate has 3 parameters, the model has 7850/)
    } finally {
      a.dispose()
      b.dispose()
    }
  })

  test('optimizer state round-trips (momentum and step) for checkpoints', () => {
    const a = createLearner({ data, trainer: { ...trainer, momentum: 0.9 } })
    const b = createLearner({ data, trainer: { ...trainer, momentum: 0.9 } })
    try {
      a.train(5)
      const state = a.optimizerState()
      assert.equal(state.step, 5)
      assert.ok(state.momentum.some((v) => v !== 0))
      b.setParams(a.getParams())
      b.restoreOptimizerState(state)
      assert.deepEqual(b.optimizerState(), state)
    } finally {
      a.dispose()
      b.dispose()
    }
  })

  test('a labelflip peer trains on flipped labels through the engine', async () => {
    const hub = createMemoryHub({ dimension: 7850 })
    const honest = createLearner({ data, trainer })
    const flipper = createLearner({ data, trainer })
    try {
      const run = (id: string, learner: typeof honest, behaviour?: string): Promise<unknown> => new RoundEngine({
        self: id, neighbours: [], transport: hub.transport(id), learner, rule: 'mean', tolerance: { kind: 'global', f: 0 },
        localSteps: 40, roundTimeoutMs: 100, rounds: 1,
        ...(behaviour === undefined ? {} : { behaviour: parseBehaviour(behaviour) })
      }).run()
      await run('h', honest)
      await run('b', flipper, 'labelflip')
      assert.ok((honest.evaluate().accuracy ?? 0) > 0.7)
      assert.ok((flipper.evaluate().accuracy ?? 1) < 0.15, `label-flipped accuracy ${flipper.evaluate().accuracy}`)
    } finally {
      honest.dispose()
      flipper.dispose()
    }
  })
})

describe('quadratic learner', () => {
  test('one step is θ ← θ − γ(θ − target); losses are ½‖·‖²', () => {
    const learner = createQuadraticLearner({ target: Float32Array.of(2, -4), lr: 0.25, optimum: Float32Array.of(0, 0) })
    assert.deepEqual(learner.train(1), { loss: 0.5 * (4 + 16) })
    assert.deepEqual(Array.from(learner.getParams()), [0.5, -1])
    assert.equal(learner.heldOutLoss(Float32Array.of(2, -3)), 0.5)
    assert.deepEqual(learner.evaluate(), { loss: 0.5 * (0.25 + 1) })
    assert.deepEqual(Array.from(learner.getParams()), [0.5, -1])
  })

  test('heavy-ball momentum and its state', () => {
    const learner = createQuadraticLearner({ target: Float32Array.of(1), lr: 0.5, momentum: 0.5 })
    learner.train(2)
    // m1 = −1, θ1 = 0.5; m2 = 0.5·(−1) + (0.5 − 1) = −1, θ2 = 0.5 + 0.5 = 1.
    assert.deepEqual(Array.from(learner.getParams()), [1])
    assert.deepEqual(learner.optimizerState(), { momentum: Float32Array.of(-1), step: 2 })
  })

  test('bad options are refused', () => {
    assert.throws(() => createQuadraticLearner({ target: new Float32Array(0) }), /target must not be empty/)
    assert.throws(() => createQuadraticLearner({ target: new Float32Array(2), momentum: 1 }), /momentum must be in \[0, 1\)/)
    assert.throws(() => createQuadraticLearner({ target: new Float32Array(2), initial: new Float32Array(3) }), /initial has 3 values, target has 2/)
  })
})
