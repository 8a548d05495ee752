/** Why a robust rule refused its input. Stable codes let callers count failures by reason. */
export type RobustErrorCode =
  | 'empty-input'
  | 'dimension-mismatch'
  | 'non-finite'
  | 'too-few-inputs'
  | 'bad-parameter'
  | 'unknown-rule'

/** Thrown when a rule cannot give a meaningful answer for its input; the message names the problem. */
export class RobustInputError extends Error {
  readonly code: RobustErrorCode
  constructor (code: RobustErrorCode, message: string) {
    super(message)
    this.name = 'RobustInputError'
    this.code = code
  }
}
