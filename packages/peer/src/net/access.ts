// Who may hold a connection to a peer, and for how long. A connection gater decides once the noise
// handshake has proved the remote's PeerId: members of the swarm (the launch's address book, the
// neighbours a peer accepted) and allowed peers (`--allow`) always pass; anyone else, a stranger,
// only while the peer admits strangers (an open swarm without `--allow`; a multi-host launch until
// its address book is complete). A handshake that comes before the book waits a moment for it.
// A stranger's inbound connection is closed once it goes a grace time without opening a stream of
// a protocol the peer serves; strangers together hold a few dozen connections at most, any one
// remote a few: no outsider can use up the connection slots members need.

import { readFileSync, existsSync } from 'node:fs'
import type { Connection, ConnectionGater, Libp2p, PeerId } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { loadOrCreateIdentity } from './identity.ts'
import { logger, type Logger } from '../log.ts'

/**
 * Whether peers outside the members and the allow list may connect: always (an open swarm), until
 * the members are known (a multi-host launch: the other hosts' launchers must reach this peer to
 * announce their peers before anyone has the whole book), or never.
 */
export type StrangerPolicy = 'admit' | 'until-members' | 'deny'

/** Why a connection was refused or closed: not admitted, over a connection limit, or idle. */
export type ConnectionRefusalReason = 'denied' | 'limit' | 'idle'

export interface ConnectionRefusals {
  denied: number
  limit: number
  idle: number
  /** The same, by remote PeerId (the first MAX_ATTRIBUTED_PEERS remotes). */
  byPeer: Record<string, Partial<Record<ConnectionRefusalReason, number>>>
}

/** How long a stranger's connection may go without opening a stream before it is closed (default 5 s). */
export const IDLE_GRACE_MS = 5000
/** Inbound connections all strangers together may hold at once (default 64). */
export const MAX_STRANGER_CONNECTIONS = 64
/** Connections one remote peer may hold at once (default 4; two peers normally share one). */
export const MAX_CONNECTIONS_PER_PEER = 4
/**
 * How long an unknown peer's connection waits for the members before it is decided (default 5 s).
 * A launch's peers learn the book at once but in several processes: a neighbour's first dial may
 * reach a peer a moment before its book does.
 */
export const MEMBER_WAIT_MS = 5000
/** Remote peers whose refusals are counted one by one; beyond, only the totals grow (default 256). */
export const MAX_ATTRIBUTED_PEERS = 256

export interface AccessOptions {
  strangers: StrangerPolicy
  /** PeerIds admitted besides the members. */
  allow?: Iterable<string>
  idleGraceMs?: number
  maxStrangerConnections?: number
  maxConnectionsPerPeer?: number
  memberWaitMs?: number
  log?: Logger
}

/** The policy of a peer: open swarms admit strangers unless `--allow` names who may come. */
export function strangerPolicy (options: { open: boolean, allow?: readonly string[], multiHost?: boolean }): StrangerPolicy {
  if (options.open && options.allow === undefined) return 'admit'
  return options.multiHost === true ? 'until-members' : 'deny'
}

interface Watched {
  connection: Connection
  /** A stream was opened since the last check. */
  active: boolean
  timer?: ReturnType<typeof setTimeout>
}

/** The access control of one peer: its connection gater, the idle rule and the refusal counts. */
export class PeerAccess {
  /** Pass as `connectionGater` to createLibp2p. */
  readonly gater: ConnectionGater
  private readonly strangers: StrangerPolicy
  private readonly allowed: Set<string>
  private readonly members = new Set<string>()
  private membersKnown = false
  private readonly memberWaiters = new Set<() => void>()
  private readonly watched = new Map<string, Watched>()
  /** Protocols served through `handle`: a stream of one of them is what keeps a stranger connected. */
  private readonly served = new Set<string>()
  private readonly counts: Record<ConnectionRefusalReason, number> = { denied: 0, limit: 0, idle: 0 }
  private readonly byPeer = new Map<string, Partial<Record<ConnectionRefusalReason, number>>>()
  private node?: Libp2p
  private readonly idleGraceMs: number
  private readonly maxStrangerConnections: number
  private readonly maxConnectionsPerPeer: number
  private readonly memberWaitMs: number
  private readonly log: Logger

  constructor (options: AccessOptions) {
    this.strangers = options.strangers
    this.allowed = new Set(options.allow ?? [])
    this.idleGraceMs = options.idleGraceMs ?? IDLE_GRACE_MS
    this.maxStrangerConnections = options.maxStrangerConnections ?? MAX_STRANGER_CONNECTIONS
    this.maxConnectionsPerPeer = options.maxConnectionsPerPeer ?? MAX_CONNECTIONS_PER_PEER
    this.memberWaitMs = options.memberWaitMs ?? MEMBER_WAIT_MS
    this.log = options.log ?? logger('access')
    // libp2p copies the gater's methods onto an object of its own: they must not rely on `this`.
    this.gater = {
      denyDialPeer: (peer) => this.denyOutbound(peer),
      denyOutboundEncryptedConnection: (peer) => this.denyOutbound(peer),
      denyInboundEncryptedConnection: async (peer) => await this.denyInbound(peer)
    }
  }

  /**
   * Watches `node`'s connections (call before the node starts): strangers' inbound connections
   * fall under the idle rule and the stranger limit. Protocols registered through `node.handle`
   * from now on mark a connection active whenever one of their streams arrives.
   */
  attach (node: Libp2p): void {
    this.node = node
    const handle = node.handle.bind(node)
    node.handle = async (protocol, handler, options) => {
      for (const p of Array.isArray(protocol) ? protocol : [protocol]) this.served.add(p)
      await handle(protocol, (data) => {
        const watched = this.watched.get(data.connection.id)
        if (watched !== undefined) watched.active = true
        return handler(data)
      }, options)
    }
    node.addEventListener('connection:open', (event) => { this.opened(event.detail) })
    node.addEventListener('connection:close', (event) => { this.unwatch(event.detail.id) })
    node.addEventListener('stop', () => {
      for (const id of [...this.watched.keys()]) this.unwatch(id)
      this.wakeWaiters()
    })
  }

  /**
   * The swarm's members are known (a launch's address book, a joiner's bootstrap list): they may
   * connect, and a peer that admitted strangers only until now stops admitting them. Strangers
   * already connected stay under the idle rule.
   */
  setMembers (peerIds: Iterable<string>): void {
    for (const id of peerIds) this.members.add(id)
    this.learnMembers()
    for (const [id, watched] of this.watched) if (this.trusted(watched.connection.remotePeer.toString())) this.unwatch(id)
  }

  /** One more member (a neighbour accepted, or that accepted this peer). */
  addMember (peerId: string): void {
    this.setMembers([peerId])
  }

  /** Whether a connection with `peerId` is allowed now. */
  admits (peerId: string): boolean {
    if (this.trusted(peerId)) return true
    return this.strangers === 'admit' || (this.strangers === 'until-members' && !this.membersKnown)
  }

  /** Connections refused or closed so far, by reason and by remote PeerId. */
  refusals (): ConnectionRefusals {
    return { ...this.counts, byPeer: Object.fromEntries([...this.byPeer].map(([id, c]) => [id, { ...c }])) }
  }

  private trusted (peerId: string): boolean {
    return this.members.has(peerId) || this.allowed.has(peerId)
  }

  private learnMembers (): void {
    this.membersKnown = true
    this.wakeWaiters()
  }

  private wakeWaiters (): void {
    for (const wake of this.memberWaiters) wake()
    this.memberWaiters.clear()
  }

  private count (reason: ConnectionRefusalReason, peer: PeerId, why: string): void {
    this.counts[reason]++
    const id = peer.toString()
    let counts = this.byPeer.get(id)
    if (counts === undefined && this.byPeer.size < MAX_ATTRIBUTED_PEERS) {
      counts = {}
      this.byPeer.set(id, counts)
    }
    if (counts !== undefined) counts[reason] = (counts[reason] ?? 0) + 1
    this.log('%s connection from %p: %s', reason === 'idle' ? 'closed the' : 'refused a', peer, why)
  }

  /** This peer's own dials: to members, allowed peers, or strangers while they are admitted. */
  private denyOutbound (peer: PeerId): boolean {
    const deny = !this.admits(peer.toString())
    if (deny) this.log('not dialling %p: neither a member nor allowed', peer)
    return deny
  }

  private async denyInbound (peer: PeerId): Promise<boolean> {
    const id = peer.toString()
    if (!this.trusted(id) && this.strangers === 'deny' && !this.membersKnown) await this.waitForMembers()
    if (!this.admits(id)) {
      this.count('denied', peer, 'neither a member nor allowed')
      return true
    }
    const held = this.node?.getConnections(peer).length ?? 0
    if (held >= this.maxConnectionsPerPeer) {
      this.count('limit', peer, `it already holds ${held} connections`)
      return true
    }
    if (!this.trusted(id) && this.watched.size >= this.maxStrangerConnections) {
      this.count('limit', peer, `strangers already hold ${this.watched.size} connections`)
      return true
    }
    return false
  }

  private async waitForMembers (): Promise<void> {
    let wake!: () => void
    const known = new Promise<void>((resolve) => { wake = resolve })
    this.memberWaiters.add(wake)
    const timer = setTimeout(wake, this.memberWaitMs)
    await known
    clearTimeout(timer)
    this.memberWaiters.delete(wake)
  }

  private opened (connection: Connection): void {
    if (connection.direction !== 'inbound' || this.trusted(connection.remotePeer.toString())) return
    // Handshakes decided at once may pass the gater together; the limit holds here.
    if (this.watched.size >= this.maxStrangerConnections) {
      this.count('limit', connection.remotePeer, `strangers already hold ${this.watched.size} connections`)
      connection.abort(new Error('too many connections from strangers'))
      return
    }
    const watched: Watched = { connection, active: false }
    this.watched.set(connection.id, watched)
    this.arm(watched)
  }

  private arm (watched: Watched): void {
    watched.timer = setTimeout(() => { this.check(watched) }, this.idleGraceMs)
    watched.timer.unref?.()
  }

  private check (watched: Watched): void {
    const { connection } = watched
    if (this.watched.get(connection.id) !== watched) return
    const streaming = connection.streams.some((s) => s.direction === 'inbound' && s.protocol !== undefined && this.served.has(s.protocol))
    if (watched.active || streaming) {
      watched.active = false
      this.arm(watched)
      return
    }
    this.unwatch(connection.id)
    this.count('idle', connection.remotePeer, `no stream within ${this.idleGraceMs} ms`)
    connection.close({ signal: AbortSignal.timeout(1000) }).catch((error: Error) => { connection.abort(error) })
  }

  private unwatch (connectionId: string): void {
    const watched = this.watched.get(connectionId)
    if (watched === undefined) return
    clearTimeout(watched.timer)
    this.watched.delete(connectionId)
  }
}

/** The PeerId of the peer kept in `stateDir` (its identity is created there if need be): what others `--allow`. */
export async function statePeerId (stateDir: string): Promise<string> {
  return peerIdFromPrivateKey(await loadOrCreateIdentity(stateDir)).toString()
}

/** An `--allow` value that cannot be read; the message names the entry. */
export class AllowListError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'AllowListError'
  }
}

/**
 * Reads an allow list: comma-separated PeerIds, or the path of a file of them (one a line, `#`
 * starts a comment). A PeerId has no dot or slash, so text with one is always taken as a path.
 * Returns the PeerIds in their canonical form, without repeats.
 */
export function parseAllowList (text: string): string[] {
  const isFile = /[./\\]/.test(text) || existsSync(text)
  const entries: Array<{ id: string, where: string }> = []
  if (isFile) {
    let content: string
    try {
      content = readFileSync(text, 'utf8')
    } catch (error) {
      throw new AllowListError(`cannot read ${text}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
    }
    content.split('\n').forEach((line, k) => {
      const id = line.replace(/#.*/, '').trim()
      if (id !== '') entries.push({ id, where: `${text} line ${k + 1}: ` })
    })
  } else {
    for (const id of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) entries.push({ id, where: '' })
    if (entries.length === 0) throw new AllowListError('expected comma-separated PeerIds or a file of them')
  }
  const ids = new Set<string>()
  for (const { id, where } of entries) {
    try {
      ids.add(peerIdFromString(id).toString())
    } catch {
      throw new AllowListError(`${where}"${id}" is not a PeerId (expected e.g. 12D3KooW…)`)
    }
  }
  return [...ids]
}
