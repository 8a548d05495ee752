import type { Graph } from '../graph.ts'

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

/**
 * Worst-case placement of f Byzantine nodes.
 * - `max-degree`: the f nodes of highest degree (ties: lower index).
 * - `greedy` (default): add nodes one at a time, each time the one that overruns the most honest
 *   nodes (net of itself leaving the honest set); ties go to the node that brings the most honest
 *   neighbourhoods closest to their tolerance (Σ 1/(t_i + 1 − count_i)), then to the lower index.
 * Returns the chosen node indices in the order picked.
 */
export function worstCasePlacement (graph: Graph, f: number, strategy: 'max-degree' | 'greedy' = 'greedy', tolerances?: ArrayLike<number>): Int32Array {
  const { n, offsets, neighbors } = graph
  if (!Number.isInteger(f) || f < 0 || f > n) throw new RangeError(`worst case: f must be an integer in [0, ${n}], got ${f}`)
  if (strategy === 'max-degree') {
    const order = Array.from({ length: n }, (_, i) => i)
      .sort((a, b) => (offsets[b + 1] - offsets[b]) - (offsets[a + 1] - offsets[a]) || a - b)
    return Int32Array.from(order.slice(0, f))
  }
  const t = toleranceArray(graph, tolerances)
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
