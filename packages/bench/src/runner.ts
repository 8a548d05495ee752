// Runs a suite into a run directory and renders its report:
//
//   <out>/run.json              what ran: suite, profile, options, seed, cell ids, times, machine
//   <out>/cells/<id>.json       one finished cell: { cell, result, ms }, written atomically
//   <out>/results.json          every cell's result and the summary
//   <out>/<table>.csv           one per table
//   <out>/plots/<plot>.svg|png  one per plot
//   <out>/report.md             notes, tables, plots, checks and how to reproduce
//
// A cell file is the unit of resumption: running again into the same directory skips every cell
// whose file holds the same params and seed, so an interrupted run (Ctrl-C, a crash) loses at
// most the cell in progress. Everything after the cells is derived from the cell files and
// run.json alone, which is what `renderReport` (`murmur report`) redoes.

import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { isAbsolute, join, relative } from 'node:path'
import { logger } from '@murmur/peer'
import { renderSvg, svgToPng } from './plot.ts'
import type { AnySuite, Cell, CellResult, Check, Profile, SuiteOption, SuiteSummary, Table } from './suite.ts'
import { suites } from './suites/index.ts'

/** What the runner reports while it works (drives progress bars). */
export type RunEvent =
  | { type: 'start', suite: string, outDir: string, total: number, resumed: number }
  | { type: 'cell-start', cell: Cell, index: number }
  | { type: 'cell-progress', cell: Cell, index: number, fraction: number }
  | { type: 'cell-done', cell: Cell, index: number, ms: number }
  | { type: 'rendering' }

export interface RunSuiteOptions {
  profile: Profile
  outDir: string
  /** Suite options by long name; missing ones take the suite's defaults, unknown ones are refused. */
  options?: Readonly<Record<string, unknown>>
  /** Base seed mixed into every cell's seed; 0 (default) keeps the suite's own seeds. */
  seed?: number
  /** Ctrl-C: stop after (or during) the current cell, keeping every finished one. */
  signal?: AbortSignal
  onProgress?: (event: RunEvent) => void
}

export interface RunOutcome {
  outDir: string
  /** Stopped by the signal before every cell finished; nothing past the cells was written. */
  interrupted: boolean
  total: number
  /** Cells run by this call, and cells found finished from an earlier run. */
  ran: number
  resumed: number
  summary?: SuiteSummary
  /** Checks of the summary that failed. */
  failed: Check[]
}

/** run.json. */
export interface RunRecord {
  suite: string
  profile: Profile
  options: Record<string, unknown>
  seed: number
  /** Cell ids of this run, in order: the report reads exactly these cell files. */
  cells: string[]
  /** The --out directory as given, for the report's "reproduce" lines. */
  outDir: string
  startedAt: string
  endedAt: string | null
  interrupted: boolean
  machine: Machine
}

export interface Machine {
  cpu: string
  cores: number
  memoryGiB: number
  node: string
  platform: string
}

export function machine (): Machine {
  const list = cpus()
  return {
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`
  }
}

/** A suite of the registry by name; the error lists the known ones. */
export function findSuite (name: string): AnySuite {
  const suite = suites.find((s) => s.name === name)
  if (suite === undefined) throw new Error(`unknown suite "${name}" (known: ${suites.map((s) => s.name).join(', ')})`)
  return suite
}

/** Checks suite options against their specs and fills in defaults; errors name the option. */
export function resolveSuiteOptions (suite: AnySuite, given: Readonly<Record<string, unknown>> = {}): Record<string, unknown> {
  const specs = suite.options ?? {}
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(given)) {
    if (!(key in specs)) {
      const known = Object.keys(specs)
      throw new Error(`suite ${suite.name}: unknown option --${key}${known.length > 0 ? ` (options: ${known.map((k) => `--${k}`).join(', ')})` : ' (it has no options)'}`)
    }
  }
  for (const [key, spec] of Object.entries(specs)) {
    const value = given[key] ?? spec.default
    if (value === undefined) continue
    checkOptionValue(suite.name, key, spec, value)
    out[key] = value
  }
  return out
}

function checkOptionValue (suite: string, key: string, spec: SuiteOption, value: unknown): void {
  const bad = (expected: string): never => { throw new Error(`suite ${suite}: --${key}: expected ${expected}, got ${JSON.stringify(value)}`) }
  switch (spec.type) {
    case 'boolean': if (typeof value !== 'boolean') bad('true or false'); break
    case 'string':
      if (typeof value !== 'string') bad('a string')
      if (spec.choices !== undefined && !spec.choices.includes(value as string)) bad(`one of ${spec.choices.join(', ')}`)
      break
    case 'number': if (typeof value !== 'number' || !Number.isFinite(value)) bad('a number'); break
    case 'integer': if (typeof value !== 'number' || !Number.isInteger(value)) bad('an integer'); break
  }
}

/** JSON with object keys sorted, so equal values compare equal as strings. */
export function canonicalJson (value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return v
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]))
  })
}

let tmpCounter = 0

/** Writes a file so that readers see the old content or the new, never a part: tmp file, fsync, rename. */
export function writeFileAtomic (path: string, data: string | Uint8Array): void {
  const tmp = `${path}.${process.pid}.${tmpCounter++}.tmp`
  const fd = openSync(tmp, 'w')
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
    let offset = 0
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset)
    fsyncSync(fd)
  } catch (error) {
    closeSync(fd)
    rmSync(tmp, { force: true })
    throw error
  }
  closeSync(fd)
  renameSync(tmp, path)
}

/**
 * JSON for files people read and diff: indented, but arrays of numbers (series, timings) and
 * short values on one line, which keeps per-round data from taking a line per number.
 */
export function formatJson (value: unknown, indent = ''): string {
  const flat = JSON.stringify(value) as string | undefined
  if (flat === undefined) return 'null'
  const leaf = (v: unknown): boolean => v === null || typeof v !== 'object'
  const flatArray = Array.isArray(value) && value.every((v) => leaf(v) || (Array.isArray(v) && v.every(leaf)))
  if (flat.length <= 100 || flatArray || leaf(value)) return flat
  const next = indent + '  '
  if (Array.isArray(value)) return `[\n${value.map((v) => next + formatJson(v, next)).join(',\n')}\n${indent}]`
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined)
  return `{\n${entries.map(([k, v]) => `${next}${JSON.stringify(k)}: ${formatJson(v, next)}`).join(',\n')}\n${indent}}`
}

const writeJson = (path: string, value: unknown): void => { writeFileAtomic(path, formatJson(value) + '\n') }

/** 0 keeps the suite's seed; any other base seed gives every cell a different, still fixed one. */
function effectiveSeed (base: number, seed: number): number {
  if (base === 0) return seed
  let h = (Math.imul(base | 0, 0x9e3779b1) ^ (seed | 0)) >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0
  return (h ^ (h >>> 16)) >>> 0
}

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._+=-]*$/

function checkCells (suite: string, cells: Cell[]): void {
  const seen = new Set<string>()
  for (const cell of cells) {
    if (!SAFE_ID.test(cell.id)) throw new Error(`suite ${suite}: cell id "${cell.id}" is not file-safe (letters, digits, . _ + = - only)`)
    if (seen.has(cell.id)) throw new Error(`suite ${suite}: two cells share the id "${cell.id}"`)
    if (!Number.isFinite(cell.seed)) throw new Error(`suite ${suite}: cell ${cell.id} has no finite seed`)
    seen.add(cell.id)
  }
}

const cellPath = (outDir: string, id: string): string => join(outDir, 'cells', `${id}.json`)

/** A finished cell's file, or undefined when it is missing, unreadable or not a cell result. */
function readCellFile (path: string): CellResult | undefined {
  if (!existsSync(path)) return undefined
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as CellResult
    if (typeof parsed?.cell?.id !== 'string' || typeof parsed.ms !== 'number' || !('result' in parsed)) return undefined
    return parsed
  } catch {
    return undefined // a torn or hand-edited file: the cell runs again
  }
}

/** The file holds this very cell: same params (compared as canonical JSON) and seed. */
function sameCell (stored: Cell, cell: Cell): boolean {
  return stored.seed === cell.seed && canonicalJson(stored.params) === canonicalJson(JSON.parse(JSON.stringify(cell.params)))
}

function displayDir (outDir: string): string {
  if (!isAbsolute(outDir)) return outDir
  const rel = relative(process.cwd(), outDir)
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : outDir
}

/** Runs every unfinished cell of the suite into `outDir`, then writes results, CSV, plots and the report. */
export async function runSuite (suite: AnySuite, run: RunSuiteOptions): Promise<RunOutcome> {
  const { profile, outDir } = run
  const options = resolveSuiteOptions(suite, run.options)
  const base = run.seed ?? 0
  if (!Number.isInteger(base) || base < 0) throw new Error(`seed: expected an integer ≥ 0, got ${base}`)
  const cells = suite.cells(profile, options).map((c) => ({ ...c, seed: effectiveSeed(base, c.seed) }))
  checkCells(suite.name, cells)
  if (cells.length === 0) throw new Error(`suite ${suite.name}: no cells for profile ${profile} with these options`)

  const runJson = join(outDir, 'run.json')
  if (existsSync(runJson)) {
    let previous: Partial<RunRecord> | undefined
    try {
      previous = JSON.parse(readFileSync(runJson, 'utf8')) as Partial<RunRecord>
    } catch { /* a torn run.json is rewritten below; the cell files are what count */ }
    if (previous !== undefined && previous.suite !== suite.name) throw new Error(`${outDir} holds a run of suite "${String(previous.suite)}", not ${suite.name}: choose another --out`)
  }
  mkdirSync(join(outDir, 'cells'), { recursive: true })
  const record: RunRecord = {
    suite: suite.name,
    profile,
    options,
    seed: base,
    cells: cells.map((c) => c.id),
    outDir: displayDir(outDir),
    startedAt: new Date().toISOString(),
    endedAt: null,
    interrupted: false,
    machine: machine()
  }
  writeJson(runJson, record)

  const log = logger(`bench:${suite.name}`)
  const emit = run.onProgress ?? (() => {})
  const signal = run.signal ?? new AbortController().signal
  const finished = new Map<string, CellResult>()
  for (const cell of cells) {
    const stored = readCellFile(cellPath(outDir, cell.id))
    if (stored !== undefined && sameCell(stored.cell, cell)) finished.set(cell.id, stored)
  }
  const resumed = finished.size
  log('%s (%s): %d cells, %d already finished in %s', suite.name, profile, cells.length, resumed, outDir)
  emit({ type: 'start', suite: suite.name, outDir, total: cells.length, resumed })

  let ran = 0
  for (const [index, cell] of cells.entries()) {
    if (finished.has(cell.id)) continue
    if (signal.aborted) break
    emit({ type: 'cell-start', cell, index })
    const started = performance.now()
    let result: unknown
    try {
      result = await suite.run(cell, {
        profile,
        options,
        outDir,
        signal,
        progress: (fraction) => { emit({ type: 'cell-progress', cell, index, fraction }) },
        log
      })
    } catch (error) {
      if (signal.aborted) break
      const message = error instanceof Error ? error.message : String(error)
      throw new Error(`suite ${suite.name}: cell ${cell.id} failed: ${message}`, { cause: error })
    }
    // A cell the signal cut short may have returned a partial result: it is not recorded.
    if (signal.aborted) break
    const ms = performance.now() - started
    const done: CellResult = { cell, result, ms }
    writeJson(cellPath(outDir, cell.id), done)
    finished.set(cell.id, done)
    ran++
    log('cell %s done in %d ms', cell.id, Math.round(ms))
    emit({ type: 'cell-done', cell, index, ms })
  }

  if (finished.size < cells.length) {
    writeJson(runJson, { ...record, endedAt: new Date().toISOString(), interrupted: true })
    return { outDir, interrupted: true, total: cells.length, ran, resumed, failed: [] }
  }
  writeJson(runJson, { ...record, endedAt: new Date().toISOString() })
  emit({ type: 'rendering' })
  const summary = await renderReport(outDir, { suite })
  return { outDir, interrupted: false, total: cells.length, ran, resumed, summary, failed: summary.checks.filter((c) => !c.ok) }
}

/**
 * Re-renders results.json, the CSV tables, the plots and report.md of a finished run from its
 * run.json and cell files (the suite's summarize is pure, so this reproduces the original).
 */
export async function renderReport (runDir: string, options: { suite?: AnySuite } = {}): Promise<SuiteSummary> {
  const runJson = join(runDir, 'run.json')
  if (!existsSync(runDir)) throw new Error(`no run directory at ${runDir}`)
  if (!existsSync(runJson)) throw new Error(`${runDir} is not a benchmark run directory (it has no run.json)`)
  let record: RunRecord
  try {
    record = JSON.parse(readFileSync(runJson, 'utf8')) as RunRecord
  } catch (error) {
    throw new Error(`${runJson}: not valid JSON (${error instanceof Error ? error.message : String(error)})`)
  }
  const suite = options.suite ?? findSuite(record.suite)
  if (suite.name !== record.suite) throw new Error(`${runDir} holds a run of suite "${record.suite}", not ${suite.name}`)
  const ids = Array.isArray(record.cells) ? record.cells : []
  const results: CellResult[] = []
  const missing: string[] = []
  for (const id of ids) {
    const stored = readCellFile(cellPath(runDir, id))
    if (stored === undefined) missing.push(id)
    else results.push(stored)
  }
  if (missing.length > 0) {
    throw new Error(`${runDir}: ${missing.length} of ${ids.length} cells are not finished (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''}); run the suite again with --out ${runDir} to finish them`)
  }
  const summary = suite.summarize(results, record.profile)

  // Plot specs carry their data inline and are rebuilt from the cells: results.json names the plots only.
  const plots = summary.plots.map(({ name, title, caption }) => ({ name, title, caption, files: [`plots/${name}.svg`, `plots/${name}.png`] }))
  writeJson(join(runDir, 'results.json'), { suite: record.suite, profile: record.profile, options: record.options, seed: record.seed, cells: results, summary: { ...summary, plots } })
  for (const table of summary.tables) writeFileAtomic(join(runDir, `${table.name}.csv`), toCsv(table))
  mkdirSync(join(runDir, 'plots'), { recursive: true })
  for (const plot of summary.plots) {
    const svg = await renderSvg(plot.spec)
    writeFileAtomic(join(runDir, 'plots', `${plot.name}.svg`), svg)
    writeFileAtomic(join(runDir, 'plots', `${plot.name}.png`), await svgToPng(svg))
  }
  writeFileAtomic(join(runDir, 'report.md'), reportMarkdown(suite, record, results, summary))
  return summary
}

/** RFC 4180 CSV: fields with a comma, quote or line break are quoted; null is empty. */
export function toCsv (table: Table): string {
  const field = (v: string | number | null): string => {
    if (v === null) return ''
    const s = String(v)
    return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s
  }
  return [table.columns, ...table.rows].map((row) => row.map(field).join(',')).join('\n') + '\n'
}

/** A table cell for Markdown: short numbers, escaped pipes, '–' for null. */
export function formatValue (v: string | number | null): string {
  if (v === null) return '–'
  if (typeof v === 'string') return v.replaceAll('|', '\\|').replaceAll('\n', ' ')
  if (Number.isNaN(v)) return 'NaN'
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞'
  if (Number.isInteger(v) && Math.abs(v) < 1e7) return String(v)
  const a = Math.abs(v)
  if (a !== 0 && (a < 1e-3 || a >= 1e7)) return v.toExponential(2)
  return String(Number(v.toPrecision(4)))
}

export function markdownTable (table: Table): string {
  const lines = [
    `| ${table.columns.map(formatValue).join(' | ')} |`,
    `| ${table.columns.map(() => '---').join(' | ')} |`,
    ...table.rows.map((row) => `| ${row.map(formatValue).join(' | ')} |`)
  ]
  return lines.join('\n')
}

/** The command line that reproduces the run, options that differ from their defaults spelled out. */
export function reproduceCommand (suite: AnySuite, record: Pick<RunRecord, 'profile' | 'options' | 'seed' | 'outDir'>): string {
  const words = ['npx murmur bench', suite.name]
  if (record.profile === 'quick') words.push('--quick')
  if (record.seed !== 0) words.push('--seed', String(record.seed))
  for (const [key, value] of Object.entries(record.options)) {
    const spec = suite.options?.[key]
    if (spec === undefined || value === spec.default) continue
    if (spec.type === 'boolean') { if (value === true) words.push(`--${key}`); continue }
    words.push(`--${key}`, /^[\w.,:+=/-]+$/.test(String(value)) ? String(value) : `'${String(value)}'`)
  }
  words.push('--out', record.outDir)
  return words.join(' ')
}

function reportMarkdown (suite: AnySuite, record: RunRecord, results: CellResult[], summary: SuiteSummary): string {
  const m = record.machine
  const computeS = results.reduce((s, r) => s + r.ms, 0) / 1000
  const options = Object.entries(record.options).map(([k, v]) => `--${k} ${String(v)}`).join(', ')
  const out: string[] = [
    `# Benchmark \`${suite.name}\` (${record.profile} profile)`,
    '',
    `${suite.summary.charAt(0).toUpperCase()}${suite.summary.slice(1)}.`,
    '',
    `- Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB; Node ${m.node} on ${m.platform}.`,
    `- Run: finished ${record.endedAt ?? 'not finished'}; ${results.length} cell${results.length === 1 ? '' : 's'}, ${computeS.toFixed(1)} s of cell time (sum over cells, resumed ones included).`,
    `- Options: ${options === '' ? 'none' : options}; seed ${record.seed}.`,
    ''
  ]
  for (const note of summary.notes) out.push(note, '')
  if (summary.tables.length > 0) {
    out.push('## Results', '')
    for (const table of summary.tables) {
      out.push(`### ${table.title}`, '', markdownTable(table), '', `CSV: [${table.name}.csv](${table.name}.csv)`, '')
    }
  }
  if (summary.plots.length > 0) {
    out.push('## Plots', '')
    for (const plot of summary.plots) {
      out.push(`### ${plot.title}`, '', `![${plot.title}](plots/${plot.name}.svg)`, '', `*${plot.caption}* ([PNG](plots/${plot.name}.png))`, '')
    }
  }
  if (summary.checks.length > 0) {
    const failed = summary.checks.filter((c) => !c.ok).length
    out.push('## Checks', '', failed === 0 ? `All ${summary.checks.length} checks pass.` : `${failed} of ${summary.checks.length} checks fail.`, '')
    for (const check of summary.checks) out.push(`- ${check.ok ? '✓' : '✗'} **${check.name}**: ${check.detail}`)
    out.push('')
  }
  out.push('## Reproduce', '', '```sh', reproduceCommand(suite, record),
    `npx murmur report ${record.outDir}   # re-renders the tables, plots and this report from ${record.outDir}/cells/`, '```', '')
  return out.join('\n')
}
