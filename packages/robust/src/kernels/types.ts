import type { Vectors } from '../types.ts'

/**
 * The hot loops every rule is built from. Two implementations exist: `js` (plain TypeScript, the
 * reference the tests compare against) and `wasm` (WebAssembly SIMD, the default when it loads).
 * All take n inputs of dimension d, never modify them, and allocate nothing per coordinate.
 */
export interface Kernels {
  readonly name: 'js' | 'wasm'
  /**
   * Linear combinations: outs[r][j] = Σ_i coeffs[r·n + i] · inputs[i][j], for r < outs.length.
   * Computing several outputs in one blocked pass reads the inputs once. `js` sums in f64; `wasm`
   * does too (same result) for an output with a negative coefficient, where cancellation would
   * magnify rounding, and otherwise sums f32 products (error about 1e-6 × Σ_i |coeff_i·x_i|).
   */
  combine: (inputs: Vectors, coeffs: Float64Array, outs: Float32Array[]) => void
  /**
   * Pairwise squared Euclidean distances, n×n row-major, symmetric, zero diagonal, returned in f64.
   * `js` sums in f64; `wasm` sums short f32 runs into f64 (relative error about 1e-7, within 2^-20
   * in practice; runs that overflow or underflow f32 are redone in f64).
   */
  sqDistances: (inputs: Vectors) => Float64Array
  /** Squared Euclidean distance from each input to `center` (same accuracy as `sqDistances`). */
  sqDistancesTo: (inputs: Vectors, center: Float32Array) => Float64Array
  /** Per coordinate: drop the `trim` smallest and `trim` largest values, average the rest. */
  trimmedMean: (inputs: Vectors, trim: number, out: Float32Array) => void
  /** Per coordinate median; the mean of the two middle values for even n. */
  median: (inputs: Vectors, out: Float32Array) => void
  /** Per coordinate: the mean of the `keep` values closest to the coordinate median. */
  meamed: (inputs: Vectors, keep: number, out: Float32Array) => void
}
