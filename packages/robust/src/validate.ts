import { RobustInputError } from './errors.ts'
import type { AggregateOptions, Vectors } from './types.ts'

/**
 * Checks what every rule needs before it runs: at least one input, one shared dimension, a valid f,
 * enough inputs for the rule's bound, and (unless the caller vouches for it) finite values.
 * Returns the dimension.
 */
export function checkInputs (rule: string, inputs: Vectors, options: AggregateOptions, minInputs: number): number {
  const n = inputs.length
  if (n === 0) throw new RobustInputError('empty-input', `${rule}: no inputs to aggregate`)
  const { f } = options
  checkTolerance(rule, f)
  if (n < minInputs) {
    throw new RobustInputError('too-few-inputs',
      `${rule}: needs at least ${minInputs} inputs to tolerate f = ${f}, got n = ${n}`)
  }
  const d = inputs[0].length
  if (d === 0) throw new RobustInputError('empty-input', `${rule}: input 0 has dimension 0`)
  for (let i = 1; i < n; i++) {
    if (inputs[i].length !== d) {
      throw new RobustInputError('dimension-mismatch',
        `${rule}: input ${i} has dimension ${inputs[i].length}, input 0 has ${d}`)
    }
  }
  if (options.pivot !== undefined && (!Number.isInteger(options.pivot) || options.pivot < 0 || options.pivot >= n)) {
    throw new RobustInputError('bad-parameter', `${rule}: pivot ${options.pivot} is not an input index (n = ${n})`)
  }
  if (options.assumeFinite !== true) {
    for (let i = 0; i < n; i++) {
      const j = firstNonFinite(inputs[i])
      if (j >= 0) {
        throw new RobustInputError('non-finite', `${rule}: input ${i} has a non-finite value (${inputs[i][j]}) at coordinate ${j}`)
      }
    }
  }
  return d
}

/** Refuses a tolerance f that is not a non-negative integer (NaN, missing, negative, fractional). */
export function checkTolerance (rule: string, f: number): void {
  if (!Number.isInteger(f) || f < 0) {
    throw new RobustInputError('bad-parameter', `${rule}: f must be a non-negative integer, got ${f}`)
  }
}

/** Index of the first NaN or ±Infinity, or -1. Sums in blocks so the common all-finite case is one pass. */
export function firstNonFinite (x: Float32Array): number {
  const d = x.length
  const block = 4096
  for (let start = 0; start < d; start += block) {
    const end = Math.min(d, start + block)
    let acc = 0
    // x * 0 is 0 for finite x and NaN for NaN or ±Infinity, so one NaN poisons the block sum.
    for (let j = start; j < end; j++) acc += x[j] * 0
    if (acc !== 0) {
      for (let j = start; j < end; j++) if (!Number.isFinite(x[j])) return j
    }
  }
  return -1
}

/** Returns `out` when it fits, else a new vector of dimension d. */
export function output (rule: string, d: number, out?: Float32Array): Float32Array {
  if (out === undefined) return new Float32Array(d)
  if (out.length !== d) throw new RobustInputError('dimension-mismatch', `${rule}: output has dimension ${out.length}, inputs have ${d}`)
  return out
}

/** Throws unless value is an integer in [min, max]. */
export function checkInteger (rule: string, name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RobustInputError('bad-parameter', `${rule}: ${name} must be an integer in [${min}, ${max}], got ${value}`)
  }
}

/** Throws unless value is a finite number > 0 (or ≥ 0 when allowZero). */
export function checkPositive (rule: string, name: string, value: number, allowZero = false): void {
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new RobustInputError('bad-parameter', `${rule}: ${name} must be a finite number ${allowZero ? '≥' : '>'} 0, got ${value}`)
  }
}
