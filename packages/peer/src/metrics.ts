// A peer's metrics file: one JSON line per round. Each line is handed to the OS as soon as it is
// written (a synchronous append), so Ctrl-C or a crash loses at most the round in progress.

import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import type { RoundMetrics } from './types.ts'

export interface MetricsLog {
  readonly path: string
  /** Appends one round's record as a JSON line. */
  write: (metrics: RoundMetrics) => void
  /** Closes the file; later writes throw. Idempotent. */
  close: () => void
}

/** Opens (creating its directory) or appends to a JSONL metrics file at `path`. */
export function createMetricsLog (path: string): MetricsLog {
  mkdirSync(dirname(path), { recursive: true })
  let fd: number | undefined = openSync(path, 'a', 0o644)
  return {
    path,
    write: (metrics) => {
      if (fd === undefined) throw new Error(`metrics log ${path} is closed`)
      writeSync(fd, JSON.stringify(metrics) + '\n')
    },
    close: () => {
      if (fd === undefined) return
      closeSync(fd)
      fd = undefined
    }
  }
}

/** Every record of a metrics file, in the order written; none when the file does not exist. */
export function readMetricsLog (path: string): RoundMetrics[] {
  if (!existsSync(path)) return []
  return readFileSync(path, 'utf8').split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as RoundMetrics)
}
