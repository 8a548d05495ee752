/**
 * All eigenvalues of a dense symmetric n×n matrix (row-major), ascending, by cyclic Jacobi
 * rotations. O(n³) per sweep: a reference for small matrices (tests, n ≲ 300), not for graphs
 * at scale. The input is not modified.
 */
export function denseSymmetricEigenvalues (matrix: ArrayLike<number>, n: number): Float64Array {
  if (matrix.length !== n * n) throw new RangeError(`denseSymmetricEigenvalues: expected ${n * n} entries, got ${matrix.length}`)
  const a = Float64Array.from(matrix)
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0; let total = 0
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const v = a[i * n + j] * a[i * n + j]
        total += v
        if (i !== j) off += v
      }
    }
    if (off <= 1e-30 * total || off === 0) break
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]
        if (apq === 0) continue
        const app = a[p * n + p]; const aqq = a[q * n + q]
        // Rotation angle that zeroes a[p][q]: tan θ = t solving t² + 2 t cot 2θ − 1 = 0 (smaller root).
        const theta = (aqq - app) / (2 * apq)
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1))
        const c = 1 / Math.sqrt(t * t + 1); const s = t * c
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]; const akq = a[k * n + q]
          a[k * n + p] = c * akp - s * akq
          a[k * n + q] = s * akp + c * akq
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]; const aqk = a[q * n + k]
          a[p * n + k] = c * apk - s * aqk
          a[q * n + k] = s * apk + c * aqk
        }
      }
    }
  }
  const values = new Float64Array(n)
  for (let i = 0; i < n; i++) values[i] = a[i * n + i]
  return values.sort()
}

/**
 * Eigenvalues of the symmetric tridiagonal matrix with diagonal `diag` and off-diagonal `off`
 * (off[i] = T[i][i+1], length k − 1), by implicit QL with Wilkinson shifts. Returns them
 * ascending together with the last component of each (unit) eigenvector, which is what a
 * Lanczos residual estimate needs: ‖A y − θ y‖ = β_k · |s_last|.
 */
export function tridiagonalEigen (diag: ArrayLike<number>, off: ArrayLike<number>): { values: Float64Array, lastComponents: Float64Array } {
  const k = diag.length
  const d = Float64Array.from(diag)
  const e = new Float64Array(k)
  for (let i = 0; i < k - 1; i++) e[i] = off[i]
  // Only the last row of the accumulated rotation matrix is needed: rotations act on its columns.
  const z = new Float64Array(k)
  if (k > 0) z[k - 1] = 1
  for (let l = 0; l < k; l++) {
    let iterations = 0
    for (;;) {
      let m = l
      for (; m < k - 1; m++) {
        const dd = Math.abs(d[m]) + Math.abs(d[m + 1])
        if (Math.abs(e[m]) <= Number.EPSILON * dd) break
      }
      if (m === l) break
      if (++iterations > 60) throw new Error('tridiagonalEigen: no convergence')
      let g = (d[l + 1] - d[l]) / (2 * e[l])
      let r = Math.hypot(g, 1)
      g = d[m] - d[l] + e[l] / (g + (g >= 0 ? r : -r))
      let s = 1; let c = 1; let p = 0
      let i = m - 1
      let underflow = false
      for (; i >= l; i--) {
        const f = s * e[i]; const b = c * e[i]
        r = Math.hypot(f, g)
        e[i + 1] = r
        if (r === 0) { d[i + 1] -= p; e[m] = 0; underflow = true; break }
        s = f / r; c = g / r
        g = d[i + 1] - p
        r = (d[i] - g) * s + 2 * c * b
        p = s * r
        d[i + 1] = g + p
        g = c * r - b
        const zf = z[i + 1]
        z[i + 1] = s * z[i] + c * zf
        z[i] = c * z[i] - s * zf
      }
      if (underflow) continue
      d[l] -= p; e[l] = g; e[m] = 0
    }
  }
  const order = Array.from({ length: k }, (_, i) => i).sort((a, b) => d[a] - d[b])
  return { values: Float64Array.from(order, (i) => d[i]), lastComponents: Float64Array.from(order, (i) => z[i]) }
}
