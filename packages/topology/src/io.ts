import { readFile, stat, writeFile } from 'node:fs/promises'
import { formatEdgeList } from './edge-list.ts'
import { formatTopology } from './format.ts'
import { parseTopology, type ParseOptions } from './parse.ts'
import type { Topology } from './types.ts'
import { TopologyError } from './errors.ts'

/** Larger files are refused before reading (100 000 nodes with a dense edge list fit well below). */
export const MAX_TOPOLOGY_FILE_BYTES = 64 * 2 ** 20

/**
 * Reads and validates a topology file: JSON, or the plain edge-list format (chosen by content, or
 * forced with `options.format`). An edge list is named after the file unless `options.name` is given.
 */
export async function readTopology (path: string, options: ParseOptions = {}): Promise<Topology> {
  const { size } = await stat(path)
  if (size > MAX_TOPOLOGY_FILE_BYTES) {
    const message = `${path} is ${(size / 2 ** 20).toFixed(0)} MiB; topology files of at most ${MAX_TOPOLOGY_FILE_BYTES / 2 ** 20} MiB are read`
    throw new TopologyError({ path: '', message })
  }
  const text = await readFile(path, 'utf8')
  // An edge list takes its name from the file's: made usable as a name (see validateTopology).
  const base = path.split(/[\\/]/).pop()?.replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9._-]/g, '-').replace(/^\.+/, '').slice(0, 64)
  return parseTopology(text, { ...options, name: options.name ?? base })
}

/** Writes a topology file: the JSON format, or the edge-list format when the path ends in `.txt` or `.edges`. */
export async function writeTopology (path: string, topology: Topology): Promise<void> {
  const text = /\.(txt|edges)$/.test(path) ? formatEdgeList(topology) : formatTopology(topology)
  await writeFile(path, text, 'utf8')
}
