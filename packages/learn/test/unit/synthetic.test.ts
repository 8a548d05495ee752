import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { meanEstimationTask, regressionTask, type ClassificationDataset, type RegressionDataset } from '../../src/index.ts'

function norm (v: ArrayLike<number>): number {
  let s = 0
  for (let i = 0; i < v.length; i++) s += v[i] * v[i]
  return Math.sqrt(s)
}

function diff (a: ArrayLike<number>, b: ArrayLike<number>, n = a.length): number[] {
  return Array.from({ length: n }, (_, i) => a[i] - b[i])
}

/** Column means of a count × dim row-major array. */
function columnMeans (values: Float32Array, count: number, dim: number): number[] {
  const m = new Array(dim).fill(0)
  for (let s = 0; s < count; s++) for (let j = 0; j < dim; j++) m[j] += values[s * dim + j] / count
  return m
}

describe('synthetic tasks', () => {
  test('mean estimation: node means sit exactly Δ from the centre, samples scatter σ around them', () => {
    const task = meanEstimationTask({ nodes: 6, samplesPerNode: 4000, dim: 5, noise: 0.5, heterogeneity: 3, seed: 1 })
    assert.equal(task.nodes.length, 6)
    const average = new Array(5).fill(0)
    task.nodeMeans.forEach((mu, i) => {
      assert.ok(Math.abs(norm(diff(mu, task.center)) - 3) < 1e-5)
      const node = task.nodes[i]
      assert.equal(node.features, 0)
      assert.equal(node.targetDim, 5)
      const m = columnMeans(node.targets, node.count, 5)
      assert.ok(norm(diff(m, mu)) < 0.05, 'sample mean near μ_i')
      let sq = 0
      for (let s = 0; s < node.count; s++) for (let j = 0; j < 5; j++) sq += (node.targets[s * 5 + j] - mu[j]) ** 2
      assert.ok(Math.abs(Math.sqrt(sq / (node.count * 5)) - 0.5) < 0.02, 'spread σ')
      for (let j = 0; j < 5; j++) average[j] += mu[j] / 6
    })
    assert.ok(norm(diff(average, task.globalMean)) < 1e-5)
    const same = meanEstimationTask({ nodes: 3, samplesPerNode: 2, dim: 4, heterogeneity: 0, seed: 2 })
    for (const mu of same.nodeMeans) assert.deepEqual(mu, same.center)
  })

  test('linear regression: each node\'s least-squares fit recovers its own shifted parameter', () => {
    const task = regressionTask({ kind: 'linear', nodes: 3, samplesPerNode: 3000, dim: 2, noise: 0.05, paramShift: 1, seed: 3 })
    task.nodeParams.forEach((p, i) => {
      assert.ok(Math.abs(norm(diff(p, task.trueParams, 2)) - 1) < 1e-5, '‖w_i − w*‖ = paramShift')
      const node = task.nodes[i] as RegressionDataset
      // Normal equations for [w0, w1, b] with x ~ N(0, I): solve the 3×3 system by Cramer's rule.
      const A = [[0, 0, 0], [0, 0, 0], [0, 0, 0]]
      const r = [0, 0, 0]
      for (let s = 0; s < node.count; s++) {
        const f = [node.x[2 * s], node.x[2 * s + 1], 1]
        for (let a = 0; a < 3; a++) {
          r[a] += f[a] * node.targets[s]
          for (let b = 0; b < 3; b++) A[a][b] += f[a] * f[b]
        }
      }
      const det = (m: number[][]): number => m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
        m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
      const d = det(A)
      const fit = [0, 1, 2].map((c) => det(A.map((row, k) => row.map((v, j) => (j === c ? r[k] : v)))) / d)
      assert.ok(norm(diff(fit, p)) < 0.02, `fit ${fit} vs ${Array.from(p)}`)
    })
  })

  test('feature shift moves each node\'s feature mean, the test set stays centred', () => {
    const task = regressionTask({ kind: 'linear', nodes: 2, samplesPerNode: 4000, dim: 3, featureShift: 2, testSamples: 4000, seed: 5 })
    task.nodes.forEach((node, i) => {
      assert.ok(Math.abs(norm(task.featureMeans[i]) - 2) < 1e-5)
      assert.ok(norm(diff(columnMeans(node.x, node.count, 3), task.featureMeans[i])) < 0.1)
    })
    assert.ok(norm(columnMeans(task.test.x, task.test.count, 3)) < 0.1)
  })

  test('logistic regression: 0/1 labels that the true parameter predicts well', () => {
    const task = regressionTask({ kind: 'logistic', nodes: 2, samplesPerNode: 2000, dim: 4, seed: 6 })
    const test = task.test as ClassificationDataset
    assert.equal(test.numClasses, 2)
    let right = 0
    for (let s = 0; s < test.count; s++) {
      let z = task.trueParams[4]
      for (let j = 0; j < 4; j++) z += task.trueParams[j] * test.x[s * 4 + j]
      assert.ok(test.labels[s] <= 1)
      if ((z > 0 ? 1 : 0) === test.labels[s]) right++
    }
    assert.ok(right / test.count > 0.8, `Bayes-rule accuracy ${right / test.count}`)
  })

  test('tasks are deterministic for a seed', () => {
    const options = { kind: 'logistic', nodes: 2, samplesPerNode: 10, dim: 3, paramShift: 0.5, seed: 9 } as const
    assert.deepEqual(regressionTask(options), regressionTask(options))
    assert.notDeepEqual(regressionTask({ ...options, seed: 10 }).trueParams, regressionTask(options).trueParams)
    assert.throws(() => meanEstimationTask({ nodes: 0, samplesPerNode: 1, dim: 1 }), /nodes must be an integer in \[1,/)
  })
})
