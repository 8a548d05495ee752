// The prose of a suite's report lives in a Markdown file beside the suite (report.md), split into
// named blocks:
//
//   <!-- block: setup -->
//   Every cell runs {{peers}} peers
//   for {{rounds}} rounds.
//
// A block is one paragraph: its lines are joined with single spaces, so the file can wrap where
// the report keeps one line. `{{name}}` is filled from the values the suite passes; a missing
// value, an unknown block or a malformed placeholder is an error naming the file and the block.
// Text before the first block (a note on what the file is) is not part of any block.

import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export type TemplateValue = string | number

export interface ReportTemplate {
  /** Where the blocks came from, for error messages. */
  readonly source: string
  readonly blocks: ReadonlyMap<string, string>
  /** The block with its placeholders filled. */
  render: (block: string, values?: Readonly<Record<string, TemplateValue>>) => string
}

const MARKER = /^<!--\s*block:\s*([\w.-]+)\s*-->\s*$/
const PLACEHOLDER = /\{\{\s*([\w.-]*)\s*\}\}/g

/** Fills `{{name}}` placeholders of a text; `where` names the text in errors. */
export function fillPlaceholders (text: string, values: Readonly<Record<string, TemplateValue>>, where: string): string {
  const stray = text.replace(PLACEHOLDER, '').match(/.{0,20}(\{\{|\}\}).{0,20}/)
  if (stray !== null) throw new Error(`${where}: malformed placeholder near ${JSON.stringify(stray[0])}`)
  return text.replace(PLACEHOLDER, (_match, name: string) => {
    if (name === '') throw new Error(`${where}: empty placeholder {{}}`)
    const value = Object.hasOwn(values, name) ? values[name] : undefined
    if (typeof value !== 'string' && typeof value !== 'number') throw new Error(`${where}: no value for placeholder {{${name}}}`)
    return String(value)
  })
}

/** Splits a template's text into its named blocks. */
export function parseTemplate (text: string, source: string): ReportTemplate {
  const blocks = new Map<string, string>()
  let name: string | undefined
  let lines: string[] = []
  const close = (): void => {
    if (name === undefined) return
    const body = lines.map((l) => l.trim()).filter((l) => l !== '')
    if (body.length === 0) throw new Error(`${source}: block "${name}" is empty`)
    blocks.set(name, body.join(' '))
  }
  for (const line of text.split(/\r?\n/)) {
    const marker = MARKER.exec(line)
    if (marker === null) { lines.push(line); continue }
    close()
    name = marker[1]
    if (blocks.has(name)) throw new Error(`${source}: block "${name}" appears twice`)
    lines = []
  }
  close()
  return {
    source,
    blocks,
    render: (block, values = {}) => {
      const body = blocks.get(block)
      if (body === undefined) throw new Error(`${source}: no block "${block}" (blocks: ${[...blocks.keys()].join(', ') || 'none'})`)
      return fillPlaceholders(body, values, `${source}, block "${block}"`)
    }
  }
}

/** Reads a template file, e.g. `loadTemplate(new URL('report.md', import.meta.url))`; errors name it relative to the package. */
export function loadTemplate (url: URL): ReportTemplate {
  const path = fileURLToPath(url)
  return parseTemplate(readFileSync(path, 'utf8'), path.replace(/^.*\/packages\//, 'packages/'))
}
