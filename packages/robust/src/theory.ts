import { RobustInputError } from './errors.ts'
import type { Vectors } from './types.ts'

// (f, κ)-robust averaging (seed 001): F is (f, κ)-robust when for every G ⊆ [n] with |G| = n − f,
// ‖F(x) − x̄_G‖² ≤ κ · (1/|G|) Σ_{i∈G} ‖x_i − x̄_G‖².

/** Rules with a closed-form κ in seed 001's table. */
export type KappaRule = 'cwmed' | 'geomed' | 'cwtm' | 'krum'

const ALIASES: Readonly<Record<string, KappaRule>> = {
  cwmed: 'cwmed', median: 'cwmed', geomed: 'geomed', rfa: 'geomed', cwtm: 'cwtm', trmean: 'cwtm', krum: 'krum'
}

/**
 * κ from seed 001's table, with r = f/(n − 2f):
 * CWMed and GeoMed 4(1 + r)², CWTM 6r(1 + r), Krum 6(1 + r)².
 * `rule` is a name or a one-stage spec (its parameters do not change the bound); rules without a
 * formula, including composed ones such as `nnm+cwtm` (κ ∈ O(f/n), no constant), give undefined.
 * Throws unless n > 2f.
 */
export function kappaBound (rule: string, n: number, f: number): number | undefined {
  const r = ratio('kappaBound', n, f)
  const name = ALIASES[rule.trim().toLowerCase().replace(/\(.*\)$/s, '')]
  switch (name) {
    case 'cwmed':
    case 'geomed':
      return 4 * (1 + r) ** 2
    case 'cwtm':
      return 6 * r * (1 + r)
    case 'krum':
      return 6 * (1 + r) ** 2
    default:
      return undefined
  }
}

/** No rule does better than κ = f/(n − 2f). Throws unless n > 2f. */
export function kappaLowerBound (n: number, f: number): number {
  return ratio('kappaLowerBound', n, f)
}

/**
 * The empirical κ of one aggregation: ‖F(x) − x̄_G‖² / ((1/|G|) Σ_{i∈G} ‖x_i − x̄_G‖²) with G the
 * honest inputs. When the honest inputs coincide the ratio is 0/0, defined as 0 (the output is
 * exactly their common value), or x/0 = Infinity (it is not). Accumulates in f64 so the centre's
 * rounding does not show up as error.
 */
export function empiricalKappa (output: Float32Array, inputs: Vectors, honestIdx: ArrayLike<number>): number {
  const name = 'empiricalKappa'
  const n = inputs.length
  const g = honestIdx.length
  if (g === 0) throw new RobustInputError('empty-input', `${name}: no honest indices`)
  const d = output.length
  const seen = new Uint8Array(n)
  for (let t = 0; t < g; t++) {
    const i = honestIdx[t]
    if (!Number.isInteger(i) || i < 0 || i >= n) throw new RobustInputError('bad-parameter', `${name}: honest index ${i} is not an input index (n = ${n})`)
    if (seen[i] === 1) throw new RobustInputError('bad-parameter', `${name}: honest index ${i} is listed twice`)
    seen[i] = 1
    if (inputs[i].length !== d) {
      throw new RobustInputError('dimension-mismatch', `${name}: input ${i} has dimension ${inputs[i].length}, the output has ${d}`)
    }
  }
  const center = new Float64Array(d)
  for (let t = 0; t < g; t++) {
    const x = inputs[honestIdx[t]]
    for (let j = 0; j < d; j++) center[j] += x[j]
  }
  for (let j = 0; j < d; j++) center[j] /= g
  let spread = 0
  for (let t = 0; t < g; t++) {
    const x = inputs[honestIdx[t]]
    for (let j = 0; j < d; j++) { const u = x[j] - center[j]; spread += u * u }
  }
  spread /= g
  let error = 0
  for (let j = 0; j < d; j++) { const u = output[j] - center[j]; error += u * u }
  if (spread === 0) return error === 0 ? 0 : Infinity
  return error / spread
}

function ratio (name: string, n: number, f: number): number {
  if (!Number.isInteger(n) || !Number.isInteger(f) || f < 0 || n <= 2 * f) {
    throw new RobustInputError('too-few-inputs', `${name}: needs integers n > 2f ≥ 0, got n = ${n}, f = ${f}`)
  }
  return f / (n - 2 * f)
}
