// A whole swarm in one process: one RoundEngine per node of a SwarmPlan over the in-memory hub of
// @murmur/peer, with real tfjs learners, real Byzantine behaviours and the collusion channel —
// the code path of the libp2p peers, minus the sockets: each node's learner and engine options
// come from its PeerConfig, as a launched peer's do. Like a launch it measures what the rounds
// delivered; on top it measures the empirical κ of every honest aggregation (seed 001): the rule
// is wrapped so each call sees its inputs and output, and the transport is wrapped so each
// received model is known by its sender, which tells the honest inputs from the Byzantine ones.

import { initBackend } from '@murmur/learn'
import {
  consensusDistance, createMemoryHub, createNodeLearner, DeliveryLedger, engineOptions, isLossAwareRule, loadPeerData,
  parseBehaviour, peerConfigFromPlan, RoundEngine,
  type DeliveryReport, type Learner, type MemoryTransport, type ModelTransport, type PeerConfig, type RoundMetrics,
  type SwarmOptions, type SwarmPlan, type TaskConfig
} from '@murmur/peer'
import type { Topology } from '@murmur/topology'
import type { HonestOutcome, SwarmCellParams } from './common.ts'
import { createRule, empiricalKappa, kappaBound, kappaLowerBound, quantile, type Aggregator } from '@murmur/robust'

/** Empirical κ of a set of aggregations: how many, and the median, 95th percentile and maximum. */
export interface KappaStats {
  count: number
  median: number | null
  p95: number | null
  max: number | null
}

export function kappaStats (values: ArrayLike<number>): KappaStats {
  if (values.length === 0) return { count: 0, median: null, p95: null, max: null }
  let max = -Infinity
  for (let i = 0; i < values.length; i++) if (values[i] > max) max = values[i]
  return { count: values.length, median: quantile(values, 0.5), p95: quantile(values, 0.95), max }
}

/** One honest aggregation as the κ measurement sees it. */
export interface KappaSample {
  /** Inputs n (own model included), the rule's f, Byzantine inputs among them. */
  n: number
  f: number
  byzantine: number
  kappa: number
}

/**
 * The κ side of a run: every honest aggregation with at least two honest inputs (with one the
 * ratio is 0/0 or x/0 and says nothing about the rule).
 */
export interface KappaReport {
  /** Over every such aggregation. */
  all: KappaStats
  /** Over those with at least one Byzantine input. */
  exposed: KappaStats
  /** Over those with 1 ≤ Byzantine inputs ≤ f: where the (f, κ) guarantee applies and is tested. */
  covered: KappaStats
  /** The loosest closed-form κ over the aggregations' (n, f) (null: the rule has no formula). */
  bound: number | null
  /** The loosest lower bound f/(n − 2f) over them (null when every f = 0). */
  lowerBound: number | null
  /** Aggregations with Byzantine inputs ≤ f whose κ exceeded the closed-form κ of their (n, f). */
  aboveBound: number
  /** Aggregations with more Byzantine inputs than f (the rule's guarantee does not apply). */
  overrun: number
  /** Aggregations left out because fewer than two honest inputs arrived. */
  undefinedCount: number
}

/** Summarises κ samples against the closed-form κ of `rule` (seed 001's table). */
export function kappaReport (rule: string, samples: readonly KappaSample[], undefinedCount = 0): KappaReport {
  const all: number[] = []
  const exposed: number[] = []
  const covered: number[] = []
  let bound: number | null = null
  let lowerBound: number | null = null
  let aboveBound = 0
  let overrun = 0
  const bounds = new Map<string, number | undefined>()
  for (const s of samples) {
    all.push(s.kappa)
    if (s.byzantine > 0) exposed.push(s.kappa)
    if (s.byzantine > 0 && s.byzantine <= s.f) covered.push(s.kappa)
    if (s.byzantine > s.f) overrun++
    if (s.n <= 2 * s.f) continue
    const key = `${s.n},${s.f}`
    if (!bounds.has(key)) bounds.set(key, kappaBound(rule, s.n, s.f))
    const b = bounds.get(key)
    if (b !== undefined) {
      bound = Math.max(bound ?? 0, b)
      if (s.byzantine <= s.f && s.kappa > b) aboveBound++
    }
    if (s.f > 0) lowerBound = Math.max(lowerBound ?? 0, kappaLowerBound(s.n, s.f))
  }
  return { all: kappaStats(all), exposed: kappaStats(exposed), covered: kappaStats(covered), bound, lowerBound, aboveBound, overrun, undefinedCount }
}

/** Swarm figures of one evaluation round, honest nodes only. */
export interface SimRound {
  round: number
  meanAccuracy: number
  minAccuracy: number
  meanTestLoss: number
  /** Mean over honest i of ‖θ_i − θ̄_H‖². */
  consensus: number
}

export interface SimResult {
  /** Evaluation rounds, in order; the last is the final one. */
  rounds: SimRound[]
  final: SimRound
  /** Honest nodes' final accuracies, by node id. */
  accuracies: Record<string, number>
  kappa: KappaReport
  /** Honest mixing outcomes over all rounds. */
  mixes: { ok: number, degraded: number, skipped: number }
  /** Honest nodes with more Byzantine neighbours than their f. */
  overrunNodes: string[]
  dimension: number
  /** What the rounds delivered between honest nodes and from the attackers, as a launch reports it. */
  delivery: DeliveryReport
}

export interface SimOptions {
  plan: SwarmPlan
  /**
   * The run seed (batch order, the rule's and the attacks' randomness) instead of the plan's;
   * the data and the model still come from the task's seed.
   */
  seed?: number
  signal?: AbortSignal
  progress?: (fraction: number) => void
  /** Measure κ at honest aggregations (default true). */
  kappa?: boolean
  /** Every node's rounds as its engine reports them (Byzantine nodes' included). */
  onRound?: (metrics: RoundMetrics, params: Float32Array) => void
}

let backend: Promise<unknown> | undefined

/** Runs a planned swarm to its last round in this process; throws if it was aborted. */
export async function simulateSwarm (options: SimOptions): Promise<SimResult> {
  const { plan } = options
  backend ??= initBackend()
  await backend
  const byzantine = new Set(plan.byzantine)
  const honest = plan.nodes.filter((n) => !n.byzantine)
  if (honest.length === 0) throw new Error('simulation: every node is Byzantine')
  const rounds = plan.options.rounds
  const ruleName = createRule(plan.options.rule).name
  const configs: PeerConfig[] = plan.nodes.map((node) => {
    const config = peerConfigFromPlan(plan, node)
    return options.seed === undefined ? config : { ...config, seed: options.seed }
  })
  const attack = plan.options.attack === 'none' ? undefined : parseBehaviour(plan.options.attack)
  const ledger = new DeliveryLedger({
    byzantine: plan.byzantine,
    ...(attack === undefined ? {} : { attack: { behaviour: attack.spec, sends: attack.kind !== 'crash' } })
  })

  const learners: Learner[] = []
  try {
    for (const config of configs) learners.push(createNodeLearner(config, await loadPeerData(config)))
    const dimension = learners[0].dimension
    const hub = createMemoryHub({ dimension, swarm: plan.swarm, dtype: plan.options.dtype })

    // Who sent each received model: received vectors reach the rule by reference.
    const senderOf = new WeakMap<Float32Array, string>()
    const samples: KappaSample[] = []
    let undefinedKappa = 0
    const measure = options.kappa ?? true
    const spy = (inner: Aggregator): Aggregator => ({
      name: inner.name,
      minInputs: (f) => inner.minInputs(f),
      aggregate: (inputs, aggregateOptions, out) => {
        const result = inner.aggregate(inputs, aggregateOptions, out)
        // Inputs are [own, ...received] (gossip form, pivot 0); the own model is honest.
        const honestIdx: number[] = [0]
        let b = 0
        for (let i = 1; i < inputs.length; i++) {
          const from = senderOf.get(inputs[i])
          if (from !== undefined && byzantine.has(from)) b++
          else honestIdx.push(i)
        }
        if (honestIdx.length < 2) undefinedKappa++
        else samples.push({ n: inputs.length, f: aggregateOptions.f, byzantine: b, kappa: empiricalKappa(result, inputs, honestIdx) })
        return result
      }
    })
    const observed = (transport: MemoryTransport): ModelTransport => ({
      ...transport,
      collect: async (round, from, deadline, signal, also, alsoUntil) => {
        const got = await transport.collect(round, from, deadline, signal, also, alsoUntil)
        for (const [sender, model] of got) senderOf.set(model, sender)
        return got
      }
    })

    // Per round: honest parameters and accuracies, reduced once every honest node reported.
    const pending = new Map<number, { params: Float32Array[], accuracy: number[], loss: number[] }>()
    const evaluated: SimRound[] = []
    const accuracies: Record<string, number> = {}
    const mixes = { ok: 0, degraded: 0, skipped: 0 }
    let reported = 0
    const total = honest.length * rounds
    const onRound = (id: string, neighbours: readonly string[]) => (metrics: RoundMetrics, params: Float32Array): void => {
      options.onRound?.(metrics, params)
      if (metrics.byzantine) return
      ledger.observe(metrics, neighbours)
      mixes[metrics.mix]++
      reported++
      if (reported % honest.length === 0) options.progress?.(reported / total)
      if (metrics.accuracy === undefined) return
      if (metrics.round === rounds - 1) accuracies[id] = metrics.accuracy
      let entry = pending.get(metrics.round)
      if (entry === undefined) { entry = { params: [], accuracy: [], loss: [] }; pending.set(metrics.round, entry) }
      entry.params.push(params)
      entry.accuracy.push(metrics.accuracy)
      entry.loss.push(metrics.testLoss ?? Number.NaN)
      if (entry.params.length < honest.length) return
      pending.delete(metrics.round)
      let sum = 0; let min = Infinity; let lossSum = 0
      for (let k = 0; k < entry.accuracy.length; k++) { sum += entry.accuracy[k]; min = Math.min(min, entry.accuracy[k]); lossSum += entry.loss[k] }
      evaluated.push({
        round: metrics.round,
        meanAccuracy: sum / entry.accuracy.length,
        minAccuracy: min,
        meanTestLoss: lossSum / entry.loss.length,
        consensus: consensusDistance(entry.params)
      })
    }

    const transports = plan.nodes.map((node) => hub.transport(node.id))
    const engines = configs.map((config, k) => {
      const watch = measure && !config.byzantine
      return new RoundEngine(engineOptions(config, {
        transport: watch ? observed(transports[k]) : transports[k],
        learner: learners[k],
        ...(watch ? { rule: spy(createRule(config.mixing.rule)) } : {}),
        ...(config.byzantine ? { collusion: hub.collusion(config.id, plan.byzantine) } : {}),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        onRound: onRound(config.id, config.neighbours)
      }))
    })
    const summaries = await Promise.all(engines.map(async (engine) => await engine.run()))
    if (summaries.some((s) => s.interrupted)) throw new Error('simulation interrupted')
    evaluated.sort((a, b) => a.round - b.round)
    const final = evaluated[evaluated.length - 1]
    if (final === undefined || final.round !== rounds - 1) throw new Error('simulation: the last round was not evaluated by every honest node')
    return {
      rounds: evaluated,
      final,
      accuracies,
      kappa: kappaReport(ruleName, samples, undefinedKappa),
      mixes,
      overrunNodes: plan.overrun,
      dimension,
      delivery: ledger.report(transports.filter((_, k) => !configs[k].byzantine).map((t) => t.rejectionsBySender()))
    }
  } finally {
    for (const learner of learners) learner.dispose()
  }
}

/** The task of the suites: MNIST, a small model, held-out samples only for loss-aware rules. */
export function suiteTask (options: { model: 'logistic' | 'mlp', partition: TaskConfig['partition'], rule: string, seed: number, samplesPerNode?: number, testSize?: number, hidden?: number }): TaskConfig {
  return {
    dataset: 'mnist',
    model: options.model,
    partition: options.partition,
    heldOutSize: isLossAwareRule(options.rule) ? 64 : 0,
    testSize: options.testSize ?? 1000,
    seed: options.seed,
    ...(options.samplesPerNode === undefined ? {} : { samplesPerNode: options.samplesPerNode }),
    ...(options.hidden === undefined ? {} : { hidden: options.hidden })
  }
}

/** How long a simulated round may wait for its models: generous, since nothing is lost in memory. */
const SIM_ROUND_TIMEOUT_MS = 5000

/** The launch options of a swarm-suite cell: its topology and task, trained the suites' shared way. */
export function cellLaunch (p: SwarmCellParams, topology: Topology): Omit<SwarmOptions, 'f'> {
  return {
    topology,
    task: suiteTask({ model: p.model, partition: p.partition, rule: p.rule, seed: p.taskSeed }),
    rounds: p.rounds,
    localSteps: p.localSteps,
    lr: p.lr,
    momentum: p.momentum,
    batchSize: p.batchSize,
    rule: p.rule,
    roundTimeoutMs: SIM_ROUND_TIMEOUT_MS,
    evalEvery: p.evalEvery
  }
}

/** What a simulated swarm leaves for its honest peers. */
export function honestOutcome (plan: SwarmPlan, sim: SimResult): HonestOutcome {
  const honestF = plan.nodes.filter((n) => !n.byzantine).map((n) => n.f)
  return {
    nodes: plan.nodes.length,
    byzantine: plan.byzantine,
    overrun: sim.overrunNodes,
    f: [Math.min(...honestF), Math.max(...honestF)],
    meanAccuracy: sim.final.meanAccuracy,
    minAccuracy: sim.final.minAccuracy,
    meanTestLoss: sim.final.meanTestLoss,
    consensus: sim.final.consensus,
    delivered: sim.delivery.honest.share,
    ...(sim.delivery.attack == null ? {} : { attackReached: sim.delivery.attack.reached }),
    deliveryValid: sim.delivery.valid,
    deliveryWarnings: sim.delivery.warnings
  }
}
