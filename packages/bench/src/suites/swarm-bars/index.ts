// The peer's quality bars, measured on real libp2p swarms launched on this machine:
//
//   bar 1  torus-4x4, MNIST IID, MLP, no attack: honest mean test accuracy over the rounds.
//   bar 2  torus-4x4 with 3 Byzantine peers drawn from μ_H: rule × attack table of honest
//          accuracy (mean and min).
//   bar 3  regular-64: 64 peers; median round time, resident memory per peer and the compute /
//          communicate / aggregate split of a round.
//
// Each launch keeps its run directory under <out>/cells/<cell>/ so a cell's per-peer metrics can
// be inspected. A cell whose swarm lost honest-edge models or whose attack did not land measured
// nothing and is reported as "not a result".

import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { launchSwarm, planSwarm, type SwarmOptions } from '@murmur/peer'
import { readTopology } from '@murmur/topology'
import { launchDefaults } from '../../launch-defaults.ts'
import { listOption } from '../../options.ts'
import { median } from '../../stats.ts'
import type { Cell, CellResult, Check, Profile, SuiteContext, SuiteSummary, Table } from '../../suite.ts'
import { defineSuite } from '../../suite.ts'
import { loadTemplate } from '../../template.ts'

/** The report's paragraphs (report.md beside this file). */
const prose = loadTemplate(new URL('report.md', import.meta.url))

const BARS = [1, 2, 3] as const
type Bar = typeof BARS[number]
const TORUS = 'topologies/torus-4x4.json'
const REGULAR = 'topologies/regular-64.json'
/** Bar 1 reports the first round whose honest mean accuracy reached this. */
const TARGET = 0.94

const DEFAULTS = {
  full: {
    bars: '1,2,3', rounds: 300, attackRounds: 100, scaleRounds: 50, rules: 'mean,cwmed,nnm+cwtm,scclip', attacks: 'signflip,alie,ipm,labelflip,dissensus'
  },
  quick: { bars: '1,2', rounds: 10, attackRounds: 8, scaleRounds: 5, rules: 'mean,nnm+cwtm', attacks: 'signflip' }
}

/** `(default <full>; quick: <quick>)` for an option's help. */
const profiles = (key: keyof typeof DEFAULTS.full): string => `(default ${DEFAULTS.full[key]}; quick: ${DEFAULTS.quick[key]})`

interface Params {
  bar: Bar
  topologyPath: string
  rounds: number
  rule: string
  f: number | 'auto'
  /** Bar 2: the attack of the 3 Byzantine peers. */
  attack?: string
}

export interface SwarmBarResult {
  rounds: number
  accuracy?: number
  minAccuracy?: number
  /** First round whose honest mean accuracy reached 94%, if any. */
  reached94?: number
  medianRoundMs: number
  computeMs: number
  communicateMs: number
  aggregateMs: number
  rssPerPeerMiB: number
  wallS: number
  byzantine: string[]
  /** Honest-edge delivery and, under attack, the share of crafted models that reached honest peers. */
  honestDelivered: number
  attackReached?: number
  /** False when edges lost models or the attack did not land: then the cell measured nothing. */
  valid: boolean
  warnings: string[]
}

function integer (options: Readonly<Record<string, unknown>>, name: string, fallback: number): number {
  const value = options[name] ?? fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new Error(`--${name}: expected an integer ≥ 1, got ${String(value)}`)
  return value
}

const safeId = (name: string): string => name.replace(/[^a-z0-9.+-]+/gi, '_')

function cells (profile: Profile, options: Readonly<Record<string, unknown>>): Array<Cell<Params>> {
  const d = DEFAULTS[profile]
  const bars = (listOption(options.bars, 'bars') ?? d.bars.split(',')).map((b) => {
    const bar = BARS.find((x) => String(x) === b)
    if (bar === undefined) throw new Error(`--bars: expected some of ${BARS.join(', ')}, got "${b}"`)
    return bar
  })
  const rules = listOption(options.rules, 'rules') ?? d.rules.split(',')
  const attacks = listOption(options.attacks, 'attacks') ?? d.attacks.split(',')
  const out: Array<Cell<Params>> = []
  if (bars.includes(1)) {
    const rounds = integer(options, 'rounds', d.rounds)
    out.push({ id: 'bar1-torus-mlp-noattack', params: { bar: 1, topologyPath: TORUS, rounds, rule: 'nnm+cwtm', f: 'auto' }, seed: 0 })
  }
  if (bars.includes(2)) {
    const rounds = integer(options, 'attack-rounds', d.attackRounds)
    for (const attack of attacks) {
      for (const rule of rules) {
        out.push({ id: safeId(`bar2-${attack}-${rule}-${rounds}`), params: { bar: 2, topologyPath: TORUS, rounds, rule, f: 1, attack }, seed: 0 })
      }
    }
  }
  if (bars.includes(3)) {
    const rounds = integer(options, 'scale-rounds', d.scaleRounds)
    out.push({ id: 'bar3-regular64', params: { bar: 3, topologyPath: REGULAR, rounds, rule: 'nnm+cwtm', f: 'auto' }, seed: 0 })
  }
  return out
}

async function run (cell: Cell<Params>, context: SuiteContext): Promise<SwarmBarResult> {
  const p = cell.params
  const topology = await readTopology(p.topologyPath)
  const defaults = launchDefaults(topology, p.rounds)
  // Every bar starts from the launch defaults with rule nnm+cwtm and an evaluation every 10 rounds.
  const options: SwarmOptions = {
    ...defaults,
    rule: p.rule,
    f: p.f,
    evalEvery: 10,
    task: p.bar === 3 ? { dataset: 'mnist', model: 'mlp', seed: cell.seed } : { ...defaults.task, seed: cell.seed },
    ...(p.attack === undefined ? {} : { attack: p.attack, byzantineCount: 3, muSeed: cell.seed })
  }
  const dir = join(context.outDir, 'cells', cell.id)
  rmSync(dir, { recursive: true, force: true })
  const plan = planSwarm(options)
  context.log('%s: %d peers, %d rounds, Byzantine %s', cell.id, plan.nodes.length, p.rounds, plan.byzantine.join(',') || 'none')
  const result = await launchSwarm({
    plan,
    runDir: dir,
    signal: context.signal,
    onRound: (r) => {
      context.progress((r.round + 1) / p.rounds)
      if (r.accuracy !== undefined) context.log('  round %d: acc %s%% round %d ms', r.round + 1, (100 * r.accuracy).toFixed(2), Math.round(r.roundMs))
    }
  })
  const rounds = result.rounds
  const reached = rounds.find((x) => (x.accuracy ?? 0) >= TARGET)
  const out: SwarmBarResult = {
    rounds: rounds.length,
    ...(result.final?.accuracy === undefined ? {} : { accuracy: result.final.accuracy, minAccuracy: result.final.minAccuracy }),
    ...(reached === undefined ? {} : { reached94: reached.round + 1 }),
    medianRoundMs: median(rounds.map((r) => r.roundMs)),
    computeMs: median(rounds.map((r) => r.computeMs)),
    communicateMs: median(rounds.map((r) => r.communicateMs)),
    aggregateMs: median(rounds.map((r) => r.aggregateMs)),
    rssPerPeerMiB: median(rounds.map((r) => r.rssPerPeer)) / 2 ** 20,
    wallS: result.wallMs / 1000,
    byzantine: plan.byzantine,
    honestDelivered: result.delivery.honest.share,
    ...(result.delivery.attack == null ? {} : { attackReached: result.delivery.attack.reached }),
    valid: result.delivery.valid,
    warnings: result.delivery.warnings
  }
  for (const warning of out.warnings) context.log('%s: warning: %s', cell.id, warning)
  return out
}

const pct = (x: number | undefined): string => x === undefined ? '–' : `${(100 * x).toFixed(2)}%`

/** A cell's accuracy, or why it is no result. */
function accuracy (r: SwarmBarResult, x: number | undefined): string {
  if (r.valid) return pct(x)
  return prose.render('not-a-result', { warnings: r.warnings.length, plural: r.warnings.length === 1 ? '' : 's' })
}

function summarize (results: Array<CellResult<SwarmBarResult, Params>>, profile: Profile): SuiteSummary {
  const tables: Table[] = []
  const notes: string[] = [prose.render('setup')]
  const bar1 = results.find((r) => r.cell.params.bar === 1)
  if (bar1 !== undefined) {
    const r = bar1.result
    tables.push({
      name: 'bar1',
      title: prose.render('bar1.title'),
      columns: ['rounds', 'honest mean acc', 'honest min acc', `first round ≥ ${100 * TARGET}%`, 'median round ms'],
      rows: [[r.rounds, accuracy(r, r.accuracy), accuracy(r, r.minAccuracy), r.reached94 ?? 'not reached', Math.round(r.medianRoundMs)]]
    })
  }
  const bar2 = results.filter((r) => r.cell.params.bar === 2)
  if (bar2.length > 0) {
    const rules = [...new Set(bar2.map((r) => r.cell.params.rule))]
    const attacks = [...new Set(bar2.map((r) => r.cell.params.attack ?? 'none'))]
    const at = (attack: string, rule: string): SwarmBarResult | undefined =>
      bar2.find((r) => r.cell.params.attack === attack && r.cell.params.rule === rule)?.result
    tables.push({
      name: 'bar2',
      title: prose.render('bar2.title', { rounds: bar2[0].cell.params.rounds }),
      columns: ['attack', ...rules],
      rows: attacks.map((a) => [a, ...rules.map((rule) => {
        const r = at(a, rule)
        if (r === undefined) return null
        return r.valid ? `${pct(r.accuracy)} (${pct(r.minAccuracy)})` : accuracy(r, undefined)
      })])
    })
    notes.push(prose.render('bar2'))
  }
  const bar3 = results.find((r) => r.cell.params.bar === 3)
  if (bar3 !== undefined) {
    const r = bar3.result
    const total = r.computeMs + r.communicateMs + r.aggregateMs
    const share = (x: number): string => `${x.toFixed(1)} ms (${(100 * x / total).toFixed(1)}%)`
    tables.push({
      name: 'bar3',
      title: prose.render('bar3.title'),
      columns: ['rounds', 'honest mean acc', 'median round ms', 'RSS per peer MiB', 'compute', 'communicate (incl. waiting)', 'aggregate'],
      rows: [[
        r.rounds, pct(r.accuracy), Math.round(r.medianRoundMs), Math.round(r.rssPerPeerMiB), share(r.computeMs), share(r.communicateMs), share(r.aggregateMs)
      ]]
    })
    notes.push(prose.render('bar3'))
  }
  const invalid = results.filter((r) => !r.result.valid)
  const checks: Check[] = [{
    name: 'every swarm delivered its edges and every attack landed (otherwise a cell measured nothing)',
    ok: invalid.length === 0,
    detail: invalid.length === 0 ? `${results.length} cells` : invalid.map((r) => `${r.cell.id}: ${r.result.warnings.join(' | ')}`).join('; ')
  }]
  if (profile === 'quick') notes.push(prose.render('quick'))
  return { tables, plots: [], checks, notes }
}

export const swarmBars = defineSuite<Params, SwarmBarResult>({
  name: 'swarm-bars',
  summary: 'the peer\'s quality bars on real libp2p swarms: accuracy without attack, rule × attack accuracy, 64 peers on one machine',
  fullDuration: '~45 min',
  options: {
    bars: { type: 'string', description: `bars to measure, some of 1, 2, 3 ${profiles('bars')}`, placeholder: 'list' },
    rounds: { type: 'integer', description: `bar 1 rounds ${profiles('rounds')}`, placeholder: 'n' },
    'attack-rounds': { type: 'integer', description: `bar 2 rounds per cell ${profiles('attackRounds')}`, placeholder: 'n' },
    'scale-rounds': { type: 'integer', description: `bar 3 rounds ${profiles('scaleRounds')}`, placeholder: 'n' },
    rules: { type: 'string', description: `bar 2 rules, comma-separated ${profiles('rules')}`, placeholder: 'specs' },
    attacks: { type: 'string', description: `bar 2 attacks, comma-separated ${profiles('attacks')}`, placeholder: 'specs' }
  },
  cells,
  run,
  summarize
})
