import type { PoisonBehaviour } from '../byzantine.ts'
import type { RoundStrategy } from './types.ts'

/** A data poisoner: the honest round, trained on poisoned local data. */
export function poisonStrategy (behaviour: PoisonBehaviour): RoundStrategy {
  return {
    byzantine: true,
    setUp ({ options, colluders }) {
      const { learner, self, seed } = options
      if (learner.poison === undefined) throw new Error(`round engine: behaviour ${behaviour.spec} poisons training data, but this learner has none`)
      const sorted = [...colluders].sort()
      learner.poison((data) => behaviour.poison(data, { colluderIndex: sorted.indexOf(self), colluders: sorted.length, seed: seed ?? 0 }))
    }
  }
}
