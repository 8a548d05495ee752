import { RobustInputError } from '../errors.ts'
import { kernels } from '../kernels/index.ts'
import type { Aggregator, AggregateOptions, Vectors } from '../types.ts'
import { checkInputs, checkInteger, checkPositive, firstNonFinite, output } from '../validate.ts'
import { allIndices, combineInto } from './ranking.ts'

export interface CClipParams {
  /** Clipping radius τ > 0. */
  tau: number
  /** Clipping steps L ≥ 1 per aggregation; default 1. */
  iters?: number
}

export interface SCClipParams {
  /** Clipping radius τ > 0; chosen per call from the data when omitted (see `scclip`). */
  tau?: number
}

/** c = min(1, τ/r): the factor clip(u, τ) = c·u applies to a vector of norm r (1 for r = 0, no 0/0). */
function clipFactor (tau: number, r: number): number {
  return r <= tau ? 1 : tau / r
}

/** The starting point of centered clipping: `options.previous` when given (checked), else the pivot input. */
function startingPoint (rule: string, inputs: Vectors, options: AggregateOptions, d: number): Float32Array {
  const previous = options.previous
  if (previous === undefined) return inputs[options.pivot ?? 0]
  if (previous.length !== d) {
    throw new RobustInputError('dimension-mismatch', `${rule}: previous has dimension ${previous.length}, inputs have ${d}`)
  }
  if (options.assumeFinite !== true) {
    const j = firstNonFinite(previous)
    if (j >= 0) throw new RobustInputError('non-finite', `${rule}: previous has a non-finite value (${previous[j]}) at coordinate ${j}`)
  }
  return previous
}

/**
 * Centered clipping (Karimireddy et al., 2021): starting from v = `options.previous` (the rule's
 * last output) or, without one, the pivot input (the node's own model in gossip form), repeat L
 * times v ← v + (1/n) Σ_i clip(x_i − v, τ), with clip(u, τ) = u · min(1, τ/‖u‖).
 *
 * Each step is one `sqDistancesTo` (the norms ‖x_i − v‖) and one `combine` over [x_1..x_n, v]:
 * v ← (1 − Σ_i c_i/n) v + Σ_i (c_i/n) x_i with c_i = min(1, τ/‖x_i − v‖).
 *
 * The rule has no hard bound on n: a Byzantine input moves v by at most τ/n per step whatever f
 * is, so it accepts any n ≥ 1 and ignores f; its guarantee comes from τ and a good start.
 */
export function cclip (params: CClipParams): Aggregator {
  const name = 'cclip'
  checkPositive(name, 'tau', params.tau)
  const tau = params.tau
  const iters = params.iters ?? 1
  checkInteger(name, 'iters', iters, 1)
  return {
    name,
    minInputs: () => 1,
    aggregate (inputs: Vectors, options: AggregateOptions, out?: Float32Array): Float32Array {
      const d = checkInputs(name, inputs, options, this.minInputs(options.f))
      const result = output(name, d, out)
      const n = inputs.length
      const k = kernels()
      const coeffs = new Float64Array(n + 1)
      const spare: Float32Array[] = []
      // A scratch vector that is not `cur` (two suffice to alternate between steps).
      const scratch = (cur: Float32Array): Float32Array => {
        let s = spare.find((v) => v !== cur)
        if (s === undefined) { s = new Float32Array(d); spare.push(s) }
        return s
      }
      let cur = startingPoint(name, inputs, options, d)
      for (let t = 0; t < iters; t++) {
        const sq = k.sqDistancesTo(inputs, cur)
        let kept = 0
        for (let i = 0; i < n; i++) {
          const c = clipFactor(tau, Math.sqrt(sq[i]))
          coeffs[i] = c / n
          kept += c
        }
        coeffs[n] = 1 - kept / n
        // Write the last step straight into the result unless the step reads it.
        const target = t === iters - 1 && result !== cur && !inputs.includes(result) ? result : scratch(cur)
        k.combine([...inputs, cur], coeffs, [target])
        cur = target
      }
      if (cur !== result) result.set(cur)
      return result
    }
  }
}

/** Mixing weights from the options, checked: n finite non-negative numbers; uniform 1/n when absent. */
function mixingWeights (rule: string, weights: ArrayLike<number> | undefined, n: number): Float64Array {
  if (weights === undefined) return new Float64Array(n).fill(1 / n)
  if (weights.length !== n) {
    throw new RobustInputError('bad-parameter', `${rule}: weights has ${weights.length} entries, expected one per input (n = ${n})`)
  }
  const w = new Float64Array(n)
  for (let j = 0; j < n; j++) {
    const v = weights[j]
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new RobustInputError('bad-parameter', `${rule}: weights[${j}] must be a finite number ≥ 0, got ${v}`)
    }
    w[j] = v
  }
  return w
}

/**
 * The default clipping radius of `scclip`: the W-weighted root mean square of the distances from
 * the pivot to its `count` nearest other inputs, sqrt(Σ_j W_j ‖x_j − x_i‖² / Σ_j W_j) over those
 * j. With at most f Byzantine inputs among the n − 1 others, the n − f − 1 nearest are a set
 * whose spread honest neighbours could produce, so τ tracks the honest disagreement. 0 when those
 * neighbours carry no weight (nothing moves then).
 */
function adaptiveTau (sq: Float64Array, w: Float64Array, pivot: number, count: number): number {
  // Equal distances go to the larger weight, so τ does not depend on the order of the inputs.
  const nearest = allIndices(sq.length).filter((j) => j !== pivot)
    .sort((a, b) => (sq[a] - sq[b]) || (w[b] - w[a]) || a - b)
    .subarray(0, count)
  let num = 0
  let den = 0
  for (const j of nearest) { num += w[j] * sq[j]; den += w[j] }
  return den > 0 ? Math.sqrt(num / den) : 0
}

/**
 * Self-centred clipping, the mixing step of ClippedGossip (He, Karimireddy and Jaggi, 2022):
 * with i = `options.pivot` (the node's own model), returns
 * x_i + Σ_{j ≠ i} W_j clip(x_j − x_i, τ), where W = `options.weights` (one per input, the pivot's
 * own entry ignored, uniform 1/n when absent; rows of a doubly stochastic matrix keep Σ_{j≠i} W_j
 * ≤ 1, so the result is a convex combination).
 *
 * Without an explicit τ it is chosen per call as the W-weighted RMS distance from x_i to its
 * n − f − 1 nearest other inputs, which needs n > 2f; with an explicit τ the rule has no hard
 * bound (a Byzantine neighbour moves x_i by at most W_j τ) and accepts any n ≥ 1.
 * One `sqDistancesTo` and one `combine`.
 */
export function scclip (params: SCClipParams = {}): Aggregator {
  const name = 'scclip'
  if (params.tau !== undefined) checkPositive(name, 'tau', params.tau)
  const fixedTau = params.tau
  return {
    name,
    minInputs: (f) => fixedTau === undefined ? 2 * f + 1 : 1,
    aggregate (inputs: Vectors, options: AggregateOptions, out?: Float32Array): Float32Array {
      const d = checkInputs(name, inputs, options, this.minInputs(options.f))
      const result = output(name, d, out)
      const n = inputs.length
      const pivot = options.pivot ?? 0
      const w = mixingWeights(name, options.weights, n)
      const k = kernels()
      const sq = k.sqDistancesTo(inputs, inputs[pivot])
      const tau = fixedTau ?? adaptiveTau(sq, w, pivot, n - options.f - 1)
      const coeffs = new Float64Array(n)
      let moved = 0
      for (let j = 0; j < n; j++) {
        if (j === pivot) continue
        coeffs[j] = w[j] * clipFactor(tau, Math.sqrt(sq[j]))
        moved += coeffs[j]
      }
      coeffs[pivot] = 1 - moved
      return combineInto(inputs, coeffs, result)
    }
  }
}
