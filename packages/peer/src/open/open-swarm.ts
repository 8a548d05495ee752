// What makes a swarm joinable. Every peer serves four small protocols next to the model exchange:
//
//   /murmur/manifest/1.0.0   → the swarm manifest (what to train and how)
//   /murmur/members/1.0.0    the caller's own records in → the peers this one knows out
//   /murmur/neighbour/1.0.0  "add me as your neighbour from round r" → accepted or why not
//   /murmur/state/1.0.0      → this peer's current model, as a model frame
//
// A directory binds node ids to PeerIds: the first binding of an id stands, so nobody can take
// over a known node's id. Answers to callers come from the directory and the neighbour set only.
// Each protocol limits the requests of one PeerId (a token bucket), and every request refused, a
// neighbour request declined included, is counted by reason and requesting PeerId.

import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { decodeFrame, encodeFrame, maxFrameBytes, type Dtype } from '../wire/frame.ts'
import { logger, type Logger } from '../log.ts'
import { MANIFEST_PROTOCOL, parseManifest, PROTOCOL_VERSION, type SwarmManifest } from '../wire/manifest.ts'
import type { NeighbourSet } from './neighbours.ts'
import type { MurmurNode } from '../net/node.ts'
import { RefusalCounter, type RefusalCounts } from '../net/refusals.ts'
import { call, callJson, RateLimiter, RequestRefused, serve, serveJson, type RateLimit, type RpcOptions } from '../net/rpc.ts'
import type { AddressBookEntry } from '../net/exchange.ts'

export const MEMBERS_PROTOCOL = '/murmur/members/1.0.0'
export const NEIGHBOUR_PROTOCOL = '/murmur/neighbour/1.0.0'
export const STATE_PROTOCOL = '/murmur/state/1.0.0'

/** Records of a member list, at most; announcements never grow a directory past it either. */
export const MAX_MEMBERS = 4096
/** How many rounds ahead a requested edge may start. */
export const MAX_START_AHEAD = 16

/**
 * Neighbour requests of one PeerId: 4 at once (a joiner asks again when the start round moves),
 * then one per 15 s. Each accepted one costs the node a wait every round until it is dropped.
 */
export const NEIGHBOUR_REQUEST_LIMIT: RateLimit = { burst: 4, intervalMs: 15_000 }
/** Manifest requests of one PeerId: a joiner polls its neighbours' rounds a few times a second. */
export const MANIFEST_REQUEST_LIMIT: RateLimit = { burst: 20, intervalMs: 100 }
/** Member-list requests of one PeerId: a multi-host launch asks twice a second until it knows everyone. */
export const MEMBERS_REQUEST_LIMIT: RateLimit = { burst: 16, intervalMs: 250 }
/** Model requests of one PeerId: each costs a whole model's bytes, and a joiner asks once. */
export const STATE_REQUEST_LIMIT: RateLimit = { burst: 8, intervalMs: 1000 }
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

/** Why a neighbour request is declined. */
export type NeighbourRefusal = 'closed' | 'full' | 'too-late' | 'too-early' | 'id-taken' | 'byzantine' | 'cooling-down'
const NEIGHBOUR_REFUSALS: readonly NeighbourRefusal[] = ['closed', 'full', 'too-late', 'too-early', 'id-taken', 'byzantine', 'cooling-down']

export type NeighbourAnswer =
  | { ok: true, round: number, degree: number }
  | { ok: false, round: number, reason: NeighbourRefusal }

/** A request of another protocol version is refused as such, before its fields are read. */
function checkVersion (value: unknown, what: string): void {
  if (isObject(value) && value.protocol !== undefined && value.protocol !== PROTOCOL_VERSION) {
    throw new RequestRefused('version', `${what}: protocol version ${JSON.stringify(value.protocol)}, this peer speaks version ${PROTOCOL_VERSION}`)
  }
}

function parseNeighbourRequest (value: unknown): NeighbourRequest {
  if (!isObject(value)) throw new MembershipError('neighbour request: expected an object')
  if (!isId(value.node)) throw new MembershipError('neighbour request.node: expected a node id')
  if (!Number.isInteger(value.degree) || (value.degree as number) < 1 || (value.degree as number) > 1024) throw new MembershipError('neighbour request.degree: expected an integer in [1, 1024]')
  if (!Number.isInteger(value.from) || (value.from as number) < 0 || (value.from as number) > 0xffffffff) throw new MembershipError('neighbour request.from: expected an integer in [0, 2^32 − 1]')
  return { node: value.node, addrs: parseAddrs(value.addrs, 'neighbour request.addrs'), degree: value.degree as number, from: value.from as number }
}

/** Runs a request check; what it finds wrong is the request's fault, refused as 'malformed'. */
function malformed<T> (check: () => T): T {
  try {
    return check()
  } catch (error) {
    if (error instanceof MembershipError) throw new RequestRefused('malformed', error.message)
    throw error
  }
}

function parseNeighbourAnswer (value: unknown): NeighbourAnswer {
  if (!isObject(value) || typeof value.ok !== 'boolean' || !Number.isInteger(value.round)) throw new MembershipError('neighbour answer: expected {ok, round}')
  if (value.ok) {
    if (!Number.isInteger(value.degree)) throw new MembershipError('neighbour answer.degree: expected an integer')
    return { ok: true, round: value.round as number, degree: value.degree as number }
  }
  if (!NEIGHBOUR_REFUSALS.includes(value.reason as NeighbourRefusal)) throw new MembershipError(`neighbour answer.reason: unknown reason ${JSON.stringify(value.reason)}`)
  return { ok: false, round: value.round as number, reason: value.reason as NeighbourRefusal }
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
  /** The clock of the request limits (default Date.now). */
  now?: () => number
  /** Request limits per requesting PeerId, by protocol (defaults: the *_REQUEST_LIMIT constants). */
  limits?: Partial<Record<'manifest' | 'members' | 'neighbour' | 'state', RateLimit>>
  log?: Logger
}

export interface OpenSwarmServices {
  start: () => Promise<void>
  stop: () => Promise<void>
  /** Requests refused (unreadable, over the limit, declined), all of them. */
  refused: () => number
  /** Requests refused, by reason and by requesting PeerId. */
  refusals: () => RefusalCounts
}

/** Serves the manifest, membership, neighbour and state protocols of one peer. */
export function createOpenSwarmServices (node: MurmurNode, options: OpenSwarmOptions): OpenSwarmServices {
  const log = options.log ?? logger(`open:${options.self}`)
  const refusals = new RefusalCounter()
  const protocols = [MANIFEST_PROTOCOL, MEMBERS_PROTOCOL, NEIGHBOUR_PROTOCOL, STATE_PROTOCOL]
  const limiter = (limit: RateLimit): RateLimiter => new RateLimiter(limit, options.now)
  const limits = {
    manifest: limiter(options.limits?.manifest ?? MANIFEST_REQUEST_LIMIT),
    members: limiter(options.limits?.members ?? MEMBERS_REQUEST_LIMIT),
    neighbour: limiter(options.limits?.neighbour ?? NEIGHBOUR_REQUEST_LIMIT),
    state: limiter(options.limits?.state ?? STATE_REQUEST_LIMIT)
  }
  // Counted under the PeerId the connection authenticated: a node id would be the requester's word.
  const serving = (limit: RateLimiter): { log: Logger, refusals: RefusalCounter, limit: RateLimiter } => ({ log, refusals, limit })

  const members = async (request: unknown, remote: PeerId): Promise<unknown> => {
    checkVersion(request, 'members request')
    const requester = remote.toString()
    const announced = isObject(request) && request.announce !== undefined
      ? malformed(() => parseMemberList({ members: request.announce }, (error) => {
        refusals.add('bad-record', requester)
        log('left out a record announced by %s: %s', requester, error.message)
      }))
      : []
    for (const record of announced) {
      // Announcements never grow the directory past what a member list may hold.
      if (options.directory.get(record.id) === undefined && options.directory.size >= MAX_MEMBERS) {
        refusals.add('directory-full', requester)
        continue
      }
      if (!options.directory.bind(record)) {
        refusals.add('conflicting-record', requester)
        log('ignored a conflicting record for %s from %s', record.id, requester)
      }
    }
    return { members: options.directory.list() }
  }

  const neighbour = async (request: unknown, remote: PeerId): Promise<NeighbourAnswer> => {
    checkVersion(request, 'neighbour request')
    const req = malformed(() => parseNeighbourRequest(request))
    const round = options.round()
    const decline = (reason: NeighbourRefusal): NeighbourAnswer => {
      refusals.add(reason, remote.toString())
      log('declined %s (%s) as a neighbour from round %d: %s', req.node, remote.toString(), req.from, reason)
      return { ok: false, round, reason }
    }
    if (!options.open) return decline('closed')
    const set = options.neighbours
    if (set === undefined) return decline('byzantine')
    // Refused requests leave no trace: the requester's address is only learnt once every check
    // passed. An edge may not start so far ahead that it would hold a slot for nothing, nor at a
    // round this peer has begun (the two ends would disagree on it); a dropped id waits its turn.
    const known = set.has(req.node)
    if (!known && set.coolingDown(req.node)) return decline('cooling-down')
    if (!known && set.size >= set.maxDegree) return decline('full')
    if (req.from > round + MAX_START_AHEAD) return decline('too-early')
    if (!known && req.from <= round) return decline('too-late')
    if (!options.directory.bind({ id: req.node, peerId: remote.toString(), addrs: req.addrs })) return decline('id-taken')
    const record = options.directory.get(req.node)
    if (record === undefined) return decline('id-taken')
    await options.addPeer(req.node, bookEntry(record))
    if (!set.add(req.node, req.degree, req.from)) return decline('full')
    log('accepted %s as a neighbour from round %d', req.node, req.from)
    return { ok: true, round, degree: set.size }
  }

  return {
    async start () {
      await serveJson(node, MANIFEST_PROTOCOL, async () => options.manifest(), serving(limits.manifest))
      await serveJson(node, MEMBERS_PROTOCOL, async (request, connection) => await members(request, connection.remotePeer), serving(limits.members))
      await serveJson(node, NEIGHBOUR_PROTOCOL, async (request, connection) => await neighbour(request, connection.remotePeer), serving(limits.neighbour))
      await serve(node, STATE_PROTOCOL, async () => {
        // The model as it stands, labelled with the last round it finished.
        const round = Math.max(0, options.round() - 1)
        return encodeFrame({ swarm: options.swarm, sender: options.self, round, dtype: 'f32', params: options.params() })
      }, { ...serving(limits.state), maxBytes: 4096 })
    },
    async stop () {
      for (const protocol of protocols) await node.unhandle(protocol)
    },
    refused: () => refusals.total,
    refusals: () => refusals.counts()
  }
}

// The caller's side.

type Target = PeerId | Multiaddr

/** Fetches and checks a peer's manifest; a peer of another protocol version is a ManifestError. */
export async function fetchManifest (node: MurmurNode, target: Target, options: RpcOptions & { protocol?: number } = {}): Promise<SwarmManifest> {
  return await callJson(node, target, MANIFEST_PROTOCOL, {}, (value) => parseManifest(value, options.protocol ?? PROTOCOL_VERSION), options)
}

/**
 * Tells a peer about `announce` and returns the records it knows; records that do not hold up
 * are left out and told to `onBad`.
 */
export async function fetchMembers (node: MurmurNode, target: Target, announce: MemberRecord[] = [], options: RpcOptions & { onBad?: (error: MembershipError) => void } = {}): Promise<MemberRecord[]> {
  return await callJson(node, target, MEMBERS_PROTOCOL, { protocol: PROTOCOL_VERSION, announce }, (value) => parseMemberList(value, options.onBad), options)
}

/** Asks a peer to take this node as a neighbour; a refusal of the request itself is a RequestRefused. */
export async function requestNeighbour (node: MurmurNode, target: Target, request: NeighbourRequest, options: RpcOptions = {}): Promise<NeighbourAnswer> {
  return await callJson(node, target, NEIGHBOUR_PROTOCOL, { protocol: PROTOCOL_VERSION, ...request }, parseNeighbourAnswer, options)
}

/** A peer's current model, checked like any model frame (swarm, dimension, finite values). */
export async function fetchState (node: MurmurNode, target: Target, expect: { swarm: string, dimension: number }, options: RpcOptions = {}): Promise<{ round: number, sender: string, params: Float32Array }> {
  const bytes = await call(node, target, STATE_PROTOCOL, new Uint8Array([0x7b, 0x7d]), { ...options, maxBytes: maxFrameBytes(expect.dimension) })
  const frame = decodeFrame(bytes, { swarm: expect.swarm, dimension: expect.dimension, minRound: 0, maxRound: 0xffffffff })
  return { round: frame.round, sender: frame.sender, params: frame.params }
}
