import { permutation } from '../../src/rng.ts'
import type { Kernels } from '../../src/kernels/index.ts'
import type { Rng } from '../../src/rng.ts'

// Seeded random instances and f64 reference quantities for the distance- and pivot-based rules.

/** Where the f Byzantine inputs go. */
export type Placement = 'far' | 'shifted' | 'copies'
export const PLACEMENTS: readonly Placement[] = ['far', 'shifted', 'copies']

export interface Instance {
  readonly inputs: Float32Array[]
  /** Indices of the honest inputs (n − f of them). */
  readonly honest: number[]
}

/**
 * n − f honest inputs ~ N(c, I) around a random centre c (all equal to one draw when `identical`),
 * then f Byzantine ones, shuffled into random positions:
 * - far: random directions with norms 10^6 … 10^30;
 * - shifted: one tight cluster at the honest mean shifted by 2–5 honest standard deviations per
 *   coordinate along a random sign pattern (an ALIE-like attack);
 * - copies: all copy one honest input.
 */
export function makeInstance (rng: Rng, n: number, d: number, f: number, placement: Placement, identical = false): Instance {
  const centre = new Float64Array(d)
  for (let j = 0; j < d; j++) centre[j] = 5 * rng.normal()
  const honestVectors: Float32Array[] = []
  for (let i = 0; i < n - f; i++) {
    if (identical && i > 0) { honestVectors.push(honestVectors[0].slice()); continue }
    const x = new Float32Array(d)
    for (let j = 0; j < d; j++) x[j] = centre[j] + rng.normal()
    honestVectors.push(x)
  }
  const byzantine: Float32Array[] = []
  const mean = meanF64(honestVectors)
  const std = new Float64Array(d)
  for (const x of honestVectors) for (let j = 0; j < d; j++) std[j] += (x[j] - mean[j]) ** 2 / honestVectors.length
  for (let j = 0; j < d; j++) std[j] = Math.max(Math.sqrt(std[j]), 1e-3)
  const shift = 2 + 3 * rng.next()
  const signs = Float64Array.from({ length: d }, () => rng.next() < 0.5 ? -1 : 1)
  const copied = honestVectors[rng.int(honestVectors.length)]
  for (let b = 0; b < f; b++) {
    const x = new Float32Array(d)
    if (placement === 'far') {
      const u = Float64Array.from({ length: d }, () => rng.normal())
      const norm = 10 ** (6 + 24 * rng.next()) / Math.sqrt(u.reduce((s, v) => s + v * v, 0))
      for (let j = 0; j < d; j++) x[j] = u[j] * norm
    } else if (placement === 'shifted') {
      for (let j = 0; j < d; j++) x[j] = mean[j] + std[j] * (shift * signs[j] + 0.05 * rng.normal())
    } else {
      x.set(copied)
    }
    byzantine.push(x)
  }
  const all = [...honestVectors, ...byzantine]
  const perm = permutation(n, rng)
  const inputs: Float32Array[] = new Array(n)
  const honest: number[] = []
  for (let t = 0; t < n; t++) {
    inputs[perm[t]] = all[t]
    if (t < n - f) honest.push(perm[t])
  }
  honest.sort((a, b) => a - b)
  return { inputs, honest }
}

export function meanF64 (vectors: readonly Float32Array[]): Float64Array {
  const d = vectors[0].length
  const m = new Float64Array(d)
  for (const x of vectors) for (let j = 0; j < d; j++) m[j] += x[j] / vectors.length
  return m
}

export function sqDist (a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0
  for (let j = 0; j < a.length; j++) s += (a[j] - b[j]) ** 2
  return s
}

/** (1/|G|) Σ_G ‖x_i − x̄_G‖². */
export function spread (vectors: readonly Float32Array[]): number {
  const m = meanF64(vectors)
  return vectors.reduce((s, x) => s + sqDist(x, m), 0) / vectors.length
}

export function diameter (vectors: readonly Float32Array[]): number {
  let best = 0
  for (const a of vectors) for (const b of vectors) best = Math.max(best, sqDist(a, b))
  return Math.sqrt(best)
}

/** The (f, κ) ratio ‖F(x) − x̄_G‖² / ((1/|G|) Σ_G ‖x_i − x̄_G‖²). */
export function kappaRatio (output: Float32Array, honestVectors: readonly Float32Array[]): number {
  return sqDist(output, meanF64(honestVectors)) / spread(honestVectors)
}

/** The same instance with the inputs in another order: position t holds inputs[order[t]]. */
export function reorder<T> (items: readonly T[], order: ArrayLike<number>): T[] {
  return Array.from({ length: items.length }, (_, t) => items[order[t]])
}

/**
 * Weiszfeld with the Vardi–Zhang correction on the raw vectors in f64 (reference): from the
 * coordinate-wise median, until the step is below 1e-14 of the median distance or after
 * `maxIter` steps. At an input point y of multiplicity η the step is
 * y ← (1 − η/‖R‖)⁺ T(y) + min(1, η/‖R‖) y, with T and R = Σ (x_i − y)/‖x_i − y‖ over the
 * other inputs, so the iteration neither sticks to a non-optimal input nor leaves an optimal one.
 */
export function weiszfeldF64 (vectors: readonly Float32Array[], maxIter = 100000): Float64Array {
  const d = vectors[0].length
  const n = vectors.length
  const z = new Float64Array(d)
  const col = new Float64Array(n)
  for (let j = 0; j < d; j++) {
    for (let i = 0; i < n; i++) col[i] = vectors[i][j]
    col.sort()
    z[j] = (col[(n - 1) >> 1] + col[n >> 1]) / 2
  }
  const next = new Float64Array(d)
  const pull = new Float64Array(d)
  const r = new Float64Array(n)
  for (let it = 0; it < maxIter; it++) {
    next.fill(0)
    pull.fill(0)
    let sum = 0
    let eta = 0
    for (let i = 0; i < n; i++) {
      r[i] = Math.sqrt(sqDist(vectors[i], z))
      if (r[i] === 0) { eta++; continue }
      sum += 1 / r[i]
      for (let j = 0; j < d; j++) {
        next[j] += vectors[i][j] / r[i]
        pull[j] += (vectors[i][j] - z[j]) / r[i]
      }
    }
    if (sum === 0) break
    for (let j = 0; j < d; j++) next[j] /= sum
    const pullNorm = Math.sqrt(sqDist(pull, new Float64Array(d)))
    const keep = eta === 0 ? 0 : Math.min(1, eta / pullNorm)
    for (let j = 0; j < d; j++) next[j] = (1 - keep) * next[j] + keep * z[j]
    const step = Math.sqrt(sqDist(next, z))
    z.set(next)
    if (step <= 1e-14 * r.slice().sort()[(n - 1) >> 1]) break
  }
  return z
}

/**
 * Σ_k ‖x_k − a‖ − Σ_k ‖x_k − b‖, summed term by term as ⟨b − a, 2x_k − a − b⟩/(‖x_k − a‖ + ‖x_k − b‖)
 * so that far inputs do not swamp the difference.
 */
export function objectiveGap (vectors: readonly Float32Array[], a: ArrayLike<number>, b: ArrayLike<number>): number {
  let gap = 0
  for (const x of vectors) {
    let num = 0
    for (let j = 0; j < x.length; j++) num += (b[j] - a[j]) * (2 * x[j] - a[j] - b[j])
    const den = Math.sqrt(sqDist(x, a)) + Math.sqrt(sqDist(x, b))
    if (den > 0) gap += num / den
  }
  return gap
}

/**
 * Kernels that wreck their outputs before computing them, as a kernel that writes while it still
 * reads may: a rule whose `out` is one of its inputs must not hand that input to them as output.
 */
export function aliasHostile (k: Kernels): Kernels {
  return {
    ...k,
    combine: (inputs, coeffs, outs) => { for (const o of outs) o.fill(Number.NaN); k.combine(inputs, coeffs, outs) },
    trimmedMean: (inputs, trim, out) => { out.fill(Number.NaN); k.trimmedMean(inputs, trim, out) }
  }
}
