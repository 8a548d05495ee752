import type { Graph } from '../graph.ts'
import type { WorstCaseStrategy } from '../types.ts'

/**
 * The most Byzantine neighbours node i can tolerate by default: the largest f with deg(i) + 1 > 2f,
 * i.e. ⌊deg(i)/2⌋ (node i aggregates its own model and its deg(i) neighbours').
 */
export function maxTolerance (graph: Graph, i: number): number {
  return (graph.offsets[i + 1] - graph.offsets[i]) >> 1
}

/** Per-node tolerances: `tolerances` when given, else maxTolerance for every node. */
function toleranceArray (graph: Graph, tolerances?: ArrayLike<number>): Int32Array {
  if (tolerances !== undefined) {
    if (tolerances.length !== graph.n) throw new RangeError(`${tolerances.length} tolerances for ${graph.n} nodes`)
    return Int32Array.from(tolerances)
  }
  return Int32Array.from({ length: graph.n }, (_, i) => maxTolerance(graph, i))
}

/**
 * Honest nodes overrun by a Byzantine set: those with more Byzantine neighbours than they
 * tolerate (|N(i) ∩ B| > t_i). Tolerances default to maxTolerance.
 */
export function overrunNodes (graph: Graph, byzantine: Uint8Array, tolerances?: ArrayLike<number>): number[] {
  const t = toleranceArray(graph, tolerances)
  const out: number[] = []
  for (let i = 0; i < graph.n; i++) {
    if (byzantine[i] !== 0) continue
    let count = 0
    for (let k = graph.offsets[i]; k < graph.offsets[i + 1]; k++) count += byzantine[graph.neighbors[k]]
    if (count > t[i]) out.push(i)
  }
  return out
}

/** How a placement was chosen (`auto` resolves to `exact` or `greedy`). */
export type WorstCaseMethod = 'exact' | 'greedy' | 'max-degree'

export interface WorstCaseOptions {
  /** Default `auto`: `exact` when the search fits the budget, else `greedy`. */
  strategy?: WorstCaseStrategy
  /** Per-node tolerances t_i (default maxTolerance). */
  tolerances?: ArrayLike<number>
  /**
   * Work the exhaustive search may do, in units of one partial placement visited (a bound that
   * scans every node counts n/16): `auto` falls back to greedy beyond it, `exact` throws
   * (default 3·10⁷ for `auto`, 10⁹ for `exact`).
   */
  budget?: number
}

/** A worst-case placement and how it was found. */
export interface WorstCase {
  /** The f Byzantine node indices (in the order picked by greedy and max-degree). */
  nodes: Int32Array
  /** Honest nodes the placement overruns (more Byzantine neighbours than they tolerate). */
  overrun: number
  /** `exact`: no placement of f nodes overruns more (proven by the exhaustive search). */
  method: WorstCaseMethod
  /** Partial placements the exhaustive search visited (0 when it did not run). */
  searched: number
  /** The search's work budget (0 when it did not run). */
  budget: number
}

/** Default search budgets (work units, see WorstCaseOptions): ~2 s and ~1 min on 64-node graphs. */
export const AUTO_SEARCH_BUDGET = 3e7
export const EXACT_SEARCH_BUDGET = 1e9

/**
 * Worst-case placement of f Byzantine nodes, maximising the honest nodes overrun.
 * - `max-degree`: the f nodes of highest degree (ties: lower index); not scored against the objective
 *   beyond reporting `overrun`.
 * - `greedy`: add nodes one at a time, each time the one that overruns the most honest nodes (net
 *   of itself leaving the honest set); ties go to the node that brings the most honest
 *   neighbourhoods closest to their tolerance (Σ 1/(t_i + 1 − count_i)), then to the lower index.
 * - `exact`: branch and bound over all C(n, f) placements, started from the greedy placement, which
 *   it keeps unless some placement overruns strictly more. Throws when the budget runs out.
 * - `auto` (default): `exact` when the search finishes within the budget, else `greedy`.
 */
export function worstCase (graph: Graph, f: number, options: WorstCaseOptions = {}): WorstCase {
  const { n, offsets } = graph
  if (!Number.isInteger(f) || f < 0 || f > n) throw new RangeError(`worst case: f must be an integer in [0, ${n}], got ${f}`)
  const strategy = options.strategy ?? 'auto'
  const t = toleranceArray(graph, options.tolerances)
  if (strategy === 'max-degree') {
    const order = Array.from({ length: n }, (_, i) => i)
      .sort((a, b) => (offsets[b + 1] - offsets[b]) - (offsets[a + 1] - offsets[a]) || a - b)
    const nodes = Int32Array.from(order.slice(0, f))
    return { nodes, overrun: overrunCount(graph, nodes, t), method: 'max-degree', searched: 0, budget: 0 }
  }
  const greedy = greedyPlacement(graph, f, t)
  const greedyOverrun = overrunCount(graph, greedy, t)
  if (strategy === 'greedy') return { nodes: greedy, overrun: greedyOverrun, method: 'greedy', searched: 0, budget: 0 }
  const budget = options.budget ?? (strategy === 'exact' ? EXACT_SEARCH_BUDGET : AUTO_SEARCH_BUDGET)
  const search = exhaustiveSearch(graph, f, t, greedyOverrun, budget)
  if (search.complete) {
    const nodes = search.nodes ?? greedy
    return { nodes, overrun: search.nodes === undefined ? greedyOverrun : search.overrun, method: 'exact', searched: search.visited, budget }
  }
  if (strategy === 'exact') {
    throw new RangeError(`worst case: the exhaustive search over C(${n}, ${f}) placements passed its work budget of ${budget}; ` +
      'use the greedy strategy or a larger budget')
  }
  return { nodes: greedy, overrun: greedyOverrun, method: 'greedy', searched: search.visited, budget }
}

/** The node indices of `worstCase(graph, f, { strategy, tolerances })`. */
export function worstCasePlacement (graph: Graph, f: number, strategy: WorstCaseStrategy = 'auto', tolerances?: ArrayLike<number>): Int32Array {
  return worstCase(graph, f, { strategy, tolerances }).nodes
}

function overrunCount (graph: Graph, nodes: Int32Array, t: Int32Array): number {
  const mask = new Uint8Array(graph.n)
  for (const v of nodes) mask[v] = 1
  return overrunNodes(graph, mask, t).length
}

function greedyPlacement (graph: Graph, f: number, t: Int32Array): Int32Array {
  const { n, offsets, neighbors } = graph
  const byzantine = new Uint8Array(n)
  const count = new Int32Array(n)
  const chosen = new Int32Array(f)
  for (let step = 0; step < f; step++) {
    let best = -1; let bestGain = -Infinity; let bestProgress = -Infinity
    for (let v = 0; v < n; v++) {
      if (byzantine[v] !== 0) continue
      let gain = count[v] > t[v] ? -1 : 0
      let progress = 0
      for (let k = offsets[v]; k < offsets[v + 1]; k++) {
        const i = neighbors[k]
        if (byzantine[i] !== 0) continue
        if (count[i] === t[i]) gain++
        else if (count[i] < t[i]) progress += 1 / (t[i] + 1 - count[i])
      }
      if (gain > bestGain || (gain === bestGain && progress > bestProgress)) { best = v; bestGain = gain; bestProgress = progress }
    }
    byzantine[best] = 1
    chosen[step] = best
    for (let k = offsets[best]; k < offsets[best + 1]; k++) count[neighbors[k]]++
  }
  return chosen
}

interface SearchResult {
  /** The best placement found when it beats the starting value, else undefined. */
  nodes: Int32Array | undefined
  overrun: number
  complete: boolean
  visited: number
}

/**
 * Depth-first search over placements v₁ < v₂ < … < v_f, keeping the honest nodes' Byzantine
 * counts and how many more each needs to be overrun ("need") up to date as nodes enter and leave.
 * A branch is cut when even its upper bound cannot beat the best value: r more nodes, all past
 * the last one placed, can only overrun honest nodes whose need is ≤ r and (for r ≥ 2, where
 * cuts save most) ≤ their neighbours left among those candidates; and they raise counts by at most
 * the sum of their r largest degrees, which pays for the smallest needs first.
 */
function exhaustiveSearch (graph: Graph, f: number, tolerances: Int32Array, start: number, budget: number): SearchResult {
  const { n, offsets, neighbors } = graph
  // Tolerances past the degree (never overrun) or below −1 (always overrun) change nothing: clamped,
  // every need fits in 0 … deg + 1.
  const t = Int32Array.from(tolerances, (x, i) => Math.max(-1, Math.min(x, offsets[i + 1] - offsets[i])))
  const byzantine = new Uint8Array(n)
  const count = new Int32Array(n)
  let maxNeed = 1
  for (let i = 0; i < n; i++) maxNeed = Math.max(maxNeed, t[i] + 1)
  const needs = new Int32Array(maxNeed + 1) // needs[k]: honest nodes not yet overrun that need k more
  let overrun = 0
  for (let i = 0; i < n; i++) if (t[i] < 0) overrun++; else needs[t[i] + 1]++
  const topDegrees = suffixTopDegreeSums(graph, f)
  const chosen = new Int32Array(f)
  let best = start
  let bestNodes: Int32Array | undefined
  let visited = 0
  let work = 0
  const scanCost = Math.ceil(n / 16)

  const add = (v: number): void => {
    byzantine[v] = 1
    if (count[v] > t[v]) overrun--; else needs[t[v] + 1 - count[v]]--
    for (let k = offsets[v]; k < offsets[v + 1]; k++) {
      const i = neighbors[k]
      const need = t[i] + 1 - count[i]++
      if (byzantine[i] !== 0 || need <= 0) continue
      needs[need]--
      if (need === 1) overrun++; else needs[need - 1]++
    }
  }
  const remove = (v: number): void => {
    for (let k = offsets[v]; k < offsets[v + 1]; k++) {
      const i = neighbors[k]
      const need = t[i] + 1 - --count[i]
      if (byzantine[i] !== 0 || need <= 0) continue
      needs[need]++
      if (need === 1) overrun--; else needs[need - 1]--
    }
    byzantine[v] = 0
    if (count[v] > t[v]) overrun++; else needs[t[v] + 1 - count[v]]++
  }
  const reachable = candidateNeighbourTable(graph)
  const eligible = new Int32Array(maxNeed + 1)
  const bound = (from: number, r: number): number => {
    const top = Math.min(r, maxNeed)
    let level = needs
    if (reachable !== undefined && r >= 2) {
      // Only nodes with at least `need` neighbours left among the candidates can still fall.
      work += scanCost
      eligible.fill(0, 0, top + 1)
      for (let i = 0; i < n; i++) {
        if (byzantine[i] !== 0) continue
        const need = t[i] + 1 - count[i]
        if (need >= 1 && need <= top && need <= reachable[i * (n + 1) + from]) eligible[need]++
      }
      level = eligible
    }
    let increments = topDegrees(from, r)
    let gained = 0
    for (let need = 1; need <= top; need++) {
      const take = Math.min(level[need], Math.floor(increments / need))
      gained += take
      increments -= take * need
      if (take < level[need]) break
    }
    return overrun + gained
  }
  const descend = (from: number, depth: number): boolean => {
    const r = f - depth - 1 // nodes still to place after this one
    for (let v = from; v <= n - r - 1; v++) {
      if (work >= budget) return false
      visited++
      work++
      add(v)
      chosen[depth] = v
      if (r === 0) {
        if (overrun > best) { best = overrun; bestNodes = chosen.slice() }
      } else if (bound(v + 1, r) > best && !descend(v + 1, depth + 1)) {
        remove(v)
        return false
      }
      remove(v)
    }
    return true
  }
  const complete = f === 0 || bound(0, f) <= best || descend(0, 0)
  return { nodes: bestNodes, overrun: best, complete, visited }
}

/**
 * topDegrees(from, r): the sum of the r largest degrees among nodes from … n − 1. A table of the
 * f largest per suffix when it is small, else the f largest of the whole graph (a looser bound).
 */
function suffixTopDegreeSums (graph: Graph, f: number): (from: number, r: number) => number {
  const { n, offsets } = graph
  const width = f + 1
  const perSuffix = n * width <= 1 << 22
  const rows = perSuffix ? n + 1 : 1
  const table = new Float64Array(rows * width) // row s: prefix sums of the suffix's sorted top degrees
  const top = new Int32Array(f) // the suffix's f largest degrees, descending
  let size = 0
  for (let s = n - 1; s >= 0; s--) {
    const d = offsets[s + 1] - offsets[s]
    let k = Math.min(size, f - 1)
    if (size < f || (f > 0 && d > top[f - 1])) {
      while (k > 0 && top[k - 1] < d) { top[k] = top[k - 1]; k-- }
      if (f > 0) top[k] = d
      size = Math.min(size + 1, f)
    }
    if (perSuffix || s === 0) {
      const row = perSuffix ? s * width : 0
      for (let r = 1; r <= f; r++) table[row + r] = table[row + r - 1] + (r <= size ? top[r - 1] : 0)
    }
  }
  return perSuffix ? (from, r) => table[from * width + r] : (_from, r) => table[r]
}

/**
 * table[i·(n + 1) + from]: i's neighbours with index ≥ from (those a search past `from` can still
 * pick). Undefined beyond ~2000 nodes (n² entries), where the bound goes without it.
 */
function candidateNeighbourTable (graph: Graph): Int32Array | undefined {
  const { n, offsets, neighbors } = graph
  if (n * (n + 1) > 1 << 22) return undefined
  const table = new Int32Array(n * (n + 1))
  for (let i = 0; i < n; i++) {
    const row = i * (n + 1)
    let k = offsets[i + 1]
    for (let from = n; from >= 0; from--) {
      while (k > offsets[i] && neighbors[k - 1] >= from) k--
      table[row + from] = offsets[i + 1] - k
    }
  }
  return table
}
