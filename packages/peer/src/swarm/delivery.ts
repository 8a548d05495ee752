// What a swarm's rounds really delivered, seen from the receivers' metrics: per directed edge of
// the topology into an honest peer, how many of its rounds' models arrived in time. A result only
// means what it says when (nearly) every honest edge delivered and, under attack, the crafted
// models really reached the honest peers they aim at; this ledger measures both and turns every
// change of an edge's state into an event of the run directory.

import type { RoundMetrics } from '../round/types.ts'

/** A change seen on the swarm's edges, one JSON line of `<run>/events.jsonl`. */
export type DeliveryEvent =
  /** The model from `from` to `to` stopped arriving in time (first round missed). */
  | { round: number, event: 'edge-down', from: string, to: string }
  /** It arrives again, after `missed` rounds. */
  | { round: number, event: 'edge-up', from: string, to: string, missed: number }
  /** An honest peer got no model from any honest neighbour this round. */
  | { round: number, event: 'isolated', node: string }
  /** It hears from a neighbour again, after `rounds` rounds alone. */
  | { round: number, event: 'reconnected', node: string, rounds: number }
  /** A peer found its neighbours far ahead (it was paused) and skipped `skipped` rounds to catch up to `round`. */
  | { round: number, event: 'caught-up', node: string, skipped: number }

/** Delivery over one kind of edge. */
export interface EdgeDelivery {
  /** Models the receivers expected over the run (one per edge and round). */
  expected: number
  /** Of those, models that arrived in time and went into the receiver's mix. */
  delivered: number
  /** delivered / expected (1 when nothing was expected). */
  share: number
}

export interface AttackDelivery extends EdgeDelivery {
  behaviour: string
  /** Frames from Byzantine peers the honest peers' checks refused (they did arrive). */
  refused: number
  /** (delivered + refused) / expected: the crafted messages that reached their receivers. */
  reached: number
  /** Whether `reached` is at least the threshold; a run whose attack did not land measured nothing. */
  landed: boolean
}

export interface DeliveryReport {
  /** Edges between honest peers. */
  honest: EdgeDelivery & {
    /** Honest-to-honest edges that delivered in the last round, of all of them. */
    liveAtEnd: number
    edges: number
    /** The edges that delivered least, worst first (at most 5, only those below 100 %). */
    worst: Array<{ from: string, to: string, share: number }>
  }
  /** Honest peer-rounds with no model from any honest neighbour, and the peers concerned. */
  isolated: { peerRounds: number, peers: string[] }
  /** Rounds peers skipped to catch up after a pause. */
  skippedBehind: number
  /** Byzantine-to-honest edges (absent without Byzantine peers; null for silence, which has nothing to deliver). */
  attack?: AttackDelivery | null
  /** The checks a result must pass, and whether it did. */
  thresholds: { honest: number, attack: number }
  valid: boolean
  /** Why not, in words a user reads. */
  warnings: string[]
}

/** A result is trusted when at least this share of honest-edge models arrived in time. */
export const HONEST_DELIVERY_THRESHOLD = 0.99
/** An attack counts as having happened when at least this share of its crafted models reached the honest peers. */
export const ATTACK_DELIVERY_THRESHOLD = 0.9

interface EdgeState { expected: number, delivered: number, missedRun: number, lastDelivered: boolean }

export interface DeliveryLedgerOptions {
  /** Byzantine node ids. */
  byzantine: Iterable<string>
  /** The attack spec and whether it sends anything (a crash sends nothing by design). */
  attack?: { behaviour: string, sends: boolean }
  /** Told of every event as it happens (e.g. appended to events.jsonl). */
  onEvent?: (event: DeliveryEvent) => void
  thresholds?: { honest?: number, attack?: number }
}

const pct = (x: number): string => `${(100 * x).toFixed(1)} %`

export class DeliveryLedger {
  private readonly byzantine: ReadonlySet<string>
  private readonly edges = new Map<string, EdgeState & { from: string, to: string }>()
  /** Per honest peer: rounds in a row without an honest neighbour's model, and rounds skipped in a row. */
  private readonly alone = new Map<string, number>()
  private readonly behind = new Map<string, number>()
  private readonly isolatedPeers = new Set<string>()
  private isolatedRounds = 0
  private skipped = 0
  private readonly options: DeliveryLedgerOptions

  constructor (options: DeliveryLedgerOptions) {
    this.options = options
    this.byzantine = new Set(options.byzantine)
  }

  /** Takes one honest peer's round. (Byzantine peers' own receipts are not the swarm's result.) */
  observe (metrics: RoundMetrics, neighbours: readonly string[]): void {
    if (metrics.byzantine) return
    const emit = this.options.onEvent ?? (() => {})
    const t = metrics.round
    // A run of skipped rounds is one event, when the peer is back in step.
    const skippedFor = this.behind.get(metrics.node) ?? 0
    if (metrics.skipReason === 'behind') {
      this.behind.set(metrics.node, skippedFor + 1)
      this.skipped++
    } else if (skippedFor > 0) {
      emit({ round: t, event: 'caught-up', node: metrics.node, skipped: skippedFor })
      this.behind.set(metrics.node, 0)
    }
    const missing = new Set(metrics.missing)
    let honestNeighbours = 0
    let heardHonest = false
    for (const from of neighbours) {
      const byzantine = this.byzantine.has(from)
      if (!byzantine) honestNeighbours++
      const key = `${from}\u0000${metrics.node}`
      let edge = this.edges.get(key)
      if (edge === undefined) {
        edge = { from, to: metrics.node, expected: 0, delivered: 0, missedRun: 0, lastDelivered: true }
        this.edges.set(key, edge)
      }
      edge.expected++
      const delivered = !missing.has(from)
      if (delivered) {
        if (!byzantine) heardHonest = true
        edge.delivered++
        if (edge.missedRun > 0) emit({ round: t, event: 'edge-up', from, to: metrics.node, missed: edge.missedRun })
        edge.missedRun = 0
      } else {
        if (edge.missedRun === 0) emit({ round: t, event: 'edge-down', from, to: metrics.node })
        edge.missedRun++
      }
      edge.lastDelivered = delivered
    }
    // A paused peer's skipped rounds are counted as such, not as isolation.
    if (honestNeighbours === 0 || metrics.skipReason === 'behind') return
    const aloneFor = this.alone.get(metrics.node) ?? 0
    if (!heardHonest) {
      if (aloneFor === 0) emit({ round: t, event: 'isolated', node: metrics.node })
      this.alone.set(metrics.node, aloneFor + 1)
      this.isolatedRounds++
      this.isolatedPeers.add(metrics.node)
    } else if (aloneFor > 0) {
      emit({ round: t, event: 'reconnected', node: metrics.node, rounds: aloneFor })
      this.alone.set(metrics.node, 0)
    }
  }

  /** Honest peer-rounds so far without any honest neighbour's model. */
  get isolatedPeerRounds (): number { return this.isolatedRounds }

  /** Honest-to-honest edges that delivered in their last observed round, and all of them. */
  live (): { live: number, edges: number } {
    let live = 0
    let edges = 0
    for (const edge of this.edges.values()) {
      if (this.byzantine.has(edge.from)) continue
      edges++
      if (edge.lastDelivered) live++
    }
    return { live, edges }
  }

  /**
   * The run's delivery report. `refusedFrom` is, per honest receiver, the frames its checks
   * refused by sender (what reached it but never a mix).
   */
  report (refusedFrom: ReadonlyArray<Readonly<Record<string, number>>> = []): DeliveryReport {
    const thresholds = {
      honest: this.options.thresholds?.honest ?? HONEST_DELIVERY_THRESHOLD,
      attack: this.options.thresholds?.attack ?? ATTACK_DELIVERY_THRESHOLD
    }
    const honest = { expected: 0, delivered: 0 }
    const attack = { expected: 0, delivered: 0 }
    const shares: Array<{ from: string, to: string, share: number }> = []
    for (const edge of this.edges.values()) {
      const into = this.byzantine.has(edge.from) ? attack : honest
      into.expected += edge.expected
      into.delivered += edge.delivered
      if (!this.byzantine.has(edge.from) && edge.delivered < edge.expected) shares.push({ from: edge.from, to: edge.to, share: edge.delivered / edge.expected })
    }
    shares.sort((a, b) => a.share - b.share || a.to.localeCompare(b.to, 'en', { numeric: true }))
    const share = (d: { expected: number, delivered: number }): number => d.expected === 0 ? 1 : d.delivered / d.expected
    const { live, edges } = this.live()
    const report: DeliveryReport = {
      honest: { ...honest, share: share(honest), liveAtEnd: live, edges, worst: shares.slice(0, 5) },
      isolated: { peerRounds: this.isolatedRounds, peers: [...this.isolatedPeers].sort((a, b) => a.localeCompare(b, 'en', { numeric: true })) },
      skippedBehind: this.skipped,
      thresholds,
      valid: true,
      warnings: []
    }
    if (report.honest.share < thresholds.honest) {
      report.warnings.push(`only ${pct(report.honest.share)} of the models between honest peers arrived in time (${honest.delivered} of ${honest.expected}); a result needs ${pct(thresholds.honest)}`)
    }
    if (report.isolated.peerRounds > 0) {
      report.warnings.push(`honest peers went whole rounds without any honest neighbour's model (${report.isolated.peerRounds} peer-rounds: ${report.isolated.peers.slice(0, 6).join(', ')}${report.isolated.peers.length > 6 ? ', …' : ''})`)
    }
    const spec = this.options.attack
    if (spec !== undefined && this.byzantine.size > 0) {
      if (!spec.sends) {
        report.attack = null
      } else {
        let refused = 0
        for (const bySender of refusedFrom) for (const [from, count] of Object.entries(bySender)) if (this.byzantine.has(from)) refused += count
        const reached = attack.expected === 0 ? 1 : Math.min(1, (attack.delivered + refused) / attack.expected)
        report.attack = { behaviour: spec.behaviour, ...attack, share: share(attack), refused, reached, landed: reached >= thresholds.attack }
        if (attack.expected === 0) {
          report.warnings.push(`attack ${spec.behaviour}: no Byzantine peer is a neighbour of an honest one, so nothing was attacked`)
          report.attack.landed = false
        } else if (!report.attack.landed) {
          report.warnings.push(`attack ${spec.behaviour} did not land: only ${pct(reached)} of its crafted models reached the honest peers in time (${attack.delivered} mixed, ${refused} refused by their checks, of ${attack.expected}); this run did not measure a defence against it`)
        }
      }
    }
    report.valid = report.warnings.length === 0
    return report
  }
}
