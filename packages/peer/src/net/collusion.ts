// The Byzantine peers' private channel, /murmur/collude/1.0.0: each colluder sends the honest
// models it received in a round to every other colluder, so model-space attacks are computed
// from what the attackers really saw. Only listed colluders are heard.
//
// One stream per report, length-prefixed messages: a JSON header {reporter, round, count}, then
// `count` model frames (frame.ts) whose sender field names the honest origin. A header with
// count 0 is the end-of-share marker of a colluder that received nothing.

import type { Connection, PeerId, Stream } from '@libp2p/interface'
import * as lp from 'it-length-prefixed'
import { pipe } from 'it-pipe'
import { fromString, toString } from 'uint8arrays'
import { decodeFrame, encodeFrame, maxFrameBytes } from '../wire/frame.ts'
import { lengthPrefixed } from '../wire/length-prefix.ts'
import { logger, type Logger } from '../log.ts'
import { waitForRound, type RoundWaiter } from '../round/wait.ts'
import type { MurmurNode } from './node.ts'
import type { CollusionChannel } from '../round/types.ts'

export const COLLUSION_PROTOCOL = '/murmur/collude/1.0.0'

/** Honest models one report may carry: far above any node degree, low enough to bound memory. */
const MAX_REPORT_MODELS = 10_000

export interface CollusionOptions {
  swarm: string
  /** This node's id; must be one of `colluders`. */
  self: string
  dimension: number
  /** Every colluder (this node included): node id → PeerId. */
  colluders: ReadonlyMap<string, PeerId>
  /** Rounds of reports kept for late gatherers (default 4). */
  keepRounds?: number
  /** A share to one colluder that has not finished by then is given up (default 10 s). */
  sendTimeoutMs?: number
  /** A colluder that has not delivered its whole report by then is cut off (default 30 s). */
  readTimeoutMs?: number
  /** Defaults to `murmur:collude:<self>`. */
  log?: Logger
}

export interface Libp2pCollusionChannel extends CollusionChannel {
  /** Registers the protocol handler. */
  start: () => Promise<void>
  stop: () => Promise<void>
  /** Streams refused (not a colluder, malformed report, cut short). */
  refused: () => number
}

interface Header { reporter: string, round: number, count: number }

function parseHeader (bytes: Uint8Array): Header {
  let value: Partial<Header>
  try {
    value = JSON.parse(toString(bytes)) as Partial<Header>
  } catch {
    throw new Error('collusion header is not JSON')
  }
  if (typeof value !== 'object' || value === null || typeof value.reporter !== 'string' ||
    !Number.isInteger(value.round) || (value.round as number) < 0 || (value.round as number) > 0xffffffff ||
    !Number.isInteger(value.count) || (value.count as number) < 0 || (value.count as number) > MAX_REPORT_MODELS) {
    throw new Error('bad collusion header')
  }
  return { reporter: value.reporter, round: value.round as number, count: value.count as number }
}

/**
 * The collusion channel of one Byzantine node over libp2p. `share` sends this node's report to
 * every other colluder (an empty report too, so gatherers need not wait for the deadline);
 * `gather` pools the round's reports, own included, keyed by honest origin.
 */
export function createCollusionChannel (node: MurmurNode, options: CollusionOptions): Libp2pCollusionChannel {
  if (!options.colluders.has(options.self)) throw new Error(`collusion channel: ${options.self} is not among its colluders`)
  const log = options.log ?? logger(`collude:${options.self}`)
  const keep = options.keepRounds ?? 4
  const sendTimeoutMs = options.sendTimeoutMs ?? 10_000
  const readTimeoutMs = options.readTimeoutMs ?? 30_000
  const colluderOf = new Map([...options.colluders].map(([id, peer]) => [peer.toString(), id]))
  const maxBytes = maxFrameBytes(options.dimension)
  /** round → reporter → honest sender → model */
  const reports = new Map<number, Map<string, Map<string, Float32Array>>>()
  const waiters = new Set<RoundWaiter>()
  let refused = 0

  const record = (round: number, reporter: string, models: ReadonlyMap<string, Float32Array>): void => {
    let byReporter = reports.get(round)
    if (byReporter === undefined) { byReporter = new Map(); reports.set(round, byReporter) }
    if (!byReporter.has(reporter)) byReporter.set(reporter, new Map(models))
    for (const r of reports.keys()) if (r < round - keep) reports.delete(r)
    if (byReporter.size >= options.colluders.size) for (const w of [...waiters]) if (w.round === round) w.wake()
  }

  const refuse = (stream: Stream, who: string, why: string): void => {
    refused++
    log('refused a collusion stream from %s: %s', who, why)
    stream.abort(new Error(why))
  }

  const receive = async (stream: Stream, connection: Connection): Promise<void> => {
    const colluder = colluderOf.get(connection.remotePeer.toString())
    if (colluder === undefined || colluder === options.self) {
      refuse(stream, `outsider ${connection.remotePeer.toString()}`, 'not a colluder')
      return
    }
    const timer = setTimeout(() => { stream.abort(new Error(`no whole report within ${readTimeoutMs} ms`)) }, readTimeoutMs)
    let header: Header | undefined
    const models = new Map<string, Float32Array>()
    try {
      for await (const chunk of lp.decode(stream.source, { maxDataLength: maxBytes })) {
        if (header === undefined) {
          header = parseHeader(chunk.subarray())
          if (header.reporter !== colluder) throw new Error(`reporter ${header.reporter} is not the sending colluder ${colluder}`)
        } else {
          const frame = decodeFrame(chunk.subarray(), { swarm: options.swarm, dimension: options.dimension, minRound: header.round, maxRound: header.round })
          models.set(frame.sender, frame.params)
        }
        if (models.size >= header.count) break
      }
      if (header === undefined) throw new Error('empty collusion stream')
      if (models.size < header.count) throw new Error(`report announced ${header.count} models, carried ${models.size}`)
    } catch (error) {
      refuse(stream, colluder, (error as Error).message)
      return
    } finally {
      clearTimeout(timer)
    }
    record(header.round, header.reporter, models)
    stream.close().catch((error: Error) => { stream.abort(error) })
  }

  const sendTo = async (id: string, peer: PeerId, messages: Uint8Array[]): Promise<void> => {
    const signal = AbortSignal.timeout(sendTimeoutMs)
    const stream = await node.dialProtocol(peer, COLLUSION_PROTOCOL, { signal })
    const onTimeout = (): void => { stream.abort(new Error(`share with ${id} timed out after ${sendTimeoutMs} ms`)) }
    signal.addEventListener('abort', onTimeout, { once: true })
    try {
      await pipe(messages, lengthPrefixed, stream.sink)
      await stream.close({ signal })
    } catch (error) {
      stream.abort(error as Error)
      throw error
    } finally {
      signal.removeEventListener('abort', onTimeout)
    }
  }

  return {
    async start () {
      await node.handle(COLLUSION_PROTOCOL, ({ stream, connection }) => {
        receive(stream, connection).catch((error: Error) => {
          log.error('collusion stream from %p failed: %s', connection.remotePeer, error.message)
          stream.abort(error)
        })
      }, { maxInboundStreams: 256, maxOutboundStreams: 256 })
    },
    async stop () { await node.unhandle(COLLUSION_PROTOCOL) },
    refused: () => refused,
    async share (round, models) {
      record(round, options.self, models)
      const messages = [
        fromString(JSON.stringify({ reporter: options.self, round, count: models.size })),
        ...[...models].map(([sender, params]) => encodeFrame({ swarm: options.swarm, sender, round, dtype: 'f32', params }))
      ]
      // A colluder that cannot be reached misses this report; the others still get theirs.
      await Promise.all([...options.colluders].filter(([id]) => id !== options.self).map(async ([id, peer]) => {
        await sendTo(id, peer, messages).catch((error: Error) => {
          log('could not share round %d with %s: %s', round, id, error.message)
        })
      }))
    },
    async gather (round, deadline, signal) {
      const complete = (): boolean => (reports.get(round)?.size ?? 0) >= options.colluders.size
      if (!complete() && signal?.aborted !== true) {
        await waitForRound(waiters, round, deadline, signal)
      }
      const pooled = new Map<string, Float32Array>()
      for (const models of reports.get(round)?.values() ?? []) {
        for (const [sender, model] of models) if (!pooled.has(sender)) pooled.set(sender, model)
      }
      return pooled
    }
  }
}
