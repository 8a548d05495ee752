import { RobustInputError } from './errors.ts'
import { RULES } from './registry.ts'
import type { AggregatorEntry, PreAggregatorEntry, RuleEntry, RuleNeeds } from './registry.ts'
import { formatStage, resolveStage, tokenizeSpec, withDefaults } from './spec.ts'
import type { SpecStage } from './spec.ts'
import type { AggregateOptions, Aggregator, PreAggregator, Vectors } from './types.ts'
import { checkInputs, checkTolerance } from './validate.ts'

// A rule spec is pre-aggregators joined by `+` and ending in an aggregator, e.g.
// `clip(c=2)+nnm+cwtm`. The composed rule checks the inputs once against what the whole
// pipeline needs, then runs the stages with f carried through each stage's nextF.

/** A checked stage of a rule spec. */
export interface ParsedStage extends SpecStage {
  readonly kind: 'aggregator' | 'preaggregator'
  /** The stage's canonical text, e.g. `clip(c=2)`. */
  readonly text: string
}

export interface ParsedRuleSpec {
  /** The normalized spec: canonical names, default parameters left out. */
  readonly spec: string
  readonly stages: readonly ParsedStage[]
}

/**
 * Parses and checks a rule spec such as `arc+nnm+cwtm`, `clip(c=2)+nnm+cwtm`, `krum(convention=n-f-2)`.
 * Throws a RobustInputError naming the column and the problem: an unknown rule (listing the known
 * ones), an unknown parameter (listing the rule's), a bad value, or a misplaced stage.
 */
export function parseRuleSpec (spec: string): ParsedRuleSpec {
  return resolveRuleSpec(spec).parsed
}

/**
 * What a rule spec needs from the caller (loss gaps, gossip weights): what any of its stages
 * needs, so `nnm+pawbrofl` needs loss gaps. Throws like parseRuleSpec for a bad spec.
 */
export function ruleNeeds (spec: string): RuleNeeds {
  const needs: { lossGaps?: true, gossipWeights?: true } = {}
  for (const entry of resolveRuleSpec(spec).entries) {
    if (entry.needs.lossGaps === true) needs.lossGaps = true
    if (entry.needs.gossipWeights === true) needs.gossipWeights = true
  }
  return needs
}

/** Builds the rule a spec describes; its `name` is the normalized spec. */
export function createRule (spec: string): Aggregator {
  return buildPipeline(spec).rule
}

/**
 * Chains pre-aggregators and a rule. `minInputs(f)` is the smallest n for which every stage gets
 * enough inputs (f passed through each stage's nextF, n through its output count).
 * Per-input options (weights, loss gaps) pass through stages that keep their inputs' number and
 * order, so `nnm+mean` still mixes with the gossip weights. They stop at the first stage that
 * regroups the inputs: one that declares `outputs` or changes the count. After it the pivot is 0,
 * the group holding the original pivot.
 */
export function composeRule (pre: readonly PreAggregator[], rule: Aggregator, name?: string): Aggregator {
  const ruleName = name ?? [...pre.map((p) => p.name), rule.name].join('+')
  if (pre.length === 0) {
    // The rule itself under the spec's name; extras such as a weighted rule's `weights` stay reachable.
    if (rule.name === ruleName) return rule
    return Object.create(rule, { name: { value: ruleName, enumerable: true } }) as Aggregator
  }
  const minInputs = (f: number): number => pipelineMinInputs(pre, rule, f)
  return {
    name: ruleName,
    minInputs,
    aggregate (inputs: Vectors, options: AggregateOptions, out?: Float32Array): Float32Array {
      checkInputs(ruleName, inputs, options, minInputs(options.f))
      // Checked once here; the stages' outputs are finite combinations of finite inputs.
      let stageOptions: AggregateOptions = { ...options, assumeFinite: true }
      let current: Vectors = inputs
      let f = options.f
      for (const p of pre) {
        const next = p.apply(current, { ...stageOptions, f })
        f = p.nextF(f, current.length)
        // A stage with `outputs` regroups even when the count stays (bucketing with s = 1 still
        // shuffles), so per-input options would land on the wrong vectors; the pivot's group comes first.
        if (p.outputs !== undefined || next.length !== current.length) {
          stageOptions = { ...stageOptions, pivot: 0, weights: undefined, lossGaps: undefined }
        }
        current = next
      }
      return rule.aggregate(current, { ...stageOptions, f }, out)
    }
  }
}

/** What one stage sees and needs when the pipeline gets n inputs with tolerance f. */
export interface StageRequirement {
  readonly name: string
  /** How many vectors reach the stage. */
  readonly inputs: number
  /** The tolerance the stage runs with. */
  readonly f: number
  /** The stage's own bound at that f. */
  readonly needs: number
}

/** Follows n and f through the stages. */
export function pipelineTrace (pre: readonly PreAggregator[], rule: Aggregator, n: number, f: number): StageRequirement[] {
  const trace: StageRequirement[] = []
  let m = n
  let g = f
  for (const p of pre) {
    trace.push({ name: p.name, inputs: m, f: g, needs: p.minInputs(g) })
    const next = p.nextF(g, m)
    m = p.outputs?.(m) ?? m
    g = next
  }
  trace.push({ name: rule.name, inputs: m, f: g, needs: rule.minInputs(g) })
  return trace
}

/**
 * The smallest n for which every stage of the pipeline has enough inputs. Assumes more inputs
 * never hurt (stage output counts grow with n), which holds for every stage here, and searches by
 * doubling then bisection.
 */
export function pipelineMinInputs (pre: readonly PreAggregator[], rule: Aggregator, f: number): number {
  if (pre.length === 0) return rule.minInputs(f)
  // Before the search: with f = NaN no n is ever feasible and the doubling would never end.
  checkTolerance([...pre.map((p) => p.name), rule.name].join('+'), f)
  const feasible = (n: number): boolean => pipelineTrace(pre, rule, n, f).every((s) => s.inputs >= s.needs)
  let hi = Math.max(1, pre[0].minInputs(f))
  if (feasible(hi)) return hi
  let lo = hi
  while (!feasible(hi)) {
    lo = hi
    hi *= 2
    if (hi > Number.MAX_SAFE_INTEGER) {
      throw new RobustInputError('bad-parameter', `${[...pre.map((p) => p.name), rule.name].join('+')}: no number of inputs tolerates f = ${f}`)
    }
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2)
    if (feasible(mid)) hi = mid; else lo = mid
  }
  return hi
}

/**
 * The largest f the rule tolerates with n inputs (minInputs(f) ≤ n), or −1 when n is too few even
 * for f = 0. Assumes minInputs grows with f.
 */
export function maxTolerableF (rule: string | Aggregator, n: number): number {
  const r = typeof rule === 'string' ? createRule(rule) : rule
  if (!Number.isInteger(n) || n < 0) throw new RobustInputError('bad-parameter', `${r.name}: n must be a non-negative integer, got ${n}`)
  let f = -1
  while (f + 1 < n && r.minInputs(f + 1) <= n) f++
  return f
}

export interface RuleRequirements {
  /** The normalized spec. */
  readonly rule: string
  readonly n: number
  /** The largest tolerable f with n inputs; −1 when n is too few even for f = 0. */
  readonly maxF: number
  /** The stages at f = max(maxF, 0): what each receives and needs. */
  readonly stages: readonly StageRequirement[]
}

/** How much a spec tolerates with n inputs, and what each stage then sees. */
export function ruleRequirements (spec: string, n: number): RuleRequirements {
  const { rule, pre, agg } = buildPipeline(spec)
  const maxF = maxTolerableF(rule, n)
  return { rule: rule.name, n, maxF, stages: pipelineTrace(pre, agg, n, Math.max(maxF, 0)) }
}

/** Whether the gossip weights (`options.weights`) reach and steer a spec's final aggregator. */
export interface RuleWeights {
  /** The normalized spec. */
  readonly rule: string
  /** True when the rule's output depends on the weights: the D-SGD step needs this. */
  readonly used: boolean
  /** The stage that decides it: the first pre-aggregator that drops the weights, else the aggregator. */
  readonly stage: string
  /** The reason in words, for help text and logs. */
  readonly reason: string
}

/**
 * How a rule spec treats the gossip weights, from the registry's declarations: `nnm+mean` and
 * `clip(c=2)+mean` use them (the pre-aggregators keep the inputs in order and pass them on),
 * `nnm+cwtm` ignores them (cwtm never reads them), `bucketing+mean` drops them (buckets regroup
 * the inputs, so mean averages the buckets uniformly).
 */
export function ruleWeights (spec: string): RuleWeights {
  const { parsed, entries } = resolveRuleSpec(spec)
  return weightsThrough(parsed, entries)
}

function weightsThrough (parsed: ParsedRuleSpec, entries: readonly RuleEntry[]): RuleWeights {
  const stages = parsed.stages
  const last = stages.length - 1
  const dropping = entries.findIndex((e) => e.kind === 'preaggregator' && e.weights === 'dropped')
  if (dropping >= 0) {
    const text = stages[dropping].text
    return { rule: parsed.spec, used: false, stage: text, reason: `dropped: ${text} regroups the inputs, so ${stages[last].text} runs without them` }
  }
  const aggregator = entries[last] as AggregatorEntry
  const text = stages[last].text
  if (aggregator.weights === 'ignored') return { rule: parsed.spec, used: false, stage: text, reason: `ignored: ${text} does not read them` }
  const passed = last > 0 ? ` (passed on by ${stages.slice(0, last).map((s) => s.text).join(', ')})` : ''
  return { rule: parsed.spec, used: true, stage: text, reason: `used by ${text}${passed}` }
}

/** Whether a spec's output depends on the gossip weights (see `ruleWeights`). */
export function ruleUsesWeights (spec: string): boolean {
  return ruleWeights(spec).used
}

/**
 * A few lines for help and logs: the stages, their descriptions, what becomes of the gossip
 * weights, and the bound at n (when given).
 */
export function describeRule (spec: string, n?: number): string {
  const { rule, parsed, entries, pre, agg } = buildPipeline(spec)
  const lines = [`${rule.name}: needs n ≥ ${[0, 1, 2].map((f) => `${rule.minInputs(f)} for f = ${f}`).join(', ')}`]
  parsed.stages.forEach((s, i) => lines.push(`  ${s.text}: ${entries[i].description}`))
  lines.push(`  gossip weights: ${weightsThrough(parsed, entries).reason}`)
  if (n !== undefined) {
    const maxF = maxTolerableF(rule, n)
    if (maxF < 0) {
      lines.push(`  with n = ${n} inputs: too few even for f = 0`)
    } else {
      lines.push(`  with n = ${n} inputs: tolerates f ≤ ${maxF}`)
      for (const s of pipelineTrace(pre, agg, n, maxF)) lines.push(`    ${s.name}: ${s.inputs} inputs, f = ${s.f}, needs ${s.needs}`)
    }
  }
  return lines.join('\n')
}

interface Pipeline {
  parsed: ParsedRuleSpec
  entries: RuleEntry[]
  pre: PreAggregator[]
  agg: Aggregator
  rule: Aggregator
}

function buildPipeline (spec: string): Pipeline {
  const { parsed, entries } = resolveRuleSpec(spec)
  const pre: PreAggregator[] = []
  for (let i = 0; i < entries.length - 1; i++) {
    pre.push((entries[i] as PreAggregatorEntry).create(withDefaults(entries[i], parsed.stages[i].params)))
  }
  const last = entries.length - 1
  const agg = (entries[last] as AggregatorEntry).create(withDefaults(entries[last], parsed.stages[last].params))
  return { parsed, entries, pre, agg, rule: composeRule(pre, agg, parsed.spec) }
}

function resolveRuleSpec (spec: string): { parsed: ParsedRuleSpec, entries: RuleEntry[] } {
  const raw = tokenizeSpec(spec, 'rule')
  const entries: RuleEntry[] = []
  const stages: ParsedStage[] = raw.map((r, i) => {
    const { entry, stage } = resolveStage(spec, r, RULES, 'rule')
    const last = i === raw.length - 1
    if (last && entry.kind !== 'aggregator') {
      throw new RobustInputError('bad-parameter',
        `rule spec "${spec}": ${entry.name} at column ${r.offset + 1} is a pre-aggregator, but the last stage must be an aggregator (${names('aggregator')})`)
    }
    if (!last && entry.kind !== 'preaggregator') {
      throw new RobustInputError('bad-parameter',
        `rule spec "${spec}": ${entry.name} at column ${r.offset + 1} is an aggregator, but only the last stage may be one; ` +
        `stages before it must be pre-aggregators (${names('preaggregator')})`)
    }
    entries.push(entry)
    return { ...stage, kind: entry.kind, text: formatStage(entry, stage.params) }
  })
  return { parsed: { spec: stages.map((s) => s.text).join('+'), stages }, entries }
}

function names (kind: RuleEntry['kind']): string {
  return RULES.filter((e) => e.kind === kind).map((e) => e.name).join(', ')
}
