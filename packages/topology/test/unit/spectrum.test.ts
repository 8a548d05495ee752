import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  algebraicConnectivity, barabasiAlbert, bfs, checkMixingMatrix, chain, complete, degreeStats, denseMixingMatrix,
  denseSymmetricEigenvalues, diameter, dumbbell, erdosRenyi, graphFromEdges, metropolisHastings, mixingMatrix,
  mixingMultiply, mixingSpectrum, randomRegular, ring, star, stochasticBlockModel, torus, tridiagonalEigen,
  uniformMixing, wattsStrogatz, type Graph
} from '../../src/index.ts'
import { createRng } from '@murmur/robust'

const randomGraphs = (): Array<[string, Graph]> => [
  ['er-40', erdosRenyi(40, 0.15, 1)],
  ['er-25-sparse', erdosRenyi(25, 0.05, 2)],
  ['ba-30', barabasiAlbert(30, 2, 3)],
  ['ws-36', wattsStrogatz(36, 4, 0.2, 4)],
  ['sbm-30', stochasticBlockModel(30, 3, 0.5, 0.05, 5)],
  ['star-12', star(12)],
  ['dumbbell-14', dumbbell(14)]
]

function denseLaplacian (g: Graph): Float64Array {
  const a = new Float64Array(g.n * g.n)
  for (let i = 0; i < g.n; i++) {
    for (let k = g.offsets[i]; k < g.offsets[i + 1]; k++) {
      a[i * g.n + g.neighbors[k]] -= g.weights[k]
      a[i * g.n + i] += g.weights[k]
    }
  }
  return a
}

describe('mixing matrices', () => {
  test('Metropolis–Hastings and uniform weights are symmetric and doubly stochastic', () => {
    for (const [name, g] of randomGraphs()) {
      for (const w of [metropolisHastings(g), uniformMixing(g)]) {
        const check = checkMixingMatrix(w)
        assert.ok(check.doublyStochastic, `${name} ${w.rule}: ${JSON.stringify(check)}`)
      }
    }
  })

  test('entries follow the formulas', () => {
    const s = star(5) // hub degree 4, leaves degree 1
    const mh = denseMixingMatrix(metropolisHastings(s))
    assert.equal(mh[0 * 5 + 1], 1 / 5) // 1/(1 + max(4, 1))
    assert.equal(mh[1 * 5 + 1], 1 - 1 / 5)
    assert.ok(Math.abs(mh[0] - (1 - 4 / 5)) < 1e-15)
    const un = denseMixingMatrix(uniformMixing(chain(3))) // d_max = 2
    assert.equal(un[0 * 3 + 1], 1 / 3)
    assert.ok(Math.abs(un[0] - 2 / 3) < 1e-15)
    assert.ok(Math.abs(un[1 * 3 + 1] - 1 / 3) < 1e-15)
    const y = mixingMultiply(metropolisHastings(ring(4)), [1, 0, 0, 0])
    ;[1 / 3, 1 / 3, 0, 1 / 3].forEach((v, i) => assert.ok(Math.abs(y[i] - v) < 1e-15))
  })

  test('the check catches a matrix that is not doubly stochastic or symmetric', () => {
    const w = metropolisHastings(ring(6))
    w.values[0] += 0.01
    const check = checkMixingMatrix(w)
    assert.equal(check.symmetric, false)
    assert.equal(check.doublyStochastic, false)
    assert.ok(check.maxRowSumError > 0.009)
  })
})

describe('eigen solvers', () => {
  test('Jacobi on hand-checkable matrices', () => {
    assert.deepEqual(Array.from(denseSymmetricEigenvalues([2, 1, 1, 2], 2)).map((x) => Math.round(x * 1e12) / 1e12), [1, 3])
    const values = denseSymmetricEigenvalues([4, 1, 0, 1, 3, 1, 0, 1, 2], 3)
    // Characteristic polynomial of this tridiagonal matrix: eigenvalues 3 and 3 ± √3.
    const expected = [3 - Math.sqrt(3), 3, 3 + Math.sqrt(3)]
    values.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-12))
  })

  test('tridiagonal QL matches Jacobi; the last eigenvector components form a unit vector', () => {
    const rng = createRng(9)
    for (const k of [1, 2, 5, 30]) {
      const diag = Array.from({ length: k }, () => rng.normal())
      const off = Array.from({ length: k - 1 }, () => rng.normal())
      const dense = new Float64Array(k * k)
      for (let i = 0; i < k; i++) dense[i * k + i] = diag[i]
      for (let i = 0; i + 1 < k; i++) { dense[i * k + i + 1] = off[i]; dense[(i + 1) * k + i] = off[i] }
      const { values, lastComponents } = tridiagonalEigen(diag, off)
      const reference = denseSymmetricEigenvalues(dense, k)
      values.forEach((v, i) => assert.ok(Math.abs(v - reference[i]) < 1e-10, `k=${k}`))
      const norm = lastComponents.reduce((s, x) => s + x * x, 0)
      assert.ok(Math.abs(norm - 1) < 1e-12)
    }
  })
})

describe('spectra', () => {
  test('a ring with MH weights has eigenvalues (1 + 2cos(2πk/n))/3', () => {
    for (const n of [3, 4, 5, 8, 11, 25, 64]) {
      const w = metropolisHastings(ring(n))
      const closed = Array.from({ length: n }, (_, k) => (1 + 2 * Math.cos(2 * Math.PI * k / n)) / 3).sort((a, b) => a - b)
      const rho = Math.max(...closed.slice(0, n - 1).map(Math.abs))
      const s = mixingSpectrum(w)
      assert.ok(Math.abs(s.rho - rho) < 1e-9, `n=${n}: ${s.rho} vs ${rho}`)
      assert.ok(Math.abs(s.spectralGap - (1 - rho)) < 1e-9)
      if (n <= 25) {
        const dense = denseSymmetricEigenvalues(denseMixingMatrix(w), n)
        dense.forEach((v, i) => assert.ok(Math.abs(v - closed[i]) < 1e-10, `n=${n} eigenvalue ${i}`))
      }
      assert.ok(s.converged)
    }
  })

  test('a complete graph mixes in one step: ρ = 0', () => {
    for (const n of [2, 5, 9]) {
      const s = mixingSpectrum(metropolisHastings(complete(n)))
      assert.ok(Math.abs(s.rho) < 1e-12, `n=${n}: ρ = ${s.rho}`)
      assert.equal(s.spectralGap > 1 - 1e-12, true)
    }
  })

  test('ρ, λ_n and the algebraic connectivity match a dense solver on random graphs', () => {
    for (const [name, g] of randomGraphs()) {
      for (const rule of ['metropolis-hastings', 'uniform'] as const) {
        const w = mixingMatrix(g, rule)
        const dense = denseSymmetricEigenvalues(denseMixingMatrix(w), g.n)
        const s = mixingSpectrum(w)
        assert.ok(Math.abs(s.lambda2 - dense[g.n - 2]) < 1e-9, `${name} ${rule} λ₂`)
        assert.ok(Math.abs(s.lambdaMin - dense[0]) < 1e-9, `${name} ${rule} λ_n`)
        assert.ok(Math.abs(s.rho - Math.max(Math.abs(dense[0]), Math.abs(dense[g.n - 2]))) < 1e-9, `${name} ${rule} ρ`)
      }
      const lap = denseSymmetricEigenvalues(denseLaplacian(g), g.n)
      assert.ok(Math.abs(algebraicConnectivity(g).value - lap[1]) < 1e-9, `${name} λ₂(L)`)
    }
  })

  test('truncated Lanczos (fewer iterations than the dimension) still converges on an expander', () => {
    const g = randomRegular(120, 6, 11)
    const w = metropolisHastings(g)
    const dense = denseSymmetricEigenvalues(denseMixingMatrix(w), g.n)
    const s = mixingSpectrum(w, { maxIterations: 60 })
    assert.equal(s.iterations <= 60, true)
    assert.ok(Math.abs(s.rho - Math.max(Math.abs(dense[0]), dense[g.n - 2])) < 1e-6, `${s.rho}`)
    assert.ok(s.errorBound < 1e-2)
  })

  test('weighted Laplacian and disconnected graphs', () => {
    // A 3-node path with weights 1 and 2: L = [[1,-1,0],[-1,3,-2],[0,-2,2]], eigenvalues 0, 3 ± √3.
    const g = graphFromEdges(['a', 'b', 'c'], [0, 1], [1, 2], [1, 2])
    assert.ok(Math.abs(algebraicConnectivity(g).value - (3 - Math.sqrt(3))) < 1e-12)
    const split = graphFromEdges(['a', 'b', 'c', 'd'], [0, 2], [1, 3])
    assert.ok(Math.abs(mixingSpectrum(metropolisHastings(split)).rho - 1) < 1e-12)
    assert.ok(algebraicConnectivity(split).value < 1e-12)
  })
})

describe('diameter and degrees', () => {
  test('closed forms', () => {
    assert.equal(diameter(ring(9)).diameter, 4)
    assert.equal(diameter(ring(10)).diameter, 5)
    assert.equal(diameter(chain(7)).diameter, 6)
    assert.equal(diameter(torus(5, 7)).diameter, 2 + 3)
    assert.equal(diameter(complete(6)).diameter, 1)
    assert.equal(diameter(star(6)).diameter, 2)
    assert.equal(diameter(graphFromEdges(['a'], [], [])).diameter, 0)
    assert.equal(diameter(graphFromEdges(['a', 'b', 'c'], [0], [1])).diameter, Infinity)
  })

  test('iFUB agrees with BFS from every node on random graphs', () => {
    const graphs = [...randomGraphs().map(([, g]) => g), erdosRenyi(300, 0.01, 8), wattsStrogatz(200, 2, 0.05, 9), randomRegular(400, 3, 2)]
    for (const g of graphs) {
      const dist = new Int32Array(g.n)
      let brute = 0
      for (let s = 0; s < g.n; s++) brute = Math.max(brute, bfs(g, s, dist))
      const d = diameter(g)
      assert.equal(d.diameter, brute)
      assert.equal(d.exact, true)
    }
  })

  test('an exhausted search budget returns bounds around the true diameter', () => {
    const g = randomRegular(400, 3, 2)
    const exact = diameter(g).diameter
    const bounded = diameter(g, { maxWork: 1 })
    assert.equal(bounded.exact, false)
    assert.ok(bounded.lowerBound <= exact && exact <= bounded.upperBound)
  })

  test('degree statistics', () => {
    assert.deepEqual(degreeStats(star(5)), { min: 1, max: 4, mean: 8 / 5, median: 1, std: Math.sqrt((16 + 4) / 5 - (8 / 5) ** 2) })
    assert.deepEqual(degreeStats(chain(4)), { min: 1, max: 2, mean: 1.5, median: 1.5, std: 0.5 })
  })
})
