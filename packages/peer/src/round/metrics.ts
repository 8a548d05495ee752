// A peer's metrics file: one JSON line per round. Each line is handed to the OS as soon as it is
// written (a synchronous append), so Ctrl-C or a crash loses at most the round in progress.
// A resumed run re-runs the rounds after its checkpoint; opening the log with `from` first drops
// the lines of those rounds, so the file holds each round once.

import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import { writeFileAtomic } from '../atomic-file.ts'
import type { RoundMetrics } from './types.ts'

export interface MetricsLog {
  readonly path: string
  /**
   * Appends one round's record as a JSON line. A failed write (a full disk) is counted, not
   * thrown: the round itself went fine, and the launcher still receives its record.
   */
  write: (metrics: RoundMetrics) => void
  /** Writes that failed so far, and the last reason. */
  failures: () => { count: number, error?: string }
  /** Closes the file; later writes throw. Idempotent. */
  close: () => void
}

export interface MetricsLogOptions {
  /**
   * First round this run writes: lines already in the file for this round or later (left by an
   * earlier run that got further than the checkpoint it resumes from) are dropped first.
   */
  from?: number
}

/**
 * Opens (creating its directory) or appends to a JSONL metrics file at `path`. With `from`, lines
 * of rounds ≥ `from` are dropped first (see `dropRoundsFrom`).
 */
export function createMetricsLog (path: string, options: MetricsLogOptions = {}): MetricsLog {
  mkdirSync(dirname(path), { recursive: true })
  if (options.from !== undefined) dropRoundsFrom(path, options.from)
  let fd: number | undefined = openSync(path, 'a', 0o644)
  let failed = 0
  let lastError: string | undefined
  return {
    path,
    write: (metrics) => {
      if (fd === undefined) throw new Error(`metrics log ${path} is closed`)
      try {
        writeSync(fd, JSON.stringify(metrics) + '\n')
      } catch (error) {
        failed++
        lastError = `round ${metrics.round}: ${(error as Error).message}`
      }
    },
    failures: () => ({ count: failed, ...(lastError === undefined ? {} : { error: lastError }) }),
    close: () => {
      if (fd === undefined) return
      closeSync(fd)
      fd = undefined
    }
  }
}

/**
 * Drops from a JSONL file of per-round records (a peer's metrics.jsonl, a run's rounds.jsonl)
 * every line whose `round` is ≥ `from`, and any line that is not JSON (the torn end of a line a
 * crash cut short). Lines without a numeric `round` are kept. When something is dropped the file
 * is replaced atomically (temp file, fsync, rename), so a crash leaves either the old file or the
 * new one. A missing file is left missing. Returns how many lines were dropped.
 */
export function dropRoundsFrom (path: string, from: number): number {
  if (!Number.isInteger(from) || from < 0) throw new RangeError(`dropRoundsFrom: expected a round ≥ 0, got ${from}`)
  if (!existsSync(path)) return 0
  const lines = readFileSync(path, 'utf8').split('\n').filter((line) => line.trim() !== '')
  const kept = lines.filter((line) => {
    let record: unknown
    try {
      record = JSON.parse(line)
    } catch {
      return false
    }
    const round = (record as { round?: unknown } | null)?.round
    return typeof round !== 'number' || round < from
  })
  const dropped = lines.length - kept.length
  if (dropped === 0) return 0
  writeFileAtomic(path, kept.map((line) => line + '\n').join(''))
  return dropped
}

/** Every record of a metrics file, in the order written; none when the file does not exist. */
export function readMetricsLog (path: string): RoundMetrics[] {
  if (!existsSync(path)) return []
  const records: RoundMetrics[] = []
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue
    // A line a full disk or a crash cut short is not a record.
    try { records.push(JSON.parse(line) as RoundMetrics) } catch {}
  }
  return records
}
