import type { ByzantineSampler } from './byzantine/types.ts'
import type { Graph } from './graph.ts'
import { clopperPearsonInterval, summarizeMean, type MeanSummary } from './stats.ts'

export interface ToleranceOptions {
  /** Failure probability δ a node accepts (default 0.05). */
  delta?: number
  /** Monte Carlo draws from μ_H (default 2000; 1 for deterministic samplers, whose answer is then exact). */
  samples?: number
  /** Level of the Clopper–Pearson intervals and of the Byzantine-count interval (default 0.95). */
  confidence?: number
  /**
   * Estimate P(|N(i) ∩ B| > f | i honest) instead of the unconditional probability of the
   * definition (default false). Matters for correlated models, where an honest node's
   * neighbours are less often Byzantine.
   */
  conditionOnHonest?: boolean
  /** Choose f_i by the upper confidence bound ≤ δ instead of the point estimate (default false). */
  conservative?: boolean
}

/** Tolerance of one node. */
export interface NodeTolerance {
  index: number
  id: string
  degree: number
  /** Largest f the node's rule accepts: ⌊deg/2⌋, so that deg + 1 > 2f. */
  cap: number
  /** f_i(δ), capped at `cap`. */
  f: number
  /** Estimated P(|N(i) ∩ B| > f) at the chosen f. */
  probability: number
  /** Confidence interval of that probability. */
  low: number
  high: number
  /** False when even f = cap leaves P(|N(i) ∩ B| > cap) above δ. */
  protected: boolean
  /** Draws the estimate rests on (fewer than `samples` when conditioning on i honest). */
  draws: number
}

/** Per-node tolerances f_i(δ) under μ_H and what the draws say about the Byzantine set. */
export interface ToleranceReport {
  delta: number
  samples: number
  confidence: number
  nodes: NodeTolerance[]
  /** Nodes whose neighbourhood cannot be protected at δ (f_i = cap and still above δ). */
  unprotected: NodeTolerance[]
  /** histogram[f] = number of nodes with f_i = f. */
  histogram: number[]
  /** |B| per draw: mean and t-interval. */
  byzantineCount: MeanSummary
  /** Per-node frequency of being Byzantine. */
  marginal: Float64Array
}

/**
 * f_i(δ) = min{ f : P_{μ_H}(|N(i) ∩ B| > f) ≤ δ } by Monte Carlo: draws Byzantine sets, counts
 * each node's Byzantine neighbours, and picks the smallest f whose estimated tail is ≤ δ, capped
 * so that deg(i) + 1 > 2 f_i. The tail at the chosen f comes with a Clopper–Pearson interval.
 * Nodes that would need more than the cap are reported in `unprotected` with their tail at the cap.
 * Cost: samples × (draw + Σ deg).
 */
export function nodeTolerances (graph: Graph, sampler: ByzantineSampler, options: ToleranceOptions = {}): ToleranceReport {
  const delta = options.delta ?? 0.05
  // A deterministic sampler (fixed list, worst case) gives the same set every time: one draw is exact.
  const samples = sampler.deterministic ? 1 : options.samples ?? 2000
  const confidence = options.confidence ?? 0.95
  if (!(delta >= 0 && delta <= 1)) throw new RangeError(`delta must be a probability in [0, 1], got ${delta}`)
  if (!Number.isInteger(samples) || samples < 1) throw new RangeError(`samples must be a positive integer, got ${samples}`)
  if (sampler.n !== graph.n) throw new RangeError(`sampler has ${sampler.n} nodes, graph has ${graph.n}`)
  const { n, offsets, neighbors } = graph
  // histogram of |N(i) ∩ B| per node: node i's counts 0..deg(i) live at [offsets[i] + i, offsets[i+1] + i].
  const counts = new Int32Array(offsets[n] + n)
  const draws = new Int32Array(n)
  const byzantineTotals = new Float64Array(samples)
  const byzantineHits = new Int32Array(n)
  const mask = new Uint8Array(n)
  const conditional = options.conditionOnHonest === true
  for (let s = 0; s < samples; s++) {
    sampler.sample(mask)
    let total = 0
    for (let i = 0; i < n; i++) {
      total += mask[i]
      byzantineHits[i] += mask[i]
      if (conditional && mask[i] !== 0) continue
      let c = 0
      for (let k = offsets[i]; k < offsets[i + 1]; k++) c += mask[neighbors[k]]
      counts[offsets[i] + i + c]++
      draws[i]++
    }
    byzantineTotals[s] = total
  }
  const intervals = new Map<string, { low: number, high: number }>()
  const interval = (x: number, trials: number): { low: number, high: number } => {
    const key = `${x}/${trials}`
    let ci = intervals.get(key)
    if (ci === undefined) { ci = clopperPearsonInterval(x, trials, confidence); intervals.set(key, ci) }
    return ci
  }
  const nodes: NodeTolerance[] = []
  const unprotected: NodeTolerance[] = []
  const histogram: number[] = []
  for (let i = 0; i < n; i++) {
    const degree = offsets[i + 1] - offsets[i]
    const cap = degree >> 1
    const base = offsets[i] + i
    const trials = draws[i]
    // exceed = number of draws with more than f Byzantine neighbours, for f = 0, 1, …
    let exceed = trials - counts[base]
    let f = 0
    const acceptable = (x: number): boolean => trials === 0 ||
      (options.conservative === true && !sampler.deterministic ? interval(x, trials).high <= delta : x / trials <= delta)
    while (f < cap && !acceptable(exceed)) { f++; exceed -= counts[base + f] }
    const ci = sampler.deterministic ? { low: exceed / Math.max(trials, 1), high: exceed / Math.max(trials, 1) } : interval(exceed, trials)
    const result: NodeTolerance = {
      index: i,
      id: graph.ids[i],
      degree,
      cap,
      f,
      probability: trials === 0 ? 0 : exceed / trials,
      low: ci.low,
      high: ci.high,
      protected: acceptable(exceed),
      draws: trials
    }
    nodes.push(result)
    if (!result.protected) unprotected.push(result)
    while (histogram.length <= f) histogram.push(0)
    histogram[f]++
  }
  return {
    delta,
    samples,
    confidence,
    nodes,
    unprotected,
    histogram,
    byzantineCount: summarizeMean(byzantineTotals, confidence),
    marginal: Float64Array.from(byzantineHits, (h) => h / samples)
  }
}
