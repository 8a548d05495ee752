import { topEigen } from '../linalg.ts'

// Geometry in input space. After one `sqDistances` pass (D, n×n, D_ij = ‖x_i − x_j‖²) everything
// the subset and spectral rules need is an n×n or m×m problem:
// - the centred Gram of a subset S of size m is B = −½ J D_S J (J = I − 11ᵀ/m), and the scatter
//   matrix Σ_{i∈S} (x_i − x̄_S)(x_i − x̄_S)ᵀ has the same non-zero eigenvalues as B;
// - for weights p (Σp = 1, μ = Σ p_i x_i) the weighted covariance Σ p_i (x_i − μ)(x_i − μ)ᵀ has the
//   non-zero eigenvalues of M = P^{1/2} B P^{1/2}, B = −½ (I − 1pᵀ) D (I − p1ᵀ) the Gram of the
//   centred inputs, and a unit eigenvector u of M gives the d-space eigenvector
//   v = Σ_i √p_i u_i (x_i − μ) / √λ, so projections (x_i − μ)·v = (B P^{1/2} u)_i / √λ.
// Outliers far away make D's entries huge and wash out the honest block of B to rounding noise,
// but they then dominate the top eigenvector, get removed first, and the next Gram, built from the
// remaining rows of D only, is accurate again.

/** Indices sorted by key ascending, ties to the lower index (so results do not depend on input order except through ties). */
export function orderByKey (keys: ArrayLike<number>, indices: ArrayLike<number>): Uint32Array {
  const sorted = Array.from(indices).sort((a, b) => keys[a] - keys[b] || a - b)
  return Uint32Array.from(sorted)
}

/** centrality[i] = sum of the squared distances from x_i to its `count` nearest other inputs (a Krum score). */
export function centrality (D: Float64Array, n: number, count: number): Float64Array {
  const scores = new Float64Array(n)
  const row = new Float64Array(Math.max(0, n - 1))
  for (let i = 0; i < n; i++) {
    let m = 0
    for (let j = 0; j < n; j++) if (j !== i) row[m++] = D[i * n + j]
    row.sort()
    let s = 0
    for (let t = 0; t < Math.min(count, m); t++) s += row[t]
    scores[i] = s
  }
  return scores
}

/** The k inputs nearest to input c (c first, as its distance is 0), ties to the lower index. */
export function nearestTo (D: Float64Array, n: number, c: number, k: number): Uint32Array {
  const keys = new Float64Array(n)
  for (let j = 0; j < n; j++) keys[j] = j === c ? -1 : D[c * n + j]
  const all = new Uint32Array(n)
  for (let j = 0; j < n; j++) all[j] = j
  return orderByKey(keys, all).slice(0, k)
}

/** The centred Gram matrix −½ J D_S J of the inputs idx[0..m), m×m row-major. */
export function centredGram (D: Float64Array, n: number, idx: ArrayLike<number>, m: number, out = new Float64Array(m * m)): Float64Array {
  const r = new Float64Array(m)
  let t = 0
  for (let a = 0; a < m; a++) {
    let s = 0
    const row = idx[a] * n
    for (let b = 0; b < m; b++) s += D[row + idx[b]]
    r[a] = s / m
    t += r[a]
  }
  t /= m
  for (let a = 0; a < m; a++) {
    const row = idx[a] * n
    for (let b = 0; b < m; b++) out[a * m + b] = -0.5 * (D[row + idx[b]] - r[a] - r[b] + t)
  }
  return out
}

/** Top eigen-pair of a weighted covariance, computed in input space. */
export interface WeightedSpectrum {
  /** Largest eigenvalue λ of Σ pᵢ (xᵢ − μ)(xᵢ − μ)ᵀ (≥ 0). */
  value: number
  /** (xᵢ − μ)·v for the unit top eigenvector v; 0 for inputs of weight 0 or when λ = 0. */
  proj: Float64Array
  /** The eigenvector of M in input space (0 off the support): a warm start for the next call. */
  vector: Float64Array
}

/**
 * The top eigenvalue and the projections on the top eigenvector of the covariance of the inputs
 * under weights p (pᵢ ≥ 0, Σ p = 1), from the squared-distance matrix D alone (see above).
 */
export function weightedSpectrum (D: Float64Array, n: number, p: Float64Array, start?: Float64Array): WeightedSpectrum {
  const active: number[] = []
  for (let i = 0; i < n; i++) if (p[i] > 0) active.push(i)
  const m = active.length
  const proj = new Float64Array(n)
  const vector = new Float64Array(n)
  if (m <= 1) return { value: 0, proj, vector }
  // B_ab = −½ (D_ab − r_a − r_b + t), r = D p, t = pᵀ D p (rows restricted to the support).
  const r = new Float64Array(m)
  let t = 0
  for (let a = 0; a < m; a++) {
    const row = active[a] * n
    let s = 0
    for (let b = 0; b < m; b++) s += D[row + active[b]] * p[active[b]]
    r[a] = s
    t += p[active[a]] * s
  }
  const B = new Float64Array(m * m)
  const M = new Float64Array(m * m)
  const sq = new Float64Array(m)
  for (let a = 0; a < m; a++) sq[a] = Math.sqrt(p[active[a]])
  for (let a = 0; a < m; a++) {
    const row = active[a] * n
    for (let b = 0; b < m; b++) {
      const g = -0.5 * (D[row + active[b]] - r[a] - r[b] + t)
      B[a * m + b] = g
      M[a * m + b] = sq[a] * g * sq[b]
    }
  }
  const warm = start === undefined ? undefined : active.map((i) => start[i])
  const top = topEigen(M, m, { start: warm })
  const value = Math.max(0, top.value)
  for (let a = 0; a < m; a++) vector[active[a]] = top.vector[a]
  if (value > 0) {
    const root = Math.sqrt(value)
    for (let a = 0; a < m; a++) {
      let s = 0
      for (let b = 0; b < m; b++) s += B[a * m + b] * sq[b] * top.vector[b]
      proj[active[a]] = s / root
    }
  }
  return { value, proj, vector }
}

/**
 * A robust guess of the honest inputs' covariance scale: the top eigenvalue of the covariance
 * (normalised by 1/(n − f)) of the n − f inputs nearest to the most central input (lowest sum of
 * squared distances to its n − f − 1 nearest others). When the f Byzantine inputs are far they are
 * outside this ball; when they are near they are honest-looking and the scale stays honest-sized.
 */
export function honestSpectralScale (D: Float64Array, n: number, f: number): number {
  const k = n - f
  if (k <= 1) return 0
  const scores = centrality(D, n, k - 1)
  let c = 0
  for (let i = 1; i < n; i++) if (scores[i] < scores[c]) c = i
  const ball = nearestTo(D, n, c, k)
  return Math.max(0, topEigen(centredGram(D, n, ball, k), k).value) / k
}
