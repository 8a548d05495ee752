import { median } from '@murmur/robust'

/**
 * An undirected graph in compressed sparse row form: the neighbours of node i are
 * `neighbors[offsets[i] .. offsets[i + 1])`, sorted ascending, with matching `weights`.
 * Each undirected edge appears twice (once per endpoint).
 */
export interface Graph {
  /** Number of nodes. */
  readonly n: number
  /** Number of undirected edges. */
  readonly m: number
  /** Node ids by index. */
  readonly ids: readonly string[]
  /** Index by node id. */
  readonly index: ReadonlyMap<string, number>
  readonly offsets: Int32Array
  readonly neighbors: Int32Array
  readonly weights: Float64Array
}

/** Ids `p0 .. p{n−1}`, the default naming of generated graphs. */
export function defaultIds (n: number): string[] {
  const ids = new Array<string>(n)
  for (let i = 0; i < n; i++) ids[i] = `p${i}`
  return ids
}

/**
 * Builds the CSR graph from an edge list given as index pairs (u[e], v[e]) with optional weights.
 * The caller guarantees there are no self-loops or duplicate edges (validation and generators do).
 */
export function graphFromEdges (
  ids: readonly string[],
  u: ArrayLike<number>,
  v: ArrayLike<number>,
  w?: ArrayLike<number>
): Graph {
  const n = ids.length
  const m = u.length
  if (v.length !== m || (w !== undefined && w.length !== m)) throw new RangeError('graphFromEdges: edge arrays differ in length')
  const offsets = new Int32Array(n + 1)
  for (let e = 0; e < m; e++) {
    const a = u[e]; const b = v[e]
    if (!(a >= 0 && a < n && b >= 0 && b < n) || a === b) throw new RangeError(`graphFromEdges: bad edge ${a}–${b} for ${n} nodes`)
    offsets[a + 1]++
    offsets[b + 1]++
  }
  for (let i = 0; i < n; i++) offsets[i + 1] += offsets[i]
  const fill = offsets.slice(0, n)
  const neighbors = new Int32Array(2 * m)
  const weights = new Float64Array(2 * m)
  for (let e = 0; e < m; e++) {
    const a = u[e]; const b = v[e]; const we = w === undefined ? 1 : w[e]
    neighbors[fill[a]] = b; weights[fill[a]++] = we
    neighbors[fill[b]] = a; weights[fill[b]++] = we
  }
  sortRows(offsets, neighbors, weights)
  const index = new Map<string, number>()
  for (let i = 0; i < n; i++) index.set(ids[i], i)
  return { n, m, ids: ids.slice(), index, offsets, neighbors, weights }
}

/** Sorts each adjacency row by neighbour index (insertion sort: rows are short and nearly sorted). */
function sortRows (offsets: Int32Array, neighbors: Int32Array, weights: Float64Array): void {
  const n = offsets.length - 1
  for (let i = 0; i < n; i++) {
    const start = offsets[i]; const end = offsets[i + 1]
    if (end - start > 64) {
      // Long rows (hubs): sort index pairs once instead of quadratic insertion.
      const order = Array.from({ length: end - start }, (_, k) => start + k).sort((a, b) => neighbors[a] - neighbors[b])
      const nb = order.map((k) => neighbors[k]); const wt = order.map((k) => weights[k])
      for (let k = 0; k < nb.length; k++) { neighbors[start + k] = nb[k]; weights[start + k] = wt[k] }
      continue
    }
    for (let a = start + 1; a < end; a++) {
      const x = neighbors[a]; const wx = weights[a]
      let b = a - 1
      while (b >= start && neighbors[b] > x) { neighbors[b + 1] = neighbors[b]; weights[b + 1] = weights[b]; b-- }
      neighbors[b + 1] = x; weights[b + 1] = wx
    }
  }
}

/** Degree of node i. */
export function degree (g: Graph, i: number): number {
  return g.offsets[i + 1] - g.offsets[i]
}

/** All degrees as an Int32Array. */
export function degrees (g: Graph): Int32Array {
  const d = new Int32Array(g.n)
  for (let i = 0; i < g.n; i++) d[i] = g.offsets[i + 1] - g.offsets[i]
  return d
}

/** Whether i and j are adjacent (binary search in the sorted row of i). */
export function hasEdge (g: Graph, i: number, j: number): boolean {
  let lo = g.offsets[i]; let hi = g.offsets[i + 1] - 1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const x = g.neighbors[mid]
    if (x === j) return true
    if (x < j) lo = mid + 1; else hi = mid - 1
  }
  return false
}

/** The undirected edges as index pairs with u < v, in row order. */
export function edgeList (g: Graph): { u: Int32Array, v: Int32Array, w: Float64Array } {
  const u = new Int32Array(g.m); const v = new Int32Array(g.m); const w = new Float64Array(g.m)
  let e = 0
  for (let i = 0; i < g.n; i++) {
    for (let k = g.offsets[i]; k < g.offsets[i + 1]; k++) {
      const j = g.neighbors[k]
      if (j > i) { u[e] = i; v[e] = j; w[e] = g.weights[k]; e++ }
    }
  }
  return { u, v, w }
}

/** Component label per node (0, 1, … in order of first node) and the number of components. */
export function connectedComponents (g: Graph): { labels: Int32Array, count: number } {
  const labels = new Int32Array(g.n).fill(-1)
  const queue = new Int32Array(g.n)
  let count = 0
  for (let s = 0; s < g.n; s++) {
    if (labels[s] !== -1) continue
    labels[s] = count
    let head = 0; let tail = 0
    queue[tail++] = s
    while (head < tail) {
      const x = queue[head++]
      for (let k = g.offsets[x]; k < g.offsets[x + 1]; k++) {
        const y = g.neighbors[k]
        if (labels[y] === -1) { labels[y] = count; queue[tail++] = y }
      }
    }
    count++
  }
  return { labels, count }
}

/** True when every node reaches every other (an empty or one-node graph is connected). */
export function isConnected (g: Graph): boolean {
  return connectedComponents(g).count <= 1
}

/**
 * Hop distances from `source` (−1 for unreachable nodes) into `dist`; returns the eccentricity of
 * the source over the nodes it reaches. `queue` is scratch space of length n.
 */
export function bfs (g: Graph, source: number, dist: Int32Array, queue: Int32Array = new Int32Array(g.n)): number {
  dist.fill(-1)
  dist[source] = 0
  let head = 0; let tail = 0
  queue[tail++] = source
  let ecc = 0
  const { offsets, neighbors } = g
  while (head < tail) {
    const x = queue[head++]
    const dx = dist[x] + 1
    for (let k = offsets[x]; k < offsets[x + 1]; k++) {
      const y = neighbors[k]
      if (dist[y] === -1) { dist[y] = dx; ecc = dx; queue[tail++] = y }
    }
  }
  return ecc
}

/** Summary of the degree sequence. */
export interface DegreeStats { min: number, max: number, mean: number, median: number, std: number }

/** Min, max, mean, median and (population) standard deviation of the degrees. */
export function degreeStats (g: Graph): DegreeStats {
  if (g.n === 0) return { min: 0, max: 0, mean: 0, median: 0, std: 0 }
  const d = degrees(g).sort()
  let sum = 0; let sq = 0
  for (let i = 0; i < g.n; i++) { sum += d[i]; sq += d[i] * d[i] }
  const mean = sum / g.n
  return { min: d[0], max: d[g.n - 1], mean, median: median(d), std: Math.sqrt(Math.max(0, sq / g.n - mean * mean)) }
}
