// The round engine: one node's gossip learning loop, the same over libp2p or the in-memory hub.
//
//   round t (honest): train K steps → θ(t+½) → send to every neighbour → collect until the
//   deadline → mix [own, ...received] with the robust rule → θ(t+1) → checkpoint (written while
//   the next round runs) → metrics.
//
// The deadline adapts to the arrival times the node observes (deadline.ts). A neighbour that is
// late costs that round's model, nothing more: the topology's edges are never given up here (an
// open swarm's neighbourhood changes only through `neighbourSet`). A node that finds itself far
// behind its neighbours (it was paused) skips ahead to their round instead of never catching up.
//
// A Byzantine node runs the same loop; its behaviour's strategy (strategies/) replaces the steps
// that differ: what goes out and what is heard, whose models are expected, how it mixes, whether
// it sits a round out.

import { logger } from '@libp2p/logger'
import {
  createRng, createRule, maxTolerableF, metropolisWeights, robustMix, ruleNeeds,
  type Aggregator, type RobustMixOptions
} from '@murmur/robust'
import {
  BYZANTINE_COLLECT_SHARE, BYZANTINE_GATHER_SHARE, ENGINE_EVAL_EVERY, NON_FINITE_GAP, ROUNDS_AHEAD, SILENT_AFTER_MISSES, STALL_MS, STALL_SETTLE_MS
} from '../constants.ts'
import { mixSeed, type ByzantineBehaviour } from './byzantine.ts'
import { loadCheckpoint, saveCheckpoint } from './checkpoint.ts'
import { AdaptiveDeadline } from './deadline.ts'
import { strategyFor, type Exchange, type RoundStrategy, type StrategyHost } from './strategies/index.ts'
import { ABORTED, atMost, sleep, unlessAborted } from './wait.ts'
import type { NeighbourView } from '../open/neighbours.ts'
import { frameBytes, type Dtype, type FrameRejection } from '../wire/frame.ts'
import type { CollusionChannel, Learner, ModelTransport, RoundMetrics, ShortfallPolicy, TolerancePolicy } from './types.ts'

const log = logger('murmur:engine')

/**
 * Whether a rule has a loss-aware stage (it then needs `lossGaps` from held-out losses), as the
 * rule registry declares it. A rule object is judged by its name, the normalized spec for rules
 * made by createRule.
 */
export function isLossAwareRule (rule: string | Aggregator): boolean {
  if (typeof rule === 'string') return ruleNeeds(rule).lossGaps === true
  try {
    return isLossAwareRule(rule.name)
  } catch {
    return false // a custom rule whose name is no spec
  }
}

/**
 * Loss gaps for loss-aware rules: gap_i = loss_i − min_j loss_j, with non-finite losses mapped to
 * a large finite gap (the rules refuse non-finite gaps).
 */
export function lossGaps (losses: ArrayLike<number>): Float64Array {
  let best = Infinity
  for (let i = 0; i < losses.length; i++) if (Number.isFinite(losses[i]) && losses[i] < best) best = losses[i]
  const gaps = new Float64Array(losses.length)
  for (let i = 0; i < losses.length; i++) {
    gaps[i] = !Number.isFinite(best) ? 0 : Number.isFinite(losses[i]) ? losses[i] - best : NON_FINITE_GAP
  }
  return gaps
}

export interface RoundEngineOptions {
  /** This node's id (topology node id). */
  self: string
  /** Graph neighbours, in the order inputs are mixed. */
  neighbours: readonly string[]
  /** The neighbours' degrees, same order: mixing rules get Metropolis–Hastings weights. */
  neighbourDegrees?: readonly number[]
  /**
   * Honest nodes of an open swarm: a neighbourhood that changes between rounds (newcomers
   * added, silent neighbours dropped). Read at the start of every round instead of
   * `neighbours`, and told after the exchange who delivered.
   */
  neighbourSet?: {
    at: (round: number) => NeighbourView
    observe: (round: number, delivered: ReadonlyMap<string, unknown>) => void
  }
  transport: ModelTransport
  learner: Learner
  /** Mixing rule: a spec of @murmur/robust such as `nnm+cwtm`, or a rule object. */
  rule: string | Aggregator
  tolerance: TolerancePolicy
  /** What to do when too few models arrive for f (default 'shrink-f'). */
  shortfall?: ShortfallPolicy
  /** Local SGD steps K per round. */
  localSteps: number
  /** The most a round waits for the neighbours' models, ms (the deadline adapts below it). */
  roundTimeoutMs: number
  /** The least a round waits, ms (default: DEADLINE_FLOOR_MS, 2 s, or roundTimeoutMs if smaller). */
  minRoundTimeoutMs?: number
  /** Rounds 0..rounds − 1 make up the run. */
  rounds: number
  /** Evaluate on the test set every k rounds and at the last round (default ENGINE_EVAL_EVERY, 1). */
  evalEvery?: number
  /** Step towards the robust aggregate, θ ← (1 − η) θ + η F(...) (default 1). */
  eta?: number
  /** Swarm id and wire format, for raw frames and byte counts (defaults 'murmur', 'f32'). */
  swarm?: string
  dtype?: Dtype
  /** Makes this node Byzantine. */
  behaviour?: ByzantineBehaviour
  /** Byzantine only: the channel to pool received models with the other colluders. */
  collusion?: CollusionChannel
  /** Byzantine only: every Byzantine node id (this one included). */
  colluders?: readonly string[]
  /** Adjacency of the whole topology (Byzantine attacks aim at receivers with it). */
  graph?: ReadonlyMap<string, readonly string[]>
  /**
   * Byzantine model attacks: share of the timeout spent collecting, and by when the pool must be
   * gathered (defaults BYZANTINE_COLLECT_SHARE, BYZANTINE_GATHER_SHARE: 0.4, 0.6).
   */
  byzantineCollectShare?: number
  byzantineGatherShare?: number
  /** Where checkpoints go; the engine resumes from it on start. */
  checkpointDir?: string
  /** Round to start at (default: one past the checkpoint's, or 0). */
  startRound?: number
  /** Receives each round's metrics (e.g. a MetricsLog's write). */
  metrics?: (metrics: RoundMetrics) => void
  /** Called after every round with its metrics and the node's new parameters (shared with the engine: read, do not modify). */
  onRound?: (metrics: RoundMetrics, params: Float32Array) => void
  /** Stops the run: the round in progress is dropped and the last checkpoint stands. */
  signal?: AbortSignal
  /** Seed of the rule's and the attacks' randomness (default 0). */
  seed?: number
}

/** What a run did, for the launcher's summary. */
export interface EngineSummary {
  node: string
  byzantine: boolean
  /** First round this run executed (after a resume: one past the checkpoint). */
  startRound: number
  /** Last completed round, −1 when none. */
  lastRound: number
  /** Rounds completed by this run. */
  rounds: number
  resumed: boolean
  interrupted: boolean
  mixes: { ok: number, degraded: number, skipped: number }
  /** Mixing outputs refused because they were not finite (the own model was kept). */
  nonFiniteMixes: number
  /** Rounds skipped to catch up with neighbours far ahead (after a pause). */
  skippedBehind: number
  /** Checkpoints that could not be written (full disk, lost permissions), and the last reason. */
  checkpointFailures: number
  checkpointError?: string
  sendFailures: number
  bytesSent: number
  rejected: Partial<Record<FrameRejection, number>>
  /** The last round's training loss and the last evaluation. */
  trainLoss?: number
  testLoss?: number
  accuracy?: number
}

function allFinite (x: Float32Array): boolean {
  for (let j = 0; j < x.length; j++) if (!Number.isFinite(x[j])) return false
  return true
}

function checkInteger (name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`round engine: ${name} must be an integer ≥ ${min}, got ${value}`)
}

/** One node's round loop. Build it, then `await engine.run()`. */
export class RoundEngine {
  readonly options: Readonly<RoundEngineOptions>
  private readonly rule: Aggregator
  private readonly lossAware: boolean
  /** What this node does differently from the honest round (nothing, for an honest node). */
  private readonly strategy: RoundStrategy
  private readonly host: StrategyHost
  private readonly colluders: ReadonlySet<string>
  /** Honest neighbours as far as this node knows (all of them for an honest node). */
  private readonly honestNeighbours: readonly string[]
  private readonly frameBytes: number
  private readonly summary: EngineSummary
  /** The checkpoint write in flight, if any (see checkpoint). */
  private writing: Promise<void> = Promise.resolve()
  private readonly deadline: AdaptiveDeadline
  /** The send to each neighbour still under way: a newer round's model replaces it. */
  private readonly sending = new Map<string, { controller: AbortController, done: Promise<void> }>()
  /** Sends finished since the last round's metrics. */
  private sent = { bytes: 0, failures: 0 }
  /** Rounds in a row each neighbour's model did not arrive in time. */
  private readonly missedInRow = new Map<string, number>()
  /**
   * What the next round needs of the last one: the neighbours it waited for in full (the
   * deadline learns from them only), whether all of them delivered, and whether it ended far past
   * its deadline (the process was paused or starved, see STALL_MS).
   */
  /** The last round ended far past its deadline (the process was paused or starved). */
  private stalled = false
  /**
   * The learner's parameters as last read or set, so a round reads them out of the model once:
   * undefined until then (a copy out of the model is not free).
   */
  private params: Float32Array | undefined

  constructor (options: RoundEngineOptions) {
    this.options = options
    const { neighbours, neighbourDegrees, tolerance, behaviour } = options
    checkInteger('localSteps', options.localSteps, 0)
    checkInteger('rounds', options.rounds, 0)
    checkInteger('evalEvery', options.evalEvery ?? ENGINE_EVAL_EVERY, 1)
    checkInteger('tolerance f', tolerance.f, 0)
    if (!(options.roundTimeoutMs > 0 && Number.isFinite(options.roundTimeoutMs))) {
      throw new RangeError(`round engine: roundTimeoutMs must be a finite number > 0, got ${options.roundTimeoutMs}`)
    }
    this.deadline = new AdaptiveDeadline({
      capMs: options.roundTimeoutMs,
      ...(options.minRoundTimeoutMs === undefined ? {} : { floorMs: Math.min(options.minRoundTimeoutMs, options.roundTimeoutMs) })
    })
    if (options.startRound !== undefined) checkInteger('startRound', options.startRound, 0)
    if (new Set(neighbours).size !== neighbours.length || neighbours.includes(options.self)) {
      throw new RangeError(`round engine: the neighbours of ${options.self} must be distinct and exclude itself, got ${neighbours.join(', ')}`)
    }
    if (neighbourDegrees !== undefined && neighbourDegrees.length !== neighbours.length) {
      throw new RangeError(`round engine: ${neighbourDegrees.length} neighbour degrees for ${neighbours.length} neighbours`)
    }
    const collect = options.byzantineCollectShare ?? BYZANTINE_COLLECT_SHARE
    const gather = options.byzantineGatherShare ?? BYZANTINE_GATHER_SHARE
    if (!(collect > 0 && collect <= gather && gather < 1)) {
      throw new RangeError(`round engine: need 0 < byzantineCollectShare ≤ byzantineGatherShare < 1, got ${collect} and ${gather}`)
    }
    this.rule = typeof options.rule === 'string' ? createRule(options.rule) : options.rule
    this.lossAware = isLossAwareRule(options.rule)
    this.strategy = strategyFor(behaviour)
    const { byzantine } = this.strategy
    const supported = maxTolerableF(this.rule, neighbours.length + 1)
    // An open neighbourhood changes size; a round short of inputs then follows the shortfall policy.
    if (!byzantine && options.neighbourSet === undefined && tolerance.f > supported) {
      throw new RangeError(`round engine: rule ${this.rule.name} tolerates f ≤ ${supported} with ${neighbours.length + 1} inputs at ${options.self}, asked for f = ${tolerance.f}`)
    }
    this.colluders = new Set(options.colluders ?? (byzantine ? [options.self] : []))
    if (byzantine && !this.colluders.has(options.self)) {
      throw new RangeError(`round engine: Byzantine node ${options.self} must be among its colluders`)
    }
    this.honestNeighbours = neighbours.filter((id) => !this.colluders.has(id))
    this.strategy.check?.(options)
    this.host = { options, colluders: this.colluders, honestNeighbours: this.honestNeighbours, sendAll: this.sendAll.bind(this) }
    const idBytes = Buffer.byteLength(options.swarm ?? 'murmur') + Buffer.byteLength(options.self)
    this.frameBytes = frameBytes(options.learner.dimension, options.dtype ?? 'f32', idBytes)
    this.summary = {
      node: options.self,
      byzantine,
      startRound: 0,
      lastRound: -1,
      rounds: 0,
      resumed: false,
      interrupted: false,
      mixes: { ok: 0, degraded: 0, skipped: 0 },
      nonFiniteMixes: 0,
      skippedBehind: 0,
      checkpointFailures: 0,
      sendFailures: 0,
      bytesSent: 0,
      rejected: {}
    }
  }

  /** Runs the rounds (resuming from the checkpoint when there is one) and returns the summary. */
  async run (): Promise<EngineSummary> {
    const { options, summary } = this
    const start = await this.resume()
    summary.startRound = start
    options.transport.startAt?.(start)
    this.strategy.setUp?.(this.host)
    for (let t = start; t < options.rounds; t++) {
      if (options.signal?.aborted === true) {
        summary.interrupted = true
        break
      }
      if (this.stalled) {
        // This process was stopped or starved past the deadline: let what queued up on the
        // network come in before judging where the neighbours are.
        const waited = await unlessAborted(sleep(Math.min(this.deadline.floorMs, STALL_SETTLE_MS), options.signal), options.signal)
        if (waited === ABORTED) { summary.interrupted = true; break }
      }
      const ahead = this.catchUpTo(t)
      if (ahead > t) {
        log('%s: neighbours are at round %d, %d rounds ahead: skipping to it', options.self, ahead, ahead - t)
        for (; t < ahead; t++) this.report(this.behindRound(t))
      }
      const metrics = await this.round(t)
      if (metrics === undefined) {
        summary.interrupted = true
        break
      }
      this.report(metrics)
    }
    await this.settleSends()
    await this.writing
    summary.rejected = { ...options.transport.rejections() }
    log('%s: ran rounds %d..%d%s', options.self, start, summary.lastRound, summary.interrupted ? ' (interrupted)' : '')
    return { ...summary, mixes: { ...summary.mixes } }
  }

  /** The last round's sends get one more deadline to finish (a slower neighbour still needs them), then stop. */
  private async settleSends (): Promise<void> {
    const pending = [...this.sending.values()]
    if (pending.length > 0) await atMost(Promise.all(pending.map(async (s) => await s.done)), this.deadline.ms, this.options.signal)
    for (const { controller } of pending) controller.abort()
    await Promise.all(pending.map(async (s) => await s.done))
    this.summary.sendFailures += this.sent.failures
    this.summary.bytesSent += this.sent.bytes
    this.sent = { bytes: 0, failures: 0 }
  }

  private report (metrics: RoundMetrics): void {
    const { options, summary } = this
    summary.lastRound = metrics.round
    summary.rounds++
    if (summary.checkpointFailures > 0) metrics.writeFailures = summary.checkpointFailures
    options.metrics?.(metrics)
    options.onRound?.(metrics, this.currentParams())
  }

  /** The learner's parameters, read out of the model only when nothing this run read or set them yet. */
  private currentParams (): Float32Array {
    this.params ??= this.options.learner.getParams()
    return this.params
  }

  /**
   * The round to continue at: t, or the round that at least f + 1 neighbours (so at least one
   * honest one, when at most f are Byzantine) have reached, when that is beyond the rounds this
   * node still buffers: it was paused, and waiting out every missed round would never close the gap.
   */
  private catchUpTo (t: number): number {
    const { options } = this
    // A majority of the neighbours (and never fewer than f + 1) must be ahead: one fast neighbour
    // pulling everyone forward would leapfrog the swarm out of step.
    const quorum = Math.max(options.tolerance.f + 1, Math.ceil(options.neighbours.length / 2))
    const frontier = options.transport.frontier(options.neighbours, quorum)
    if (frontier <= t + ROUNDS_AHEAD) return t
    return Math.min(frontier, options.rounds - 1)
  }

  /** The record of a round skipped to catch up: no training, no model, nothing received. */
  private behindRound (t: number): RoundMetrics {
    const { options } = this
    const metrics: RoundMetrics = {
      node: options.self,
      round: t,
      byzantine: this.strategy.byzantine,
      trainLoss: NaN,
      received: 0,
      neighbours: options.neighbours.length,
      missing: [...options.neighbours],
      f: options.tolerance.f,
      mix: 'skipped',
      skipReason: 'behind',
      deadlineMs: 0,
      bytesSent: 0,
      sendFailures: 0,
      rejected: { ...options.transport.rejections() },
      computeMs: 0,
      communicateMs: 0,
      aggregateMs: 0,
      roundMs: 0
    }
    this.summary.skippedBehind++
    this.count(metrics)
    return metrics
  }

  private async resume (): Promise<number> {
    const { options } = this
    let start = 0
    if (options.checkpointDir !== undefined) {
      const checkpoint = await loadCheckpoint(options.checkpointDir)
      if (checkpoint !== undefined) {
        if (checkpoint.params.length !== options.learner.dimension) {
          throw new RangeError(`round engine: checkpoint ${checkpoint.path} holds ${checkpoint.params.length} parameters, the model has ${options.learner.dimension}`)
        }
        options.learner.setParams(checkpoint.params)
        this.params = checkpoint.params
        options.learner.restoreOptimizerState({ momentum: checkpoint.momentum, step: checkpoint.step })
        start = checkpoint.round + 1
        this.summary.resumed = true
        log('%s: resumed from %s at round %d%s', options.self, checkpoint.path, start, checkpoint.fallback ? ' (previous checkpoint: the latest was unusable)' : '')
      }
    }
    return options.startRound ?? start
  }

  /** One round; undefined when the run was aborted before the round completed. */
  private async round (t: number): Promise<RoundMetrics | undefined> {
    const { options, strategy, host } = this
    const { learner } = options
    const began = performance.now()
    this.deadline.observe(options.transport.timings())
    const waitMs = this.deadline.ms
    if (strategy.silentAt?.(t) === true) return await this.silentRound(t, began, waitMs)

    const { loss } = learner.train(options.localSteps)
    // The one read of the parameters this round: what is sent, mixed, and (unless the mix replaces it) checkpointed and reported.
    const half = learner.getParams()
    this.params = half
    const trained = performance.now()
    const deadline = Date.now() + waitMs
    const view = this.neighboursAt(t)

    const exchange = strategy.exchange === undefined
      ? await this.honestExchange(t, half, deadline, view.ids)
      : await strategy.exchange(host, { t, half, deadline, waitMs })
    if (exchange === ABORTED) return undefined
    this.stalled = Date.now() - deadline > Math.max(STALL_MS, waitMs)
    // A stalled round's arrival times measure the stall, not the neighbours.
    if (this.stalled) this.deadline.ignore(t)
    if (!strategy.byzantine) options.neighbourSet?.observe(t, exchange.received)
    const communicated = performance.now()

    let mix: RoundMetrics['mix'] = 'ok'
    let skipReason: RoundMetrics['skipReason']
    let f = options.tolerance.f
    if (strategy.mix === undefined) {
      ({ mix, skipReason, f } = this.mix(t, half, exchange.received, view))
    } else {
      this.params = strategy.mix(half, exchange.received)
      learner.setParams(this.params)
      f = 0
    }
    const aggregated = performance.now()

    await this.checkpoint(t, this.params)
    const expected = strategy.expects?.(host, view) ?? view.ids
    const metrics: RoundMetrics = {
      node: options.self,
      round: t,
      byzantine: strategy.byzantine,
      trainLoss: loss,
      received: exchange.received.size,
      neighbours: view.ids.length,
      missing: expected.filter((id) => !exchange.received.has(id)),
      f,
      mix,
      ...(skipReason === undefined ? {} : { skipReason }),
      deadlineMs: waitMs,
      ...(exchange.silent === undefined ? {} : { silent: exchange.silent }),
      bytesSent: 0,
      sendFailures: 0,
      rejected: { ...options.transport.rejections() },
      computeMs: trained - began,
      communicateMs: communicated - trained,
      aggregateMs: aggregated - communicated,
      roundMs: 0
    }
    this.evaluate(t, metrics)
    metrics.roundMs = performance.now() - began
    this.count(metrics)
    return metrics
  }

  private evaluate (t: number, metrics: RoundMetrics): void {
    const every = this.options.evalEvery ?? ENGINE_EVAL_EVERY
    if ((t + 1) % every !== 0 && t !== this.options.rounds - 1) return
    const result = this.options.learner.evaluate()
    metrics.testLoss = result.loss
    this.summary.testLoss = result.loss
    if (result.accuracy !== undefined) {
      metrics.accuracy = result.accuracy
      this.summary.accuracy = result.accuracy
    }
  }

  /** Adds a round to the summary, with the sends that finished since the previous one. */
  private count (metrics: RoundMetrics): void {
    const s = this.summary
    metrics.bytesSent = this.sent.bytes
    metrics.sendFailures = this.sent.failures
    this.sent = { bytes: 0, failures: 0 }
    s.mixes[metrics.mix]++
    if (metrics.skipReason === 'non-finite') s.nonFiniteMixes++
    s.sendFailures += metrics.sendFailures
    s.bytesSent += metrics.bytesSent
    if (Number.isFinite(metrics.trainLoss)) s.trainLoss = metrics.trainLoss
  }

  /**
   * Starts one send per receiver and resolves once they all (those to `waitFor`, when given)
   * finished or `deadline` passed, whichever is first: a neighbour that does not read (paused,
   * gone) holds its own send, never the round. A send still under way when the next round's model
   * to the same neighbour goes out is cancelled, since the receiver would refuse it as stale.
   * Failures are counted, never thrown.
   */
  private async sendAll (t: number, messages: ReadonlyArray<readonly [string, Float32Array | Uint8Array]>, deadline: number, waitFor?: ReadonlySet<string>): Promise<void> {
    const { transport, self } = this.options
    const sends = messages.map(([to, payload]) => {
      this.sending.get(to)?.controller.abort()
      const controller = new AbortController()
      const done = (async () => {
        try {
          if (payload instanceof Float32Array) await transport.send(to, t, payload, controller.signal)
          else await transport.sendRaw(to, payload, controller.signal)
          this.sent.bytes += payload instanceof Float32Array ? this.frameBytes : payload.length
        } catch (error) {
          this.sent.failures++
          log('%s: round %d: sending to %s failed: %s', self, t, to, (error as Error)?.message ?? String(error))
        } finally {
          if (this.sending.get(to)?.controller === controller) this.sending.delete(to)
        }
      })()
      this.sending.set(to, { controller, done })
      return waitFor === undefined || waitFor.has(to) ? done : undefined
    })
    await atMost(Promise.all(sends), deadline - Date.now(), this.options.signal)
  }

  /** The neighbours of round t: the open swarm's current set, or the fixed topology's. */
  private neighboursAt (t: number): NeighbourView {
    const { neighbourSet, neighbours, neighbourDegrees } = this.options
    if (neighbourSet !== undefined && !this.strategy.byzantine) return neighbourSet.at(t)
    return { ids: neighbours, degrees: neighbourDegrees ?? [] }
  }

  /**
   * Who this round waits for in full. A neighbour that missed the last two rounds and sent nothing
   * at all since the previous round began (paused, crashed, gone) is waited for only up to the deadline's floor:
   * waiting the whole adaptive deadline for it would set every round to that deadline, neighbours
   * would drift out of step, and the deadline, learning from their skewed arrivals, would stretch
   * without end. As soon as any model of it arrives, even of a past round, it is waited for in full
   * again: a neighbour that is alive but behind must hold the faster ones back, or the swarm splits
   * into groups that run at their own pace. Its edge stays either way.
   */
  private awaited (neighbours: readonly string[]): { wait: string[], also: string[] } {
    const wait: string[] = []
    const also: string[] = []
    // Silent since the previous round began: nothing at all heard while it was collected.
    const quietSince = this.options.transport.timings().at(-1)?.startedAt ?? 0
    for (const id of neighbours) {
      const silent = (this.missedInRow.get(id) ?? 0) >= SILENT_AFTER_MISSES && this.options.transport.lastHeard(id) < quietSince
      if (silent) also.push(id)
      else wait.push(id)
    }
    return { wait, also }
  }

  private noteMisses (expected: readonly string[], received: ReadonlyMap<string, unknown>): void {
    for (const id of expected) this.missedInRow.set(id, received.has(id) ? 0 : (this.missedInRow.get(id) ?? 0) + 1)
  }

  private async honestExchange (t: number, half: Float32Array, deadline: number, neighbours: readonly string[]): Promise<Exchange | typeof ABORTED> {
    const { transport, signal } = this.options
    const { wait, also } = this.awaited(neighbours)
    const awaited = new Set(wait)
    const graceUntil = Math.min(deadline, Date.now() + this.deadline.floorMs)
    const outcome = await unlessAborted(Promise.all([
      this.sendAll(t, neighbours.map((id) => [id, half] as const), deadline, awaited),
      transport.collect(t, wait, deadline, signal, also, graceUntil)
    ]), signal)
    if (outcome === ABORTED) return ABORTED
    this.noteMisses(neighbours, outcome[1])
    return { received: outcome[1], ...(also.length === 0 ? {} : { silent: also }) }
  }

  /** A crashed Byzantine node: no training, nothing sent, the round's time passes. */
  private async silentRound (t: number, began: number, waitMs: number): Promise<RoundMetrics | undefined> {
    const { options } = this
    const waited = await unlessAborted(sleep(waitMs, options.signal), options.signal)
    if (waited === ABORTED) return undefined
    const metrics: RoundMetrics = {
      node: options.self,
      round: t,
      byzantine: true,
      trainLoss: NaN,
      received: 0,
      neighbours: options.neighbours.length,
      missing: [],
      f: 0,
      mix: 'skipped',
      skipReason: 'crashed',
      deadlineMs: waitMs,
      bytesSent: 0,
      sendFailures: 0,
      rejected: { ...options.transport.rejections() },
      computeMs: 0,
      communicateMs: performance.now() - began,
      aggregateMs: 0,
      roundMs: performance.now() - began
    }
    this.count(metrics)
    return metrics
  }

  /** The robust mixing step; the learner keeps its own model when the step cannot be taken. */
  private mix (t: number, own: Float32Array, received: ReadonlyMap<string, Float32Array>, view: NeighbourView): { mix: RoundMetrics['mix'], skipReason?: RoundMetrics['skipReason'], f: number } {
    const { options, rule } = this
    const inputs: Float32Array[] = []
    const degrees: number[] = []
    const weighted = view.degrees.length === view.ids.length && view.ids.length > 0
    view.ids.forEach((id, k) => {
      const model = received.get(id)
      if (model === undefined) return
      inputs.push(model)
      if (weighted) degrees.push(view.degrees[k])
    })
    const n = inputs.length + 1
    let f = options.tolerance.f
    let mix: RoundMetrics['mix'] = 'ok'
    if (rule.minInputs(f) > n) {
      const shrunk = (options.shortfall ?? 'shrink-f') === 'shrink-f' ? maxTolerableF(rule, n) : -1
      if (shrunk < 0) return { mix: 'skipped', skipReason: 'shortfall', f }
      f = shrunk
      mix = 'degraded'
    }
    const mixOptions: RobustMixOptions = { assumeFinite: true, rng: createRng(mixSeed(options.seed ?? 0, t, 0)) }
    if (weighted) mixOptions.weights = metropolisWeights(view.ids.length, degrees)
    if (options.eta !== undefined) mixOptions.eta = options.eta
    let out: Float32Array
    try {
      if (this.lossAware) mixOptions.lossGaps = lossGaps([own, ...inputs].map((x) => options.learner.heldOutLoss(x)))
      out = robustMix(rule, own, inputs, f, mixOptions)
    } catch (error) {
      log.error('%s: round %d: %s refused its %d inputs, keeping the own model: %s', options.self, t, rule.name, n, (error as Error).message)
      return { mix: 'skipped', skipReason: 'rule-error', f }
    }
    // Defence in depth: whatever slipped past the codec, a non-finite model is never applied.
    if (!allFinite(out)) {
      log.error('%s: round %d: %s produced a non-finite model, keeping the own model', options.self, t, rule.name)
      return { mix: 'skipped', skipReason: 'non-finite', f }
    }
    options.learner.setParams(out)
    this.params = out
    return { mix, f }
  }

  /**
   * Starts writing round t's checkpoint and returns once the state is captured; the write (and
   * its fsyncs) goes on while the next round trains and waits for models. One write at a time,
   * in round order: this waits for the previous one first, and run() for the last before it
   * returns, so a stopped engine always leaves its last completed round on disk.
   */
  private async checkpoint (t: number, params: Float32Array): Promise<void> {
    const { checkpointDir, learner, self } = this.options
    if (checkpointDir === undefined) return
    await this.writing
    const { momentum, step } = learner.optimizerState()
    // saveCheckpoint encodes its data before its first await: what is written is this round's state.
    this.writing = saveCheckpoint(checkpointDir, { round: t, params, momentum, step, meta: { node: self, rule: this.rule.name } })
      .catch((error: Error) => {
        // Counted and reported, not only logged: a run that cannot checkpoint cannot resume.
        this.summary.checkpointFailures++
        this.summary.checkpointError = `round ${t}: ${error.message}`
        log.error('%s: round %d: checkpoint not written: %s', self, t, error.message)
      })
  }
}
