// The seams of the peer: the round engine talks to these interfaces only, so it runs the same
// over libp2p streams (production, integration tests) and over an in-memory hub (unit tests).

import type { Dataset } from '@murmur/learn'
import type { Dtype, FrameRejection } from '../wire/frame.ts'
import type { RoundTiming } from './inbox.ts'

/** Where a round's models travel between graph neighbours. Ids are topology node ids. */
export interface ModelTransport {
  /** This node's id. */
  readonly self: string
  /**
   * Sends this node's model for `round` to neighbour `to`. Resolves once written; rejects when
   * the neighbour cannot be reached or `signal` aborts (the engine counts the failure and goes on).
   */
  send: (to: string, round: number, params: Float32Array, signal?: AbortSignal) => Promise<void>
  /** Sends raw bytes as one frame, unchecked: how a rogue peer sends malformed frames. */
  sendRaw: (to: string, bytes: Uint8Array, signal?: AbortSignal) => Promise<void>
  /**
   * Resolves with the models received for `round` from the nodes in `from`, as soon as all of
   * them arrived or at `deadline` (ms since the epoch), whichever is first. Models arrive
   * decoded and validated (dimension, finite values); frames of later rounds are kept until
   * their round is collected, frames of earlier rounds are rejected as stale. An optional
   * `signal` ends the wait early with what arrived (the node is stopping). Models of `also`
   * (neighbours that went silent) are waited for only until `alsoUntil`, and included when there.
   */
  collect: (round: number, from: readonly string[], deadline: number, signal?: AbortSignal, also?: readonly string[], alsoUntil?: number) => Promise<Map<string, Float32Array>>
  /** Frames refused so far, by reason. */
  rejections: () => Readonly<Partial<Record<FrameRejection, number>>>
  /** Frames refused so far, by sending node (who delivered something the checks refused). */
  rejectionsBySender: () => Readonly<Record<string, number>>
  /** When the models of the last few collected rounds arrived (oldest first), and which came too late. */
  timings: () => readonly RoundTiming[]
  /**
   * The highest round that at least `quorum` of the nodes in `from` have sent a model for (−1
   * when fewer were heard): a node far behind it has been paused and catches up.
   */
  frontier: (from: readonly string[], quorum: number) => number
  /** When the last valid model of node `id` arrived, of whatever round (ms since the epoch; 0 if never). */
  lastHeard: (id: string) => number
  /**
   * Optional: the first round this node will collect (after a resume), so the receive window
   * opens there instead of at round 0 and early frames of that round are kept, not refused.
   */
  startAt?: (round: number) => void
}

/**
 * The private channel over which Byzantine peers pool what they received, so model-space attacks
 * see the honest models of the round (the omniscient threat model). Honest peers never have one.
 */
export interface CollusionChannel {
  /** Shares the honest models this Byzantine node received in `round` with its colluders. */
  share: (round: number, models: ReadonlyMap<string, Float32Array>) => Promise<void>
  /**
   * Everything the colluders shared for `round` (including this node's own share), once every
   * colluder reported or at `deadline`, whichever is first. Keyed by honest sender id. An
   * optional `signal` ends the wait early with what was shared so far.
   */
  gather: (round: number, deadline: number, signal?: AbortSignal) => Promise<Map<string, Float32Array>>
}

/** What one honest node's local learning looks like to the round engine. */
export interface Learner {
  readonly dimension: number
  /** Copies the current parameters. */
  getParams: () => Float32Array
  setParams: (params: Float32Array) => void
  /** Runs `steps` local optimiser steps; returns their mean training loss. */
  train: (steps: number) => { loss: number }
  /** Loss of a candidate model on a held-out local batch (for loss-aware mixing rules). */
  heldOutLoss: (params: Float32Array) => number
  /** Test loss and, for classifiers, accuracy of the current parameters. */
  evaluate: () => { loss: number, accuracy?: number }
  /** Optimiser state (momentum buffers, step count) for checkpoints. */
  optimizerState: () => { momentum: Float32Array, step: number }
  restoreOptimizerState: (state: { momentum: Float32Array, step: number }) => void
  /**
   * Optional: trains on `transform(local training data)` from now on. How a data-poisoning
   * Byzantine peer (label flip, backdoor) attacks; learners without local data leave it out.
   */
  poison?: (transform: (train: Dataset) => Dataset) => void
  dispose: () => void
}

/** How a node picks its tolerance f each round. */
export type TolerancePolicy =
  | { kind: 'global', f: number }
  /** f_i from μ_H, computed by the launcher for this node. */
  | { kind: 'per-node', f: number }

/**
 * What a node does when fewer models arrived than the rule needs for its f:
 * 'shrink-f' lowers f to the largest the rule supports on what arrived (counted as degraded),
 * 'keep' keeps its own model for the round (counted as skipped).
 */
export type ShortfallPolicy = 'shrink-f' | 'keep'

/** One round's record, written as a JSON line to the peer's metrics file. */
export interface RoundMetrics {
  node: string
  round: number
  byzantine: boolean
  trainLoss: number
  /** Present on evaluation rounds. */
  testLoss?: number
  accuracy?: number
  /** Neighbour models that arrived in time, and neighbours. */
  received: number
  neighbours: number
  /**
   * The neighbours whose model this node expected and did not get in time (an attacker expects
   * only its honest neighbours'). Per-edge delivery is read from here.
   */
  missing: string[]
  /** Tolerance used this round. */
  f: number
  /** 'ok' | 'degraded' (f shrunk) | 'skipped' (kept own model). */
  mix: 'ok' | 'degraded' | 'skipped'
  /**
   * Why a round was skipped: too few inputs ('shortfall'), the rule refused its inputs
   * ('rule-error'), its output was not finite ('non-finite'), or the node is a crashed
   * Byzantine peer ('crashed'), or the round was skipped to catch up with neighbours far ahead
   * after a pause ('behind').
   */
  skipReason?: 'shortfall' | 'rule-error' | 'non-finite' | 'crashed' | 'behind'
  /** How long this round waited at most for the neighbours' models, ms (it adapts; 0 when skipped). */
  deadlineMs: number
  /** Neighbours judged silent this round: waited for only up to the deadline's floor (absent when none). */
  silent?: string[]
  /** Checkpoints and metrics lines of this node that could not be written so far (absent when none). */
  writeFailures?: number
  bytesSent: number
  sendFailures: number
  /** Frames refused so far, by reason. */
  rejected: Partial<Record<FrameRejection, number>>
  /** Wall-clock split of the round, ms. */
  computeMs: number
  communicateMs: number
  aggregateMs: number
  roundMs: number
}

export type { Dtype }
