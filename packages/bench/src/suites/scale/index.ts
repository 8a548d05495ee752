// How the real peer scales on one machine: N libp2p peers over TCP on loopback (launchSwarm, the
// code path of `murmur launch`), on a seeded random k-regular graph, training a small model so
// that networking and coordination, not tfjs, make up the round. One cell per N.
//
// Per cell: round time (median and 90th percentile, after a warm-up), its split into compute /
// communicate / aggregate / the rest, resident memory per peer, wall time, and the honest accuracy
// and consensus distance at the end (the swarm must really have learned while being timed).

import { readdirSync, rmSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { launchSwarm, planSwarm, readMetricsLog, type RoundMetrics, type RoundSummary, type TaskConfig } from '@murmur/peer'
import { createRule, maxTolerableF, quantile, seedFromText } from '@murmur/robust'
import { randomRegular, topologyFromGraph } from '@murmur/topology'
import { listOption } from '../../options.ts'
import { allFinite, leastSquares, logTicks, median, round } from '../../stats.ts'
import type { Cell, CellResult, Check, Plot, Profile, SuiteContext, SuiteSummary, Table } from '../../suite.ts'
import { defineSuite } from '../../suite.ts'
import { loadTemplate } from '../../template.ts'

/** The report's paragraphs (report.md beside this file). */
const prose = loadTemplate(new URL('report.md', import.meta.url))

const MODELS = ['logistic', 'mlp'] as const
type ScaleModel = typeof MODELS[number]

const DEFAULTS = {
  full: { sizes: [16, 32, 64, 128], degree: 6, rounds: 20 },
  quick: { sizes: [4, 8], degree: 3, rounds: 8 }
} as const

/** Rounds left out of the timing at the start: round 0 dials every connection (TCP, noise, identify). */
const WARMUP = 2
/** Honest mean accuracy every cell must reach: chance is 0.1, a logistic model gets ~0.85 in 8 rounds. */
const ACCURACY_FLOOR = 0.5
/** Mixing: a robust rule at f = 1, so aggregation costs what it costs in a real deployment. */
const RULE = 'nnm+cwtm'
const F = 1
/** Local training: a few small steps, so the round is mostly networking. */
const TRAINING = { localSteps: 5, lr: 0.05, momentum: 0.9, batchSize: 32 } as const
const MiB = 2 ** 20

interface Params {
  n: number
  degree: number
  rounds: number
  warmup: number
  rule: string
  f: number
  roundTimeoutMs: number
  training: typeof TRAINING
  task: TaskConfig
}

export interface ScaleResult {
  n: number
  degree: number
  edges: number
  /** Worker processes the peers were spread over. */
  workers: number
  rounds: number
  roundsCompleted: number
  interrupted: boolean
  /** Rounds in the timing window: [warmup, rounds − 1), i.e. without warm-up and the evaluation round. */
  window: [number, number]
  /** Median over the window of the per-round median over peers (RoundSummary.roundMs), ms. */
  medianRoundMs: number
  /** 90th percentile over every peer's rounds in the window, ms. */
  p90RoundMs: number
  /** Median time between consecutive rounds finishing on every peer (the swarm's pace), ms. */
  periodMs: number
  /** Medians over the window; `otherMs` is the per-peer rest of the round (checkpoint, metrics). */
  split: { computeMs: number, communicateMs: number, aggregateMs: number, otherMs: number }
  /** Neighbour models that arrived before the round deadline, over all peer-rounds of the window. */
  receivedFraction: number
  /** Over the whole run: models between honest peers that arrived in time, and whether the run counts. */
  honestDelivered: number
  deliveryValid: boolean
  deliveryWarnings: string[]
  sendFailures: number
  /** Mixes over the whole run that lowered f or kept the own model (shortfall). */
  degraded: number
  skipped: number
  /** Worker RSS divided by the peers it hosts, median over the window and maximum, MiB. */
  rssPerPeerMiB: number
  rssPerPeerMaxMiB: number
  /** From launch until every peer listened, and the whole launch, s. */
  startupS: number
  wallS: number
  accuracy: number
  minAccuracy: number
  consensusDistance: number
  /** Frames refused by honest peers over the run, and by reason. */
  rejected: number
  rejectedBy: Record<string, number>
  /** Per round: [round, median round ms, period ms (0 for round 0), RSS/peer MiB, consensus distance]. */
  series: Array<[number, number, number, number, number]>
}

function parseSizes (value: unknown, profile: Profile): number[] {
  const items = listOption(value, 'sizes')
  if (items === undefined) return [...DEFAULTS[profile].sizes]
  const sizes = items.map((s) => {
    const n = Number(s)
    if (!Number.isInteger(n) || n < 4 || n > 1024) throw new Error(`--sizes: expected integers between 4 and 1024, got "${s}"`)
    return n
  })
  if (new Set(sizes).size !== sizes.length) throw new Error(`--sizes: a size is listed twice in "${String(value)}"`)
  return sizes
}

function parseModel (value: unknown): ScaleModel {
  const model = String(value ?? 'logistic')
  if (!(MODELS as readonly string[]).includes(model)) throw new Error(`--model: expected one of ${MODELS.join(', ')}, got "${model}"`)
  return model as ScaleModel
}

/** A random k-regular graph on n nodes exists for 2 ≤ k < n with n·k even; the rule must take f at k + 1 inputs. */
function checkDegree (k: number, sizes: readonly number[]): void {
  if (!Number.isInteger(k) || k < 2) throw new Error(`--degree: expected an integer ≥ 2, got ${String(k)}`)
  for (const n of sizes) {
    if (k >= n) throw new Error(`--degree: ${k} needs more than ${k} nodes, but --sizes has ${n}`)
    if ((n * k) % 2 !== 0) throw new Error(`--degree: n·k must be even for a k-regular graph, got n = ${n}, k = ${k}`)
  }
  const supported = maxTolerableF(createRule(RULE), k + 1)
  if (supported < F) throw new Error(`--degree: rule ${RULE} cannot tolerate f = ${F} with ${k + 1} inputs (degree ${k} + its own model)`)
}

/** Stable 32-bit seed of a cell from its size and degree. */
function cellSeed (n: number, k: number): number {
  return seedFromText(`scale/regular-${k}/${n}`)
}

/** Every peer's RoundMetrics lines from a launch's run directory. */
function readPeerMetrics (runDir: string): RoundMetrics[] {
  const peersDir = join(runDir, 'peers')
  return readdirSync(peersDir).flatMap((id) => readMetricsLog(join(peersDir, id, 'metrics.jsonl')))
}

async function runCell (cell: Cell<Params>, context: SuiteContext): Promise<ScaleResult> {
  const p = cell.params
  const graph = randomRegular(p.n, p.degree, cell.seed)
  const plan = planSwarm({
    topology: topologyFromGraph(graph, `regular${p.degree}-${p.n}`),
    task: p.task,
    rounds: p.rounds,
    ...p.training,
    rule: p.rule,
    f: p.f,
    roundTimeoutMs: p.roundTimeoutMs,
    // Only the last round evaluates, so no timed round pays for a pass over the test set.
    evalEvery: p.rounds
  })
  const runDir = join(context.outDir, 'cells', cell.id)
  // A run directory left by an interrupted attempt holds checkpoints the peers would resume
  // from; a timing must start from round 0 with fresh connections.
  rmSync(runDir, { recursive: true, force: true })
  const workers = Math.min(availableParallelism(), p.n)
  const started = performance.now()
  let listeningAt = Number.NaN
  const finishedAt: number[] = []
  const result = await launchSwarm({
    plan,
    runDir,
    workers,
    signal: context.signal,
    onStatus: (message) => {
      context.log('%s: %s', cell.id, message)
      if (message.startsWith('all ') && message.includes('listening')) listeningAt = performance.now()
    },
    onRound: (summary: RoundSummary) => {
      finishedAt[summary.round] = performance.now()
      context.log('%s: round %d in %d ms (communicate %d ms)', cell.id, summary.round, Math.round(summary.roundMs), Math.round(summary.communicateMs))
      context.progress((summary.round + 1) / p.rounds)
    }
  })
  const wallMs = performance.now() - started

  const from = Math.min(p.warmup, p.rounds - 1)
  const to = Math.max(from + 1, p.rounds - 1)
  const inWindow = (round: number): boolean => round >= from && round < to
  const summaries = result.rounds.filter((r) => inWindow(r.round))
  const metrics = readPeerMetrics(runDir).filter((m) => !m.byzantine)
  const windowMetrics = metrics.filter((m) => inWindow(m.round))
  const periods = summaries.map((r) => finishedAt[r.round] - finishedAt[r.round - 1]).filter((d) => Number.isFinite(d))
  const last = result.rounds[result.rounds.length - 1]
  // Frame rejections are cumulative per peer: each peer's last line holds its totals.
  const lastOfPeer = new Map<string, RoundMetrics>()
  for (const m of metrics) if ((lastOfPeer.get(m.node)?.round ?? -1) < m.round) lastOfPeer.set(m.node, m)
  const rejectedBy: Record<string, number> = {}
  for (const m of lastOfPeer.values()) {
    for (const [reason, count] of Object.entries(m.rejected)) rejectedBy[reason] = (rejectedBy[reason] ?? 0) + (count ?? 0)
  }
  const received = windowMetrics.reduce((a, m) => a + m.received, 0)
  const expected = windowMetrics.reduce((a, m) => a + m.neighbours, 0)

  return {
    n: p.n,
    degree: p.degree,
    edges: graph.m,
    workers,
    rounds: p.rounds,
    roundsCompleted: result.rounds.length,
    interrupted: result.interrupted,
    window: [from, to],
    medianRoundMs: round(median(summaries.map((r) => r.roundMs))),
    p90RoundMs: round(quantile(windowMetrics.map((m) => m.roundMs), 0.9)),
    periodMs: round(median(periods)),
    split: {
      computeMs: round(median(summaries.map((r) => r.computeMs))),
      communicateMs: round(median(summaries.map((r) => r.communicateMs))),
      aggregateMs: round(median(summaries.map((r) => r.aggregateMs))),
      otherMs: round(median(windowMetrics.map((m) => m.roundMs - m.computeMs - m.communicateMs - m.aggregateMs)))
    },
    receivedFraction: round(expected === 0 ? Number.NaN : received / expected, 5),
    honestDelivered: round(result.delivery.honest.share, 5),
    deliveryValid: result.delivery.valid,
    deliveryWarnings: result.delivery.warnings,
    sendFailures: metrics.reduce((a, m) => a + m.sendFailures, 0),
    degraded: metrics.filter((m) => m.mix === 'degraded').length,
    skipped: metrics.filter((m) => m.mix === 'skipped').length,
    rssPerPeerMiB: round(median(summaries.map((r) => r.rssPerPeer)) / MiB),
    rssPerPeerMaxMiB: round(Math.max(...result.rounds.map((r) => r.rssPerPeer)) / MiB),
    startupS: round((listeningAt - started) / 1000),
    wallS: round(wallMs / 1000),
    accuracy: round(result.final?.accuracy ?? Number.NaN),
    minAccuracy: round(result.final?.minAccuracy ?? Number.NaN),
    consensusDistance: round(last?.consensusDistance ?? Number.NaN),
    rejected: last?.rejected ?? 0,
    rejectedBy,
    series: result.rounds.map((r) => [
      r.round, round(r.roundMs), r.round === 0 ? 0 : round(finishedAt[r.round] - finishedAt[r.round - 1]), round(r.rssPerPeer / MiB), round(r.consensusDistance)
    ])
  }
}

const pct = (x: number): number => round(100 * x, 4)

function summarize (results: Array<CellResult<ScaleResult, Params>>, profile: Profile): SuiteSummary {
  const rs = results.map((r) => r.result).sort((a, b) => a.n - b.n)
  const ns = rs.map((r) => r.n)
  const first = results[0]?.cell.params

  const timing: Table = {
    name: 'timing',
    title: 'Round time, its split, and memory per peer, by swarm size',
    columns: [
      'N', 'degree', 'workers', 'median round ms', 'p90 round ms', 'round ms / N', 'swarm period ms',
      'compute ms', 'communicate ms', 'aggregate ms', 'other ms', 'models in time %', 'RSS/peer MiB', 'startup s', 'wall s'
    ],
    rows: rs.map((r) => [
      r.n, r.degree, r.workers, r.medianRoundMs, r.p90RoundMs, round(r.medianRoundMs / r.n), r.periodMs,
      r.split.computeMs, r.split.communicateMs, r.split.aggregateMs, r.split.otherMs, pct(r.receivedFraction), r.rssPerPeerMiB, r.startupS, r.wallS
    ])
  }
  const outcome: Table = {
    name: 'outcome',
    title: 'What the swarm learned while being timed',
    columns: ['N', 'rounds', 'honest mean accuracy', 'honest min accuracy', 'consensus distance', 'frames rejected', 'rejected by reason', 'degraded mixes', 'skipped mixes', 'send failures'],
    rows: rs.map((r) => [
      r.n, `${r.roundsCompleted}/${r.rounds}`, r.accuracy, r.minAccuracy, r.consensusDistance, r.rejected,
      Object.entries(r.rejectedBy).filter(([, c]) => c > 0).map(([k, c]) => `${k} ${c}`).join(', '),
      r.degraded, r.skipped, r.sendFailures
    ])
  }

  const n0 = rs[0]
  // What sharing the cores alone would give: round time ∝ N from the smallest swarm.
  const reference = n0 === undefined || rs.length < 2 ? undefined : `∝ N from N = ${n0.n}`
  const timePoints: Array<Record<string, unknown>> = []
  for (const r of rs) {
    timePoints.push({ panel: 'round time (ms)', series: 'median round', n: r.n, ms: r.medianRoundMs })
    timePoints.push({ panel: 'round time (ms)', series: 'p90, every peer-round', n: r.n, ms: r.p90RoundMs })
    timePoints.push({ panel: 'round time / N (ms per peer)', series: 'median round', n: r.n, ms: round(r.medianRoundMs / r.n) })
    if (reference !== undefined) {
      timePoints.push({ panel: 'round time (ms)', series: reference, n: r.n, ms: round(n0.medianRoundMs * r.n / n0.n) })
      timePoints.push({ panel: 'round time / N (ms per peer)', series: reference, n: r.n, ms: round(n0.medianRoundMs / n0.n) })
    }
  }
  // One panel spans less than a decade at small N: 1-2-3-5-7 ticks keep it labelled.
  const msTicks = logTicks(timePoints.map((p) => p.ms as number))
  const seriesOrder = ['median round', 'p90, every peer-round', ...(reference === undefined ? [] : [reference])]
  const plots: Plot[] = [{
    name: 'round-time',
    title: 'Round time vs swarm size',
    caption: prose.render('caption.round-time'),
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      data: { values: timePoints },
      facet: { column: { field: 'panel', type: 'nominal', title: null, sort: ['round time (ms)', 'round time / N (ms per peer)'] } },
      resolve: { scale: { y: 'independent' } },
      spec: {
        width: 280,
        height: 220,
        mark: { type: 'line', point: true, strokeWidth: 1.6 },
        encoding: {
          x: { field: 'n', type: 'quantitative', title: 'peers N', scale: { type: 'log', base: 2 }, axis: { values: ns, format: 'd' } },
          y: { field: 'ms', type: 'quantitative', title: null, scale: { type: 'log' }, axis: { values: msTicks, format: '~g' } },
          // Colour and dash on the same field share one legend.
          color: { field: 'series', type: 'nominal', sort: seriesOrder, title: null, scale: { range: ['#4c78a8', '#f58518', '#888888'] }, legend: { labelLimit: 320, symbolStrokeWidth: 2 } },
          strokeDash: { field: 'series', type: 'nominal', sort: seriesOrder, title: null, scale: { range: [[1, 0], [1, 0], [5, 3]] } }
        }
      }
    }
  }, {
    name: 'rss-per-peer',
    title: 'Resident memory per peer vs swarm size',
    caption: prose.render('caption.rss-per-peer'),
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      width: 380,
      height: 220,
      data: { values: rs.map((r) => ({ n: r.n, mib: r.rssPerPeerMiB, label: `${Math.round(r.rssPerPeerMiB)} MiB` })) },
      encoding: {
        x: { field: 'n', type: 'quantitative', title: 'peers N', scale: { type: 'log', base: 2 }, axis: { values: ns, format: 'd' } },
        // Headroom above the highest point for its label.
        y: { field: 'mib', type: 'quantitative', title: 'RSS per peer (MiB)', scale: { domain: [0, round(1.15 * Math.max(0, ...rs.map((r) => r.rssPerPeerMiB)), 3)] } }
      },
      layer: [
        { mark: { type: 'line', point: true, strokeWidth: 1.6, color: '#4c78a8' } },
        { mark: { type: 'text', dy: -10, fontSize: 10, color: '#555' }, encoding: { text: { field: 'label' } } }
      ]
    }
  }, {
    name: 'split',
    title: 'Where a round goes',
    caption: prose.render('caption.split'),
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      width: 380,
      height: { step: 26 },
      data: {
        values: rs.flatMap((r) => [
          ['compute', r.split.computeMs], ['communicate', r.split.communicateMs], ['aggregate', r.split.aggregateMs], ['other', Math.max(0, r.split.otherMs)]
        ].map(([part, ms], k) => ({ n: `N = ${r.n}`, part, ms, order: k })))
      },
      mark: { type: 'bar' },
      encoding: {
        y: { field: 'n', type: 'ordinal', title: null, sort: rs.map((r) => `N = ${r.n}`) },
        x: { field: 'ms', type: 'quantitative', stack: 'normalize', title: 'share of the round', axis: { format: '%' } },
        color: { field: 'part', type: 'nominal', title: null, sort: ['compute', 'communicate', 'aggregate', 'other'] },
        order: { field: 'order', type: 'quantitative' }
      }
    }
  }]

  const checks: Check[] = []
  const incomplete = rs.filter((r) => r.interrupted || r.roundsCompleted !== r.rounds)
  checks.push({
    name: 'every cell completed all its rounds',
    ok: rs.length > 0 && incomplete.length === 0,
    detail: incomplete.length === 0 ? `${rs.length} swarm${rs.length === 1 ? '' : 's'}, every peer through every round` : incomplete.map((r) => `N = ${r.n}: ${r.roundsCompleted} of ${r.rounds}`).join('; ')
  })
  const lossy = rs.filter((r) => !r.deliveryValid)
  checks.push({
    name: 'every swarm delivered its edges (a swarm that lost models measured something else)',
    ok: rs.length > 0 && lossy.length === 0,
    detail: lossy.length === 0 ? rs.map((r) => `N = ${r.n}: ${pct(r.honestDelivered)}%`).join(', ') : lossy.map((r) => `N = ${r.n}: ${r.deliveryWarnings.join('; ')}`).join(' | ')
  })
  const finite = allFinite(rs)
  checks.push({ name: 'all numbers finite', ok: finite, detail: finite ? 'every recorded timing, memory and accuracy figure is finite' : 'a cell recorded NaN or ±∞' })
  const weakest = rs.reduce<ScaleResult | undefined>((w, r) => (w === undefined || !(r.accuracy >= w.accuracy) ? r : w), undefined)
  checks.push({
    name: `honest accuracy above chance (≥ ${ACCURACY_FLOOR}, chance 0.1)`,
    ok: rs.length > 0 && rs.every((r) => r.accuracy >= ACCURACY_FLOOR),
    detail: weakest === undefined ? 'no cell' : `lowest honest mean accuracy ${weakest.accuracy} at N = ${weakest.n}`
  })
  checks.push({
    name: 'RSS per peer positive',
    ok: rs.length > 0 && rs.every((r) => r.rssPerPeerMiB > 0),
    detail: rs.map((r) => `N = ${r.n}: ${r.rssPerPeerMiB} MiB`).join(', ')
  })

  const rssFit = rs.length >= 2 ? leastSquares(ns, rs.map((r) => r.rssPerPeerMiB * r.n)) : undefined
  const notes: string[] = [
    prose.render('setup', {
      sizes: ns.join(', '),
      workers: rs[0]?.workers ?? '?',
      degree: first?.degree ?? '?',
      model: first?.task.model ?? '?',
      localSteps: first?.training.localSteps ?? '?',
      batchSize: first?.training.batchSize ?? '?',
      lr: first?.training.lr ?? '?',
      momentum: first?.training.momentum ?? '?',
      rule: first?.rule ?? RULE,
      f: first?.f ?? F,
      roundTimeoutMs: first?.roundTimeoutMs ?? '?'
    }),
    prose.render('timed', { rounds: first?.rounds ?? '?', warmup: first?.warmup ?? WARMUP }),
    prose.render('memory') +
      (rssFit === undefined ? '' : ' ' + prose.render('memory.fit', { slope: round(rssFit.slope, 3), intercept: round(rssFit.intercept, 3) }))
  ]
  if (rs.length >= 2) {
    const slope = leastSquares(ns.map(Math.log), rs.map((r) => Math.log(r.medianRoundMs))).slope
    const lo = rs[0]; const hi = rs[rs.length - 1]
    const perPeer = (r: ScaleResult): number => r.medianRoundMs / r.n
    notes.push(prose.render('scaling', {
      workers: rs[0]?.workers ?? 2,
      lowMs: lo.medianRoundMs,
      lowN: lo.n,
      highMs: hi.medianRoundMs,
      highN: hi.n,
      exponent: round(slope, 3),
      lowPerPeer: round(perPeer(lo), 3),
      highPerPeer: round(perPeer(hi), 3),
      perPeerRatio: round(perPeer(hi) / perPeer(lo), 3)
    }))
    const late = rs.filter((r) => r.receivedFraction < 1)
    const roundTimeoutMs = first?.roundTimeoutMs ?? '?'
    notes.push(late.length === 0
      ? prose.render('deadline.met', { roundTimeoutMs })
      : prose.render('deadline.missed', {
        late: late.map((r) => prose.render('deadline.late', { n: r.n, percent: pct(r.receivedFraction) })).join('; '),
        roundTimeoutMs
      }))
  }
  if (profile === 'quick') notes.push(prose.render('quick'))
  return { tables: [timing, outcome], plots, checks, notes }
}

export const scale = defineSuite<Params, ScaleResult>({
  name: 'scale',
  summary: 'round time, its split and memory per peer of real libp2p swarms of 16–128 peers on one machine',
  fullDuration: '~8.5 min',
  options: {
    sizes: { type: 'string', placeholder: 'list', description: 'comma-separated swarm sizes N (default 16,32,64,128; quick: 4,8)' },
    degree: { type: 'integer', description: 'degree k of the random regular graph (default 6; quick: 3)' },
    rounds: { type: 'integer', description: `rounds per swarm, the first ${WARMUP} and the last untimed (default 20; quick: 8)` },
    model: { type: 'string', default: 'logistic', choices: MODELS, description: 'MNIST model the peers train' },
    'round-timeout': { type: 'integer', default: 10_000, placeholder: 'ms', description: 'how long a peer waits for its neighbours each round (as murmur launch)' }
  },
  cells: (profile, options) => {
    const sizes = parseSizes(options.sizes, profile)
    const degree = options.degree === undefined ? DEFAULTS[profile].degree : Number(options.degree)
    checkDegree(degree, sizes)
    const rounds = options.rounds === undefined ? DEFAULTS[profile].rounds : Number(options.rounds)
    if (!Number.isInteger(rounds) || rounds < WARMUP + 2) throw new Error(`--rounds: expected an integer ≥ ${WARMUP + 2} (${WARMUP} warm-up rounds, at least one timed, and the evaluation round), got ${String(options.rounds)}`)
    const model = parseModel(options.model)
    const roundTimeoutMs = Number(options['round-timeout'] ?? 10_000)
    if (!Number.isInteger(roundTimeoutMs) || roundTimeoutMs < 100) throw new Error(`--round-timeout: expected an integer ≥ 100 (ms), got ${String(options['round-timeout'])}`)
    return sizes.map((n) => {
      const params: Params = {
        n,
        degree,
        rounds,
        warmup: WARMUP,
        rule: RULE,
        f: F,
        roundTimeoutMs,
        training: TRAINING,
        // No held-out batch: the rule is not loss-aware, and 128 peers leave 62 digits each.
        task: { dataset: 'mnist', model, partition: { kind: 'iid' }, heldOutSize: 0, seed: 0 }
      }
      return { id: `n${n}-k${degree}`, params, seed: cellSeed(n, degree) }
    })
  },
  run: runCell,
  summarize
})
