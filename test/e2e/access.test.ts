// End-to-end: a launch open to newcomers but restricted with an allow list, over TCP on loopback:
// the listed PeerId reaches a peer, anyone else is refused, and the refusal reaches the summary.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { createMurmurNode, ephemeralIdentity, fetchManifest, launchSwarm, loadOrCreateIdentity, type PeerFinal } from '@murmur/peer'
import type { Topology } from '@murmur/topology'
import { tinyPlan } from '../../packages/peer/test/helpers/plan.ts'
import { tempDir } from '../../packages/peer/test/helpers/temp.ts'

function ring4 (): Topology {
  const nodes = Array.from({ length: 4 }, (_, i) => ({ id: `p${i}` }))
  return { name: 'ring-4', nodes, edges: nodes.map((n, i) => [n.id, `p${(i + 1) % 4}`] as [string, string]) }
}

test('--allow restricts an open swarm to the listed newcomers', async () => {
  const dir = tempDir('allow-launch')
  const friend = await createMurmurNode({ privateKey: await loadOrCreateIdentity(join(dir, 'friend')), listen: [] })
  const stranger = await createMurmurNode({ privateKey: await ephemeralIdentity(), listen: [] })
  const plan = tinyPlan(ring4(), { rounds: 10_000, evalEvery: 100 })
  const controller = new AbortController()
  let checked: Promise<{ friend: boolean, stranger: boolean }> | undefined
  try {
    const result = await launchSwarm({
      plan,
      runDir: join(dir, 'run'),
      workers: 2,
      open: true,
      allow: [friend.peerId.toString()],
      signal: controller.signal,
      onBootstrap: (addrs) => {
        const target = multiaddr(addrs[0])
        const reaches = async (node: typeof friend): Promise<boolean> => {
          try {
            await fetchManifest(node, target, { timeoutMs: 10_000 })
            return true
          } catch {
            return false
          }
        }
        checked = Promise.all([reaches(friend), reaches(stranger)]).then(([f, s]) => ({ friend: f, stranger: s }))
        // The run goes on until both have tried.
        void checked.finally(() => { controller.abort() })
      }
    })
    assert.deepEqual(await checked, { friend: true, stranger: false })
    assert.ok(result.interrupted)
    const summary = JSON.parse(readFileSync(join(dir, 'run', 'summary.json'), 'utf8')) as { peers: PeerFinal[] }
    const refused = summary.peers.filter((p) => (p.connectionRefusals?.denied ?? 0) > 0)
    assert.equal(refused.length, 1, JSON.stringify(summary.peers.map((p) => p.connectionRefusals)))
    assert.deepEqual(Object.keys(refused[0].connectionRefusals?.byPeer ?? {}), [stranger.peerId.toString()])
  } finally {
    await friend.stop()
    await stranger.stop()
  }
})
