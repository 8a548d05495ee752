// A node's neighbourhood when the swarm is open: it starts as the topology's neighbours, grows
// when a newcomer is accepted (from an agreed round on, so both ends start the edge together),
// and shrinks when a neighbour stays silent too long. The round engine reads it every round, and
// waits for every neighbour's model up to its deadline: a newcomer that never sends costs each
// round that wait, so it is dropped after its first silent round, and a dropped id is not taken
// back before a cool-down has passed.

/** Rounds in a row without a model after which an established neighbour is dropped. */
export const DROP_AFTER = 3

/**
 * Rounds without a model after which a newcomer that has never delivered one is dropped. A
 * joiner starts sending before its neighbours reach its first round, so an honest one is early.
 */
export const NEWCOMER_DROP_AFTER = 1

/** Rounds after a drop during which the same id is not accepted again. */
export const COOL_DOWN_ROUNDS = 16

/** A change of the neighbourhood, as written to the peer's edges.jsonl. */
export interface EdgeEvent {
  round: number
  event: 'add' | 'drop'
  neighbour: string
  /** Why an edge was dropped. */
  reason?: string
}

export interface NeighbourView {
  ids: readonly string[]
  /** Degrees of the neighbours, same order (Metropolis weights). */
  degrees: readonly number[]
}

export interface NeighbourSetOptions {
  self: string
  /** The topology's neighbours and their degrees. */
  initial: ReadonlyArray<{ id: string, degree: number }>
  /** The degree the node aims for; below half of it, `onLow` asks for more (default: initial size). */
  target?: number
  /** A neighbour whose model missed this many rounds in a row is dropped (default DROP_AFTER). */
  dropAfter?: number
  /**
   * A newcomer (added, not of the topology) that has not delivered any model is dropped after
   * this many rounds of its edge (default NEWCOMER_DROP_AFTER, at most dropAfter).
   */
  newcomerDropAfter?: number
  /** Rounds after a drop before the same id may be added again (default COOL_DOWN_ROUNDS). */
  coolDown?: number
  /** Largest neighbourhood accepted (default 2 × target + 2). */
  maxDegree?: number
  onEvent?: (event: EdgeEvent) => void
  /** Called after a round that left fewer than target / 2 neighbours. */
  onLow?: (have: number, target: number) => void
}

/** `proven`: it delivered a model once (a topology neighbour counts as proven from the start). */
interface Entry { degree: number, from: number, missed: number, proven: boolean }

export class NeighbourSet {
  readonly self: string
  readonly target: number
  readonly dropAfter: number
  readonly newcomerDropAfter: number
  readonly coolDown: number
  readonly maxDegree: number
  private readonly entries = new Map<string, Entry>()
  /** Dropped id → the round it was dropped at, while its cool-down lasts. */
  private readonly dropped = new Map<string, number>()
  private readonly options: NeighbourSetOptions
  /** The last round observed: edges starting after it have not begun. */
  private observed = -1

  constructor (options: NeighbourSetOptions) {
    this.options = options
    this.self = options.self
    for (const { id, degree } of options.initial) this.entries.set(id, { degree, from: 0, missed: 0, proven: true })
    this.target = options.target ?? options.initial.length
    this.dropAfter = options.dropAfter ?? DROP_AFTER
    this.newcomerDropAfter = Math.min(options.newcomerDropAfter ?? NEWCOMER_DROP_AFTER, this.dropAfter)
    this.coolDown = options.coolDown ?? COOL_DOWN_ROUNDS
    this.maxDegree = options.maxDegree ?? 2 * this.target + 2
    if (!Number.isInteger(this.dropAfter) || this.dropAfter < 1) throw new RangeError(`neighbours: dropAfter must be an integer ≥ 1, got ${this.dropAfter}`)
    if (!Number.isInteger(this.newcomerDropAfter) || this.newcomerDropAfter < 1) throw new RangeError(`neighbours: newcomerDropAfter must be an integer ≥ 1, got ${this.newcomerDropAfter}`)
    if (!Number.isInteger(this.coolDown) || this.coolDown < 0) throw new RangeError(`neighbours: coolDown must be an integer ≥ 0, got ${this.coolDown}`)
  }

  /** Every neighbour, active or about to be. */
  get size (): number { return this.entries.size }

  has (id: string): boolean { return this.entries.has(id) }

  /** Whether `id` was dropped less than `coolDown` rounds ago (it may not be added yet). */
  coolingDown (id: string): boolean {
    const at = this.dropped.get(id)
    return at !== undefined && this.observed < at + this.coolDown
  }

  /** Neighbours whose edge is active at `round`. */
  at (round: number): NeighbourView {
    const ids: string[] = []
    const degrees: number[] = []
    for (const [id, entry] of this.entries) {
      if (entry.from > round) continue
      ids.push(id)
      degrees.push(entry.degree)
    }
    return { ids, degrees }
  }

  /**
   * Adds `id` from round `from` on; an existing neighbour gets the new start round. Refuses
   * (returns false) itself, a full neighbourhood and an id still cooling down.
   */
  add (id: string, degree: number, from: number): boolean {
    if (id === this.self) return false
    const existing = this.entries.get(id)
    if (existing !== undefined) {
      // An edge not yet started may be moved (the newcomer retried with a later round).
      const moved = Math.max(from, this.observed + 1)
      if (existing.from > this.observed && moved !== existing.from) {
        existing.from = moved
        this.options.onEvent?.({ round: moved, event: 'add', neighbour: id, reason: 'start moved' })
      }
      existing.degree = degree
      return true
    }
    if (this.entries.size >= this.maxDegree || this.coolingDown(id)) return false
    this.entries.set(id, { degree, from, missed: 0, proven: false })
    this.options.onEvent?.({ round: from, event: 'add', neighbour: id })
    return true
  }

  /** Drops `id` at `round`; it may be added again once the cool-down has passed. */
  remove (id: string, round: number, reason: string): void {
    if (!this.entries.delete(id)) return
    this.dropped.set(id, round)
    this.options.onEvent?.({ round, event: 'drop', neighbour: id, reason })
  }

  /**
   * Records who delivered in `round`: silent neighbours are dropped after dropAfter misses,
   * newcomers that never delivered after newcomerDropAfter.
   */
  observe (round: number, delivered: ReadonlySet<string> | ReadonlyMap<string, unknown>): void {
    this.observed = Math.max(this.observed, round)
    for (const id of [...this.dropped.keys()]) if (!this.coolingDown(id)) this.dropped.delete(id)
    for (const [id, entry] of [...this.entries]) {
      if (entry.from > round) continue
      if (delivered.has(id)) {
        entry.missed = 0
        entry.proven = true
      } else if (++entry.missed >= (entry.proven ? this.dropAfter : this.newcomerDropAfter)) {
        this.remove(id, round, entry.proven ? `no model for ${entry.missed} rounds` : `no model in its first ${entry.missed} round${entry.missed === 1 ? '' : 's'}`)
      }
    }
    if (this.entries.size * 2 < this.target) this.options.onLow?.(this.entries.size, this.target)
  }
}
