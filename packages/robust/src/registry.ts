import { bulyan } from './aggregators/bulyan.ts'
import { cwmed, cwtm, meamed } from './aggregators/coordinatewise.ts'
import { cclip, scclip } from './aggregators/cclip.ts'
import { geomed } from './aggregators/geomed.ts'
import { krum, multikrum } from './aggregators/krum.ts'
import type { KrumConvention } from './aggregators/krum.ts'
import { mean } from './aggregators/mean.ts'
import { monna } from './aggregators/monna.ts'
import { caf, filtering, noRegret } from './aggregators/spectral.ts'
import { mda, smea } from './aggregators/subset.ts'
import { fedlaw, pawbrofl } from './aggregators/weighted.ts'
import type { GapPreference } from './aggregators/weighted.ts'
import { RobustInputError } from './errors.ts'
import { arc, bucketing, clipping, nnm } from './preaggregators.ts'
import { describeParams, findEntry } from './spec.ts'
import type { ParamSpec, ParamValue, SpecEntry } from './spec.ts'
import type { Aggregator, PreAggregator } from './types.ts'

// Every rule and pre-aggregator a spec can name: the single table the parser, `createRule`,
// and the CLI help read. Schema defaults are the factories' own defaults, stated here so help
// text and normalized specs can show them; a parameter without one keeps the factory's default.

type Params = Readonly<Record<string, ParamValue>>

/**
 * What a rule stage needs from the caller beyond the inputs and f, so callers can provide it
 * without knowing rules by name:
 * - `lossGaps`: per-input loss gaps (`options.lossGaps`, from held-out losses);
 * - `gossipWeights`: the gossip weights (`options.weights`); set for the aggregators whose
 *   `weights` is `used`.
 */
export interface RuleNeeds {
  readonly lossGaps?: true
  readonly gossipWeights?: true
}

interface EntryBase extends SpecEntry {
  readonly description: string
  readonly needs: RuleNeeds
}

/**
 * What an aggregator does with the gossip weights `options.weights` (one per input, own first):
 * - `used`: its output depends on them (the D-SGD step needs such a final stage);
 * - `ignored`: it never reads them, so a weighted call gives the same answer as an unweighted one.
 */
export type AggregatorWeights = 'used' | 'ignored'

/**
 * What a pre-aggregator does with the gossip weights. None reads them; what matters is whether
 * they still line up with its outputs:
 * - `passed`: output i is built from input i (same number and order), so the weights reach the
 *   next stage unchanged;
 * - `dropped`: the inputs are regrouped (shuffled, merged), so the next stages run without them.
 */
export type PreAggregatorWeights = 'passed' | 'dropped'

/** How a stage treats the gossip weights, as `RuleInfo` reports it. */
export type WeightsTreatment = AggregatorWeights | PreAggregatorWeights

export interface AggregatorEntry extends EntryBase {
  readonly kind: 'aggregator'
  readonly weights: AggregatorWeights
  readonly create: (params: Params) => Aggregator
}

export interface PreAggregatorEntry extends EntryBase {
  readonly kind: 'preaggregator'
  readonly weights: PreAggregatorWeights
  readonly create: (params: Params) => PreAggregator
}

export type RuleEntry = AggregatorEntry | PreAggregatorEntry

const num = (params: Params, key: string): number | undefined => params[key] as number | undefined
const str = (params: Params, key: string): string | undefined => params[key] as string | undefined

const convention: ParamSpec = {
  name: 'convention',
  type: 'enum',
  values: ['n-f-1', 'n-f-2'],
  default: 'n-f-1',
  description: 'neighbours in the Krum score: n − f − 1, or n − f − 2 as in Blanchard et al.'
}

function aggregator (
  name: string, weights: AggregatorWeights, description: string, params: readonly ParamSpec[], create: (p: Params) => Aggregator, aliases?: readonly string[]
): AggregatorEntry {
  const needs: RuleNeeds = weights === 'used' ? { gossipWeights: true } : {}
  return { kind: 'aggregator', name, weights, needs, description, params, create, ...(aliases === undefined ? {} : { aliases }) }
}

function preaggregator (
  name: string, weights: PreAggregatorWeights, description: string, params: readonly ParamSpec[], create: (p: Params) => PreAggregator,
  aliases?: readonly string[]
): PreAggregatorEntry {
  return { kind: 'preaggregator', name, weights, needs: {}, description, params, create, ...(aliases === undefined ? {} : { aliases }) }
}

/** The entry, declaring that its rule weighs inputs by their loss on local data. */
function lossAware (entry: AggregatorEntry): AggregatorEntry {
  return { ...entry, needs: { ...entry.needs, lossGaps: true } }
}

const xiParams: readonly ParamSpec[] = [
  { name: 'xi', type: 'number', min: 0, description: 'stop once the top eigenvalue is ≤ ξ; automatic: xiFactor × a robust estimate of the honest one' },
  { name: 'xiFactor', type: 'number', min: 0, exclusiveMin: true, default: 2, description: 'multiple of the estimated honest top eigenvalue' }
]

/** The weighted rules (they expose their weights) PAwBRoFL can build on. */
const PAWBROFL_BASES = ['filtering', 'caf', 'no-regret', 'mda', 'smea']

/**
 * The table: pre-aggregators first, then aggregators. Each entry's `weights` says how it treats
 * the gossip weights, read off its implementation: only `mean` and `scclip` use them (the spectral,
 * subset and loss-aware rules weigh inputs by weights of their own, not by `options.weights`), and
 * only `bucketing` regroups its inputs.
 */
export const RULES: readonly RuleEntry[] = [
  preaggregator('nnm', 'passed', 'nearest-neighbour mixing: each input becomes the mean of its n − f nearest inputs', [], () => nnm()),
  preaggregator('bucketing', 'dropped', 'shuffle, average buckets of s inputs; the next stage tolerates ⌈f/s⌉', [
    { name: 's', type: 'number', integer: true, min: 1, default: 2, description: 'bucket size' },
    { name: 'seed', type: 'number', integer: true, default: 0, description: 'shuffle seed when the call brings no rng' }
  ], (p) => bucketing({ s: num(p, 's'), seed: num(p, 'seed') })),
  preaggregator('clip', 'passed', 'static clipping: scale every input longer than c down to norm c', [
    { name: 'c', type: 'number', min: 0, exclusiveMin: true, required: true, description: 'norm threshold' }
  ], (p) => clipping({ c: num(p, 'c') as number }), ['clipping']),
  preaggregator('arc', 'passed', 'adaptive robust clipping: clip the ⌊2(f/n)(n − f)⌋ largest inputs to the next largest norm', [], () => arc()),

  aggregator('mean', 'used', 'average, Σ w_j x_j / Σ w_j with the gossip weights, plain without them (not robust)', [], () => mean(), ['avg']),
  aggregator('cwmed', 'ignored', 'coordinate-wise median', [], () => cwmed(), ['median']),
  aggregator('cwtm', 'ignored', 'coordinate-wise trimmed mean: drop the f smallest and f largest per coordinate', [], () => cwtm(), ['trmean']),
  aggregator('meamed', 'ignored', 'per coordinate, mean of the n − f values closest to the median', [], () => meamed()),
  aggregator('geomed', 'ignored', 'geometric median by smoothed Weiszfeld iterations', [
    {
      name: 'tol', type: 'number', min: 0, exclusiveMin: true, max: 1, exclusiveMax: true, default: 1e-6,
      description: 'stop when a step moves less than tol × the median distance'
    },
    { name: 'maxIter', type: 'number', integer: true, min: 1, default: 200, description: 'iteration cap per phase' },
    {
      name: 'nu', type: 'number', min: 0, exclusiveMin: true, max: 1, exclusiveMax: true, default: 1e-8,
      description: 'smoothing: distances below ν × the median distance count as that'
    }
  ], (p) => geomed({ tol: num(p, 'tol'), maxIter: num(p, 'maxIter'), nu: num(p, 'nu') }), ['rfa']),
  aggregator('krum', 'ignored', 'the input with the lowest Krum score (sum of squared distances to its nearest neighbours)', [convention],
    (p) => krum({ convention: str(p, 'convention') as KrumConvention })),
  aggregator('multikrum', 'ignored', 'mean of the n − f inputs with the lowest Krum scores', [convention],
    (p) => multikrum({ convention: str(p, 'convention') as KrumConvention })),
  aggregator('bulyan', 'ignored', 'repeated Krum selection of n − 2f inputs, then trimmed mean; needs n ≥ 4f + 3', [], () => bulyan()),
  aggregator('monna', 'ignored', 'mean of the n − f inputs nearest to the pivot (the node’s own model)', [], () => monna()),
  aggregator('cclip', 'ignored', 'centered clipping around the previous output (or the pivot)', [
    { name: 'tau', type: 'number', min: 0, exclusiveMin: true, required: true, description: 'clipping radius τ' },
    { name: 'iters', type: 'number', integer: true, min: 1, default: 1, description: 'clipping iterations L' }
  ], (p) => cclip({ tau: num(p, 'tau') as number, iters: num(p, 'iters') })),
  aggregator('scclip', 'used', 'self-centred clipping (ClippedGossip): clip neighbour differences around the own model', [
    { name: 'tau', type: 'number', min: 0, exclusiveMin: true, description: 'clipping radius τ; automatic: chosen per call from the data' }
  ], (p) => scclip({ tau: num(p, 'tau') })),
  aggregator('mda', 'ignored', 'mean of the n − f inputs of smallest diameter (exact search up to exactLimit subsets)', [
    { name: 'exactLimit', type: 'number', integer: true, min: 0, default: 200000, description: 'search exactly when C(n, f) ≤ exactLimit, else approximate' }
  ], (p) => mda({ exactLimit: num(p, 'exactLimit') })),
  aggregator('smea', 'ignored', 'mean of the n − f inputs whose covariance has the smallest top eigenvalue', [
    { name: 'exactLimit', type: 'number', integer: true, min: 0, default: 200000, description: 'search exactly when C(n, f) ≤ exactLimit, else approximate' }
  ], (p) => smea({ exactLimit: num(p, 'exactLimit') })),
  aggregator('caf', 'ignored', 'covariance-bound agnostic filter: down-weight inputs along the top eigenvector', [
    { name: 'bound', type: 'number', min: 0, description: 'stop once the top eigenvalue is ≤ bound; automatic: no early stop' }
  ], (p) => caf({ bound: num(p, 'bound') })),
  aggregator('filtering', 'ignored', 'filter on the weighted covariance until its top eigenvalue is ≤ ξ (seed 002, Alg. 2)', xiParams,
    (p) => filtering({ xi: num(p, 'xi'), xiFactor: num(p, 'xiFactor') })),
  aggregator('no-regret', 'ignored', 'no-regret multiplicative weights until the top eigenvalue is ≤ ξ (seed 002, Alg. 1)', [
    ...xiParams,
    { name: 'eta', type: 'number', min: 0, exclusiveMin: true, max: 1, exclusiveMax: true, default: 0.5, description: 'multiplicative step η' },
    { name: 'maxIter', type: 'number', integer: true, min: 1, default: 500, description: 'iteration cap' },
    { name: 'prefilter', type: 'number', min: 0, exclusiveMin: true, default: 2, description: 'pre-filter radius factor' }
  ], (p) => noRegret({ xi: num(p, 'xi'), xiFactor: num(p, 'xiFactor'), eta: num(p, 'eta'), maxIter: num(p, 'maxIter'), prefilter: num(p, 'prefilter') }),
  ['noregret']),
  lossAware(aggregator('pawbrofl', 'ignored', 'loss-aware softmax re-weighting of a weighted robust rule, keeping its norm (needs loss gaps)', [
    { name: 'mu', type: 'number', min: 0, exclusiveMin: true, default: 0.1, description: 'softmax temperature μ' },
    { name: 'base', type: 'enum', values: PAWBROFL_BASES, default: 'filtering', description: 'the weighted robust rule giving q (its default parameters)' },
    {
      name: 'prefer', type: 'enum', values: ['low-gap', 'high-gap'], default: 'low-gap',
      description: 'favour low loss gaps (gossip) or high ones (eq. 8 as written)'
    }
  ], (p) => pawbrofl({ mu: num(p, 'mu'), base: baseRule(str(p, 'base') ?? 'filtering'), prefer: str(p, 'prefer') as GapPreference }))),
  lossAware(aggregator('fedlaw', 'ignored', 'weights on the sparse capped simplex from the loss gaps (needs loss gaps)', [
    { name: 's', type: 'number', integer: true, min: 1, description: 'at most s inputs get weight; automatic: n − f' },
    { name: 't', type: 'number', min: 0, exclusiveMin: true, description: 'per-input weight cap; automatic: capFactor / s' },
    { name: 'capFactor', type: 'number', min: 1, default: 2, description: 'default cap as a multiple of 1/s' },
    { name: 'beta', type: 'number', min: 0, exclusiveMin: true, default: 1, description: 'step on the loss gaps' }
  ], (p) => fedlaw({ s: num(p, 's'), t: num(p, 't'), capFactor: num(p, 'capFactor'), beta: num(p, 'beta') })))
]

/** PAwBRoFL's base rule, built with its own defaults. */
function baseRule (name: string): Aggregator {
  const entry = findEntry(RULES, name)
  if (entry === undefined || entry.kind !== 'aggregator') throw new RobustInputError('bad-parameter', `pawbrofl: unknown base rule ${name}`)
  return entry.create({})
}

/** What `murmur --help` shows about a rule. */
export interface RuleInfo {
  readonly name: string
  readonly kind: 'aggregator' | 'preaggregator'
  readonly aliases: readonly string[]
  readonly description: string
  /** How the stage treats the gossip weights (see AggregatorWeights, PreAggregatorWeights). */
  readonly weights: WeightsTreatment
  /** What the stage needs from the caller (see RuleNeeds). */
  readonly needs: RuleNeeds
  readonly params: readonly ParamSpec[]
  /** One line per parameter: name, type, range, default, description. */
  readonly paramHelp: readonly string[]
}

/** Every rule and pre-aggregator a spec may name, pre-aggregators first. */
export function listRules (): RuleInfo[] {
  return RULES.map((e) => ({
    name: e.name,
    kind: e.kind,
    aliases: e.aliases ?? [],
    description: e.description,
    weights: e.weights,
    needs: e.needs,
    params: e.params,
    paramHelp: describeParams(e)
  }))
}
