// The counting pieces: refusals by reason and by sender with a bounded set of senders, the token
// bucket that limits one requester, and the one structure a peer reports.

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { OTHER_SENDERS, peerRefusals, RefusalCounter } from '../../src/net/refusals.ts'
import { RateLimiter } from '../../src/net/rpc.ts'

describe('RefusalCounter', () => {
  test('counts by reason always and by sender when one is named', () => {
    const counter = new RefusalCounter()
    counter.add('malformed', 'p1')
    counter.add('malformed', 'p2')
    counter.add('spoofed', 'p1')
    counter.add('oversized')
    assert.equal(counter.total, 4)
    assert.deepEqual(counter.counts(), { byReason: { malformed: 2, spoofed: 1, oversized: 1 }, bySender: { p1: 2, p2: 1 } })
  })

  test('past maxSenders, new senders are pooled; the tracked ones keep counting by name', () => {
    const counter = new RefusalCounter(2)
    for (const sender of ['a', 'b', 'c', 'd', 'a', 'c']) counter.add('malformed', sender)
    assert.deepEqual(counter.counts().bySender, { a: 2, b: 1, [OTHER_SENDERS]: 3 })
    assert.deepEqual(counter.counts().byReason, { malformed: 6 })
  })

  test('counts() is a copy', () => {
    const counter = new RefusalCounter()
    counter.add('x', 's')
    const before = counter.counts()
    counter.add('x', 's')
    assert.deepEqual(before, { byReason: { x: 1 }, bySender: { s: 1 } })
  })
})

describe('RateLimiter', () => {
  test('a burst, then one request per interval, per key (injected clock)', () => {
    let now = 1000
    const limiter = new RateLimiter({ burst: 3, intervalMs: 10_000 }, () => now)
    assert.deepEqual([1, 2, 3, 4].map(() => limiter.take('r')), [true, true, true, false])
    assert.equal(limiter.take('s'), true, 'another requester has its own bucket')
    now += 9_999
    assert.equal(limiter.take('r'), false, 'not a whole token yet')
    now += 1
    assert.equal(limiter.take('r'), true)
    assert.equal(limiter.take('r'), false)
    now += 60_000
    assert.equal(limiter.available('r'), 3, 'a bucket never holds more than the burst')
  })

  test('a clock that steps back takes no token away and gives none', () => {
    let now = 50_000
    const limiter = new RateLimiter({ burst: 2, intervalMs: 1000 }, () => now)
    assert.ok(limiter.take('r'))
    now = 0
    assert.equal(limiter.available('r'), 1)
    now = 50_999
    assert.equal(limiter.available('r'), 1)
    now = 51_000
    assert.equal(limiter.available('r'), 2)
  })

  test('with mocked timers the default clock is Date.now', (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: 0 })
    const limiter = new RateLimiter({ burst: 1, intervalMs: 15_000 })
    assert.ok(limiter.take('r'))
    assert.equal(limiter.take('r'), false)
    t.mock.timers.tick(14_999)
    assert.equal(limiter.take('r'), false)
    t.mock.timers.tick(1)
    assert.ok(limiter.take('r'))
  })

  test('past maxKeys, full buckets are forgotten first, then the least recently used', () => {
    let now = 0
    const limiter = new RateLimiter({ burst: 2, intervalMs: 1000 }, () => now, 2)
    limiter.take('a')
    limiter.take('a') // a: 0 tokens
    limiter.take('b') // b: 1 token
    now = 1000 // a refills to 1, b to 2 (full)
    limiter.take('c') // c: 1 token; of three buckets b, the full one, is forgotten
    assert.equal(limiter.available('a'), 1, 'a kept its bucket')
    assert.equal(limiter.available('c'), 1)
    limiter.take('d') // d: 1 token; none is full: a, the least recently used, goes
    assert.equal(limiter.available('a'), 2, 'a was forgotten: a fresh bucket')
    assert.equal(limiter.available('c'), 1)
    assert.equal(limiter.available('d'), 1)
  })

  test('bad limits are refused', () => {
    assert.throws(() => new RateLimiter({ burst: 0, intervalMs: 1 }), /burst/)
    assert.throws(() => new RateLimiter({ burst: 1, intervalMs: 0 }), /intervalMs/)
    assert.throws(() => new RateLimiter({ burst: 1, intervalMs: Number.POSITIVE_INFINITY }), /intervalMs/)
  })
})

describe('peerRefusals', () => {
  test('one structure from the exchange, the control plane and the services', () => {
    const frames = { byReason: { checksum: 2, 'unknown-sender': 5 }, bySender: { a: 2 } }
    const control = { byReason: { spoofed: 1 }, bySender: { '12D3KooW': 1 } }
    const rpc = { byReason: { 'rate-limited': 3 }, bySender: { '12D3KooX': 3 } }
    assert.deepEqual(peerRefusals({
      exchange: { refusals: () => ({ frames, strangers: 5 }) },
      control: { refusals: () => control },
      services: { refusals: () => rpc }
    }), { frames, control, rpc, strangers: 5 })
  })
})
