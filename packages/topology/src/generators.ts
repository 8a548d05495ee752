import { createRng, type Rng } from '@murmur/robust'
import { TopologyError } from './errors.ts'
import { connectedComponents, defaultIds, edgeList, graphFromEdges, type Graph } from './graph.ts'
import type { ByzantineSpec, Topology, TopologyEdge } from './types.ts'

// Every generator returns a Graph on nodes p0..p{n−1}. Random generators take a seed and are
// reproducible: the same parameters and seed give the same graph.

/** Grows an undirected simple edge list, refusing self-loops and duplicates. */
class EdgeSet {
  readonly n: number
  readonly u: number[] = []
  readonly v: number[] = []
  private readonly keys = new Set<number>()
  constructor (n: number) { this.n = n }
  private key (a: number, b: number): number { return a < b ? a * this.n + b : b * this.n + a }
  has (a: number, b: number): boolean { return this.keys.has(this.key(a, b)) }
  /** Adds a–b unless it is a loop or already present; returns whether it was added. */
  add (a: number, b: number): boolean {
    if (a === b || this.has(a, b)) return false
    this.keys.add(this.key(a, b))
    this.u.push(a); this.v.push(b)
    return true
  }

  get size (): number { return this.keys.size }
  graph (): Graph { return graphFromEdges(defaultIds(this.n), this.u, this.v) }
}

function fail (path: string, message: string): never {
  throw new TopologyError({ path, message })
}

function checkInt (name: string, value: number | undefined, min: number, what: string): number {
  if (value === undefined) fail(name, `required for ${what}`)
  if (!Number.isInteger(value) || value < min) fail(name, `expected an integer ≥ ${min} for ${what}, got ${value}`)
  return value
}

function checkProb (name: string, value: number | undefined, what: string, fallback?: number): number {
  const p = value ?? fallback
  if (p === undefined) fail(name, `required for ${what}`)
  if (!Number.isFinite(p) || p < 0 || p > 1) fail(name, `expected a probability in [0, 1] for ${what}, got ${p}`)
  return p
}

/** Cycle p0 – p1 – … – p{n−1} – p0 (n ≥ 3). */
export function ring (n: number): Graph {
  checkInt('n', n, 3, 'a ring')
  const edges = new EdgeSet(n)
  for (let i = 0; i < n; i++) edges.add(i, (i + 1) % n)
  return edges.graph()
}

/** Path p0 – p1 – … – p{n−1} (n ≥ 2). */
export function chain (n: number): Graph {
  checkInt('n', n, 2, 'a chain')
  const edges = new EdgeSet(n)
  for (let i = 0; i + 1 < n; i++) edges.add(i, i + 1)
  return edges.graph()
}

/** rows × cols grid with wrap-around (4-regular); node r·cols + c sits at row r, column c. Both ≥ 3. */
export function torus (rows: number, cols: number): Graph {
  checkInt('rows', rows, 3, 'a torus')
  checkInt('cols', cols, 3, 'a torus')
  const edges = new EdgeSet(rows * cols)
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c
      edges.add(i, r * cols + (c + 1) % cols)
      edges.add(i, ((r + 1) % rows) * cols + c)
    }
  }
  return edges.graph()
}

/** Complete graph K_n (n ≥ 2). */
export function complete (n: number): Graph {
  checkInt('n', n, 2, 'a complete graph')
  const edges = new EdgeSet(n)
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) edges.add(i, j)
  return edges.graph()
}

/** Star: hub p0 joined to every other node (n ≥ 2). */
export function star (n: number): Graph {
  checkInt('n', n, 2, 'a star')
  const edges = new EdgeSet(n)
  for (let i = 1; i < n; i++) edges.add(0, i)
  return edges.graph()
}

/**
 * Visits each index of [0, total) independently with probability p, in increasing order, by
 * geometric skips: O(p · total) work instead of O(total).
 */
function bernoulliIndices (total: number, p: number, rng: Rng, visit: (index: number) => void): void {
  if (p <= 0) return
  const logQ = Math.log1p(-p)
  let index = -1
  for (;;) {
    index += p >= 1 ? 1 : 1 + Math.floor(Math.log(1 - rng.next()) / logQ)
    if (index >= total) return
    visit(index)
  }
}

/**
 * Joins the components of an edge set into one: for each component after the first (ordered by
 * its lowest node), one edge from a random node of it to a random node of the components before.
 * Adds c − 1 edges for c components and leaves connected graphs untouched.
 */
function connectComponents (edges: EdgeSet, rng: Rng): void {
  const { labels, count } = connectedComponents(edges.graph())
  if (count <= 1) return
  const members: number[][] = Array.from({ length: count }, () => [])
  for (let i = 0; i < edges.n; i++) members[labels[i]].push(i)
  const seen = members[0].slice()
  for (let c = 1; c < count; c++) {
    const a = members[c][rng.int(members[c].length)]
    edges.add(a, seen[rng.int(seen.length)])
    for (const x of members[c]) seen.push(x)
  }
}

/**
 * Erdős–Rényi G(n, p): each pair is an edge with probability p. If the sample is disconnected,
 * its components are joined by c − 1 random bridging edges (see connectComponents), so the
 * result is always connected; for p above ln(n)/n this rarely adds anything.
 */
export function erdosRenyi (n: number, p: number, seed = 0): Graph {
  checkInt('n', n, 2, 'an Erdős–Rényi graph')
  checkProb('p', p, 'an Erdős–Rényi graph')
  const rng = createRng(seed)
  const edges = new EdgeSet(n)
  // Sample over the n × n grid and keep the upper triangle: each unordered pair gets one chance.
  bernoulliIndices(n * n, p, rng, (index) => {
    const i = Math.floor(index / n); const j = index - i * n
    if (i < j) edges.add(i, j)
  })
  connectComponents(edges, rng)
  return edges.graph()
}

/**
 * Random k-regular graph by the pairing (configuration) model, drawing pairs of free stubs one
 * at a time and never creating a loop or a repeated edge (Steger–Wormald); a dead end or a
 * disconnected result restarts the draw (up to 100 attempts). Needs n·k even and 2 ≤ k < n.
 */
export function randomRegular (n: number, k: number, seed = 0): Graph {
  checkInt('n', n, 3, 'a random regular graph')
  checkInt('k', k, 2, 'a random regular graph')
  if (k >= n) fail('k', `expected k < n for a random regular graph, got k = ${k}, n = ${n}`)
  if ((n * k) % 2 !== 0) fail('k', `n·k must be even for a k-regular graph, got n = ${n}, k = ${k}`)
  const rng = createRng(seed)
  // A dense regular graph is the complement of a sparse one (n − 1 − k regular): drawing that is
  // fast where pairing k stubs per node would grind (k ≈ n) or fail.
  const dense = k > (n - 1) / 2
  for (let attempt = 0; attempt < 100; attempt++) {
    const drawn = drawPairing(n, dense ? n - 1 - k : k, rng)
    if (drawn === undefined) continue
    const graph = dense ? complement(drawn, n).graph() : drawn.graph()
    if (connectedComponents(graph).count === 1) return graph
  }
  return fail('k', `could not draw a connected simple ${k}-regular graph on ${n} nodes in 100 attempts` +
    (k === 2 ? ' (2-regular graphs are unions of cycles: use a ring)' : ''))
}

/** Every pair of distinct nodes that `edges` does not join. */
function complement (edges: EdgeSet, n: number): EdgeSet {
  const out = new EdgeSet(n)
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (!edges.has(i, j)) out.add(i, j)
  return out
}

function drawPairing (n: number, k: number, rng: Rng): EdgeSet | undefined {
  const points = new Int32Array(n * k)
  for (let s = 0; s < points.length; s++) points[s] = Math.floor(s / k)
  let free = points.length
  const edges = new EdgeSet(n)
  const remove = (i: number): void => { points[i] = points[--free] }
  // eslint-disable-next-line no-unmodified-loop-condition -- remove() shrinks free
  while (free > 0) {
    let i = -1; let j = -1
    for (let tries = 0; tries < 50; tries++) {
      const a = rng.int(free); const b = rng.int(free)
      if (points[a] !== points[b] && !edges.has(points[a], points[b])) { i = a; j = b; break }
    }
    if (i < 0) {
      // Random picks keep failing: list the admissible pairs, restart if there are none.
      const admissible: Array<[number, number]> = []
      for (let a = 0; a < free; a++) {
        for (let b = a + 1; b < free; b++) if (points[a] !== points[b] && !edges.has(points[a], points[b])) admissible.push([a, b])
      }
      if (admissible.length === 0) return undefined
      ;[i, j] = admissible[rng.int(admissible.length)]
    }
    edges.add(points[i], points[j])
    // Remove the higher position first so the swap does not move the other chosen stub.
    remove(Math.max(i, j)); remove(Math.min(i, j))
  }
  return edges
}

/**
 * Watts–Strogatz small world: a ring lattice where each node links to its k/2 nearest neighbours
 * on each side, then each lattice edge (i, i + j) is rewired with probability beta to (i, w), w
 * uniform among the nodes not yet adjacent to i. Disconnected results are joined as in erdosRenyi.
 */
export function wattsStrogatz (n: number, k: number, beta: number, seed = 0): Graph {
  checkInt('n', n, 3, 'a small-world graph')
  checkInt('k', k, 2, 'a small-world graph')
  if (k % 2 !== 0 || k >= n) fail('k', `expected an even k < n for a small-world graph, got k = ${k}, n = ${n}`)
  checkProb('beta', beta, 'a small-world graph')
  const rng = createRng(seed)
  const lattice = new EdgeSet(n)
  for (let j = 1; j <= k / 2; j++) for (let i = 0; i < n; i++) lattice.add(i, (i + j) % n)
  const degree = new Int32Array(n).fill(k)
  const removed = new Set<number>()
  const edges = new EdgeSet(n)
  // Rewire in lattice order, tracking the current graph as (lattice − removed) ∪ added.
  const adjacent = (a: number, b: number): boolean => (lattice.has(a, b) && !removed.has(pairKey(a, b, n))) || edges.has(a, b)
  for (let j = 1; j <= k / 2; j++) {
    for (let i = 0; i < n; i++) {
      const t = (i + j) % n
      if (rng.next() >= beta || degree[i] >= n - 1) continue
      let w: number
      do { w = rng.int(n) } while (w === i || adjacent(i, w))
      removed.add(pairKey(i, t, n))
      edges.add(i, w)
      degree[t]--; degree[w]++
    }
  }
  for (let e = 0; e < lattice.u.length; e++) {
    const a = lattice.u[e]; const b = lattice.v[e]
    if (!removed.has(pairKey(a, b, n))) edges.add(a, b)
  }
  connectComponents(edges, rng)
  return edges.graph()
}

function pairKey (a: number, b: number, n: number): number {
  return a < b ? a * n + b : b * n + a
}

/**
 * Barabási–Albert preferential attachment: start from a clique on m + 1 nodes, then each new
 * node links to m distinct existing nodes chosen with probability proportional to degree.
 */
export function barabasiAlbert (n: number, m: number, seed = 0): Graph {
  checkInt('m', m, 1, 'a Barabási–Albert graph')
  checkInt('n', n, m + 2, 'a Barabási–Albert graph (n ≥ m + 2)')
  const rng = createRng(seed)
  const edges = new EdgeSet(n)
  // Each edge endpoint listed once: a uniform pick from it is a degree-proportional node.
  const endpoints: number[] = []
  for (let i = 0; i <= m; i++) for (let j = i + 1; j <= m; j++) { edges.add(i, j); endpoints.push(i, j) }
  const chosen = new Set<number>()
  for (let v = m + 1; v < n; v++) {
    chosen.clear()
    while (chosen.size < m) chosen.add(endpoints[rng.int(endpoints.length)])
    for (const t of chosen) { edges.add(v, t); endpoints.push(v, t) }
  }
  return edges.graph()
}

/** Two cliques of ⌊n/2⌋ and ⌈n/2⌉ nodes joined by one bridge p{⌊n/2⌋−1} – p{⌊n/2⌋} (n ≥ 4). */
export function dumbbell (n: number): Graph {
  checkInt('n', n, 4, 'a dumbbell')
  const a = Math.floor(n / 2)
  const edges = new EdgeSet(n)
  for (let i = 0; i < a; i++) for (let j = i + 1; j < a; j++) edges.add(i, j)
  for (let i = a; i < n; i++) for (let j = i + 1; j < n; j++) edges.add(i, j)
  edges.add(a - 1, a)
  return edges.graph()
}

/** Community of each node in stochasticBlockModel: contiguous blocks of near-equal size. */
export function communityOf (n: number, communities: number): Int32Array {
  const labels = new Int32Array(n)
  for (let i = 0; i < n; i++) labels[i] = Math.floor(i * communities / n)
  return labels
}

/**
 * Stochastic block model: nodes split into `communities` contiguous blocks of near-equal size
 * (see communityOf); a pair is an edge with probability pIn inside a block and pOut across.
 * Disconnected results are joined as in erdosRenyi.
 */
export function stochasticBlockModel (n: number, communities: number, pIn: number, pOut: number, seed = 0): Graph {
  checkInt('n', n, 2, 'a stochastic block model')
  checkInt('communities', communities, 1, 'a stochastic block model')
  if (communities > n) fail('communities', `expected at most n = ${n} communities, got ${communities}`)
  checkProb('pIn', pIn, 'a stochastic block model')
  checkProb('pOut', pOut, 'a stochastic block model')
  const rng = createRng(seed)
  const labels = communityOf(n, communities)
  const starts: number[] = []
  for (let i = 0; i < n; i++) if (i === 0 || labels[i] !== labels[i - 1]) starts.push(i)
  starts.push(n)
  const edges = new EdgeSet(n)
  for (let a = 0; a < communities; a++) {
    for (let b = a; b < communities; b++) {
      const a0 = starts[a]; const sa = starts[a + 1] - a0
      const b0 = starts[b]; const sb = starts[b + 1] - b0
      bernoulliIndices(sa * sb, a === b ? pIn : pOut, rng, (index) => {
        const i = a0 + Math.floor(index / sb); const j = b0 + index % sb
        if (a !== b || i < j) edges.add(i, j)
      })
    }
  }
  connectComponents(edges, rng)
  return edges.graph()
}

/** A malicious ring and which of its nodes are Byzantine. */
export interface MaliciousRing { graph: Graph, byzantine: number[] }

/**
 * The "MaliciousRing" layout: `honest` nodes p0..p{h−1} in a ring, each with `perNode` Byzantine
 * neighbours of its own (degree-1 leaves), plus `extra` more Byzantine leaves on p0. Byzantine
 * nodes are numbered after the honest ones, so h = 5, perNode = 2, extra = 1 gives 16 nodes.
 */
export function maliciousRing (honest: number, perNode = 2, extra = 1): MaliciousRing {
  checkInt('honest', honest, 3, 'a malicious ring')
  checkInt('perNode', perNode, 0, 'a malicious ring')
  checkInt('extra', extra, 0, 'a malicious ring')
  const n = honest * (1 + perNode) + extra
  const edges = new EdgeSet(n)
  for (let i = 0; i < honest; i++) edges.add(i, (i + 1) % honest)
  const byzantine: number[] = []
  let next = honest
  for (let i = 0; i < honest; i++) {
    for (let b = 0; b < perNode; b++) { edges.add(i, next); byzantine.push(next++) }
  }
  for (let b = 0; b < extra; b++) { edges.add(0, next); byzantine.push(next++) }
  return { graph: edges.graph(), byzantine }
}

/** The generator kinds `generateTopology` knows. */
export const generatorKinds = [
  'ring', 'chain', 'torus', 'complete', 'star', 'erdos-renyi', 'regular', 'small-world',
  'barabasi-albert', 'dumbbell', 'sbm', 'malicious-ring'
] as const

export type GeneratorKind = typeof generatorKinds[number]

/** Parameters of generateTopology; each kind reads the ones it needs (see generatorParameters). */
export interface GenerateOptions {
  n?: number
  k?: number
  p?: number
  rows?: number
  cols?: number
  seed?: number
  /** Rewiring probability of small-world graphs. */
  beta?: number
  /** Edges per new node (Barabási–Albert). */
  m?: number
  communities?: number
  pIn?: number
  pOut?: number
  /** Honest nodes of a malicious ring. */
  honest?: number
  /** Byzantine leaves per honest node of a malicious ring (default 2). */
  perNode?: number
  /** Extra Byzantine leaves on p0 of a malicious ring (default 1). */
  extra?: number
  name?: string
  description?: string
  /**
   * μ_H section; by default none, except the malicious ring, whose Byzantine nodes are `fixed`
   * (pass null for no section there too).
   */
  byzantine?: ByzantineSpec | null
}

/** Which options each kind reads, and their defaults (for help texts). */
export const generatorParameters: Record<GeneratorKind, { summary: string, options: Partial<Record<keyof GenerateOptions, string>> }> = {
  ring: { summary: 'cycle on n nodes', options: { n: 'nodes (≥ 3)' } },
  chain: { summary: 'path on n nodes', options: { n: 'nodes (≥ 2)' } },
  torus: { summary: 'rows × cols grid with wrap-around', options: { rows: 'rows (≥ 3)', cols: 'columns (≥ 3)' } },
  complete: { summary: 'complete graph K_n', options: { n: 'nodes (≥ 2)' } },
  star: { summary: 'hub p0 joined to all others', options: { n: 'nodes (≥ 2)' } },
  'erdos-renyi': { summary: 'G(n, p), components bridged so it is connected', options: { n: 'nodes', p: 'edge probability', seed: 'random seed (0)' } },
  regular: { summary: 'random k-regular graph (pairing model)', options: { n: 'nodes', k: 'degree (n·k even)', seed: 'random seed (0)' } },
  'small-world': {
    summary: 'Watts–Strogatz ring lattice with rewiring',
    options: { n: 'nodes', k: 'even lattice degree (4)', beta: 'rewiring probability (0.1)', seed: 'random seed (0)' }
  },
  'barabasi-albert': { summary: 'preferential attachment', options: { n: 'nodes', m: 'edges per new node (2)', seed: 'random seed (0)' } },
  dumbbell: { summary: 'two cliques joined by one bridge edge', options: { n: 'nodes (≥ 4)' } },
  sbm: {
    summary: 'stochastic block model (communities)',
    options: {
      n: 'nodes', communities: 'blocks (2)', pIn: 'edge probability inside a block (0.5)', pOut: 'edge probability across blocks (0.02)',
      seed: 'random seed (0)'
    }
  },
  'malicious-ring': {
    summary: 'honest ring, each with Byzantine leaves; one more on p0',
    options: { honest: 'honest nodes (5)', perNode: 'Byzantine leaves per honest node (2)', extra: 'extra Byzantine leaves on p0 (1)' }
  }
}

/** Turns a graph into a topology document (weights of 1 are left implicit). */
export function topologyFromGraph (graph: Graph, name: string, extra: { description?: string, byzantine?: ByzantineSpec } = {}): Topology {
  const { u, v, w } = edgeList(graph)
  const edges: TopologyEdge[] = new Array(graph.m)
  for (let e = 0; e < graph.m; e++) {
    edges[e] = w[e] === 1 ? [graph.ids[u[e]], graph.ids[v[e]]] : [graph.ids[u[e]], graph.ids[v[e]], w[e]]
  }
  const topology: Topology = { name, nodes: graph.ids.map((id) => ({ id })), edges }
  if (extra.description !== undefined) topology.description = extra.description
  if (extra.byzantine !== undefined) topology.byzantine = extra.byzantine
  return topology
}

/** Generates a topology document of the given kind (the format topology files use). */
export function generateTopology (kind: GeneratorKind, options: GenerateOptions = {}): Topology {
  const seed = options.seed ?? 0
  if (!Number.isInteger(seed)) fail('seed', `expected an integer, got ${seed}`)
  let graph: Graph
  let name: string
  let byzantine = options.byzantine
  switch (kind) {
    case 'ring': graph = ring(need('n', options.n, kind)); name = `ring-${graph.n}`; break
    case 'chain': graph = chain(need('n', options.n, kind)); name = `chain-${graph.n}`; break
    case 'torus': {
      const rows = need('rows', options.rows, kind); const cols = need('cols', options.cols, kind)
      graph = torus(rows, cols); name = `torus-${rows}x${cols}`; break
    }
    case 'complete': graph = complete(need('n', options.n, kind)); name = `complete-${graph.n}`; break
    case 'star': graph = star(need('n', options.n, kind)); name = `star-${graph.n}`; break
    case 'erdos-renyi': graph = erdosRenyi(need('n', options.n, kind), need('p', options.p, kind), seed); name = `er-${graph.n}`; break
    case 'regular': graph = randomRegular(need('n', options.n, kind), need('k', options.k, kind), seed); name = `regular-${graph.n}`; break
    case 'small-world': graph = wattsStrogatz(need('n', options.n, kind), options.k ?? 4, options.beta ?? 0.1, seed); name = `small-world-${graph.n}`; break
    case 'barabasi-albert': graph = barabasiAlbert(need('n', options.n, kind), options.m ?? 2, seed); name = `ba-${graph.n}`; break
    case 'dumbbell': graph = dumbbell(need('n', options.n, kind)); name = `dumbbell-${graph.n}`; break
    case 'sbm':
      graph = stochasticBlockModel(need('n', options.n, kind), options.communities ?? 2, options.pIn ?? 0.5, options.pOut ?? 0.02, seed)
      name = `sbm-${graph.n}`
      break
    case 'malicious-ring': {
      const layout = maliciousRing(options.honest ?? 5, options.perNode ?? 2, options.extra ?? 1)
      graph = layout.graph
      name = `malicious-ring-${graph.n}`
      if (byzantine === undefined) byzantine = { model: 'fixed', nodes: layout.byzantine.map((i) => graph.ids[i]) }
      break
    }
    default: return fail('kind', `unknown generator "${String(kind)}" (expected one of ${generatorKinds.join(', ')})`)
  }
  return topologyFromGraph(graph, options.name ?? name, { description: options.description, byzantine: byzantine ?? undefined })
}

function need (name: keyof GenerateOptions, value: number | undefined, kind: string): number {
  if (value === undefined) fail(name, `required for ${kind}`)
  return value
}
