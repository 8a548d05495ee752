// Progress on stderr, one implementation for the suites and the CLI. On a terminal: one status
// line redrawn in place (a bar, counts and an ETA), other lines printed above it. Elsewhere (CI
// logs, pipes): plain lines only, so logs stay readable.
//   createRunProgress: a suite run, fed the runner's events; counts cells with the running cell's
//     own fraction, and takes its ETA from the time the cells of this run took so far.
//   createProgressBar: steps of a long run (launch, join rounds), updated by position.

import type { RunEvent } from './runner.ts'

/** Where a progress display writes. */
interface Output {
  /** Draw on this stream (default process.stderr). */
  stream?: NodeJS.WriteStream
  /** Write text here instead of the stream (the CLI passes its io; tests capture). */
  write?: (text: string) => void
  /** Bar width in characters (default 24). */
  width?: number
  /** Force the terminal (true) or line (false) mode; default: whether the stream is a TTY. */
  tty?: boolean
}

export interface RunProgressOptions extends Output {
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

export interface ProgressOptions extends Output {
  total: number
  /** Without a terminal: print one line per this many steps (default ~20 lines per run). */
  logEvery?: number
}

export interface ProgressBar {
  /** Sets the position (steps done) and the text after the bar. */
  update: (done: number, text: string) => void
  /** Prints a line above the bar (the bar is redrawn under it). */
  log: (line: string) => void
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

/** `[████░░░░] done/total text eta mm:ss` for a ratio in [0, 1]. */
function statusText (ratio: number, width: number, counts: string, etaMs: number): string {
  const filled = Math.round(ratio * width)
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${counts} eta ${formatDuration(etaMs)}`
}

/** The terminal's one status line and the lines printed above it. */
interface StatusLine {
  readonly tty: boolean
  readonly write: (text: string) => void
  /** Redraws the status line (terminal only), cut to the terminal's width. */
  show: (text: string) => void
  /** Prints a line; on a terminal above the status line, which is drawn again under it. */
  print: (text: string) => void
  /** Ends the status line with a newline if one was drawn. */
  end: () => void
}

function statusLine (options: Output): StatusLine {
  const stream = options.stream ?? process.stderr
  const tty = options.tty ?? (options.write === undefined && stream.isTTY === true)
  const write = options.write ?? ((text: string): void => { stream.write(text) })
  let line = ''
  return {
    tty,
    write,
    show (text) {
      line = text
      if (tty) write(`\r\x1b[2K${text.slice(0, (stream.columns ?? 120) - 1)}`)
    },
    print (text) {
      if (tty) write(`\r\x1b[2K${text}\n${line}`)
      else write(text + '\n')
    },
    end () {
      if (tty && line !== '') write('\n')
      line = ''
    }
  }
}

export function createRunProgress (options: RunProgressOptions = {}): RunProgress {
  const out = statusLine(options)
  const width = options.width ?? 24
  const redrawMs = options.redrawMs ?? 100
  let total = 0
  let finished = 0 // cells finished, resumed ones included
  let resumed = 0
  let ranHere = 0 // cells run (not resumed) by this process
  let fraction = 0
  let current = ''
  let startedAt = 0 // first cell this process ran
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
    const inCell = fraction > 0 ? ` ${Math.round(100 * fraction)}%` : ''
    return statusText(ratio, width, `${finished}/${total} ${current}${inCell}`, eta())
  }

  const draw = (force: boolean): void => {
    if (!out.tty) return
    const now = Date.now()
    if (!force && now - lastDraw < redrawMs) return
    lastDraw = now
    out.show(render())
  }

  return {
    onEvent (event) {
      switch (event.type) {
        case 'start':
          total = event.total
          finished = event.resumed
          resumed = event.resumed
          if (resumed > 0) out.print(`${event.suite}: ${resumed} of ${total} cells already finished in ${event.outDir}, resuming`)
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
          if (!out.tty) out.write(`[${finished}/${total}] ${event.cell.id} ${(event.ms / 1000).toFixed(1)} s, eta ${formatDuration(eta())}\n`)
          draw(true)
          break
        case 'rendering':
          current = 'rendering report'
          fraction = 0
          draw(true)
          break
      }
    },
    log: out.print,
    done: out.end
  }
}

export function createProgressBar (options: ProgressOptions): ProgressBar {
  const out = statusLine(options)
  const width = options.width ?? 24
  const logEvery = options.logEvery ?? Math.max(1, Math.ceil(options.total / 20))
  let first: { done: number, at: number } | undefined
  let lastLogged = -1

  const render = (done: number, text: string): string => {
    const ratio = options.total > 0 ? Math.min(1, done / options.total) : 1
    // The ETA counts from the first update, so start-up time does not skew the rate.
    first ??= { done, at: Date.now() }
    const rate = (done - first.done) / Math.max(1, Date.now() - first.at)
    const eta = rate > 0 ? (options.total - done) / rate : Number.NaN
    return statusText(ratio, width, `${done}/${options.total} ${text}`, eta)
  }

  return {
    update (done, text) {
      const line = render(done, text)
      out.show(line)
      if (!out.tty && (done === options.total || done - lastLogged >= logEvery)) {
        lastLogged = done
        out.write(line + '\n')
      }
    },
    log: out.print,
    done: out.end
  }
}
