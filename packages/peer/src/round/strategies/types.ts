// What a node does differently from the honest round, as hooks the round engine calls. The engine
// runs the honest round (train, send to every neighbour, collect, robust mix, checkpoint, metrics);
// a hook a strategy leaves out is the honest behaviour.

import type { NeighbourView } from '../../open/neighbours.ts'
import type { RoundEngineOptions } from '../engine.ts'
import type { ABORTED } from '../wait.ts'

/** What one round's exchange brought in. */
export interface Exchange {
  received: Map<string, Float32Array>
  /** Neighbours waited for only briefly (they had been silent). */
  silent?: string[]
}

/** What the engine lends a strategy. */
export interface StrategyHost {
  readonly options: Readonly<RoundEngineOptions>
  /** Every Byzantine node id, this one included for a Byzantine node. */
  readonly colluders: ReadonlySet<string>
  /** The neighbours that are not colluders, in the topology's order. */
  readonly honestNeighbours: readonly string[]
  /**
   * Starts one send per receiver (a model or raw frame bytes) and resolves once they all finished
   * (those to `waitFor`, when given) or `deadline` passed; failures are counted, never thrown.
   */
  sendAll: (t: number, messages: ReadonlyArray<readonly [string, Float32Array | Uint8Array]>, deadline: number, waitFor?: ReadonlySet<string>) => Promise<void>
}

/** Round t as the exchange sees it. */
export interface ExchangeRound {
  t: number
  /** This round's trained model, θ(t+½). */
  half: Float32Array
  /** When the honest peers stop collecting this round, ms since the epoch. */
  deadline: number
  /** The round's wait, ms (deadline − its start). */
  waitMs: number
}

export interface RoundStrategy {
  /** The node is Byzantine: metrics say so, and it keeps the fixed topology (no open neighbourhood, no f check). */
  readonly byzantine: boolean
  /** Throws a RangeError when the engine's options cannot serve the strategy; called once, by the engine's constructor. */
  check?: (options: Readonly<RoundEngineOptions>) => void
  /** Before the first round. */
  setUp?: (host: StrategyHost) => void
  /** Whether the node sits round t out: no training, nothing sent, the round's time passes. */
  silentAt?: (t: number) => boolean
  /** Round t's exchange; ABORTED when the run was stopped. Absent: the honest exchange. */
  exchange?: (host: StrategyHost, round: ExchangeRound) => Promise<Exchange | typeof ABORTED>
  /** Whose models round t expects (the others are not reported missing). Absent: every neighbour of the round. */
  expects?: (host: StrategyHost, view: NeighbourView) => readonly string[]
  /** The node's next model from its own and what it heard, mixed with f = 0. Absent: the robust mixing step. */
  mix?: (half: Float32Array, received: ReadonlyMap<string, Float32Array>) => Float32Array
}
