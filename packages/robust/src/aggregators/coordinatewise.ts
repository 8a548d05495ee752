import { kernels } from '../kernels/index.ts'
import type { Aggregator, AggregateOptions, Vectors } from '../types.ts'
import { checkInputs, output } from '../validate.ts'

// Coordinate-wise rules: each coordinate is aggregated on its own from the n values the inputs
// hold there. The per-coordinate order statistics come from the kernels (SIMD sorting networks
// in WebAssembly), so these rules are one pass over the data.

/** A rule that needs n > 2f and writes one kernel result into the output. */
function coordinatewiseRule (name: string, run: (inputs: Vectors, f: number, out: Float32Array) => void): Aggregator {
  return {
    name,
    minInputs: (f) => 2 * f + 1,
    aggregate (inputs: Vectors, options: AggregateOptions, out?: Float32Array): Float32Array {
      const d = checkInputs(name, inputs, options, this.minInputs(options.f))
      const result = output(name, d, out)
      run(inputs, options.f, result)
      return result
    }
  }
}

/**
 * CWMed: the coordinate-wise median (for even n the mean of the two middle values). Needs n > 2f,
 * where fewer than half the values of a coordinate are Byzantine, so the median stays within the
 * range of the honest values.
 */
export function cwmed (): Aggregator {
  return coordinatewiseRule('cwmed', (inputs, _f, out) => kernels().median(inputs, out))
}

/**
 * CWTM(f): per coordinate, drop the f smallest and the f largest values and average the n − 2f
 * left. Needs n > 2f.
 */
export function cwtm (): Aggregator {
  return coordinatewiseRule('cwtm', (inputs, f, out) => kernels().trimmedMean(inputs, f, out))
}

/**
 * MeaMed(f): per coordinate, the mean of the n − f values closest to the coordinate median (ties
 * in distance go to the smaller value). Needs n > 2f.
 */
export function meamed (): Aggregator {
  return coordinatewiseRule('meamed', (inputs, f, out) => kernels().meamed(inputs, inputs.length - f, out))
}
