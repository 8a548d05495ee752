// What makes a swarm joinable. Every peer serves four small protocols next to the model exchange:
//
//   /murmur/manifest/1.0.0   → the swarm manifest (what to train and how)
//   /murmur/members/1.0.0    the caller's own records in → the peers this one knows out
//   /murmur/neighbour/1.0.0  "add me as your neighbour from round r" → accepted or why not
//   /murmur/state/1.0.0      → this peer's current model, as a model frame
//
// A directory binds node ids to PeerIds: the first binding of an id stands, so nobody can take
// over a known node's id. Answers to callers come from the directory and the neighbour set only.

import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { decodeFrame, encodeFrame, maxFrameBytes, type Dtype } from './frame.ts'
import { logger, type Logger } from './log.ts'
import { MANIFEST_PROTOCOL, parseManifest, PROTOCOL_VERSION, type SwarmManifest } from './manifest.ts'
import type { NeighbourSet } from './neighbours.ts'
import type { MurmurNode } from './node.ts'
import { call, callJson, serve, serveJson, type RpcOptions } from './rpc.ts'
import type { AddressBookEntry } from './exchange.ts'

export const MEMBERS_PROTOCOL = '/murmur/members/1.0.0'
export const NEIGHBOUR_PROTOCOL = '/murmur/neighbour/1.0.0'
export const STATE_PROTOCOL = '/murmur/state/1.0.0'

const MAX_MEMBERS = 4096
/** How many rounds ahead a requested edge may start. */
const MAX_START_AHEAD = 16
const MAX_ADDRS = 16
const MAX_ID = 255

/** Who a node is and where it listens; `round` is the last round it was heard at, when known. */
export interface MemberRecord {
  id: string
  peerId: string
  addrs: string[]
  round?: number
}

/** A record or request that does not hold up; the message names the field. */
export class MembershipError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'MembershipError'
  }
}

const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_ID
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function parseAddrs (value: unknown, where: string): string[] {
  if (!Array.isArray(value) || value.length > MAX_ADDRS || !value.every((a) => typeof a === 'string' && a.length > 0 && a.length <= 512)) {
    throw new MembershipError(`${where}: expected at most ${MAX_ADDRS} multiaddr strings`)
  }
  for (const a of value as string[]) {
    try {
      multiaddr(a)
    } catch {
      throw new MembershipError(`${where}: "${a}" is not a multiaddr`)
    }
  }
  return value as string[]
}

export function parseMemberRecord (value: unknown, where = 'member'): MemberRecord {
  if (!isObject(value)) throw new MembershipError(`${where}: expected an object`)
  if (!isId(value.id)) throw new MembershipError(`${where}.id: expected a node id of 1–${MAX_ID} characters`)
  if (!isId(value.peerId)) throw new MembershipError(`${where}.peerId: expected a PeerId`)
  try {
    peerIdFromString(value.peerId)
  } catch {
    throw new MembershipError(`${where}.peerId: ${value.peerId} is not a PeerId`)
  }
  const addrs = parseAddrs(value.addrs, `${where}.addrs`)
  if (value.round !== undefined && !(Number.isInteger(value.round) && (value.round as number) >= 0)) throw new MembershipError(`${where}.round: expected an integer ≥ 0`)
  return { id: value.id, peerId: value.peerId, addrs, ...(value.round === undefined ? {} : { round: value.round as number }) }
}

/**
 * The records of a member list that hold up. One bad record (a forged announcement that spread)
 * must not cost a joiner every other peer: it is left out and told to `onBad`.
 */
export function parseMemberList (value: unknown, onBad: (error: MembershipError) => void = () => {}): MemberRecord[] {
  if (!isObject(value) || !Array.isArray(value.members)) throw new MembershipError('members: expected {members: [...]}')
  if (value.members.length > MAX_MEMBERS) throw new MembershipError(`members: more than ${MAX_MEMBERS} records`)
  const records: MemberRecord[] = []
  value.members.forEach((m, i) => {
    try {
      records.push(parseMemberRecord(m, `members[${i}]`))
    } catch (error) {
      if (!(error instanceof MembershipError)) throw error
      onBad(error)
    }
  })
  return records
}

/** node id → its record; the first PeerId bound to an id keeps it. */
export class Directory {
  private readonly records = new Map<string, MemberRecord>()
  private readonly idOfPeer = new Map<string, string>()
  private readonly listeners = new Set<(record: MemberRecord) => void>()

  /**
   * Adds or refreshes a record. Returns false (and changes nothing) when the id is bound to
   * another PeerId, or the PeerId to another id.
   */
  bind (record: MemberRecord): boolean {
    const known = this.records.get(record.id)
    if (known !== undefined && known.peerId !== record.peerId) return false
    const other = this.idOfPeer.get(record.peerId)
    if (other !== undefined && other !== record.id) return false
    const merged: MemberRecord = {
      id: record.id,
      peerId: record.peerId,
      addrs: record.addrs.length > 0 ? record.addrs : known?.addrs ?? [],
      ...(record.round !== undefined || known?.round !== undefined ? { round: Math.max(record.round ?? 0, known?.round ?? 0) } : {})
    }
    this.records.set(record.id, merged)
    this.idOfPeer.set(record.peerId, record.id)
    if (known === undefined) for (const listener of this.listeners) listener(merged)
    return true
  }

  /** Notes the round a node was heard at (a heartbeat). */
  heard (id: string, round: number): void {
    const known = this.records.get(id)
    if (known !== undefined && (known.round ?? -1) < round) known.round = round
  }

  get (id: string): MemberRecord | undefined { return this.records.get(id) }
  idOf (peerId: PeerId | string): string | undefined { return this.idOfPeer.get(peerId.toString()) }
  list (): MemberRecord[] { return [...this.records.values()].map((r) => ({ ...r, addrs: [...r.addrs] })) }
  get size (): number { return this.records.size }

  /** Calls `listener` for every newly bound node; returns an unsubscribe. */
  onNew (listener: (record: MemberRecord) => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }
}

/** An address-book entry (for the model exchange) from a member record. */
export function bookEntry (record: MemberRecord): AddressBookEntry {
  return { peerId: peerIdFromString(record.peerId), multiaddrs: record.addrs.map((a) => multiaddr(a)) }
}

/** "Add me as your neighbour from round `from`." The PeerId is the caller's, from the connection. */
export interface NeighbourRequest {
  node: string
  addrs: string[]
  /** The caller's target degree (the callee's Metropolis weight for it). */
  degree: number
  from: number
}

export type NeighbourAnswer =
  | { ok: true, round: number, degree: number }
  | { ok: false, round: number, reason: 'closed' | 'full' | 'too-late' | 'too-early' | 'id-taken' | 'byzantine' }

function parseNeighbourRequest (value: unknown): NeighbourRequest {
  if (!isObject(value)) throw new MembershipError('neighbour request: expected an object')
  if (!isId(value.node)) throw new MembershipError('neighbour request.node: expected a node id')
  if (!Number.isInteger(value.degree) || (value.degree as number) < 1 || (value.degree as number) > 1024) throw new MembershipError('neighbour request.degree: expected an integer in [1, 1024]')
  if (!Number.isInteger(value.from) || (value.from as number) < 0) throw new MembershipError('neighbour request.from: expected an integer ≥ 0')
  return { node: value.node, addrs: parseAddrs(value.addrs, 'neighbour request.addrs'), degree: value.degree as number, from: value.from as number }
}

function parseNeighbourAnswer (value: unknown): NeighbourAnswer {
  if (!isObject(value) || typeof value.ok !== 'boolean' || !Number.isInteger(value.round)) throw new MembershipError('neighbour answer: expected {ok, round}')
  if (value.ok) {
    if (!Number.isInteger(value.degree)) throw new MembershipError('neighbour answer.degree: expected an integer')
    return { ok: true, round: value.round as number, degree: value.degree as number }
  }
  const reasons = ['closed', 'full', 'too-late', 'too-early', 'id-taken', 'byzantine']
  if (typeof value.reason !== 'string' || !reasons.includes(value.reason)) throw new MembershipError('neighbour answer.reason: unknown')
  return { ok: false, round: value.round as number, reason: value.reason as 'closed' }
}

export interface OpenSwarmOptions {
  self: string
  swarm: string
  dimension: number
  dtype?: Dtype
  directory: Directory
  /** The manifest as of now (its schedule.round the current round). */
  manifest: () => SwarmManifest
  /** The round this peer is running (or about to run). */
  round: () => number
  /** The current model. */
  params: () => Float32Array
  /** Honest peers: where accepted newcomers go. Without it, neighbour requests are refused. */
  neighbours?: NeighbourSet
  /** Makes an accepted newcomer reachable by the model exchange. */
  addPeer: (id: string, entry: AddressBookEntry) => Promise<void>
  /** Accept newcomers as neighbours (`launch --open`, and every joiner). */
  open: boolean
  log?: Logger
}

export interface OpenSwarmServices {
  start: () => Promise<void>
  stop: () => Promise<void>
  /** Requests refused as malformed or not allowed. */
  refused: () => number
}

/** Serves the manifest, membership, neighbour and state protocols of one peer. */
export function createOpenSwarmServices (node: MurmurNode, options: OpenSwarmOptions): OpenSwarmServices {
  const log = options.log ?? logger(`open:${options.self}`)
  let refused = 0
  const onError = (): void => { refused++ }
  const protocols = [MANIFEST_PROTOCOL, MEMBERS_PROTOCOL, NEIGHBOUR_PROTOCOL, STATE_PROTOCOL]

  const members = async (request: unknown): Promise<unknown> => {
    const announced = isObject(request) && request.announce !== undefined
      ? parseMemberList({ members: request.announce }, (error) => { onError(); log('left out an announced record: %s', error.message) })
      : []
    for (const record of announced) {
      if (!options.directory.bind(record)) log('ignored a conflicting record for %s', record.id)
    }
    return { members: options.directory.list() }
  }

  const neighbour = async (request: unknown, remote: PeerId): Promise<NeighbourAnswer> => {
    const req = parseNeighbourRequest(request)
    const round = options.round()
    if (!options.open) return { ok: false, round, reason: 'closed' }
    if (options.neighbours === undefined) return { ok: false, round, reason: 'byzantine' }
    // Refused requests leave no trace: a full peer does not learn the requester's address, and an
    // edge may not start so far ahead that it would hold a slot for nothing.
    const known = options.neighbours.has(req.node)
    if (!known && options.neighbours.size >= options.neighbours.maxDegree) return { ok: false, round, reason: 'full' }
    if (req.from > round + MAX_START_AHEAD) return { ok: false, round, reason: 'too-early' }
    if (!options.directory.bind({ id: req.node, peerId: remote.toString(), addrs: req.addrs })) return { ok: false, round, reason: 'id-taken' }
    // The edge must start at a round this peer has not begun, or the two ends would disagree on it.
    if (req.from <= round && !options.neighbours.has(req.node)) return { ok: false, round, reason: 'too-late' }
    const record = options.directory.get(req.node)
    if (record === undefined) return { ok: false, round, reason: 'id-taken' }
    await options.addPeer(req.node, bookEntry(record))
    if (!options.neighbours.add(req.node, req.degree, req.from)) return { ok: false, round, reason: 'full' }
    log('accepted %s as a neighbour from round %d', req.node, req.from)
    return { ok: true, round, degree: options.neighbours.size }
  }

  return {
    async start () {
      await serveJson(node, MANIFEST_PROTOCOL, async () => options.manifest(), { log, onError })
      await serveJson(node, MEMBERS_PROTOCOL, members, { log, onError })
      await serveJson(node, NEIGHBOUR_PROTOCOL, async (request, connection) => await neighbour(request, connection.remotePeer), { log, onError })
      await serve(node, STATE_PROTOCOL, async () => {
        // The model as it stands, labelled with the last round it finished.
        const round = Math.max(0, options.round() - 1)
        return encodeFrame({ swarm: options.swarm, sender: options.self, round, dtype: 'f32', params: options.params() })
      }, { log, onError, maxBytes: 4096 })
    },
    async stop () {
      for (const protocol of protocols) await node.unhandle(protocol)
    },
    refused: () => refused
  }
}

// The caller's side.

type Target = PeerId | Multiaddr

/** Fetches and checks a peer's manifest; a peer of another protocol version is a ManifestError. */
export async function fetchManifest (node: MurmurNode, target: Target, options: RpcOptions & { protocol?: number } = {}): Promise<SwarmManifest> {
  return await callJson(node, target, MANIFEST_PROTOCOL, {}, (value) => parseManifest(value, options.protocol ?? PROTOCOL_VERSION), options)
}

/** Tells a peer about `announce` and returns the records it knows. */
export async function fetchMembers (node: MurmurNode, target: Target, announce: MemberRecord[] = [], options: RpcOptions = {}): Promise<MemberRecord[]> {
  return await callJson(node, target, MEMBERS_PROTOCOL, { announce }, parseMemberList, options)
}

export async function requestNeighbour (node: MurmurNode, target: Target, request: NeighbourRequest, options: RpcOptions = {}): Promise<NeighbourAnswer> {
  return await callJson(node, target, NEIGHBOUR_PROTOCOL, request, parseNeighbourAnswer, options)
}

/** A peer's current model, checked like any model frame (swarm, dimension, finite values). */
export async function fetchState (node: MurmurNode, target: Target, expect: { swarm: string, dimension: number }, options: RpcOptions = {}): Promise<{ round: number, sender: string, params: Float32Array }> {
  const bytes = await call(node, target, STATE_PROTOCOL, new Uint8Array([0x7b, 0x7d]), { ...options, maxBytes: maxFrameBytes(expect.dimension) })
  const frame = decodeFrame(bytes, { swarm: expect.swarm, dimension: expect.dimension, minRound: 0, maxRound: 0xffffffff })
  return { round: frame.round, sender: frame.sender, params: frame.params }
}
