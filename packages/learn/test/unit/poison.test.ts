import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  attackSuccessRate, backdoor, backdoorSuccessRate, createModel, flipLabels, initBackend, labelFlip, patternTrigger,
  splitTrigger, stampTrigger, triggeredTestSet, type ClassificationDataset
} from '../../src/index.ts'

function images (count: number, side: number, fill = 0.25): ClassificationDataset {
  return {
    kind: 'classification',
    x: new Float32Array(count * side * side).fill(fill),
    labels: Uint8Array.from({ length: count }, (_, i) => i % 10),
    count,
    features: side * side,
    numClasses: 10
  }
}

describe('label flipping', () => {
  test('reverse maps y to 9 − y on ten classes', () => {
    assert.deepEqual(Array.from(flipLabels(Uint8Array.of(0, 1, 4, 9, 9), 10)), [9, 8, 5, 0, 0])
    assert.deepEqual(Array.from(flipLabels(Uint8Array.of(0, 1, 2), 3)), [2, 1, 0])
  })

  test('any permutation, given as a table', () => {
    assert.deepEqual(Array.from(flipLabels(Uint8Array.of(0, 1, 2, 2), 3, [1, 2, 0])), [1, 2, 0, 0])
  })

  test('labelFlip copies the labels and shares the features', () => {
    const data = images(4, 2)
    const flipped = labelFlip(data)
    assert.deepEqual(Array.from(flipped.labels), [9, 8, 7, 6])
    assert.deepEqual(Array.from(data.labels), [0, 1, 2, 3], 'input untouched')
    assert.equal(flipped.x, data.x)
  })

  test('bad mappings are refused', () => {
    assert.throws(() => flipLabels(Uint8Array.of(0), 3, [0, 1]), /mapping has 2 entries for 3 classes/)
    assert.throws(() => flipLabels(Uint8Array.of(0), 3, [0, 1, 3]), /mapping\[2\] must be an integer in \[0, 2\]/)
    assert.throws(() => flipLabels(Uint8Array.of(5), 3), /label 5 of sample 0 is not below numClasses 3/)
  })
})

describe('backdoor triggers', () => {
  test('a pattern trigger covers exactly the pattern\'s 1s (hand-checked positions)', () => {
    const t = patternTrigger({ width: 6, height: 5, row: 1, col: 2, pattern: ['101', '011'], value: 0.9 })
    // row 1: cols 2 and 4 → 8, 10; row 2: cols 3 and 4 → 15, 16
    assert.deepEqual(Array.from(t.positions), [8, 10, 15, 16])
    assert.ok(t.values.every((v) => Math.abs(v - 0.9) < 1e-7))
    const corner = patternTrigger() // 4×4 checkerboard one pixel from the bottom-right of 28×28
    assert.equal(corner.positions.length, 8)
    assert.equal(corner.positions[0], 23 * 28 + 23)
    assert.equal(corner.positions[7], 26 * 28 + 26)
    assert.throws(() => patternTrigger({ width: 4, height: 4, row: 2, col: 2, pattern: ['111'] }), /does not fit a 4×4 image/)
  })

  test('stamping writes the trigger into the chosen rows only', () => {
    const data = images(3, 4)
    const t = patternTrigger({ width: 4, height: 4, row: 0, col: 0, pattern: ['11', '01'] }) // positions 0, 1, 5
    stampTrigger(data.x, 16, t, [1])
    const row = (i: number): number[] => Array.from(data.x.subarray(i * 16, i * 16 + 16))
    const expected = new Array(16).fill(0.25)
    expected[0] = expected[1] = expected[5] = 1
    assert.deepEqual(row(1), expected)
    assert.deepEqual(row(0), new Array(16).fill(0.25))
    assert.deepEqual(row(2), new Array(16).fill(0.25))
  })

  test('backdoor poisoning stamps and relabels a seeded fraction, on a copy', () => {
    const data = images(20, 4)
    const t = patternTrigger({ width: 4, height: 4, row: 3, col: 3, pattern: ['1'] }) // pixel 15
    const { data: poisoned, poisoned: rows } = backdoor(data, { trigger: t, target: 7, fraction: 0.25, seed: 3 })
    assert.equal(rows.length, 5)
    for (let i = 0; i < 20; i++) {
      const hit = rows.includes(i)
      assert.equal(poisoned.x[i * 16 + 15], hit ? 1 : 0.25)
      assert.equal(poisoned.labels[i], hit ? 7 : data.labels[i])
    }
    assert.ok(data.x.every((v) => v === 0.25), 'input untouched')
    assert.deepEqual(backdoor(data, { trigger: t, target: 7, fraction: 0.25, seed: 3 }).poisoned, rows)
  })

  test('the distributed (DBA) split is disjoint and covers the full trigger', () => {
    const full = patternTrigger()
    for (const parts of [1, 2, 3, 4, 8]) {
      const pieces = splitTrigger(full, parts)
      assert.equal(pieces.length, parts)
      const union = pieces.flatMap((p) => Array.from(p.positions))
      assert.equal(new Set(union).size, union.length, 'disjoint')
      assert.deepEqual(union.sort((a, b) => a - b), Array.from(full.positions).sort((a, b) => a - b))
      for (const p of pieces) assert.ok(p.positions.length >= Math.floor(8 / parts))
    }
    // Stamping every local piece gives the same image as stamping the global trigger.
    const a = images(1, 28)
    const b = images(1, 28)
    for (const piece of splitTrigger(full, 4)) stampTrigger(a.x, 784, piece, [0])
    stampTrigger(b.x, 784, full, [0])
    assert.deepEqual(a.x, b.x)
    assert.throws(() => splitTrigger(full, 9), /parts must be an integer in \[1, 8\]/)
  })
})

describe('attack success rate', () => {
  test('share of triggered non-target inputs classified as the target (hand-made)', () => {
    // target 3: the input labelled 3 is skipped; of the other four, two are predicted 3.
    assert.equal(attackSuccessRate([3, 3, 1, 3, 0], [1, 3, 1, 2, 0], 3), 2 / 4)
    assert.equal(attackSuccessRate([0, 0], [1, 2], 0), 1)
    assert.ok(Number.isNaN(attackSuccessRate([3], [3], 3)))
    assert.throws(() => attackSuccessRate([1, 2], [1], 0), /2 predictions for 1 labels/)
  })

  test('on a hand-set model: a trigger on the feature that drives the target wins, another does not', async () => {
    await initBackend({ backend: 'wasm' })
    // 3 features, 3 classes, logits = (x0, x1, 10·x2): class 2 fires whenever feature 2 is set.
    const model = createModel({ kind: 'logistic', inputDim: 3, numClasses: 3 })
    model.setParams(Float32Array.of(1, 0, 0, 0, 1, 0, 0, 0, 10, 0, 0, 0))
    const test: ClassificationDataset = {
      kind: 'classification', x: Float32Array.of(1, 0, 0, 0, 1, 0, 0.5, 0, 0.2), labels: Uint8Array.of(0, 1, 2), count: 3, features: 3, numClasses: 3
    }
    const onTarget = { positions: Uint32Array.of(2), values: Float32Array.of(1) }
    const elsewhere = { positions: Uint32Array.of(0), values: Float32Array.of(0.1) }
    const triggered = triggeredTestSet(test, onTarget, 2)
    assert.equal(triggered.count, 2, 'the target-class input is left out')
    assert.deepEqual(Array.from(triggered.x), [1, 0, 1, 0, 1, 1])
    assert.equal(backdoorSuccessRate(model, test, onTarget, 2), 1)
    assert.equal(backdoorSuccessRate(model, test, elsewhere, 2), 0)
    model.dispose()
  })
})
