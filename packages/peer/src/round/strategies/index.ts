import type { ByzantineBehaviour } from '../byzantine.ts'
import { crashStrategy } from './crash.ts'
import { honestStrategy } from './honest.ts'
import { modelAttackStrategy } from './model-attack.ts'
import { poisonStrategy } from './poison.ts'
import { rawFramesStrategy } from './raw-frames.ts'
import type { RoundStrategy } from './types.ts'

export type { Exchange, ExchangeRound, RoundStrategy, StrategyHost } from './types.ts'

/** How a node with this behaviour (none: honest) runs its rounds. A fresh strategy per engine: some keep state across rounds. */
export function strategyFor (behaviour: ByzantineBehaviour | undefined): RoundStrategy {
  if (behaviour === undefined) return honestStrategy
  switch (behaviour.kind) {
    case 'model': return modelAttackStrategy(behaviour)
    case 'raw': return rawFramesStrategy(behaviour)
    case 'crash': return crashStrategy(behaviour)
    case 'poison': return poisonStrategy(behaviour)
  }
}
