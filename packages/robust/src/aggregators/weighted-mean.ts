import { kernels } from '../kernels/index.ts'
import type { Aggregator, AggregateOptions, Vectors } from '../types.ts'
import { checkInputs, output } from '../validate.ts'

/**
 * A rule whose output is a weighted mean Σ qᵢ xᵢ of its inputs (qᵢ ≥ 0, Σ qᵢ = 1). Exposing q lets
 * other rules build on it: PAwBRoFL re-weights the q of its base rule by the inputs' loss gaps.
 */
export interface WeightedAggregator extends Aggregator {
  /** The coefficients q the rule would combine the inputs with (same checks as `aggregate`). */
  weights: (inputs: Vectors, options: AggregateOptions) => Float64Array
}

/** Tells whether a rule exposes its mixing coefficients. */
export function isWeightedAggregator (rule: Aggregator): rule is WeightedAggregator {
  return typeof (rule as Partial<WeightedAggregator>).weights === 'function'
}

/**
 * Builds a weighted-mean rule from the function giving its coefficients: the input checks, the
 * output buffer and one `combine` pass over the data are shared by every such rule.
 */
export function weightedMeanRule (
  name: string,
  minInputs: (f: number) => number,
  weightsOf: (inputs: Vectors, options: AggregateOptions) => Float64Array
): WeightedAggregator {
  return {
    name,
    minInputs,
    weights (inputs: Vectors, options: AggregateOptions): Float64Array {
      checkInputs(name, inputs, options, minInputs(options.f))
      return weightsOf(inputs, options)
    },
    aggregate (inputs: Vectors, options: AggregateOptions, out?: Float32Array): Float32Array {
      const d = checkInputs(name, inputs, options, minInputs(options.f))
      const result = output(name, d, out)
      kernels().combine(inputs, weightsOf(inputs, options), [result])
      return result
    }
  }
}

/** Default bound of the rules here: a majority of honest inputs, n > 2f. */
export function honestMajority (f: number): number {
  return 2 * f + 1
}
