// A one-line progress bar for long runs. On a terminal it redraws in place; elsewhere (CI logs,
// pipes) it prints a plain line every `logEvery` steps so logs stay readable.

import { formatDuration } from '@murmur/bench'

export interface ProgressOptions {
  total: number
  /** Stream to draw on (default process.stderr). */
  stream?: NodeJS.WriteStream
  width?: number
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

export function createProgressBar (options: ProgressOptions): ProgressBar {
  const stream = options.stream ?? process.stderr
  const tty = stream.isTTY === true
  const width = options.width ?? 24
  const logEvery = options.logEvery ?? Math.max(1, Math.ceil(options.total / 20))
  let first: { done: number, at: number } | undefined
  let line = ''
  let lastLogged = -1

  const render = (done: number, text: string): string => {
    const ratio = options.total > 0 ? Math.min(1, done / options.total) : 1
    const filled = Math.round(ratio * width)
    // The ETA counts from the first update, so start-up time does not skew the rate.
    first ??= { done, at: Date.now() }
    const rate = (done - first.done) / Math.max(1, Date.now() - first.at)
    const eta = rate > 0 ? (options.total - done) / rate : Number.NaN
    return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${done}/${options.total} ${text} eta ${formatDuration(eta)}`
  }

  return {
    update (done, text) {
      line = render(done, text)
      if (tty) {
        stream.write(`\r\x1b[2K${line.slice(0, (stream.columns ?? 120) - 1)}`)
      } else if (done === options.total || done - lastLogged >= logEvery) {
        lastLogged = done
        stream.write(line + '\n')
      }
    },
    log (text) {
      if (tty) stream.write(`\r\x1b[2K${text}\n${line}`)
      else stream.write(text + '\n')
    },
    done () {
      if (tty && line !== '') stream.write('\n')
    }
  }
}
