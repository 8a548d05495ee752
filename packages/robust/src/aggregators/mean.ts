import { RobustInputError } from '../errors.ts'
import { kernels } from '../kernels/index.ts'
import type { Aggregator, AggregateOptions, Vectors } from '../types.ts'
import { checkInputs, output } from '../validate.ts'

/**
 * The average. Without `options.weights` it is the plain (1/n) Σ x_i; with them (one finite
 * weight ≥ 0 per input, positive sum) it is Σ_j w_j x_j / Σ_j w_j, so a row of a mixing matrix
 * W (own model at the pivot) gives the D-SGD step x_i ← Σ_j W_ij x_j exactly. Not robust: one
 * input can move it anywhere. Accepts any n ≥ 1; `options.f` plays no part but is still checked.
 * One `combine` pass.
 */
export function mean (): Aggregator {
  const name = 'mean'
  return {
    name,
    minInputs: () => 1,
    aggregate (inputs: Vectors, options: AggregateOptions, out?: Float32Array): Float32Array {
      const d = checkInputs(name, inputs, options, 1)
      const coeffs = meanCoefficients(name, options.weights, inputs.length)
      const result = output(name, d, out)
      kernels().combine(inputs, coeffs, [result])
      return result
    }
  }
}

/** w / Σw, checked: one finite weight ≥ 0 per input with a positive sum; uniform 1/n when absent. */
function meanCoefficients (rule: string, weights: ArrayLike<number> | undefined, n: number): Float64Array {
  const coeffs = new Float64Array(n)
  if (weights === undefined) return coeffs.fill(1 / n)
  if (weights.length !== n) {
    throw new RobustInputError('bad-parameter', `${rule}: weights has ${weights.length} entries, expected one per input (n = ${n})`)
  }
  let sum = 0
  for (let j = 0; j < n; j++) {
    const v = weights[j]
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new RobustInputError('bad-parameter', `${rule}: weights[${j}] must be a finite number ≥ 0, got ${v}`)
    }
    coeffs[j] = v
    sum += v
  }
  // Finite terms can still overflow to an infinite sum; either way there is nothing to divide by.
  if (!(sum > 0 && Number.isFinite(sum))) {
    throw new RobustInputError('bad-parameter', `${rule}: weights must have a finite positive sum, got ${sum}`)
  }
  for (let j = 0; j < n; j++) coeffs[j] /= sum
  return coeffs
}
