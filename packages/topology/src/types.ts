/** A node of a topology file. Only `id` is required. */
export interface TopologyNode {
  id: string
  /** Listen multiaddr of the peer, e.g. `/ip4/127.0.0.1/tcp/4001`. */
  addr?: string
  /** Machine the peer runs on (launchers group peers by host). */
  host?: string
  /** Index of the data partition the peer trains on. */
  shard?: number
  /** Prior probability p_i that the node is Byzantine (independent model; cascade seed rate). */
  prior?: number
}

/** An undirected edge between two node ids, with an optional positive weight (default 1). */
export type TopologyEdge = [string, string] | [string, string, number]

/** Every node i is Byzantine independently with probability p_i (its `prior`, else `p`). */
export interface IndependentModel { model: 'independent', p?: number }

/**
 * Each node is a seed with probability `seed` (or its `prior`); each node that turns Byzantine
 * turns each neighbour once with probability min(1, spread · w_ij).
 */
export interface CascadeModel { model: 'cascade', seed: number, spread: number }

/**
 * P(s) ∝ exp(β Σ_edges w_ij s_i s_j + h Σ s_i), s ∈ {−1, +1}^n, Byzantine iff s_i = +1; sampled by
 * Gibbs sweeps after `burnIn` sweeps, `thin` sweeps apart.
 */
export interface IsingModel { model: 'ising', beta: number, h: number, burnIn?: number, thin?: number }

/** z ~ N(0, corr((L + τI)⁻¹)); Byzantine iff z_i > Φ⁻¹(1 − p), so each node is Byzantine with probability p. */
export interface GaussianModel { model: 'gaussian', tau: number, p: number }

/** An explicit list of Byzantine node ids. */
export interface FixedModel { model: 'fixed', nodes: string[] }

/**
 * The adversary picks f nodes overrunning the most honest neighbourhoods: by exhaustive search
 * (`exact`), greedily, or the highest degrees; `auto` (the default) searches exhaustively when
 * the search fits its budget, else greedily.
 */
export interface WorstCaseModel { model: 'worst-case', f: number, strategy?: WorstCaseStrategy }

export type WorstCaseStrategy = 'auto' | 'exact' | 'greedy' | 'max-degree'

export type ByzantineModel = IndependentModel | CascadeModel | IsingModel | GaussianModel | FixedModel | WorstCaseModel

export type ByzantineModelName = ByzantineModel['model']

/** μ_H: a Byzantine model over the topology's graph, or over a separate correlation graph on the same nodes. */
export type ByzantineSpec = ByzantineModel & { graph?: { edges: TopologyEdge[] } }

/** The document stored in a topology file (validated form: every field checked, keys in canonical order). */
export interface Topology {
  name: string
  description?: string
  nodes: TopologyNode[]
  edges: TopologyEdge[]
  byzantine?: ByzantineSpec
  /** Accept a disconnected graph (by default that is an error: gossip cannot reach consensus). */
  allowDisconnected?: boolean
}
