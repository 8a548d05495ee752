import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { createMetricsLog, dropRoundsFrom, readMetricsLog } from '../../src/round/metrics.ts'
import type { RoundMetrics } from '../../src/round/types.ts'

const root = mkdtempSync(join(tmpdir(), 'murmur-metrics-'))
after(() => { rmSync(root, { recursive: true, force: true }) })
let dirs = 0
const freshDir = (): string => {
  const dir = join(root, `d${dirs++}`)
  mkdirSync(dir, { recursive: true })
  return dir
}

const metrics = (round: number, trainLoss = 0.5): RoundMetrics => ({
  node: 'p1', round, byzantine: false, trainLoss, received: 2, neighbours: 2, missing: [], f: 1, mix: 'ok', deadlineMs: 2000, bytesSent: 100,
  sendFailures: 0, rejected: {}, computeMs: 1, communicateMs: 2, aggregateMs: 0.5, roundMs: 4
})

function logWith (rounds: number[]): string {
  const path = join(freshDir(), 'metrics.jsonl')
  const log = createMetricsLog(path)
  for (const round of rounds) log.write(metrics(round))
  log.close()
  return path
}

const roundsIn = (path: string): number[] => readMetricsLog(path).map((m) => m.round)

describe('metrics log of a resumed run', () => {
  test('opening with from drops the rounds ≥ from and keeps the others, then appends', () => {
    // A first run got to round 4; its checkpoint is round 2, so the resumed run starts at 3.
    const path = logWith([0, 1, 2, 3, 4])
    const log = createMetricsLog(path, { from: 3 })
    assert.deepEqual(roundsIn(path), [0, 1, 2])
    log.write(metrics(3, 0.25))
    log.write(metrics(4, 0.125))
    log.close()
    assert.deepEqual(roundsIn(path), [0, 1, 2, 3, 4])
    assert.deepEqual(readMetricsLog(path).slice(3).map((m) => m.trainLoss), [0.25, 0.125], 'the re-run rounds are the new ones')
  })

  test('the kept lines are byte for byte the old ones', () => {
    const path = logWith([0, 1, 2, 3])
    const lines = readFileSync(path, 'utf8').split('\n')
    createMetricsLog(path, { from: 2 }).close()
    assert.equal(readFileSync(path, 'utf8'), lines.slice(0, 2).join('\n') + '\n')
  })

  test('the file is replaced atomically: a new file renamed over the old, no temp file left', () => {
    const path = logWith([0, 1, 2, 3])
    const before = statSync(path).ino
    createMetricsLog(path, { from: 1 }).close()
    assert.notEqual(statSync(path).ino, before, 'rewritten through a rename, not truncated in place')
    assert.deepEqual(readdirSync(join(path, '..')), ['metrics.jsonl'])
    assert.deepEqual(roundsIn(path), [0])
  })

  test('nothing to drop leaves the file alone; from 0 empties it; a missing file is created empty', () => {
    const path = logWith([0, 1, 2])
    const inode = statSync(path).ino
    createMetricsLog(path, { from: 3 }).close()
    assert.equal(statSync(path).ino, inode)
    assert.deepEqual(roundsIn(path), [0, 1, 2])
    createMetricsLog(path, { from: 0 }).close()
    assert.deepEqual(roundsIn(path), [])

    const missing = join(freshDir(), 'nested', 'metrics.jsonl')
    createMetricsLog(missing, { from: 5 }).close()
    assert.equal(readFileSync(missing, 'utf8'), '')
  })

  test('rounds out of order, and a line torn by a crash, are handled', () => {
    const path = join(freshDir(), 'metrics.jsonl')
    writeFileSync(path, [metrics(0), metrics(1), metrics(2), metrics(1)].map((m) => JSON.stringify(m)).join('\n') + '\n{"node":"p1","rou')
    assert.deepEqual(roundsIn(path), [0, 1, 2, 1], 'the torn line is not a record')
    const log = createMetricsLog(path, { from: 2 })
    log.write(metrics(2))
    log.close()
    assert.deepEqual(roundsIn(path), [0, 1, 1, 2])
  })

  test('dropRoundsFrom works on any JSONL of rounds (the launcher\'s rounds.jsonl) and counts what it dropped', () => {
    const path = join(freshDir(), 'rounds.jsonl')
    writeFileSync(path, [0, 1, 2, 3].map((round) => JSON.stringify({ round, consensusDistance: round })).join('\n') + '\n')
    assert.equal(dropRoundsFrom(path, 2), 2)
    assert.deepEqual(readFileSync(path, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { round: number }).round), [0, 1])
    assert.equal(dropRoundsFrom(path, 2), 0)
    assert.equal(dropRoundsFrom(join(root, 'absent.jsonl'), 0), 0)
    assert.equal(existsSync(join(root, 'absent.jsonl')), false)
    assert.throws(() => dropRoundsFrom(path, -1), /round ≥ 0/)
  })

  test('without from, opening appends as before', () => {
    const path = logWith([0, 1, 2])
    createMetricsLog(path).close()
    assert.deepEqual(roundsIn(path), [0, 1, 2])
  })
})

describe('metrics log on a full disk', () => {
  test('a failed write is counted with its reason, never thrown; a torn line is skipped when read', { skip: !existsSync('/dev/full') && 'needs /dev/full' }, () => {
    // Every write to /dev/full fails with ENOSPC, as on a disk that filled up.
    const log = createMetricsLog('/dev/full')
    assert.doesNotThrow(() => { log.write(metrics(3)) })
    log.write(metrics(4))
    const { count, error } = log.failures()
    assert.equal(count, 2)
    assert.match(error ?? '', /^round 4: .*ENOSPC/)
    log.close()
    const path = join(freshDir(), 'torn.jsonl')
    writeFileSync(path, JSON.stringify(metrics(0)) + '\n' + JSON.stringify(metrics(1)).slice(0, 20))
    assert.deepEqual(readMetricsLog(path).map((m) => m.round), [0])
  })
})
