import type { CrashBehaviour } from '../byzantine.ts'
import type { RoundStrategy } from './types.ts'

/** The honest round until `fromRound`, then silence: no training, nothing sent. */
export function crashStrategy (behaviour: CrashBehaviour): RoundStrategy {
  return { byzantine: true, silentAt: (t) => t >= behaviour.fromRound }
}
