// The control plane: small JSON messages on the gossipsub topic /murmur/<swarm>/control/1 —
// heartbeats with the round, membership (who listens where), end-of-run summaries. Models never
// travel here. A topic validator drops anything malformed before gossipsub forwards it, and
// gossipsub's peer scoring then penalises whoever published it. Every refusal is counted by its
// reason and by the signer of the message (gossipsub's StrictSign authenticates it).

import { TopicValidatorResult, type Message, type PeerId } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { fromString, toString } from 'uint8arrays'
import { logger, type Logger } from '../log.ts'
import { ManifestError, parseManifest, type SwarmManifest } from '../wire/manifest.ts'
import type { MurmurNode } from './node.ts'
import { RefusalCounter, type RefusalCounts } from './refusals.ts'

/** The largest control message accepted, in bytes of JSON. */
export const MAX_CONTROL_BYTES = 64 * 1024

const MAX_ID_LENGTH = 255
/** As many addresses as a member record may hold (open-swarm.ts), so gossip never spreads a record joiners refuse. */
const MAX_ADDRS = 16

function isMultiaddr (text: string): boolean {
  try {
    multiaddr(text)
    return true
  } catch {
    return false
  }
}
const MAX_ADDR_LENGTH = 512
const MAX_REJECTION_KINDS = 32
/**
 * Node ids bound to a signer, at most (as many as a member list holds). Signing keys cost nothing
 * to make: past this, messages about new nodes are refused rather than remembered.
 */
export const MAX_CONTROL_NODES = 4096

/** "I am at this round": sent by every peer in turn (`heartbeatDue`) or on a timer. */
export interface HeartbeatMessage { type: 'heartbeat', node: string, round: number, time: number }
/** "Node `node` is PeerId `peerId`, listening on `addrs`": only the peer itself may say so. */
export interface MembershipMessage { type: 'membership', node: string, peerId: string, addrs: string[] }
/** A peer's metrics after a round or at the end of a run. */
export interface SummaryMessage {
  type: 'summary'
  node: string
  round: number
  accuracy?: number
  loss?: number
  /** Model frames the peer refused so far, by reason. */
  rejected?: Record<string, number>
}

/** The swarm manifest, announced so newcomers and monitors see what the swarm trains. */
export interface ManifestMessage { type: 'manifest', node: string, manifest: SwarmManifest }

export type ControlMessage = HeartbeatMessage | MembershipMessage | SummaryMessage | ManifestMessage
export type ControlMessageType = ControlMessage['type']

/**
 * How many heartbeats a peer should have to handle per round. Gossipsub delivers every message on
 * the topic to every subscriber, so if each of N peers heartbeats every round, each peer handles N
 * messages per round (each checked and forwarded) and the swarm N²: that term alone made rounds of
 * 128 peers on one machine several times slower. Peers take turns instead (`heartbeatDue`).
 */
export const HEARTBEATS_PER_ROUND = 16

/** Rounds between two heartbeats of one peer in a swarm of `swarmSize` peers (1 up to 16 peers). */
export function heartbeatPeriod (swarmSize: number, perRound = HEARTBEATS_PER_ROUND): number {
  if (!(Number.isInteger(swarmSize) && swarmSize >= 1)) throw new RangeError(`swarm size must be an integer ≥ 1, got ${swarmSize}`)
  if (!(Number.isInteger(perRound) && perRound >= 1)) throw new RangeError(`heartbeats per round must be an integer ≥ 1, got ${perRound}`)
  return Math.ceil(swarmSize / perRound)
}

/**
 * Whether the peer at `index` heartbeats after `round`: once every `period` rounds, staggered by
 * index so that every round about N / period peers speak, never all of them at once.
 */
export function heartbeatDue (round: number, index: number, period: number): boolean {
  return (round + index) % period === 0
}

/** The control topic of a swarm. */
export function controlTopic (swarm: string): string {
  return `/murmur/${swarm}/control/1`
}

/**
 * Why a control message was refused: too large, not a valid message ('malformed'), a manifest of
 * another swarm or protocol version, about a node outside a closed swarm, or published by a
 * peer that may not speak for the node it names ('spoofed').
 */
export type ControlRefusal = 'oversized' | 'malformed' | 'wrong-swarm' | 'version' | 'unknown-sender' | 'spoofed'

/** A control message that failed validation; the message says which field and why. */
export class ControlMessageError extends Error {
  readonly reason: ControlRefusal
  constructor (message: string, reason: ControlRefusal = 'malformed') {
    super(message)
    this.name = 'ControlMessageError'
    this.reason = reason
  }
}

const ALLOWED_KEYS: Record<ControlMessageType, ReadonlySet<string>> = {
  heartbeat: new Set(['type', 'node', 'round', 'time']),
  membership: new Set(['type', 'node', 'peerId', 'addrs']),
  summary: new Set(['type', 'node', 'round', 'accuracy', 'loss', 'rejected']),
  manifest: new Set(['type', 'node', 'manifest'])
}

const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_ID_LENGTH
const isRound = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)
const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0

function fail (type: string, why: string): never {
  throw new ControlMessageError(`${type} message: ${why}`)
}

function checkRejected (value: unknown): Record<string, number> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('summary', 'rejected must be an object of counts')
  const entries = Object.entries(value)
  if (entries.length > MAX_REJECTION_KINDS) fail('summary', `rejected has more than ${MAX_REJECTION_KINDS} reasons`)
  for (const [reason, count] of entries) {
    if (!isId(reason) || !isCount(count)) fail('summary', `rejected.${reason} must be an integer count ≥ 0`)
  }
  return Object.fromEntries(entries) as Record<string, number>
}

/**
 * Parses and strictly checks one control message: JSON of at most MAX_CONTROL_BYTES, a known
 * `type`, exactly that type's fields with their types. With `from` (the signed publisher), a
 * membership message must announce that very PeerId. Throws a ControlMessageError otherwise.
 */
export function parseControlMessage (bytes: Uint8Array, from?: PeerId): ControlMessage {
  if (bytes.length > MAX_CONTROL_BYTES) throw new ControlMessageError(`control message of ${bytes.length} bytes exceeds ${MAX_CONTROL_BYTES}`, 'oversized')
  let value: unknown
  try {
    value = JSON.parse(toString(bytes))
  } catch {
    throw new ControlMessageError('control message is not JSON')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ControlMessageError('control message is not a JSON object')
  const fields = value as Record<string, unknown>
  const type = fields.type
  if (type !== 'heartbeat' && type !== 'membership' && type !== 'summary' && type !== 'manifest') {
    throw new ControlMessageError(`unknown control message type ${JSON.stringify(type)}`)
  }
  for (const key of Object.keys(fields)) if (!ALLOWED_KEYS[type].has(key)) fail(type, `unexpected field "${key}"`)
  if (!isId(fields.node)) fail(type, `node must be a string of 1–${MAX_ID_LENGTH} characters`)
  switch (type) {
    case 'heartbeat':
      if (!isRound(fields.round)) fail(type, 'round must be an integer ≥ 0')
      if (!isFiniteNumber(fields.time)) fail(type, 'time must be a finite number')
      return { type, node: fields.node, round: fields.round, time: fields.time }
    case 'membership': {
      if (!isId(fields.peerId)) fail(type, 'peerId must be a string')
      const addrs = fields.addrs
      if (!Array.isArray(addrs) || addrs.length > MAX_ADDRS || !addrs.every((a) => typeof a === 'string' && a.length > 0 && a.length <= MAX_ADDR_LENGTH && isMultiaddr(a))) {
        fail(type, `addrs must be an array of at most ${MAX_ADDRS} multiaddrs`)
      }
      if (from !== undefined && fields.peerId !== from.toString()) {
        throw new ControlMessageError(`${type} message: announces ${fields.peerId} but was published by ${from.toString()}`, 'spoofed')
      }
      return { type, node: fields.node, peerId: fields.peerId, addrs: addrs as string[] }
    }
    case 'manifest': {
      let manifest: SwarmManifest
      try {
        manifest = parseManifest(fields.manifest)
      } catch (error) {
        const version = error instanceof ManifestError && error.field === 'protocol'
        throw new ControlMessageError(`${type} message: ${(error as Error).message}`, version ? 'version' : 'malformed')
      }
      return { type, node: fields.node, manifest }
    }
    case 'summary': {
      if (!isRound(fields.round)) fail(type, 'round must be an integer ≥ 0')
      if (fields.accuracy !== undefined && !isFiniteNumber(fields.accuracy)) fail(type, 'accuracy must be a finite number')
      if (fields.loss !== undefined && !isFiniteNumber(fields.loss)) fail(type, 'loss must be a finite number')
      return {
        type,
        node: fields.node,
        round: fields.round,
        ...(fields.accuracy === undefined ? {} : { accuracy: fields.accuracy }),
        ...(fields.loss === undefined ? {} : { loss: fields.loss }),
        ...(fields.rejected === undefined ? {} : { rejected: checkRejected(fields.rejected) })
      }
    }
  }
}

export interface ControlPlaneOptions {
  swarm: string
  /** This node's id. */
  self: string
  /**
   * Known node id → PeerId bindings (e.g. from the address book). A message about a bound node
   * from any other publisher is rejected. Unbound nodes are bound by their first accepted
   * message (a PeerId speaks for one node only).
   */
  peers?: ReadonlyMap<string, PeerId | string>
  /**
   * A closed swarm's node ids (its topology): messages about any other node are refused as
   * 'unknown-sender'. Without it, any node id may be bound by its first message.
   */
  known?: ReadonlySet<string>
  /** Defaults to `murmur:control:<self>`. */
  log?: Logger
}

/** What the control plane last heard from a peer. */
export interface Member {
  /** Round of its last heartbeat. */
  round: number
  /** The time its last heartbeat carried (the sender's clock, ms since the epoch). */
  time: number
  /** When that heartbeat arrived here (this node's clock). */
  lastSeen: number
}

export type ControlHandler<T extends ControlMessageType> = (message: Extract<ControlMessage, { type: T }>, from: PeerId | undefined) => void

export interface ControlPlane {
  readonly topic: string
  /** Installs the validator and subscribes. */
  start: () => Promise<void>
  /** Unsubscribes, removes the validator and stops the heartbeat timer. */
  stop: () => Promise<void>
  /**
   * Publishes a message. An invalid message, or one nobody can receive yet, is logged and
   * dropped: publishing never throws.
   */
  publish: (message: ControlMessage) => void
  /** Calls `handler` for every accepted message of `type` from another peer; returns an unsubscribe. */
  on: <T extends ControlMessageType>(type: T, handler: ControlHandler<T>) => () => void
  /** Peers heard from by heartbeat, by node id. */
  members: () => ReadonlyMap<string, Member>
  /** Messages the validator refused. */
  rejected: () => number
  /** Messages the validator refused, by reason and by signer (its node id once bound). */
  refusals: () => RefusalCounts
  /** Adds node id → PeerId bindings (see ControlPlaneOptions.peers). */
  setPeers: (peers: ReadonlyMap<string, PeerId | string>) => void
  /**
   * Publishes a heartbeat with `round()` now and every `intervalMs`; returns a function that
   * stops it. One heartbeat timer per plane: starting another replaces the first.
   */
  startHeartbeat: (intervalMs: number, round: () => number) => () => void
}

/** The control plane of one node over its gossipsub service. */
export function createControlPlane (node: MurmurNode, options: ControlPlaneOptions): ControlPlane {
  const log = options.log ?? logger(`control:${options.self}`)
  const topic = controlTopic(options.swarm)
  const pubsub = node.services.pubsub
  const handlers = new Map<ControlMessageType, Set<(message: ControlMessage, from: PeerId | undefined) => void>>()
  const members = new Map<string, Member>()
  /** node id → PeerId string: who may speak for that node; and back. */
  const peerOf = new Map<string, string>()
  const nodeOf = new Map<string, string>()
  const refusals = new RefusalCounter()
  let heartbeat: ReturnType<typeof setInterval> | undefined

  /** Binds `id` to `peer`, undoing whatever either was bound to before. */
  const bind = (id: string, peer: string): void => {
    const oldPeer = peerOf.get(id)
    if (oldPeer !== undefined) nodeOf.delete(oldPeer)
    const oldId = nodeOf.get(peer)
    if (oldId !== undefined) peerOf.delete(oldId)
    peerOf.set(id, peer)
    nodeOf.set(peer, id)
  }
  const setPeers = (peers: ReadonlyMap<string, PeerId | string>): void => {
    for (const [id, peer] of peers) bind(id, peer.toString())
  }
  bind(options.self, node.peerId.toString())
  if (options.peers !== undefined) setPeers(options.peers)

  /** Parses a received message and checks its publisher may speak for its node. */
  const check = (message: Message): ControlMessage => {
    const from = message.type === 'signed' ? message.from : undefined
    const parsed = parseControlMessage(message.data, from)
    if (parsed.type === 'manifest' && parsed.manifest.swarm !== options.swarm) {
      throw new ControlMessageError(`manifest message: of swarm ${parsed.manifest.swarm}, this is ${options.swarm}`, 'wrong-swarm')
    }
    if (options.known !== undefined && !options.known.has(parsed.node)) {
      throw new ControlMessageError(`${parsed.type} message for node ${parsed.node}, which is not in this swarm`, 'unknown-sender')
    }
    if (from !== undefined) {
      const signer = from.toString()
      const bound = peerOf.get(parsed.node)
      if (bound !== undefined && bound !== signer) {
        throw new ControlMessageError(`${parsed.type} message for node ${parsed.node}, which is ${bound}, published by ${signer}`, 'spoofed')
      }
      const speaksFor = nodeOf.get(signer)
      if (speaksFor !== undefined && speaksFor !== parsed.node) {
        throw new ControlMessageError(`${parsed.type} message for node ${parsed.node} published by ${signer}, which is node ${speaksFor}`, 'spoofed')
      }
      if (bound === undefined && peerOf.size >= MAX_CONTROL_NODES) {
        throw new ControlMessageError(`${parsed.type} message for node ${parsed.node}: ${MAX_CONTROL_NODES} nodes are known already`, 'unknown-sender')
      }
    }
    return parsed
  }

  const validate = (propagationSource: PeerId, message: Message): TopicValidatorResult => {
    const from = message.type === 'signed' ? message.from : undefined
    try {
      const parsed = check(message)
      // The first accepted message of a node binds it to its signer.
      if (from !== undefined && !peerOf.has(parsed.node)) bind(parsed.node, from.toString())
      return TopicValidatorResult.Accept
    } catch (error) {
      // Counted under who signed it (never the node it names); unsigned, under who forwarded it.
      const signer = (from ?? propagationSource).toString()
      refusals.add(error instanceof ControlMessageError ? error.reason : 'malformed', nodeOf.get(signer) ?? signer)
      log('rejected a control message: %s', (error as Error).message)
      return TopicValidatorResult.Reject
    }
  }

  const onMessage = (event: CustomEvent<Message>): void => {
    const message = event.detail
    if (message.topic !== topic) return
    let parsed: ControlMessage
    try {
      parsed = check(message)
    } catch {
      return // the validator refused and counted it; it is never delivered
    }
    if (parsed.type === 'heartbeat') members.set(parsed.node, { round: parsed.round, time: parsed.time, lastSeen: Date.now() })
    const from = message.type === 'signed' ? message.from : undefined
    for (const handler of handlers.get(parsed.type) ?? []) {
      try {
        handler(parsed, from)
      } catch (error) {
        log.error('a %s handler failed: %s', parsed.type, (error as Error).message)
      }
    }
  }

  const publish = (message: ControlMessage): void => {
    let bytes: Uint8Array
    try {
      bytes = fromString(JSON.stringify(message))
      parseControlMessage(bytes, node.peerId)
    } catch (error) {
      log.error('not publishing an invalid %s message: %s', message.type, (error as Error).message)
      return
    }
    pubsub.publish(topic, bytes).catch((error: Error) => {
      log('%s message not published: %s', message.type, error.message)
    })
  }

  const stopHeartbeat = (): void => {
    if (heartbeat !== undefined) clearInterval(heartbeat)
    heartbeat = undefined
  }

  return {
    topic,
    async start () {
      pubsub.topicValidators.set(topic, validate)
      pubsub.addEventListener('message', onMessage)
      pubsub.subscribe(topic)
    },
    async stop () {
      stopHeartbeat()
      pubsub.unsubscribe(topic)
      pubsub.removeEventListener('message', onMessage)
      pubsub.topicValidators.delete(topic)
    },
    publish,
    on (type, handler) {
      let set = handlers.get(type)
      if (set === undefined) { set = new Set(); handlers.set(type, set) }
      const entry = handler as (message: ControlMessage, from: PeerId | undefined) => void
      set.add(entry)
      return () => { set.delete(entry) }
    },
    members: () => members,
    rejected: () => refusals.total,
    refusals: () => refusals.counts(),
    setPeers,
    startHeartbeat (intervalMs, round) {
      if (!(intervalMs > 0 && Number.isFinite(intervalMs))) throw new RangeError(`heartbeat interval must be a positive number of ms, got ${intervalMs}`)
      stopHeartbeat()
      const beat = (): void => {
        let current: number
        try {
          current = round()
        } catch (error) {
          log.error('no heartbeat: the round is unknown (%s)', (error as Error).message)
          return
        }
        publish({ type: 'heartbeat', node: options.self, round: current, time: Date.now() })
      }
      beat()
      const timer = setInterval(beat, intervalMs)
      // A heartbeat alone never keeps the process alive.
      timer.unref()
      heartbeat = timer
      return () => { if (heartbeat === timer) stopHeartbeat() }
    }
  }
}
