import { kernels } from '../kernels/index.ts'
import type { Aggregator, AggregateOptions, Vectors } from '../types.ts'
import { checkInputs, output } from '../validate.ts'
import { krumRanking } from './krum.ts'
import { allIndices } from './ranking.ts'

/**
 * Bulyan (El Mhamdi et al., 2018) in the form of the (f, κ) literature: select θ = n − 2f inputs
 * by repeated Krum (each round scores the inputs still in the pool over their r − f − 1 nearest
 * pool-mates, r the pool size, and moves the best one to the selection; ties as in
 * `krumRanking`), then take the coordinate-wise trimmed mean of the selection dropping f values
 * at each end, i.e. the mean of θ − 2f = n − 4f values per coordinate. (The original paper instead averages the β = θ − 2f
 * values closest to the coordinate median; both keep the same count.) Needs n ≥ 4f + 3.
 */
export function bulyan (): Aggregator {
  const name = 'bulyan'
  return {
    name,
    minInputs: (f) => 4 * f + 3,
    aggregate (inputs: Vectors, options: AggregateOptions, out?: Float32Array): Float32Array {
      const d = checkInputs(name, inputs, options, this.minInputs(options.f))
      const result = output(name, d, out)
      const n = inputs.length
      const f = options.f
      const D = kernels().sqDistances(inputs)
      let pool = allIndices(n)
      const selected: Float32Array[] = []
      while (selected.length < n - 2 * f) {
        const best = krumRanking(D, n, pool, Math.max(0, pool.length - f - 1), inputs)[0]
        selected.push(inputs[best])
        pool = pool.filter((i) => i !== best)
      }
      // The kernel may read a selected input after writing `result`: never let them share memory.
      if (!selected.includes(result)) {
        kernels().trimmedMean(selected, f, result)
        return result
      }
      const tmp = new Float32Array(d)
      kernels().trimmedMean(selected, f, tmp)
      result.set(tmp)
      return result
    }
  }
}
