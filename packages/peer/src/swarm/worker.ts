// A worker process of the local launcher: hosts a group of peers (each its own libp2p node with
// its own TCP listener) and reports their rounds to the launcher over IPC.

import { initBackend } from '@murmur/learn'
import { logger } from '@libp2p/logger'
import { createPeer, type MurmurPeer } from '../peer.ts'
import { peerStateDir } from './run-plan.ts'
import type { FromWorker, ToWorker } from './protocol.ts'

const log = logger('murmur:worker')
const peers: MurmurPeer[] = []
const controller = new AbortController()

const inFlight = new Set<Promise<void>>()

/** Sends to the launcher; the worker waits for every report to leave before it disconnects. */
function report (message: FromWorker): void {
  if (!process.connected || process.send === undefined) return
  const sent = new Promise<void>((resolve) => { process.send?.(message, undefined, undefined, () => { resolve() }) })
  inFlight.add(sent)
  void sent.then(() => inFlight.delete(sent))
}

// Ctrl-C reaches the whole process group; the launcher decides how to stop, so the worker waits
// for its 'stop' (or for the launcher to vanish).
process.on('SIGINT', () => {})
process.on('SIGTERM', () => {})
process.on('disconnect', () => { controller.abort() })

async function init (message: Extract<ToWorker, { type: 'init' }>): Promise<void> {
  const backend = await initBackend()
  const resumeRounds: Record<string, number> = {}
  for (const node of message.nodes) {
    const peer = await createPeer({
      plan: message.plan,
      node,
      stateDir: peerStateDir(message.runDir, node.id),
      listen: message.listen?.[node.id] ?? [`/ip4/${message.listenHost}/tcp/0`],
      open: message.open,
      ...(message.allow === undefined ? {} : { allow: message.allow }),
      multiHost: message.multiHost === true
    })
    peers.push(peer)
    resumeRounds[node.id] = peer.resumeRound()
  }
  report({ type: 'listening', peers: peers.map((p) => p.address()), resumeRounds, backend })
}

async function start (message: Extract<ToWorker, { type: 'start' }>): Promise<void> {
  // Every peer here knows the book before any dials: a model from a peer not yet in the book is refused.
  for (const peer of peers) await peer.connect(message.book)
  await Promise.all(peers.map(async (peer) => { await peer.dialNeighbours() }))
  const finals = await Promise.all(peers.map(async (peer) => await peer.run({
    startRound: message.startRound,
    signal: controller.signal,
    onRound: (metrics, params) => {
      report({ type: 'round', metrics, params: metrics.byzantine ? undefined : params, rss: process.memoryUsage().rss, peersInProcess: peers.length })
    }
  })))
  for (const peer of peers) await peer.stop()
  report({ type: 'done', peers: finals })
  await Promise.all(inFlight)
}

process.on('message', (raw) => {
  const message = raw as ToWorker
  const task = message.type === 'init'
    ? init(message)
    : message.type === 'start'
      ? start(message)
      : Promise.resolve(controller.abort())
  task.then(() => {
    if (message.type === 'start') process.disconnect()
  }).catch((error: Error) => {
    log.error('worker failed: %s', error.stack ?? error.message)
    report({ type: 'error', message: error.message })
    controller.abort()
    Promise.all(peers.map(async (p) => { await p.stop() })).finally(() => process.exit(1))
  })
})
