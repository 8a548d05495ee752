import type { Vectors } from '../types.ts'
import type { Kernels } from './types.ts'

// Plain TypeScript kernels: the reference for the WebAssembly ones and the fallback where
// WebAssembly SIMD is missing. Correctness first; they still avoid per-coordinate allocation.

function combine (inputs: Vectors, coeffs: Float64Array, outs: Float32Array[]): void {
  const n = inputs.length
  const d = inputs[0].length
  const block = 2048
  const acc = new Float64Array(block)
  for (let r = 0; r < outs.length; r++) {
    const out = outs[r]
    for (let start = 0; start < d; start += block) {
      const end = Math.min(d, start + block)
      acc.fill(0)
      for (let i = 0; i < n; i++) {
        const c = coeffs[r * n + i]
        if (c === 0) continue
        const x = inputs[i]
        for (let j = start; j < end; j++) acc[j - start] += c * x[j]
      }
      for (let j = start; j < end; j++) out[j] = acc[j - start]
    }
  }
}

function sqDistances (inputs: Vectors): Float64Array {
  const n = inputs.length
  const d = inputs[0].length
  const dist = new Float64Array(n * n)
  for (let i = 0; i < n; i++) {
    const a = inputs[i]
    for (let k = i + 1; k < n; k++) {
      const b = inputs[k]
      let s = 0
      for (let j = 0; j < d; j++) { const t = a[j] - b[j]; s += t * t }
      dist[i * n + k] = s
      dist[k * n + i] = s
    }
  }
  return dist
}

function sqDistancesTo (inputs: Vectors, center: Float32Array): Float64Array {
  const n = inputs.length
  const out = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const a = inputs[i]
    let s = 0
    for (let j = 0; j < a.length; j++) { const t = a[j] - center[j]; s += t * t }
    out[i] = s
  }
  return out
}

/** Gathers coordinate j of every input into col and sorts it ascending. */
function sortedColumn (inputs: Vectors, j: number, col: Float64Array): void {
  for (let i = 0; i < inputs.length; i++) col[i] = inputs[i][j]
  col.sort()
}

function trimmedMean (inputs: Vectors, trim: number, out: Float32Array): void {
  const n = inputs.length
  const col = new Float64Array(n)
  const keep = n - 2 * trim
  for (let j = 0; j < out.length; j++) {
    sortedColumn(inputs, j, col)
    let s = 0
    for (let i = trim; i < n - trim; i++) s += col[i]
    out[j] = s / keep
  }
}

function median (inputs: Vectors, out: Float32Array): void {
  const n = inputs.length
  const col = new Float64Array(n)
  const h = n >> 1
  for (let j = 0; j < out.length; j++) {
    sortedColumn(inputs, j, col)
    out[j] = (n & 1) === 1 ? col[h] : (col[h - 1] + col[h]) / 2
  }
}

function meamed (inputs: Vectors, keep: number, out: Float32Array): void {
  const n = inputs.length
  const col = new Float64Array(n)
  const h = n >> 1
  for (let j = 0; j < out.length; j++) {
    sortedColumn(inputs, j, col)
    const med = (n & 1) === 1 ? col[h] : (col[h - 1] + col[h]) / 2
    // The keep values closest to the median form a contiguous window of the sorted column:
    // grow it from the middle, taking the nearer end each time (ties go to the lower value).
    let lo = h; let hi = h // window is col[lo, hi)
    let s = 0
    for (let taken = 0; taken < keep; taken++) {
      const left = lo > 0 ? med - col[lo - 1] : Infinity
      const right = hi < n ? col[hi] - med : Infinity
      if (left <= right) { lo--; s += col[lo] } else { s += col[hi]; hi++ }
    }
    out[j] = s / keep
  }
}

export const jsKernels: Kernels = { name: 'js', combine, sqDistances, sqDistancesTo, trimmedMean, median, meamed }
