// The fault campaign: every hostile stream kind is refused under the reason the campaign expects
// (a real exchange over TCP), and the quick profile's cells pass their checks on real swarms.

import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ControlMessageError, createModelExchange, createMurmurNode, ephemeralIdentity, parseControlMessage, type FrameRejection } from '@murmur/peer'
import { createRng } from '@murmur/robust'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { FORGED_KINDS, FORGED_REASON, forgedMessage } from '../../src/suites/faults/control.ts'
import { EXPECTED_REASON, FUZZ_KINDS, injectFrames } from '../../src/suites/faults/frames.ts'
import { findSuite } from '../../src/runner.ts'
import { accountFor, faults, type FaultResult } from '../../src/suites/faults/index.ts'
import { quickRun } from '../helpers/quick-run.ts'

const work = mkdtempSync(join(tmpdir(), 'murmur-faults-'))
after(() => { rmSync(work, { recursive: true, force: true }) })

const D = 32

describe('hostile streams', () => {
  test('each kind is refused and counted under its expected reason, and nothing else is counted', async () => {
    const receiver = await createMurmurNode({ privateKey: await ephemeralIdentity() })
    const sender = await createMurmurNode({ privateKey: await ephemeralIdentity() })
    try {
      const exchange = createModelExchange(receiver, { swarm: 's', self: 'a', dimension: D, readTimeoutMs: 5000 })
      await exchange.start()
      await exchange.setAddressBook(new Map([
        ['a', { peerId: receiver.peerId, multiaddrs: receiver.getMultiaddrs() }],
        ['b', { peerId: sender.peerId, multiaddrs: sender.getMultiaddrs() }]
      ]))
      // Round 0 is past: a frame for it is stale.
      exchange.startAt(3)
      await sender.peerStore.merge(receiver.peerId, { multiaddrs: receiver.getMultiaddrs() })
      const perKind = 3
      const report = await injectFrames({
        node: sender,
        targets: [{ id: 'a', peerId: receiver.peerId }],
        count: perKind * FUZZ_KINDS.length,
        context: { swarm: 's', sender: 'b', other: 'a', dimension: D },
        seed: 7,
        concurrency: 4
      })
      assert.equal(report.refusedAtOpen, 0)
      assert.deepEqual(report.flood, { streams: 0, refusedAtOpen: 0 })
      for (const kind of FUZZ_KINDS) assert.equal(report.sent[kind], perKind, kind)
      const expected: Partial<Record<FrameRejection, number>> = {}
      for (const kind of FUZZ_KINDS) expected[EXPECTED_REASON[kind]] = (expected[EXPECTED_REASON[kind]] ?? 0) + perKind
      assert.deepEqual(report.expected, expected)
      const deadline = Date.now() + 15_000
      while (JSON.stringify(sorted(exchange.rejections())) !== JSON.stringify(sorted(expected)) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      assert.deepEqual(sorted(exchange.rejections()), sorted(expected))
      assert.deepEqual(exchange.rejectionsBySender(), { b: perKind * FUZZ_KINDS.length }, 'every refusal is the sender\'s')
      assert.equal(accountFor(report, exchange.rejections()).exact, true)
    } finally {
      await sender.stop()
      await receiver.stop()
    }
  })

  test('slow-loris streams are held until the receiver cuts them off at its read timeout, and counted as incomplete', async () => {
    const receiver = await createMurmurNode({ privateKey: await ephemeralIdentity() })
    const sender = await createMurmurNode({ privateKey: await ephemeralIdentity() })
    try {
      const exchange = createModelExchange(receiver, { swarm: 's', self: 'a', dimension: D, readTimeoutMs: 500 })
      await exchange.start()
      await exchange.setAddressBook(new Map([
        ['a', { peerId: receiver.peerId, multiaddrs: receiver.getMultiaddrs() }],
        ['b', { peerId: sender.peerId, multiaddrs: sender.getMultiaddrs() }]
      ]))
      await sender.peerStore.merge(receiver.peerId, { multiaddrs: receiver.getMultiaddrs() })
      const report = await injectFrames({
        node: sender,
        targets: [{ id: 'a', peerId: receiver.peerId }],
        count: 0,
        slowLoris: 3,
        slowLorisHoldMs: 30_000,
        context: { swarm: 's', sender: 'b', other: 'a', dimension: D },
        seed: 3
      })
      assert.deepEqual(report.sent, { 'slow-loris': 3 })
      assert.deepEqual(exchange.rejections(), { incomplete: 3 }, 'cut off by the receiver, not by the sender giving up')
    } finally {
      await sender.stop()
      await receiver.stop()
    }
  })

  test('accounting: a reason honest traffic also produces may count more than was injected, no other may', () => {
    const report = { sent: {}, expected: { malformed: 2, 'stale-round': 1 }, refusedAtOpen: 0, flood: { streams: 0, refusedAtOpen: 0 } }
    assert.equal(accountFor(report, { malformed: 2, 'stale-round': 5 }).exact, true)
    assert.equal(accountFor(report, { malformed: 3, 'stale-round': 1 }).exact, false)
    // A flood of 10 streams, 3 turned away at opening: the receiver may have read 0 to 7 of them.
    const flooded = { ...report, flood: { streams: 10, refusedAtOpen: 3 } }
    assert.deepEqual([accountFor(flooded, { malformed: 9, 'stale-round': 1 }).exact, accountFor(flooded, { malformed: 9, 'stale-round': 1 }).floodRead], [true, 7])
    assert.equal(accountFor(flooded, { malformed: 10, 'stale-round': 1 }).exact, false)
    assert.equal(accountFor(flooded, { malformed: 1, 'stale-round': 1 }).exact, false)
    assert.equal(accountFor(report, { malformed: 2 }).exact, false)
    assert.equal(accountFor(report, { malformed: 2, 'stale-round': 1, checksum: 1 }).exact, false)
  })
})

describe('forged control messages', () => {
  test('what a message alone gives away is refused under the expected reason; the rest parses and is left to who knows the swarm', async () => {
    const key = await ephemeralIdentity()
    const from = peerIdFromPrivateKey(key)
    const ctx = { self: 'p15', peerId: from.toString(), victim: 'p0', round: 3 }
    const rng = createRng(5)
    for (const kind of FORGED_KINDS) {
      const bytes = forgedMessage(kind, ctx, rng)
      // Spoofing and outsiders need the swarm's members to be seen; the control-plane tests check those.
      if (kind === 'spoofed-heartbeat' || kind === 'spoofed-membership' || kind === 'outsider-node') {
        assert.doesNotThrow(() => parseControlMessage(bytes, from), kind)
        continue
      }
      assert.throws(() => parseControlMessage(bytes, from), (error: unknown) => error instanceof ControlMessageError && error.reason === FORGED_REASON[kind], kind)
    }
  })
})

function sorted (counts: Partial<Record<string, number>>): Array<[string, number | undefined]> {
  return Object.entries(counts).sort(([a], [b]) => a.localeCompare(b))
}

describe('faults suite', () => {
  test('registered; options are checked and errors name the option', () => {
    assert.equal(findSuite('faults'), faults)
    assert.deepEqual(faults.cells('quick', {}).map((c) => c.id), ['baseline', 'frames', 'control', 'flood', 'kill', 'pause', 'disk'])
    assert.deepEqual(faults.cells('quick', { faults: 'kill' }).map((c) => c.id), ['baseline', 'kill'])
    assert.throws(() => faults.cells('quick', { faults: 'fire' }), /--faults: expected some of baseline, frames, control, flood, kill, pause, disk, got "fire"/)
    assert.throws(() => faults.cells('quick', { frames: 0 }), /--frames: expected an integer between 1 and 1000000/)
  })

  test('quick profile: every fault leaves every honest peer at the last round, counted, with its checkpoints', async () => {
    const dir = join(work, 'quick')
    const { results } = await quickRun(faults, dir, 12)
    const cells: FaultResult[] = results.cells.map((c: { result: FaultResult }) => c.result)
    const frames = cells.find((c) => c.fault === 'frames')
    assert.ok(frames?.injection !== undefined)
    assert.ok(Object.values(frames.injection.sent).reduce((a, b) => a + (b ?? 0), 0) >= 1000)
    const kill = cells.find((c) => c.fault === 'kill')
    assert.ok((kill?.workerRestarts ?? 0) >= 1)
  })
})
