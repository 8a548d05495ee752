// The receiving side of the model exchange, shared by the libp2p exchange and the in-memory hub:
// decodes and checks each frame, keeps a bounded window of rounds, and hands a round's models
// to the engine as soon as every neighbour's arrived or the deadline passed. A neighbour that is
// already past the round stands in with its newest model (a node behind catches up on it instead
// of waiting for a model that was sent long ago). It also keeps what
// the engine needs to adapt its deadline (when each model arrived, and which came too late) and
// to catch up after a pause (the latest round each sender was heard at, and its newest frame).

import { TIMINGS_KEPT } from '../constants.ts'
import { decodeFrame, FrameError, type FrameRejection } from '../wire/frame.ts'

export interface InboxConfig {
  swarm: string
  dimension: number
  /** How many rounds past the one being collected are buffered. */
  roundsAhead: number
  /** Told of every refusal with why, e.g. to log it. */
  onReject?: (reason: FrameRejection, detail: string, from: string | undefined) => void
}

/** Rejection reasons the hub counts beyond the codec's (spoofed sender id, second frame of a round). */
export type Reason = FrameRejection

/** When the models of a collected round arrived, relative to the start of its collection. */
export interface RoundTiming {
  round: number
  /** When its collection started, ms since the epoch. */
  startedAt: number
  /** The senders it waited for in full (not those waited for only briefly). */
  awaited: ReadonlySet<string>
  /** Whether every awaited model was there when it ended. */
  complete: boolean
  /** Sender → ms from the start of the collection to the model's arrival (0 if it was there first). */
  arrivals: ReadonlyMap<string, number>
  /**
   * Awaited models of that round that arrived after it was collected, however many rounds later:
   * sender → ms after its start. (A neighbour one round behind delivers while the next round is
   * being collected; that is how the node learns it waits too little.)
   */
  late: ReadonlyMap<string, number>
}

interface Waiter {
  round: number
  from: readonly string[]
  also: readonly string[]
  /** Until when `also` is waited for too (ms since the epoch). */
  alsoUntil: number
  startedAt: number
  resolve: (models: Map<string, Float32Array>) => void
  timer: ReturnType<typeof setTimeout>
  alsoTimer?: ReturnType<typeof setTimeout>
  cleanup: () => void
}

interface Buffered { params: Float32Array, at: number }

export class Inbox {
  /** Lowest round still accepted: rounds below were collected (or skipped). */
  floor = 0
  /**
   * False until the node says where it starts (startAt or its first collect). Until then frames
   * of any round are kept, as a peer resuming at round r may hear from faster neighbours first.
   */
  anchored = false
  readonly buffers = new Map<number, Map<string, Buffered>>()
  readonly rejected = new Map<Reason, number>()
  /** Refusals by sender (the sender is known from the connection, whatever the frame claims). */
  readonly rejectedFrom = new Map<string, number>()
  /** Refused frames of peers that are not neighbours: in `rejected`, never in `rejectedFrom`. */
  strangers = 0
  waiter: Waiter | undefined
  connected = true
  /** The newest frame of each sender that was too far ahead of the window, kept for a catch-up. */
  private readonly ahead = new Map<string, { round: number, params: Float32Array, at: number }>()
  /** The latest round each sender sent a valid frame for, and when its last valid frame came. */
  private readonly latest = new Map<string, number>()
  private readonly heardAt = new Map<string, number>()
  private readonly recent: Array<RoundTiming & { late: Map<string, number> }> = []
  private readonly hub: InboxConfig

  constructor (hub: InboxConfig) {
    this.hub = hub
  }

  /** Counts a refused frame; `detail` says why and `from` names the sender when known. */
  count (reason: Reason, detail?: string, from?: string): void {
    this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + 1)
    if (from !== undefined) this.rejectedFrom.set(from, (this.rejectedFrom.get(from) ?? 0) + 1)
    this.hub.onReject?.(reason, detail ?? reason, from)
  }

  /** Counts a refused frame of a peer that is not a neighbour, under no sender's name. */
  countStranger (reason: Reason, detail?: string): void {
    this.strangers++
    this.count(reason, detail)
  }

  receive (from: string, bytes: Uint8Array): void {
    let frame
    const now = Date.now()
    try {
      // The round window is applied below, so a stale or early frame is still checked whole and
      // tells when its sender is (for the deadline and the catch-up).
      frame = decodeFrame(bytes, { swarm: this.hub.swarm, dimension: this.hub.dimension, minRound: 0, maxRound: 0xffffffff })
    } catch (error) {
      if (!(error instanceof FrameError)) throw error
      this.count(error.reason, error.message, from)
      return
    }
    if (frame.sender !== from) {
      this.count('unknown-sender', `frame claims sender ${frame.sender}`, from)
      return
    }
    this.latest.set(from, Math.max(this.latest.get(from) ?? 0, frame.round))
    this.heardAt.set(from, now)
    if (frame.round < this.floor) {
      const t = this.recent.find((timing) => timing.round === frame.round)
      if (t !== undefined && t.awaited.has(from) && !t.arrivals.has(from) && !t.late.has(from)) t.late.set(from, now - t.startedAt)
      this.count('stale-round', `frame for round ${frame.round}, expected ≥ ${this.floor}`, from)
      return
    }
    if (this.anchored && frame.round > this.floor + this.hub.roundsAhead) {
      const kept = this.ahead.get(from)
      if (kept === undefined || kept.round < frame.round) this.ahead.set(from, { round: frame.round, params: frame.params, at: now })
      this.count('future-round', `frame for round ${frame.round}, expected ≤ ${this.floor + this.hub.roundsAhead}`, from)
      const w = this.waiter
      if (w !== undefined && this.complete(w)) this.finish()
      return
    }
    this.store(frame.round, from, { params: frame.params, at: now })
  }

  private store (round: number, from: string, item: Buffered): void {
    let buffer = this.buffers.get(round)
    if (buffer === undefined) {
      buffer = new Map()
      this.buffers.set(round, buffer)
      if (!this.anchored) this.bound()
    }
    if (buffer.has(from)) {
      this.count('duplicate', `second frame for round ${round}`, from)
      return
    }
    buffer.set(from, item)
    const w = this.waiter
    if (w !== undefined && w.round <= round && this.complete(w)) this.finish()
  }

  /**
   * `id`'s model for `round`: the one it sent for that round, or else the newest it sent for a
   * later one (buffered, or kept from beyond the window).
   */
  private modelFor (round: number, id: string): Buffered | undefined {
    const own = this.buffers.get(round)?.get(id)
    if (own !== undefined) return own
    const kept = this.ahead.get(id)
    if (kept !== undefined && kept.round > round) return kept
    for (let r = round + this.hub.roundsAhead; r > round; r--) {
      const later = this.buffers.get(r)?.get(id)
      if (later !== undefined) return later
    }
    return undefined
  }

  /** Every model waited for is here: `from`'s, and `also`'s until its own time is up. */
  private complete (w: Waiter): boolean {
    if (!w.from.every((id) => this.modelFor(w.round, id) !== undefined)) return false
    return Date.now() >= w.alsoUntil || w.also.every((id) => this.modelFor(w.round, id) !== undefined)
  }

  /** Unanchored, memory stays bounded: only the roundsAhead + 1 latest rounds are kept. */
  private bound (): void {
    const rounds = [...this.buffers.keys()].sort((a, b) => a - b)
    for (let k = 0; k < rounds.length - (this.hub.roundsAhead + 1); k++) this.buffers.delete(rounds[k])
  }

  /** Moves the window so `round` is the lowest accepted round, dropping older buffers. */
  advance (round: number): void {
    this.anchored = true
    if (round <= this.floor) return
    this.floor = round
    for (const r of this.buffers.keys()) if (r < round) this.buffers.delete(r)
    // Frames that were too early are in the window now (a node catching up finds them here).
    for (const [from, kept] of this.ahead) {
      if (kept.round < round) { this.ahead.delete(from); continue }
      if (kept.round > round + this.hub.roundsAhead) continue
      this.ahead.delete(from)
      if (this.buffers.get(kept.round)?.has(from) !== true) this.store(kept.round, from, { params: kept.params, at: kept.at })
    }
  }

  /**
   * The highest round that at least `quorum` of `from` have been heard at (−1 if fewer than
   * `quorum` were heard at all). With quorum f + 1, at least one honest neighbour is really there.
   */
  frontier (from: readonly string[], quorum: number): number {
    if (quorum < 1 || quorum > from.length) return -1
    const rounds = from.map((id) => this.latest.get(id) ?? -1).sort((a, b) => b - a)
    return rounds[quorum - 1]
  }

  /** When the last valid frame of `id` came, of any round (ms since the epoch; 0 if never). */
  lastHeard (id: string): number {
    return this.heardAt.get(id) ?? 0
  }

  /** Frames refused so far, by reason. */
  rejections (): Partial<Record<FrameRejection, number>> {
    return Object.fromEntries(this.rejected) as Partial<Record<FrameRejection, number>>
  }

  /** Frames refused so far, by sender. */
  rejectionsBySender (): Record<string, number> {
    return Object.fromEntries(this.rejectedFrom)
  }

  /** Arrival times of the last few collected rounds, oldest first (see RoundTiming). */
  timings (): readonly RoundTiming[] {
    return this.recent
  }

  /**
   * Resolves with round `round`'s models from `from` once all of them arrived or at `deadline`;
   * models of `also` are waited for only until `alsoUntil` (default: not at all) and included
   * when they are there by the end.
   */
  collect (round: number, from: readonly string[], deadline: number, signal?: AbortSignal, also: readonly string[] = [], alsoUntil = 0): Promise<Map<string, Float32Array>> {
    if (this.waiter !== undefined) return Promise.reject(new Error(`inbox: round ${this.waiter.round} is still being collected`))
    this.advance(round)
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.finish() }, Math.max(0, deadline - Date.now()))
      const onAbort = (): void => { this.finish() }
      signal?.addEventListener('abort', onAbort, { once: true })
      const waiter: Waiter = { round, from, also, alsoUntil: Math.min(alsoUntil, deadline), startedAt: Date.now(), resolve, timer, cleanup: () => signal?.removeEventListener('abort', onAbort) }
      this.waiter = waiter
      if (also.length > 0 && waiter.alsoUntil > Date.now()) {
        waiter.alsoTimer = setTimeout(() => { if (this.waiter === waiter && this.complete(waiter)) this.finish() }, waiter.alsoUntil - Date.now())
      }
      if (signal?.aborted === true || this.complete(waiter)) this.finish()
    })
  }

  private finish (): void {
    const w = this.waiter
    if (w === undefined) return
    this.waiter = undefined
    clearTimeout(w.timer)
    clearTimeout(w.alsoTimer)
    w.cleanup()
    const models = new Map<string, Float32Array>()
    const arrivals = new Map<string, number>()
    for (const id of [...w.from, ...w.also]) {
      const item = this.modelFor(w.round, id)
      if (item === undefined) continue
      models.set(id, item.params)
      arrivals.set(id, Math.max(0, item.at - w.startedAt))
    }
    const awaited = new Set(w.from)
    this.recent.push({ round: w.round, startedAt: w.startedAt, awaited, complete: w.from.every((id) => models.has(id)), arrivals, late: new Map() })
    if (this.recent.length > TIMINGS_KEPT) this.recent.shift()
    // The round is done: its late frames are stale from now on.
    if (w.round >= this.floor) this.advance(w.round + 1)
    w.resolve(models)
  }
}
