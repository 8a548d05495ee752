import { bfs, connectedComponents, type Graph } from './graph.ts'

/** The diameter with the bounds that prove it (`exact` when lowerBound = upperBound). */
export interface DiameterResult {
  diameter: number
  exact: boolean
  lowerBound: number
  upperBound: number
  /** Breadth-first searches run. */
  searches: number
}

export interface DiameterOptions {
  /**
   * Work budget in visited adjacency entries (one BFS costs about n + 2m). When exhausted the
   * result is the best lower bound found, with `exact: false`. Default 2e9 (about 10 s).
   */
  maxWork?: number
}

/**
 * Exact diameter by iFUB (Crescenzi et al., 2013): BFS from a high-degree root u gives levels;
 * the eccentricities of the nodes on the deepest levels are computed one level at a time and the
 * search stops as soon as the largest of them is at least 2(i − 1), which bounds every distance
 * between nodes above level i. Worst case n searches (the O(nm) all-pairs bound), usually far
 * fewer. A disconnected graph has diameter Infinity.
 */
export function diameter (g: Graph, options: DiameterOptions = {}): DiameterResult {
  const n = g.n
  if (n <= 1) return { diameter: 0, exact: true, lowerBound: 0, upperBound: 0, searches: 0 }
  if (connectedComponents(g).count > 1) {
    return { diameter: Infinity, exact: true, lowerBound: Infinity, upperBound: Infinity, searches: 0 }
  }
  const perSearch = n + g.neighbors.length
  const maxSearches = Math.max(3, Math.floor((options.maxWork ?? 2e9) / perSearch))
  const dist = new Int32Array(n)
  const queue = new Int32Array(n)
  let root = 0
  for (let i = 1; i < n; i++) if (g.offsets[i + 1] - g.offsets[i] > g.offsets[root + 1] - g.offsets[root]) root = i
  const levels = new Int32Array(n)
  const ecc = bfs(g, root, levels, queue)
  let searches = 1
  // A double sweep from a farthest node usually finds the diameter or close to it at once.
  let far = 0
  for (let i = 0; i < n; i++) if (levels[i] === ecc) { far = i; break }
  let lower = Math.max(ecc, bfs(g, far, dist, queue))
  searches++
  let upper: number
  // Bucket the nodes by level, deepest first.
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => levels[b] - levels[a])
  let pos = 0
  const scratch = { reached: new Int32Array(n), frontier: new Int32Array(n), next: new Int32Array(n) }
  for (let level = ecc; level >= 1; level--) {
    // Every node not yet searched sits at level ≤ `level`, so any two are at most 2·level apart.
    upper = Math.max(lower, 2 * level)
    if (lower >= upper) break
    // Small-diameter graphs: 32 searches at once cost about (upper + 1) single ones.
    const batched = upper + 1 < 16
    while (pos < n && levels[order[pos]] === level) {
      if (searches >= maxSearches) return { diameter: lower, exact: false, lowerBound: lower, upperBound: upper, searches }
      if (batched) {
        let end = pos
        while (end < n && end - pos < 32 && levels[order[end]] === level) end++
        lower = Math.max(lower, maxEccentricity(g, order.slice(pos, end), scratch))
        searches += end - pos
        pos = end
      } else {
        lower = Math.max(lower, bfs(g, order[pos], dist, queue))
        searches++
        pos++
      }
    }
  }
  return { diameter: lower, exact: true, lowerBound: lower, upperBound: lower, searches }
}

/**
 * Largest eccentricity among up to 32 sources, by one bit-parallel BFS: bit s of reached[v] says
 * source s has reached v, and each level ORs the neighbours' frontier bits. Cost
 * O((ecc + 1)(n + 2m)) for all the sources together.
 */
function maxEccentricity (g: Graph, sources: number[], scratch: { reached: Int32Array, frontier: Int32Array, next: Int32Array }): number {
  const { n, offsets, neighbors } = g
  let { reached, frontier, next } = scratch
  reached.fill(0); frontier.fill(0)
  for (let s = 0; s < sources.length; s++) { reached[sources[s]] |= 1 << s; frontier[sources[s]] |= 1 << s }
  let level = 0
  for (;;) {
    let any = 0
    for (let v = 0; v < n; v++) {
      let bits = 0
      for (let k = offsets[v]; k < offsets[v + 1]; k++) bits |= frontier[neighbors[k]]
      bits &= ~reached[v]
      next[v] = bits
      any |= bits
    }
    if (any === 0) break
    level++
    for (let v = 0; v < n; v++) reached[v] |= next[v]
    const t = frontier; frontier = next; next = t
  }
  scratch.frontier = frontier; scratch.next = next
  return level
}
