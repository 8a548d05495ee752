// The control plane: small JSON messages on the gossipsub topic /murmur/<swarm>/control/1 —
// heartbeats with the round, membership (who listens where), end-of-run summaries. Models never
// travel here. A validator drops anything malformed before gossipsub forwards it.

import { TopicValidatorResult, type Message, type PeerId } from '@libp2p/interface'
import { fromString, toString } from 'uint8arrays'
import { logger } from './log.ts'
import type { MurmurNode } from './node.ts'

export const MAX_CONTROL_BYTES = 64 * 1024

export type ControlMessage =
  | { type: 'heartbeat', node: string, round: number, time: number }
  | { type: 'membership', node: string, peerId: string, addrs: string[] }
  | { type: 'summary', node: string, round: number, accuracy?: number, loss?: number }

/** The control topic of a swarm. */
export function controlTopic (swarm: string): string {
  return `/murmur/${swarm}/control/1`
}

const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 255
const isRound = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0
const isOptionalFinite = (v: unknown): boolean => v === undefined || (typeof v === 'number' && Number.isFinite(v))

/** Parses and checks one control message; throws on anything else. */
export function parseControlMessage (bytes: Uint8Array, from?: PeerId): ControlMessage {
  if (bytes.length > MAX_CONTROL_BYTES) throw new Error(`control message of ${bytes.length} bytes exceeds ${MAX_CONTROL_BYTES}`)
  const value = JSON.parse(toString(bytes)) as Record<string, unknown>
  if (typeof value !== 'object' || value === null || !isId(value.node)) throw new Error('control message without a node id')
  switch (value.type) {
    case 'heartbeat':
      if (!isRound(value.round) || typeof value.time !== 'number' || !Number.isFinite(value.time)) throw new Error('bad heartbeat')
      return { type: 'heartbeat', node: value.node, round: value.round, time: value.time }
    case 'membership':
      if (!isId(value.peerId) || !Array.isArray(value.addrs) || value.addrs.length > 32 || !value.addrs.every((a) => typeof a === 'string' && a.length < 512)) {
        throw new Error('bad membership message')
      }
      // A peer may only announce itself.
      if (from !== undefined && value.peerId !== from.toString()) throw new Error(`membership for ${value.peerId} published by ${from.toString()}`)
      return { type: 'membership', node: value.node, peerId: value.peerId, addrs: value.addrs as string[] }
    case 'summary':
      if (!isRound(value.round) || !isOptionalFinite(value.accuracy) || !isOptionalFinite(value.loss)) throw new Error('bad summary')
      return {
        type: 'summary',
        node: value.node,
        round: value.round,
        ...(value.accuracy === undefined ? {} : { accuracy: value.accuracy as number }),
        ...(value.loss === undefined ? {} : { loss: value.loss as number })
      }
    default:
      throw new Error(`unknown control message type ${JSON.stringify(value.type)}`)
  }
}

export interface ControlPlaneOptions {
  swarm: string
  self: string
}

export interface Member { round: number, lastSeen: number }

export interface ControlPlane {
  readonly topic: string
  start: () => Promise<void>
  stop: () => Promise<void>
  /** Publishes a message; with nobody subscribed yet it is dropped (and logged), never thrown. */
  publish: (message: ControlMessage) => void
  on: <T extends ControlMessage['type']>(type: T, handler: (message: Extract<ControlMessage, { type: T }>) => void) => void
  /** Peers heard from, by node id. */
  members: () => ReadonlyMap<string, Member>
  /** Messages the validator refused. */
  rejected: () => number
}

export function createControlPlane (node: MurmurNode, options: ControlPlaneOptions): ControlPlane {
  const log = logger(`control:${options.self}`)
  const topic = controlTopic(options.swarm)
  const pubsub = node.services.pubsub
  const handlers = new Map<string, Array<(message: ControlMessage) => void>>()
  const members = new Map<string, Member>()
  let rejected = 0

  const validate = (_peer: PeerId, message: Message): TopicValidatorResult => {
    try {
      parseControlMessage(message.data, message.type === 'signed' ? message.from : undefined)
      return TopicValidatorResult.Accept
    } catch (error) {
      rejected++
      log('rejected a control message: %s', (error as Error).message)
      return TopicValidatorResult.Reject
    }
  }

  const onMessage = (event: CustomEvent<Message>): void => {
    if (event.detail.topic !== topic) return
    let message: ControlMessage
    try {
      message = parseControlMessage(event.detail.data)
    } catch {
      return // the validator counted it
    }
    if (message.type === 'heartbeat') members.set(message.node, { round: message.round, lastSeen: Date.now() })
    for (const handler of handlers.get(message.type) ?? []) handler(message)
  }

  return {
    topic,
    async start () {
      pubsub.topicValidators.set(topic, validate)
      pubsub.addEventListener('message', onMessage)
      pubsub.subscribe(topic)
    },
    async stop () {
      pubsub.unsubscribe(topic)
      pubsub.removeEventListener('message', onMessage)
      pubsub.topicValidators.delete(topic)
    },
    publish (message) {
      pubsub.publish(topic, fromString(JSON.stringify(message))).catch((error: Error) => {
        log('control message not published: %s', error.message)
      })
    },
    on (type, handler) {
      const list = handlers.get(type) ?? []
      list.push(handler as (message: ControlMessage) => void)
      handlers.set(type, list)
    },
    members: () => members,
    rejected: () => rejected
  }
}
