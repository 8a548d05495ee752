// Progress of a suite run on stderr. On a terminal: one bar redrawn in place, counting cells with
// the running cell's own fraction, and an ETA from the time the cells of this run took so far.
// Elsewhere (CI logs, pipes): one plain line per finished cell.

import type { RunEvent } from './runner.ts'

export interface RunProgressOptions {
  /** Where to draw (default process.stderr). */
  stream?: NodeJS.WriteStream
  /** Write lines here instead of the stream (the CLI passes its io; tests capture). */
  write?: (text: string) => void
  /** Bar width in characters (default 24). */
  width?: number
  /** Force the terminal (true) or line (false) mode; default: whether the stream is a TTY. */
  tty?: boolean
  /** Milliseconds between redraws of the bar (default 100). */
  redrawMs?: number
}

export interface RunProgress {
  /** Feed it the runner's events (`onProgress`). */
  onEvent: (event: RunEvent) => void
  /** Prints a line without breaking the bar. */
  log: (line: string) => void
  /** Leaves the bar's line (call once at the end). */
  done: () => void
}

/** `mm:ss`, or `h:mm:ss` past an hour; `--:--` while unknown. */
export function formatDuration (ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '--:--'
  const s = Math.round(ms / 1000)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const pad = (x: number): string => String(x).padStart(2, '0')
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`
}

export function createRunProgress (options: RunProgressOptions = {}): RunProgress {
  const stream = options.stream ?? process.stderr
  const tty = options.tty ?? (options.write === undefined && stream.isTTY === true)
  const write = options.write ?? ((text: string): void => { stream.write(text) })
  const width = options.width ?? 24
  const redrawMs = options.redrawMs ?? 100
  let total = 0
  let finished = 0 // cells finished, resumed ones included
  let resumed = 0
  let ranHere = 0 // cells run (not resumed) by this process
  let fraction = 0
  let current = ''
  let startedAt = 0 // first cell this process ran
  let line = ''
  let lastDraw = 0

  // ETA: time per cell of this run so far (the running cell counts by its fraction), times what is left.
  const eta = (): number => {
    const units = ranHere + fraction
    if (startedAt === 0 || units <= 0) return Number.NaN
    const left = total - finished - fraction
    return ((Date.now() - startedAt) / units) * left
  }

  const render = (): string => {
    const ratio = total > 0 ? Math.min(1, (finished + fraction) / total) : 1
    const filled = Math.round(ratio * width)
    const inCell = fraction > 0 ? ` ${Math.round(100 * fraction)}%` : ''
    return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${finished}/${total} ${current}${inCell} eta ${formatDuration(eta())}`
  }

  const draw = (force: boolean): void => {
    if (!tty) return
    const now = Date.now()
    if (!force && now - lastDraw < redrawMs) return
    lastDraw = now
    line = render()
    write(`\r\x1b[2K${line.slice(0, (stream.columns ?? 120) - 1)}`)
  }

  const print = (text: string): void => {
    if (tty) write(`\r\x1b[2K${text}\n${line}`)
    else write(text + '\n')
  }

  return {
    onEvent (event) {
      switch (event.type) {
        case 'start':
          total = event.total
          finished = event.resumed
          resumed = event.resumed
          if (resumed > 0) print(`${event.suite}: ${resumed} of ${total} cells already finished in ${event.outDir}, resuming`)
          draw(true)
          break
        case 'cell-start':
          if (startedAt === 0) startedAt = Date.now()
          current = event.cell.id
          fraction = 0
          draw(true)
          break
        case 'cell-progress':
          fraction = Math.max(0, Math.min(1, event.fraction))
          draw(false)
          break
        case 'cell-done':
          finished++
          ranHere++
          fraction = 0
          if (!tty) write(`[${finished}/${total}] ${event.cell.id} ${(event.ms / 1000).toFixed(1)} s, eta ${formatDuration(eta())}\n`)
          draw(true)
          break
        case 'rendering':
          current = 'rendering report'
          fraction = 0
          draw(true)
          break
      }
    },
    log: print,
    done () {
      if (tty && line !== '') write('\n')
      line = ''
    }
  }
}
