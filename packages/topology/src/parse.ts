import { TopologyError } from './errors.ts'
import { parseEdgeList, type EdgeListOptions } from './edge-list.ts'
import type { Topology } from './types.ts'
import { validateTopology } from './validate.ts'

export interface ParseOptions extends EdgeListOptions {
  /**
   * `json` (the topology file format), `edge-list` (plain text), or `auto` (default): text whose
   * first meaningful character is a digit or `#` is an edge list, anything else is JSON.
   */
  format?: 'json' | 'edge-list' | 'auto'
}

/** Parses and validates a topology file's text. Throws a TopologyError naming the first problem. */
export function parseTopology (text: string, options: ParseOptions = {}): Topology {
  const format = options.format ?? 'auto'
  if (format === 'edge-list' || (format === 'auto' && looksLikeEdgeList(text))) return parseEdgeList(text, options)
  return validateTopology(parseJson(text))
}

function looksLikeEdgeList (text: string): boolean {
  const first = text.trimStart()[0]
  return first !== undefined && (first === '#' || (first >= '0' && first <= '9'))
}

/** JSON.parse with syntax errors turned into TopologyErrors that carry a line and column. */
export function parseJson (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error
    const match = /at position (\d+)/.exec(error.message)
    // V8 omits the position for some errors ("Unexpected token 'x', "..." is not valid JSON"):
    // then a small scan finds where the text stops being JSON.
    const offset = match !== null ? Number(match[1]) : findJsonError(text)
    const { line, column } = lineAndColumn(text, offset)
    const reason = error.message
      .replace(/\s*in JSON at position \d+.*$/, '')
      .replace(/^(Unexpected token .*?), ".*" is not valid JSON$/s, '$1')
    throw new TopologyError({ path: '', message: `malformed JSON at line ${line}, column ${column}: ${reason}` }, { line, column })
  }
}

/** 1-based line and column of a character offset. */
export function lineAndColumn (text: string, offset: number): { line: number, column: number } {
  let line = 1; let start = 0
  const end = Math.min(offset, text.length)
  for (let i = 0; i < end; i++) if (text.charCodeAt(i) === 10) { line++; start = i + 1 }
  return { line, column: end - start + 1 }
}

/** Offset of the first character where `text` stops being valid JSON (text.length when it ends early). */
export function findJsonError (text: string): number {
  let pos = 0
  const fail = (): never => { throw new JsonStop(pos) }
  const space = (): void => { while (pos < text.length && ' \t\n\r'.includes(text[pos])) pos++ }
  const literal = (word: string): void => {
    for (const ch of word) { if (text[pos] !== ch) fail(); pos++ }
  }
  const string = (): void => {
    pos++ // opening quote
    while (pos < text.length) {
      const ch = text[pos]
      if (ch === '"') { pos++; return }
      if (ch === '\\') {
        pos++
        if (text[pos] === 'u') { pos++; for (let k = 0; k < 4; k++) { if (!/[0-9a-fA-F]/.test(text[pos] ?? '')) fail(); pos++ } } else if ('"\\/bfnrt'.includes(text[pos] ?? '@')) pos++
        else fail()
      } else if (ch < ' ') fail()
      else pos++
    }
    fail()
  }
  const number = (): void => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(pos, pos + 400))
    if (m === null) fail()
    else pos += m[0].length
  }
  const value = (): void => {
    space()
    const ch = text[pos]
    if (ch === '{') {
      pos++; space()
      if (text[pos] === '}') { pos++; return }
      for (;;) {
        space()
        if (text[pos] !== '"') fail()
        string(); space()
        if (text[pos] !== ':') fail()
        pos++; value(); space()
        if (text[pos] === ',') { pos++; continue }
        if (text[pos] === '}') { pos++; return }
        fail()
      }
    } else if (ch === '[') {
      pos++; space()
      if (text[pos] === ']') { pos++; return }
      for (;;) {
        value(); space()
        if (text[pos] === ',') { pos++; continue }
        if (text[pos] === ']') { pos++; return }
        fail()
      }
    } else if (ch === '"') string()
    else if (ch === 't') literal('true')
    else if (ch === 'f') literal('false')
    else if (ch === 'n') literal('null')
    else number()
  }
  try {
    value(); space()
    return pos < text.length ? pos : text.length
  } catch (stop) {
    if (stop instanceof JsonStop) return stop.offset
    throw stop
  }
}

class JsonStop {
  readonly offset: number
  constructor (offset: number) { this.offset = offset }
}
