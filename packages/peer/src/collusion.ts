// The Byzantine peers' private channel, /murmur/collude/1.0.0: each colluder sends the honest
// models it received in a round to every other colluder, so model-space attacks are computed
// from what the attackers really saw. Only listed colluders are heard.

import type { Connection, PeerId, Stream } from '@libp2p/interface'
import * as lp from 'it-length-prefixed'
import { pipe } from 'it-pipe'
import { fromString, toString } from 'uint8arrays'
import { decodeFrame, encodeFrame, maxFrameBytes } from './frame.ts'
import { logger } from './log.ts'
import { waitForRound, type RoundWaiter } from './wait.ts'
import type { MurmurNode } from './node.ts'
import type { CollusionChannel } from './types.ts'

export const COLLUSION_PROTOCOL = '/murmur/collude/1.0.0'

export interface CollusionOptions {
  swarm: string
  self: string
  dimension: number
  /** Every colluder (this node included): node id → PeerId. */
  colluders: ReadonlyMap<string, PeerId>
  /** Rounds of reports kept for late gatherers (default 4). */
  keepRounds?: number
  sendTimeoutMs?: number
}

export interface Libp2pCollusionChannel extends CollusionChannel {
  start: () => Promise<void>
  stop: () => Promise<void>
  /** Messages refused (not a colluder, malformed). */
  refused: () => number
}

interface Header { reporter: string, round: number, count: number }

function parseHeader (bytes: Uint8Array): Header {
  const value = JSON.parse(toString(bytes)) as Partial<Header>
  if (typeof value.reporter !== 'string' || !Number.isInteger(value.round) || !Number.isInteger(value.count) ||
    (value.round as number) < 0 || (value.count as number) < 0 || (value.count as number) > 10_000) {
    throw new Error('bad collusion header')
  }
  return value as Header
}

export function createCollusionChannel (node: MurmurNode, options: CollusionOptions): Libp2pCollusionChannel {
  const log = logger(`collude:${options.self}`)
  const keep = options.keepRounds ?? 4
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

  const receive = async (stream: Stream, connection: Connection): Promise<void> => {
    const colluder = colluderOf.get(connection.remotePeer.toString())
    if (colluder === undefined) {
      refused++
      log('refused a collusion stream from outsider %p', connection.remotePeer)
      stream.abort(new Error('not a colluder'))
      return
    }
    try {
      let header: Header | undefined
      const models = new Map<string, Float32Array>()
      for await (const chunk of lp.decode(stream.source, { maxDataLength: maxBytes })) {
        if (header === undefined) {
          header = parseHeader(chunk.subarray())
          if (header.reporter !== colluder) throw new Error(`reporter ${header.reporter} is not the sending colluder ${colluder}`)
          if (header.count === 0) break
          continue
        }
        const frame = decodeFrame(chunk.subarray(), { swarm: options.swarm, dimension: options.dimension, minRound: header.round, maxRound: header.round })
        models.set(frame.sender, frame.params)
        if (models.size >= header.count) break
      }
      if (header === undefined) throw new Error('empty collusion stream')
      record(header.round, header.reporter, models)
      await stream.close()
    } catch (error) {
      refused++
      log('refused a collusion message from %s: %s', colluder, (error as Error).message)
      stream.abort(error as Error)
    }
  }

  return {
    async start () {
      await node.handle(COLLUSION_PROTOCOL, ({ stream, connection }) => {
        receive(stream, connection).catch((error: Error) => { log.error('collusion receive failed: %s', error.message) })
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
      await Promise.all([...options.colluders].filter(([id]) => id !== options.self).map(async ([id, peer]) => {
        try {
          const signal = AbortSignal.timeout(options.sendTimeoutMs ?? 10_000)
          const stream = await node.dialProtocol(peer, COLLUSION_PROTOCOL, { signal })
          await pipe(messages, (source) => lp.encode(source), stream.sink)
          await stream.close({ signal })
        } catch (error) {
          log('could not share round %d with %s: %s', round, id, (error as Error).message)
        }
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
