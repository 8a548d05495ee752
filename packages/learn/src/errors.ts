/** Why the learning layer refused a request. Stable codes let callers branch without parsing messages. */
export type LearnErrorCode =
  | 'bad-parameter'
  | 'bad-csv'
  | 'shape-mismatch'
  | 'missing-dependency'
  | 'backend-unavailable'

/** Thrown for bad input to datasets, models, trainers and backends; the message names the problem. */
export class LearnInputError extends Error {
  readonly code: LearnErrorCode
  constructor (code: LearnErrorCode, message: string) {
    super(message)
    this.name = 'LearnInputError'
    this.code = code
  }
}

/** Throws unless value is an integer in [min, max]. */
export function checkInt (where: string, name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new LearnInputError('bad-parameter', `${where}: ${name} must be an integer in [${min}, ${max}], got ${value}`)
  }
}

/** Throws unless value is a finite number ≥ min (or > min when strict). */
export function checkNumber (where: string, name: string, value: number, min = -Infinity, strict = false): void {
  if (!Number.isFinite(value) || value < min || (strict && value === min)) {
    const bound = min === -Infinity ? '' : ` ${strict ? '>' : '≥'} ${min}`
    throw new LearnInputError('bad-parameter', `${where}: ${name} must be a finite number${bound}, got ${value}`)
  }
}
