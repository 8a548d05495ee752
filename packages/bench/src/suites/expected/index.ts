// Expected against worst-case robustness (seed 000). Objective (2) is the honest-average
// performance in expectation over honest sets S ~ μ_H; objective (1) its worst case over sets of a
// given size. For a trained swarm both are measured, not assumed:
//
//   μ_H draws:   K cells, each drawing its Byzantine set from the topology's μ_H (seeded by the
//                cell) and training the whole swarm with it; reported as the mean over the K
//                draws with a 95% Student-t interval.
//   worst case:  the greedy worst-case placement (@murmur/topology) of round(E_μH|B|) Byzantine
//                peers, i.e. as many as μ_H gives on average, aimed at the tolerances in use.
//
// Each under two tolerance designs: one global f for every node (by default the largest f every
// node's neighbourhood supports) and each node's own f_i(δ) from μ_H. Draw k uses the same
// Byzantine set and seed under both designs, so their difference is a paired comparison.

import { planSwarm, parseBehaviour, type SwarmPlan } from '@murmur/peer'
import { createRule, maxTolerableF } from '@murmur/robust'
import {
  degree, nodeTolerances, topologyGraph, topologySampler, worstCasePlacement, type Topology
} from '@murmur/topology'
import {
  heterogeneityTitle, meanInterval, parseHeterogeneity, readTopologySync, swarmCell, type HonestOutcome, type MeanInterval, type SwarmCellParams
} from '../../sim/common.ts'
import { cellLaunch, honestOutcome, simulateSwarm } from '../../sim/swarm.ts'
import { allFinite, round } from '../../stats.ts'
import type { Cell, CellResult, Check, Plot, Profile, SuiteContext, SuiteSummary, Table } from '../../suite.ts'
import { defineSuite } from '../../suite.ts'
import { loadTemplate } from '../../template.ts'

/** The report's paragraphs (report.md beside this file). */
const prose = loadTemplate(new URL('report.md', import.meta.url))

const DEFAULTS = {
  full: { draws: 20, worstRuns: 5, rounds: 30 },
  quick: { draws: 3, worstRuns: 1, rounds: 8 }
} as const

/** Seed of the Monte Carlo estimate of f_i(δ) and E|B|: fixed, since tolerances are a design decision made before any draw. */
const TOLERANCE_SEED = 0
const TOLERANCE_SAMPLES = 2000
/** Draw k's cell seed: shared by both tolerance designs (and by worst-case run k). */
const seedOf = (k: number): number => 1000 + k

export type Setting = 'mu-h' | 'worst-case'
export type ToleranceDesign = 'global' | 'per-node'

/** One trained swarm: a Byzantine set (a μ_H draw or the worst-case placement) under one tolerance design. */
export interface ExpectedParams extends SwarmCellParams {
  setting: Setting
  tolerance: ToleranceDesign
  /** f of the global design. */
  globalF: number
  delta: number
  /** μ_H draw (or worst-case run) index. */
  run: number
  /** Byzantine peers of the worst-case placement: round(E_μH|B|). */
  worstCount: number
  /** E_μH|B| as estimated (TOLERANCE_SAMPLES draws). */
  expectedByzantine: number
}

export type ExpectedResult = HonestOutcome

interface Design {
  graph: ReturnType<typeof topologyGraph>
  globalF: number
  expectedByzantine: number
}

/** The largest f every node's rule supports (n_i = deg(i) + 1 inputs). */
function largestCommonF (topology: Topology, rule: string): number {
  const graph = topologyGraph(topology)
  const r = createRule(rule)
  let f = Infinity
  for (let i = 0; i < graph.n; i++) f = Math.min(f, maxTolerableF(r, degree(graph, i) + 1))
  if (!(f >= 0)) throw new Error(`rule ${rule} cannot run at every node of ${topology.name} even with f = 0`)
  return f
}

function design (topology: Topology, rule: string, globalF: number | undefined, delta: number): Design {
  const graph = topologyGraph(topology)
  const sampler = topologySampler(topology, { seed: TOLERANCE_SEED })
  if (sampler === undefined) throw new Error(`topology ${topology.name} has no "byzantine" section (μ_H): the expected objective needs one`)
  const report = nodeTolerances(graph, sampler, { delta, samples: TOLERANCE_SAMPLES })
  return { graph, globalF: globalF ?? largestCommonF(topology, rule), expectedByzantine: report.byzantineCount.mean }
}

function positiveInteger (name: string, value: unknown, fallback: number, min = 1): number {
  const v = value === undefined ? fallback : value
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new Error(`--${name}: expected an integer ≥ ${min}, got ${String(v)}`)
  return v
}

function cells (profile: Profile, options: Readonly<Record<string, unknown>>): Array<Cell<ExpectedParams>> {
  const defaults = DEFAULTS[profile]
  const topologyPath = String(options.topology ?? 'topologies/er-32.json')
  const topology = readTopologySync(topologyPath)
  const rule = String(options.rule ?? 'nnm+cwtm')
  const attack = String(options.attack ?? 'signflip')
  try { createRule(rule) } catch (error) { throw new Error(`--rule: "${rule}": ${(error as Error).message}`) }
  if (attack === 'none') throw new Error('--attack: the expected objective needs an attack (e.g. signflip)')
  try { parseBehaviour(attack) } catch (error) { throw new Error(`--attack: "${attack}": ${(error as Error).message}`) }
  const partition = parseHeterogeneity(String(options.heterogeneity ?? '1'))
  const delta = (options.delta as number | undefined) ?? 0.05
  if (!(delta > 0 && delta < 1)) throw new Error(`--delta: expected a probability in (0, 1), got ${delta}`)
  const givenF = options['global-f'] === undefined ? undefined : positiveInteger('global-f', options['global-f'], 0, 0)
  const draws = positiveInteger('draws', options.draws, defaults.draws, 2)
  const worstRuns = positiveInteger('worst-runs', options['worst-runs'], defaults.worstRuns)
  const rounds = positiveInteger('rounds', options.rounds, defaults.rounds)
  const d = design(topology, rule, givenF, delta)
  const base = {
    ...swarmCell({ topologyPath, topology, rule, attack, partition, rounds }),
    globalF: d.globalF,
    delta,
    worstCount: Math.round(d.expectedByzantine),
    expectedByzantine: round(d.expectedByzantine, 4)
  }
  const out: Array<Cell<ExpectedParams>> = []
  const add = (setting: Setting, run: number): void => {
    for (const tolerance of ['global', 'per-node'] as const) {
      const params: ExpectedParams = { ...base, setting, tolerance, run }
      out.push({ id: `${setting === 'mu-h' ? 'muh' : 'worst'}-${run}-${tolerance}`, params, seed: seedOf(run) })
    }
  }
  // Worst case first: its few cells bound what the draws can show, and a stopped run keeps them.
  for (let k = 0; k < worstRuns; k++) add('worst-case', k)
  for (let k = 0; k < draws; k++) add('mu-h', k)
  return out
}

/** The swarm plan of a cell: its tolerance design and its Byzantine set. */
export function planCell (p: ExpectedParams, topology: Topology, seed: number): SwarmPlan {
  const base = {
    ...cellLaunch(p, topology),
    f: p.tolerance === 'global' ? p.globalF : 'auto' as const,
    delta: p.delta,
    muSeed: TOLERANCE_SEED
  }
  const graph = topologyGraph(topology)
  let byzantine: string[]
  if (p.setting === 'mu-h') {
    const sampler = topologySampler(topology, { seed })
    if (sampler === undefined) throw new Error(`topology ${topology.name} has no μ_H`)
    const mask = sampler.sample()
    byzantine = graph.ids.filter((_, i) => mask[i] === 1)
  } else {
    // The adversary knows the tolerances in use and places its peers against them.
    const tolerances = planSwarm(base).nodes.map((n) => n.f)
    byzantine = Array.from(worstCasePlacement(graph, p.worstCount, 'greedy', tolerances), (i) => graph.ids[i])
  }
  if (byzantine.length >= graph.n) throw new Error(`draw ${p.run}: every node is Byzantine`)
  return planSwarm({ ...base, ...(byzantine.length === 0 ? {} : { attack: p.attack, byzantine }) })
}

async function run (cell: Cell<ExpectedParams>, context: SuiteContext): Promise<ExpectedResult> {
  const p = cell.params
  const topology = readTopologySync(p.topology)
  const plan = planCell(p, topology, cell.seed)
  const sim = await simulateSwarm({ plan, seed: cell.seed, signal: context.signal, progress: context.progress, kappa: false })
  return honestOutcome(plan, sim)
}

const num = (v: number | null | undefined, digits = 4): number | null => v === null || v === undefined || !Number.isFinite(v) ? null : round(v, digits)
const pct = (v: number | null): string => v === null ? '–' : `${(100 * v).toFixed(1)}%`
const interval = (m: MeanInterval): string => m.low === null || m.high === null ? pct(m.mean) : `${pct(m.mean)} [${pct(m.low)}, ${pct(m.high)}]`

export interface GroupSummary {
  setting: Setting
  tolerance: ToleranceDesign
  runs: number
  meanByzantine: number
  accuracy: MeanInterval
  minAccuracy: MeanInterval
  testLoss: MeanInterval
  overrun: number
  /** The lowest honest mean accuracy of any run of the group, and that run's number of Byzantine peers. */
  worstRun: number
  worstRunByzantine: number
}

/** What the grouping of runs reads of a cell's params. */
export type RunKey = Pick<ExpectedParams, 'setting' | 'tolerance' | 'run'>

/** Groups cells by setting and tolerance design, each with its mean and t-interval. */
export function groupSummaries (results: ReadonlyArray<CellResult<ExpectedResult, RunKey>>): GroupSummary[] {
  const out: GroupSummary[] = []
  for (const setting of ['mu-h', 'worst-case'] as const) {
    for (const tolerance of ['global', 'per-node'] as const) {
      const rs = results.filter((r) => { const p = r.cell.params; return p.setting === setting && p.tolerance === tolerance }).map((r) => r.result)
      if (rs.length === 0) continue
      const worst = rs.reduce((a, b) => b.meanAccuracy < a.meanAccuracy ? b : a)
      out.push({
        setting,
        tolerance,
        runs: rs.length,
        meanByzantine: rs.reduce((s, r) => s + r.byzantine.length, 0) / rs.length,
        accuracy: meanInterval(rs.map((r) => r.meanAccuracy)),
        minAccuracy: meanInterval(rs.map((r) => r.minAccuracy)),
        testLoss: meanInterval(rs.map((r) => r.meanTestLoss)),
        overrun: rs.reduce((s, r) => s + r.overrun.length, 0) / rs.length,
        worstRun: worst.meanAccuracy,
        worstRunByzantine: worst.byzantine.length
      })
    }
  }
  return out
}

/** Per-node minus global accuracy on the same μ_H draws (paired), with its t-interval; undefined with fewer than 2 pairs. */
export function pairedDifference (results: ReadonlyArray<CellResult<ExpectedResult, RunKey>>): MeanInterval | undefined {
  const byRun = new Map<number, Partial<Record<ToleranceDesign, number>>>()
  for (const r of results) {
    const p = r.cell.params
    if (p.setting !== 'mu-h') continue
    const entry = byRun.get(p.run) ?? {}
    entry[p.tolerance] = r.result.meanAccuracy
    byRun.set(p.run, entry)
  }
  const diffs = [...byRun.values()].filter((e) => e.global !== undefined && e['per-node'] !== undefined).map((e) => (e['per-node'] as number) - (e.global as number))
  return diffs.length < 2 ? undefined : meanInterval(diffs)
}

function summarize (results: Array<CellResult<ExpectedResult, ExpectedParams>>, profile: Profile): SuiteSummary {
  const first = results[0]?.cell.params
  const groups = groupSummaries(results)
  const settingLabel = (s: Setting): string => s === 'mu-h' ? 'μ_H draws' : `worst case (greedy, ${first?.worstCount ?? '?'} Byzantine)`
  const toleranceLabel = (t: ToleranceDesign): string => t === 'global' ? `global f = ${first?.globalF ?? '?'}` : `per-node f_i(δ = ${first?.delta ?? 0.05})`

  const table: Table = {
    name: 'expected',
    title: 'Honest accuracy: expected over μ_H draws against the worst-case placement (mean, 95% t-interval over runs)',
    columns: ['Byzantine sets', 'tolerance', 'runs', 'mean |B|', 'honest mean acc', 'CI low', 'CI high', 'honest min acc', 'honest test loss', 'overrun honest (mean)', 'worst run acc'],
    rows: groups.map((g) => [
      settingLabel(g.setting), toleranceLabel(g.tolerance), g.runs, num(g.meanByzantine, 3),
      num(g.accuracy.mean), num(g.accuracy.low), num(g.accuracy.high),
      num(g.minAccuracy.mean), num(g.testLoss.mean), num(g.overrun, 3), num(g.worstRun)
    ])
  }
  const runs: Table = {
    name: 'runs',
    title: 'Every run: its Byzantine set, overrun honest nodes and honest accuracy',
    columns: ['Byzantine sets', 'tolerance', 'run', '|B|', 'Byzantine', 'overrun honest', 'honest mean acc', 'honest min acc', 'honest test loss', 'consensus distance', 'cell s'],
    rows: results.map((r) => {
      const p = r.cell.params
      return [settingLabel(p.setting), toleranceLabel(p.tolerance), p.run, r.result.byzantine.length, r.result.byzantine.join(' '), r.result.overrun.join(' '),
        num(r.result.meanAccuracy), num(r.result.minAccuracy), num(r.result.meanTestLoss), num(r.result.consensus), round(r.ms / 1000, 3)]
    })
  }

  const points = results.map((r) => {
    const p = r.cell.params
    return { tolerance: toleranceLabel(p.tolerance), setting: settingLabel(p.setting), accuracy: round(r.result.meanAccuracy, 4), kind: 'run' }
  })
  const means = groups.map((g) => ({
    tolerance: toleranceLabel(g.tolerance),
    setting: settingLabel(g.setting),
    accuracy: round(g.accuracy.mean, 4),
    low: num(g.accuracy.low ?? g.accuracy.mean),
    high: num(g.accuracy.high ?? g.accuracy.mean),
    kind: 'mean'
  }))
  const Y_TITLE = 'honest mean test accuracy'
  const settingOrder = [settingLabel('mu-h'), settingLabel('worst-case')]
  const toleranceOrder = [toleranceLabel('global'), toleranceLabel('per-node')]
  const encodingBase = {
    x: { field: 'tolerance', type: 'nominal', sort: toleranceOrder, title: 'tolerance design', axis: { labelAngle: 0, labelLimit: 300 } },
    xOffset: { field: 'setting', type: 'nominal', sort: settingOrder },
    color: { field: 'setting', type: 'nominal', sort: settingOrder, title: 'Byzantine sets', legend: { labelLimit: 320, orient: 'bottom', direction: 'vertical' } }
  }
  const plot: Plot = {
    name: 'expected-accuracy',
    title: 'Honest mean accuracy: μ_H draws against the worst case, global f against per-node f_i',
    caption: prose.render('caption.expected-accuracy'),
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      width: 320,
      height: 240,
      data: { values: [...points, ...means] },
      encoding: encodingBase,
      layer: [
        { transform: [{ filter: "datum.kind === 'run'" }], mark: { type: 'point', filled: true, opacity: 0.3, size: 25 }, encoding: { y: { field: 'accuracy', type: 'quantitative', title: Y_TITLE, scale: { zero: false } } } },
        { transform: [{ filter: "datum.kind === 'mean'" }], mark: { type: 'errorbar', ticks: true, thickness: 2 }, encoding: { y: { field: 'low', type: 'quantitative', title: Y_TITLE }, y2: { field: 'high' } } },
        { transform: [{ filter: "datum.kind === 'mean'" }], mark: { type: 'point', filled: true, size: 80, shape: 'diamond' }, encoding: { y: { field: 'accuracy', type: 'quantitative', title: Y_TITLE } } }
      ]
    }
  }

  const checks: Check[] = []
  const finite = results.every((r) => allFinite(r.result))
  checks.push({ name: 'all numbers finite', ok: finite, detail: finite ? `${results.length} runs, every recorded number finite` : 'a run recorded NaN or ±∞' })
  const undelivered = results.filter((x) => !x.result.deliveryValid)
  checks.push({
    name: 'every swarm delivered its edges and every attack landed (otherwise a cell measured nothing)',
    ok: undelivered.length === 0,
    detail: undelivered.length === 0 ? 'every cell' : undelivered.slice(0, 5).map((x) => x.result.deliveryWarnings.join('; ')).join(' | ')
  })
  const bad = results.filter((r) => !(r.result.meanAccuracy >= 0 && r.result.meanAccuracy <= 1 && r.result.minAccuracy >= 0 && r.result.minAccuracy <= r.result.meanAccuracy + 1e-12))
  checks.push({ name: 'accuracies in [0, 1], min ≤ mean', ok: bad.length === 0, detail: bad.length === 0 ? 'every run' : `out of range: ${bad.map((r) => r.cell.id).join(', ')}` })
  const intervals = groups.filter((g) => g.accuracy.low !== null)
  const wellFormed = intervals.every((g) => (g.accuracy.low as number) <= g.accuracy.mean && g.accuracy.mean <= (g.accuracy.high as number))
  checks.push({ name: 'confidence intervals contain their mean', ok: wellFormed, detail: intervals.map((g) => `${settingLabel(g.setting)}, ${toleranceLabel(g.tolerance)}: ${interval(g.accuracy)}`).join('; ') })
  const muh = groups.filter((g) => g.setting === 'mu-h')
  const muhDraws = muh.find((g) => g.tolerance === 'global')?.runs ?? 0
  checks.push({ name: 'μ_H draws: one run per draw and design', ok: muh.every((g) => g.runs === muhDraws) && muhDraws >= 2, detail: muh.map((g) => `${toleranceLabel(g.tolerance)}: ${g.runs}`).join(', ') })

  const notes: string[] = []
  if (first !== undefined) {
    const expectedTitle = heterogeneityTitle(first.partition)
    notes.push(
      prose.render('objectives', {
        topology: first.topologyName,
        nodes: results[0].result.nodes,
        rounds: first.rounds,
        localSteps: first.localSteps,
        model: first.model,
        partition: expectedTitle,
        rule: first.rule,
        attack: first.attack,
        worstCount: first.worstCount,
        expectedByzantine: first.expectedByzantine,
        samples: TOLERANCE_SAMPLES
      }),
      prose.render('tolerances', { globalF: first.globalF, rule: first.rule, delta: first.delta })
    )
    const g = (s: Setting, t: ToleranceDesign): GroupSummary | undefined => groups.find((x) => x.setting === s && x.tolerance === t)
    const mg = g('mu-h', 'global'); const mp = g('mu-h', 'per-node'); const wg = g('worst-case', 'global'); const wp = g('worst-case', 'per-node')
    const diff = pairedDifference(results)
    if (mg !== undefined && mp !== undefined && wg !== undefined && wp !== undefined) {
      const points = (x: number): string => `${(100 * x).toFixed(1)} points`
      const gapP = mp.accuracy.mean - wp.accuracy.mean
      const gapG = mg.accuracy.mean - wg.accuracy.mean
      let sentence = prose.render('meaning', {
        draws: mp.runs,
        meanByzantine: mp.meanByzantine.toFixed(2),
        perNode: interval(mp.accuracy),
        global: interval(mg.accuracy),
        globalF: first.globalF,
        worstCount: first.worstCount,
        worstPerNode: pct(wp.accuracy.mean),
        worstGlobal: pct(wg.accuracy.mean),
        understates: gapP >= 0 ? 'understates' : 'overstates',
        gapPerNode: points(Math.abs(gapP)),
        gapGlobal: points(Math.abs(gapG))
      })
      if (diff !== undefined && diff.low !== null && diff.high !== null) {
        const significant = diff.low > 0 || diff.high < 0
        sentence += ' ' + prose.render('meaning.paired', {
          effect: significant ? (diff.mean > 0 ? 'raises' : 'lowers') : 'changes',
          mean: (100 * diff.mean).toFixed(2),
          low: (100 * diff.low).toFixed(2),
          high: (100 * diff.high).toFixed(2)
        }) + (significant ? '.' : prose.render('meaning.paired.indistinct', { draws: mp.runs }))
      }
      const low = Math.min(mp.worstRun, mg.worstRun)
      if (low < Math.min(wp.accuracy.mean, wg.accuracy.mean)) {
        const which = mp.worstRun <= mg.worstRun ? mp : mg
        sentence += ' ' + prose.render('meaning.worst-draw', { byzantine: which.worstRunByzantine, accuracy: pct(low) })
      }
      sentence += ' ' + prose.render('meaning.overrun', {
        perNode: mp.overrun.toFixed(2),
        global: mg.overrun.toFixed(2),
        worstPerNode: wp.overrun.toFixed(0),
        worstGlobal: wg.overrun.toFixed(0)
      })
      notes.push(sentence)
    }
  }
  if (profile === 'quick') notes.push(prose.render('quick'))
  return { tables: [table, runs], plots: [plot], checks, notes }
}

export const expected = defineSuite<ExpectedParams, ExpectedResult>({
  name: 'expected',
  summary: 'Expected robustness over Byzantine sets drawn from μ_H (seed 000, objective 2) against the worst-case placement (objective 1), with a global f and with per-node f_i',
  fullDuration: '~7 min',
  options: {
    topology: { type: 'string', description: 'topology file with a byzantine section (μ_H)', default: 'topologies/er-32.json', placeholder: 'file' },
    rule: { type: 'string', description: 'mixing rule', default: 'nnm+cwtm', placeholder: 'spec' },
    attack: { type: 'string', description: 'behaviour of the Byzantine peers', default: 'signflip', placeholder: 'spec' },
    heterogeneity: { type: 'string', description: 'partition: iid or a Dirichlet α', default: '1', placeholder: 'iid|α' },
    draws: { type: 'integer', description: `K, Byzantine sets drawn from μ_H (default ${DEFAULTS.full.draws}; quick: ${DEFAULTS.quick.draws})`, placeholder: 'K' },
    'worst-runs': { type: 'integer', description: `training seeds of the worst-case placement (default ${DEFAULTS.full.worstRuns}; quick: ${DEFAULTS.quick.worstRuns})`, placeholder: 'k' },
    'global-f': { type: 'integer', description: 'f of the global design (default: the largest f every node supports)', placeholder: 'f' },
    delta: { type: 'number', description: 'δ of the per-node tolerances f_i(δ)', default: 0.05, placeholder: 'δ' },
    rounds: { type: 'integer', description: `rounds per run (default ${DEFAULTS.full.rounds}; quick: ${DEFAULTS.quick.rounds})`, placeholder: 'n' }
  },
  cells,
  run,
  summarize
})
