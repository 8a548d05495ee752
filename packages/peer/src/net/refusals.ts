// What a peer refused, where it refused it: model frames, control messages, RPC requests. Each
// refusal is counted under its reason and under its sender, the sender always being who the
// network authenticated (the noise-secured connection, the gossipsub signature), never what the
// message claims: nobody can raise another peer's count by naming it.

/**
 * Distinct senders one counter tracks by name. Peer ids cost nothing to make, so past this the
 * refusals of further senders are pooled under OTHER_SENDERS instead of growing the map.
 */
export const MAX_TRACKED_SENDERS = 1024

/** The sender key of the refusals from senders beyond MAX_TRACKED_SENDERS. */
export const OTHER_SENDERS = '(others)'

/** Refusals of one kind of traffic. */
export interface RefusalCounts {
  byReason: Record<string, number>
  bySender: Record<string, number>
}

/** Everything a peer refused, as it reports it at the end of a run. */
export interface PeerRefusals {
  /**
   * Model frames. `bySender` holds neighbours only, each raised by its own authenticated
   * connection alone (the launch's delivery report reads it); `byReason` counts every frame.
   */
  frames: RefusalCounts
  /** Control messages, by the PeerId that signed them (the node id when it is bound). */
  control: RefusalCounts
  /** Requests of the swarm services, by the requesting PeerId (the node id when it is known). */
  rpc: RefusalCounts
  /** Frames from peers that are not neighbours (unknown or not taking part in this node's mix). */
  strangers: number
}

/** Counts refusals by reason and by sender, with a bounded number of senders. */
export class RefusalCounter {
  private readonly reasons = new Map<string, number>()
  private readonly senders = new Map<string, number>()
  private readonly maxSenders: number
  private count = 0

  constructor (maxSenders = MAX_TRACKED_SENDERS) {
    if (!Number.isInteger(maxSenders) || maxSenders < 0) throw new RangeError(`refusals: maxSenders must be an integer ≥ 0, got ${maxSenders}`)
    this.maxSenders = maxSenders
  }

  /** Counts one refusal; without a sender it counts by reason only. */
  add (reason: string, sender?: string): void {
    this.count++
    this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1)
    if (sender === undefined) return
    const key = this.senders.has(sender) || this.senders.size < this.maxSenders ? sender : OTHER_SENDERS
    this.senders.set(key, (this.senders.get(key) ?? 0) + 1)
  }

  /** Refusals counted so far. */
  get total (): number { return this.count }

  /** A copy of the counts. */
  counts (): RefusalCounts {
    return { byReason: Object.fromEntries(this.reasons), bySender: Object.fromEntries(this.senders) }
  }
}

/** What makes up a peer's refusals: its exchange, control plane and swarm services. */
export interface RefusalSources {
  exchange: { refusals: () => { frames: RefusalCounts, strangers: number } }
  control: { refusals: () => RefusalCounts }
  services: { refusals: () => RefusalCounts }
}

/** A peer's refusals in one structure. */
export function peerRefusals (sources: RefusalSources): PeerRefusals {
  const { frames, strangers } = sources.exchange.refusals()
  return { frames, control: sources.control.refusals(), rpc: sources.services.refusals(), strangers }
}
