// Speed of the robust aggregation rules as a suite: one cell per (n, d), every rule timed in it.
// Wall times on a shared machine drift with load, so a cell interleaves the rules (run r times
// each rule once, starting at a rotating position) and reports, per rule, the median time and
// the median of its per-run ratio to `mean` timed in the same run: the ratio cancels most of the
// drift and is the figure to compare across machines and runs.

import * as robust from '@murmur/robust'
import {
  buildRule, callOptions, caseLabel, exposeGc, measureCallMemory, normalInputs, prepareCase, RULE_CASES, selectCases, timeCall, type PreparedCase
} from '../../rule-timing.ts'
import { sizeList } from '../../options.ts'
import { allFinite, decades, exp10, median, round } from '../../stats.ts'
import type { Cell, CellResult, Check, Plot, Profile, SuiteContext, SuiteSummary, Table } from '../../suite.ts'
import { defineSuite } from '../../suite.ts'
import { loadTemplate } from '../../template.ts'

/** The report's paragraphs (report.md beside this file). */
const prose = loadTemplate(new URL('report.md', import.meta.url))

interface Params {
  n: number
  d: number
  f: number
  runs: number
  rules: string[]
  assumeFinite: boolean
}

export interface RuleTiming {
  rule: string
  kernels: string
  /** The tolerance it ran with when the cell's f needs more inputs than n (Bulyan: n ≥ 4f + 3). */
  f?: number
  /** Why the rule was not timed (too few inputs for f, not exported, failed). */
  skipped?: string
  /** Wall time of each run, ms, in run order. */
  times?: number[]
  medianMs?: number
  minMs?: number
  /** Median over runs of time(rule) / time(mean) in the same run. */
  ratioToMean?: number
  /** ArrayBuffer memory one call leaves allocated, as a multiple of the input size. */
  extraPerInput?: number
}

export interface AggregatorsResult {
  n: number
  d: number
  f: number
  runs: number
  rules: RuleTiming[]
}

const isTimed = (c: PreparedCase): c is Extract<PreparedCase, { rule: robust.Aggregator }> => c.skipped === undefined

async function runCell (cell: Cell<Params>, context: SuiteContext): Promise<AggregatorsResult> {
  const p = cell.params
  const cases = selectCases(p.rules)
  const inputs = normalInputs(p.n, p.d, robust.createRng(cell.seed))
  const out = new Float32Array(p.d)
  const gc = exposeGc()
  // A rule that cannot take the cell's f with n inputs runs with the largest f ≥ 1 it can:
  // its cost hardly depends on f, and a missing row says less than a row with its f named.
  const fs = cases.map((c) => {
    const rule = buildRule(c)
    if (typeof rule === 'string' || rule.minInputs(p.f) <= p.n) return p.f
    const f = robust.maxTolerableF(rule, p.n)
    return f >= 1 ? f : p.f
  })
  const prepared = cases.map((c, k) => prepareCase(c, p.n, fs[k]))
  const rows: RuleTiming[] = prepared.map((c, k) => ({
    rule: c.label,
    kernels: c.kernelsName,
    ...(fs[k] === p.f ? {} : { f: fs[k] }),
    ...(c.skipped === undefined ? {} : { skipped: c.skipped })
  }))
  const options = prepared.map((_, k) => callOptions(fs[k], p.assumeFinite))
  // Warm-up (compiles, grows WebAssembly memory, fills caches), then the memory one call leaves.
  for (const [k, c] of prepared.entries()) {
    if (!isTimed(c)) continue
    try {
      timeCall(c, inputs, options[k], out)
      rows[k].extraPerInput = round(measureCallMemory(c, inputs, options[k], out, gc).extraPerInput, 3)
      rows[k].times = []
    } catch (error) {
      rows[k].skipped = `failed: ${error instanceof Error ? error.message : String(error)}`
    }
  }
  const live = prepared.map((c, k) => k).filter((k) => rows[k].times !== undefined)
  for (let r = 0; r < p.runs; r++) {
    if (context.signal.aborted) break
    for (let s = 0; s < live.length; s++) {
      const k = live[(s + r) % live.length] // rotate the order: no rule always runs right after another
      rows[k].times?.push(timeCall(prepared[k] as Extract<PreparedCase, { rule: robust.Aggregator }>, inputs, options[k], out))
    }
    context.progress((r + 1) / p.runs)
  }
  const meanRow = rows.find((row) => row.rule === 'mean' && row.times !== undefined)
  for (const row of rows) {
    if (row.times === undefined) continue
    row.times = row.times.map((t) => round(t, 4))
    row.medianMs = round(median(row.times), 4)
    row.minMs = Math.min(...row.times)
    if (meanRow?.times !== undefined) {
      const mt = meanRow.times
      row.ratioToMean = round(median(row.times.map((t, r) => t / mt[r])), 4)
    }
  }
  return { n: p.n, d: p.d, f: p.f, runs: p.runs, rules: rows }
}

function summarize (results: Array<CellResult<AggregatorsResult, Params>>, profile: Profile): SuiteSummary {
  const rs = results.map((r) => r.result)
  const timings: Table = {
    name: 'timings',
    title: 'Median wall time per call and ratio to mean in the same runs',
    columns: ['rule', 'kernels', 'n', 'd', 'f', 'runs', 'median ms', 'min ms', '× mean', 'extra memory × input', 'note'],
    rows: rs.flatMap((r) => r.rules.map((t) => [
      t.rule, t.kernels, r.n, r.d, t.f ?? r.f, t.times?.length ?? 0, t.medianMs ?? null, t.minMs ?? null, t.ratioToMean ?? null, t.extraPerInput ?? null, t.skipped ?? ''
    ]))
  }
  const cellName = (r: AggregatorsResult): string => `n=${r.n} d=${exp10(r.d)}`
  const ruleOrder = [...new Set(rs.flatMap((r) => r.rules.map((t) => t.rule)))]
  const ratios: Table = {
    name: 'ratio-to-mean',
    title: 'Time relative to mean (median of per-run ratios), per (n, d)',
    columns: ['rule', ...rs.map(cellName)],
    rows: ruleOrder.map((rule) => [rule, ...rs.map((r) => r.rules.find((t) => t.rule === rule)?.ratioToMean ?? null)])
  }

  const points = rs.flatMap((r) => r.rules.filter((t) => t.medianMs !== undefined).map((t) => ({
    rule: t.rule, n: r.n, d: r.d, ms: t.medianMs, ratio: t.ratioToMean
  })))
  const ds = [...new Set(rs.map((r) => r.d))]
  const ns = [...new Set(rs.map((r) => r.n))].sort((a, b) => a - b)
  const byD = ds.length > 1
  const msTicks = decades(points.map((p) => p.ms as number))
  const plots: Plot[] = [{
    name: 'time',
    title: byD ? 'Median time per call vs dimension d' : `Median time per call vs n (d = ${exp10(ds[0])})`,
    caption: prose.render(byD ? 'caption.time.by-d' : 'caption.time.by-n'),
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      data: { values: points },
      ...(byD ? { facet: { field: 'n', type: 'ordinal', title: 'n', sort: ns }, columns: 3 } : {}),
      ...(byD
        ? {
            spec: {
              width: 240,
              height: 220,
              mark: { type: 'line', point: true, strokeWidth: 1.4 },
              encoding: {
                x: { field: 'd', type: 'quantitative', scale: { type: 'log' }, title: 'd', axis: { values: ds, format: '.0e' } },
                y: { field: 'ms', type: 'quantitative', scale: { type: 'log' }, title: 'median ms per call', axis: { values: msTicks, format: '~g' } },
                color: { field: 'rule', type: 'nominal', sort: ruleOrder, scale: { scheme: 'category20' } }
              }
            }
          }
        : {
            width: 420,
            height: 280,
            mark: { type: 'line', point: true, strokeWidth: 1.4 },
            encoding: {
              x: { field: 'n', type: 'quantitative', title: 'n (inputs)', scale: { type: 'log', base: 2 }, axis: { values: ns } },
              y: { field: 'ms', type: 'quantitative', scale: { type: 'log' }, title: 'median ms per call', axis: { values: msTicks, format: '~g' } },
              color: { field: 'rule', type: 'nominal', sort: ruleOrder, scale: { scheme: 'category20' } }
            }
          })
    }
  }]
  const largest = rs.reduce<AggregatorsResult | undefined>((best, r) => (best === undefined || r.n * r.d > best.n * best.d ? r : best), undefined)
  if (largest !== undefined) {
    plots.push({
      name: 'ratio',
      title: `Time relative to mean at n = ${largest.n}, d = ${exp10(largest.d)}`,
      caption: prose.render('caption.ratio'),
      spec: {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        width: 420,
        height: { step: 16 },
        data: { values: largest.rules.filter((t) => t.ratioToMean !== undefined).map((t) => ({ rule: t.rule, ratio: t.ratioToMean, label: `${t.ratioToMean as number}×` })) },
        encoding: {
          y: { field: 'rule', type: 'nominal', sort: { field: 'ratio', order: 'ascending' }, title: null }
        },
        layer: [
          {
            mark: { type: 'rule', color: '#bbb' },
            encoding: { x: { field: 'ratio', type: 'quantitative', scale: { type: 'log' } }, x2: { datum: 1 } }
          },
          {
            mark: { type: 'point', filled: true, size: 60, color: '#4c78a8' },
            encoding: { x: { field: 'ratio', type: 'quantitative', scale: { type: 'log' }, title: '× time of mean (log scale)', axis: { values: decades(largest.rules.map((t) => t.ratioToMean ?? 0)), format: '~g' } } }
          },
          {
            mark: { type: 'text', align: 'left', dx: 6, fontSize: 10, color: '#555' },
            encoding: { x: { field: 'ratio', type: 'quantitative' }, text: { field: 'label' } }
          }
        ]
      }
    })
  }

  const checks: Check[] = []
  const measured = rs.flatMap((r) => r.rules.filter((t) => t.times !== undefined))
  const finite = allFinite(rs) && measured.every((t) => (t.medianMs ?? 0) > 0 && (t.times?.length ?? 0) > 0)
  checks.push({ name: 'timings finite and positive', ok: finite, detail: `${measured.length} rule timings over ${rs.length} cell${rs.length === 1 ? '' : 's'}` })
  const failed = rs.flatMap((r) => r.rules.filter((t) => t.skipped?.startsWith('failed') === true).map((t) => `${t.rule} at ${cellName(r)}: ${t.skipped as string}`))
  checks.push({ name: 'no rule failed', ok: failed.length === 0, detail: failed.length === 0 ? 'every rule ran or was skipped for a stated reason (too few inputs, not exported)' : failed.join('; ') })
  const meanOk = rs.every((r) => r.rules.find((t) => t.rule === 'mean')?.ratioToMean === 1)
  checks.push({ name: 'mean measured in every cell', ok: meanOk, detail: meanOk ? 'every ratio has its baseline' : 'some cell has no mean timing, so its ratios are missing' })
  const kernelPairs = rs.flatMap((r) => {
    const js = r.rules.find((t) => t.rule === 'cwtm[js]')?.ratioToMean
    const wasm = r.rules.find((t) => t.rule === 'cwtm[wasm]')?.ratioToMean
    return js === undefined || wasm === undefined ? [] : [{ cell: cellName(r), speedup: js / wasm }]
  })
  if (kernelPairs.length > 0) {
    const slowest = kernelPairs.reduce((a, b) => (b.speedup < a.speedup ? b : a))
    checks.push({
      name: 'WebAssembly kernels beat the TypeScript ones on cwtm',
      ok: kernelPairs.every((k) => k.speedup > 1),
      detail: `smallest speed-up ${round(slowest.speedup, 3)}× at ${slowest.cell}`
    })
  }

  const first = results[0]?.cell.params
  const notes = [
    prose.render('inputs', { finite: prose.render(first?.assumeFinite === false ? 'finite.scanned' : 'finite.declared') }),
    prose.render('timing', { runs: first?.runs ?? '?' }),
    ...(profile === 'quick' ? [prose.render('quick')] : [])
  ]
  return { tables: [ratios, timings], plots, checks, notes }
}

export const aggregators = defineSuite<Params, AggregatorsResult>({
  name: 'aggregators',
  summary: 'speed of every robust aggregation rule vs n and d, as medians and ratios to mean',
  fullDuration: '~1.5 min',
  options: {
    rules: { type: 'string', placeholder: 'list', description: `comma-separated rules to time (default: all of ${RULE_CASES.map(caseLabel).join(', ')})` },
    n: { type: 'string', placeholder: 'list', description: 'comma-separated input counts n (default 8,16,32; quick: 8,16)' },
    d: { type: 'string', placeholder: 'list', description: 'comma-separated dimensions d (default 1e4,1e5,1e6; quick: 1e4)' },
    runs: { type: 'integer', description: 'timed runs per rule and cell (default 9; quick: 5)' },
    'check-finite': { type: 'boolean', default: false, description: 'time the rules\' own finite-value scan too' }
  },
  cells: (profile, options) => {
    const quick = profile === 'quick'
    const rules = selectCases(options.rules === undefined ? undefined : String(options.rules).split(',').map((s) => s.trim()).filter((s) => s !== ''))
    const labels = rules.map(caseLabel)
    // The ratio needs its baseline: mean is always timed.
    if (!labels.includes('mean')) labels.unshift('mean')
    const ns = sizeList(options.n, 'n', quick ? [8, 16] : [8, 16, 32])
    const ds = sizeList(options.d, 'd', quick ? [1e4] : [1e4, 1e5, 1e6])
    const runs = options.runs === undefined ? (quick ? 5 : 9) : Number(options.runs)
    if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs: expected an integer ≥ 1, got ${String(options.runs)}`)
    const cells: Array<Cell<Params>> = []
    for (const d of ds) {
      for (const n of ns) {
        if (n < 3) throw new Error(`--n: expected input counts ≥ 3, got ${n}`)
        const params: Params = { n, d, f: Math.floor(n / 4), runs, rules: labels, assumeFinite: options['check-finite'] !== true }
        cells.push({ id: `n${n}-d${exp10(d)}`, params, seed: 20240601 + n })
      }
    }
    return cells
  },
  run: runCell,
  summarize
})
