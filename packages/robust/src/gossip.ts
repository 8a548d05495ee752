import { RobustInputError } from './errors.ts'
import { kernels } from './kernels/index.ts'
import type { AggregateOptions, Aggregator, Vectors } from './types.ts'
import { checkInputs, checkInteger, output } from './validate.ts'

// Node i's mixing step in gossip D-SGD. Its inputs are always [own, ...neighbours], so the own
// model sits at index 0 (the pivot) and every weight vector is laid out the same way.
// `out` must not alias own or a neighbour: rules read their inputs while they write.

/** Per-call options of the gossip form: everything a rule takes except f and pivot, plus `out`. */
export interface GossipOptions extends Omit<AggregateOptions, 'f' | 'pivot'> {
  /** Where to write the result (allocated when omitted). */
  out?: Float32Array
}

/**
 * Runs `rule` on [own, ...neighbours] with pivot 0 and this node's own tolerance f (each node
 * passes its own f_i). `options.weights`, when given, has one weight per input, own first.
 */
export function gossipAggregate (rule: Aggregator, own: Float32Array, neighbours: Vectors, f: number, options: GossipOptions = {}): Float32Array {
  const { out, ...rest } = options
  if (rest.weights !== undefined && rest.weights.length !== neighbours.length + 1) {
    throw new RobustInputError('bad-parameter',
      `${rule.name}: ${rest.weights.length} weights for ${neighbours.length + 1} inputs (own model first, then the neighbours)`)
  }
  return rule.aggregate([own, ...neighbours], { ...rest, f, pivot: 0 }, out)
}

/**
 * Metropolis–Hastings weights of node i for [self, ...neighbours]: W_ij = 1/(1 + max(d_i, d_j))
 * and W_ii = 1 − Σ_j W_ij. degreeSelf is i's degree in the graph; when fewer neighbours are listed
 * (some did not answer this round) the self weight keeps the missing share, so the row still
 * sums to 1.
 */
export function metropolisWeights (degreeSelf: number, degreesNeighbours: ArrayLike<number>): Float64Array {
  const m = degreesNeighbours.length
  checkInteger('metropolis', 'degreeSelf (at least the number of neighbours listed)', degreeSelf, m)
  const w = new Float64Array(m + 1)
  let sum = 0
  for (let j = 0; j < m; j++) {
    const dj = degreesNeighbours[j]
    checkInteger('metropolis', `degree of neighbour ${j}`, dj, 1)
    w[j + 1] = 1 / (1 + Math.max(degreeSelf, dj))
    sum += w[j + 1]
  }
  w[0] = 1 - sum
  return w
}

/** Plain (non-robust) mixing x_i ← Σ_j W_ij x_j over [own, ...neighbours], weights own first. */
export function mixMetropolis (own: Float32Array, neighbours: Vectors, weights: ArrayLike<number>, out?: Float32Array): Float32Array {
  const name = 'mix'
  const inputs = [own, ...neighbours]
  const d = checkInputs(name, inputs, { f: 0 }, 1)
  if (weights.length !== inputs.length) {
    throw new RobustInputError('bad-parameter', `${name}: ${weights.length} weights for ${inputs.length} inputs (own model first, then the neighbours)`)
  }
  const coeffs = new Float64Array(inputs.length)
  for (let j = 0; j < inputs.length; j++) {
    if (!Number.isFinite(weights[j])) throw new RobustInputError('bad-parameter', `${name}: weight ${j} is ${weights[j]}`)
    coeffs[j] = weights[j]
  }
  const result = output(name, d, out)
  kernels().combine(inputs, coeffs, [result])
  return result
}

/**
 * The α-gossip step θ_i ← θ_i − α Σ_j (θ_i − θ_j) = (1 − α·m) θ_i + α Σ_j θ_j over the m
 * neighbours (seed 001, phase II). The step is a contraction only for α·m ≤ 1 (not enforced).
 */
export function alphaGossip (own: Float32Array, neighbours: Vectors, alpha: number, out?: Float32Array): Float32Array {
  const name = 'alpha-gossip'
  if (!Number.isFinite(alpha) || alpha < 0) throw new RobustInputError('bad-parameter', `${name}: alpha must be a finite number ≥ 0, got ${alpha}`)
  const inputs = [own, ...neighbours]
  const d = checkInputs(name, inputs, { f: 0 }, 1)
  const m = neighbours.length
  const coeffs = new Float64Array(m + 1).fill(alpha)
  coeffs[0] = 1 - alpha * m
  const result = output(name, d, out)
  kernels().combine(inputs, coeffs, [result])
  return result
}

export interface RobustMixOptions extends GossipOptions {
  /**
   * Step towards the robust aggregate: θ_i ← (1 − η) own + η F(own, neighbours), η ∈ [0, 1].
   * Default 1: the node takes the aggregate as its new model.
   */
  eta?: number
}

/** Robust gossip mixing: the rule's output on [own, ...neighbours], blended with own by η. */
export function robustMix (rule: Aggregator, own: Float32Array, neighbours: Vectors, f: number, options: RobustMixOptions = {}): Float32Array {
  const { eta = 1, out, ...rest } = options
  if (!Number.isFinite(eta) || eta < 0 || eta > 1) {
    throw new RobustInputError('bad-parameter', `${rule.name}: eta must be in [0, 1], got ${eta}`)
  }
  if (eta === 1) return gossipAggregate(rule, own, neighbours, f, { ...rest, out })
  const aggregate = gossipAggregate(rule, own, neighbours, f, rest)
  const result = output(rule.name, own.length, out)
  kernels().combine([own, aggregate], Float64Array.of(1 - eta, eta), [result])
  return result
}
