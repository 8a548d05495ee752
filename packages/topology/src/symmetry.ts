import type { Graph } from './graph.ts'

/**
 * A graph with coloured nodes and labelled undirected edges: node x's edges are the entries
 * offsets[x] .. offsets[x + 1] of `targets` and `labels`. Every edge appears from both ends with
 * the same label and no (x, y, label) repeats. An automorphism is a permutation that keeps
 * colours and maps every edge onto an edge with the same label.
 */
export interface LabelledGraph {
  readonly n: number
  readonly offsets: Int32Array
  readonly targets: Int32Array
  readonly labels: Int32Array
  /** Colour per node, dense 0 … colours − 1. */
  readonly colours: Int32Array
  /** Number of distinct edge labels. */
  readonly labelCount: number
}

/** One layer of a labelled graph: the edges of `graph`, labelled by their value in `values` (aligned with the CSR entries). */
export interface EdgeLayer {
  graph: Graph
  values?: ArrayLike<number>
}

/** Dense ranks of values (equal values, NaN included, share a rank; order numeric, NaN last). */
function ranks (values: ArrayLike<number>): { rank: Int32Array, count: number } {
  const distinct = Array.from(new Set(Array.from(values)))
  distinct.sort((a, b) => Number.isNaN(a) ? (Number.isNaN(b) ? 0 : 1) : Number.isNaN(b) ? -1 : a - b)
  const index = new Map<number, number>()
  distinct.forEach((v, k) => index.set(v, k))
  return { rank: Int32Array.from(values, (v) => index.get(v) ?? 0), count: distinct.length }
}

/**
 * Stacks edge layers over the same nodes into one labelled graph: layer ℓ's edges get labels
 * offset by the labels of the layers before it, one label per distinct edge value. Node colours
 * are the ranks of `nodeValues` (all equal when absent).
 */
export function labelledGraph (layers: readonly EdgeLayer[], nodeValues?: ArrayLike<number>): LabelledGraph {
  if (layers.length === 0) throw new RangeError('labelledGraph: no layers')
  const n = layers[0].graph.n
  for (const layer of layers) if (layer.graph.n !== n) throw new RangeError(`labelledGraph: layers have ${layer.graph.n} and ${n} nodes`)
  if (nodeValues !== undefined && nodeValues.length !== n) throw new RangeError(`labelledGraph: ${nodeValues.length} node values for ${n} nodes`)
  const offsets = new Int32Array(n + 1)
  for (const { graph } of layers) for (let i = 0; i < n; i++) offsets[i + 1] += graph.offsets[i + 1] - graph.offsets[i]
  for (let i = 0; i < n; i++) offsets[i + 1] += offsets[i]
  const targets = new Int32Array(offsets[n])
  const labels = new Int32Array(offsets[n])
  const fill = offsets.slice(0, n)
  let base = 0
  for (const { graph, values } of layers) {
    const edgeRank = values === undefined ? { rank: new Int32Array(graph.neighbors.length), count: 1 } : ranks(values)
    if (edgeRank.rank.length !== graph.neighbors.length) throw new RangeError('labelledGraph: edge values do not match the edges')
    for (let i = 0; i < n; i++) {
      for (let k = graph.offsets[i]; k < graph.offsets[i + 1]; k++) {
        targets[fill[i]] = graph.neighbors[k]
        labels[fill[i]++] = base + edgeRank.rank[k]
      }
    }
    base += Math.max(1, edgeRank.count)
  }
  const colours = nodeValues === undefined ? new Int32Array(n) : ranks(nodeValues).rank
  return { n, offsets, targets, labels, colours, labelCount: base }
}

/**
 * An ordered partition of the nodes: cells are contiguous runs of `elements`, identified by their
 * start position. Positions, not node indices, name cells, so the cell structure reached by
 * refinement is an isomorphism invariant.
 */
interface Partition {
  elements: Int32Array
  position: Int32Array
  /** Start of the cell holding each position. */
  cellOf: Int32Array
  /** End (exclusive) of the cell starting at a position. */
  cellEnd: Int32Array
  cells: number
}

function clonePartition (p: Partition): Partition {
  return { elements: p.elements.slice(), position: p.position.slice(), cellOf: p.cellOf.slice(), cellEnd: p.cellEnd.slice(), cells: p.cells }
}

/** Records a refinement trace, or compares it on the fly with a reference trace. */
class Trace {
  readonly values: number[] = []
  private readonly reference: readonly number[] | undefined
  private at = 0
  mismatch = false
  constructor (reference?: readonly number[]) { this.reference = reference }
  record (x: number): void {
    if (this.reference === undefined) { this.values.push(x); return }
    if (this.mismatch) return
    if (this.at >= this.reference.length || this.reference[this.at] !== x) this.mismatch = true
    this.at++
  }

  /** True when the recorded run matched the whole reference (always true when recording). */
  matched (): boolean {
    return this.reference === undefined || (!this.mismatch && this.at === this.reference.length)
  }
}

/**
 * Colour refinement (1-dimensional Weisfeiler–Leman) on an ordered partition, with the
 * "all pieces but the largest" splitter queue: O((n + m) log n) per refinement. Splitting is
 * canonical (pieces ordered by their count of labelled edges into the splitter, cells processed
 * in position order), so two runs on isomorphic inputs produce equal traces.
 */
class Refiner {
  readonly g: LabelledGraph
  /** Edge entries scanned and elements moved so far (the budget's unit). */
  work = 0
  private readonly counts: Int32Array
  private readonly inQueue: Uint8Array
  private readonly queue: Int32Array
  private readonly members: Int32Array

  constructor (g: LabelledGraph) {
    this.g = g
    this.counts = new Int32Array(g.n)
    this.inQueue = new Uint8Array(g.n)
    this.queue = new Int32Array(Math.max(1, g.n))
    this.members = new Int32Array(g.n)
  }

  /** The partition by colour, cells in colour order, refined to the coarsest equitable partition. */
  initial (): Partition {
    const { n, colours } = this.g
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => colours[a] - colours[b] || a - b)
    const p: Partition = {
      elements: Int32Array.from(order),
      position: new Int32Array(n),
      cellOf: new Int32Array(n),
      cellEnd: new Int32Array(n),
      cells: 0
    }
    const starts: number[] = []
    for (let k = 0; k < n; k++) {
      p.position[order[k]] = k
      if (k === 0 || colours[order[k]] !== colours[order[k - 1]]) { starts.push(k); p.cells++ }
      p.cellOf[k] = starts[starts.length - 1]
    }
    for (let c = 0; c < starts.length; c++) p.cellEnd[starts[c]] = c + 1 < starts.length ? starts[c + 1] : n
    this.refine(p, starts, new Trace())
    return p
  }

  /** Splits node v off its cell (v goes last), then refines; `trace` records or checks the run. */
  individualize (p: Partition, v: number, trace: Trace): void {
    const pos = p.position[v]
    const c = p.cellOf[pos]
    const e = p.cellEnd[c]
    trace.record(c); trace.record(e)
    if (e - c > 1) {
      this.swap(p, pos, e - 1)
      p.cellEnd[c] = e - 1
      p.cellOf[e - 1] = e - 1
      p.cellEnd[e - 1] = e
      p.cells++
    }
    this.refine(p, [e - 1], trace)
  }

  private swap (p: Partition, a: number, b: number): void {
    if (a === b) return
    const x = p.elements[a]; const y = p.elements[b]
    p.elements[a] = y; p.position[y] = a
    p.elements[b] = x; p.position[x] = b
  }

  /** Refines until equitable, starting from the splitter cells `starts`. Stops early on a trace mismatch. */
  refine (p: Partition, starts: readonly number[], trace: Trace): void {
    const { offsets, targets, labels } = this.g
    const { counts, inQueue, queue, members } = this
    const n = this.g.n
    let head = 0; let size = 0
    const push = (s: number): void => {
      if (inQueue[s] !== 0) return
      inQueue[s] = 1
      queue[(head + size) % n] = s
      size++
    }
    for (const s of starts) push(s)
    const touched: number[] = []
    while (size > 0 && !trace.mismatch) {
      const s = queue[head]; head = (head + 1) % n; size--
      inQueue[s] = 0
      // Snapshot the splitter: labelled passes may split it.
      const end = p.cellEnd[s]
      let count = 0
      for (let k = s; k < end; k++) members[count++] = p.elements[k]
      trace.record(s); trace.record(end)
      const pairs: number[] = []
      let mixed = false
      let firstLabel = -1
      for (let a = 0; a < count; a++) {
        const x = members[a]
        for (let k = offsets[x]; k < offsets[x + 1]; k++) {
          pairs.push(k)
          if (firstLabel === -1) firstLabel = labels[k]
          else if (labels[k] !== firstLabel) mixed = true
        }
      }
      this.work += pairs.length + count
      if (mixed) pairs.sort((a, b) => labels[a] - labels[b])
      for (let from = 0; from < pairs.length && !trace.mismatch;) {
        const label = labels[pairs[from]]
        let to = from
        while (to < pairs.length && labels[pairs[to]] === label) {
          const y = targets[pairs[to]]
          if (counts[y]++ === 0) touched.push(y)
          to++
        }
        trace.record(-1 - label)
        this.splitTouched(p, touched, trace, push, inQueue)
        for (const y of touched) counts[y] = 0
        touched.length = 0
        from = to
      }
    }
    // Leave the scratch clean after an early stop.
    while (size > 0) { inQueue[queue[head]] = 0; head = (head + 1) % n; size-- }
  }

  /** Splits every cell holding touched nodes by their counts (untouched = count 0 first, then ascending). */
  private splitTouched (p: Partition, touched: number[], trace: Trace, push: (s: number) => void, inQueue: Uint8Array): void {
    const { counts } = this
    touched.sort((a, b) => p.cellOf[p.position[a]] - p.cellOf[p.position[b]] || counts[a] - counts[b])
    this.work += touched.length
    for (let from = 0; from < touched.length;) {
      const c = p.cellOf[p.position[touched[from]]]
      let to = from
      while (to < touched.length && p.cellOf[p.position[touched[to]]] === c) to++
      const e = p.cellEnd[c]
      const t = to - from
      const uniform = counts[touched[from]] === counts[touched[to - 1]]
      if (!(t === e - c && uniform)) {
        // Touched nodes to the back of the cell, in ascending count order (they are sorted so).
        let back = e - t
        for (let a = from; a < to; a++) this.swap(p, p.position[touched[a]], back++)
        const pieces: Array<[number, number]> = [] // [start, count]
        if (t < e - c) pieces.push([c, 0])
        for (let a = from; a < to; a++) {
          const pos = e - t + (a - from)
          if (a === from || counts[touched[a]] !== counts[touched[a - 1]]) pieces.push([pos, counts[touched[a]]])
        }
        trace.record(c); trace.record(pieces.length)
        const sizes = pieces.map((piece, q) => (q + 1 < pieces.length ? pieces[q + 1][0] : e) - piece[0])
        let largest = 0
        for (let q = 0; q < pieces.length; q++) {
          const start = pieces[q][0]
          const stop = start + sizes[q]
          p.cellEnd[start] = stop
          if (start !== c) for (let k = start; k < stop; k++) p.cellOf[k] = start
          trace.record(pieces[q][1]); trace.record(sizes[q])
          if (sizes[q] > sizes[largest]) largest = q
        }
        this.work += t
        p.cells += pieces.length - 1
        const wasQueued = inQueue[c] !== 0
        for (let q = 0; q < pieces.length; q++) if (wasQueued || q !== largest) push(pieces[q][0])
      }
      from = to
    }
  }
}

/** The cell of `p` starting at the lowest position with more than one node, or −1 when discrete. */
function firstOpenCell (p: Partition): number {
  for (let s = 0; s < p.elements.length; s = p.cellEnd[s]) if (p.cellEnd[s] - s > 1) return s
  return -1
}

/** Whether the permutation `gamma` is an automorphism of g (colours and labelled edges kept). */
export function isAutomorphism (g: LabelledGraph, gamma: ArrayLike<number>): boolean {
  const { n, offsets, targets, labels, colours, labelCount } = g
  const a: number[] = []; const b: number[] = []
  for (let x = 0; x < n; x++) {
    const y = gamma[x]
    if (colours[x] !== colours[y]) return false
    if (offsets[x + 1] - offsets[x] !== offsets[y + 1] - offsets[y]) return false
    a.length = 0; b.length = 0
    for (let k = offsets[x]; k < offsets[x + 1]; k++) a.push(gamma[targets[k]] * labelCount + labels[k])
    for (let k = offsets[y]; k < offsets[y + 1]; k++) b.push(targets[k] * labelCount + labels[k])
    a.sort((u, v) => u - v); b.sort((u, v) => u - v)
    for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false
  }
  return true
}

/** Whether swapping u and v alone is an automorphism: same colour, and u's labelled edges renamed by the swap are v's. O(deg log deg). */
function isTransposition (g: LabelledGraph, u: number, v: number): boolean {
  const { offsets, targets, labels, colours, labelCount } = g
  if (colours[u] !== colours[v] || offsets[u + 1] - offsets[u] !== offsets[v + 1] - offsets[v]) return false
  const swapped: number[] = []; const own: number[] = []
  for (let k = offsets[u]; k < offsets[u + 1]; k++) {
    const t = targets[k] === u ? v : targets[k] === v ? u : targets[k]
    swapped.push(t * labelCount + labels[k])
  }
  for (let k = offsets[v]; k < offsets[v + 1]; k++) own.push(targets[k] * labelCount + labels[k])
  swapped.sort((x, y) => x - y); own.sort((x, y) => x - y)
  for (let k = 0; k < own.length; k++) if (swapped[k] !== own[k]) return false
  return true
}

export interface OrbitOptions {
  /** Refinements one search for an automorphism r → v may use before giving up (default 256). */
  searchLimit?: number
  /**
   * Representatives a colour class may accumulate in a row without an automorphism joining any
   * of them before the rest of the class is left unverified (default: no limit up to 512 nodes,
   * 4 above, where classes of nodes no automorphism relates are common, as in random regular
   * graphs, and each failed search still costs a good part of a refinement).
   */
  attempts?: number
  /** Total refinement work (edge entries scanned) before all searches stop (default 200 (n + edges) + 10⁶). */
  workLimit?: number
}

/** Colour classes and proven orbits of a labelled graph. */
export interface Orbits {
  /** Smallest node of each node's orbit as far as proven: nodes sharing it are automorphic. */
  representative: Int32Array
  /** Colour-refinement class of each node (dense ids in partition order): automorphic nodes share it. */
  colourClass: Int32Array
  classes: number
  orbits: number
  /**
   * True when every class was split into orbits with proof: nodes with different representatives
   * are then not automorphic. False when a budget ran out, in which case some automorphic nodes
   * may be left apart (never the other way round).
   */
  complete: boolean
  /** Refinement work spent (edge entries scanned), the unit of `workLimit`. */
  work: number
}

/**
 * Orbits of the automorphism group of g. Colour refinement gives classes that contain the orbits
 * but may merge non-automorphic nodes (in regular graphs, for instance); within each class, nodes
 * are joined only when an automorphism between them is found (a transposition check, then an
 * individualisation–refinement search with backtracking), and every automorphism found joins all
 * of its cycles. Searches are budgeted; what a budget leaves unproven stays apart.
 */
export function automorphismOrbits (g: LabelledGraph, options: OrbitOptions = {}): Orbits {
  const { n } = g
  const searchLimit = options.searchLimit ?? 256
  const attempts = options.attempts ?? (n <= 512 ? Infinity : 4)
  const workLimit = options.workLimit ?? 200 * (n + g.targets.length) + 1e6
  const refiner = new Refiner(g)
  const base = refiner.initial()
  const parent = Int32Array.from({ length: n }, (_, i) => i)
  const find = (x: number): number => {
    while (parent[x] !== x) { parent[x] = parent[parent[x]]; x = parent[x] }
    return x
  }
  const union = (a: number, b: number): void => {
    const ra = find(a); const rb = find(b)
    if (ra !== rb) { if (ra < rb) parent[rb] = ra; else parent[ra] = rb }
  }
  const joinCycles = (gamma: ArrayLike<number>): void => { for (let x = 0; x < n; x++) union(x, gamma[x]) }

  const colourClass = new Int32Array(n)
  let classes = 0
  for (let s = 0; s < n; s = base.cellEnd[s]) {
    for (let k = s; k < base.cellEnd[s]; k++) colourClass[base.elements[k]] = classes
    classes++
  }

  let complete = true
  type Outcome = Int32Array | 'swap' | 'none' | 'budget'
  // The individualised partition of a representative and its trace, reused across its searches.
  const prepared = new Map<number, { partition: Partition, trace: number[] }>()
  const prepare = (r: number): { partition: Partition, trace: number[] } => {
    let entry = prepared.get(r)
    if (entry === undefined) {
      const partition = clonePartition(base)
      const trace = new Trace()
      refiner.individualize(partition, r, trace)
      entry = { partition, trace: trace.values }
      prepared.set(r, entry)
    }
    return entry
  }

  const search = (r: number, v: number): Outcome => {
    if (isTransposition(g, r, v)) return 'swap'
    const left = prepare(r)
    const right = clonePartition(base)
    refiner.work += n
    const trace = new Trace(left.trace)
    refiner.individualize(right, v, trace)
    if (!trace.matched()) return 'none'
    let refinements = 0
    let exhausted = false
    const descend = (p1: Partition, p2: Partition): Int32Array | null => {
      const cell = firstOpenCell(p1)
      if (cell === -1) {
        const gamma = new Int32Array(n)
        for (let k = 0; k < n; k++) gamma[p1.elements[k]] = p2.elements[k]
        refiner.work += g.targets.length
        return isAutomorphism(g, gamma) ? gamma : null
      }
      const a = p1.elements[cell]
      const q1 = clonePartition(p1)
      const reference = new Trace()
      refiner.individualize(q1, a, reference)
      refinements++
      const end = p2.cellEnd[cell]
      const candidates = Array.from(p2.elements.subarray(cell, end)).sort((x, y) => x - y)
      // Try a's own image first when it is a candidate: a fixed point is the likeliest extension.
      candidates.sort((x, y) => (x === a ? -1 : 0) - (y === a ? -1 : 0))
      for (const b of candidates) {
        if (refinements >= searchLimit || refiner.work > workLimit) { exhausted = true; return null }
        const q2 = clonePartition(p2)
        refiner.work += n
        const t = new Trace(reference.values)
        refiner.individualize(q2, b, t)
        refinements++
        if (!t.matched()) continue
        const found = descend(q1, q2)
        if (found !== null) return found
        if (exhausted) return null
      }
      return null
    }
    const found = descend(left.partition, right)
    return found ?? (exhausted ? 'budget' : 'none')
  }

  for (let s = 0; s < n; s = base.cellEnd[s]) {
    const end = base.cellEnd[s]
    if (end - s < 2) continue
    const members = Array.from(base.elements.subarray(s, end)).sort((a, b) => a - b)
    const reps: number[] = []
    let failures = 0
    for (const v of members) {
      if (reps.some((r) => find(r) === find(v))) continue
      if (failures >= attempts || refiner.work > workLimit) { complete = false; continue }
      let joined = false
      for (const r of reps) {
        const outcome = search(r, v)
        if (outcome === 'budget') complete = false
        else if (outcome === 'swap') { union(r, v); joined = true; break } else if (outcome !== 'none') { joinCycles(outcome); joined = true; break }
        if (refiner.work > workLimit) break
      }
      if (!joined) {
        if (reps.length > 0) failures++
        reps.push(v)
      } else failures = 0
    }
    for (const r of reps) prepared.delete(r)
  }

  const representative = new Int32Array(n)
  let orbits = 0
  for (let i = 0; i < n; i++) {
    representative[i] = find(i)
    if (representative[i] === i) orbits++
  }
  return { representative, colourClass, classes, orbits, complete, work: refiner.work }
}
