import type { Graph } from './graph.ts'
import { lanczosExtremes, type LanczosOptions } from './lanczos.ts'
import { mixingMultiply, type MixingMatrix } from './mixing.ts'

/** The spectrum summary of a mixing matrix that governs gossip convergence. */
export interface MixingSpectrum {
  /** ρ = max(|λ₂|, |λ_n|): the consensus distance shrinks by at least ρ per round. */
  rho: number
  /** 1 − ρ. */
  spectralGap: number
  /** Largest eigenvalue of W on 1⊥ (λ₂). */
  lambda2: number
  /** Smallest eigenvalue of W (λ_n). */
  lambdaMin: number
  /** Bound on the error of ρ (the larger Ritz residual; 0 when exact). */
  errorBound: number
  iterations: number
  converged: boolean
}

/**
 * ρ and the spectral gap of a mixing matrix by Lanczos on the complement of the all-ones vector
 * (W1 = 1 is the trivial eigenvalue). Exact to rounding when n ≤ 301 with default options.
 */
export function mixingSpectrum (w: MixingMatrix, options: LanczosOptions = {}): MixingSpectrum {
  if (w.n <= 1) return { rho: 0, spectralGap: 1, lambda2: NaN, lambdaMin: NaN, errorBound: 0, iterations: 0, converged: true }
  const r = lanczosExtremes((x, y) => { mixingMultiply(w, x, y) }, w.n, { ...options, deflateOnes: true })
  const rho = Math.max(Math.abs(r.max), Math.abs(r.min))
  return {
    rho,
    spectralGap: 1 - rho,
    lambda2: r.max,
    lambdaMin: r.min,
    errorBound: Math.max(r.minResidual, r.maxResidual),
    iterations: r.iterations,
    converged: r.converged
  }
}

/** y ← L x with L = D − A the (edge-weighted) graph Laplacian. */
export function laplacianMultiply (g: Graph, x: ArrayLike<number>, y: Float64Array): Float64Array {
  const { n, offsets, neighbors, weights } = g
  for (let i = 0; i < n; i++) {
    let s = 0
    for (let k = offsets[i]; k < offsets[i + 1]; k++) s += weights[k] * (x[i] - x[neighbors[k]])
    y[i] = s
  }
  return y
}

/** λ₂ of the Laplacian (Fiedler value) with its error bound. */
export interface AlgebraicConnectivity { value: number, errorBound: number, iterations: number, converged: boolean }

/**
 * Algebraic connectivity: the smallest Laplacian eigenvalue on 1⊥ (0 exactly when the graph is
 * disconnected). Uses edge weights.
 */
export function algebraicConnectivity (g: Graph, options: LanczosOptions = {}): AlgebraicConnectivity {
  if (g.n <= 1) return { value: 0, errorBound: 0, iterations: 0, converged: true }
  const r = lanczosExtremes((x, y) => { laplacianMultiply(g, x, y) }, g.n, { ...options, deflateOnes: true })
  return { value: Math.max(0, r.min), errorBound: r.minResidual, iterations: r.iterations, converged: r.converged }
}
