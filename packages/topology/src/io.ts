import { readFile, writeFile } from 'node:fs/promises'
import { formatEdgeList } from './edge-list.ts'
import { formatTopology } from './format.ts'
import { parseTopology, type ParseOptions } from './parse.ts'
import type { Topology } from './types.ts'

/**
 * Reads and validates a topology file: JSON, or the plain edge-list format (chosen by content, or
 * forced with `options.format`). An edge list is named after the file unless `options.name` is given.
 */
export async function readTopology (path: string, options: ParseOptions = {}): Promise<Topology> {
  const text = await readFile(path, 'utf8')
  const base = path.split(/[\\/]/).pop()?.replace(/\.[^.]*$/, '')
  return parseTopology(text, { ...options, name: options.name ?? base })
}

/** Writes a topology file: the JSON format, or the edge-list format when the path ends in `.txt` or `.edges`. */
export async function writeTopology (path: string, topology: Topology): Promise<void> {
  const text = /\.(txt|edges)$/.test(path) ? formatEdgeList(topology) : formatTopology(topology)
  await writeFile(path, text, 'utf8')
}
