// A whole swarm in one process for engine tests: the memory hub, quadratic learners whose honest
// optimum is the mean of the honest targets, and one RoundEngine per node.

import { createRng } from '@murmur/robust'
import { parseBehaviour } from '../../src/round/byzantine.ts'
import { RoundEngine, type EngineSummary, type RoundEngineOptions } from '../../src/round/engine.ts'
import { createQuadraticLearner } from '../../src/round/learner.ts'
import { createMemoryHub, type MemoryHub } from '../../src/net/memory-transport.ts'
import type { Learner, RoundMetrics, ShortfallPolicy } from '../../src/round/types.ts'

export type Graph = Map<string, string[]>

/** Ring p0 – p1 – … – p(n−1) – p0. */
export function ringGraph (n: number): Graph {
  const graph: Graph = new Map()
  for (let i = 0; i < n; i++) graph.set(`p${i}`, [`p${(i + n - 1) % n}`, `p${(i + 1) % n}`])
  return graph
}

/** rows × cols torus, node p(r·cols + c), neighbours up, down, left, right. */
export function torusGraph (rows: number, cols: number): Graph {
  const graph: Graph = new Map()
  const id = (r: number, c: number): string => `p${((r + rows) % rows) * cols + ((c + cols) % cols)}`
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) graph.set(id(r, c), [id(r - 1, c), id(r + 1, c), id(r, c - 1), id(r, c + 1)])
  }
  return graph
}

export interface SimOptions {
  graph: Graph
  rule: string
  f: number
  rounds: number
  dimension?: number
  /** Byzantine node id → behaviour spec. */
  byzantine?: Record<string, string>
  /** Per node: its local optimum (default: centre + heterogeneity·N(0, I)). */
  targets?: Map<string, Float32Array>
  center?: number
  heterogeneity?: number
  /** Per node initial parameters (default zeros). */
  initialSpread?: number
  lr?: number
  momentum?: number
  localSteps?: number
  roundTimeoutMs?: number
  shortfall?: ShortfallPolicy
  /** Metropolis weights from the graph's degrees (default true). */
  weights?: boolean
  checkpointRoot?: string
  /** Abort node `id`'s run right after round `round` completes. */
  stopAfter?: number
  hub?: MemoryHub
  seed?: number
  engine?: Partial<RoundEngineOptions>
  /** Wraps each learner (spies). */
  wrapLearner?: (id: string, learner: Learner) => Learner
}

export interface SimResult {
  hub: MemoryHub
  summaries: Map<string, EngineSummary>
  /** Final parameters per node. */
  params: Map<string, Float32Array>
  /** Per round: honest parameters after mixing. */
  history: Array<Map<string, Float32Array>>
  metrics: RoundMetrics[]
  targets: Map<string, Float32Array>
  honest: string[]
  /** Mean of the honest targets: where honest nodes should end. */
  optimum: Float32Array
}

export function makeTargets (ids: readonly string[], dimension: number, center: number, heterogeneity: number, seed: number): Map<string, Float32Array> {
  const rng = createRng(seed)
  const targets = new Map<string, Float32Array>()
  for (const id of ids) {
    const t = new Float32Array(dimension)
    for (let j = 0; j < dimension; j++) t[j] = center + heterogeneity * rng.normal()
    targets.set(id, t)
  }
  return targets
}

export function meanOf (vectors: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(vectors[0].length)
  for (const v of vectors) for (let j = 0; j < v.length; j++) out[j] += v[j] / vectors.length
  return out
}

export function distance (a: Float32Array, b: Float32Array): number {
  let s = 0
  for (let j = 0; j < a.length; j++) s += (a[j] - b[j]) ** 2
  return Math.sqrt(s)
}

/** Mean over nodes of ‖θ_i − θ̄‖². */
export function consensusDistance (models: readonly Float32Array[]): number {
  const avg = meanOf(models)
  let s = 0
  for (const m of models) s += distance(m, avg) ** 2
  return s / models.length
}

export async function simulate (options: SimOptions): Promise<SimResult> {
  const { graph } = options
  const d = options.dimension ?? 4
  const ids = [...graph.keys()]
  const byzantine = options.byzantine ?? {}
  const colluders = Object.keys(byzantine)
  const honest = ids.filter((id) => !(id in byzantine))
  const targets = options.targets ?? makeTargets(ids, d, options.center ?? 5, options.heterogeneity ?? 1, options.seed ?? 1)
  const optimum = meanOf(honest.map((id) => targets.get(id) as Float32Array))
  const hub = options.hub ?? createMemoryHub({ dimension: d })
  const initRng = createRng((options.seed ?? 1) + 1000)
  const history: Array<Map<string, Float32Array>> = []
  const metrics: RoundMetrics[] = []
  const engines = ids.map((id) => {
    const initial = new Float32Array(d)
    if (options.initialSpread !== undefined) for (let j = 0; j < d; j++) initial[j] = options.initialSpread * initRng.normal()
    let learner = createQuadraticLearner({ target: targets.get(id) as Float32Array, optimum, initial, lr: options.lr ?? 0.1, momentum: options.momentum ?? 0 })
    if (options.wrapLearner !== undefined) learner = options.wrapLearner(id, learner)
    const neighbours = graph.get(id) as string[]
    const controller = new AbortController()
    const spec = byzantine[id]
    return new RoundEngine({
      self: id,
      neighbours,
      ...(options.weights === false ? {} : { neighbourDegrees: neighbours.map((n) => (graph.get(n) as string[]).length) }),
      transport: hub.transport(id),
      learner,
      rule: options.rule,
      tolerance: { kind: 'global', f: options.f },
      ...(options.shortfall === undefined ? {} : { shortfall: options.shortfall }),
      localSteps: options.localSteps ?? 1,
      roundTimeoutMs: options.roundTimeoutMs ?? 2000,
      rounds: options.rounds,
      swarm: hub.swarm,
      graph,
      ...(spec === undefined
        ? {}
        : { behaviour: parseBehaviour(spec), colluders, collusion: hub.collusion(id, colluders) }),
      ...(options.checkpointRoot === undefined ? {} : { checkpointDir: `${options.checkpointRoot}/${id}` }),
      signal: controller.signal,
      metrics: (m) => { metrics.push(m) },
      onRound: (m, params) => {
        if (!m.byzantine) {
          while (history.length <= m.round) history.push(new Map())
          history[m.round].set(id, params)
        }
        if (options.stopAfter === m.round) controller.abort()
      },
      seed: options.seed ?? 1,
      ...options.engine
    })
  })
  const results = await Promise.all(engines.map(async (engine) => await engine.run()))
  const summaries = new Map(results.map((s) => [s.node, s]))
  const params = new Map(ids.map((id, i) => [id, engines[i].options.learner.getParams()]))
  return { hub, summaries, params, history, metrics, targets, honest, optimum }
}
