// A node's neighbourhood when the swarm is open: it starts as the topology's neighbours, grows
// when a newcomer is accepted (from an agreed round on, so both ends start the edge together),
// and shrinks when a neighbour stays silent too long. The round engine reads it every round.

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
  /** A neighbour whose model missed this many rounds in a row is dropped (default 3). */
  dropAfter?: number
  /** Largest neighbourhood accepted (default 2 × target + 2). */
  maxDegree?: number
  onEvent?: (event: EdgeEvent) => void
  /** Called after a round that left fewer than target / 2 neighbours. */
  onLow?: (have: number, target: number) => void
}

interface Entry { degree: number, from: number, missed: number }

export class NeighbourSet {
  readonly self: string
  readonly target: number
  readonly dropAfter: number
  readonly maxDegree: number
  private readonly entries = new Map<string, Entry>()
  private readonly options: NeighbourSetOptions
  /** The last round observed: edges starting after it have not begun. */
  private observed = -1

  constructor (options: NeighbourSetOptions) {
    this.options = options
    this.self = options.self
    for (const { id, degree } of options.initial) this.entries.set(id, { degree, from: 0, missed: 0 })
    this.target = options.target ?? options.initial.length
    this.dropAfter = options.dropAfter ?? 3
    this.maxDegree = options.maxDegree ?? 2 * this.target + 2
    if (!Number.isInteger(this.dropAfter) || this.dropAfter < 1) throw new RangeError(`neighbours: dropAfter must be an integer ≥ 1, got ${this.dropAfter}`)
  }

  /** Every neighbour, active or about to be. */
  get size (): number { return this.entries.size }

  has (id: string): boolean { return this.entries.has(id) }

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
   * (returns false) itself and a full neighbourhood.
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
    if (this.entries.size >= this.maxDegree) return false
    this.entries.set(id, { degree, from, missed: 0 })
    this.options.onEvent?.({ round: from, event: 'add', neighbour: id })
    return true
  }

  remove (id: string, round: number, reason: string): void {
    if (!this.entries.delete(id)) return
    this.options.onEvent?.({ round, event: 'drop', neighbour: id, reason })
  }

  /** Records who delivered in `round`: silent neighbours are dropped after dropAfter misses. */
  observe (round: number, delivered: ReadonlySet<string> | ReadonlyMap<string, unknown>): void {
    this.observed = Math.max(this.observed, round)
    for (const [id, entry] of [...this.entries]) {
      if (entry.from > round) continue
      if (delivered.has(id)) {
        entry.missed = 0
      } else if (++entry.missed >= this.dropAfter) {
        this.remove(id, round, `no model for ${entry.missed} rounds`)
      }
    }
    if (this.entries.size * 2 < this.target) this.options.onLow?.(this.entries.size, this.target)
  }
}
