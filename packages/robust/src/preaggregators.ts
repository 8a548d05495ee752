import { kernels } from './kernels/index.ts'
import { createRng, permutation } from './rng.ts'
import type { Rng } from './rng.ts'
import type { AggregateOptions, PreAggregator, Vectors } from './types.ts'
import { checkInputs, checkInteger, checkPositive } from './validate.ts'

// Pre-aggregators run before a rule and hand it m vectors (m = n except for bucketing). Each
// touches the n·d data through the kernels only: one distance or norm pass, then one `combine`
// that writes every new vector, so a stage costs about two passes over the inputs.

/**
 * Nearest-neighbour mixing: x_i ← mean of the n − f inputs nearest to x_i (x_i itself included).
 * Ties in distance go to the lower index, after x_i itself. Needs n > 2f, like the rules it feeds.
 */
export function nnm (): PreAggregator {
  const name = 'nnm'
  const minInputs = (f: number): number => 2 * f + 1
  return {
    name,
    minInputs,
    nextF: (f) => f,
    apply (inputs: Vectors, options: AggregateOptions): Float32Array[] {
      const d = checkInputs(name, inputs, options, minInputs(options.f))
      const n = inputs.length
      const keep = n - options.f
      const dist = kernels().sqDistances(inputs)
      const coeffs = new Float64Array(n * n)
      const order = new Uint32Array(n)
      const weight = 1 / keep
      for (let i = 0; i < n; i++) {
        const row = i * n
        for (let j = 0; j < n; j++) order[j] = j
        // x_i first among the inputs at distance 0, so 'itself included' holds literally with duplicates.
        order.sort((a, b) => (dist[row + a] - dist[row + b]) || ((a === i ? -1 : 0) - (b === i ? -1 : 0)) || a - b)
        for (let t = 0; t < keep; t++) coeffs[row + order[t]] = weight
      }
      const outs = newVectors(n, d)
      kernels().combine(inputs, coeffs, outs)
      return outs
    }
  }
}

export interface BucketingParams {
  /** Bucket size, an integer ≥ 1 (default 2). */
  s?: number
  /** Seed of the shuffle when the call brings no `options.rng` (default 0). */
  seed?: number
}

/**
 * Bucketing: shuffle the inputs, average consecutive buckets of s (the last bucket holds the
 * n mod s left over when s does not divide n), and pass the ⌈n/s⌉ bucket means on with tolerance
 * ⌈f/s⌉. The shuffle draws from `options.rng` when the call brings one, else from a generator
 * seeded once with `seed`, so a run is reproducible either way. The bucket holding the pivot
 * input comes first, so pivot-centred rules after it still centre on the node's own group.
 *
 * ⌈f/s⌉ is the tolerance this project specifies for the next rule; it is optimistic: a worst-case
 * placement can still spread f Byzantine inputs over f buckets.
 */
export function bucketing (params: BucketingParams = {}): PreAggregator {
  const { s = 2, seed = 0 } = params
  checkInteger('bucketing', 's', s, 1)
  checkInteger('bucketing', 'seed', seed, Number.MIN_SAFE_INTEGER)
  const parts: string[] = []
  if (s !== 2) parts.push(`s=${s}`)
  if (seed !== 0) parts.push(`seed=${seed}`)
  const name = parts.length > 0 ? `bucketing(${parts.join(',')})` : 'bucketing'
  const minInputs = (f: number): number => f + 1
  let ownRng: Rng | undefined
  return {
    name,
    minInputs,
    nextF: (f) => Math.ceil(f / s),
    outputs: (n) => Math.ceil(n / s),
    apply (inputs: Vectors, options: AggregateOptions): Float32Array[] {
      const d = checkInputs(name, inputs, options, minInputs(options.f))
      const n = inputs.length
      const rng = options.rng ?? (ownRng ??= createRng(seed))
      const perm = permutation(n, rng)
      const m = Math.ceil(n / s)
      const pivotBucket = Math.floor(perm.indexOf(options.pivot ?? 0) / s)
      const coeffs = new Float64Array(m * n)
      for (let b = 0; b < m; b++) {
        // Swap the pivot's bucket with bucket 0 in the output order.
        const row = b === pivotBucket ? 0 : b === 0 ? pivotBucket : b
        const start = b * s
        const end = Math.min(n, start + s)
        for (let t = start; t < end; t++) coeffs[row * n + perm[t]] = 1 / (end - start)
      }
      const outs = newVectors(m, d)
      kernels().combine(inputs, coeffs, outs)
      return outs
    }
  }
}

export interface ClippingParams {
  /** Norm threshold c > 0. */
  c: number
}

/**
 * Static clipping: x_i ← x_i · min(1, c/‖x_i‖). Only inputs longer than c are copied; the others
 * are passed on as they are (rules never modify their inputs).
 */
export function clipping (params: ClippingParams): PreAggregator {
  const { c } = params
  checkPositive('clip', 'c', c)
  const name = `clip(c=${c})`
  const minInputs = (f: number): number => f + 1
  return {
    name,
    minInputs,
    nextF: (f) => f,
    apply (inputs: Vectors, options: AggregateOptions): Float32Array[] {
      const d = checkInputs(name, inputs, options, minInputs(options.f))
      const norms = sqNorms(inputs, d)
      const over: number[] = []
      for (let i = 0; i < inputs.length; i++) if (Math.sqrt(norms[i]) > c) over.push(i)
      return clipTo(inputs, d, norms, over, c)
    }
  }
}

/** k = ⌊2 (f/n)(n − f)⌋: how many of the largest inputs ARC clips. */
export function arcClipCount (n: number, f: number): number {
  return Math.floor((2 * f * (n - f)) / n)
}

/**
 * Adaptive robust clipping: clip the k = ⌊2 (f/n)(n − f)⌋ largest-norm inputs to the norm of the
 * largest remaining one (n = 17, f = 4: k = 6). Needs n > 2f.
 */
export function arc (): PreAggregator {
  const name = 'arc'
  const minInputs = (f: number): number => 2 * f + 1
  return {
    name,
    minInputs,
    nextF: (f) => f,
    apply (inputs: Vectors, options: AggregateOptions): Float32Array[] {
      const d = checkInputs(name, inputs, options, minInputs(options.f))
      const n = inputs.length
      const k = arcClipCount(n, options.f)
      if (k === 0) return Array.from(inputs)
      const norms = sqNorms(inputs, d)
      const order = Array.from({ length: n }, (_, i) => i)
      order.sort((a, b) => (norms[a] - norms[b]) || a - b)
      const threshold = Math.sqrt(norms[order[n - k - 1]])
      const over = order.slice(n - k).filter((i) => Math.sqrt(norms[i]) > threshold)
      return clipTo(inputs, d, norms, over, threshold)
    }
  }
}

/** Copies of inputs[i] scaled to norm `threshold` for i in `over` (one combine), the rest as given. */
function clipTo (inputs: Vectors, d: number, norms: Float64Array, over: readonly number[], threshold: number): Float32Array[] {
  const result = Array.from(inputs)
  if (over.length === 0) return result
  const n = inputs.length
  const coeffs = new Float64Array(over.length * n)
  for (let r = 0; r < over.length; r++) coeffs[r * n + over[r]] = threshold / Math.sqrt(norms[over[r]])
  const outs = newVectors(over.length, d)
  kernels().combine(inputs, coeffs, outs)
  for (let r = 0; r < over.length; r++) result[over[r]] = outs[r]
  return result
}

let zeros = new Float32Array(0)

/** Squared norms through the distance kernel (distance to a shared, never-written zero vector). */
export function sqNorms (inputs: Vectors, d: number): Float64Array {
  if (zeros.length !== d) zeros = new Float32Array(d)
  return kernels().sqDistancesTo(inputs, zeros)
}

function newVectors (m: number, d: number): Float32Array[] {
  const outs: Float32Array[] = new Array(m)
  for (let r = 0; r < m; r++) outs[r] = new Float32Array(d)
  return outs
}
