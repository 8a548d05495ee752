// Gossip convergence against the spectral theory of the mixing matrix.
//
// One cell per (topology, n), on one seeded graph:
//  (a) plain gossip averaging x(t+1) = W x(t) of random vectors with W the Metropolis–Hastings
//      matrix. The squared consensus distance ‖x(t) − x̄1‖² falls by ρ² per round
//      asymptotically (ρ = max(|λ₂|, |λ_n|) of W), so the least-squares slope of
//      ln(distance²) against t, fitted between a 10⁻¹⁰ drop (the faster modes have died out) and a
//      10⁻²² drop (still far above float64 rounding), is compared with 2 ln ρ.
//  (b) decentralised SGD on the synthetic mean-estimation task (a convex quadratic) through the
//      real round engine and in-memory transport, mixing rule `mean` with Metropolis weights:
//      the consensus distance and the optimality gap of the average model per round.

import { initBackend } from '@murmur/learn'
import { consensusDistance, createLearner, createMemoryHub, loadNodeData, RoundEngine, type Learner, type TaskConfig } from '@murmur/peer'
import { createRng, seedFromText } from '@murmur/robust'
import {
  complete, denseMixingMatrix, denseSymmetricEigenvalues, erdosRenyi, metropolisHastings, mixingSpectrum, randomRegular, ring, torus, wattsStrogatz,
  type Graph, type MixingMatrix
} from '@murmur/topology'
import { listOption } from '../../options.ts'
import { allFinite, decades, leastSquares, round, spearman, thin } from '../../stats.ts'
import type { Cell, CellResult, Check, Plot, Profile, SuiteContext, SuiteSummary, Table } from '../../suite.ts'
import { defineSuite } from '../../suite.ts'
import { loadTemplate } from '../../template.ts'

/** The report's paragraphs (report.md beside this file). */
const prose = loadTemplate(new URL('report.md', import.meta.url))

export const TOPOLOGIES = ['ring', 'torus', 'erdos-renyi', 'regular', 'small-world', 'complete'] as const
export type TopologyKind = typeof TOPOLOGIES[number]

/** How each family is drawn at size n (the random ones from the cell's seed). */
const FAMILY: Record<TopologyKind, string> = {
  ring: 'ring',
  torus: 'r × c torus, r the largest divisor of n ≤ √n',
  'erdos-renyi': 'G(n, p), p = 6/(n − 1) (mean degree 6), components bridged',
  regular: 'random 4-regular',
  'small-world': 'Watts–Strogatz, k = 4, β = 0.2',
  complete: 'complete graph'
}

function buildGraph (kind: TopologyKind, n: number, seed: number): Graph {
  switch (kind) {
    case 'ring': return ring(n)
    case 'torus': {
      let rows = Math.floor(Math.sqrt(n))
      while (n % rows !== 0) rows--
      if (rows < 3 || n / rows < 3) throw new Error(`torus: n = ${n} has no factorisation r × c with r, c ≥ 3`)
      return torus(rows, n / rows)
    }
    case 'erdos-renyi': return erdosRenyi(n, Math.min(1, 6 / (n - 1)), seed)
    case 'regular': return randomRegular(n, 4, seed)
    case 'small-world': return wattsStrogatz(n, 4, 0.2, seed)
    case 'complete': return complete(n)
  }
}

/** Fit window of part (a), as drops of distance² below its start (see the header). */
const FIT_FROM = 1e-10
const FIT_TO = 1e-22
/** Graphs up to this size also get their full spectrum (dense), for the next eigenvalue after ρ. */
const DENSE_UP_TO = 400
/** Gossip stops here: float64 rounding of the mean sits near 1e-30 of the start. */
const STOP_AT = 1e-26
/** ρ below this: W averages exactly in one round (the complete graph's W = 11ᵀ/n). */
const EXACT_RHO = 1e-6
/** Relative tolerance of the measured slope; why this much is in the notes. */
export const SLOPE_TOLERANCE = 0.05

interface Params {
  topology: TopologyKind
  n: number
  gossip: { dim: number, maxRounds: number }
  /** null: no training in this cell. */
  train: null | { rounds: number, lr: number, batchSize: number, localSteps: number, initSpread: number, task: TaskConfig }
}

export interface GossipResult {
  rho: number
  lambda2: number
  lambdaMin: number
  /** The largest eigenvalue magnitude of W on 1⊥ below ρ (null when n > DENSE_UP_TO). */
  nextLambda: number | null
  /** Rounds simulated, and the last distance² relative to the start. */
  rounds: number
  finalRelative: number
  /** ln(distance²) per round, fitted over the window; null when the window is too short (exact averaging). */
  slope: number | null
  fitFrom: number | null
  fitTo: number | null
  /** log10 of distance² relative to the start at round fitFrom: where the plotted theory line starts. */
  fitStartLog10: number | null
  /** First round whose distance² fell below 1e-6 of the start. */
  roundsTo1e6: number | null
  /** (round, log10 of distance² relative to the start), thinned for plots. */
  series: Array<[number, number]>
}

export interface TrainResult {
  /** Per round (thinned): [round, consensus distance, ‖θ̄ − θ*‖², mean train loss]. */
  series: Array<[number, number, number, number]>
  initialConsensus: number
  /** Median consensus distance over the last fifth of the rounds: the plateau that heterogeneity sustains. */
  plateauConsensus: number
  finalGap: number
  finalLoss: number
  /** Test loss of the nodes after the last round (mean over nodes). */
  testLoss: number
  roundMs: number
}

export interface ConvergenceResult {
  topology: TopologyKind
  n: number
  edges: number
  degree: { min: number, max: number }
  gossip: GossipResult
  train: TrainResult | null
}

/** out ← W x for x with `dim` columns, node-major (row i is node i's vector). */
function mixColumns (w: MixingMatrix, x: Float64Array, out: Float64Array, dim: number): void {
  const { n, offsets, columns, values, diagonal } = w
  for (let i = 0; i < n; i++) {
    const base = i * dim
    const wii = diagonal[i]
    for (let c = 0; c < dim; c++) out[base + c] = wii * x[base + c]
    for (let k = offsets[i]; k < offsets[i + 1]; k++) {
      const wij = values[k]
      const other = columns[k] * dim
      for (let c = 0; c < dim; c++) out[base + c] += wij * x[other + c]
    }
  }
}

/** The largest |λ| of W below ρ, skipping the trivial eigenvalue 1 and ρ's own multiplicity. */
function nextEigenvalue (w: MixingMatrix, rho: number): number | null {
  if (w.n > DENSE_UP_TO) return null
  const magnitudes = Array.from(denseSymmetricEigenvalues(denseMixingMatrix(w), w.n), Math.abs).sort((a, b) => b - a)
  // magnitudes[0] is the eigenvalue 1 of the all-ones vector; degenerate copies of ρ decay alike.
  const next = magnitudes.slice(1).find((m) => m < rho - 1e-9)
  return next ?? null
}

/** ‖x − x̄1‖² over all columns. */
function distanceSquared (x: Float64Array, n: number, dim: number, mean: Float64Array): number {
  mean.fill(0)
  for (let i = 0; i < n; i++) for (let c = 0; c < dim; c++) mean[c] += x[i * dim + c]
  for (let c = 0; c < dim; c++) mean[c] /= n
  let s = 0
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < dim; c++) { const diff = x[i * dim + c] - mean[c]; s += diff * diff }
  }
  return s
}

function runGossip (w: MixingMatrix, dim: number, maxRounds: number, seed: number, rho: number): Omit<GossipResult, 'rho' | 'lambda2' | 'lambdaMin' | 'nextLambda'> {
  const n = w.n
  const rng = createRng(seed)
  let x = new Float64Array(n * dim)
  for (let k = 0; k < x.length; k++) x[k] = rng.normal()
  let y = new Float64Array(n * dim)
  const mean = new Float64Array(dim)
  const d0 = distanceSquared(x, n, dim, mean)
  const logRel: number[] = [0] // ln(distance²/d0) per round
  let roundsTo1e6: number | null = null
  for (let t = 1; t <= maxRounds; t++) {
    mixColumns(w, x, y, dim)
    const swap = x; x = y; y = swap
    const rel = distanceSquared(x, n, dim, mean) / d0
    logRel.push(rel > 0 ? Math.log(rel) : -Infinity)
    if (roundsTo1e6 === null && rel <= 1e-6) roundsTo1e6 = t
    if (!(rel > STOP_AT)) break
  }
  // The window: from the first round at or below FIT_FROM to the last at or above FIT_TO.
  const lnFrom = Math.log(FIT_FROM); const lnTo = Math.log(FIT_TO)
  let from = logRel.findIndex((v) => v <= lnFrom)
  let to = -1
  for (let t = logRel.length - 1; t >= 0; t--) if (logRel[t] >= lnTo) { to = t; break }
  let slope: number | null = null
  if (from >= 0 && to - from + 1 >= 5 && rho > EXACT_RHO) {
    const rounds = Float64Array.from({ length: logRel.length }, (_, t) => t)
    slope = leastSquares(rounds, logRel, from, to + 1).slope
  } else {
    from = -1; to = -1
  }
  const finite = logRel.map((v, t) => [t, v] as const).filter(([, v]) => Number.isFinite(v))
  const series = thin(finite, 40).map(([t, v]) => [t, round(v / Math.LN10, 5)] as [number, number])
  const last = logRel[logRel.length - 1]
  return {
    rounds: logRel.length - 1,
    finalRelative: Number.isFinite(last) ? Math.exp(last) : 0,
    slope,
    fitFrom: from >= 0 ? from : null,
    fitTo: to >= 0 ? to : null,
    fitStartLog10: from >= 0 ? round(logRel[from] / Math.LN10, 6) : null,
    roundsTo1e6,
    series
  }
}

async function runTraining (g: Graph, train: NonNullable<Params['train']>, seed: number, context: SuiteContext): Promise<TrainResult> {
  await initBackend()
  const { n } = g
  const task: TaskConfig = { ...train.task, seed }
  const learners: Learner[] = []
  const rng = createRng(seed ^ 0x5eed)
  let optimum: Float32Array | undefined
  try {
    for (let i = 0; i < n; i++) {
      const data = await loadNodeData(task, i, n)
      optimum ??= data.optimum
      const learner = createLearner({ data, trainer: { lr: train.lr, batchSize: train.batchSize, seed: seed + i } })
      learners.push(learner)
      // Nodes start apart, so the first rounds show the spectral decay before heterogeneity takes over.
      const start = new Float32Array(learner.dimension)
      for (let k = 0; k < start.length; k++) start[k] = train.initSpread * rng.normal()
      learner.setParams(start)
    }
    if (optimum === undefined) throw new Error('synthetic-mean task without an optimum')
    const target = optimum
    const dim = learners[0].dimension
    const hub = createMemoryHub({ dimension: dim })
    const R = train.rounds
    const params: Float32Array[][] = Array.from({ length: R }, () => new Array<Float32Array>(n))
    const losses = new Float64Array(R)
    const initial = learners.map((l) => l.getParams())
    let testLoss = 0
    const started = performance.now()
    const engines = g.ids.map((id, i) => {
      const neighbours: string[] = []
      const degrees: number[] = []
      for (let k = g.offsets[i]; k < g.offsets[i + 1]; k++) {
        const j = g.neighbors[k]
        neighbours.push(g.ids[j])
        degrees.push(g.offsets[j + 1] - g.offsets[j])
      }
      return new RoundEngine({
        self: id,
        neighbours,
        neighbourDegrees: degrees,
        transport: hub.transport(id),
        learner: learners[i],
        rule: 'mean',
        tolerance: { kind: 'global', f: 0 },
        localSteps: train.localSteps,
        // In memory every model arrives within a tick; the deadline only guards against a stall.
        roundTimeoutMs: 60_000,
        rounds: R,
        evalEvery: R,
        swarm: hub.swarm,
        seed,
        signal: context.signal,
        onRound: (m, p) => {
          params[m.round][i] = p
          losses[m.round] += m.trainLoss / n
          if (m.testLoss !== undefined) testLoss += m.testLoss / n
          if (i === 0) context.progress((m.round + 1) / R)
        }
      })
    })
    await Promise.all(engines.map(async (e) => await e.run()))
    const roundMs = (performance.now() - started) / R
    const gap = (models: Float32Array[]): number => {
      let s = 0
      for (let k = 0; k < dim; k++) {
        let m = 0
        for (const v of models) m += v[k]
        const diff = m / models.length - target[k]
        s += diff * diff
      }
      return s
    }
    const rows: Array<[number, number, number, number]> = [[0, consensusDistance(initial), gap(initial), Number.NaN]]
    for (let t = 0; t < R; t++) {
      if (params[t].some((p) => p === undefined)) break // interrupted
      rows.push([t + 1, consensusDistance(params[t]), gap(params[t]), losses[t]])
    }
    const tail = rows.slice(1 + Math.floor(0.8 * R)).map((r) => r[1]).sort((a, b) => a - b)
    const last = rows[rows.length - 1]
    return {
      series: thin(rows, 40).map(([t, c, gp, l]) => [t, round(c, 5), round(gp, 5), Number.isNaN(l) ? 0 : round(l, 5)]),
      initialConsensus: rows[0][1],
      plateauConsensus: tail.length === 0 ? Number.NaN : tail[tail.length >> 1],
      finalGap: last[2],
      finalLoss: last[3],
      testLoss,
      roundMs
    }
  } finally {
    for (const l of learners) l.dispose()
  }
}

function parseTopologies (value: unknown): TopologyKind[] {
  const items = listOption(value, 'topologies') ?? [...TOPOLOGIES]
  for (const t of items) if (!(TOPOLOGIES as readonly string[]).includes(t)) throw new Error(`--topologies: unknown topology "${t}" (expected ${TOPOLOGIES.join(', ')})`)
  return items as TopologyKind[]
}

function parseSizes (value: unknown, profile: Profile): number[] {
  const items = listOption(value, 'sizes')
  if (items === undefined) return profile === 'quick' ? [16] : [16, 32, 64]
  return items.map((s) => {
    const n = Number(s)
    if (!Number.isInteger(n) || n < 9 || n > 4096) throw new Error(`--sizes: expected integers between 9 and 4096, got "${s}"`)
    return n
  })
}

/** Stable 32-bit seed of a cell from its topology and size. */
function cellSeed (topology: string, n: number): number {
  return seedFromText(`${topology}/${n}`)
}

const pct = (x: number): number => round(100 * x, 3)

function summarize (results: Array<CellResult<ConvergenceResult, Params>>, profile: Profile): SuiteSummary {
  const rs = results.map((r) => r.result)
  const key = (r: ConvergenceResult): string => `${r.topology}-${r.n}`
  const theory = (r: ConvergenceResult): number | null => r.gossip.rho > EXACT_RHO ? 2 * Math.log(r.gossip.rho) : null
  const relError = (r: ConvergenceResult): number | null => {
    const th = theory(r)
    return th === null || r.gossip.slope === null ? null : Math.abs(r.gossip.slope - th) / Math.abs(th)
  }

  const gossipTable: Table = {
    name: 'gossip',
    title: 'Plain gossip: measured decay of ln(consensus distance²) per round vs 2 ln ρ',
    columns: ['topology', 'n', 'edges', 'degree', 'ρ', 'λ₂', 'λ_n', 'next |λ|', 'theory 2 ln ρ', 'measured slope', 'rel. error %', 'fit rounds', 'rounds to 10⁻⁶'],
    rows: rs.map((r) => [
      r.topology, r.n, r.edges, r.degree.min === r.degree.max ? String(r.degree.min) : `${r.degree.min}–${r.degree.max}`,
      round(r.gossip.rho, 6), round(r.gossip.lambda2, 6), round(r.gossip.lambdaMin, 6), r.gossip.nextLambda === null ? null : round(r.gossip.nextLambda, 6),
      theory(r) === null ? null : round(theory(r) as number, 5),
      r.gossip.slope === null ? null : round(r.gossip.slope, 5),
      relError(r) === null ? null : pct(relError(r) as number),
      r.gossip.fitFrom === null ? null : `${r.gossip.fitFrom}–${r.gossip.fitTo as number}`,
      r.gossip.roundsTo1e6
    ])
  }

  const trained = rs.filter((r) => r.train !== null)
  const tables: Table[] = [gossipTable]
  if (trained.length > 0) {
    tables.push({
      name: 'training',
      title: 'Gossip training (D-SGD, rule mean, Metropolis weights) on synthetic mean estimation',
      columns: ['topology', 'n', 'ρ', '1/(1 − ρ)', 'rounds', 'initial consensus', 'plateau consensus', 'final ‖θ̄ − θ*‖²', 'final train loss', 'test loss', 'ms / round'],
      rows: trained.map((r) => {
        const t = r.train as TrainResult
        return [r.topology, r.n, round(r.gossip.rho, 6), round(1 / (1 - r.gossip.rho), 4), t.series[t.series.length - 1][0],
          round(t.initialConsensus, 4), round(t.plateauConsensus, 4), round(t.finalGap, 4), round(t.finalLoss, 4), round(t.testLoss, 4), round(t.roundMs, 3)]
      })
    })
  }

  // Plot 1: the decay curves, one panel per topology, sizes as colours, theory dashed from the fit's start.
  const curve: Array<Record<string, unknown>> = []
  for (const r of rs) {
    for (const [t, v] of r.gossip.series) curve.push({ topology: r.topology, n: String(r.n), round: t, log10: v, line: 'measured' })
    const th = theory(r)
    if (th !== null && r.gossip.fitFrom !== null && r.gossip.fitTo !== null && r.gossip.fitStartLog10 !== null) {
      const t0 = r.gossip.fitFrom
      const t1 = Math.max(r.gossip.fitTo, t0 + 1)
      const y0 = r.gossip.fitStartLog10
      curve.push({ topology: r.topology, n: String(r.n), round: t0, log10: y0, line: 'theory' })
      curve.push({ topology: r.topology, n: String(r.n), round: t1, log10: round(y0 + (th / Math.LN10) * (t1 - t0), 5), line: 'theory' })
    }
  }
  const topologyOrder = TOPOLOGIES.filter((t) => rs.some((r) => r.topology === t))
  const plots: Plot[] = [{
    name: 'gossip-decay',
    title: 'Consensus distance² under plain Metropolis gossip',
    caption: prose.render('caption.gossip-decay'),
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      data: { values: curve },
      facet: { field: 'topology', type: 'nominal', title: null, sort: topologyOrder },
      columns: 3,
      resolve: { scale: { x: 'independent' } },
      spec: {
        width: 220,
        height: 160,
        layer: [
          {
            transform: [{ filter: "datum.line === 'measured'" }],
            mark: { type: 'line', strokeWidth: 2, clip: true },
            encoding: {
              x: { field: 'round', type: 'quantitative', title: 'round', axis: { tickMinStep: 1 } },
              y: { field: 'log10', type: 'quantitative', title: 'log₁₀ distance² / start', scale: { domain: [-26, 0] } },
              color: { field: 'n', type: 'nominal', title: 'nodes', sort: [...new Set(rs.map((r) => r.n))].sort((a, b) => a - b).map(String) }
            }
          },
          {
            transform: [{ filter: "datum.line !== 'measured'" }],
            mark: { type: 'line', strokeWidth: 1.2, strokeDash: [5, 3], color: 'black', clip: true },
            encoding: {
              x: { field: 'round', type: 'quantitative' },
              y: { field: 'log10', type: 'quantitative' },
              detail: { field: 'n' }
            }
          }
        ]
      }
    }
  }]

  const slopePoints = rs.filter((r) => theory(r) !== null && r.gossip.slope !== null).map((r) => ({
    topology: r.topology, n: String(r.n), theory: round(-(theory(r) as number), 5), measured: round(-(r.gossip.slope as number), 5)
  }))
  if (slopePoints.length > 0) {
    const lo = Math.min(...slopePoints.map((p) => Math.min(p.theory, p.measured))) / 1.5
    const hi = Math.max(...slopePoints.map((p) => Math.max(p.theory, p.measured))) * 1.5
    // 1–2–5 steps: a log axis over one or two decades needs more than the powers of ten.
    const ticks = decades([lo, hi]).flatMap((p) => [p, 2 * p, 5 * p]).filter((t) => t >= lo && t <= hi)
    plots.push({
      name: 'slopes',
      title: 'Measured vs theoretical decay rate',
      caption: prose.render('caption.slopes'),
      spec: {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        width: 380,
        height: 300,
        layer: [
          {
            data: { values: [{ theory: lo, measured: lo }, { theory: hi, measured: hi }] },
            mark: { type: 'line', color: '#999', strokeDash: [4, 3] },
            encoding: { x: { field: 'theory', type: 'quantitative' }, y: { field: 'measured', type: 'quantitative' } }
          },
          {
            data: { values: slopePoints },
            mark: { type: 'point', filled: true, size: 70, opacity: 0.85 },
            encoding: {
              x: { field: 'theory', type: 'quantitative', title: 'theory −2 ln ρ (per round)', scale: { type: 'log', domain: [lo, hi] }, axis: { values: ticks, format: '~g' } },
              y: { field: 'measured', type: 'quantitative', title: 'measured −slope (per round)', scale: { type: 'log', domain: [lo, hi] }, axis: { values: ticks, format: '~g' } },
              color: { field: 'topology', type: 'nominal', sort: topologyOrder },
              shape: { field: 'n', type: 'nominal', title: 'nodes' }
            }
          }
        ]
      }
    })
  }

  if (trained.length > 0) {
    const values: Array<Record<string, unknown>> = []
    for (const r of trained) {
      for (const [t, c, gp] of (r.train as TrainResult).series) {
        if (c > 0) values.push({ series: key(r), topology: r.topology, n: String(r.n), round: t, value: c, metric: 'consensus distance (mean ‖θᵢ − θ̄‖²)' })
        if (gp > 0) values.push({ series: key(r), topology: r.topology, n: String(r.n), round: t, value: gp, metric: 'optimality gap ‖θ̄ − θ*‖²' })
      }
    }
    plots.push({
      name: 'training',
      title: 'Gossip training: consensus distance and optimality gap',
      caption: prose.render('caption.training'),
      spec: {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        data: { values },
        facet: { column: { field: 'metric', type: 'nominal', title: null }, ...(new Set(trained.map((r) => r.n)).size > 1 ? { row: { field: 'n', type: 'ordinal', title: 'nodes' } } : {}) },
        resolve: { scale: { y: 'independent' } },
        spec: {
          width: 300,
          height: 180,
          mark: { type: 'line', strokeWidth: 1.5 },
          encoding: {
            x: { field: 'round', type: 'quantitative' },
            y: { field: 'value', type: 'quantitative', scale: { type: 'log' }, title: null, axis: { values: decades(values.map((v) => v.value as number)), format: '~g' } },
            color: { field: 'topology', type: 'nominal', sort: topologyOrder },
            detail: { field: 'series' }
          }
        }
      }
    })
  }

  const checks: Check[] = []
  const finite = rs.every((r) => allFinite({ ...r, train: r.train === null ? null : { ...r.train, series: r.train.series.slice(1) } }))
  checks.push({ name: 'all numbers finite', ok: finite, detail: finite ? `${rs.length} cells, every recorded number finite` : 'a cell recorded NaN or ±∞' })
  const fitted = rs.filter((r) => relError(r) !== null)
  const worst = fitted.reduce<ConvergenceResult | undefined>((w, r) => (w === undefined || (relError(r) as number) > (relError(w) as number) ? r : w), undefined)
  const slopeOk = fitted.length > 0 && fitted.every((r) => (relError(r) as number) <= SLOPE_TOLERANCE)
  checks.push({
    name: `gossip slopes within ${100 * SLOPE_TOLERANCE}% of 2 ln ρ`,
    ok: slopeOk,
    detail: worst === undefined
      ? 'no graph had a fit window'
      : `${fitted.filter((r) => (relError(r) as number) <= SLOPE_TOLERANCE).length} of ${fitted.length} graphs; worst ${key(worst)} at ${pct(relError(worst) as number)}%`
  })
  const exact = rs.filter((r) => r.gossip.rho <= EXACT_RHO)
  if (exact.length > 0) {
    const ok = exact.every((r) => r.gossip.finalRelative <= 1e-24 && r.gossip.rounds <= 2)
    checks.push({ name: 'ρ = 0 graphs average in one round', ok, detail: exact.map((r) => `${key(r)}: distance² ${r.gossip.finalRelative.toExponential(1)} of the start after ${r.gossip.rounds} round${r.gossip.rounds === 1 ? '' : 's'}`).join('; ') })
  }
  if (trained.length > 0) {
    const converging = trained.filter((r) => (r.train as TrainResult).finalGap < (r.train as TrainResult).series[0][2] / 10)
    checks.push({
      name: 'training reaches the optimum',
      ok: converging.length === trained.length,
      detail: `‖θ̄ − θ*‖² fell more than 10× in ${converging.length} of ${trained.length} runs`
    })
    const contracting = trained.filter((r) => (r.train as TrainResult).plateauConsensus < (r.train as TrainResult).initialConsensus / 10)
    checks.push({
      name: 'training contracts the models',
      ok: contracting.length === trained.length,
      detail: `plateau consensus distance below a tenth of the initial one in ${contracting.length} of ${trained.length} runs`
    })
    if (profile === 'full' && trained.length >= 5) {
      const rho = spearman(trained.map((r) => 1 / (1 - r.gossip.rho)), trained.map((r) => (r.train as TrainResult).plateauConsensus))
      checks.push({ name: 'plateau grows as the spectral gap shrinks', ok: rho > 0.6, detail: `Spearman rank correlation of the plateau with 1/(1 − ρ): ${round(rho, 3)} (expected > 0.6)` })
    }
  }

  const sizes = [...new Set(rs.map((r) => r.n))].sort((a, b) => a - b)
  const first = results[0]?.cell.params
  const tp = first?.train ?? null
  const notes = [
    prose.render('graphs', { graphs: topologyOrder.map((t) => `**${t}** (${FAMILY[t]})`).join(', '), sizes: sizes.join(', ') }),
    prose.render('gossip', {
      dim: first?.gossip.dim ?? 4,
      fitFrom: FIT_FROM.toExponential(0),
      fitTo: FIT_TO.toExponential(0),
      tolerance: 100 * SLOPE_TOLERANCE
    }),
    tp !== null
      ? prose.render('training', {
        samples: tp.task.samplesPerNode ?? 100,
        dim: tp.task.synthetic?.dim ?? 10,
        heterogeneity: tp.task.synthetic?.heterogeneity ?? 1,
        noise: tp.task.synthetic?.noise ?? 1,
        localSteps: tp.localSteps,
        steps: tp.localSteps === 1 ? 'step' : 'steps',
        batchSize: tp.batchSize,
        lr: tp.lr,
        initSpread: tp.initSpread
      })
      : prose.render('training.skipped')
  ]
  return { tables, plots, checks, notes }
}

export const convergence = defineSuite<Params, ConvergenceResult>({
  name: 'convergence',
  summary: 'gossip averaging vs the spectral rate 2 ln ρ, and gossip training, on six topology families',
  fullDuration: '~1.5 min',
  options: {
    topologies: { type: 'string', placeholder: 'list', description: `comma-separated topology families (default: all of ${TOPOLOGIES.join(', ')})` },
    sizes: { type: 'string', placeholder: 'list', description: 'comma-separated node counts (default 16,32,64; quick: 16)' },
    rounds: { type: 'integer', description: 'gossip-training rounds, 0 to skip training (default 150; quick: 30)' },
    lr: { type: 'number', default: 0.1, description: 'SGD step size of gossip training' }
  },
  cells: (profile, options) => {
    const topologies = parseTopologies(options.topologies)
    const sizes = parseSizes(options.sizes, profile)
    const rounds = options.rounds === undefined ? (profile === 'quick' ? 30 : 150) : Number(options.rounds)
    if (!Number.isInteger(rounds) || rounds < 0) throw new Error(`--rounds: expected an integer ≥ 0, got ${String(options.rounds)}`)
    const lr = Number(options.lr ?? 0.1)
    if (!(lr > 0 && lr <= 1)) throw new Error(`--lr: expected a step size in (0, 1], got ${String(options.lr)}`)
    const cells: Array<Cell<Params>> = []
    for (const n of sizes) {
      for (const topology of topologies) {
        const params: Params = {
          topology,
          n,
          gossip: { dim: 4, maxRounds: 100_000 },
          train: rounds === 0
            ? null
            : { rounds, lr, batchSize: 10, localSteps: 1, initSpread: 2, task: { dataset: 'synthetic-mean', samplesPerNode: 100, heldOutSize: 0, testSize: 200, synthetic: { dim: 10, noise: 1, heterogeneity: 1 } } }
        }
        cells.push({ id: `${topology}-${n}`, params, seed: cellSeed(topology, n) })
      }
    }
    return cells
  },
  run: async (cell, context) => {
    const p = cell.params
    const g = buildGraph(p.topology, p.n, cell.seed)
    const w = metropolisHastings(g)
    const spectrum = mixingSpectrum(w)
    if (!spectrum.converged) context.log('%s: Lanczos did not converge (error bound %e)', cell.id, spectrum.errorBound)
    let dmin = Infinity; let dmax = 0
    for (let i = 0; i < g.n; i++) { const d = g.offsets[i + 1] - g.offsets[i]; dmin = Math.min(dmin, d); dmax = Math.max(dmax, d) }
    const gossip = { rho: spectrum.rho, lambda2: spectrum.lambda2, lambdaMin: spectrum.lambdaMin, nextLambda: nextEigenvalue(w, spectrum.rho), ...runGossip(w, p.gossip.dim, p.gossip.maxRounds, cell.seed, spectrum.rho) }
    context.log('%s: ρ %f, slope %s over rounds %s–%s', cell.id, spectrum.rho, gossip.slope, gossip.fitFrom, gossip.fitTo)
    const train = p.train === null ? null : await runTraining(g, p.train, cell.seed, context)
    return { topology: p.topology, n: p.n, edges: g.m, degree: { min: dmin, max: dmax }, gossip, train }
  },
  summarize
})
