import { graphFromEdges, type Graph } from './graph.ts'
import type { Topology, TopologyEdge } from './types.ts'

/** The communication graph of a validated topology (node i is `topology.nodes[i]`). */
export function topologyGraph (topology: Topology): Graph {
  return graphOf(topology, topology.edges)
}

/**
 * The graph μ_H correlates Byzantine nodes over: `byzantine.graph` when the file gives one,
 * else the communication graph itself.
 */
export function correlationGraph (topology: Topology): Graph {
  const edges = topology.byzantine?.graph?.edges
  return edges === undefined ? topologyGraph(topology) : graphOf(topology, edges)
}

/** Per-node Byzantine priors from the nodes' `prior` fields (NaN where a node has none). */
export function nodePriors (topology: Topology): Float64Array {
  return Float64Array.from(topology.nodes, (node) => node.prior ?? NaN)
}

function graphOf (topology: Topology, edges: readonly TopologyEdge[]): Graph {
  const ids = topology.nodes.map((node) => node.id)
  const index = new Map<string, number>()
  ids.forEach((id, i) => index.set(id, i))
  const m = edges.length
  const u = new Int32Array(m); const v = new Int32Array(m); const w = new Float64Array(m)
  for (let e = 0; e < m; e++) {
    const edge = edges[e]
    const a = index.get(edge[0]); const b = index.get(edge[1])
    if (a === undefined || b === undefined) throw new RangeError(`edge ${e} names an unknown node: validate the topology first`)
    u[e] = a; v[e] = b; w[e] = edge.length === 3 ? edge[2] : 1
  }
  return graphFromEdges(ids, u, v, w)
}
