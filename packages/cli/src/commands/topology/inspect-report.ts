import {
  algebraicConnectivity, connectedComponents, degreeStats, diagnoseSampler, diameter, mixingMatrix, mixingSpectrum,
  nodeTolerances, RHAT_LIMIT, topologyGraph, topologySampler, type ChainDiagnostics, type DegreeStats, type MixingRule, type Topology
} from '@murmur/topology'

export interface InspectOptions {
  delta: number
  samples: number
  seed: number
  mixing: MixingRule
  confidence: number
  conditionOnHonest: boolean
}

/** Tolerance of one node as reported (ids instead of indices). */
export interface NodeRow {
  id: string
  degree: number
  cap: number
  f: number
  probability: number
  low: number
  high: number
  /** P(> f) from μ_H's law (low = high) rather than from draws. */
  exact: boolean
  /** False for an estimate whose interval still straddles δ after the draw budget. */
  resolved: boolean
  /** Nodes sharing this node's pooled estimate (automorphic under the graph and μ_H). */
  pooled: number
}

/** What `murmur topology inspect --json` prints. */
export interface InspectReport {
  name: string
  nodes: number
  edges: number
  connected: boolean
  components: number
  degree: DegreeStats
  mixing: {
    rule: MixingRule
    rho: number
    spectralGap: number
    lambda2: number | null
    lambdaMin: number | null
    errorBound: number
    iterations: number
    converged: boolean
  }
  algebraicConnectivity: { value: number, errorBound: number, iterations: number, converged: boolean }
  /** null when the graph is disconnected (infinite diameter). */
  diameter: { value: number | null, exact: boolean, lowerBound: number | null, upperBound: number | null }
  /** null when the file has no `byzantine` section. */
  byzantine: null | {
    model: string
    parameters: Record<string, unknown>
    correlationGraph: 'communication' | 'separate'
    /** The --samples setting: Monte Carlo draws in the first round. */
    samples: number
    /** Draws made (0 when μ_H's law gave everything exactly). */
    draws: number
    /** True when the count and the tolerances come from μ_H's law, not from draws. */
    exact: boolean
    seed: number
    expectedCount: { mean: number, low: number, high: number, confidence: number }
    expectedFraction: number
    /** Worst-case models: the placement, how it was found (exact or greedy), the honest nodes it overruns. */
    worstCase: null | { method: string, nodes: string[], overrun: number, searched: number, budget: number }
    /**
     * Markov-chain models (Ising): effective sample size and split-R̂ of the chains, from the
     * tolerance draws or, when the tolerances are exact, from `samples` draws of their own (a
     * launch draws its Byzantine set from one such chain).
     */
    chain: null | (Omit<ChainDiagnostics, 'warnings'> & {
      /** What the chains drew for: the tolerance estimates, or only a check of the draws. */
      use: 'tolerance' | 'draws'
    })
  }
  tolerance: null | {
    delta: number
    samples: number
    confidence: number
    conditionOnHonest: boolean
    /** How the tails were obtained: poisson-binomial, constant, enumeration (all exact) or monte-carlo. */
    source: string
    exact: boolean
    /** Draws made and the draw budget (0 when exact). */
    draws: number
    maxSamples: number
    /** Proven orbits pooled by the estimates (null when no symmetry was computed). */
    symmetry: { classes: number, orbits: number, complete: boolean } | null
    /** histogram[f] = number of nodes with f_i = f. */
    histogram: number[]
    unprotected: NodeRow[]
    /** Estimates the draw budget left unsettled (f chosen conservatively). */
    unresolved: NodeRow[]
    nodes: NodeRow[]
  }
  /** What the numbers above cannot be trusted for (chains that have not mixed, ...). */
  warnings: string[]
}

const finite = (x: number): number | null => Number.isFinite(x) ? x : null

/** Computes everything `inspect` reports. */
export function inspectTopology (topology: Topology, options: InspectOptions): InspectReport {
  const graph = topologyGraph(topology)
  const components = connectedComponents(graph).count
  const spectrum = mixingSpectrum(mixingMatrix(graph, options.mixing))
  const connectivity = algebraicConnectivity(graph)
  const diam = diameter(graph)
  const report: InspectReport = {
    name: topology.name,
    nodes: graph.n,
    edges: graph.m,
    connected: components <= 1,
    components,
    degree: degreeStats(graph),
    mixing: {
      rule: options.mixing,
      rho: spectrum.rho,
      spectralGap: spectrum.spectralGap,
      lambda2: finite(spectrum.lambda2),
      lambdaMin: finite(spectrum.lambdaMin),
      errorBound: spectrum.errorBound,
      iterations: spectrum.iterations,
      converged: spectrum.converged
    },
    algebraicConnectivity: connectivity,
    diameter: { value: finite(diam.diameter), exact: diam.exact, lowerBound: finite(diam.lowerBound), upperBound: finite(diam.upperBound) },
    byzantine: null,
    tolerance: null,
    warnings: []
  }
  const sampler = topologySampler(topology, { seed: options.seed })
  if (sampler === undefined || topology.byzantine === undefined) return report
  const tolerance = nodeTolerances(graph, sampler, {
    delta: options.delta,
    samples: options.samples,
    confidence: options.confidence,
    conditionOnHonest: options.conditionOnHonest
  })
  const { graph: separate, model, ...parameters } = topology.byzantine
  const count = tolerance.byzantineCount
  // Exact tolerances need no draws, but a launch draws its Byzantine set from one such chain.
  const chain = tolerance.chain ?? (sampler.chains === undefined ? null : diagnoseSampler(sampler, graph.ids, options.samples))
  const placement = sampler.worstCase
  report.byzantine = {
    model,
    parameters,
    correlationGraph: separate === undefined ? 'communication' : 'separate',
    samples: options.samples,
    draws: tolerance.samples,
    exact: tolerance.exact,
    seed: options.seed,
    expectedCount: { mean: count.mean, low: count.low, high: count.high, confidence: count.confidence },
    expectedFraction: count.mean / graph.n,
    worstCase: placement === undefined
      ? null
      : {
          method: placement.method,
          nodes: Array.from(placement.nodes, (i) => graph.ids[i]),
          overrun: placement.overrun,
          searched: placement.searched,
          budget: placement.budget
        },
    chain: chain === null
      ? null
      : {
          use: tolerance.chain === null ? 'draws' : 'tolerance',
          chains: chain.chains,
          draws: chain.draws,
          countEss: chain.countEss,
          countRhat: chain.countRhat,
          marginalRhat: chain.marginalRhat,
          marginalRhatNode: chain.marginalRhatNode,
          mixed: chain.mixed
        }
  }
  report.warnings = chain?.warnings.slice() ?? []
  const row = (t: typeof tolerance.nodes[number]): NodeRow => ({
    id: t.id,
    degree: t.degree,
    cap: t.cap,
    f: t.f,
    probability: t.probability,
    low: t.low,
    high: t.high,
    exact: t.exact,
    resolved: t.resolved,
    pooled: t.pooled
  })
  report.tolerance = {
    delta: tolerance.delta,
    samples: tolerance.samples,
    confidence: tolerance.confidence,
    conditionOnHonest: options.conditionOnHonest,
    source: tolerance.source,
    exact: tolerance.exact,
    draws: tolerance.samples,
    maxSamples: tolerance.maxSamples,
    symmetry: tolerance.symmetry,
    histogram: tolerance.histogram,
    unprotected: tolerance.unprotected.map(row),
    unresolved: tolerance.unresolved.map(row),
    nodes: tolerance.nodes.map(row)
  }
  return report
}

const fixed = (x: number, digits: number): string => x.toFixed(digits)
const num = (x: number): string => Number.isInteger(x) ? String(x) : x.toPrecision(6).replace(/\.?0+$/, '')

/** The human-readable report; per-node rows when `allNodes` or the graph is small, a histogram otherwise. */
export function formatInspectReport (report: InspectReport, allNodes = false): string {
  const out: string[] = []
  const line = (label: string, text: string): void => { out.push(`${label.padEnd(14)}${text}`) }
  const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? '' : 's'}`
  const connectivity = report.connected ? 'connected' : `disconnected (${report.components} components)`
  out.push(`${report.name}: ${plural(report.nodes, 'node')}, ${plural(report.edges, 'edge')}, ${connectivity}`)
  const d = report.degree
  line('degree', `min ${d.min}, max ${d.max}, mean ${fixed(d.mean, 2)}, median ${num(d.median)}, std ${fixed(d.std, 2)}`)
  const m = report.mixing
  const accuracy = m.errorBound === 0
    ? 'exact'
    : m.converged
      ? `Lanczos, ${m.iterations} iterations, residual ≤ ${m.errorBound.toExponential(1)}`
      : `NOT converged after ${m.iterations} iterations: ρ ≥ ${fixed(m.rho, 6)}, residual ≤ ${m.errorBound.toExponential(1)}`
  line('mixing', `${m.rule}: ρ = ${fixed(m.rho, 6)}, spectral gap ${fixed(m.spectralGap, 6)} (${accuracy})`)
  if (m.lambda2 !== null && m.lambdaMin !== null) line('', `λ₂ = ${fixed(m.lambda2, 6)}, λ_n = ${fixed(m.lambdaMin, 6)}`)
  const a = report.algebraicConnectivity
  line('laplacian', `algebraic connectivity λ₂(L) = ${fixed(a.value, 6)}${a.converged ? '' : ' (not converged)'}`)
  const diam = report.diameter
  const diameter = diam.value === null
    ? '∞ (disconnected)'
    : diam.exact ? String(diam.value) : `≥ ${diam.lowerBound}, ≤ ${diam.upperBound} (search budget exhausted)`
  line('diameter', diameter)
  const b = report.byzantine
  const t = report.tolerance
  if (b === null || t === null) {
    line('μ_H', 'none (the file has no "byzantine" section)')
    return out.join('\n') + '\n'
  }
  line('μ_H', `${b.model} ${JSON.stringify(b.parameters)}${b.correlationGraph === 'separate' ? ' on a separate correlation graph' : ''}`)
  const c = b.expectedCount
  const interval = c.low === c.high ? '' : ` (${Math.round(c.confidence * 100)}% CI ${fixed(c.low, 2)}–${fixed(c.high, 2)})`
  const basis = b.exact ? 'exact (from μ_H\'s law)' : `over ${b.draws} draw${b.draws === 1 ? '' : 's'}, seed ${b.seed}`
  line('Byzantine', `expected ${fixed(c.mean, 2)} of ${report.nodes} (${fixed(100 * b.expectedFraction, 1)}%)${interval} ${basis}`)
  if (b.worstCase !== null) line('placement', placementText(b.worstCase))
  if (b.chain !== null) for (const [k, text] of chainText(b.chain).entries()) line(k === 0 ? 'chains' : '', text)
  const level = `${Math.round(t.confidence * 100)}%`
  line('tolerance', `f_i(δ = ${t.delta}) = min f with P(|N(i) ∩ B| > f) ≤ δ${t.conditionOnHonest ? ' given i honest' : ''}, capped at ⌊deg/2⌋`)
  if (t.exact) {
    const source = t.source === 'enumeration'
      ? 'enumeration of all Byzantine sets'
      : t.source === 'poisson-binomial' ? 'Poisson-binomial law of the neighbour counts' : 'fixed Byzantine set'
    line('', `exact: ${source}`)
  } else {
    const s = t.symmetry
    const sym = s === null
      ? ''
      : s.orbits < report.nodes
        ? `; automorphic nodes pooled: ${s.orbits} orbit${s.orbits === 1 ? '' : 's'}` +
          (s.complete ? '' : ' (search budget reached: some automorphic nodes may be estimated apart)')
        : s.complete ? '; no two nodes automorphic' : '; no automorphic nodes found (search budget reached)'

    const size = b.chain?.use === 'tolerance' ? ' on effective sample sizes (dependent draws)' : ''
    line('', `Monte Carlo: ${t.draws} draws (budget ${t.maxSamples}), ${level} Clopper–Pearson CI${size}${sym}`)
  }
  const pct = (x: number): string => x.toFixed(4)
  const table = allNodes || report.nodes <= 40
  if (table) {
    const unprotected = new Set(t.unprotected.map((r) => r.id))
    out.push('  node        deg  cap  f_i  P(>f_i)  CI')
    for (const r of t.nodes) {
      const ci = r.exact ? 'exact' : `[${pct(r.low)}, ${pct(r.high)}]`
      const marks = `${unprotected.has(r.id) ? '  unprotected' : ''}${r.resolved ? '' : '  unsettled'}`
      out.push(`  ${r.id.padEnd(10)} ${String(r.degree).padStart(4)} ${String(r.cap).padStart(4)} ${String(r.f).padStart(4)}  ` +
        `${pct(r.probability)}   ${ci}${marks}`)
    }
  } else {
    out.push('  f_i   nodes')
    t.histogram.forEach((count, f) => { if (count > 0) out.push(`  ${String(f).padEnd(5)} ${count}`) })
  }
  if (t.unprotected.length === 0) {
    line('unprotected', `none: every node meets δ = ${t.delta} within its cap`)
  } else if (table) {
    line('unprotected', `${t.unprotected.length} node${t.unprotected.length === 1 ? '' : 's'} (marked above) ` +
      `still exceed${t.unprotected.length === 1 ? 's' : ''} the cap with probability > δ`)
  } else {
    line('unprotected', `${t.unprotected.length} node${t.unprotected.length === 1 ? '' : 's'} ` +
      `exceed${t.unprotected.length === 1 ? 's' : ''} the cap with probability > δ = ${t.delta}:`)
    out.push('  node        deg  cap  P(>cap)  CI')
    const shown = t.unprotected.slice(0, 20)
    for (const r of shown) {
      const ci = r.exact ? 'exact' : `[${pct(r.low)}, ${pct(r.high)}]`
      out.push(`  ${r.id.padEnd(10)} ${String(r.degree).padStart(4)} ${String(r.cap).padStart(4)}  ${pct(r.probability)}   ${ci}`)
    }
    if (t.unprotected.length > shown.length) out.push(`  … and ${t.unprotected.length - shown.length} more (--json lists all)`)
  }
  if (t.unresolved.length > 0) {
    const count = t.unresolved.length
    line('unsettled', `${count} estimate${count === 1 ? '' : 's'}${table ? ' (marked above)' : ''} ` +
      `still straddle${count === 1 ? 's' : ''} δ after ${t.draws} draws: f_i from the upper confidence bound`)
  }
  for (const warning of report.warnings) out.push(`warning: ${warning}`)
  return out.join('\n') + '\n'
}

type Byzantine = NonNullable<InspectReport['byzantine']>

function placementText (w: NonNullable<Byzantine['worstCase']>): string {
  const overrun = `overruns ${w.overrun} honest node${w.overrun === 1 ? '' : 's'}`
  switch (w.method) {
    case 'exact':
      return `exact worst case (${overrun}; no placement of ${w.nodes.length} overruns more, ${w.searched} partial placements searched): ` +
        w.nodes.join(', ')
    case 'greedy': {
      const budget = w.budget > 0 ? `; the exhaustive search passed its work budget of ${w.budget} after ${w.searched} partial placements` : ''
      return `greedy, not proven worst (${overrun}${budget}): ${w.nodes.join(', ')}`
    }
    default: return `${w.method} (${overrun}): ${w.nodes.join(', ')}`
  }
}

function chainText (c: NonNullable<Byzantine['chain']>): string[] {
  const r = (x: number): string => Number.isFinite(x) ? x.toFixed(3) : String(x)
  const use = c.use === 'tolerance' ? 'the tolerance draws' : 'a check: the tolerances are exact; a launch draws its Byzantine set from one such chain'
  const marginal = c.marginalRhatNode === null ? '' : `, up to ${r(c.marginalRhat)} on the marginals (${c.marginalRhatNode})`
  return [
    `${c.chains} Gibbs chains, ${c.draws} draws (${use})`,
    `ESS of |B| ${Math.round(c.countEss)}, split-R̂ ${r(c.countRhat)} on |B|${marginal}: ${c.mixed ? `mixed (≤ ${RHAT_LIMIT})` : `NOT mixed (> ${RHAT_LIMIT})`}`
  ]
}
