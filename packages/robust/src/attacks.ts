import { RobustInputError } from './errors.ts'
import { kernels } from './kernels/index.ts'
import { topEigen } from './linalg.ts'
import { createRng } from './rng.ts'
import type { Rng } from './rng.ts'
import { describeParams, formatStage, resolveStage, tokenizeSpec, withDefaults } from './spec.ts'
import type { ParamSpec, ParamValue, SpecEntry } from './spec.ts'
import { coordinateMoments, normalQuantile } from './stats.ts'
import type { Vectors } from './types.ts'
import { checkInteger, checkPositive } from './validate.ts'

// Model-space attacks: what a Byzantine peer sends, computed from what it observed. ḡ and σ are
// the coordinate-wise mean and population standard deviation (divide by the count) of the
// honest vectors the attacker can see.

/** The honest node an attack aims at, as seen by a Byzantine neighbour of it (gossip form). */
export interface AttackTarget {
  /** The target's current model x_i. */
  readonly model: Float32Array
  /** The target's honest neighbours' models x_k, k ∈ N(i) ∩ H. */
  readonly neighbours: Vectors
  /** The target's mixing weights W_ik for those neighbours, in the same order. */
  readonly weights: ArrayLike<number>
  /** Σ_{j ∈ N(i) ∩ B} W_ij: the weight the target gives its Byzantine neighbours. */
  readonly byzantineWeight: number
}

/** What the attackers observed, for one receiver. */
export interface AttackContext {
  /** The honest vectors the attackers can see. */
  readonly honest: Vectors
  /** The attacker's own honest update (what it would have sent). */
  readonly own?: Float32Array
  /** Inputs at the receiving node. */
  readonly n: number
  /** Byzantine inputs at the receiving node. */
  readonly f: number
  /** Randomness for random attacks; without it they use a generator seeded by their `seed`. */
  readonly rng?: Rng
  readonly target?: AttackTarget
  /** The model dimension, needed only when no vector above gives it. */
  readonly dimension?: number
}

/** Maps what the attackers observed to the vector to send. Always returns a new vector. */
export type Attack = (ctx: AttackContext) => Float32Array

/** Send −ḡ. */
export function signFlip (): Attack {
  return (ctx) => scaledMean('signflip', ctx, -1)
}

export interface InverseParams {
  /** Scale c > 0 (default 1). */
  c?: number
}

/** Inverse gradient: send −c · own. */
export function inverse (params: InverseParams = {}): Attack {
  const { c = 1 } = params
  checkPositive('inverse', 'c', c)
  return (ctx) => {
    if (ctx.own === undefined) throw new RobustInputError('bad-parameter', 'inverse: the context has no own update (ctx.own)')
    const out = new Float32Array(ctx.own.length)
    kernels().combine([ctx.own], Float64Array.of(-c), [out])
    return out
  }
}

export interface IpmParams {
  /** ε > 0 (default 0.1, the bucketing paper's; ByzFL uses 2). */
  eps?: number
}

/** Inner-product manipulation (fall of empires): send −ε ḡ. */
export function ipm (params: IpmParams = {}): Attack {
  const { eps = 0.1 } = params
  checkPositive('ipm', 'eps', eps)
  return (ctx) => scaledMean('ipm', ctx, -eps)
}

/**
 * ALIE's default z: s = ⌊n/2 + 1⌋ − f and z = Φ⁻¹((n − f − s)/(n − f)). Throws when that
 * probability is not in (0, 1) (n too small for the formula).
 */
export function alieZ (n: number, f: number): number {
  checkInteger('alie', 'n', n, 1)
  checkInteger('alie', 'f', f, 0, n - 1)
  const s = Math.floor(n / 2 + 1) - f
  const p = (n - f - s) / (n - f)
  if (!(p > 0 && p < 1)) {
    throw new RobustInputError('bad-parameter', `alie: z = Φ⁻¹(${p}) is not finite for n = ${n}, f = ${f}; give z explicitly`)
  }
  return normalQuantile(p)
}

export interface AlieParams {
  /** A fixed z (ByzFL uses 1.5); by default z comes from n and f (see `alieZ`). */
  z?: number
}

/** A little is enough: send ḡ − z σ. A negative z moves the other way. */
export function alie (params: AlieParams = {}): Attack {
  if (params.z !== undefined && !Number.isFinite(params.z)) {
    throw new RobustInputError('bad-parameter', `alie: z must be a finite number, got ${params.z}`)
  }
  return (ctx) => {
    checkHonest('alie', ctx)
    const z = params.z ?? alieZ(ctx.n, ctx.f)
    const out = new Float32Array(ctx.honest[0].length)
    coordinateMoments(ctx.honest, (start, end, mean, variance) => {
      for (let j = start; j < end; j++) out[j] = mean[j - start] - z * Math.sqrt(variance[j - start])
    })
    return out
  }
}

export interface MimicParams {
  /** Copy this honest vector; by default the one farthest along the top principal direction. */
  index?: number
}

/**
 * Mimic: copy one honest vector, either a fixed one or the one with the largest (absolute)
 * projection of x_k − ḡ on the top principal direction of the honest vectors.
 */
export function mimic (params: MimicParams = {}): Attack {
  if (params.index !== undefined) checkInteger('mimic', 'index', params.index, 0)
  return (ctx) => {
    checkHonest('mimic', ctx)
    const k = params.index ?? principalExtreme(ctx.honest)
    if (k >= ctx.honest.length) {
      throw new RobustInputError('bad-parameter', `mimic: index ${k} but only ${ctx.honest.length} honest vectors are visible`)
    }
    return Float32Array.from(ctx.honest[k])
  }
}

/**
 * The index k maximizing |⟨x_k − ḡ, v⟩| for v the top eigenvector of the honest covariance, found
 * in n-space: with B = −½ J D J the centred Gram matrix (D the squared distances, J the centring
 * projector), the projections are λ u for u the top eigenvector of B. Ties and a zero spread
 * give the lowest index.
 */
export function principalExtreme (vectors: Vectors): number {
  const n = vectors.length
  if (n <= 2) return 0 // two points project symmetrically; one has nothing to compare
  const dist = kernels().sqDistances(vectors)
  const rowMean = new Float64Array(n)
  let total = 0
  for (let i = 0; i < n; i++) {
    let s = 0
    for (let j = 0; j < n; j++) s += dist[i * n + j]
    rowMean[i] = s / n
    total += s
  }
  total /= n * n
  const gram = new Float64Array(n * n)
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) gram[i * n + j] = -0.5 * (dist[i * n + j] - rowMean[i] - rowMean[j] + total)
  }
  const u = topEigen(gram, n).vector
  let best = 0
  for (let i = 1; i < n; i++) if (Math.abs(u[i]) > Math.abs(u[best]) * (1 + 1e-12)) best = i
  return best
}

export interface GaussianParams {
  /** Mean of every coordinate (default 0). */
  mu?: number
  /** Standard deviation of every coordinate, ≥ 0 (default 1). */
  sigma?: number
  /** Seed when the context brings no rng (default 0). */
  seed?: number
}

/** Send a vector of independent N(μ, σ²) coordinates. */
export function gaussian (params: GaussianParams = {}): Attack {
  const { mu = 0, sigma = 1, seed = 0 } = params
  if (!Number.isFinite(mu)) throw new RobustInputError('bad-parameter', `gaussian: mu must be finite, got ${mu}`)
  if (!Number.isFinite(sigma) || sigma < 0) throw new RobustInputError('bad-parameter', `gaussian: sigma must be a finite number ≥ 0, got ${sigma}`)
  checkInteger('gaussian', 'seed', seed, Number.MIN_SAFE_INTEGER)
  let ownRng: Rng | undefined
  return (ctx) => {
    const rng = ctx.rng ?? (ownRng ??= createRng(seed))
    const out = new Float32Array(dimensionOf('gaussian', ctx))
    for (let j = 0; j < out.length; j++) out[j] = mu + sigma * rng.normal()
    return out
  }
}

export type NonFiniteKind = 'nan' | 'inf' | '-inf'

/** Send a vector full of NaN, +Infinity or −Infinity (the receiver must reject it). */
export function nonFinite (params: { kind?: NonFiniteKind } = {}): Attack {
  const { kind = 'nan' } = params
  const value = kind === 'nan' ? NaN : kind === 'inf' ? Infinity : kind === '-inf' ? -Infinity : undefined
  if (value === undefined) throw new RobustInputError('bad-parameter', `nonfinite: kind must be nan, inf or -inf, got ${String(kind)}`)
  return (ctx) => new Float32Array(dimensionOf('nonfinite', ctx)).fill(value)
}

export interface DissensusParams {
  /**
   * ε > 0 (default 1.5). Against plain mixing the target moves by (1 − ε) Σ_k W_ik (x_k − x_i):
   * ε = 1 freezes it, ε > 1 pushes it away from its honest neighbours.
   */
  eps?: number
}

/**
 * Dissensus (gossip): a Byzantine neighbour of honest i sends
 * x_i − ε Σ_{k∈N(i)∩H} W_ik (x_k − x_i) / Σ_{j∈N(i)∩B} W_ij, from ctx.target.
 */
export function dissensus (params: DissensusParams = {}): Attack {
  const { eps = 1.5 } = params
  checkPositive('dissensus', 'eps', eps)
  return (ctx) => {
    const t = ctx.target
    if (t === undefined) throw new RobustInputError('bad-parameter', 'dissensus: the context has no target (ctx.target)')
    const m = t.neighbours.length
    if (t.weights.length !== m) {
      throw new RobustInputError('bad-parameter', `dissensus: ${t.weights.length} weights for ${m} honest neighbours of the target`)
    }
    if (!(t.byzantineWeight > 0 && Number.isFinite(t.byzantineWeight))) {
      throw new RobustInputError('bad-parameter', `dissensus: the target's Byzantine weight must be > 0, got ${t.byzantineWeight}`)
    }
    const d = t.model.length
    for (let k = 0; k < m; k++) {
      if (t.neighbours[k].length !== d) {
        throw new RobustInputError('dimension-mismatch', `dissensus: neighbour ${k} has dimension ${t.neighbours[k].length}, the target has ${d}`)
      }
    }
    // x_i (1 + (ε/b) Σ_k W_ik) − (ε/b) Σ_k W_ik x_k, one combine.
    const scale = eps / t.byzantineWeight
    const coeffs = new Float64Array(m + 1)
    coeffs[0] = 1
    for (let k = 0; k < m; k++) {
      coeffs[0] += scale * t.weights[k]
      coeffs[k + 1] = -scale * t.weights[k]
    }
    const out = new Float32Array(d)
    kernels().combine([t.model, ...t.neighbours], coeffs, [out])
    return out
  }
}

/** Equivocation: run the attack once per receiver, each with that receiver's own context. */
export function equivocate (attack: Attack, receivers: readonly AttackContext[]): Float32Array[] {
  return receivers.map((ctx) => attack(ctx))
}

/**
 * What an attack reads from its context beyond `own`, n, f and the rng, so a caller gathers it
 * without knowing attacks by name:
 * - `honestModels`: the honest vectors (`ctx.honest`); noise and own-update attacks do without;
 * - `target`: the receiver as a target (`ctx.target`), which takes the topology around it.
 */
export interface AttackNeeds {
  readonly honestModels?: true
  readonly target?: true
}

interface AttackEntry extends SpecEntry {
  readonly description: string
  readonly needs: AttackNeeds
  readonly create: (params: Readonly<Record<string, ParamValue>>) => Attack
}

const positive = (name: string, dflt: number, description: string): ParamSpec =>
  ({ name, type: 'number', min: 0, exclusiveMin: true, default: dflt, description })

const HONEST: AttackNeeds = { honestModels: true }

const ATTACKS: readonly AttackEntry[] = [
  { name: 'signflip', aliases: ['sf'], description: 'send −ḡ', needs: HONEST, params: [], create: () => signFlip() },
  {
    name: 'inverse', description: 'send −c · own update', needs: {}, params: [positive('c', 1, 'scale')],
    create: (p) => inverse({ c: p.c as number })
  },
  {
    name: 'ipm', aliases: ['foe'], description: 'inner-product manipulation: send −ε ḡ', needs: HONEST, params: [positive('eps', 0.1, 'ε')],
    create: (p) => ipm({ eps: p.eps as number })
  },
  {
    name: 'alie', description: 'a little is enough: send ḡ − z σ', needs: HONEST,
    params: [{ name: 'z', type: 'number', description: 'fixed z; automatic: Φ⁻¹((n − f − s)/(n − f)), s = ⌊n/2 + 1⌋ − f' }],
    create: (p) => alie({ z: p.z as number | undefined })
  },
  {
    name: 'mimic', description: 'copy one honest vector', needs: HONEST,
    params: [{
      name: 'index', type: 'number', integer: true, min: 0,
      description: 'which honest vector; automatic: the most extreme along the top principal direction'
    }],
    create: (p) => mimic({ index: p.index as number | undefined })
  },
  {
    name: 'gaussian', description: 'send N(μ, σ²) noise', needs: {},
    params: [
      { name: 'mu', type: 'number', default: 0, description: 'mean' },
      { name: 'sigma', type: 'number', min: 0, default: 1, description: 'standard deviation' },
      { name: 'seed', type: 'number', integer: true, default: 0, description: 'seed when the caller brings no rng' }
    ],
    create: (p) => gaussian({ mu: p.mu as number, sigma: p.sigma as number, seed: p.seed as number })
  },
  {
    name: 'nonfinite', description: 'send NaN or ±Infinity everywhere', needs: {},
    params: [{ name: 'kind', type: 'enum', values: ['nan', 'inf', '-inf'], default: 'nan', description: 'which value' }],
    create: (p) => nonFinite({ kind: p.kind as NonFiniteKind })
  },
  {
    name: 'dissensus',
    description: 'push the target away from its honest neighbours (gossip)',
    needs: { honestModels: true, target: true },
    params: [positive('eps', 1.5, 'ε')],
    create: (p) => dissensus({ eps: p.eps as number })
  }
]

/** A checked attack spec: normalized text, canonical name, and the parameters it gives. */
export interface ParsedAttackSpec {
  readonly spec: string
  readonly name: string
  readonly params: Readonly<Record<string, ParamValue>>
}

/** Parses and checks an attack spec such as `alie`, `alie(z=1.5)`, `ipm(eps=0.1)`, `gaussian(sigma=10)`. */
export function parseAttackSpec (spec: string): ParsedAttackSpec {
  return resolveAttack(spec).parsed
}

/** The attack a spec describes. */
export function createAttack (spec: string): Attack {
  const { entry, parsed } = resolveAttack(spec)
  return entry.create(withDefaults(entry, parsed.params))
}

/** What an attack spec's attack reads from its context (see AttackNeeds). Throws like parseAttackSpec for a bad spec. */
export function attackNeeds (spec: string): AttackNeeds {
  return resolveAttack(spec).entry.needs
}

/** What help text shows about an attack. */
export interface AttackInfo {
  readonly name: string
  readonly aliases: readonly string[]
  readonly description: string
  readonly needs: AttackNeeds
  readonly params: readonly ParamSpec[]
  readonly paramHelp: readonly string[]
}

/** Every attack a spec may name. */
export function listAttacks (): AttackInfo[] {
  return ATTACKS.map((e) => ({
    name: e.name, aliases: e.aliases ?? [], description: e.description, needs: e.needs, params: e.params, paramHelp: describeParams(e)
  }))
}

function resolveAttack (spec: string): { entry: AttackEntry, parsed: ParsedAttackSpec } {
  const raw = tokenizeSpec(spec, 'attack')
  if (raw.length > 1) {
    throw new RobustInputError('bad-parameter',
      `attack spec "${spec}": one attack per spec, got ${raw.length} joined by '+' (second at column ${raw[1].offset + 1})`)
  }
  const { entry, stage } = resolveStage(spec, raw[0], ATTACKS, 'attack')
  return { entry, parsed: { spec: formatStage(entry, stage.params), name: entry.name, params: stage.params } }
}

/** −scale/|H| · Σ honest, through one combine. */
function scaledMean (name: string, ctx: AttackContext, scale: number): Float32Array {
  checkHonest(name, ctx)
  const h = ctx.honest.length
  const out = new Float32Array(ctx.honest[0].length)
  kernels().combine(ctx.honest, new Float64Array(h).fill(scale / h), [out])
  return out
}

function checkHonest (name: string, ctx: AttackContext): void {
  const h = ctx.honest.length
  if (h === 0) throw new RobustInputError('empty-input', `${name}: the attackers see no honest vectors`)
  const d = ctx.honest[0].length
  for (let i = 1; i < h; i++) {
    if (ctx.honest[i].length !== d) {
      throw new RobustInputError('dimension-mismatch', `${name}: honest vector ${i} has dimension ${ctx.honest[i].length}, vector 0 has ${d}`)
    }
  }
}

function dimensionOf (name: string, ctx: AttackContext): number {
  const d = ctx.honest[0]?.length ?? ctx.own?.length ?? ctx.target?.model.length ?? ctx.dimension
  if (d === undefined) throw new RobustInputError('bad-parameter', `${name}: the context gives no vector or dimension to size the output`)
  checkInteger(name, 'dimension', d, 1)
  return d
}
