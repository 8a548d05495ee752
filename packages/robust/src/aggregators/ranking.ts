import { kernels } from '../kernels/index.ts'
import type { Vectors } from '../types.ts'

// Small helpers shared by the distance- and pivot-based rules (Krum, MultiKrum, Bulyan, MoNNA,
// GeoMed, centered clipping). They work on distances and index sets; only `combineInto` and
// `meanOf` touch the vectors.

/**
 * The members of `candidates` ordered by increasing `values[member]`; ties go to `first` (when it
 * is a candidate), then to the lower index, so the order never depends on how the sort breaks ties.
 */
export function orderBy (values: ArrayLike<number>, candidates: Uint32Array, first = -1): Uint32Array {
  const order = Uint32Array.from(candidates)
  order.sort((a, b) => (values[a] - values[b]) || ((a === first ? -1 : 0) - (b === first ? -1 : 0)) || a - b)
  return order
}

/** 0, 1, ..., n − 1. */
export function allIndices (n: number): Uint32Array {
  const idx = new Uint32Array(n)
  for (let i = 0; i < n; i++) idx[i] = i
  return idx
}

/** The lower median of `values` (the ⌈n/2⌉-th smallest); `scratch` holds at least n values. */
export function lowerMedian (values: Float64Array, scratch: Float64Array): number {
  const n = values.length
  const s = scratch.subarray(0, n)
  s.set(values)
  s.sort()
  return s[(n - 1) >> 1]
}

/**
 * out ← Σ_i coeffs[i] · inputs[i] in one `combine` pass. When `out` is itself one of the inputs
 * (a node updating its own model in place) the sum goes through a scratch vector first, since a
 * kernel may read an input after it has started writing `out`.
 */
export function combineInto (inputs: Vectors, coeffs: Float64Array, out: Float32Array): Float32Array {
  if (!inputs.includes(out)) {
    kernels().combine(inputs, coeffs, [out])
    return out
  }
  const tmp = new Float32Array(out.length)
  kernels().combine(inputs, coeffs, [tmp])
  out.set(tmp)
  return out
}

/** out ← the mean of inputs[i] for i in `members`. */
export function meanOf (inputs: Vectors, members: ArrayLike<number>, out: Float32Array): Float32Array {
  const coeffs = new Float64Array(inputs.length)
  const w = 1 / members.length
  for (let t = 0; t < members.length; t++) coeffs[members[t]] += w
  return combineInto(inputs, coeffs, out)
}
