import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { ClassificationDataset, RegressionDataset } from '@murmur/learn'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Topology } from '@murmur/topology'
import { planSwarm, SwarmConfigError, type SwarmOptions } from '../../src/swarm/plan.ts'
import { checkTaskFits, loadJoinerData, loadNodeData, TaskConfigError, validateTaskConfig, type TaskConfig } from '../../src/round/task.ts'
import { tempDir } from '../helpers/temp.ts'

/** Rows of a dataset as strings, to compare sample sets. */
function rows (data: ClassificationDataset): string[] {
  const out: string[] = []
  for (let i = 0; i < data.count; i++) out.push(`${data.labels[i]}:${data.x.subarray(i * data.features, (i + 1) * data.features).join(',')}`)
  return out
}

describe('validateTaskConfig', () => {
  test('fills in the defaults', () => {
    assert.deepEqual(validateTaskConfig({ dataset: 'mnist' }), {
      dataset: 'mnist', partition: { kind: 'iid' }, model: 'mlp', testSize: 1000, heldOutSize: 64, seed: 0,
      synthetic: { dim: 10, noise: 1, heterogeneity: 1 }
    })
  })

  test('names the bad field', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ dataset: 'cifar' }, /^task\.dataset: expected one of mnist, fashion-mnist, synthetic-mean, got "cifar"$/],
      [{ dataset: 'mnist', model: 'resnet' }, /^task\.model: expected one of logistic, mlp, cnn/],
      [{ dataset: 'mnist', partition: { kind: 'dirichlet', alpha: -1 } }, /^task\.partition\.alpha: expected a finite number > 0, got -1$/],
      [{ dataset: 'mnist', partition: { kind: 'shards', shardsPerNode: 1.5 } }, /^task\.partition\.shardsPerNode: expected an integer ≥ 1/],
      [{ dataset: 'mnist', partition: { kind: 'zipf' } }, /^task\.partition\.kind: expected one of iid, dirichlet, shards, quantity/],
      [{ dataset: 'mnist', partition: { kind: 'iid', alpha: 1 } }, /^task\.partition\.alpha: unknown field/],
      [{ dataset: 'mnist', testSize: 0 }, /^task\.testSize: expected an integer ≥ 1, got 0$/],
      [{ dataset: 'mnist', testSize: 5000 }, /^task\.testSize: mnist has 2000 test samples here, asked for 5000$/],
      [{ dataset: 'mnist', heldOutSize: -3 }, /^task\.heldOutSize: expected an integer ≥ 0/],
      [{ dataset: 'mnist', samplesPerNode: '100' }, /^task\.samplesPerNode: expected an integer ≥ 1, got "100"$/],
      [{ dataset: 'mnist', hidden: 0 }, /^task\.hidden: expected an integer ≥ 1/],
      [{ dataset: 'mnist', seed: 1.5 }, /^task\.seed: expected an integer ≥ 0/],
      [{ dataset: 'mnist', epochs: 3 }, /^task\.epochs: unknown field; known fields: dataset, partition/],
      [{ dataset: 'synthetic-mean', synthetic: { dim: 0 } }, /^task\.synthetic\.dim: expected an integer ≥ 1/],
      [{ dataset: 'synthetic-mean', synthetic: { noise: -1 } }, /^task\.synthetic\.noise: expected a finite number ≥ 0/]
    ]
    for (const [config, message] of bad) {
      assert.throws(() => validateTaskConfig(config as TaskConfig), (err: unknown) => err instanceof TaskConfigError && message.test(err.message), JSON.stringify(config))
    }
  })
})

describe('loadNodeData', () => {
  const task: TaskConfig = { dataset: 'mnist', model: 'logistic', partition: { kind: 'dirichlet', alpha: 0.5 }, samplesPerNode: 200, testSize: 300, heldOutSize: 20, seed: 3 }

  test('every call computes the same partition; nodes hold disjoint samples; held-out comes out of the node\'s own', async () => {
    const first = await Promise.all([0, 1, 2, 3].map(async (i) => await loadNodeData(task, i, 4)))
    const again = await loadNodeData({ ...task }, 2, 4)
    assert.deepEqual(again.train, first[2].train)
    assert.deepEqual(again.heldOut, first[2].heldOut)
    const seen = new Set<string>()
    let total = 0
    for (const node of first) {
      assert.equal(node.heldOut.count, 20)
      for (const row of [...rows(node.train as ClassificationDataset), ...rows(node.heldOut as ClassificationDataset)]) {
        seen.add(row)
        total++
      }
    }
    // 4 × 200 samples spread over the nodes, each exactly once (rows could repeat only if MNIST had duplicate images).
    assert.equal(total, 800)
    assert.ok(seen.size >= 799)
    // Dirichlet skew: the nodes' label histograms differ.
    const hist = (d: ClassificationDataset): string => Array.from({ length: 10 }, (_, k) => d.labels.filter((y) => y === k).length).join(',')
    assert.ok(new Set(first.map((n) => hist(n.train as ClassificationDataset))).size > 1)
  })

  test('the test subset and the model spec are the same on every node', async () => {
    const [a, b] = await Promise.all([0, 3].map(async (i) => await loadNodeData(task, i, 4)))
    assert.equal(a.test.count, 300)
    assert.strictEqual(a.test, b.test)
    assert.deepEqual(a.model, { kind: 'logistic', inputDim: 784, numClasses: 10, imageShape: [28, 28, 1], seed: 3 })
    const other = await loadNodeData({ ...task, seed: 4 }, 0, 4)
    assert.notDeepEqual(other.train, a.train)
  })

  test('synthetic-mean: node i holds samples around its own mean; the test set sits around the honest optimum', async () => {
    const node = await loadNodeData({ dataset: 'synthetic-mean', samplesPerNode: 50, heldOutSize: 10, synthetic: { dim: 3, noise: 0 } }, 1, 5)
    const train = node.train as RegressionDataset
    assert.deepEqual([train.count, node.heldOut.count, node.test.count, train.targetDim], [50, 10, 1000, 3])
    assert.deepEqual(node.model, { kind: 'mean', outputDim: 3, seed: 0 })
    // Noise 0: every sample of the node is its mean, every test sample the optimum.
    assert.deepEqual(train.targets.subarray(0, 3), train.targets.subarray(3, 6))
    assert.deepEqual((node.test as RegressionDataset).targets.subarray(0, 3), node.optimum)
  })

  test('too little data for the held-out batch is refused, naming the field; bad indices too', async () => {
    await assert.rejects(loadNodeData({ dataset: 'mnist', samplesPerNode: 10, heldOutSize: 64 }, 0, 4), /task\.samplesPerNode: 40 training samples cannot give 4 nodes 64 held-out samples/)
    await assert.rejects(loadNodeData(task, 4, 4), /index must be an integer in \[0, 3\], got 4/)
  })
})

describe('loadJoinerData', () => {
  const task: TaskConfig = { dataset: 'mnist', model: 'logistic', samplesPerNode: 200, testSize: 100, heldOutSize: 4, seed: 3 }

  test('a CSV of the model\'s width trains on its rows and tests on the swarm\'s test subset', async () => {
    const dir = tempDir('csv')
    const rows = Array.from({ length: 10 }, (_, r) => [...Array.from({ length: 784 }, (_, k) => ((r + k) % 7) / 7), r % 10].join(','))
    writeFileSync(join(dir, 'mine.csv'), rows.join('\n') + '\n')
    const data = await loadJoinerData(task, 4, { kind: 'csv', path: join(dir, 'mine.csv') })
    const swarm = await loadNodeData(task, 0, 4)
    assert.equal(data.train.count + data.heldOut.count, 10)
    assert.equal(data.heldOut.count, 4)
    assert.deepEqual((data.train as ClassificationDataset).labels, Uint8Array.from([4, 5, 6, 7, 8, 9]))
    assert.equal(data.test, swarm.test)
    assert.deepEqual(data.model, swarm.model)
  })

  test('a CSV of the wrong width is refused, naming the file and both widths', async () => {
    const dir = tempDir('csv')
    writeFileSync(join(dir, 'narrow.csv'), '0.1,0.2,1\n0.3,0.4,0\n')
    await assert.rejects(loadJoinerData(task, 4, { kind: 'csv', path: join(dir, 'narrow.csv') }), /narrow\.csv has 2 feature columns, the swarm's logistic model takes 784/)
  })

  test('a partition spec gives that partition of the swarm\'s split', async () => {
    const a = await loadJoinerData(task, 4, { kind: 'partition', index: 4, count: 5 })
    const b = await loadNodeData(task, 4, 5)
    assert.deepEqual(a.train.x, b.train.x)
  })
})

describe('planning a task over many nodes', () => {
  const ringOf = (n: number): Topology => ({
    name: `ring-${n}`,
    nodes: Array.from({ length: n }, (_, i) => ({ id: `p${i}` })),
    edges: Array.from({ length: n }, (_, i) => [`p${i}`, `p${(i + 1) % n}`] as [string, string])
  })
  const request = (n: number, rule: string): SwarmOptions => ({
    topology: ringOf(n), task: { dataset: 'mnist' }, rounds: 1, localSteps: 1, lr: 0.1, momentum: 0, batchSize: 8, rule, f: 0, roundTimeoutMs: 1000, evalEvery: 1
  })

  test('only loss-aware rules keep held-out samples by default, so 128 nodes share MNIST', () => {
    assert.equal(planSwarm(request(128, 'mean')).options.task.heldOutSize, 0)
    assert.equal(checkTaskFits({ dataset: 'mnist', heldOutSize: 64 }, 123), undefined)
  })

  test('a split that cannot give every node its held-out samples is refused before any peer starts', () => {
    assert.throws(() => planSwarm(request(128, 'pawbrofl')), (err: unknown) => err instanceof SwarmConfigError && /task\.heldOutSize: 8000 training samples of mnist cannot give 128 nodes 64 held-out/.test(err.message))
    assert.throws(() => checkTaskFits({ dataset: 'mnist', samplesPerNode: 10, heldOutSize: 10 }, 4), /task\.samplesPerNode/)
  })
})
