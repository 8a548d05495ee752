// Speed of the robust aggregation rules: `npm run bench:robust -- [flags]`.
//
// Sweeps n ∈ {8, 16, 32}, d ∈ {1e5, 1e6}, f = n/4 over the rules of RULE_CASES that
// `@murmur/robust` exports, plus the coordinate-wise trimmed mean on the TypeScript and on the
// WebAssembly kernels. Each cell reports the median wall time of several runs after a warm-up,
// and the extra memory one call leaves allocated (ArrayBuffer and RSS growth after a forced GC: a
// best-effort lower bound of the peak). Prints a table and writes JSON. The cases and the timing
// code live in rule-timing.ts, shared with the `aggregators` suite of `murmur bench`, which
// interleaves the rules' runs and reports each as a ratio to `mean` measured alongside.
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
import * as robust from '@murmur/robust'
import {
  callOptions, exposeGc, measureCallMemory, normalInputs, prepareCase, selectCases, timeCall, wasmMemoryMB
} from './rule-timing.ts'
import { sizeList } from './options.ts'

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
  const ns = sizeList(values.n, 'n', quick ? [8, 32] : [8, 16, 32])
  const ds = sizeList(values.d, 'd', quick ? [1e5] : [1e5, 1e6])
  const runs = sizeList(values.runs, 'runs', [quick ? 3 : 5])[0]
  const cases = selectCases(values.rules?.split(',').map((s) => s.trim()))
  const assumeFinite = values['check-finite'] !== true
  const gc = exposeGc()

  const cells: Cell[] = []
  const record = (cell: Cell): void => { cells.push(cell); printRow(cell) }
  const rng = robust.createRng(20240601)
  for (const d of ds) {
    for (const n of ns) {
      const f = Math.floor(n / 4)
      const inputs = normalInputs(n, d, rng)
      const out = new Float32Array(d)
      for (const c of cases) {
        const prepared = prepareCase(c, n, f)
        const base: Cell = { rule: prepared.label, kernels: prepared.kernelsName, n, d, f, runs: 0, medianMs: null, minMs: null, extraArrayBuffersMB: null, extraRssMB: null, extraPerInput: null, wasmMemoryMB: null }
        if (prepared.skipped !== undefined) {
          record({ ...base, skipped: prepared.skipped })
          continue
        }
        try {
          const options = callOptions(f, assumeFinite)
          timeCall(prepared, inputs, options, out) // warm-up: compiles, grows WebAssembly memory, fills caches
          const memory = measureCallMemory(prepared, inputs, options, out, gc)
          const times: number[] = []
          for (let r = 0; r < runs; r++) times.push(timeCall(prepared, inputs, options, out))
          times.sort((a, b) => a - b)
          record({ ...base, runs, medianMs: times[(times.length - 1) >> 1], minMs: times[0], ...memory, wasmMemoryMB: wasmMemoryMB() })
        } catch (error) {
          record({ ...base, skipped: `failed: ${error instanceof Error ? error.message : String(error)}` })
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

main()
