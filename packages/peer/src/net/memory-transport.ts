// An in-process stand-in for the libp2p model exchange and collusion channel, with the same
// semantics: frames are really encoded on send and decoded and validated on receipt, so every
// rejection a libp2p peer would count is counted here too. For unit tests and fast simulations
// of many peers in one process.

import { encodeFrame, type Dtype } from '../wire/frame.ts'
import { Inbox } from '../round/inbox.ts'
import { waitForRound, type RoundWaiter } from '../round/wait.ts'
import type { CollusionChannel, ModelTransport } from '../round/types.ts'

export interface MemoryHubOptions {
  /** Swarm id carried in every frame (default 'murmur'). */
  swarm?: string
  /** Model dimension every frame must have. */
  dimension: number
  /** How many rounds past the one being collected are buffered (default 2). */
  roundsAhead?: number
  /** Number format on the "wire" (default f32). */
  dtype?: Dtype
  /** Delivery delay in ms (default 0: the next turn of the event loop). */
  latencyMs?: number
}

/** A ModelTransport of the hub, plus what a test wants to see. */
export interface MemoryTransport extends ModelTransport {
  /** Frame bytes this node handed to the hub (models and raw frames). */
  readonly bytesSent: () => number
}

export interface MemoryHub {
  readonly swarm: string
  readonly dimension: number
  /** The transport of node `id` (created on first use; one per id). */
  transport: (id: string) => MemoryTransport
  /** Node `id`'s collusion channel with the Byzantine nodes `colluders` (which include `id`). */
  collusion: (id: string, colluders: readonly string[]) => CollusionChannel
  /** Takes a node off the hub: sends to it fail from now on, as to a peer that went away. */
  disconnect: (id: string) => void
}

interface HubState {
  swarm: string
  dimension: number
  roundsAhead: number
  dtype: Dtype
  latencyMs: number
  inboxes: Map<string, Inbox>
}

interface CollusionBoard {
  members: readonly string[]
  /** round → reporting colluder → the honest models it received. */
  reports: Map<number, Map<string, Map<string, Float32Array>>>
  waiters: Set<RoundWaiter>
}

/**
 * An in-memory network: `hub.transport(id)` gives node `id` a ModelTransport whose sends are
 * encoded as frames, delivered asynchronously, and decoded and checked by the receiver (dimension,
 * finite values, swarm, round window, sender id), and `hub.collusion(id, colluders)` a
 * CollusionChannel shared by the listed Byzantine nodes.
 */
export function createMemoryHub (options: MemoryHubOptions): MemoryHub {
  const { dimension } = options
  if (!Number.isInteger(dimension) || dimension < 1) throw new RangeError(`memory hub: dimension must be an integer ≥ 1, got ${dimension}`)
  const roundsAhead = options.roundsAhead ?? 2
  if (!Number.isInteger(roundsAhead) || roundsAhead < 0) throw new RangeError(`memory hub: roundsAhead must be an integer ≥ 0, got ${roundsAhead}`)
  const latencyMs = options.latencyMs ?? 0
  if (!(latencyMs >= 0 && Number.isFinite(latencyMs))) throw new RangeError(`memory hub: latencyMs must be a finite number ≥ 0, got ${latencyMs}`)
  const state: HubState = {
    swarm: options.swarm ?? 'murmur',
    dimension,
    roundsAhead,
    dtype: options.dtype ?? 'f32',
    latencyMs,
    inboxes: new Map()
  }
  const transports = new Map<string, MemoryTransport>()
  const boards = new Map<string, CollusionBoard>()

  const inbox = (id: string): Inbox => {
    let box = state.inboxes.get(id)
    if (box === undefined) {
      box = new Inbox(state)
      state.inboxes.set(id, box)
    }
    return box
  }

  const deliver = async (from: string, to: string, bytes: Uint8Array): Promise<void> => {
    const target = state.inboxes.get(to)
    if (target === undefined || !target.connected) throw new Error(`memory transport: ${to} is unreachable`)
    // A copy, as a network would make: the sender may reuse its buffer.
    const copy = bytes.slice()
    const arrive = (): void => { if (target.connected) target.receive(from, copy) }
    if (state.latencyMs > 0) setTimeout(arrive, state.latencyMs)
    else setImmediate(arrive)
  }

  const transport = (id: string): MemoryTransport => {
    const existing = transports.get(id)
    if (existing !== undefined) return existing
    const box = inbox(id)
    let sent = 0
    const created: MemoryTransport = {
      self: id,
      send: async (to, round, params) => {
        const bytes = encodeFrame({ swarm: state.swarm, sender: id, round, dtype: state.dtype, params })
        await deliver(id, to, bytes)
        sent += bytes.length
      },
      sendRaw: async (to, bytes) => {
        await deliver(id, to, bytes)
        sent += bytes.length
      },
      collect: async (round, from, deadline, signal, also, alsoUntil) => await box.collect(round, from, deadline, signal, also, alsoUntil),
      rejections: () => box.rejections(),
      rejectionsBySender: () => box.rejectionsBySender(),
      timings: () => box.timings(),
      frontier: (from, quorum) => box.frontier(from, quorum),
      lastHeard: (id) => box.lastHeard(id),
      startAt: (round) => { box.advance(round) },
      bytesSent: () => sent
    }
    transports.set(id, created)
    return created
  }

  const collusion = (id: string, colluders: readonly string[]): CollusionChannel => {
    if (!colluders.includes(id)) throw new RangeError(`memory collusion: ${id} is not among its colluders (${colluders.join(', ')})`)
    const members = [...new Set(colluders)].sort()
    const key = members.join('\u0000')
    let board = boards.get(key)
    if (board === undefined) {
      board = { members, reports: new Map(), waiters: new Set() }
      boards.set(key, board)
    }
    const b = board
    const complete = (round: number): boolean => (b.reports.get(round)?.size ?? 0) >= b.members.length
    return {
      share: async (round, models) => {
        let reports = b.reports.get(round)
        if (reports === undefined) {
          reports = new Map()
          b.reports.set(round, reports)
        }
        if (!reports.has(id)) reports.set(id, new Map([...models].map(([k, v]) => [k, v.slice()])))
        // Rounds far behind every reporter are done; the board keeps a few for late gatherers.
        for (const r of b.reports.keys()) if (r < round - roundsAhead - 1) b.reports.delete(r)
        for (const w of [...b.waiters]) if (w.round === round && complete(round)) w.wake()
      },
      gather: async (round, deadline, signal) => {
        if (!complete(round) && signal?.aborted !== true) {
          await waitForRound(b.waiters, round, deadline, signal)
        }
        const pooled = new Map<string, Float32Array>()
        for (const member of b.members) {
          for (const [honest, model] of b.reports.get(round)?.get(member) ?? []) {
            if (!pooled.has(honest)) pooled.set(honest, model)
          }
        }
        return pooled
      }
    }
  }

  return {
    swarm: state.swarm,
    dimension,
    transport,
    collusion,
    disconnect: (id) => {
      const box = state.inboxes.get(id)
      if (box !== undefined) box.connected = false
    }
  }
}
