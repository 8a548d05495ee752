// Timing the robust aggregation rules: which rules, how each is built and on which kernels, and
// how one call is timed and its extra memory measured. Shared by `npm run bench:robust`
// (robust-speed.ts) and the `aggregators` suite.

import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import * as robust from '@murmur/robust'
import type { AggregateOptions, Aggregator, Kernels, Rng } from '@murmur/robust'

/** A rule to time: its spec name and how to build it from what the package exports. */
export interface RuleCase {
  readonly spec: string
  /** Factory exported by @murmur/robust, and its arguments (default: the spec name, no arguments). */
  readonly factory?: string
  readonly args?: readonly unknown[]
  /** Run on these kernels instead of the package default (the js-vs-wasm comparison). */
  readonly kernels?: 'js' | 'wasm'
}

// Extend here as rules land. A rule is built with `createRule(spec)` when the package exports it,
// else with its factory; rules the package does not export yet are listed as unavailable.
export const RULE_CASES: readonly RuleCase[] = [
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

/** How a case is named in tables: the spec, with the kernels in brackets when forced. */
export function caseLabel (c: RuleCase): string {
  return c.kernels === undefined ? c.spec : `${c.spec}[${c.kernels}]`
}

/** The cases a comma-separated list names (by spec or label); every case when the list is absent. */
export function selectCases (wanted: readonly string[] | undefined): RuleCase[] {
  if (wanted === undefined) return RULE_CASES.slice()
  const unknown = wanted.filter((w) => !RULE_CASES.some((c) => c.spec === w || caseLabel(c) === w))
  if (unknown.length > 0) throw new Error(`unknown rule${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (timed rules: ${RULE_CASES.map(caseLabel).join(', ')})`)
  return RULE_CASES.filter((c) => wanted.includes(c.spec) || wanted.includes(caseLabel(c)))
}

const api: Readonly<Record<string, unknown>> = robust

/** Builds a rule, or explains why it cannot be built from the current exports. */
export function buildRule (c: RuleCase): Aggregator | string {
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

export function kernelsFor (which: 'js' | 'wasm' | undefined): Kernels | string {
  if (which === undefined) return robust.kernels()
  if (which === 'js') return robust.jsKernels
  return robust.wasmKernels() ?? 'WebAssembly kernels unavailable'
}

/** n standard-normal inputs of dimension d. */
export function normalInputs (n: number, d: number, rng: Rng): Float32Array[] {
  return Array.from({ length: n }, () => {
    const x = new Float32Array(d)
    for (let j = 0; j < d; j++) x[j] = rng.normal()
    return x
  })
}

/** A case ready to time at one (n, f), or the reason it cannot be. */
export type PreparedCase =
  | { label: string, kernelsName: string, skipped: string }
  | { label: string, kernelsName: string, skipped?: undefined, rule: Aggregator, kernels: Kernels }

export function prepareCase (c: RuleCase, n: number, f: number): PreparedCase {
  const label = caseLabel(c)
  const rule = buildRule(c)
  const k = kernelsFor(c.kernels)
  const kernelsName = typeof k === 'string' ? '-' : k.name
  if (typeof rule === 'string') return { label, kernelsName, skipped: rule }
  if (typeof k === 'string') return { label, kernelsName, skipped: k }
  if (n < rule.minInputs(f)) return { label, kernelsName, skipped: `needs n ≥ ${rule.minInputs(f)} for f = ${f}` }
  return { label, kernelsName, rule, kernels: k }
}

/** Options of every timed call: f, inputs declared finite or not, a fixed rng for randomised rules. */
export function callOptions (f: number, assumeFinite: boolean): AggregateOptions {
  return { f, assumeFinite, rng: robust.createRng(1) }
}

/** Runs one aggregation on the case's kernels and returns its wall time in ms. */
export function timeCall (c: Extract<PreparedCase, { rule: Aggregator }>, inputs: Float32Array[], options: AggregateOptions, out: Float32Array): number {
  const previous = robust.kernels()
  robust.useKernels(c.kernels)
  try {
    const t = performance.now()
    c.rule.aggregate(inputs, options, out)
    return performance.now() - t
  } finally {
    robust.useKernels(previous)
  }
}

export interface CallMemory {
  /** ArrayBuffer bytes one call leaves allocated, in MB (after a GC before the call). */
  extraArrayBuffersMB: number
  /** RSS growth over one call, in MB (includes WebAssembly memory growth on first use). */
  extraRssMB: number
  /** Extra ArrayBuffer memory as a multiple of the input size. */
  extraPerInput: number
}

/**
 * The memory one call leaves behind: ArrayBuffer and RSS growth after a forced GC, a
 * best-effort lower bound of the peak. Call it after a warm-up call.
 */
export function measureCallMemory (c: Extract<PreparedCase, { rule: Aggregator }>, inputs: Float32Array[], options: AggregateOptions, out: Float32Array, gc: () => void): CallMemory {
  gc()
  const before = process.memoryUsage()
  timeCall(c, inputs, options, out)
  const after = process.memoryUsage()
  const mb = (bytes: number): number => Math.max(0, bytes) / 2 ** 20
  const extra = after.arrayBuffers - before.arrayBuffers
  return {
    extraArrayBuffersMB: mb(extra),
    extraRssMB: mb(after.rss - before.rss),
    extraPerInput: Math.max(0, extra) / (inputs.length * (inputs[0]?.length ?? 0) * 4)
  }
}

/** Size of the WebAssembly kernels' linear memory in MB (reused across calls), when they report it. */
export function wasmMemoryMB (): number | null {
  const bytes = (robust.wasmKernels() as { memoryBytes?: () => number } | undefined)?.memoryBytes
  return bytes === undefined ? null : bytes() / 2 ** 20
}

/** A garbage collector to call between measurements (a no-op when V8 refuses). */
export function exposeGc (): () => void {
  try {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as unknown
    if (typeof gc === 'function') return gc as () => void
  } catch { /* measured without a forced GC */ }
  return () => {}
}
