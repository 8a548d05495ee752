// How long a round waits for the neighbours' models. A fixed timeout is wrong both ways: on a
// busy machine slow-but-alive neighbours miss it and their models are lost, and with a paused or
// dead neighbour every round waits the whole of it. So the deadline follows the arrival times
// the node observes, a multiple of their recent 90th percentile, between a floor and the
// configured timeout. Only rounds in which every awaited model arrived count, plus models that
// came after their round's deadline (how the node learns it waited too little): while a
// neighbour is missing, rounds end at the deadline and the others' arrivals are skewed by that
// very wait; learning from them would stretch the deadline without end.

import { quantile } from '@murmur/robust'
import type { RoundTiming } from './inbox.ts'

export interface AdaptiveDeadlineOptions {
  /** The most a round waits, ms (the configured round timeout); also the wait until enough rounds were observed. */
  capMs: number
  /** The least a round waits, ms (default: the cap or 2 s, whichever is smaller). */
  floorMs?: number
  /** Multiple of the recent slow arrival time (default 3). */
  factor?: number
  /** Rounds of observations kept (default 20). */
  window?: number
  /** Observed rounds needed before the deadline adapts (default 3). */
  warmup?: number
}

export const DEFAULT_DEADLINE_FLOOR_MS = 2000

export class AdaptiveDeadline {
  readonly capMs: number
  readonly floorMs: number
  private readonly factor: number
  private readonly window: number
  private readonly warmup: number
  /** Per observed round: ms from the start of collecting to its slowest model's arrival. */
  private readonly slowest: number[] = []
  private lastObserved = -1

  constructor (options: AdaptiveDeadlineOptions) {
    const { capMs } = options
    if (!(capMs > 0 && Number.isFinite(capMs))) throw new RangeError(`deadline: capMs must be a finite number > 0, got ${capMs}`)
    this.capMs = capMs
    this.floorMs = options.floorMs ?? Math.min(capMs, DEFAULT_DEADLINE_FLOOR_MS)
    this.factor = options.factor ?? 3
    this.window = options.window ?? 20
    this.warmup = options.warmup ?? 3
    if (!(this.floorMs > 0 && this.floorMs <= capMs)) throw new RangeError(`deadline: floorMs must be in (0, capMs = ${capMs}], got ${this.floorMs}`)
    if (!(this.factor >= 1)) throw new RangeError(`deadline: factor must be ≥ 1, got ${this.factor}`)
    if (!(Number.isInteger(this.window) && this.window >= 1)) throw new RangeError(`deadline: window must be an integer ≥ 1, got ${this.window}`)
    if (!(Number.isInteger(this.warmup) && this.warmup >= 1 && this.warmup <= this.window)) throw new RangeError(`deadline: warmup must be an integer in [1, window], got ${this.warmup}`)
  }

  /**
   * Takes in a collected round's arrival times (each round once; a round where nothing arrived
   * adds nothing). With `from`, only those senders count: the neighbours the round waited for;
   * of a round where one of them was missing (`complete` false) only the late arrivals count.
   */
  observe (timing: RoundTiming | undefined, from?: ReadonlySet<string>, complete = true): void {
    if (timing === undefined || timing.round <= this.lastObserved) return
    let slowest = -1
    if (complete) for (const [id, ms] of timing.arrivals) if (ms > slowest && from?.has(id) !== false) slowest = ms
    for (const [id, ms] of timing.late) if (ms > slowest && from?.has(id) !== false) slowest = ms
    if (slowest < 0) return
    this.lastObserved = timing.round
    this.slowest.push(slowest)
    if (this.slowest.length > this.window) this.slowest.shift()
  }

  /** The wait for the next round, ms. */
  get ms (): number {
    if (this.slowest.length < this.warmup) return this.capMs
    const wanted = this.factor * quantile(this.slowest, 0.9)
    return Math.round(Math.min(this.capMs, Math.max(this.floorMs, wanted)))
  }
}
