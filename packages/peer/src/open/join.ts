// Joining a running swarm from anywhere: reach a bootstrap peer, fetch and check the manifest,
// learn the membership, pick neighbours by peer sampling (they add this node back), start from
// a robust aggregate of several neighbours' models, and train from an agreed round on.

import { createRng, createRule, maxTolerableF, permutation, seedFromText } from '@murmur/robust'
import { isSafeName, SAFE_NAME_RULE } from '@murmur/topology'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { writeFile } from 'node:fs/promises'
import { join as joinPath } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { loadOrCreateIdentity } from '../net/identity.ts'
import { logger } from '../log.ts'
import { PROTOCOL_VERSION, type SwarmManifest } from '../wire/manifest.ts'
import { createMurmurNode } from '../net/node.ts'
import { bookEntry, fetchManifest, fetchMembers, type MemberRecord } from './open-swarm.ts'
import { createPeer, type MurmurPeer } from '../peer.ts'
import { peerConfigFromManifest } from '../peer-config.ts'
import type { PeerFinal } from '../swarm/protocol.ts'
import { loadJoinerData, type JoinerDataSpec } from '../round/task.ts'
import type { RoundMetrics } from '../round/types.ts'

const log = logger('join')

/**
 * How often a joiner asks a neighbour for its round while it waits for it: well within the
 * manifest requests a peer serves one caller (MANIFEST_REQUEST_LIMIT).
 */
export const ROUND_POLL_MS = 200

/** A join that cannot go ahead; the message says why and what to change. */
export class JoinError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'JoinError'
  }
}

export interface JoinOptions {
  /** Multiaddrs of peers of the swarm, each with its /p2p/<PeerId>; tried in order. */
  bootstrap: readonly string[]
  /** identity.key, checkpoint, metrics.jsonl, edges.jsonl and join.json go here. */
  stateDir: string
  /** This node's id in the swarm (default j-<last 8 characters of its PeerId>). */
  id?: string
  /** Neighbours to find (default 3). */
  degree?: number
  /** Own data (default: a fresh partition of the swarm's data set, split nodes + 1 ways). */
  data?: JoinerDataSpec
  listen?: string[]
  announce?: string[]
  /**
   * PeerIds that may connect besides the swarm's members this node learns (`--allow`); without
   * it, anyone may (the swarm is open).
   */
  allow?: readonly string[]
  /** Protocol version this node speaks (default the current one). */
  protocol?: number
  /** How long to keep trying to reach a bootstrap peer (default 15 s). */
  connectTimeoutMs?: number
  signal?: AbortSignal
  onStatus?: (message: string) => void
  onRound?: (metrics: RoundMetrics, params: Float32Array) => void
  /** Called once the neighbours accepted, before the first round. */
  onJoined?: (joined: Omit<JoinResult, 'final'>) => void
}

export interface JoinResult {
  id: string
  peerId: string
  manifest: SwarmManifest
  /** Neighbours that accepted, and the round the edges started at. */
  neighbours: string[]
  startRound: number
  /** Peers whose models made up the starting point. */
  syncedFrom: string[]
  final: PeerFinal
}

/** Tries each bootstrap address until one answers with a manifest, within the connect timeout. */
async function probe (options: JoinOptions): Promise<{ manifest: SwarmManifest, members: MemberRecord[], via: Multiaddr }> {
  const addrs = options.bootstrap.map((text) => {
    try {
      const addr = multiaddr(text)
      if (addr.getPeerId() === null) throw new Error('no /p2p/<PeerId> part')
      return addr
    } catch (error) {
      throw new JoinError(`--bootstrap ${text}: not a peer multiaddr (${(error as Error).message})`)
    }
  })
  if (addrs.length === 0) throw new JoinError('no bootstrap address given')
  const timeoutMs = options.connectTimeoutMs ?? 15_000
  // Under the node's own identity: a swarm that admits newcomers by PeerId (`--allow`) lets it in.
  const node = await createMurmurNode({ privateKey: await loadOrCreateIdentity(options.stateDir), listen: [] })
  const deadline = Date.now() + timeoutMs
  // The last failure of each address: the one that would have answered may not be the last tried.
  const reasons = new Map<string, string>()
  try {
    while (Date.now() < deadline) {
      for (const addr of addrs) {
        const left = deadline - Date.now()
        if (left <= 0) break
        try {
          const manifest = await fetchManifest(node, addr, { timeoutMs: Math.min(left, 5000), protocol: options.protocol ?? PROTOCOL_VERSION, ...(options.signal === undefined ? {} : { signal: options.signal }) })
          const members = await fetchMembers(node, addr, [], { timeoutMs: 5000 })
          return { manifest, members, via: addr }
        } catch (error) {
          // A manifest this node cannot train with is final; an unreachable peer may come up.
          if ((error as Error).name === 'ManifestError') throw new JoinError(`${addr.toString()}: ${(error as Error).message}`)
          reasons.set(addr.toString(), (error as Error).message)
          log('bootstrap %s: %s', addr.toString(), (error as Error).message)
        }
      }
      if (options.signal?.aborted === true) break
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
  } finally {
    await node.stop()
  }
  const causes = [...reasons].map(([addr, reason]) => `${addr}: ${reason}`).join('; ')
  if (options.signal?.aborted === true) throw new JoinError(`stopped before a bootstrap peer answered${causes === '' ? '' : ` (${causes})`}`)
  throw new JoinError(`could not reach a bootstrap peer within ${Math.round(timeoutMs / 1000)} s (${causes === '' ? 'no attempt finished' : causes})`)
}

/** Coordinate-wise median of the fetched models: up to half of them may lie. */
function robustStart (models: Float32Array[]): Float32Array {
  const rule = createRule('cwmed')
  return rule.aggregate(models, { f: maxTolerableF(rule, models.length) })
}

/** Joins a running swarm and trains with it to the end of its schedule (or until aborted). */
export async function joinSwarm (options: JoinOptions): Promise<JoinResult> {
  const status = options.onStatus ?? (() => {})
  const degree = options.degree ?? 3
  if (!Number.isInteger(degree) || degree < 1) throw new JoinError(`--degree: expected an integer ≥ 1, got ${degree}`)
  // The id names the node's folders and files: no path may hide in it.
  if (options.id !== undefined && !isSafeName(options.id)) throw new JoinError(`--id: ${JSON.stringify(options.id)} is not a usable node id (${SAFE_NAME_RULE})`)

  status(`contacting ${options.bootstrap.join(', ')}`)
  const { manifest, members, via } = await probe(options)
  status(`swarm ${manifest.swarm}: round ${manifest.schedule.round} of ${manifest.schedule.rounds}, rule ${manifest.mixing.rule}, ${members.length} peers known (via ${via.toString()})`)
  if (!manifest.open) throw new JoinError(`swarm ${manifest.swarm} does not accept newcomers (its peers were launched without --open)`)
  if (manifest.schedule.round >= manifest.schedule.rounds - 1) throw new JoinError(`swarm ${manifest.swarm} is at its last round (${manifest.schedule.round}); nothing left to join`)

  const data = await loadJoinerData(manifest.task, manifest.nodes, options.data ?? { kind: 'partition', index: manifest.nodes, count: manifest.nodes + 1 })
  const rule = createRule(manifest.mixing.rule)
  const f = Math.min(manifest.mixing.joinerF, Math.max(0, maxTolerableF(rule, degree + 1)))
  // Without a chosen id the node is named after its PeerId, unique by construction.
  const peerId = peerIdFromPrivateKey(await loadOrCreateIdentity(options.stateDir)).toString()
  const id = options.id ?? `j-${peerId.slice(-8)}`
  if (members.some((m) => m.id === id)) throw new JoinError(`node id ${id} is already taken in swarm ${manifest.swarm}; pick another with --id`)
  // The newcomer takes the slot after the swarm's nodes: its batch order is its own.
  const config = peerConfigFromManifest(manifest, { id, index: manifest.nodes, f })
  const peer = await createPeer({
    config,
    stateDir: options.stateDir,
    listen: options.listen ?? ['/ip4/127.0.0.1/tcp/0'],
    ...(options.announce === undefined ? {} : { announce: options.announce }),
    open: true,
    ...(options.allow === undefined ? {} : { allow: options.allow }),
    swarmSize: manifest.nodes + 1,
    data,
    targetDegree: degree
  })
  try {
    const self = peer.address()
    await peer.connect([...members, self])
    if (peer.dimension !== manifest.dimension) throw new JoinError(`the swarm's model has ${manifest.dimension} parameters, this node built ${peer.dimension}`)

    // Peer sampling: a seeded random order of the known members.
    const others = members.filter((m) => m.id !== id)
    const order = Array.from(permutation(others.length, createRng(seedFromText(id))), (k) => others[k])
    const sources = order.slice(0, Math.max(degree, 2 * f + 1, 3))
    const models = await peer.fetchModels(sources)
    if (models.size === 0) throw new JoinError('no peer answered with its model; cannot start')
    peer.setInitialParams(robustStart([...models.values()].map((m) => m.params)))
    const latest = Math.max(...[...models.values()].map((m) => m.round))
    status(`starting from the coordinate-wise median of ${models.size} models (rounds up to ${latest})`)

    // The edges start two rounds past the most advanced model seen; a neighbour already past
    // that round declines, and the start moves after it.
    let startRound = latest + 3
    let accepted: string[] = []
    const declined = new Map<string, string>()
    for (let attempt = 0; attempt < 3; attempt++) {
      const answer = await peer.requestNeighbours(order.filter((m) => !accepted.includes(m.id)), degree - accepted.length, startRound)
      accepted = [...accepted, ...answer.accepted]
      for (const [id, reason] of Object.entries(answer.declined)) declined.set(id, reason)
      if (accepted.length >= degree || answer.latestRound < startRound) break
      startRound = answer.latestRound + 2
      if (accepted.length > 0) await peer.requestNeighbours(order.filter((m) => accepted.includes(m.id)), accepted.length, startRound)
    }
    if (accepted.length === 0) {
      const causes = [...declined].filter(([id]) => !accepted.includes(id)).map(([id, reason]) => `${id}: ${reason}`)
      throw new JoinError(`no peer of swarm ${manifest.swarm} accepted this node as a neighbour${causes.length === 0 ? '' : ` (${causes.join('; ')})`}`)
    }
    if (startRound >= manifest.schedule.rounds) throw new JoinError(`swarm ${manifest.swarm} ends at round ${manifest.schedule.rounds} before this node could start`)
    status(`neighbours ${accepted.join(', ')} from round ${startRound}`)
    // A neighbour keeps only the next two rounds' frames: sending earlier would lose the model.
    await waitForRound(peer, order.filter((m) => accepted.includes(m.id)), startRound - 2, manifest.schedule.roundTimeoutMs * 3, options.signal)
    const summary = { id, peerId: self.peerId, manifest, neighbours: accepted, startRound, syncedFrom: [...models.keys()] }
    await writeFile(joinPath(options.stateDir, 'join.json'), JSON.stringify(summary, null, 2) + '\n')
    options.onJoined?.(summary)

    const final = await peer.run({
      startRound,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.onRound === undefined ? {} : { onRound: options.onRound })
    })
    return { ...summary, final }
  } finally {
    await peer.stop()
  }
}

/** Polls the neighbours' manifests until each is at `round` or later, or the wait is over. */
async function waitForRound (peer: MurmurPeer, neighbours: readonly MemberRecord[], round: number, waitMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + waitMs
  const pending = new Set(neighbours.map((m) => m.id))
  while (pending.size > 0 && Date.now() < deadline && signal?.aborted !== true) {
    for (const m of neighbours) {
      if (!pending.has(m.id)) continue
      try {
        const manifest = await fetchManifest(peer.libp2p, bookEntry(m).peerId, { timeoutMs: 2000 })
        if (manifest.schedule.round >= round) pending.delete(m.id)
      } catch (error) {
        log('%s: %s', m.id, (error as Error).message)
      }
    }
    if (pending.size > 0) await new Promise((resolve) => setTimeout(resolve, ROUND_POLL_MS))
  }
}
