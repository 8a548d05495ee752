import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { RobustInputError } from '../../src/errors.ts'
import { eigenLowerBound, symmetricEigen, topEigen } from '../../src/linalg.ts'
import { createRng } from '../../src/rng.ts'
import type { Rng } from '../../src/rng.ts'

function close (actual: number, expected: number, tol = 1e-12, what = ''): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${what} ${actual} vs ${expected}`)
}

function closeVec (actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-12): void {
  assert.equal(actual.length, expected.length)
  for (let i = 0; i < expected.length; i++) close(actual[i], expected[i], tol, `entry ${i}:`)
}

/** A random PSD Gram matrix XXᵀ of m points in dimension d (rank ≤ d). */
function randomGram (rng: Rng, m: number, d: number): Float64Array {
  const X = Array.from({ length: m }, () => Float64Array.from({ length: d }, () => rng.normal()))
  const A = new Float64Array(m * m)
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      let s = 0
      for (let t = 0; t < d; t++) s += X[i][t] * X[j][t]
      A[i * m + j] = s
    }
  }
  return A
}

function randomSymmetric (rng: Rng, m: number): Float64Array {
  const A = new Float64Array(m * m)
  for (let i = 0; i < m; i++) {
    for (let j = i; j < m; j++) { const v = rng.normal(); A[i * m + j] = v; A[j * m + i] = v }
  }
  return A
}

describe('symmetricEigen (Jacobi)', () => {
  test('2×2 [[2, 1], [1, 2]]: eigenvalues 3 and 1, eigenvectors (1, 1)/√2 and (1, −1)/√2', () => {
    const { values, vectors } = symmetricEigen(Float64Array.of(2, 1, 1, 2), 2)
    closeVec(values, [3, 1])
    closeVec(vectors, [Math.SQRT1_2, Math.SQRT1_2, Math.SQRT1_2, -Math.SQRT1_2])
  })

  test('3×3 tridiagonal [2 −1 0; −1 2 −1; 0 −1 2]: 2 + √2, 2, 2 − √2', () => {
    const A = Float64Array.of(2, -1, 0, -1, 2, -1, 0, -1, 2)
    const { values, vectors } = symmetricEigen(A, 3)
    closeVec(values, [2 + Math.SQRT2, 2, 2 - Math.SQRT2])
    // Sign convention: the largest-magnitude entry is positive.
    closeVec(vectors.subarray(0, 3), [-0.5, Math.SQRT1_2, -0.5])
    closeVec(vectors.subarray(3, 6), [Math.SQRT1_2, 0, -Math.SQRT1_2])
    closeVec(vectors.subarray(6, 9), [0.5, Math.SQRT1_2, 0.5])
  })

  test('diagonal with a repeated eigenvalue, and the input is left untouched', () => {
    const A = Float64Array.of(1, 0, 0, 0, 5, 0, 0, 0, 5)
    const copy = A.slice()
    const { values } = symmetricEigen(A, 3)
    closeVec(values, [5, 5, 1])
    assert.deepEqual(A, copy)
  })

  test('random symmetric matrices: A v = λ v, orthonormal vectors, sorted values', () => {
    const rng = createRng(11)
    for (const m of [1, 2, 5, 12]) {
      const A = randomSymmetric(rng, m)
      const { values, vectors } = symmetricEigen(A, m)
      for (let k = 0; k < m; k++) {
        if (k > 0) assert.ok(values[k] <= values[k - 1])
        const v = vectors.subarray(k * m, k * m + m)
        for (let i = 0; i < m; i++) {
          let s = 0
          for (let j = 0; j < m; j++) s += A[i * m + j] * v[j]
          close(s, values[k] * v[i], 1e-10)
        }
        for (let l = 0; l < m; l++) {
          let dot = 0
          for (let i = 0; i < m; i++) dot += v[i] * vectors[l * m + i]
          close(dot, l === k ? 1 : 0, 1e-10)
        }
      }
    }
  })

  test('entries near 1e80 neither overflow nor lose relative accuracy', () => {
    const s = 1e80
    const { values } = symmetricEigen(Float64Array.of(2 * s, s, s, 2 * s), 2)
    close(values[0], 3 * s, 1e-12)
    close(values[1], s, 1e-12)
  })

  test('rejects a matrix of the wrong size', () => {
    assert.throws(() => symmetricEigen(new Float64Array(5), 2), RobustInputError)
  })
})

describe('topEigen (Lanczos)', () => {
  test('hand-computed 2×2 and 3×3', () => {
    const two = topEigen(Float64Array.of(2, 1, 1, 2), 2)
    close(two.value, 3)
    closeVec(two.vector, [Math.SQRT1_2, Math.SQRT1_2], 1e-9)
    const three = topEigen(Float64Array.of(2, -1, 0, -1, 2, -1, 0, -1, 2), 3)
    close(three.value, 2 + Math.SQRT2)
    closeVec(three.vector, [-0.5, Math.SQRT1_2, -0.5], 1e-9)
  })

  test('agrees with Jacobi on random Gram matrices of every rank, with and without a start vector', () => {
    const rng = createRng(5)
    for (const [m, d] of [[3, 1], [6, 2], [10, 50], [25, 3], [40, 100]]) {
      const A = randomGram(rng, m, d)
      const full = symmetricEigen(A, m)
      const top = topEigen(A, m)
      close(top.value, full.values[0], 1e-10)
      closeVec(top.vector, full.vectors.subarray(0, m), 1e-5)
      // A start exactly orthogonal to the top eigenvector (the second one) must not stall it.
      const second = topEigen(A, m, { start: full.vectors.subarray(m, 2 * m) })
      close(second.value, full.values[0], 1e-10)
    }
  })

  test('largest (not largest-magnitude) eigenvalue when a negative one dominates', () => {
    const top = topEigen(Float64Array.of(-5, 0, 0, 1), 2)
    close(top.value, 1)
    closeVec(top.vector, [0, 1], 1e-9)
  })

  test('zero matrix: eigenvalue 0, a unit vector', () => {
    const top = topEigen(new Float64Array(9), 3)
    assert.equal(top.value, 0)
    assert.equal(Math.hypot(...top.vector), 1)
  })
})

describe('eigenLowerBound', () => {
  test('never exceeds the r-th eigenvalue and reaches it with enough steps', () => {
    const rng = createRng(8)
    for (const [m, d] of [[8, 3], [15, 40], [30, 30]]) {
      const A = randomGram(rng, m, d)
      const { values } = symmetricEigen(A, m)
      for (const r of [1, 2, 4]) {
        for (const steps of [r, r + 2, m]) {
          const lb = eigenLowerBound(A, m, r, { maxSteps: steps })
          assert.ok(lb <= values[r - 1] * (1 + 1e-12) + 1e-12, `r=${r} steps=${steps}: ${lb} > ${values[r - 1]}`)
        }
        close(eigenLowerBound(A, m, r), values[r - 1], 1e-9)
      }
    }
  })

  test('stops early once the bound passes stopAbove, with a bound that really is above it', () => {
    const rng = createRng(9)
    const A = randomGram(rng, 20, 5)
    const top = symmetricEigen(A, 20).values[0]
    const lb = eigenLowerBound(A, 20, 1, { stopAbove: top / 2 })
    assert.ok(lb >= top / 2 && lb <= top * (1 + 1e-12))
  })

  test('rank beyond the size gives the trivial bound 0; a bad rank is rejected', () => {
    assert.equal(eigenLowerBound(Float64Array.of(1, 0, 0, 1), 2, 3), 0)
    assert.throws(() => eigenLowerBound(Float64Array.of(1), 1, 0), RobustInputError)
  })
})
