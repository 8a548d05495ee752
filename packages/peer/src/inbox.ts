// The receiving side of the model exchange, shared by the libp2p exchange and the in-memory hub:
// decodes and checks each frame, keeps a bounded window of rounds, and hands a round's models
// to the engine as soon as every neighbour's arrived or the deadline passed.

import { decodeFrame, FrameError, type FrameRejection } from './frame.ts'

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

interface Waiter {
  round: number
  from: readonly string[]
  resolve: (models: Map<string, Float32Array>) => void
  timer: ReturnType<typeof setTimeout>
  cleanup: () => void
}

export class Inbox {
  /** Lowest round still accepted: rounds below were collected (or skipped). */
  floor = 0
  /**
   * False until the node says where it starts (startAt or its first collect). Until then frames
   * of any round are kept, as a peer resuming at round r may hear from faster neighbours first.
   */
  anchored = false
  readonly buffers = new Map<number, Map<string, Float32Array>>()
  readonly rejected = new Map<Reason, number>()
  waiter: Waiter | undefined
  connected = true
  private readonly hub: InboxConfig

  constructor (hub: InboxConfig) {
    this.hub = hub
  }

  /** Counts a refused frame; `detail` says why and `from` names the sender when known. */
  count (reason: Reason, detail?: string, from?: string): void {
    this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + 1)
    this.hub.onReject?.(reason, detail ?? reason, from)
  }

  receive (from: string, bytes: Uint8Array): void {
    let frame
    const maxRound = this.anchored ? this.floor + this.hub.roundsAhead : 0xffffffff
    try {
      frame = decodeFrame(bytes, { swarm: this.hub.swarm, dimension: this.hub.dimension, minRound: this.floor, maxRound })
    } catch (error) {
      if (!(error instanceof FrameError)) throw error
      this.count(error.reason, error.message, from)
      return
    }
    if (frame.sender !== from) {
      this.count('unknown-sender', `frame claims sender ${frame.sender}`, from)
      return
    }
    let buffer = this.buffers.get(frame.round)
    if (buffer === undefined) {
      buffer = new Map()
      this.buffers.set(frame.round, buffer)
      if (!this.anchored) this.bound()
    }
    if (buffer.has(frame.sender)) {
      this.count('duplicate', `second frame for round ${frame.round}`, from)
      return
    }
    buffer.set(frame.sender, frame.params)
    const w = this.waiter
    if (w !== undefined && w.round === frame.round && w.from.every((id) => buffer.has(id))) this.finish()
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
  }

  /** Frames refused so far, by reason. */
  rejections (): Partial<Record<FrameRejection, number>> {
    return Object.fromEntries(this.rejected) as Partial<Record<FrameRejection, number>>
  }

  collect (round: number, from: readonly string[], deadline: number, signal?: AbortSignal): Promise<Map<string, Float32Array>> {
    if (this.waiter !== undefined) return Promise.reject(new Error(`memory transport: round ${this.waiter.round} is still being collected`))
    this.advance(round)
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.finish() }, Math.max(0, deadline - Date.now()))
      const onAbort = (): void => { this.finish() }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.waiter = { round, from, resolve, timer, cleanup: () => signal?.removeEventListener('abort', onAbort) }
      const buffer = this.buffers.get(round)
      if (signal?.aborted === true || from.every((id) => buffer?.has(id) === true)) this.finish()
    })
  }

  private finish (): void {
    const w = this.waiter
    if (w === undefined) return
    this.waiter = undefined
    clearTimeout(w.timer)
    w.cleanup()
    const buffer = this.buffers.get(w.round)
    const models = new Map<string, Float32Array>()
    for (const id of w.from) {
      const model = buffer?.get(id)
      if (model !== undefined) models.set(id, model)
    }
    // The round is done: its late frames are stale from now on.
    if (w.round >= this.floor) this.advance(w.round + 1)
    w.resolve(models)
  }
}

