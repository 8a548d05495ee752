import { TopologyError, type TopologyIssue } from './errors.ts'
import { connectedComponents, graphFromEdges } from './graph.ts'
import type { ByzantineModelName, ByzantineSpec, Topology, TopologyEdge, TopologyNode, WorstCaseStrategy } from './types.ts'

/** The μ_H models a topology file may name. */
export const byzantineModelNames: readonly ByzantineModelName[] = ['independent', 'cascade', 'ising', 'gaussian', 'fixed', 'worst-case']

/** The placement strategies a worst-case model may name. */
export const worstCaseStrategies: readonly WorstCaseStrategy[] = ['auto', 'exact', 'greedy', 'max-degree']

const topLevelFields = ['name', 'description', 'nodes', 'edges', 'byzantine', 'allowDisconnected']
const nodeFields = ['id', 'addr', 'host', 'shard', 'prior']

/**
 * Node ids and topology names become file and directory names (a peer's state directory, the
 * default run directory) and travel in every frame: letters, digits, `.`, `_` and `-`, not
 * starting with a dot, at most 64 characters. Nothing with a path separator, `..`, NUL or a
 * control character can pass.
 */
const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/
const safeNameRule = 'letters, digits, ".", "_" and "-", not starting with ".", at most 64 characters'

/** The characters a node id or topology name may have: it names folders, so no path can hide in it. */
export const SAFE_NAME_RULE = safeNameRule

/** Whether `text` may be a node id or a topology name (see SAFE_NAME_RULE). */
export function isSafeName (text: string): boolean {
  return SAFE_NAME.test(text)
}

/** Bounds that keep the work a file can ask for finite and the numbers meaningful. */
export const TOPOLOGY_LIMITS = {
  /** Nodes in one topology (spectra, μ_H estimates and launches all scale with it). */
  nodes: 100_000,
  /** Edge weights lie in [1/weightRange, weightRange]: beyond, spectra lose every digit. */
  weightRange: 1e6,
  /** Ising sampler sweeps. */
  burnIn: 100_000,
  thin: 10_000
} as const
const modelFields: Record<ByzantineModelName, { required: string[], optional: string[] }> = {
  independent: { required: [], optional: ['p'] },
  cascade: { required: ['seed', 'spread'], optional: [] },
  ising: { required: ['beta', 'h'], optional: ['burnIn', 'thin'] },
  gaussian: { required: ['tau', 'p'], optional: [] },
  fixed: { required: ['nodes'], optional: [] },
  'worst-case': { required: ['f'], optional: ['strategy'] }
}

/**
 * Checks a parsed JSON value against the topology format and returns it in canonical form (known
 * keys only, in a fixed order). Every problem is collected; if there is any, a TopologyError lists
 * them all, each with its JSON path, e.g. `edges[3][1]: unknown node "p9"`.
 */
export function validateTopology (value: unknown): Topology {
  const issues: TopologyIssue[] = []
  const issue = (path: string, message: string): void => { issues.push({ path, message }) }
  if (!isObject(value)) throw new TopologyError({ path: '', message: `expected a JSON object with "name", "nodes" and "edges", got ${describe(value)}` })
  for (const key of Object.keys(value)) {
    if (!topLevelFields.includes(key)) issue(key, `unknown field (expected one of ${topLevelFields.join(', ')})`)
  }

  const out: Topology = { name: '', nodes: [], edges: [] }
  if (value.name === undefined) issue('name', 'required (a non-empty string)')
  else if (typeof value.name !== 'string' || value.name === '') issue('name', `expected a non-empty string, got ${describe(value.name)}`)
  else if (!SAFE_NAME.test(value.name)) issue('name', `${describe(value.name)} is not a usable name (${safeNameRule})`)
  else out.name = value.name
  if (value.description !== undefined) {
    if (typeof value.description !== 'string') issue('description', `expected a string, got ${describe(value.description)}`)
    else out.description = value.description
  }
  if (value.allowDisconnected !== undefined) {
    if (typeof value.allowDisconnected !== 'boolean') issue('allowDisconnected', `expected true or false, got ${describe(value.allowDisconnected)}`)
    else out.allowDisconnected = value.allowDisconnected
  }

  // Nodes.
  const index = new Map<string, number>()
  let nodesOk = false
  if (value.nodes === undefined) issue('nodes', 'required (an array of { "id": ... })')
  else if (!Array.isArray(value.nodes)) issue('nodes', `expected an array, got ${describe(value.nodes)}`)
  else if (value.nodes.length === 0) issue('nodes', 'expected at least one node')
  else if (value.nodes.length > TOPOLOGY_LIMITS.nodes) issue('nodes', `${value.nodes.length} nodes; at most ${TOPOLOGY_LIMITS.nodes} are supported`)
  else {
    const before = issues.length
    value.nodes.forEach((raw: unknown, i: number) => {
      const node = validateNode(raw, `nodes[${i}]`, issue)
      if (node === undefined) return
      const first = index.get(node.id)
      if (first !== undefined) issue(`nodes[${i}].id`, `duplicate id "${node.id}" (also nodes[${first}])`)
      else index.set(node.id, i)
      out.nodes.push(node)
    })
    nodesOk = issues.length === before
  }

  // Edges.
  let edgesOk = false
  if (value.edges === undefined) issue('edges', 'required (an array of [from, to] or [from, to, weight])')
  else {
    const before = issues.length
    out.edges = validateEdges(value.edges, 'edges', index, issue)
    edgesOk = issues.length === before
  }

  if (nodesOk && edgesOk && out.allowDisconnected !== true && out.nodes.length > 1) {
    const ids = out.nodes.map((node) => node.id)
    const g = graphFromEdges(ids, out.edges.map((e) => index.get(e[0]) as number), out.edges.map((e) => index.get(e[1]) as number))
    const { labels, count } = connectedComponents(g)
    if (count > 1) {
      const stray = labels.findIndex((c) => c !== 0)
      issue('edges', `the graph is disconnected (${count} components; "${ids[stray]}" cannot reach "${ids[0]}"): ` +
        'add edges, or set "allowDisconnected": true')
    }
  }

  if (value.byzantine !== undefined) {
    const spec = validateByzantine(value.byzantine, index, nodesOk ? out.nodes : undefined, issue)
    if (spec !== undefined) out.byzantine = spec
  }

  if (issues.length > 0) throw new TopologyError(issues)
  return out
}

type Report = (path: string, message: string) => void

function validateNode (raw: unknown, path: string, issue: Report): TopologyNode | undefined {
  if (!isObject(raw)) { issue(path, `expected an object like { "id": "p0" }, got ${describe(raw)}`); return undefined }
  for (const key of Object.keys(raw)) {
    if (!nodeFields.includes(key)) issue(`${path}.${key}`, `unknown field (expected one of ${nodeFields.join(', ')})`)
  }
  if (raw.id === undefined) { issue(`${path}.id`, 'required (a non-empty string)'); return undefined }
  if (typeof raw.id !== 'string' || raw.id === '') { issue(`${path}.id`, `expected a non-empty string, got ${describe(raw.id)}`); return undefined }
  if (!SAFE_NAME.test(raw.id)) { issue(`${path}.id`, `${describe(raw.id)} is not a usable node id (${safeNameRule})`); return undefined }
  const node: TopologyNode = { id: raw.id }
  if (raw.addr !== undefined) {
    if (typeof raw.addr !== 'string' || !raw.addr.startsWith('/')) {
      issue(`${path}.addr`, `expected a multiaddr string such as "/ip4/127.0.0.1/tcp/4001", got ${describe(raw.addr)}`)
    } else {
      node.addr = raw.addr
    }
  }
  if (raw.host !== undefined) {
    if (typeof raw.host !== 'string' || raw.host === '') issue(`${path}.host`, `expected a non-empty string, got ${describe(raw.host)}`)
    else node.host = raw.host
  }
  if (raw.shard !== undefined) {
    if (!Number.isInteger(raw.shard) || (raw.shard as number) < 0) issue(`${path}.shard`, `expected a non-negative integer, got ${describe(raw.shard)}`)
    else node.shard = raw.shard as number
  }
  if (raw.prior !== undefined) {
    if (checkProbability(raw.prior, `${path}.prior`, issue)) node.prior = raw.prior as number
  }
  return node
}

/** Validates an edge array against the known ids: shape, unknown nodes, self-loops, duplicates, weights. */
function validateEdges (raw: unknown, path: string, index: ReadonlyMap<string, number>, issue: Report): TopologyEdge[] {
  const edges: TopologyEdge[] = []
  if (!Array.isArray(raw)) { issue(path, `expected an array of [from, to] or [from, to, weight], got ${describe(raw)}`); return edges }
  const seen = new Map<string, number>()
  raw.forEach((edge: unknown, e: number) => {
    const at = `${path}[${e}]`
    if (!Array.isArray(edge) || edge.length < 2 || edge.length > 3) {
      issue(at, `expected [from, to] or [from, to, weight], got ${describe(edge)}`)
      return
    }
    let ok = true
    for (const side of [0, 1]) {
      const id = edge[side]
      if (typeof id !== 'string') {
        issue(`${at}[${side}]`, `expected a node id (string), got ${describe(id)}`)
        ok = false
      } else if (!index.has(id)) {
        issue(`${at}[${side}]`, `unknown node "${id}"`)
        ok = false
      }
    }
    if (edge.length === 3) {
      const w = edge[2]
      if (typeof w !== 'number' || !Number.isFinite(w) || w <= 0) {
        issue(`${at}[2]`, `expected a positive finite weight, got ${describe(w)}`)
        ok = false
      } else if (w > TOPOLOGY_LIMITS.weightRange || w < 1 / TOPOLOGY_LIMITS.weightRange) {
        issue(`${at}[2]`, `weight ${w} is outside [${1 / TOPOLOGY_LIMITS.weightRange}, ${TOPOLOGY_LIMITS.weightRange}]: rescale the weights`)
        ok = false
      }
    }
    if (!ok) return
    const a = edge[0] as string; const b = edge[1] as string
    if (a === b) { issue(at, `self-loop on "${a}"`); return }
    const key = a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`
    const first = seen.get(key)
    if (first !== undefined) { issue(at, `duplicate edge "${a}"–"${b}" (also ${path}[${first}])`); return }
    seen.set(key, e)
    edges.push(edge.length === 3 ? [a, b, edge[2] as number] : [a, b])
  })
  return edges
}

function validateByzantine (raw: unknown, index: ReadonlyMap<string, number>, nodes: TopologyNode[] | undefined, issue: Report): ByzantineSpec | undefined {
  const path = 'byzantine'
  if (!isObject(raw)) { issue(path, `expected an object like { "model": "cascade", "seed": 0.05, "spread": 0.5 }, got ${describe(raw)}`); return undefined }
  const model = raw.model
  if (model === undefined) { issue(`${path}.model`, `required (one of ${byzantineModelNames.join(', ')})`); return undefined }
  if (typeof model !== 'string' || !(byzantineModelNames as readonly string[]).includes(model)) {
    issue(`${path}.model`, `unknown model ${describe(model)} (expected one of ${byzantineModelNames.join(', ')})`)
    return undefined
  }
  const name = model as ByzantineModelName
  const fields = modelFields[name]
  for (const key of Object.keys(raw)) {
    if (key !== 'model' && key !== 'graph' && !fields.required.includes(key) && !fields.optional.includes(key)) {
      const allowed = [...fields.required, ...fields.optional, 'graph']
      issue(`${path}.${key}`, `unknown field for model "${name}" (expected ${allowed.join(', ')})`)
    }
  }
  for (const key of fields.required) if (raw[key] === undefined) issue(`${path}.${key}`, `required by model "${name}"`)
  let spec: ByzantineSpec | undefined
  switch (name) {
    case 'independent': {
      if (raw.p !== undefined) {
        checkProbability(raw.p, `${path}.p`, issue)
      } else if (nodes !== undefined) {
        const missing = nodes.findIndex((node) => node.prior === undefined)
        if (missing >= 0) issue(`${path}.p`, `required unless every node has a "prior" (nodes[${missing}] has none)`)
      }
      spec = raw.p === undefined ? { model: name } : { model: name, p: raw.p as number }
      break
    }
    case 'cascade':
      if (raw.seed !== undefined) checkProbability(raw.seed, `${path}.seed`, issue)
      if (raw.spread !== undefined) checkProbability(raw.spread, `${path}.spread`, issue)
      spec = { model: name, seed: raw.seed as number, spread: raw.spread as number }
      break
    case 'ising': {
      if (raw.beta !== undefined) checkFinite(raw.beta, `${path}.beta`, issue)
      if (raw.h !== undefined) checkFinite(raw.h, `${path}.h`, issue)
      if (raw.burnIn !== undefined) checkInteger(raw.burnIn, `${path}.burnIn`, 0, issue, TOPOLOGY_LIMITS.burnIn)
      if (raw.thin !== undefined) checkInteger(raw.thin, `${path}.thin`, 1, issue, TOPOLOGY_LIMITS.thin)
      const ising: ByzantineSpec = { model: name, beta: raw.beta as number, h: raw.h as number }
      if (raw.burnIn !== undefined) ising.burnIn = raw.burnIn as number
      if (raw.thin !== undefined) ising.thin = raw.thin as number
      spec = ising
      break
    }
    case 'gaussian':
      if (raw.tau !== undefined && (typeof raw.tau !== 'number' || !Number.isFinite(raw.tau) || raw.tau <= 0)) {
        issue(`${path}.tau`, `expected a positive finite number, got ${describe(raw.tau)}`)
      }
      if (raw.p !== undefined) checkProbability(raw.p, `${path}.p`, issue)
      spec = { model: name, tau: raw.tau as number, p: raw.p as number }
      break
    case 'fixed': {
      const list = raw.nodes
      if (list !== undefined) {
        if (!Array.isArray(list)) issue(`${path}.nodes`, `expected an array of node ids, got ${describe(list)}`)
        else {
          const seen = new Set<string>()
          list.forEach((id: unknown, k: number) => {
            if (typeof id !== 'string') issue(`${path}.nodes[${k}]`, `expected a node id (string), got ${describe(id)}`)
            else if (!index.has(id)) issue(`${path}.nodes[${k}]`, `unknown node "${id}"`)
            else if (seen.has(id)) issue(`${path}.nodes[${k}]`, `duplicate node "${id}"`)
            else seen.add(id)
          })
        }
      }
      spec = { model: name, nodes: Array.isArray(list) ? list.slice() as string[] : [] }
      break
    }
    case 'worst-case': {
      const n = index.size
      if (raw.f !== undefined && (!Number.isInteger(raw.f) || (raw.f as number) < 0 || (raw.f as number) > n)) {
        issue(`${path}.f`, `expected an integer in [0, ${n}] (the number of Byzantine nodes), got ${describe(raw.f)}`)
      }
      if (raw.strategy !== undefined && !worstCaseStrategies.includes(raw.strategy as WorstCaseStrategy)) {
        issue(`${path}.strategy`, `expected "auto", "exact", "max-degree" or "greedy", got ${describe(raw.strategy)}`)
      }
      const worst: ByzantineSpec = { model: name, f: raw.f as number }
      if (raw.strategy !== undefined) worst.strategy = raw.strategy as WorstCaseStrategy
      spec = worst
      break
    }
  }
  if (raw.graph !== undefined) {
    if (!isObject(raw.graph)) {
      issue(`${path}.graph`, `expected an object { "edges": [...] }, got ${describe(raw.graph)}`)
    } else {
      for (const key of Object.keys(raw.graph)) if (key !== 'edges') issue(`${path}.graph.${key}`, 'unknown field (expected edges)')
      if (raw.graph.edges === undefined) issue(`${path}.graph.edges`, 'required (the correlation graph\'s edges)')
      else if (spec !== undefined) spec.graph = { edges: validateEdges(raw.graph.edges, `${path}.graph.edges`, index, issue) }
    }
  }
  return spec
}

function checkProbability (value: unknown, path: string, issue: Report): boolean {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    issue(path, `expected a probability in [0, 1], got ${describe(value)}`)
    return false
  }
  return true
}

function checkFinite (value: unknown, path: string, issue: Report): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) issue(path, `expected a finite number, got ${describe(value)}`)
}

function checkInteger (value: unknown, path: string, min: number, issue: Report, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
    issue(path, `expected an integer ≥ ${min}${max < Number.MAX_SAFE_INTEGER ? ` and ≤ ${max}` : ''}, got ${describe(value)}`)
  }
}

function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A short description of a JSON value for error messages. */
function describe (value: unknown): string {
  if (value === null) return 'null'
  if (value === undefined) return 'nothing'
  if (Array.isArray(value)) return value.length <= 4 ? JSON.stringify(value) : `an array of ${value.length} items`
  if (typeof value === 'object') return 'an object'
  if (typeof value === 'string') return value.length > 40 ? `"${value.slice(0, 37)}..."` : JSON.stringify(value)
  return String(value)
}
