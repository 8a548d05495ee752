// How long a round waits for the neighbours' models. A fixed timeout is wrong both ways: on a
// busy machine slow-but-alive neighbours miss it and their models are lost, and with a paused or
// dead neighbour every round waits the whole of it. So the deadline follows the arrival times
// the node observes, a multiple of their recent 90th percentile, between a floor and the
// configured timeout. Only rounds in which every awaited model arrived count, plus models that
// came after their round's deadline, even rounds later (how the node learns it waited too
// little): while a neighbour is missing, rounds end at the deadline and the others' arrivals are
// skewed by that very wait; learning from them would stretch the deadline without end.

import { quantile } from '@murmur/robust'
import { DEADLINE_FACTOR, DEADLINE_FLOOR_MS, DEADLINE_WARMUP, DEADLINE_WINDOW } from '../constants.ts'
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

export class AdaptiveDeadline {
  readonly capMs: number
  readonly floorMs: number
  private readonly factor: number
  private readonly window: number
  private readonly warmup: number
  /** Per observed round: ms from the start of collecting to its slowest model's arrival. */
  private readonly slowest = new Map<number, number>()
  /** Rounds never to learn from (the process was stalled in them). */
  private readonly ignored = new Set<number>()

  constructor (options: AdaptiveDeadlineOptions) {
    const { capMs } = options
    if (!(capMs > 0 && Number.isFinite(capMs))) throw new RangeError(`deadline: capMs must be a finite number > 0, got ${capMs}`)
    this.capMs = capMs
    this.floorMs = options.floorMs ?? Math.min(capMs, DEADLINE_FLOOR_MS)
    this.factor = options.factor ?? DEADLINE_FACTOR
    this.window = options.window ?? DEADLINE_WINDOW
    this.warmup = options.warmup ?? DEADLINE_WARMUP
    if (!(this.floorMs > 0 && this.floorMs <= capMs)) throw new RangeError(`deadline: floorMs must be in (0, capMs = ${capMs}], got ${this.floorMs}`)
    if (!(this.factor >= 1)) throw new RangeError(`deadline: factor must be ≥ 1, got ${this.factor}`)
    if (!(Number.isInteger(this.window) && this.window >= 1)) throw new RangeError(`deadline: window must be an integer ≥ 1, got ${this.window}`)
    if (!(Number.isInteger(this.warmup) && this.warmup >= 1 && this.warmup <= this.window)) throw new RangeError(`deadline: warmup must be an integer in [1, window], got ${this.warmup}`)
  }

  /**
   * Takes in collected rounds' arrival times; call it with the same rounds again as their late
   * models come in. Of a round, only the senders it waited for in full count, and of a round where
   * one of them was missing only the late arrivals. A round where nothing arrived adds nothing.
   */
  observe (timings: readonly RoundTiming[]): void {
    for (const timing of timings) {
      if (this.ignored.has(timing.round)) continue
      let late = -1
      for (const ms of timing.late.values()) late = Math.max(late, ms)
      const seen = this.slowest.get(timing.round)
      if (seen !== undefined) {
        // Arrivals in time do not change once collected; only a late model can raise a round.
        if (late > seen) this.slowest.set(timing.round, late)
        continue
      }
      let slowest = late
      if (timing.complete) for (const [id, ms] of timing.arrivals) if (ms > slowest && timing.awaited.has(id)) slowest = ms
      if (slowest < 0 || this.tooOld(timing.round)) continue
      this.slowest.set(timing.round, slowest)
      if (this.slowest.size > this.window) this.slowest.delete(Math.min(...this.slowest.keys()))
    }
  }

  /** Never learns from `round` (the process was stalled in it: its arrival times measure the stall). */
  ignore (round: number): void {
    this.slowest.delete(round)
    this.ignored.add(round)
    if (this.ignored.size > this.window) this.ignored.delete(Math.min(...this.ignored))
  }

  /** A round older than every kept one once the window is full. */
  private tooOld (round: number): boolean {
    return this.slowest.size >= this.window && round < Math.min(...this.slowest.keys())
  }

  /** The wait for the next round, ms. */
  get ms (): number {
    if (this.slowest.size < this.warmup) return this.capMs
    const wanted = this.factor * quantile([...this.slowest.values()], 0.9)
    return Math.round(Math.min(this.capMs, Math.max(this.floorMs, wanted)))
  }
}
