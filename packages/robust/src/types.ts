import type { Rng } from './rng.ts'

/** A set of model vectors, all of one dimension. Rules never modify their inputs. */
export type Vectors = readonly Float32Array[]

/** Per-call settings shared by every rule. Rules ignore what they do not use. */
export interface AggregateOptions {
  /** How many of the inputs may be Byzantine. */
  f: number
  /**
   * Index of the aggregating node's own model among the inputs (gossip form). Pivot-based rules
   * (MoNNA, centered clipping, self-centred clipping) centre on it. Defaults to 0.
   */
  pivot?: number
  /** Mixing weights, one per input (gossip form); weights[pivot] is the self weight. */
  weights?: ArrayLike<number>
  /** Previous output of the rule, for rules that iterate from it (centered clipping). */
  previous?: Float32Array
  /** Per-input loss gap (loss of input i on local data minus the best), for loss-aware rules. */
  lossGaps?: ArrayLike<number>
  /** Randomness for rules that shuffle (bucketing). */
  rng?: Rng
  /**
   * Skip the finite-value scan: the caller has already validated every input (the peer does so
   * when it decodes a frame). Shapes are still checked.
   */
  assumeFinite?: boolean
}

/** A robust aggregation rule F: (R^d)^n -> R^d. */
export interface Aggregator {
  /** The spec name, e.g. `cwtm` or `nnm+cwtm`. */
  readonly name: string
  /** The smallest number of inputs the rule accepts when f of them may be Byzantine. */
  minInputs: (f: number) => number
  /** Aggregate into `out` (allocated when omitted) and return it. */
  aggregate: (inputs: Vectors, options: AggregateOptions, out?: Float32Array) => Float32Array
}

/** A pre-aggregator maps n inputs to m vectors (m = n except bucketing) before a rule runs. */
export interface PreAggregator {
  readonly name: string
  minInputs: (f: number) => number
  /** The tolerance the next stage must use (bucketing divides f by the bucket size). */
  nextF: (f: number, n: number) => number
  /**
   * How many vectors `apply` returns for n inputs; n when omitted. A stage that changes the count
   * returns the group holding the pivot input first, so the next stage can keep pivot 0.
   */
  outputs?: (n: number) => number
  apply: (inputs: Vectors, options: AggregateOptions) => Float32Array[]
}
