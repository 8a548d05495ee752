import { kernels } from '../kernels/index.ts'
import type { Aggregator, AggregateOptions, Vectors } from '../types.ts'
import { checkInputs, output } from '../validate.ts'
import { allIndices, meanOf, orderBy } from './ranking.ts'

/**
 * MoNNA (Farhadkhani et al., 2023): the mean of the n − f inputs nearest to the pivot
 * (`options.pivot`, the node's own model in gossip form; default 0), the pivot itself included.
 * Ties in distance go to the pivot, then to the lower index. Needs n > 2f. One distance pass and
 * one `combine`.
 */
export function monna (): Aggregator {
  const name = 'monna'
  return {
    name,
    minInputs: (f) => 2 * f + 1,
    aggregate (inputs: Vectors, options: AggregateOptions, out?: Float32Array): Float32Array {
      const d = checkInputs(name, inputs, options, this.minInputs(options.f))
      const result = output(name, d, out)
      const n = inputs.length
      const pivot = options.pivot ?? 0
      const dist = kernels().sqDistancesTo(inputs, inputs[pivot])
      return meanOf(inputs, orderBy(dist, allIndices(n), pivot).subarray(0, n - options.f), result)
    }
  }
}
