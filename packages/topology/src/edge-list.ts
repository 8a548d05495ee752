import { TopologyError, type TopologyIssue } from './errors.ts'
import type { Topology, TopologyEdge } from './types.ts'
import { validateTopology } from './validate.ts'

export interface EdgeListOptions {
  /** Name of the resulting topology (default `edge-list`). */
  name?: string
  /** Node ids: `prefixed` (default) makes node 3 `p3`, as generators do; `numbers` keeps `3`. */
  ids?: 'prefixed' | 'numbers'
  /** Accept a disconnected graph. */
  allowDisconnected?: boolean
}

/**
 * Reads the plain edge-list format: blank lines and lines starting with `#` are ignored; the first
 * remaining line is the node count n; every other line is `u v` or `u v weight`, with u and v
 * 0-based node numbers in [0, n). Errors name the line (`line 4: ...`).
 */
export function parseEdgeList (text: string, options: EdgeListOptions = {}): Topology {
  const issues: TopologyIssue[] = []
  const lines = text.split(/\r?\n/)
  const idOf = (k: number): string => options.ids === 'numbers' ? String(k) : `p${k}`
  let n = -1
  const edges: TopologyEdge[] = []
  const edgeLine: number[] = []
  for (let l = 0; l < lines.length; l++) {
    const line = lines[l].trim()
    if (line === '' || line.startsWith('#')) continue
    const at = `line ${l + 1}`
    const fields = line.split(/\s+/)
    if (n < 0) {
      if (fields.length !== 1 || !/^\d+$/.test(fields[0]) || Number(fields[0]) < 1) {
        throw new TopologyError({ path: at, message: `expected the node count (a positive integer) on the first line, got "${line}"` })
      }
      n = Number(fields[0])
      continue
    }
    if (fields.length < 2 || fields.length > 3) { issues.push({ path: at, message: `expected "u v" or "u v weight", got "${line}"` }); continue }
    const ends: number[] = []
    for (const field of fields.slice(0, 2)) {
      if (!/^\d+$/.test(field) || Number(field) >= n) issues.push({ path: at, message: `expected a node number in [0, ${n - 1}], got "${field}"` })
      else ends.push(Number(field))
    }
    let weight: number | undefined
    if (fields.length === 3) {
      weight = Number(fields[2])
      if (!Number.isFinite(weight) || weight <= 0) { issues.push({ path: at, message: `expected a positive weight, got "${fields[2]}"` }); continue }
    }
    if (ends.length < 2) continue
    edges.push(weight === undefined ? [idOf(ends[0]), idOf(ends[1])] : [idOf(ends[0]), idOf(ends[1]), weight])
    edgeLine.push(l + 1)
  }
  if (n < 0) throw new TopologyError({ path: 'line 1', message: 'empty edge list: expected the node count on the first line' })
  if (issues.length > 0) throw new TopologyError(issues)
  const doc: Record<string, unknown> = {
    name: options.name ?? 'edge-list',
    nodes: Array.from({ length: n }, (_, k) => ({ id: idOf(k) })),
    edges
  }
  if (options.allowDisconnected === true) doc.allowDisconnected = true
  try {
    return validateTopology(doc)
  } catch (error) {
    if (!(error instanceof TopologyError)) throw error
    // Point edge problems (self-loops, duplicates) at their line instead of the array index.
    throw new TopologyError(error.issues.map(({ path, message }) => {
      const m = /^edges\[(\d+)\]/.exec(path)
      return m === null ? { path, message } : { path: `line ${edgeLine[Number(m[1])]}`, message: message.replace(/\(also edges\[(\d+)\]\)/, (_, k: string) => `(also line ${edgeLine[Number(k)]})`) }
    }))
  }
}

/**
 * Writes a topology as an edge list (node numbers are positions in `nodes`). Only the graph
 * survives: node fields and the Byzantine model are not part of this format.
 */
export function formatEdgeList (topology: Topology): string {
  const index = new Map(topology.nodes.map((node, i) => [node.id, i]))
  const lines = [`# ${topology.name}`, String(topology.nodes.length)]
  for (const [a, b, w] of topology.edges) {
    lines.push(w === undefined ? `${index.get(a)} ${index.get(b)}` : `${index.get(a)} ${index.get(b)} ${w}`)
  }
  return lines.join('\n') + '\n'
}
