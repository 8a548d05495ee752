// Messages between the launcher and its worker processes (Node IPC, advanced serialization, so
// Float32Arrays cross without JSON). Models themselves never take this path between peers: they
// travel over libp2p. The launcher only receives honest models to measure consensus.

import type { ConnectionRefusals } from '../net/access.ts'
import type { PeerRefusals } from '../net/refusals.ts'
import type { NodePlan, SwarmPlan } from './plan.ts'
import type { RoundMetrics } from '../round/types.ts'

export interface PeerAddress {
  id: string
  peerId: string
  addrs: string[]
}

export type ToWorker =
  /**
   * `listen`: per node, the addresses to listen on again (a worker started again after dying).
   * `allow`: PeerIds admitted besides the swarm's own; `multiHost`: other hosts run the rest.
   */
  | { type: 'init', plan: SwarmPlan, nodes: NodePlan[], runDir: string, listenHost: string, open: boolean, listen?: Record<string, string[]>, allow?: string[], multiHost?: boolean }
  | { type: 'start', book: PeerAddress[], startRound: number }
  | { type: 'stop' }

export interface PeerFinal {
  id: string
  byzantine: boolean
  lastRound: number
  accuracy?: number
  testLoss?: number
  rejected: RoundMetrics['rejected']
  /** Frames refused by sending node. */
  rejectedFrom: Record<string, number>
  /** Everything the peer refused (frames, control messages, requests), by reason and by sender. */
  refusals?: PeerRefusals
  /** Rounds skipped to catch up after a pause. */
  skippedBehind: number
  /** Checkpoints that could not be written, and the last reason. */
  checkpointFailures: number
  checkpointError?: string
  /** Lines of metrics.jsonl that could not be written, and the last reason. */
  metricsFailures?: number
  metricsError?: string
  /** Connections the peer refused or closed (outsiders, limits, idle strangers). */
  connectionRefusals?: ConnectionRefusals
}

export type FromWorker =
  | { type: 'listening', peers: PeerAddress[], resumeRounds: Record<string, number>, backend: string }
  | { type: 'round', metrics: RoundMetrics, params?: Float32Array, rss: number, peersInProcess: number }
  | { type: 'done', peers: PeerFinal[] }
  | { type: 'error', message: string, node?: string }
