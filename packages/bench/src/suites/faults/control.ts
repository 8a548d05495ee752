// Forged control messages: what a peer of the swarm can publish on its gossipsub control topic
// to confuse the others (garbage, oversized messages, bad member records, messages about a node
// it is not, about nodes outside the swarm), each with the reason a receiver must refuse it for.

import { controlTopic, type ControlRefusal, type MurmurNode } from '@murmur/peer'
import { createRng, type Rng } from '@murmur/robust'
import { fromString } from 'uint8arrays'

export const FORGED_KINDS = ['garbage', 'not-an-object', 'unknown-type', 'oversized', 'bad-addrs', 'spoofed-heartbeat', 'spoofed-membership', 'outsider-node'] as const
export type ForgedKind = typeof FORGED_KINDS[number]

export const FORGED_REASON: Readonly<Record<ForgedKind, ControlRefusal>> = {
  garbage: 'malformed',
  'not-an-object': 'malformed',
  'unknown-type': 'malformed',
  oversized: 'oversized',
  'bad-addrs': 'malformed',
  'spoofed-heartbeat': 'spoofed',
  'spoofed-membership': 'spoofed',
  'outsider-node': 'unknown-sender'
}

export interface ForgeContext {
  /** The publisher's node id and PeerId. */
  self: string
  peerId: string
  /** An honest node of the swarm, named by the spoofed messages. */
  victim: string
  round: number
}

/** One forged message's bytes. */
export function forgedMessage (kind: ForgedKind, ctx: ForgeContext, rng: Rng): Uint8Array {
  const json = (value: unknown): Uint8Array => fromString(JSON.stringify(value))
  switch (kind) {
    case 'garbage': {
      const bytes = new Uint8Array(1 + rng.int(200))
      for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(256)
      bytes[0] = 0x01 // never the start of JSON
      return bytes
    }
    case 'not-an-object': return json([ctx.self, rng.int(1000)])
    case 'unknown-type': return json({ type: 'takeover', node: ctx.self, n: rng.int(1000) })
    case 'oversized': return json({ type: 'heartbeat', node: ctx.self, round: ctx.round, time: rng.int(1000), pad: 'x'.repeat(70 * 1024) })
    case 'bad-addrs': return json({ type: 'membership', node: ctx.self, peerId: ctx.peerId, addrs: Array.from({ length: 21 }, (_, k) => `/ip4/203.0.113.${k}/tcp/${1000 + rng.int(60000)}`) })
    case 'spoofed-heartbeat': return json({ type: 'heartbeat', node: ctx.victim, round: ctx.round + 1000, time: rng.int(1e9) })
    // The victim's id with the forger's own PeerId and an address of its choosing.
    case 'spoofed-membership': return json({ type: 'membership', node: ctx.victim, peerId: ctx.peerId, addrs: [`/ip4/203.0.113.9/tcp/${1000 + rng.int(60000)}`] })
    case 'outsider-node': return json({ type: 'heartbeat', node: `outsider-${rng.int(1e6)}`, round: ctx.round, time: rng.int(1e9) })
  }
}

export interface ForgeReport {
  /** Messages published per kind. */
  sent: Partial<Record<ForgedKind, number>>
  /** The refusals each receiver must count, by reason (per receiver that gets the message). */
  expected: Partial<Record<ControlRefusal, number>>
  /** Publishes gossipsub itself refused (e.g. no peer subscribed). */
  notPublished: number
}

export interface ForgeOptions {
  node: MurmurNode
  swarm: string
  self: string
  victim: string
  count: number
  seed: number
  signal?: AbortSignal
}

/** Publishes `count` forged messages, the kinds in turn, a few milliseconds apart. */
export async function forgeControl (options: ForgeOptions): Promise<ForgeReport> {
  const { node, count, signal } = options
  const rng = createRng(options.seed)
  const report: ForgeReport = { sent: {}, expected: {}, notPublished: 0 }
  const ctx: ForgeContext = { self: options.self, peerId: node.peerId.toString(), victim: options.victim, round: 0 }
  const topic = controlTopic(options.swarm)
  for (let k = 0; k < count && signal?.aborted !== true; k++) {
    const kind = FORGED_KINDS[k % FORGED_KINDS.length]
    try {
      await node.services.pubsub.publish(topic, forgedMessage(kind, ctx, rng))
      report.sent[kind] = (report.sent[kind] ?? 0) + 1
      const reason = FORGED_REASON[kind]
      report.expected[reason] = (report.expected[reason] ?? 0) + 1
    } catch {
      report.notPublished++
    }
    // Gossipsub batches nothing: a short pause keeps the attack a stream, not one burst.
    if (k % 20 === 19) await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return report
}
