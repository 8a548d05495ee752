import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createRng } from '@murmur/robust'
import {
  labelHistogram, labelSkew, subset, type ClassificationDataset, partition, partitionDirichlet, partitionQuantity, partitionShards, sampleDirichlet,
  formatPartitionSpec, parsePartitionSpec,
  type Partition, type PartitionSpec
} from '../../src/index.ts'

/** 10 classes, 6,000 samples, seeded and roughly balanced like MNIST. */
function makeLabels (n = 6000, classes = 10, seed = 1): Uint8Array {
  const rng = createRng(seed)
  return Uint8Array.from({ length: n }, () => rng.int(classes))
}

/** Every sample exactly once, histograms consistent with the indices. */
function checkCover (labels: Uint8Array, p: Partition, classes = 10): void {
  const seen = new Uint8Array(labels.length)
  let total = 0
  p.nodes.forEach((idx, node) => {
    total += idx.length
    for (let i = 0; i < idx.length; i++) {
      assert.equal(seen[idx[i]], 0, `sample ${idx[i]} assigned twice`)
      seen[idx[i]] = 1
      if (i > 0) assert.ok(idx[i] > idx[i - 1], 'indices are ascending')
    }
    assert.deepEqual(p.histograms[node], labelHistogram(labels, classes, idx))
  })
  assert.equal(total, labels.length, 'sizes sum to the dataset size')
}

const specs: PartitionSpec[] = [
  { kind: 'iid' },
  { kind: 'dirichlet', alpha: 0.3 },
  { kind: 'shards', shardsPerNode: 2 },
  { kind: 'quantity', beta: 0.5 }
]

describe('partitioners', () => {
  const labels = makeLabels()
  for (const spec of specs) {
    test(`${spec.kind}: covers every sample once, histograms match, deterministic for a seed, ≥ one batch per node`, () => {
      const options = { nodes: 20, numClasses: 10, seed: 5 }
      const p = partition(labels, spec, options)
      checkCover(labels, p)
      assert.equal(p.nodes.length, 20)
      for (const idx of p.nodes) assert.ok(idx.length >= 32, `node has ${idx.length} samples`)
      assert.deepEqual(partition(labels, spec, options), p)
      assert.notDeepEqual(partition(labels, spec, { ...options, seed: 6 }).nodes, p.nodes)
    })
  }

  test('iid: equal sizes (±1) and almost no label skew', () => {
    const p = partition(labels, { kind: 'iid' }, { nodes: 7, numClasses: 10 })
    const sizes = p.nodes.map((n) => n.length)
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1)
    assert.ok(labelSkew(p.histograms) < 0.06, `skew ${labelSkew(p.histograms)}`)
  })

  test('dirichlet: skew grows as α falls', () => {
    const skews = [100, 5, 0.5, 0.05].map((alpha) =>
      labelSkew(partitionDirichlet(labels, alpha, { nodes: 10, numClasses: 10, seed: 2 }).histograms))
    for (let i = 1; i < skews.length; i++) assert.ok(skews[i] > skews[i - 1], `skews ${skews.join(', ')}`)
    assert.ok(skews[0] < 0.1, 'α = 100 is close to IID')
    assert.ok(skews[3] > 0.6, 'α = 0.05 gives each node few classes')
  })

  test('dirichlet: tiny α and many nodes still give every node one batch (minPerNode)', () => {
    const p = partitionDirichlet(labels, 0.01, { nodes: 50, numClasses: 10, seed: 3, minPerNode: 64 })
    checkCover(labels, p)
    for (const idx of p.nodes) assert.ok(idx.length >= 64)
  })

  test('shards: a node sees at most 2 classes per shard', () => {
    const p = partitionShards(labels, 2, { nodes: 30, numClasses: 10, seed: 4 })
    checkCover(labels, p)
    for (const h of p.histograms) assert.ok(h.filter((c) => c > 0).length <= 4)
    assert.ok(labelSkew(p.histograms) > 0.5)
  })

  test('quantity skew: sizes spread more as β falls, labels stay IID-like', () => {
    const spread = (beta: number): number => {
      const sizes = partitionQuantity(labels, beta, { nodes: 10, numClasses: 10, seed: 9 }).nodes.map((n) => n.length)
      const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length
      return Math.sqrt(sizes.reduce((a, s) => a + (s - mean) ** 2, 0) / sizes.length) / mean
    }
    assert.ok(spread(0.1) > spread(1) && spread(1) > spread(100), `${spread(0.1)} ${spread(1)} ${spread(100)}`)
    const p = partitionQuantity(labels, 100, { nodes: 10, numClasses: 10, seed: 9 })
    assert.ok(labelSkew(p.histograms) < 0.1)
  })

  test('subset turns a node\'s indices into its local dataset', () => {
    const data: ClassificationDataset = {
      kind: 'classification', x: Float32Array.from({ length: labels.length * 2 }, (_, i) => i), labels, count: labels.length, features: 2, numClasses: 10
    }
    const p = partition(labels, { kind: 'dirichlet', alpha: 0.5 }, { nodes: 4, numClasses: 10, seed: 1 })
    const local = subset(data, p.nodes[2])
    assert.equal(local.count, p.nodes[2].length)
    assert.deepEqual(labelHistogram(local.labels, 10), p.histograms[2])
    const row = p.nodes[2][3]
    assert.deepEqual(Array.from(local.x.subarray(6, 8)), [2 * row, 2 * row + 1])
    assert.throws(() => subset(data, [labels.length]), /index 6000 at position 0 is outside 0..5999/)
  })

  test('labelSkew on hand-made histograms', () => {
    assert.equal(labelSkew([Uint32Array.of(5, 5), Uint32Array.of(5, 5)]), 0)
    assert.equal(labelSkew([Uint32Array.of(10, 0), Uint32Array.of(0, 10)]), 0.5)
    // pooled (0.6, 0.4); node 0 (1, 0): TV 0.4; node 1 (1/3, 2/3): TV 4/15; mean 1/3
    assert.ok(Math.abs(labelSkew([Uint32Array.of(2, 0), Uint32Array.of(1, 2)]) - 1 / 3) < 1e-12)
    const threeNodes = labelSkew([Uint32Array.of(4, 0), Uint32Array.of(0, 4), Uint32Array.of(2, 2)])
    assert.ok(Math.abs(threeNodes - (0.5 + 0.5 + 0) / 3) < 1e-12)
  })

  test('Dirichlet draws are on the simplex with mean 1/k', () => {
    const rng = createRng(11)
    const mean = new Float64Array(4)
    for (let t = 0; t < 2000; t++) {
      const p = sampleDirichlet(4, 0.5, rng)
      assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-12)
      p.forEach((v, i) => { mean[i] += v / 2000 })
    }
    for (const m of mean) assert.ok(Math.abs(m - 0.25) < 0.02, `mean ${m}`)
    // Extremely small α must not underflow to NaN.
    const tiny = sampleDirichlet(5, 0.001, rng)
    assert.ok(tiny.every((v) => Number.isFinite(v)))
  })

  test('bad input is refused with the reason', () => {
    assert.throws(() => partition(labels, { kind: 'iid' }, { nodes: 200, numClasses: 10 }), /6000 samples cannot give 200 nodes at least 32 each/)
    assert.throws(() => partitionDirichlet(labels, 0, { nodes: 3, numClasses: 10 }), /alpha must be a finite number > 0/)
    assert.throws(() => partition(labels, { kind: 'iid' }, { nodes: 3, numClasses: 5 }), /label \d+ of sample \d+ is not below numClasses 5/)
  })
})

describe('partition grammar', () => {
  test('iid, dirichlet:<α>, shards:<k> and quantity:<β> read and write back', () => {
    const specs: PartitionSpec[] = [{ kind: 'iid' }, { kind: 'dirichlet', alpha: 0.5 }, { kind: 'shards', shardsPerNode: 2 }, { kind: 'quantity', beta: 0.3 }]
    for (const spec of specs) assert.deepEqual(parsePartitionSpec(formatPartitionSpec(spec)), spec)
    assert.equal(formatPartitionSpec({ kind: 'dirichlet', alpha: 0.1 }), 'dirichlet:0.1')
  })

  test('anything else is refused with the grammar in the message', () => {
    for (const text of ['iid:1', 'dirichlet', 'dirichlet:0', 'shards:1.5', 'shards:-1', 'quantity:x', 'dir:0.5', '']) {
      assert.throws(() => parsePartitionSpec(text), /expected iid, dirichlet:<α>, shards:<per node> or quantity:<β>, got "/, text)
    }
  })
})
