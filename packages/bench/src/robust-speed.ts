// Speed of the robust aggregation rules: `npm run bench:robust -- [flags]`.
//
// Sweeps n ∈ {8, 16, 32}, d ∈ {1e5, 1e6}, f = n/4 over the rules of RULE_CASES that
// `@murmur/robust` exports, plus the coordinate-wise trimmed mean on the TypeScript and on the
// WebAssembly kernels. Each
// cell reports the median wall time of several runs after a warm-up, and the extra memory one
// call leaves allocated (ArrayBuffer and RSS growth after a forced GC: a best-effort lower bound
// of the peak). Prints a table and writes JSON.
//
// Flags: --quick (n = 8, 32; d = 1e5; 3 runs)  --n 8,16  --d 1e5,1e6  --runs 5
//        --rules cwtm,krum  --out bench-results/robust-speed.json  --check-finite
// By default inputs are declared finite (`assumeFinite`, as the peer does after decoding a
// frame); --check-finite times the rules' own finite-value scan too. The WebAssembly kernels keep
// one linear memory that grows to the largest chunk used and is reused: its size is shown apart.
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { dirname, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import * as robust from '@murmur/robust'
import type { Aggregator, Kernels } from '@murmur/robust'

/** A rule to time: its spec name and how to build it from what the package exports. */
interface RuleCase {
  readonly spec: string
  /** Factory exported by @murmur/robust, and its arguments (default: the spec name, no arguments). */
  readonly factory?: string
  readonly args?: readonly unknown[]
  /** Run on these kernels instead of the package default (the js-vs-wasm comparison). */
  readonly kernels?: 'js' | 'wasm'
}

// Extend here as rules land. A rule is built with `createRule(spec)` when the package exports it,
// else with its factory; rules the package does not export yet are listed as unavailable.
const RULE_CASES: readonly RuleCase[] = [
  { spec: 'mean' },
  { spec: 'cwmed' },
  { spec: 'cwtm' },
  { spec: 'cwtm', kernels: 'js' },
  { spec: 'cwtm', kernels: 'wasm' },
  { spec: 'meamed' },
  { spec: 'krum' },
  { spec: 'multikrum' },
  { spec: 'geomed' },
  { spec: 'monna' },
  { spec: 'bulyan' },
  { spec: 'cclip(tau=1)', factory: 'cclip', args: [{ tau: 1 }] },
  { spec: 'scclip' },
  { spec: 'mda' },
  { spec: 'smea' },
  { spec: 'caf' },
  { spec: 'nnm+cwtm' },
  { spec: 'nnm+krum' },
  { spec: 'arc+nnm+cwtm' }
]

const api = robust as unknown as Record<string, unknown>

/** Builds a rule, or explains why it cannot be built from the current exports. */
function buildRule (c: RuleCase): Aggregator | string {
  const createRule = api.createRule
  if (typeof createRule === 'function') {
    try {
      return (createRule as (spec: string) => Aggregator)(c.spec)
    } catch (error) {
      if (c.factory === undefined && !(error instanceof Error && /unknown/i.test(error.message))) return String(error)
    }
  }
  if (c.spec.includes('+')) {
    const stages = c.spec.split('+')
    const composeRule = api.composeRule
    const pre = stages.slice(0, -1).map((s) => api[s])
    const last = api[stages[stages.length - 1]]
    if (typeof composeRule !== 'function' || typeof last !== 'function' || pre.some((p) => typeof p !== 'function')) {
      return 'not exported by @murmur/robust yet'
    }
    return (composeRule as (p: unknown[], r: Aggregator) => Aggregator)(
      pre.map((p) => (p as () => unknown)()), (last as () => Aggregator)())
  }
  const factory = api[c.factory ?? c.spec]
  if (typeof factory !== 'function') return 'not exported by @murmur/robust yet'
  return (factory as (...args: unknown[]) => Aggregator)(...(c.args ?? []))
}

function kernelsFor (which: 'js' | 'wasm' | undefined): Kernels | string {
  if (which === undefined) return robust.kernels()
  if (which === 'js') return robust.jsKernels
  return robust.wasmKernels() ?? 'WebAssembly kernels unavailable'
}

interface Cell {
  rule: string
  kernels: string
  n: number
  d: number
  f: number
  runs: number
  medianMs: number | null
  minMs: number | null
  /** ArrayBuffer bytes one call leaves allocated, in MB (after a GC before the call). */
  extraArrayBuffersMB: number | null
  /** RSS growth over one call, in MB (includes WebAssembly memory growth on first use). */
  extraRssMB: number | null
  /** Extra ArrayBuffer memory as a multiple of the input size. */
  extraPerInput: number | null
  /** Size of the WebAssembly kernels' linear memory after the runs, in MB (reused across calls). */
  wasmMemoryMB: number | null
  skipped?: string
}

function parseList (value: string | undefined, fallback: number[]): number[] {
  if (value === undefined) return fallback
  return value.split(',').map((s) => {
    const v = Number(s.trim())
    if (!Number.isFinite(v) || v <= 0) throw new Error(`not a positive number: '${s}'`)
    return Math.round(v)
  })
}

function main (): void {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      n: { type: 'string' },
      d: { type: 'string' },
      runs: { type: 'string' },
      rules: { type: 'string' },
      out: { type: 'string', default: 'bench-results/robust-speed.json' },
      'check-finite': { type: 'boolean', default: false }
    }
  })
  const quick = values.quick === true
  const ns = parseList(values.n, quick ? [8, 32] : [8, 16, 32])
  const ds = parseList(values.d, quick ? [1e5] : [1e5, 1e6])
  const runs = parseList(values.runs, [quick ? 3 : 5])[0]
  const wanted = values.rules?.split(',').map((s) => s.trim())
  const cases = RULE_CASES.filter((c) => wanted === undefined || wanted.includes(c.spec) || wanted.includes(`${c.spec}[${c.kernels ?? ''}]`))
  const assumeFinite = values['check-finite'] !== true
  const gc = exposeGc()
  const wasmMemory = (robust.wasmKernels() as { memoryBytes?: () => number } | undefined)?.memoryBytes

  const cells: Cell[] = []
  const record = (cell: Cell): void => { cells.push(cell); printRow(cell) }
  const rng = robust.createRng(20240601)
  for (const d of ds) {
    for (const n of ns) {
      const f = Math.floor(n / 4)
      const inputs = Array.from({ length: n }, () => {
        const x = new Float32Array(d)
        for (let j = 0; j < d; j++) x[j] = rng.normal()
        return x
      })
      const out = new Float32Array(d)
      for (const c of cases) {
        const label = c.kernels === undefined ? c.spec : `${c.spec}[${c.kernels}]`
        const rule = buildRule(c)
        const k = kernelsFor(c.kernels)
        const base: Cell = { rule: label, kernels: typeof k === 'string' ? '-' : k.name, n, d, f, runs: 0, medianMs: null, minMs: null, extraArrayBuffersMB: null, extraRssMB: null, extraPerInput: null, wasmMemoryMB: null }
        if (typeof rule === 'string') {
          record({ ...base, skipped: rule })
          continue
        }
        if (typeof k === 'string') {
          record({ ...base, skipped: k })
          continue
        }
        if (n < rule.minInputs(f)) {
          record({ ...base, skipped: `needs n ≥ ${rule.minInputs(f)} for f = ${f}` })
          continue
        }
        const previous = robust.kernels()
        robust.useKernels(k)
        try {
          const options = { f, assumeFinite, rng: robust.createRng(1) }
          const call = (): void => { rule.aggregate(inputs, options, out) }
          call() // warm-up: compiles, grows WebAssembly memory, fills caches
          gc()
          const before = process.memoryUsage()
          call()
          const after = process.memoryUsage()
          const times: number[] = []
          for (let r = 0; r < runs; r++) {
            const t = performance.now()
            call()
            times.push(performance.now() - t)
          }
          times.sort((a, b) => a - b)
          const mb = (bytes: number): number => Math.max(0, bytes) / 2 ** 20
          const extra = after.arrayBuffers - before.arrayBuffers
          record({
            ...base,
            runs,
            medianMs: times[(times.length - 1) >> 1],
            minMs: times[0],
            extraArrayBuffersMB: mb(extra),
            extraRssMB: mb(after.rss - before.rss),
            extraPerInput: Math.max(0, extra) / (n * d * 4),
            wasmMemoryMB: wasmMemory === undefined ? null : mb(wasmMemory())
          })
        } catch (error) {
          record({ ...base, skipped: `failed: ${error instanceof Error ? error.message : String(error)}` })
        } finally {
          robust.useKernels(previous)
        }
      }
    }
  }

  const outPath = resolve(values.out ?? 'bench-results/robust-speed.json')
  mkdirSync(dirname(outPath), { recursive: true })
  writeFileSync(outPath, JSON.stringify({
    benchmark: 'robust-speed',
    date: new Date().toISOString(),
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, platform: `${process.platform}-${process.arch}` },
    config: { n: ns, d: ds, f: 'floor(n/4)', runs, warmup: 1, assumeFinite },
    results: cells
  }, null, 2) + '\n')
  console.log(`\nwrote ${outPath}`)
}

let headerPrinted = false
function printRow (c: Cell): void {
  const cols = ['rule', 'kernels', 'n', 'd', 'f', 'median ms', 'min ms', '+arrayBuf MB', '+rss MB', '×input', 'wasm MB']
  const widths = [16, 7, 4, 8, 3, 10, 9, 13, 9, 7, 8]
  if (!headerPrinted) {
    console.log(cols.map((h, i) => h.padStart(widths[i])).join(' '))
    headerPrinted = true
  }
  const fmt = (v: number | null, digits: number): string => (v === null ? '-' : v.toFixed(digits))
  const key = [c.rule, c.kernels, String(c.n), String(c.d), String(c.f)].map((v, i) => v.padStart(widths[i]))
  const rest = c.skipped !== undefined
    ? [`  skipped: ${c.skipped}`]
    : [fmt(c.medianMs, 1), fmt(c.minMs, 1), fmt(c.extraArrayBuffersMB, 1), fmt(c.extraRssMB, 1), fmt(c.extraPerInput, 2), fmt(c.wasmMemoryMB, 1)]
        .map((v, i) => v.padStart(widths[5 + i]))
  console.log([...key, ...rest].join(' '))
}

/** A garbage collector to call between measurements (a no-op when V8 refuses). */
function exposeGc (): () => void {
  try {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as unknown
    if (typeof gc === 'function') return gc as () => void
  } catch { /* measured without a forced GC */ }
  return () => {}
}

main()
