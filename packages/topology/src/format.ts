import type { ByzantineSpec, Topology, TopologyEdge, TopologyNode } from './types.ts'

/**
 * Writes a topology in the JSON file format: one node and one edge per line, so files stay
 * readable and diff well. `parseTopology(formatTopology(t))` returns t again.
 */
export function formatTopology (topology: Topology): string {
  const lines: string[] = ['{', `  "name": ${JSON.stringify(topology.name)},`]
  if (topology.description !== undefined) lines.push(`  "description": ${JSON.stringify(topology.description)},`)
  if (topology.allowDisconnected !== undefined) lines.push(`  "allowDisconnected": ${topology.allowDisconnected},`)
  lines.push(`  "nodes": ${formatList(topology.nodes.map(formatNode), '  ')},`)
  const hasByzantine = topology.byzantine !== undefined
  lines.push(`  "edges": ${formatList(topology.edges.map(formatEdge), '  ')}${hasByzantine ? ',' : ''}`)
  if (topology.byzantine !== undefined) lines.push(`  "byzantine": ${formatByzantine(topology.byzantine)}`)
  lines.push('}')
  return lines.join('\n') + '\n'
}

function formatList (items: string[], indent: string): string {
  if (items.length === 0) return '[]'
  return `[\n${items.map((item) => `${indent}  ${item}`).join(',\n')}\n${indent}]`
}

function formatNode (node: TopologyNode): string {
  const fields = [`"id": ${JSON.stringify(node.id)}`]
  if (node.addr !== undefined) fields.push(`"addr": ${JSON.stringify(node.addr)}`)
  if (node.host !== undefined) fields.push(`"host": ${JSON.stringify(node.host)}`)
  if (node.shard !== undefined) fields.push(`"shard": ${node.shard}`)
  if (node.prior !== undefined) fields.push(`"prior": ${node.prior}`)
  return `{ ${fields.join(', ')} }`
}

function formatEdge (edge: TopologyEdge): string {
  return edge.length === 3
    ? `[${JSON.stringify(edge[0])}, ${JSON.stringify(edge[1])}, ${edge[2]}]`
    : `[${JSON.stringify(edge[0])}, ${JSON.stringify(edge[1])}]`
}

function formatByzantine (spec: ByzantineSpec): string {
  const { graph, ...model } = spec
  const fields = Object.entries(model).map(([key, value]) => `${JSON.stringify(key)}: ${inline(value)}`)
  // Long fixed lists wrap like edges; short parameter sets stay on one line.
  if (graph === undefined && fields.join(', ').length <= 90) return `{ ${fields.join(', ')} }`
  const lines = fields.map((field) => `    ${field}`)
  if (graph !== undefined) lines.push(`    "graph": {\n      "edges": ${formatList(graph.edges.map(formatEdge), '      ')}\n    }`)
  return `{\n${lines.join(',\n')}\n  }`
}

/** JSON on one line with a space after each comma, like the rest of the file. */
function inline (value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(inline).join(', ')}]`
  if (typeof value === 'object' && value !== null) {
    return `{ ${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${inline(v)}`).join(', ')} }`
  }
  return JSON.stringify(value)
}
