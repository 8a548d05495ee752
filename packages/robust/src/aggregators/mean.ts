import { kernels } from '../kernels/index.ts'
import type { Aggregator, AggregateOptions, Vectors } from '../types.ts'
import { checkInputs, output } from '../validate.ts'

/**
 * The plain average (1/n) Σ x_i. Not robust: one input can move it anywhere. Accepts any n ≥ 1;
 * `options.f` plays no part but is still checked. One `combine` pass.
 */
export function mean (): Aggregator {
  const name = 'mean'
  return {
    name,
    minInputs: () => 1,
    aggregate (inputs: Vectors, options: AggregateOptions, out?: Float32Array): Float32Array {
      const d = checkInputs(name, inputs, options, 1)
      const result = output(name, d, out)
      const n = inputs.length
      kernels().combine(inputs, new Float64Array(n).fill(1 / n), [result])
      return result
    }
  }
}
