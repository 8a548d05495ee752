// Robustness of the mixing rules: rule × attack × data heterogeneity on one topology, run as a
// whole swarm in one process (the real round engine over the in-memory hub, sim/swarm.ts). One
// Byzantine set, drawn from the topology's μ_H (conditioned on its size, seeded), serves every
// cell, and every cell uses the same seed, so cells differ only by rule, attack and partition.
//
// Per cell: honest mean and minimum test accuracy, the consensus distance among honest peers, and
// the empirical κ of the rule at every honest aggregation next to seed 001's closed-form κ.

import { parseBehaviour, planSwarm } from '@murmur/peer'
import { createRule } from '@murmur/robust'
import {
  heterogeneityTitle, parseHeterogeneity, readTopologySync, safeId, splitSpecList, swarmCell, type HonestOutcome, type SwarmCellParams
} from '../../sim/common.ts'
import { cellLaunch, honestOutcome, simulateSwarm, type KappaReport } from '../../sim/swarm.ts'
import { allFinite, round } from '../../stats.ts'
import type { Cell, CellResult, Check, Plot, Profile, SuiteContext, SuiteSummary, Table } from '../../suite.ts'
import { defineSuite } from '../../suite.ts'
import { loadTemplate } from '../../template.ts'

/** The report's paragraphs (report.md beside this file). */
const prose = loadTemplate(new URL('report.md', import.meta.url))

const DEFAULTS = {
  full: { rules: 'mean,cwmed,cwtm,nnm+cwtm,scclip', attacks: 'none,signflip,alie,ipm,labelflip', heterogeneity: 'iid,10,1,0.1', rounds: 40 },
  quick: { rules: 'mean,cwtm,nnm+cwtm', attacks: 'none,signflip', heterogeneity: 'iid', rounds: 10 }
} as const

/** The learning setting of every cell: logistic regression on MNIST, short local phases. */
/** Memory delivery is immediate; the deadline only guards against a stuck round. */
/** Honest mean accuracy every IID cell without an attack must reach (logistic regression reaches ~0.85 in 10 rounds). */
const NO_ATTACK_FLOOR = 0.75
/** Empirical κ below this is drawn at this value on the log axis (NNM often reaches the honest mean exactly). */
const KAPPA_FLOOR = 1e-4
/** Legend names of the two theory marks of the κ plot. */
const THEORY = ['κ of seed 001', 'lower bound f/(n − 2f)'] as const
const PALETTE = ['#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac']

export interface RobustnessParams extends SwarmCellParams {
  byzantineCount: number
  muSeed: number
  f: number | 'auto'
}

export interface RobustnessResult extends HonestOutcome {
  /** Evaluation rounds: [round, honest mean accuracy, honest min accuracy, consensus distance]. */
  curve: Array<[number, number, number, number]>
  kappa: KappaReport
  mixes: { ok: number, degraded: number, skipped: number }
}

function parseF (value: unknown): number | 'auto' {
  const text = String(value ?? '1').trim()
  if (text === 'auto') return 'auto'
  const f = Number(text)
  if (!Number.isInteger(f) || f < 0) throw new Error(`--f: expected an integer ≥ 0 or auto, got "${text}"`)
  return f
}

function cells (profile: Profile, options: Readonly<Record<string, unknown>>): Array<Cell<RobustnessParams>> {
  const defaults = DEFAULTS[profile]
  const topologyPath = String(options.topology ?? 'topologies/torus-4x4.json')
  const topology = readTopologySync(topologyPath)
  const rules = splitSpecList(String(options.rules ?? defaults.rules))
  const attacks = splitSpecList(String(options.attacks ?? defaults.attacks))
  const partitions = splitSpecList(String(options.heterogeneity ?? defaults.heterogeneity)).map(parseHeterogeneity)
  for (const rule of rules) {
    try { createRule(rule) } catch (error) { throw new Error(`--rules: "${rule}": ${(error as Error).message}`) }
  }
  for (const attack of attacks) {
    if (attack === 'none') continue
    try { parseBehaviour(attack) } catch (error) { throw new Error(`--attacks: "${attack}": ${(error as Error).message}`) }
  }
  const rounds = (options.rounds as number | undefined) ?? defaults.rounds
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds: expected an integer ≥ 1, got ${rounds}`)
  const f = parseF(options.f)
  const byzantineCount = (options.byzantine as number | undefined) ?? 3
  const muSeed = (options['mu-seed'] as number | undefined) ?? 0
  const out: Array<Cell<RobustnessParams>> = []
  for (const partition of partitions) {
    for (const rule of rules) {
      for (const attack of attacks) {
        const params: RobustnessParams = { ...swarmCell({ topologyPath, topology, rule, attack, partition, rounds }), byzantineCount, muSeed, f }
        // One seed for all cells: the same batch order and attack randomness everywhere.
        out.push({ id: safeId(`${params.heterogeneity}-${rule}-${attack}`), params, seed: 1 })
      }
    }
  }
  return out
}

async function run (cell: Cell<RobustnessParams>, context: SuiteContext): Promise<RobustnessResult> {
  const p = cell.params
  const topology = readTopologySync(p.topology)
  const plan = planSwarm({
    ...cellLaunch(p, topology),
    f: p.f,
    ...(p.attack === 'none' ? {} : { attack: p.attack, byzantineCount: p.byzantineCount }),
    muSeed: p.muSeed
  })
  const sim = await simulateSwarm({ plan, seed: cell.seed, signal: context.signal, progress: context.progress })
  return {
    ...honestOutcome(plan, sim),
    curve: sim.rounds.map((r) => [r.round + 1, round(r.meanAccuracy, 5), round(r.minAccuracy, 5), round(r.consensus, 5)]),
    kappa: sim.kappa,
    mixes: sim.mixes
  }
}

const num = (v: number | null | undefined, digits = 4): number | null => v === null || v === undefined || !Number.isFinite(v) ? null : round(v, digits)

function uniqueInOrder (values: string[]): string[] {
  return [...new Set(values)]
}

function summarize (results: Array<CellResult<RobustnessResult, RobustnessParams>>, profile: Profile): SuiteSummary {
  const rows = results.map((r) => ({ p: r.cell.params, r: r.result, ms: r.ms }))
  const hets = uniqueInOrder(rows.map((x) => x.p.heterogeneity))
  const rules = uniqueInOrder(rows.map((x) => x.p.rule))
  const attacks = uniqueInOrder(rows.map((x) => x.p.attack))
  const hetTitle = new Map(rows.map((x) => [x.p.heterogeneity, heterogeneityTitle(x.p.partition)]))
  const find = (het: string, rule: string, attack: string): RobustnessResult | undefined =>
    rows.find((x) => x.p.heterogeneity === het && x.p.rule === rule && x.p.attack === attack)?.r

  const accuracy: Table = {
    name: 'robustness',
    title: 'Honest accuracy, consensus and empirical κ per rule, attack and heterogeneity',
    columns: ['heterogeneity', 'rule', 'attack', 'honest mean acc', 'honest min acc', 'consensus distance', 'κ p95 (all)', 'κ max (1 ≤ b ≤ f)', 'κ theory', 'κ lower bound', 'overrun honest', 'cell s'],
    rows: rows.map(({ p, r, ms }) => [
      hetTitle.get(p.heterogeneity) ?? p.heterogeneity, p.rule, p.attack,
      num(r.meanAccuracy), num(r.minAccuracy), num(r.consensus),
      num(r.kappa.all.p95), num(r.kappa.covered.max), num(r.kappa.bound), num(r.kappa.lowerBound),
      r.overrun.length, round(ms / 1000, 3)
    ])
  }
  const kappa: Table = {
    name: 'kappa',
    title: 'Empirical κ over honest aggregations (b = Byzantine inputs of the aggregation)',
    columns: ['heterogeneity', 'rule', 'attack', 'aggregations', 'median (all)', 'p95 (all)', 'max (all)', 'with b ≥ 1', 'max (b ≥ 1)', 'with 1 ≤ b ≤ f', 'p95 (1 ≤ b ≤ f)', 'max (1 ≤ b ≤ f)', 'κ theory', 'above theory', 'b > f'],
    rows: rows.map(({ p, r }) => [
      hetTitle.get(p.heterogeneity) ?? p.heterogeneity, p.rule, p.attack,
      r.kappa.all.count, num(r.kappa.all.median), num(r.kappa.all.p95), num(r.kappa.all.max),
      r.kappa.exposed.count, num(r.kappa.exposed.max),
      r.kappa.covered.count, num(r.kappa.covered.p95), num(r.kappa.covered.max),
      num(r.kappa.bound), r.kappa.bound === null ? null : r.kappa.aboveBound, r.kappa.overrun
    ])
  }

  const plots: Plot[] = []
  const heat = rows.map(({ p, r }) => ({ heterogeneity: hetTitle.get(p.heterogeneity), rule: p.rule, attack: p.attack, accuracy: round(r.meanAccuracy, 4), label: r.meanAccuracy.toFixed(3) }))
  const accs = rows.map((x) => x.r.meanAccuracy)
  const middle = (Math.min(...accs) + Math.max(...accs)) / 2
  plots.push({
    name: 'accuracy-heatmap',
    title: 'Honest mean test accuracy: rule × attack, per heterogeneity',
    caption: prose.render('caption.accuracy-heatmap'),
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      data: { values: heat },
      facet: { column: { field: 'heterogeneity', type: 'nominal', sort: hets.map((h) => hetTitle.get(h)), title: null } },
      spec: {
        width: 44 * attacks.length,
        height: 26 * rules.length,
        encoding: {
          x: { field: 'attack', type: 'nominal', sort: attacks, title: 'attack', axis: { labelAngle: -30 } },
          y: { field: 'rule', type: 'nominal', sort: rules, title: 'rule' }
        },
        layer: [
          { mark: 'rect', encoding: { color: { field: 'accuracy', type: 'quantitative', title: 'honest mean acc', scale: { scheme: 'viridis' } } } },
          {
            mark: { type: 'text', fontSize: 10 },
            encoding: {
              text: { field: 'label', type: 'nominal' },
              color: { condition: { test: `datum.accuracy < ${round(middle, 4)}`, value: 'white' }, value: 'black' }
            }
          }
        ]
      }
    }
  })

  const kappaPoints = rows.filter(({ r }) => r.kappa.covered.max !== null).map(({ p, r }) => ({
    heterogeneity: hetTitle.get(p.heterogeneity),
    rule: p.rule,
    attack: p.attack,
    kappa: Math.max(KAPPA_FLOOR, r.kappa.covered.max as number)
  }))
  const theory: Array<Record<string, unknown>> = []
  for (const het of hets) {
    for (const rule of rules) {
      const any = rows.find((x) => x.p.heterogeneity === het && x.p.rule === rule && x.r.kappa.lowerBound !== null)?.r.kappa
      if (any === undefined) continue
      if (any.bound !== null) theory.push({ heterogeneity: hetTitle.get(het), rule, kind: 'theory', series: THEORY[0], kappa: any.bound })
      if (any.lowerBound !== null) theory.push({ heterogeneity: hetTitle.get(het), rule, kind: 'theory', series: THEORY[1], kappa: any.lowerBound })
    }
  }
  // One colour scale for attacks and theory marks, so the facets share a single legend.
  const kappaAttacks = attacks.filter((a) => kappaPoints.some((x) => x.attack === a))
  const seriesColor = {
    field: 'series',
    type: 'nominal',
    title: 'attack (points), theory (ticks)',
    scale: { domain: [...kappaAttacks, ...THEORY], range: [...kappaAttacks.map((_, i) => PALETTE[i % PALETTE.length]), '#222222', '#999999'] },
    legend: { labelLimit: 200, titleLimit: 300 }
  }
  if (kappaPoints.length > 0) {
    plots.push({
      name: 'kappa',
      title: 'Empirical κ (max over aggregations with 1 ≤ b ≤ f) against the theory',
      caption: prose.render('caption.kappa', { floor: KAPPA_FLOOR }),
      spec: {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        facet: { column: { field: 'heterogeneity', type: 'nominal', sort: hets.map((h) => hetTitle.get(h)), title: null } },
        data: { values: [...kappaPoints.map((x) => ({ ...x, kind: 'empirical', series: x.attack })), ...theory] },
        spec: {
          width: 34 * rules.length,
          height: 220,
          encoding: {
            x: { field: 'rule', type: 'nominal', sort: rules, title: 'rule', axis: { labelAngle: -30 } },
            y: { field: 'kappa', type: 'quantitative', scale: { type: 'log' }, title: 'κ' }
          },
          layer: [
            {
              transform: [{ filter: "datum.kind !== 'empirical'" }],
              mark: { type: 'tick', thickness: 2, size: 22 },
              encoding: { color: seriesColor }
            },
            {
              transform: [{ filter: "datum.kind === 'empirical'" }],
              mark: { type: 'point', filled: true, size: 60, opacity: 0.85 },
              encoding: { color: seriesColor }
            }
          ]
        }
      }
    })
  }

  const checks: Check[] = []
  const finite = rows.every(({ r }) => allFinite(r))
  checks.push({ name: 'all numbers finite', ok: finite, detail: finite ? `${rows.length} cells, every recorded number finite` : 'a cell recorded NaN or ±∞' })
  const undelivered = rows.filter((x) => !x.r.deliveryValid)
  checks.push({
    name: 'every swarm delivered its edges and every attack landed (otherwise a cell measured nothing)',
    ok: undelivered.length === 0,
    detail: undelivered.length === 0 ? 'every cell' : undelivered.slice(0, 5).map((x) => x.r.deliveryWarnings.join('; ')).join(' | ')
  })
  const bad = rows.filter(({ r }) => !(r.meanAccuracy >= 0 && r.meanAccuracy <= 1 && r.minAccuracy >= 0 && r.minAccuracy <= r.meanAccuracy + 1e-12))
  checks.push({ name: 'accuracies in [0, 1], min ≤ mean', ok: bad.length === 0, detail: bad.length === 0 ? 'every cell' : `out of range: ${bad.map((x) => `${x.p.heterogeneity}/${x.p.rule}/${x.p.attack}`).join(', ')}` })
  const clean = rows.filter(({ p }) => p.attack === 'none' && p.partition.kind === 'iid')
  if (clean.length > 0) {
    const low = clean.filter(({ r }) => r.meanAccuracy < NO_ATTACK_FLOOR)
    checks.push({
      name: `IID without attack: honest mean accuracy ≥ ${NO_ATTACK_FLOOR}`,
      ok: low.length === 0,
      detail: clean.map(({ p, r }) => `${p.rule} ${r.meanAccuracy.toFixed(3)}`).join(', ')
    })
  }
  const bounded = rows.filter(({ r }) => r.kappa.bound !== null && r.kappa.covered.count > 0)
  if (bounded.length > 0) {
    const above = bounded.filter(({ r }) => r.kappa.aboveBound > 0)
    checks.push({
      name: 'closed-form κ holds wherever it applies (1 ≤ b ≤ f)',
      ok: above.length === 0,
      detail: above.length === 0
        ? `${bounded.reduce((s, x) => s + x.r.kappa.covered.count, 0)} aggregations of ${uniqueInOrder(bounded.map((x) => x.p.rule)).join(', ')}; largest κ / theory ${Math.max(...bounded.map((x) => (x.r.kappa.covered.max as number) / (x.r.kappa.bound as number))).toFixed(3)}`
        : above.map((x) => `${x.p.heterogeneity}/${x.p.rule}/${x.p.attack}: ${x.r.kappa.aboveBound} above ${round(x.r.kappa.bound as number, 3)}`).join('; ')
    })
  }
  for (const het of hets) {
    const plain = find(het, 'mean', 'signflip')
    const robust = find(het, 'nnm+cwtm', 'signflip')
    if (plain === undefined || robust === undefined || het !== 'iid') continue
    checks.push({
      name: 'IID, sign flip: nnm+cwtm keeps a higher honest mean accuracy than mean',
      ok: robust.meanAccuracy > plain.meanAccuracy,
      detail: `nnm+cwtm ${robust.meanAccuracy.toFixed(3)} (min ${robust.minAccuracy.toFixed(3)}), mean ${plain.meanAccuracy.toFixed(3)} (min ${plain.minAccuracy.toFixed(3)})`
    })
  }

  const first = rows[0]
  const notes: string[] = []
  if (first !== undefined) {
    const p = first.p
    const attacked = rows.find((x) => x.r.byzantine.length > 0)?.r
    const totalS = rows.reduce((s, x) => s + x.ms, 0) / 1000
    const overrun = attacked?.overrun ?? []
    notes.push(
      prose.render('setup', {
        topology: p.topologyName,
        nodes: first.r.nodes,
        rounds: p.rounds,
        localSteps: p.localSteps,
        model: p.model,
        lr: p.lr,
        momentum: p.momentum,
        batchSize: p.batchSize,
        byzantine: attacked === undefined
          ? prose.render('byzantine.none')
          : prose.render('byzantine.drawn', { count: attacked.byzantine.length, peers: attacked.byzantine.join(', '), muSeed: p.muSeed }),
        tolerance: p.f === 'auto' ? prose.render('tolerance.auto') : prose.render('tolerance.fixed', { f: p.f }),
        overrun: overrun.length > 0 ? ' ' + prose.render(overrun.length === 1 ? 'overrun.one' : 'overrun.many', { peers: overrun.join(' and ') }) : ''
      }),
      prose.render('accuracy'),
      prose.render('kappa'),
      ...reading(rows, hets, rules, hetTitle),
      prose.render('time', { totalS: totalS.toFixed(0), cells: rows.length, perCell: (totalS / Math.max(1, rows.length)).toFixed(1) })
    )
  }
  return { tables: [accuracy, kappa], plots, checks, notes }
}

/** One sentence from the numbers: per heterogeneity, which rule holds up best and worst under attack. */
function reading (rows: Array<{ p: RobustnessParams, r: RobustnessResult }>, hets: string[], rules: string[], hetTitle: Map<string, string>): string[] {
  const parts: string[] = []
  for (const het of hets) {
    const attacked = rows.filter((x) => x.p.heterogeneity === het && x.p.attack !== 'none')
    const byRule = rules.map((rule) => {
      const rs = attacked.filter((x) => x.p.rule === rule)
      return { rule, count: rs.length, mean: rs.reduce((s, x) => s + x.r.meanAccuracy, 0) / Math.max(1, rs.length) }
    }).filter((x) => x.count > 0).sort((a, b) => b.mean - a.mean)
    if (byRule.length < 2) continue
    const best = byRule[0]; const worst = byRule[byRule.length - 1]
    parts.push(`${hetTitle.get(het) ?? het}: ${best.rule} ${best.mean.toFixed(3)}, ${worst.rule} ${worst.mean.toFixed(3)}`)
  }
  return parts.length === 0 ? [] : [prose.render('reading', { partitions: parts.join('; ') })]
}

export const robustness = defineSuite<RobustnessParams, RobustnessResult>({
  name: 'robustness',
  summary: 'Mixing rule × attack × data heterogeneity on one topology: honest accuracy, consensus and empirical vs theoretical κ',
  fullDuration: '~8 min',
  options: {
    topology: { type: 'string', description: 'topology file (with a byzantine section for μ_H)', default: 'topologies/torus-4x4.json', placeholder: 'file' },
    rules: { type: 'string', description: `mixing rules, comma-separated (default ${DEFAULTS.full.rules}; quick: ${DEFAULTS.quick.rules})`, placeholder: 'specs' },
    attacks: { type: 'string', description: `Byzantine behaviours, comma-separated, none for no attack (default ${DEFAULTS.full.attacks}; quick: ${DEFAULTS.quick.attacks})`, placeholder: 'specs' },
    heterogeneity: { type: 'string', description: `partitions: iid or Dirichlet α values, comma-separated (default ${DEFAULTS.full.heterogeneity}; quick: ${DEFAULTS.quick.heterogeneity})`, placeholder: 'list' },
    byzantine: { type: 'integer', description: 'Byzantine peers, drawn from μ_H conditioned on this count', default: 3, placeholder: 'k' },
    f: { type: 'string', description: 'tolerance at every node, or auto for each node\'s f_i(δ = 0.05) from μ_H', default: '1', placeholder: 'f|auto' },
    rounds: { type: 'integer', description: `rounds per cell (default ${DEFAULTS.full.rounds}; quick: ${DEFAULTS.quick.rounds})`, placeholder: 'n' },
    'mu-seed': { type: 'integer', description: 'seed of the μ_H draw of the Byzantine set', default: 0, placeholder: 's' }
  },
  cells,
  run,
  summarize
})
