// A run directory's plan.json, and whether a launch may resume from the run directory. Peers
// resume from their checkpoints, so a launch whose plan differs from the one the run was made
// under (another rule, topology, attack, learning rate...) would continue that run under options
// it was not made with. Such a launch is refused, naming what differs, unless it is forced.
//
// `rounds` is the exception: raising it is how a finished run is continued, and lowering it only
// ends the run sooner, so a different `rounds` is accepted (and reported) and plan.json updated.

import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { formatPartitionSpec, type LrSchedule, type PartitionSpec } from '@murmur/learn'
import type { Topology, TopologyEdge } from '@murmur/topology'
import { formatLrSchedule, type SwarmPlan } from './plan.ts'
import { writeFileAtomic } from '../atomic-file.ts'

export const RUN_PLAN_FILE = 'plan.json'

/** One option on which two plans disagree, named as the user gave it (the CLI flag where there is one). */
export interface PlanDifference {
  option: string
  /** The value in the run directory's plan, and in the new plan, as text. */
  before: string
  after: string
}

export interface RunDirectoryCheck {
  /**
   * fresh: no plan.json yet; same: the plans agree; continued: only `rounds` differs; forced:
   * plan.json differed or was unreadable and was replaced because of `force`.
   */
  outcome: 'fresh' | 'same' | 'continued' | 'forced'
  /** Every difference found (for `continued`: the rounds; for `forced`: what was overridden). */
  differences: PlanDifference[]
  /** A line to show the user when the outcome is not `fresh` or `same`. */
  note?: string
}

/** A launch refused because its run directory holds another run (or an unreadable plan.json). */
export class RunDirectoryConflict extends Error {
  readonly runDir: string
  readonly differences: PlanDifference[]
  constructor (runDir: string, message: string, differences: PlanDifference[] = []) {
    super(message)
    this.name = 'RunDirectoryConflict'
    this.runDir = runDir
    this.differences = differences
  }
}

/** Options that may differ on a resume. */
const MAY_CHANGE = new Set(['rounds'])

/** User-facing names of SwarmPlan['options'] keys (CLI flags where they exist). */
const OPTION_NAMES: Record<string, string> = {
  topology: 'topology',
  rounds: 'rounds',
  localSteps: 'local-steps',
  lr: 'lr',
  momentum: 'momentum',
  batchSize: 'batch-size',
  weightDecay: 'weight-decay',
  lrSchedule: 'lr-schedule',
  rule: 'rule',
  f: 'f',
  delta: 'delta',
  shortfall: 'shortfall',
  attack: 'attack',
  muSeed: 'mu-seed',
  roundTimeoutMs: 'round-timeout',
  evalEvery: 'eval-every',
  dtype: 'dtype',
  initialization: 'init',
  swarm: 'swarm id',
  seed: 'run seed'
}

/** User-facing names of TaskConfig keys. */
const TASK_NAMES: Record<string, string> = {
  dataset: 'dataset',
  partition: 'partition',
  model: 'model',
  hidden: 'hidden units',
  samplesPerNode: 'samples per node',
  testSize: 'test-size',
  heldOutSize: 'held-out size',
  seed: 'seed',
  synthetic: 'synthetic task'
}

/** Options from which each node's f is derived: a per-node difference is reported only without one of these. */
const F_SOURCES = new Set(['topology', 'f', 'delta', 'mu-seed', 'rule'])

/** JSON with object keys sorted and undefined members left out, so equal content gives equal text. */
function canonical (value: unknown): string {
  if (value === undefined) return 'null'
  if (value === null || typeof value !== 'object') return JSON.stringify(value)
  if (Array.isArray(value)) return `[${value.map((v) => v === undefined ? 'null' : canonical(v)).join(',')}]`
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`
}

function same (a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b)
}

function text (value: unknown): string {
  if (value === undefined || value === null) return 'unset'
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value)
  return canonical(value)
}

function partitionText (value: unknown): string {
  const p = value as PartitionSpec | undefined
  switch (p?.kind) {
    case undefined: return 'iid'
    case 'iid': case 'dirichlet': case 'shards': case 'quantity': return formatPartitionSpec(p)
    default: return canonical(value)
  }
}

const edgeKey = (edge: TopologyEdge): string => {
  const [a, b] = edge[0] < edge[1] ? [edge[0], edge[1]] : [edge[1], edge[0]]
  return canonical([a, b, edge[2] ?? 1])
}

/** A topology's edges as an undirected set: the order of edges and of their ends does not matter. */
function edgeSet (topology: Partial<Topology>): string {
  return canonical((Array.isArray(topology.edges) ? topology.edges : []).map(edgeKey).sort())
}

function topologyDifference (a: Partial<Topology>, b: Partial<Topology>): PlanDifference | undefined {
  const parts: string[] = []
  // Node order matters: a node's index picks its data partition.
  if (!same(a.nodes, b.nodes)) parts.push('nodes')
  if (edgeSet(a) !== edgeSet(b)) parts.push('edges')
  if (!same(a.byzantine, b.byzantine)) parts.push('Byzantine model (μ_H)')
  if (!same(a.allowDisconnected, b.allowDisconnected)) parts.push('allowDisconnected')
  if (a.name === b.name && parts.length === 0) return undefined
  if (a.name !== b.name) return { option: 'topology', before: text(a.name), after: text(b.name) }
  const size = (t: Partial<Topology>): string => `${t.nodes?.length ?? 0} nodes, ${t.edges?.length ?? 0} edges`
  if (size(a) !== size(b)) return { option: 'topology', before: `${text(a.name)} (${size(a)})`, after: `${text(b.name)} (${size(b)})` }
  return { option: 'topology', before: text(a.name), after: `${text(b.name)} with other ${parts.join(', ')}` }
}

/** A schedule as the --lr-schedule flag spells it. */
function scheduleText (value: unknown): string {
  const kind = (value as { kind?: unknown } | null)?.kind
  return typeof kind === 'string' ? formatLrSchedule(value as LrSchedule) : text(value)
}

/** A plan's options with the defaults of options added since it may have been written. */
function withDefaults (options: Record<string, unknown>): Record<string, unknown> {
  const task = (options.task ?? {}) as { seed?: unknown }
  return {
    ...options,
    weightDecay: options.weightDecay ?? 0,
    lrSchedule: options.lrSchedule ?? { kind: 'constant' },
    seed: options.seed ?? task.seed ?? 0
  }
}

/** True when the plan's run seed is the default one, the task's seed. */
function derivedRunSeed (options: Record<string, unknown>): boolean {
  return options.seed === ((options.task as { seed?: unknown } | undefined)?.seed ?? 0)
}

/** True when the plan's swarm id is the default one, derived from the topology's name. */
function derivedSwarmId (plan: SwarmPlan): boolean {
  return plan.options?.swarm === `murmur-${plan.options?.topology?.name}`
}

function listText (ids: readonly string[]): string {
  return ids.length === 0 ? 'none' : ids.join(',')
}

/**
 * Every option on which two plans differ, in a stable order: the plan's options (the task split
 * into its own options), then the Byzantine set, then each node's f when no option explains it.
 */
export function comparePlans (before: SwarmPlan, after: SwarmPlan): PlanDifference[] {
  const differences: PlanDifference[] = []
  const a = withDefaults((before.options ?? {}) as unknown as Record<string, unknown>)
  const b = withDefaults(after.options as unknown as Record<string, unknown>)
  const keys = [...new Set([...Object.keys(OPTION_NAMES), ...Object.keys(a), ...Object.keys(b)])]
  for (const key of keys) {
    if (key === 'topology') {
      const d = topologyDifference((a.topology ?? {}) as Partial<Topology>, (b.topology ?? {}) as Partial<Topology>)
      if (d !== undefined) differences.push(d)
    } else if (key === 'task') {
      const ta = (a.task ?? {}) as Record<string, unknown>
      const tb = (b.task ?? {}) as Record<string, unknown>
      for (const k of [...new Set([...Object.keys(TASK_NAMES), ...Object.keys(ta), ...Object.keys(tb)])]) {
        if (k === 'partition') {
          if (partitionText(ta[k]) !== partitionText(tb[k])) differences.push({ option: 'partition', before: partitionText(ta[k]), after: partitionText(tb[k]) })
        } else if (!same(ta[k], tb[k])) {
          differences.push({ option: TASK_NAMES[k] ?? k, before: text(ta[k]), after: text(tb[k]) })
        }
      }
    } else if (key === 'swarm' && derivedSwarmId(before) && derivedSwarmId(after)) {
      continue // follows the topology's name, reported with the topology
    } else if (key === 'seed' && derivedRunSeed(a) && derivedRunSeed(b)) {
      continue // follows the task's seed, reported with the task
    } else if (key === 'lrSchedule') {
      if (!same(a[key], b[key])) differences.push({ option: OPTION_NAMES[key], before: scheduleText(a[key]), after: scheduleText(b[key]) })
    } else if (!same(a[key], b[key])) {
      differences.push({ option: OPTION_NAMES[key] ?? key, before: text(a[key]), after: text(b[key]) })
    }
  }
  const byzA = [...(before.byzantine ?? [])].sort()
  const byzB = [...after.byzantine].sort()
  if (!same(byzA, byzB)) differences.push({ option: 'Byzantine peers', before: listText(byzA), after: listText(byzB) })
  if (!differences.some((d) => F_SOURCES.has(d.option))) {
    const fA = new Map((before.nodes ?? []).map((n) => [n.id, n.f]))
    const changed = after.nodes.filter((n) => fA.get(n.id) !== n.f)
    if (changed.length > 0) {
      const shown = changed.slice(0, 5)
      const more = changed.length > shown.length ? ', …' : ''
      differences.push({
        option: 'f per node',
        before: shown.map((n) => `${n.id} ${text(fA.get(n.id))}`).join(', ') + more,
        after: shown.map((n) => `${n.id} ${n.f}`).join(', ') + more
      })
    }
  }
  return differences
}

/** Writes plan.json atomically (temp file, fsync, rename): a crash never leaves half a plan. */
export function writeRunPlan (runDir: string, plan: SwarmPlan): void {
  writeFileAtomic(join(runDir, RUN_PLAN_FILE), JSON.stringify(plan, null, 2) + '\n')
}

function readPlanFile (path: string): SwarmPlan {
  const plan = JSON.parse(readFileSync(path, 'utf8')) as unknown
  const p = plan as Partial<SwarmPlan> | null
  if (p === null || typeof p !== 'object' || typeof p.options !== 'object' || p.options === null ||
    !Array.isArray(p.nodes) || !Array.isArray(p.byzantine)) {
    throw new Error('not a swarm plan (expected options, nodes and byzantine)')
  }
  return plan as SwarmPlan
}

const described = (differences: readonly PlanDifference[], side: 'before' | 'after'): string =>
  differences.map((d) => `${d.option} ${d[side]}`).join(', ')

/**
 * Checks that `plan` may run in `runDir` and records it there as plan.json. A directory without
 * plan.json is fresh. A plan.json equal to `plan` (up to `rounds`, which may change to continue
 * or shorten a run) is accepted. Any other difference, or a plan.json that cannot be read, throws
 * RunDirectoryConflict naming the options (or the file), unless `force`: then plan.json is
 * replaced and the peers resume from whatever checkpoints the directory holds.
 */
export function checkRunDirectory (runDir: string, plan: SwarmPlan, options: { force?: boolean } = {}): RunDirectoryCheck {
  const force = options.force === true
  const path = join(runDir, RUN_PLAN_FILE)
  if (!existsSync(path)) {
    writeRunPlan(runDir, plan)
    return { outcome: 'fresh', differences: [] }
  }
  let existing: SwarmPlan
  try {
    existing = readPlanFile(path)
  } catch (error) {
    const reason = (error as Error).message
    if (!force) {
      throw new RunDirectoryConflict(runDir, `--run-dir ${runDir}: ${path} cannot be read (${reason}): use another --run-dir, or --force to overwrite it`)
    }
    writeRunPlan(runDir, plan)
    return { outcome: 'forced', differences: [], note: `--force: replaced unreadable ${path}; peers resume from the checkpoints in ${runDir}` }
  }
  const differences = comparePlans(existing, plan)
  const refused = differences.filter((d) => !MAY_CHANGE.has(d.option))
  if (refused.length > 0) {
    if (!force) {
      throw new RunDirectoryConflict(runDir,
        `--run-dir ${runDir} holds a run with ${described(refused, 'before')}; this launch asks for ${described(refused, 'after')}: use another --run-dir, or --force to overwrite`,
        refused)
    }
    writeRunPlan(runDir, plan)
    return {
      outcome: 'forced',
      differences,
      note: `--force: ${runDir} held a run with ${described(differences, 'before')}; continuing it with ${described(differences, 'after')} from its checkpoints`
    }
  }
  if (differences.length === 0) return { outcome: 'same', differences }
  writeRunPlan(runDir, plan)
  return { outcome: 'continued', differences, note: `${runDir}: ${described(differences, 'before')} → ${differences.map((d) => d.after).join(', ')}, the plan's other options unchanged` }
}

/**
 * A peer's state folder, `<runDir>/peers/<id>`. Ids are checked where they are read (topology
 * files, `--id`); this refuses, whatever the source, an id that would put the folder anywhere else.
 */
export function peerStateDir (runDir: string, id: string): string {
  const peers = resolve(runDir, 'peers')
  const dir = resolve(peers, id)
  if (id === '' || id.includes('\0') || dirname(dir) !== peers) throw new Error(`node id ${JSON.stringify(id)} does not name a folder inside ${peers}`)
  return dir
}
