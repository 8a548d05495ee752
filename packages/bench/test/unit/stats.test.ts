import assert from 'node:assert/strict'
import { test } from 'node:test'
import { allFinite, leastSquares, median, round, spearman, thin } from '../../src/stats.ts'

test('median, least squares, Spearman, thinning and finiteness', () => {
  assert.equal(median([3, 1, 2]), 2)
  assert.equal(median([4, 1, 3, 2]), 2.5)
  assert.ok(Number.isNaN(median([])))
  const x = [0, 1, 2, 3, 4, 5]
  const fit = leastSquares(x, x.map((t) => 2 - 0.5 * t), 1, 5)
  assert.deepEqual([fit.slope, fit.intercept, fit.points], [-0.5, 2, 4])
  assert.equal(spearman([1, 2, 3, 4], [10, 20, 30, 45]), 1)
  assert.equal(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1)
  const thinned = thin(Array.from({ length: 1000 }, (_, i) => i), 50)
  assert.ok(thinned.length <= 50 && thinned[0] === 0 && thinned[thinned.length - 1] === 999)
  assert.equal(allFinite({ a: [1, null, { b: 2 }] }), true)
  assert.equal(allFinite({ a: [1, Number.NaN] }), false)
  assert.equal(round(0.123456, 3), 0.123)
})
