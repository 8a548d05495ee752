import { RobustInputError } from '../errors.ts'
import { kernels } from '../kernels/index.ts'
import type { Aggregator, AggregateOptions, Vectors } from '../types.ts'
import { checkInputs, output } from '../validate.ts'
import { allIndices, meanOf } from './ranking.ts'

/**
 * How many neighbours a Krum score sums over: n − f − 1 (the common form, e.g. ByzFL) or
 * n − f − 2 (Blanchard et al., 2017).
 */
export type KrumConvention = 'n-f-1' | 'n-f-2'

export interface KrumParams {
  /** Neighbour count of the score; default 'n-f-1'. */
  convention?: KrumConvention
}

const CONVENTIONS: readonly string[] = ['n-f-1', 'n-f-2']

function checkConvention (rule: string, params: KrumParams): KrumConvention {
  const convention = params.convention ?? 'n-f-1'
  if (!CONVENTIONS.includes(convention)) {
    throw new RobustInputError('bad-parameter', `${rule}: convention must be 'n-f-1' or 'n-f-2', got ${String(convention)}`)
  }
  return convention
}

/** n − f − 1 needs n > 2f; Blanchard et al. state n − f − 2 for n ≥ 2f + 3. */
function krumMinInputs (convention: KrumConvention, f: number): number {
  return convention === 'n-f-1' ? 2 * f + 1 : 2 * f + 3
}

/** Neighbour count of the score when `size` inputs are scored. */
function neighbourCount (convention: KrumConvention, size: number, f: number): number {
  return size - f - (convention === 'n-f-1' ? 1 : 2)
}

interface MemberScores {
  /** Krum score of each member; +Infinity for non-members. */
  readonly scores: Float64Array
  /** Sum of squared distances to all other members: the tie-break between equal scores. */
  readonly totals: Float64Array
}

/**
 * Krum scores restricted to `members` (indices into the n×n squared-distance matrix D): for each
 * member, the mean of its `count` smallest squared distances to the other members (0 when count
 * is 0). Both sums run over the sorted distances, so they do not depend on the input order.
 */
function scoreMembers (D: Float64Array, n: number, members: Uint32Array, count: number): MemberScores {
  const scores = new Float64Array(n).fill(Infinity)
  const totals = new Float64Array(n).fill(Infinity)
  const row = new Float64Array(members.length)
  for (const i of members) {
    let m = 0
    for (const j of members) if (j !== i) row[m++] = D[i * n + j]
    const sorted = row.subarray(0, m).sort()
    let s = 0
    let t = 0
    for (let r = 0; r < m; r++) {
      if (r < count) s += sorted[r]
      t += sorted[r]
    }
    scores[i] = count > 0 ? s / count : 0
    totals[i] = t
  }
  return { scores, totals }
}

/** Lexicographic order of two vectors: an order-free tie-break of last resort. */
function compareVectors (a: Float32Array, b: Float32Array): number {
  for (let j = 0; j < a.length; j++) if (a[j] !== b[j]) return a[j] - b[j]
  return 0
}

/**
 * `members` from most to least central by Krum score over `count` neighbours. Equal scores are
 * common (with count = 1 two mutual nearest neighbours always tie), so ties go to the member
 * closer to all others (smaller total squared distance), then, when `inputs` are given, to the
 * lexicographically smaller vector (the totals can round to the same value when a far outlier
 * dominates them), and only then to the lower index: the choice does not depend on the order of
 * the inputs.
 */
export function krumRanking (D: Float64Array, n: number, members: Uint32Array, count: number, inputs?: Vectors): Uint32Array {
  const { scores, totals } = scoreMembers(D, n, members, count)
  return Uint32Array.from(members).sort((a, b) => (scores[a] - scores[b]) || (totals[a] - totals[b]) ||
    (inputs === undefined ? 0 : compareVectors(inputs[a], inputs[b])) || a - b)
}

/**
 * Krum scores of all n inputs from their n×n squared-distance matrix D: score_i is the mean of the
 * squared distances from x_i to its n − f − 1 (or, Blanchard et al., n − f − 2) nearest other
 * inputs. Lower is more central.
 */
export function krumScores (D: Float64Array, n: number, f: number, convention: KrumConvention = 'n-f-1'): Float64Array {
  const rule = 'krum'
  checkConvention(rule, { convention })
  if (!Number.isInteger(n) || n < 1 || D.length !== n * n) {
    throw new RobustInputError('dimension-mismatch', `${rule}: distance matrix has ${D.length} entries, expected n² for n = ${n}`)
  }
  if (!Number.isInteger(f) || f < 0) throw new RobustInputError('bad-parameter', `${rule}: f must be a non-negative integer, got ${f}`)
  const need = krumMinInputs(convention, f)
  if (n < need) throw new RobustInputError('too-few-inputs', `${rule}: needs at least ${need} inputs to tolerate f = ${f}, got n = ${n}`)
  return scoreMembers(D, n, allIndices(n), neighbourCount(convention, n, f)).scores
}

/**
 * Krum (Blanchard et al., 2017): returns a copy of the input with the lowest Krum score (see
 * `krumScores`; ties as in `krumRanking`). Needs n > 2f, or n ≥ 2f + 3 with 'n-f-2'.
 */
export function krum (params: KrumParams = {}): Aggregator {
  const name = 'krum'
  const convention = checkConvention(name, params)
  return {
    name,
    minInputs: (f) => krumMinInputs(convention, f),
    aggregate (inputs: Vectors, options: AggregateOptions, out?: Float32Array): Float32Array {
      const d = checkInputs(name, inputs, options, this.minInputs(options.f))
      const result = output(name, d, out)
      const n = inputs.length
      const ranking = krumRanking(kernels().sqDistances(inputs), n, allIndices(n), neighbourCount(convention, n, options.f), inputs)
      result.set(inputs[ranking[0]])
      return result
    }
  }
}

/**
 * MultiKrum: the mean of the n − f inputs with the lowest Krum scores (ties as in `krumRanking`).
 * Same bound as Krum for the chosen convention.
 */
export function multikrum (params: KrumParams = {}): Aggregator {
  const name = 'multikrum'
  const convention = checkConvention(name, params)
  return {
    name,
    minInputs: (f) => krumMinInputs(convention, f),
    aggregate (inputs: Vectors, options: AggregateOptions, out?: Float32Array): Float32Array {
      const d = checkInputs(name, inputs, options, this.minInputs(options.f))
      const result = output(name, d, out)
      const n = inputs.length
      const ranking = krumRanking(kernels().sqDistances(inputs), n, allIndices(n), neighbourCount(convention, n, options.f), inputs)
      return meanOf(inputs, ranking.subarray(0, n - options.f), result)
    }
  }
}
