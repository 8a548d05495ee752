import type { RoundStrategy } from './types.ts'

/** The protocol as written: every hook is the engine's own round. */
export const honestStrategy: RoundStrategy = { byzantine: false }
