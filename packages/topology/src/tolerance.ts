import type { ByzantineLaw, ByzantineSampler } from './byzantine/types.ts'
import { diagnoseDraws, DrawRecord, type ChainDiagnostics } from './chain-diagnostics.ts'
import { exactCountLaw, type CountLaw, type CountLawSource } from './count-law.ts'
import type { Graph } from './graph.ts'
import { effectiveSampleSize } from './mcmc.ts'
import { clopperPearsonInterval, incompleteBeta, summarizeMean, type MeanSummary } from './stats.ts'
import { automorphismOrbits, labelledGraph, type EdgeLayer, type LabelledGraph, type Orbits } from './symmetry.ts'

export interface ToleranceOptions {
  /** Failure probability δ a node accepts (default 0.05). */
  delta?: number
  /**
   * Monte Carlo draws from μ_H in the first round (default 2000), for models without an exact law.
   * More rounds follow, doubling the draws, while some node's f_i is not settled (see `maxSamples`).
   */
  samples?: number
  /**
   * Most Monte Carlo draws in all (default 32 × samples, lowered on large graphs so that the draws
   * visit at most ~2.7·10⁸ node and edge entries, never below `samples`). Set it to `samples`
   * for a single round.
   */
  maxSamples?: number
  /** Level of the confidence intervals (Clopper–Pearson, and the |B| t-interval) (default 0.95). */
  confidence?: number
  /**
   * Estimate P(|N(i) ∩ B| > f | i honest) instead of the unconditional probability of the
   * definition (default false). Matters for correlated models, where an honest node's
   * neighbours are less often Byzantine.
   */
  conditionOnHonest?: boolean
  /**
   * For estimates whose interval still straddles δ after `maxSamples` draws: take the smallest f
   * whose upper confidence bound is ≤ δ (default true), or the smallest f whose point estimate is
   * ≤ δ (false). Settled estimates give the same f either way.
   */
  conservative?: boolean
  /** Use μ_H's exact law when it is available (default true); false forces Monte Carlo, except for deterministic samplers. */
  exact?: boolean
  /** Largest graph whose Ising law is enumerated over all 2ⁿ sets (default 20; the cascade: ¾ of it). */
  enumerationLimit?: number
  /** Pool the Monte Carlo counts of nodes proven automorphic under the graph and μ_H (default true). */
  pool?: boolean
}

/** Where a node's tail probability comes from. */
export type ToleranceSource = CountLawSource | 'monte-carlo'

/** Tolerance of one node. */
export interface NodeTolerance {
  index: number
  id: string
  degree: number
  /** Largest f the node's rule accepts: ⌊deg/2⌋, so that deg + 1 > 2f. */
  cap: number
  /** f_i(δ), capped at `cap`. */
  f: number
  /** P(|N(i) ∩ B| > f) at the chosen f: exact, or estimated. */
  probability: number
  /** Confidence interval of that probability (low = high = probability when exact). */
  low: number
  high: number
  /** False when even f = cap leaves P(|N(i) ∩ B| > cap) above δ. */
  protected: boolean
  /** μ_H draws in which this node's count was observed (fewer than `samples` when conditioning on i honest; 0 when exact). */
  draws: number
  /** True when the probability comes from μ_H's law rather than from draws. */
  exact: boolean
  source: ToleranceSource
  /**
   * True when f and `protected` do not depend on the noise: always for exact results; for
   * estimates, when the interval at f lies below δ (or above it at f = cap, unprotected) and the
   * interval at f − 1 lies above δ.
   */
  resolved: boolean
  /** Smallest index of the nodes whose draws were pooled with this node's (its own index when alone). */
  orbit: number
  /** Number of nodes pooled (1 when alone; automorphic nodes share one estimate). */
  pooled: number
  /**
   * Sample size the interval rests on after pooling (0 when exact); for Markov-chain draws, their
   * effective sample size from the autocorrelation of the tail indicator.
   */
  effectiveDraws: number
}

/** Per-node tolerances f_i(δ) under μ_H and what μ_H says about the Byzantine set. */
export interface ToleranceReport {
  delta: number
  /** Monte Carlo draws made (0 when every probability is exact). */
  samples: number
  /** The draw budget (0 when exact). */
  maxSamples: number
  confidence: number
  /** True when every node's probability is exact. */
  exact: boolean
  source: ToleranceSource
  nodes: NodeTolerance[]
  /** Nodes whose neighbourhood cannot be protected at δ (f_i = cap and still above δ). */
  unprotected: NodeTolerance[]
  /** Estimates the budget left unsettled (f chosen by the `conservative` rule). */
  unresolved: NodeTolerance[]
  /** histogram[f] = number of nodes with f_i = f. */
  histogram: number[]
  /**
   * |B|: mean and t-interval over the draws (over their effective number for Markov-chain
   * draws, clipped to [0, n]), or the exact mean (zero-width interval).
   */
  byzantineCount: MeanSummary
  /** Per-node probability of being Byzantine (frequency over the draws, or exact). */
  marginal: Float64Array
  /**
   * The symmetry used: colour-refinement classes, proven orbits, and whether the orbits are
   * proven complete. Null when none was computed (product-form and constant laws need none).
   */
  symmetry: { classes: number, orbits: number, complete: boolean } | null
  /** Markov-chain draws only (the Ising sampler): effective sample size and split-R̂; else null. */
  chain: ChainDiagnostics | null
  /** What a report must say about these numbers (chains that have not mixed, ...). */
  warnings: string[]
}

/** Exact tails are compared with δ up to this rounding allowance. */
const ROUNDING = 1e-12
/** Default draw budget in node + edge entries visited. */
const WORK_BUDGET = 2 ** 28

/**
 * The structure whose automorphisms leave μ_H and the neighbour counts unchanged: the
 * communication graph, μ_H's correlation graph with its edge parameters as labels, and the
 * per-node parameters (priors, seed rates, the fixed set) as colours.
 */
export function toleranceSymmetry (graph: Graph, law: ByzantineLaw): LabelledGraph {
  let correlation: EdgeLayer | undefined
  let nodeValues: ArrayLike<number> | undefined
  switch (law.kind) {
    case 'independent': nodeValues = law.probabilities; break
    case 'constant': nodeValues = law.mask; break
    case 'cascade': correlation = { graph: law.graph, values: law.edgeProbabilities }; nodeValues = law.seedRates; break
    case 'ising': case 'gaussian': correlation = { graph: law.graph, values: law.graph.weights }; break
  }
  // One labelled layer suffices when μ_H correlates over the communication graph itself.
  const layers = correlation === undefined ? [{ graph }] : sameEdges(graph, correlation.graph) ? [correlation] : [{ graph }, correlation]
  return labelledGraph(layers, nodeValues)
}

function sameEdges (a: Graph, b: Graph): boolean {
  if (a === b) return true
  if (a.n !== b.n || a.neighbors.length !== b.neighbors.length) return false
  for (let i = 0; i <= a.n; i++) if (a.offsets[i] !== b.offsets[i]) return false
  for (let k = 0; k < a.neighbors.length; k++) if (a.neighbors[k] !== b.neighbors[k]) return false
  return true
}

/**
 * f_i(δ) = min{ f : P_{μ_H}(|N(i) ∩ B| > f) ≤ δ }, capped so that deg(i) + 1 > 2 f_i.
 *
 * Exact where μ_H allows (see exactCountLaw): independent models (Poisson-binomial), fixed and
 * worst-case sets, and the Ising and cascade models on small graphs (enumeration). Tails are
 * then compared with δ directly and reported without an interval.
 *
 * Otherwise by Monte Carlo, made stable in three ways:
 * - nodes proven automorphic under the communication graph and μ_H's parameters (colour
 *   refinement seeded with the parameters, then an automorphism search; see automorphismOrbits)
 *   pool their counts: their counts are identically distributed, so they share one estimate and
 *   one f. The pooled counts of one draw are dependent, so the interval uses an effective sample
 *   size from the between-draw variance (Korn–Graubard), between the number of draws and
 *   draws × orbit size;
 * - draws continue, doubling, up to `maxSamples` while some estimate is unsettled: its interval
 *   at f_i still reaches above δ or its interval at f_i − 1 still reaches below δ;
 * - what the budget leaves unsettled takes the conservative f (upper bound ≤ δ) by default.
 * Draws from Markov chains (the Ising sampler) are dependent: every interval then rests on an
 * effective sample size measured from the chains' autocorrelation instead of the draw count, and
 * `chain` and `warnings` report whether the chains mixed (split-R̂ ≤ 1.05).
 * Nodes that would need more than the cap are reported in `unprotected` with their tail at the cap.
 */
export function nodeTolerances (graph: Graph, sampler: ByzantineSampler, options: ToleranceOptions = {}): ToleranceReport {
  const delta = options.delta ?? 0.05
  const samples = options.samples ?? 2000
  const confidence = options.confidence ?? 0.95
  if (!(delta >= 0 && delta <= 1)) throw new RangeError(`delta must be a probability in [0, 1], got ${delta}`)
  if (!Number.isInteger(samples) || samples < 1) throw new RangeError(`samples must be a positive integer, got ${samples}`)
  if (options.maxSamples !== undefined && !(Number.isInteger(options.maxSamples) && options.maxSamples >= 1)) {
    throw new RangeError(`maxSamples must be a positive integer, got ${options.maxSamples}`)
  }
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be in (0, 1), got ${confidence}`)
  if (sampler.n !== graph.n) throw new RangeError(`sampler has ${sampler.n} nodes, graph has ${graph.n}`)
  const { n, offsets } = graph
  const caps = Int32Array.from({ length: n }, (_, i) => (offsets[i + 1] - offsets[i]) >> 1)
  const conditional = options.conditionOnHonest === true

  // A deterministic sampler is exact whatever `exact` says: its one draw is its law.
  const law = sampler.deterministic
    ? sampler.law ?? { kind: 'constant', mask: sampler.sample().slice() }
    : options.exact === false ? undefined : sampler.law
  const countLaw = law === undefined
    ? undefined
    : exactCountLaw(graph, law, { caps, conditionOnHonest: conditional, enumerationLimit: options.enumerationLimit })
  if (countLaw !== undefined) {
    // Enumerated laws are summed in a node-dependent order: automorphic nodes copy one result.
    const orbits = countLaw.source === 'enumeration' && law !== undefined ? automorphismOrbits(toleranceSymmetry(graph, law)) : undefined
    return exactReport(graph, caps, countLaw, orbits, { delta, samples, confidence, conditional })
  }
  const pooling = options.pool !== false && sampler.law !== undefined
  const orbits = pooling ? automorphismOrbits(toleranceSymmetry(graph, sampler.law)) : undefined
  const work = n + graph.neighbors.length
  const maxSamples = Math.max(samples, options.maxSamples ?? Math.min(32 * samples, Math.floor(WORK_BUDGET / Math.max(1, work))))
  return monteCarloReport(graph, sampler, caps, orbits, {
    delta, samples, maxSamples, confidence, conditional, conservative: options.conservative !== false
  })
}

interface Common { delta: number, samples: number, confidence: number, conditional: boolean }

function finish (
  nodes: NodeTolerance[],
  rest: Omit<ToleranceReport, 'nodes' | 'unprotected' | 'unresolved' | 'histogram' | 'warnings'>
): ToleranceReport {
  const histogram: number[] = []
  for (const node of nodes) {
    while (histogram.length <= node.f) histogram.push(0)
    histogram[node.f]++
  }
  return {
    delta: rest.delta,
    samples: rest.samples,
    maxSamples: rest.maxSamples,
    confidence: rest.confidence,
    exact: rest.exact,
    source: rest.source,
    nodes,
    unprotected: nodes.filter((node) => !node.protected),
    unresolved: nodes.filter((node) => !node.resolved),
    histogram,
    byzantineCount: rest.byzantineCount,
    marginal: rest.marginal,
    symmetry: rest.symmetry,
    chain: rest.chain,
    warnings: rest.chain?.warnings.slice() ?? []
  }
}

function symmetrySummary (orbits: Orbits | undefined): ToleranceReport['symmetry'] {
  return orbits === undefined ? null : { classes: orbits.classes, orbits: orbits.orbits, complete: orbits.complete }
}

function exactReport (graph: Graph, caps: Int32Array, law: CountLaw, orbits: Orbits | undefined, common: Common): ToleranceReport {
  const { delta, confidence, conditional } = common
  const nodes: NodeTolerance[] = []
  const orbitSize = new Int32Array(graph.n)
  if (orbits !== undefined) for (let i = 0; i < graph.n; i++) orbitSize[orbits.representative[i]]++
  for (let i = 0; i < graph.n; i++) {
    const rep = orbits === undefined ? i : orbits.representative[i]
    const cap = caps[i]
    const bins = law.mass.subarray(law.base[rep], law.base[rep + 1])
    const neverHonest = conditional && law.marginal[rep] >= 1
    // tail(f) = P(X > f), summed from the top so that small tails keep their precision.
    let f = cap
    let tail = bins[cap + 1]
    const tails = new Float64Array(cap + 1)
    tails[cap] = tail
    for (let g = cap - 1; g >= 0; g--) { tail += bins[g + 1]; tails[g] = tail }
    if (neverHonest) f = 0
    else for (let g = 0; g <= cap; g++) if (tails[g] <= delta + ROUNDING) { f = g; break }
    const probability = neverHonest ? 0 : Math.min(1, tails[f])
    nodes.push({
      index: i,
      id: graph.ids[i],
      degree: graph.offsets[i + 1] - graph.offsets[i],
      cap,
      f,
      probability,
      low: probability,
      high: probability,
      protected: neverHonest || tails[f] <= delta + ROUNDING,
      draws: 0,
      exact: true,
      source: law.source,
      resolved: true,
      orbit: rep,
      pooled: orbits === undefined ? 1 : orbitSize[rep],
      effectiveDraws: 0
    })
  }
  const std = Math.sqrt(law.countVariance)
  const byzantineCount: MeanSummary = {
    count: 0, mean: law.expectedCount, std, standardError: 0, confidence, halfWidth: 0, low: law.expectedCount, high: law.expectedCount
  }
  return finish(nodes, {
    delta,
    samples: 0,
    maxSamples: 0,
    confidence,
    exact: true,
    source: law.source,
    byzantineCount,
    marginal: law.marginal.slice(),
    symmetry: symmetrySummary(orbits),
    chain: null
  })
}

interface MonteCarloSettings extends Common { maxSamples: number, conservative: boolean }

function monteCarloReport (
  graph: Graph, sampler: ByzantineSampler, caps: Int32Array, orbits: Orbits | undefined, settings: MonteCarloSettings
): ToleranceReport {
  const { delta, samples, maxSamples, confidence, conditional, conservative } = settings
  const { n, offsets, neighbors } = graph
  const alpha = 1 - confidence

  // Units: the orbits (singletons without pooling), members in index order.
  const unitOf = new Int32Array(n).fill(-1)
  const unitRep: number[] = []
  for (let i = 0; i < n; i++) {
    const rep = orbits === undefined ? i : orbits.representative[i]
    if (unitOf[rep] === -1) { unitOf[rep] = unitRep.length; unitRep.push(rep) }
    unitOf[i] = unitOf[rep]
  }
  const units = unitRep.length
  const memberStart = new Int32Array(units + 1)
  for (let i = 0; i < n; i++) memberStart[unitOf[i] + 1]++
  for (let u = 0; u < units; u++) memberStart[u + 1] += memberStart[u]
  const members = new Int32Array(n)
  const fill = memberStart.slice(0, units)
  for (let i = 0; i < n; i++) members[fill[unitOf[i]]++] = i
  const unitCap = Int32Array.from(unitRep, (rep) => caps[rep])
  const statBase = new Int32Array(units + 1)
  for (let u = 0; u < units; u++) statBase[u + 1] = statBase[u] + unitCap[u] + 1
  let maxCap = 0
  for (let u = 0; u < units; u++) maxCap = Math.max(maxCap, unitCap[u])

  // Pooled units, per f: Σ_draws k, Σ k², Σ k·h, with k the members over f and h the members
  // observed. Single nodes keep a plain histogram of their counts (bins 0 … cap + 1).
  const sumK = new Float64Array(statBase[units])
  const sumKK = new Float64Array(statBase[units])
  const sumKH = new Float64Array(statBase[units])
  const sumH = new Float64Array(units)
  const sumHH = new Float64Array(units)
  const unitDraws = new Float64Array(units)
  const single = Uint8Array.from({ length: units }, (_, u) => memberStart[u + 1] - memberStart[u] === 1 ? 1 : 0)
  const singleBase = new Int32Array(units + 1)
  for (let u = 0; u < units; u++) singleBase[u + 1] = singleBase[u] + (single[u] === 1 ? unitCap[u] + 2 : 0)
  const singleHist = new Int32Array(singleBase[units])
  const nodeDraws = new Int32Array(n)
  const hist = new Int32Array(maxCap + 2)

  const totals = new Float64Array(maxSamples)
  const hits = new Float64Array(n)
  const mask = new Uint8Array(n)
  let active = Int32Array.from({ length: units }, (_, u) => u)
  let drawn = 0
  // Markov-chain draws are dependent: they are kept to measure what they are worth.
  const chains = sampler.chains
  const record = chains === undefined ? undefined : new DrawRecord(n, chains.count, maxSamples)
  const counted = new Int32Array(units) // the draws each unit counted: it stops once settled

  const countAt = (i: number, cap: number): number => {
    let c = 0
    for (let k = offsets[i]; k < offsets[i + 1]; k++) {
      c += mask[neighbors[k]]
      if (c > cap) break
    }
    return c
  }
  const draw = (): void => {
    sampler.sample(mask)
    record?.add(mask, chains?.last() ?? 0)
    let total = 0
    for (let i = 0; i < n; i++) { total += mask[i]; hits[i] += mask[i] }
    totals[drawn++] = total
    for (let a = 0; a < active.length; a++) {
      const u = active[a]
      const cap = unitCap[u]
      if (single[u] === 1) {
        const i = members[memberStart[u]]
        if (conditional && mask[i] !== 0) continue
        singleHist[singleBase[u] + countAt(i, cap)]++
        nodeDraws[i]++
        continue
      }
      let h = 0
      for (let m = memberStart[u]; m < memberStart[u + 1]; m++) {
        const i = members[m]
        if (conditional && mask[i] !== 0) continue
        hist[countAt(i, cap)]++
        h++
        nodeDraws[i]++
      }
      const b = statBase[u]
      let k = 0
      for (let f = cap; f >= 0; f--) {
        k += hist[f + 1]
        sumK[b + f] += k; sumKK[b + f] += k * k; sumKH[b + f] += k * h
      }
      for (let c = 0; c <= cap + 1; c++) hist[c] = 0
      sumH[u] += h; sumHH[u] += h * h; unitDraws[u]++
    }
  }

  // Effective sizes of the dependent draws' estimates, for the draws made so far.
  const sizeCache = new Map<number, number>()
  let efficiency = NaN
  /** ESS(|B|) / draws: what one draw is worth when a tail gives nothing to measure (p̂ = 0 or 1). */
  const drawEfficiency = (): number => {
    if (Number.isNaN(efficiency) && record !== undefined) {
      const ess = effectiveSampleSize(record.byChain(totals, drawn)).ess
      efficiency = Number.isFinite(ess) ? Math.min(1, ess / drawn) : 1
    }
    return efficiency
  }
  const dependentSize = (u: number, f: number, p: number, observed: number): number => {
    const key = u * (maxCap + 1) + f
    let size = sizeCache.get(key)
    if (size === undefined && record !== undefined) {
      const m = memberStart[u + 1] - memberStart[u]
      const unitMembers = members.subarray(memberStart[u], memberStart[u + 1])
      const measured = p > 0 && p < 1 ? tailEffectiveSize(record, graph, unitMembers, f, p, conditional, counted[u]) : NaN
      size = Number.isFinite(measured) ? Math.min(observed, Math.max(Math.min(1, observed), measured)) : observed / m * drawEfficiency()
      sizeCache.set(key, size)
    }
    return size ?? observed
  }

  const observedOf = (u: number): number => single[u] === 1 ? nodeDraws[members[memberStart[u]]] : sumH[u]
  /** Point estimate and effective sample size of unit u's tail at f. */
  const estimate = (u: number, f: number): { p: number, size: number } => {
    const observed = observedOf(u)
    if (observed === 0) return { p: 0, size: 0 }
    if (single[u] === 1) {
      let over = 0
      for (let c = singleBase[u] + f + 1; c < singleBase[u + 1]; c++) over += singleHist[c]
      const p = over / observed
      return { p, size: record === undefined ? observed : dependentSize(u, f, p, observed) }
    }
    const m = memberStart[u + 1] - memberStart[u]
    const b = statBase[u] + f
    const p = sumK[b] / observed
    if (record !== undefined) return { p, size: dependentSize(u, f, p, observed) }
    const draws = unitDraws[u]
    if (p <= 0 || p >= 1 || draws < 2) return { p, size: observed / m }
    // Ratio estimator Σk / Σh over draws; its variance by the delta method.
    const meanH = observed / draws
    const spread = (sumKK[b] - 2 * p * sumKH[b] + p * p * sumHH[u]) / (draws - 1)
    const variance = spread / (draws * meanH * meanH)
    const size = variance > 0 ? p * (1 - p) / variance : observed
    return { p, size: Math.min(observed, Math.max(observed / m, size)) }
  }
  // Clopper–Pearson decisions without the bisection: high ≤ δ ⇔ I_δ(x + 1, s − x) ≥ 1 − α/2, low > δ ⇔ I_δ(x, s − x + 1) < α/2.
  // Single nodes share few (x, size) pairs: cache the beta evaluations and intervals.
  const betaCache = new Map<string, number>()
  const beta = (a: number, b: number): number => {
    const key = `${a}/${b}`
    let value = betaCache.get(key)
    if (value === undefined) { value = incompleteBeta(delta, a, b); betaCache.set(key, value) }
    return value
  }
  const below = (e: { p: number, size: number }): boolean => {
    const x = e.p * e.size
    if (e.size === 0 || x >= e.size) return false
    return beta(x + 1, e.size - x) >= 1 - alpha / 2
  }
  const above = (e: { p: number, size: number }): boolean => {
    const x = e.p * e.size
    if (e.size === 0 || x <= 0) return false
    return beta(x, e.size - x + 1) < alpha / 2
  }
  const intervalCache = new Map<string, { low: number, high: number }>()
  const interval = (x: number, size: number): { low: number, high: number } => {
    const key = `${x}/${size}`
    let ci = intervalCache.get(key)
    if (ci === undefined) { ci = clopperPearsonInterval(x, size, confidence); intervalCache.set(key, ci) }
    return ci
  }
  interface Decision { f: number, resolved: boolean, protected: boolean }
  const decide = (u: number): Decision => {
    const cap = unitCap[u]
    if (observedOf(u) === 0) return { f: 0, resolved: true, protected: true } // never observed honest
    let upper = cap; let liberal = -1; let point = -1
    let confirmed = false
    for (let f = 0; f <= cap; f++) {
      const e = estimate(u, f)
      if (point === -1 && e.p <= delta) point = f
      if (liberal === -1 && !above(e)) liberal = f
      if (below(e)) { upper = f; confirmed = true; break }
    }
    if (liberal === -1) liberal = cap
    if (point === -1) point = cap
    const settled = liberal === upper && (confirmed || above(estimate(u, cap)))
    if (settled || conservative) return { f: upper, resolved: settled, protected: confirmed }
    return { f: point, resolved: false, protected: estimate(u, point).p <= delta }
  }

  let target = samples
  for (;;) {
    // eslint-disable-next-line no-unmodified-loop-condition -- draw() advances drawn
    while (drawn < target) draw()
    for (const u of active) counted[u] = drawn
    sizeCache.clear()
    efficiency = NaN
    active = active.filter((u) => !decide(u).resolved)
    if (active.length === 0 || target >= maxSamples) break
    target = Math.min(maxSamples, 2 * target)
  }

  const nodes = new Array<NodeTolerance>(n)
  for (let u = 0; u < units; u++) {
    const d = decide(u)
    const e = estimate(u, d.f)
    const ci = interval(e.p * e.size, e.size)
    const size = memberStart[u + 1] - memberStart[u]
    for (let m = memberStart[u]; m < memberStart[u + 1]; m++) {
      const i = members[m]
      nodes[i] = {
        index: i,
        id: graph.ids[i],
        degree: offsets[i + 1] - offsets[i],
        cap: caps[i],
        f: d.f,
        probability: e.p,
        low: ci.low,
        high: ci.high,
        protected: d.protected,
        draws: nodeDraws[i],
        exact: false,
        source: 'monte-carlo',
        resolved: d.resolved,
        orbit: unitRep[u],
        pooled: size,
        effectiveDraws: e.size
      }
    }
  }
  const chain = record === undefined ? null : diagnoseDraws(record, graph.ids, totals.subarray(0, drawn))
  // |B| lies in [0, n]: a t-interval from few effective draws can reach past either end.
  const byzantineCount = summarizeMean(totals.subarray(0, drawn), confidence, chain?.countEss)
  byzantineCount.low = Math.max(0, byzantineCount.low)
  byzantineCount.high = Math.min(n, byzantineCount.high)
  return finish(nodes, {
    delta,
    samples: drawn,
    maxSamples,
    confidence,
    exact: false,
    source: 'monte-carlo',
    byzantineCount,
    marginal: Float64Array.from(hits, (h) => h / drawn),
    symmetry: symmetrySummary(orbits),
    chain
  })
}

/**
 * Effective sample size of a unit's tail estimate p̂ = Σ_t k_t / Σ_t h_t over the first `length`
 * dependent draws (k_t: members with more than f Byzantine neighbours, h_t: members observed, i.e.
 * honest when conditioning). By the delta method Var(p̂) ≈ var⁺(z) / (ESS(z) · h̄²) with
 * z_t = k_t − p̂ h_t, ESS from the chains' autocorrelation; returned as the binomial sample size
 * with that variance, p̂(1 − p̂)/Var(p̂). NaN when z does not vary.
 */
function tailEffectiveSize (
  record: DrawRecord, graph: Graph, members: Int32Array, f: number, p: number, conditional: boolean, length: number
): number {
  const z = new Float64Array(length)
  let observed = 0
  for (let t = 0; t < length; t++) {
    let k = 0; let h = 0
    for (let a = 0; a < members.length; a++) {
      const i = members[a]
      if (conditional && record.byzantine(t, i) === 1) continue
      h++
      if (record.neighbourCount(graph, t, i, f) > f) k++
    }
    z[t] = k - p * h
    observed += h
  }
  const { variance, ess } = effectiveSampleSize(record.byChain(z, length))
  if (!(variance > 0) || !Number.isFinite(ess)) return NaN
  const meanH = observed / length
  return p * (1 - p) * ess * meanH * meanH / variance
}
