// Does a real swarm deliver what its topology promises on a machine that is not idle?
//
//   pause  torus-4x4 launch with the launch defaults (MNIST, MLP, rule scclip, f_i from μ_H); one of
//          its two worker processes (half the peers) is frozen for --pause-s seconds (SIGSTOP, then
//          SIGCONT) once round --pause-after is done. Passes when over the last 5 rounds every honest
//          peer received from every topology neighbour, no peer of the running worker ever went a
//          round without any honest neighbour's model, and the paused peers did so only in the
//          rounds the pause cut through (at most 2 each).
//   load   the same launch with --hogs CPU-bound processes beside it. Passes when ≥ 99 % of the
//          models between honest peers arrived in time over the run.
//
// Each launch keeps its run directory under <out>/cells/<cell>/ (events.jsonl says which edge
// missed which round).

import { spawn, type ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { launchSwarm, planSwarm, readMetricsLog, type DeliveryReport } from '@murmur/peer'
import { readTopology } from '@murmur/topology'
import { launchDefaults } from '../../launch-defaults.ts'
import { listOption } from '../../options.ts'
import { median } from '../../stats.ts'
import type { Cell, CellResult, Check, Profile, SuiteContext, SuiteSummary, Table } from '../../suite.ts'
import { defineSuite } from '../../suite.ts'
import { loadTemplate } from '../../template.ts'

/** The report's paragraphs (report.md beside this file). */
const prose = loadTemplate(new URL('report.md', import.meta.url))

const CELLS = ['pause', 'load'] as const
type CellName = typeof CELLS[number]
const TOPOLOGY = 'topologies/torus-4x4.json'
/** Rounds at the end over which every edge must deliver again. */
const HEALED_ROUNDS = 5
/** Rounds a paused peer may spend without any honest neighbour's model: those the pause cut through. */
const PAUSED_ALONE = 2
const MIN_DELIVERY = 0.99

const DEFAULTS = {
  full: { rounds: 45, pauseS: 45, pauseAfter: 8, hogs: 4 },
  quick: { rounds: 20, pauseS: 5, pauseAfter: 4, hogs: 2 }
}

/** `(default <full>; quick: <quick>)` for an option's help. */
const profiles = (key: keyof typeof DEFAULTS.full): string => `(default ${DEFAULTS.full[key]}; quick: ${DEFAULTS.quick[key]})`

interface Params {
  cell: CellName
  topologyPath: string
  rounds: number
  /** pause: the worker is frozen this long once round `pauseAfter` is done. */
  pauseMs: number
  pauseAfter: number
  /** load: CPU-bound processes beside the launch. */
  hogs: number
}

export interface ResilienceResult {
  delivery: DeliveryReport
  /** Per honest peer: neighbours whose model was missing in one of the last 5 rounds. */
  missingAtEnd: Record<string, string[]>
  /** Rounds without any honest neighbour's model (skipped catch-up rounds aside), by peer. */
  isolatedRounds: Record<string, number[]>
  /** pause: the peers of the frozen worker. */
  paused: string[]
  medianRoundMs: number
  wallS: number
}

function integer (options: Readonly<Record<string, unknown>>, name: string, fallback: number, min: number): number {
  const value = options[name] ?? fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) throw new Error(`--${name}: expected an integer ≥ ${min}, got ${String(value)}`)
  return value
}

function cells (profile: Profile, options: Readonly<Record<string, unknown>>): Array<Cell<Params>> {
  const d = DEFAULTS[profile]
  const names = listOption(options.cells, 'cells') ?? [...CELLS]
  for (const name of names) if (!(CELLS as readonly string[]).includes(name)) throw new Error(`--cells: expected some of ${CELLS.join(', ')}, got "${name}"`)
  const pauseAfter = integer(options, 'pause-after', d.pauseAfter, 1)
  const rounds = integer(options, 'rounds', d.rounds, 1)
  if (rounds <= pauseAfter + HEALED_ROUNDS) throw new Error(`--rounds: expected an integer > ${pauseAfter + HEALED_ROUNDS}, got ${rounds}`)
  const pauseMs = 1000 * integer(options, 'pause-s', d.pauseS, 1)
  const hogs = integer(options, 'hogs', d.hogs, 0)
  return CELLS.filter((c) => names.includes(c)).map((cell) => ({
    id: cell,
    params: { cell, topologyPath: TOPOLOGY, rounds, pauseMs, pauseAfter, hogs },
    seed: 0
  }))
}

/** One launch; `during` may act on the worker processes once round `pauseAfter` is summarised. */
async function launch (cell: Cell<Params>, context: SuiteContext, during?: (pids: number[]) => void): Promise<ResilienceResult> {
  const p = cell.params
  const topology = await readTopology(p.topologyPath)
  const options = launchDefaults(topology, p.rounds)
  const dir = join(context.outDir, 'cells', cell.id)
  rmSync(dir, { recursive: true, force: true })
  const plan = planSwarm({ ...options, task: { ...options.task, seed: cell.seed } })
  let pids: number[] = []
  let acted = false
  const result = await launchSwarm({
    plan,
    runDir: dir,
    signal: context.signal,
    onWorkers: (ids) => { pids = ids },
    onRound: (r) => {
      context.log('%s: round %d/%d edges %d/%d live, deadline %d ms, round %d ms',
        cell.id, r.round + 1, p.rounds, r.edgesLive, r.edges, r.deadlineMs, Math.round(r.roundMs))
      context.progress((r.round + 1) / p.rounds)
      if (!acted && r.round + 1 >= p.pauseAfter && during !== undefined) { acted = true; during(pids) }
    }
  })
  const missingAtEnd: Record<string, string[]> = {}
  const isolatedRounds: Record<string, number[]> = {}
  const byzantine = new Set(plan.byzantine)
  for (const node of plan.nodes.filter((n) => !n.byzantine)) {
    const all = readMetricsLog(join(dir, 'peers', node.id, 'metrics.jsonl'))
    const honestNeighbours = node.neighbours.filter((id) => !byzantine.has(id))
    const alone = all
      .filter((m) => m.skipReason !== 'behind' && honestNeighbours.length > 0 && honestNeighbours.every((id) => m.missing.includes(id)))
      .map((m) => m.round)
    if (alone.length > 0) isolatedRounds[node.id] = alone
    const last = all.filter((m) => m.round >= p.rounds - HEALED_ROUNDS)
    const missing = [...new Set(last.flatMap((m) => m.missing))]
    if (missing.length > 0 || last.length < HEALED_ROUNDS) missingAtEnd[node.id] = last.length < HEALED_ROUNDS ? ['(fewer than 5 rounds reported)'] : missing
  }
  // The launcher puts node i in worker i mod 2; the paused worker is the last one started.
  const paused = p.cell === 'pause' ? topology.nodes.filter((_, i) => i % 2 === 1).map((n) => n.id) : []
  const medianRoundMs = median(result.rounds.map((r) => r.roundMs))
  return { delivery: result.delivery, missingAtEnd, isolatedRounds, paused, medianRoundMs, wallS: result.wallMs / 1000 }
}

async function run (cell: Cell<Params>, context: SuiteContext): Promise<ResilienceResult> {
  const p = cell.params
  if (p.cell === 'pause') {
    let frozen: number | undefined
    let timer: NodeJS.Timeout | undefined
    const resume = (): void => {
      if (frozen === undefined) return
      process.kill(frozen, 'SIGCONT')
      context.log('pause: worker %d resumed', frozen)
      frozen = undefined
    }
    try {
      return await launch(cell, context, (pids) => {
        frozen = pids[pids.length - 1]
        context.log('pause: freezing worker %d for %d s', frozen, p.pauseMs / 1000)
        process.kill(frozen, 'SIGSTOP')
        timer = setTimeout(resume, p.pauseMs)
      })
    } finally {
      // A launch that ends (or fails) within the pause leaves no frozen process behind.
      clearTimeout(timer)
      try { resume() } catch { /* the worker is gone already */ }
    }
  }
  const spinners: ChildProcess[] = Array.from({ length: p.hogs }, () => spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }))
  // However the cell ends, the spinning processes end with it.
  const stopSpinners = (): void => { for (const s of spinners) s.kill('SIGKILL') }
  process.once('exit', stopSpinners)
  try {
    return await launch(cell, context)
  } finally {
    stopSpinners()
    process.off('exit', stopSpinners)
  }
}

const pct = (x: number): string => `${(100 * x).toFixed(2)} %`

/** Whether a cell passed its bar, what the bar asks and what was measured, in words. */
export function judge (p: Params, r: ResilienceResult): { passed: boolean, bar: string, measured: string, load: string } {
  if (p.cell === 'pause') {
    const healed = Object.keys(r.missingAtEnd).length === 0
    const paused = new Set(r.paused)
    const runningAlone = Object.keys(r.isolatedRounds).filter((id) => !paused.has(id))
    const pausedAlone = Object.entries(r.isolatedRounds).filter(([id, rs]) => paused.has(id) && rs.length > PAUSED_ALONE).map(([id]) => id)
    return {
      passed: healed && runningAlone.length === 0 && pausedAlone.length === 0,
      bar: prose.render('bar.pause', { pauseS: p.pauseMs / 1000, pauseAfter: p.pauseAfter }),
      measured: prose.render('measured.pause', {
        healed: healed ? prose.render('healed') : prose.render('missing', { missing: JSON.stringify(r.missingAtEnd) }),
        isolated: JSON.stringify(r.isolatedRounds),
        skipped: r.delivery.skippedBehind,
        delivered: pct(r.delivery.honest.share)
      }),
      load: prose.render('load.none')
    }
  }
  return {
    passed: r.delivery.honest.share >= MIN_DELIVERY,
    bar: prose.render('bar.load', { hogs: p.hogs }),
    measured: prose.render('measured.load', {
      delivered: pct(r.delivery.honest.share),
      count: r.delivery.honest.delivered,
      expected: r.delivery.honest.expected,
      isolated: r.delivery.isolated.peerRounds
    }),
    load: prose.render('load.hogs', { hogs: p.hogs })
  }
}

function summarize (results: Array<CellResult<ResilienceResult, Params>>, profile: Profile): SuiteSummary {
  const judged = results.map((r) => ({ p: r.cell.params, r: r.result, ...judge(r.cell.params, r.result) }))
  const table: Table = {
    name: 'resilience',
    title: 'Cells, their bars and what was measured',
    columns: ['cell', 'passed', 'bar', 'measured', 'load', 'median round ms', 'wall s'],
    rows: judged.map((j) => [j.p.cell, j.passed ? 'yes' : 'no', j.bar, j.measured, j.load, Math.round(j.r.medianRoundMs), Math.round(j.r.wallS)])
  }
  const checks: Check[] = judged.map((j) => ({ name: prose.render(`check.${j.p.cell}`), ok: j.passed, detail: j.measured }))
  const first = results[0]?.cell.params
  const notes = [
    prose.render('setup', { rounds: first?.rounds ?? '?' }),
    ...(profile === 'quick' ? [prose.render('quick')] : [])
  ]
  return { tables: [table], plots: [], checks, notes }
}

export const resilience = defineSuite<Params, ResilienceResult>({
  name: 'resilience',
  summary: 'real torus-4x4 launches that must deliver what the topology promises with a worker frozen or the CPU loaded',
  fullDuration: '~2 min',
  options: {
    cells: { type: 'string', description: `cells to run (default: all of ${CELLS.join(', ')})`, placeholder: 'list' },
    rounds: { type: 'integer', description: `rounds per launch ${profiles('rounds')}`, placeholder: 'n' },
    'pause-s': { type: 'integer', description: `pause: seconds the worker stays frozen ${profiles('pauseS')}`, placeholder: 's' },
    'pause-after': { type: 'integer', description: `pause: freeze once this round is done ${profiles('pauseAfter')}`, placeholder: 'round' },
    hogs: { type: 'integer', description: `load: CPU-bound processes beside the launch ${profiles('hogs')}`, placeholder: 'n' }
  },
  cells,
  run,
  summarize
})
