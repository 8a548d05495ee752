import { RobustInputError } from '../errors.ts'
import { kernels } from '../kernels/index.ts'
import { eigenLowerBound, topEigen } from '../linalg.ts'
import type { AggregateOptions, Vectors } from '../types.ts'
import { checkInteger } from '../validate.ts'
import { centrality, centredGram, nearestTo, orderByKey } from './nspace.ts'
import { honestMajority, weightedMeanRule } from './weighted-mean.ts'
import type { WeightedAggregator } from './weighted-mean.ts'

// MDA and SMEA average the size-(n − f) subset that minimises a set function: the diameter for
// MDA, the top eigenvalue of the covariance for SMEA. Both set functions only grow when a point is
// added, which makes branch and bound (subsets grown or pruned in order of centrality, cut by lower
// bounds valid for every completion) exact and usually far faster than plain enumeration. It is
// still exponential in the worst case, so it runs only when C(n, f) ≤ exactLimit; beyond that a
// polynomial-time local search answers and the selection says so (`exact: false`). All of it works
// on the n×n squared-distance matrix from one `sqDistances` pass; the output is one `combine`.

/** Largest C(n, f) for which the rules search exactly by default. */
export const DEFAULT_EXACT_LIMIT = 200_000

/** The subset a combinatorial rule averages. */
export interface SubsetSelection {
  /** The n − f chosen input indices, ascending. */
  subset: Uint32Array
  /** True when the subset is a proven minimiser (up to floating-point rounding), false when it comes from the approximation. */
  exact: boolean
  /** The minimised value: squared diameter (MDA) or top covariance eigenvalue, 1/(n − f) normalised (SMEA). */
  score: number
}

export interface SubsetParams {
  /** Search exactly when C(n, f) ≤ exactLimit (default 200 000); 0 forces the approximation except for f = 0. */
  exactLimit?: number
}

/** MDA and SMEA expose how their last aggregation chose its subset. */
export interface SubsetAggregator extends WeightedAggregator {
  /** Whether n inputs with tolerance f are searched exactly (C(n, f) ≤ exactLimit). */
  exactFor: (n: number, f: number) => boolean
  /** The selection of the most recent `aggregate` or `weights` call (undefined before the first). */
  readonly lastSelection: SubsetSelection | undefined
}

/** C(n, k) as a float (exact below 2⁵³). */
export function binomial (n: number, k: number): number {
  if (k < 0 || k > n) return 0
  const r = Math.min(k, n - k)
  let c = 1
  for (let i = 1; i <= r; i++) c = c * (n - r + i) / i
  return Math.round(c)
}

function checkSelection (rule: string, D: Float64Array, n: number, f: number, exactLimit: number): void {
  checkInteger(rule, 'n', n, 1)
  if (D.length !== n * n) {
    throw new RobustInputError('dimension-mismatch', `${rule}: distance matrix has ${D.length} entries, expected n² = ${n * n}`)
  }
  checkInteger(rule, 'f', f, 0)
  if (n <= 2 * f) throw new RobustInputError('too-few-inputs', `${rule}: needs n > 2f, got n = ${n}, f = ${f}`)
  checkInteger(rule, 'exactLimit', exactLimit, 0)
}

function allIndices (n: number): number[] {
  return Array.from({ length: n }, (_, i) => i)
}

/** Input indices from most to least central (Krum score over the k − 1 nearest others). */
function centralOrder (D: Float64Array, n: number, k: number): Uint32Array {
  return orderByKey(centrality(D, n, k - 1), allIndices(n))
}

function sortedSubset (set: ArrayLike<number>): Uint32Array {
  return Uint32Array.from(set).sort()
}

// ---------------------------------------------------------------------------------------------
// MDA: minimum diameter

/** Squared diameter of set[0..len), leaving out position `skip` (−1: none). */
function diameterOf (D: Float64Array, n: number, set: ArrayLike<number>, len: number, skip = -1): number {
  let diam = 0
  for (let a = 0; a < len; a++) {
    if (a === skip) continue
    const row = set[a] * n
    for (let b = a + 1; b < len; b++) {
      if (b !== skip && D[row + set[b]] > diam) diam = D[row + set[b]]
    }
  }
  return diam
}

/** Positions of a pair attaining the diameter of set. */
function diameterPair (D: Float64Array, n: number, set: ArrayLike<number>): [number, number] {
  let best = -1; let pa = 0; let pb = Math.min(1, set.length - 1)
  for (let a = 0; a < set.length; a++) {
    for (let b = a + 1; b < set.length; b++) {
      const v = D[set[a] * n + set[b]]
      if (v > best) { best = v; pa = a; pb = b }
    }
  }
  return [pa, pb]
}

interface Candidate { set: number[], value: number }

/** An MDA candidate: its squared diameter, then (to break the frequent ties) its sum of squared pairwise distances. */
interface MdaCandidate extends Candidate { spread: number }

/** Sum of the squared pairwise distances within set. */
function spreadOf (D: Float64Array, n: number, set: ArrayLike<number>): number {
  let s = 0
  for (let a = 0; a < set.length; a++) for (let b = a + 1; b < set.length; b++) s += D[set[a] * n + set[b]]
  return s
}

function mdaCandidate (D: Float64Array, n: number, set: number[]): MdaCandidate {
  return { set, value: diameterOf(D, n, set, set.length), spread: spreadOf(D, n, set) }
}

/** Lexicographic order on (diameter, spread). */
function mdaBetter (a: { value: number, spread: number }, b: { value: number, spread: number }): boolean {
  return a.value < b.value || (a.value === b.value && a.spread < b.spread)
}

/**
 * Polynomial-time MDA: the best of (a) greedy peeling, which repeatedly drops whichever end of the
 * current diameter leaves the smaller diameter (dropping any other point cannot shrink it), and
 * (b) the n balls "the k nearest inputs to x_c" (the ball around a point of the optimal subset
 * lies within twice the optimal diameter, so this alone is a 2-approximation in distance), then a
 * swap local search that replaces an end of the diameter by an outside input while that helps.
 */
function mdaApprox (D: Float64Array, n: number, k: number, order: Uint32Array): MdaCandidate {
  const rank = new Uint32Array(n)
  order.forEach((i, r) => { rank[i] = r })
  const peel = allIndices(n)
  while (peel.length > k) {
    const [pa, pb] = diameterPair(D, n, peel)
    const da = diameterOf(D, n, peel, peel.length, pa)
    const db = diameterOf(D, n, peel, peel.length, pb)
    // Ties drop the less central end, so the outcome does not depend on the input order.
    const drop = da < db ? pa : db < da ? pb : rank[peel[pa]] > rank[peel[pb]] ? pa : pb
    peel.splice(drop, 1)
  }
  let best = mdaCandidate(D, n, peel)
  for (const c of order) {
    const ball = mdaCandidate(D, n, Array.from(nearestTo(D, n, c, k)))
    if (mdaBetter(ball, best)) best = ball
  }
  const cur = best.set.slice()
  let value = best.value
  const inSet = new Uint8Array(n)
  for (const i of cur) inSet[i] = 1
  for (let step = 0; step < n * k && value > 0; step++) {
    let improved = false
    for (const x of diameterPair(D, n, cur)) {
      const without = diameterOf(D, n, cur, k, x)
      for (const o of order) {
        if (inSet[o] === 1) continue
        let cand = without
        for (let a = 0; a < k && cand < value; a++) if (a !== x && D[o * n + cur[a]] > cand) cand = D[o * n + cur[a]]
        if (cand < value) {
          inSet[cur[x]] = 0; inSet[o] = 1
          cur[x] = o
          value = cand
          improved = true
          break
        }
      }
      if (improved) break
    }
    if (!improved) break
  }
  return mdaCandidate(D, n, cur)
}

/**
 * Exact MDA by branch and bound: subsets grow along `order`; each level keeps only the candidates
 * whose distance to every chosen input is at most the best diameter found so far (any superset's
 * diameter is at least that distance), starting from the approximate answer. Diameter ties, which
 * are common (many subsets share the pair that sets the diameter), go to the smaller sum of
 * squared pairwise distances; both keys only grow when a point joins, so the bounds stay valid.
 */
function mdaExact (D: Float64Array, n: number, k: number, order: Uint32Array, start: MdaCandidate): MdaCandidate {
  let best = { value: start.value, spread: start.spread }
  let bestSet = start.set
  const chosen = new Uint32Array(k)
  const cand = Array.from({ length: k + 1 }, () => new Uint32Array(n))
  const reach = Array.from({ length: k + 1 }, () => new Float64Array(n)) // max D to the chosen
  const sums = Array.from({ length: k + 1 }, () => new Float64Array(n)) // Σ D to the chosen
  const len = new Uint32Array(k + 1)
  cand[0].set(order)
  len[0] = n
  const visit = (depth: number, diam: number, spread: number): void => {
    const C = cand[depth]; const R = reach[depth]; const S = sums[depth]; const L = len[depth]
    const need = k - depth
    for (let idx = 0; idx + need <= L; idx++) {
      const node = { value: Math.max(diam, R[idx]), spread: spread + S[idx] }
      if (!mdaBetter(node, best)) continue
      const j = C[idx]
      chosen[depth] = j
      if (need === 1) {
        best = node
        bestSet = Array.from(chosen)
        continue
      }
      const NC = cand[depth + 1]; const NR = reach[depth + 1]; const NS = sums[depth + 1]
      let m = 0
      for (let t = idx + 1; t < L; t++) {
        const c = C[t]
        const r = Math.max(R[t], D[j * n + c])
        if (r <= best.value) { NC[m] = c; NR[m] = r; NS[m] = S[t] + D[j * n + c]; m++ }
      }
      if (m >= need - 1) {
        len[depth + 1] = m
        visit(depth + 1, node.value, node.spread)
      }
    }
  }
  if (best.spread > 0) visit(0, 0, 0)
  return { set: bestSet, value: best.value, spread: best.spread }
}

/**
 * The MDA subset: n − f inputs of smallest diameter (max pairwise squared distance), from the n×n
 * squared-distance matrix D; among subsets of equal diameter, the one with the smallest sum of
 * squared pairwise distances. Exact (branch and bound) when C(n, f) ≤ exactLimit, otherwise the
 * polynomial-time approximation described at `mdaApprox` (at most twice the optimal diameter).
 */
export function mdaSelect (D: Float64Array, n: number, f: number, exactLimit = DEFAULT_EXACT_LIMIT): SubsetSelection {
  checkSelection('mda', D, n, f, exactLimit)
  const k = n - f
  if (f === 0) return { subset: Uint32Array.from(allIndices(n)), exact: true, score: diameterOf(D, n, allIndices(n), n) }
  const order = centralOrder(D, n, k)
  const approx = mdaApprox(D, n, k, order)
  const exact = binomial(n, f) <= exactLimit
  const result = exact ? mdaExact(D, n, k, order, approx) : approx
  return { subset: sortedSubset(result.set), exact, score: result.value }
}

// ---------------------------------------------------------------------------------------------
// SMEA: smallest maximum eigenvalue

/**
 * w = B u for the centred Gram B of set[0..m) and a centred coefficient vector u (Σu = 0):
 * B u = −½ J D_S u. Returns uᵀ B u.
 */
function gramTimes (D: Float64Array, n: number, set: ArrayLike<number>, m: number, u: Float64Array, w: Float64Array): number {
  let mean = 0
  for (let a = 0; a < m; a++) {
    const row = set[a] * n
    let s = 0
    for (let b = 0; b < m; b++) s += D[row + set[b]] * u[b]
    w[a] = s
    mean += s
  }
  mean /= m
  let quad = 0
  for (let a = 0; a < m; a++) { w[a] = -0.5 * (w[a] - mean); quad += u[a] * w[a] }
  return quad
}

/**
 * A lower bound on the top eigenvalue of the centred Gram of set[0..m) from a centred coefficient
 * vector u: for the d-space direction y = Σ uᵢ (xᵢ − x̄), yᵀ S y / yᵀ y = ‖Bu‖² / uᵀBu (S the
 * scatter matrix). `steps` power steps improve u in place; the best bound is returned.
 */
function rayleighBound (
  D: Float64Array, n: number, set: ArrayLike<number>, m: number, u: Float64Array, w: Float64Array, steps: number, stopAt: number
): number {
  let bound = 0
  for (let s = 0; s < steps; s++) {
    const quad = gramTimes(D, n, set, m, u, w)
    let norm2 = 0
    for (let a = 0; a < m; a++) norm2 += w[a] * w[a]
    if (!(quad > 0) || !(norm2 > 0)) break
    bound = Math.max(bound, norm2 / quad)
    const norm = Math.sqrt(norm2)
    for (let a = 0; a < m; a++) u[a] = w[a] / norm
    if (bound >= stopAt) break
  }
  return bound
}

/** Unnormalised top scatter eigenvalue of set[0..m) (Lanczos to a residual of 1e-12 of the largest entry). */
function exactTop (D: Float64Array, n: number, set: ArrayLike<number>, m: number): number {
  return Math.max(0, topEigen(centredGram(D, n, set, m), m).value)
}

/**
 * Polynomial-time SMEA: the best of (a) greedy peeling, which repeatedly drops the input with the
 * largest projection on the top eigenvector of the current covariance (|uᵢ| for the top
 * eigenvector u of the centred Gram), and (b) the n balls "the k nearest inputs to x_c", then a
 * swap local search (one input out, one in) while a swap lowers the top eigenvalue. Swaps are
 * screened by a Rayleigh lower bound before any eigen-solve.
 */
function smeaApprox (D: Float64Array, n: number, k: number, order: Uint32Array): Candidate {
  const rank = new Uint32Array(n)
  order.forEach((i, r) => { rank[i] = r })
  const peel = allIndices(n)
  let warm: Float64Array | undefined
  while (peel.length > k) {
    const m = peel.length
    const top = topEigen(centredGram(D, n, peel, m), m, { start: warm })
    let drop = 0
    for (let a = 1; a < m; a++) {
      const da = Math.abs(top.vector[a]); const dd = Math.abs(top.vector[drop])
      if (da > dd || (da === dd && rank[peel[a]] > rank[peel[drop]])) drop = a
    }
    peel.splice(drop, 1)
    warm = Float64Array.from(top.vector.filter((_, a) => a !== drop))
  }
  const valueOf = (set: number[], start?: Float64Array): { value: number, vector: Float64Array } => {
    const top = topEigen(centredGram(D, n, set, k), k, { start })
    return { value: Math.max(0, top.value), vector: top.vector }
  }
  let best = { set: peel, ...valueOf(peel, warm) }
  for (const c of order) {
    const ball = Array.from(nearestTo(D, n, c, k))
    const gram = centredGram(D, n, ball, k)
    // Most balls lose: a few Lanczos steps prove it before any full solve.
    if (eigenLowerBound(gram, k, 1, { stopAbove: best.value }) >= best.value) continue
    const top = topEigen(gram, k)
    if (top.value < best.value) best = { set: ball, value: Math.max(0, top.value), vector: top.vector }
  }
  const cur = best.set.slice()
  let value = best.value
  let vector = best.vector
  const inSet = new Uint8Array(n)
  for (const i of cur) inSet[i] = 1
  const u = new Float64Array(k)
  const w = new Float64Array(k)
  const threshold = (): number => value * (1 - 1e-12)
  for (let pass = 0; pass < 2 * n && value > 0; pass++) {
    let improved = false
    const outs = orderByKey(Float64Array.from(vector, (x) => -Math.abs(x)), allIndices(k))
    for (const x of outs) {
      const old = cur[x]
      for (const o of order) {
        if (inSet[o] === 1) continue
        cur[x] = o
        // Screen: the current top direction without x is a Rayleigh witness for the new set.
        let mean = 0
        for (let a = 0; a < k; a++) { u[a] = a === x ? 0 : vector[a]; mean += u[a] }
        for (let a = 0; a < k; a++) u[a] -= mean / k
        if (rayleighBound(D, n, cur, k, u, w, 1, threshold()) < threshold() &&
            eigenLowerBound(centredGram(D, n, cur, k), k, 1, { start: u, stopAbove: threshold() }) < threshold()) {
          const v = valueOf(cur, u)
          if (v.value < threshold()) {
            inSet[old] = 0; inSet[o] = 1
            value = v.value
            vector = v.vector
            improved = true
            break
          }
        }
        cur[x] = old
      }
      if (improved) break
    }
    if (!improved) break
  }
  return { set: cur, value }
}

/**
 * Exact SMEA by branch and bound over subsets grown along `order` (suits larger f). The scatter
 * matrix of a set only grows when points join, so every lower bound on a partial set bounds all
 * its completions: (i) λ ≥ ½‖x_a − x_b‖² for any two members, (ii) adding x_j to P (|P| = p) adds
 * the rank-one term p/(p+1)·(x_j − x̄_P)(x_j − x̄_P)ᵀ, and (iii) the Rayleigh quotient of any
 * direction, here the parent's top direction refined by two power steps. Leaves are screened by
 * Lanczos lower bounds; only a leaf that may beat the best gets a full eigen-solve.
 */
function smeaExactByGrowing (D: Float64Array, n: number, k: number, order: Uint32Array, start: Candidate): Candidate {
  let bestSet = start.set
  let best = exactTop(D, n, start.set, k)
  const chosen = new Uint32Array(k)
  const cand = Array.from({ length: k + 1 }, () => new Uint32Array(n))
  const reach = Array.from({ length: k + 1 }, () => new Float64Array(n)) // max D to the chosen
  const sums = Array.from({ length: k + 1 }, () => new Float64Array(n)) // Σ D to the chosen
  const vecs = Array.from({ length: k + 1 }, () => new Float64Array(k)) // top direction of chosen[0..p)
  const len = new Uint32Array(k + 1)
  const pairSum = new Float64Array(k + 1) // Σ_{a,b chosen} D_ab over ordered pairs
  const w = new Float64Array(k)
  cand[0].set(order)
  len[0] = n
  const visit = (p: number, lbParent: number): void => {
    const C = cand[p]; const R = reach[p]; const S = sums[p]; const L = len[p]
    const need = k - p
    const parentVec = vecs[p]; const childVec = vecs[p + 1]
    for (let idx = 0; idx + need <= L; idx++) {
      if (R[idx] >= 2 * best) continue
      let lb = lbParent
      if (p > 0) lb = Math.max(lb, (p / (p + 1)) * (S[idx] / p - pairSum[p] / (2 * p * p)))
      if (lb >= best) continue
      const j = C[idx]
      chosen[p] = j
      const m = p + 1
      if (m >= 3) {
        // Parent's direction (coefficient 0 on the newcomer) plus some of the newcomer's own
        // direction x_j − x̄_P, which is what the new rank-one term adds.
        const mix = 0.3 / Math.sqrt(1 + 1 / p)
        for (let a = 0; a < p; a++) childVec[a] = parentVec[a] - mix / p
        childVec[p] = mix
        lb = Math.max(lb, rayleighBound(D, n, chosen, m, childVec, w, 2, best))
        if (lb >= best) continue
      } else if (m === 2) {
        childVec[0] = -Math.SQRT1_2; childVec[1] = Math.SQRT1_2
      }
      if (need === 1) {
        const gram = centredGram(D, n, chosen, k)
        if (eigenLowerBound(gram, k, 1, { start: childVec, stopAbove: best }) >= best) continue
        const value = exactTop(D, n, chosen, k)
        if (value < best) { best = value; bestSet = Array.from(chosen) }
        continue
      }
      const NC = cand[p + 1]; const NR = reach[p + 1]; const NS = sums[p + 1]
      const pairs = pairSum[p] + 2 * S[idx]
      let count = 0
      for (let t = idx + 1; t < L; t++) {
        const c = C[t]
        const dj = D[j * n + c]
        const r = Math.max(R[t], dj)
        if (r >= 2 * best) continue
        const s = S[t] + dj
        if ((m / (m + 1)) * (s / m - pairs / (2 * m * m)) >= best) continue
        NC[count] = c; NR[count] = r; NS[count] = s; count++
      }
      if (count >= need - 1) {
        len[p + 1] = count
        pairSum[p + 1] = pairs
        visit(p + 1, lb)
      }
    }
  }
  if (best > 0) visit(0, 0)
  return { set: bestSet, value: best }
}

function maxAbsOf (A: Float64Array): number {
  let s = 0
  for (let i = 0; i < A.length; i++) s = Math.max(s, Math.abs(A[i]))
  return s
}

/**
 * Exact SMEA by branch and bound over the removed set, least central inputs removed first (suits
 * small f: far fewer nodes than growing n − f members). With r removals still to come from the
 * remaining set T, every completion S satisfies λ₁(S) ≥ λ_{r+1}(T): T's scatter is S's plus r
 * positive semi-definite rank-one terms (Weyl's inequality). Lanczos Ritz values bound λ_{r+1}(T)
 * from below; a margin for rounding (which grows with T's largest entry, huge while a far outlier
 * is still in T) keeps the pruning safe.
 */
function smeaExactByRemoving (D: Float64Array, n: number, k: number, order: Uint32Array, start: Candidate): Candidate {
  const f = n - k
  let bestSet = start.set
  let best = exactTop(D, n, start.set, k)
  const removalOrder = Uint32Array.from(order).reverse()
  const removed = new Uint8Array(n)
  const visit = (depth: number, from: number): void => {
    const r = f - depth - 1 // removals still to come after this one
    for (let pos = from; pos + r < n; pos++) {
      const x = removalOrder[pos]
      removed[x] = 1
      const T: number[] = []
      for (const i of order) if (removed[i] === 0) T.push(i)
      const m = T.length
      const gram = centredGram(D, n, T, m)
      if (r === 0) {
        if (eigenLowerBound(gram, m, 1, { stopAbove: best }) < best) {
          const value = Math.max(0, topEigen(gram, m).value)
          if (value < best) { best = value; bestSet = T }
        }
      } else {
        const margin = 1e-12 * m * maxAbsOf(gram)
        const lb = eigenLowerBound(gram, m, r + 1, { stopAbove: best + margin, maxSteps: 2 * (r + 1) + 12 })
        if (lb - margin < best) visit(depth + 1, pos + 1)
      }
      removed[x] = 0
    }
  }
  if (best > 0) visit(0, 0)
  return { set: bestSet, value: best }
}

/**
 * Picks the search with fewer expected node visits times node cost: growing members visits up to
 * C(n + 1, f + 1) partial sets at O(k²) each, removing visits Σ_{j<f} C(n, j) inner nodes with a
 * short Lanczos run (O(f·n²)) each; both visit the C(n, f) leaves.
 */
function smeaExact (D: Float64Array, n: number, k: number, order: Uint32Array, start: Candidate): Candidate {
  const f = n - k
  let inner = 0
  for (let j = 0; j < f; j++) inner += binomial(n, j)
  const removing = inner * (2 * f + 14) * n * n
  const growing = binomial(n + 1, f + 1) * 2 * k * k
  return removing < growing ? smeaExactByRemoving(D, n, k, order, start) : smeaExactByGrowing(D, n, k, order, start)
}

/**
 * The SMEA subset: n − f inputs whose empirical covariance (1/(n − f)) Σ (xᵢ − x̄_S)(xᵢ − x̄_S)ᵀ has
 * the smallest top eigenvalue, from the n×n squared-distance matrix D (the top eigenvalue of a
 * subset's covariance is that of its centred Gram −½ J D_S J, divided by n − f). Exact (branch and
 * bound) when C(n, f) ≤ exactLimit, otherwise the approximation described at `smeaApprox`.
 */
export function smeaSelect (D: Float64Array, n: number, f: number, exactLimit = DEFAULT_EXACT_LIMIT): SubsetSelection {
  checkSelection('smea', D, n, f, exactLimit)
  const k = n - f
  if (f === 0) return { subset: Uint32Array.from(allIndices(n)), exact: true, score: Math.max(0, topEigen(centredGram(D, n, allIndices(n), n), n).value) / n }
  const order = centralOrder(D, n, k)
  const approx = smeaApprox(D, n, k, order)
  const exact = binomial(n, f) <= exactLimit
  const result = exact ? smeaExact(D, n, k, order, approx) : approx
  return { subset: sortedSubset(result.set), exact, score: result.value / k }
}

// ---------------------------------------------------------------------------------------------
// The rules

function uniformOn (subset: Uint32Array, n: number): Float64Array {
  const q = new Float64Array(n)
  for (const i of subset) q[i] = 1 / subset.length
  return q
}

function subsetRule (
  name: string,
  params: SubsetParams,
  select: (D: Float64Array, n: number, f: number, exactLimit: number) => SubsetSelection
): SubsetAggregator {
  const exactLimit = params.exactLimit ?? DEFAULT_EXACT_LIMIT
  checkInteger(name, 'exactLimit', exactLimit, 0)
  let last: SubsetSelection | undefined
  const weightsOf = (inputs: Vectors, options: AggregateOptions): Float64Array => {
    const n = inputs.length
    last = select(kernels().sqDistances(inputs), n, options.f, exactLimit)
    return uniformOn(last.subset, n)
  }
  const base = weightedMeanRule(name, honestMajority, weightsOf)
  return {
    name,
    minInputs: base.minInputs,
    weights: base.weights,
    aggregate: base.aggregate,
    exactFor: (n: number, f: number) => f === 0 || binomial(n, f) <= exactLimit,
    get lastSelection () { return last }
  }
}

/**
 * MDA (minimum diameter averaging): the mean of the n − f inputs of smallest diameter. Exact when
 * C(n, f) ≤ exactLimit, otherwise a local-search approximation within twice the optimal diameter;
 * `lastSelection.exact` tells which. Needs n > 2f.
 */
export function mda (params: SubsetParams = {}): SubsetAggregator {
  return subsetRule('mda', params, mdaSelect)
}

/**
 * SMEA (smallest maximum eigenvalue averaging, seed 001): the mean of the n − f inputs whose
 * covariance has the smallest top eigenvalue. Exact when C(n, f) ≤ exactLimit, otherwise a
 * local-search approximation; `lastSelection.exact` tells which. Needs n > 2f.
 */
export function smea (params: SubsetParams = {}): SubsetAggregator {
  return subsetRule('smea', params, smeaSelect)
}
