// WebAssembly SIMD kernels for packages/robust (AssemblyScript, compiled by scripts/build-wasm.ts).
//
// The JavaScript glue (src/kernels/wasm.ts) copies a chunk of the inputs into linear memory as
// n rows of `groups` lanes of four f32 each (row r starts at base + r·stride bytes) and calls one
// of the exported functions per chunk. All pointers are byte offsets into linear memory.
//
// Coordinate-wise rules sort every column of a chunk in place with a comparator network (a list
// of row byte-offset pairs computed in JavaScript), four coordinates per f32x4 lane group. The
// network runs one comparator at a time across a tile of lane groups small enough for L1, so each
// comparator is a tight loop of two loads, pmin, pmax and two stores.

/** Start of memory the glue may use: everything below belongs to the module's static data. */
export function heapBase (): usize {
  return (__heap_base + 63) & ~(<usize>63)
}

// ---------------------------------------------------------------------------------------------
// f32x4 <-> f64x2 helpers

@inline function lowF64 (v: v128): v128 {
  return f64x2.promote_low_f32x4(v)
}

@inline function highF64 (v: v128): v128 {
  return f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3))
}

/** Rounds two f64x2 halves back to one f32x4. */
@inline function packF32 (lo: v128, hi: v128): v128 {
  return v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5)
}

/** Two i64x2 all-ones/all-zeros masks as one i32x4 mask (lanes in coordinate order). */
@inline function packMask (lo: v128, hi: v128): v128 {
  return v128.shuffle<i32>(lo, hi, 0, 2, 4, 6)
}

// ---------------------------------------------------------------------------------------------
// Column sorting

/**
 * Applies the comparator network to `groups` lane groups starting at `tile`: after it, row k of
 * each column holds what the network puts on wire k. `net` holds netLen pairs of u32 row byte
 * offsets (lower wire first). pmin/pmax keep every comparator a permutation of its two values
 * (ties keep their order), and compile to one instruction each; ±0 compare equal.
 */
@inline function sortTile (tile: usize, groups: i32, net: usize, netLen: i32): void {
  const bytes = <usize>groups << 4
  const pairBytes = bytes & ~(<usize>31)
  for (let c = 0; c < netLen; c++) {
    const e = net + (<usize>c << 3)
    let pa = tile + <usize>load<u32>(e)
    let pb = tile + <usize>load<u32>(e, 4)
    const endPairs = pa + pairBytes
    while (pa < endPairs) {
      const a0 = v128.load(pa)
      const b0 = v128.load(pb)
      const a1 = v128.load(pa, 16)
      const b1 = v128.load(pb, 16)
      v128.store(pa, f32x4.pmin(a0, b0))
      v128.store(pb, f32x4.pmax(b0, a0))
      v128.store(pa, f32x4.pmin(a1, b1), 16)
      v128.store(pb, f32x4.pmax(b1, a1), 16)
      pa += 32
      pb += 32
    }
    if (pairBytes !== bytes) {
      const a = v128.load(pa)
      const b = v128.load(pb)
      v128.store(pa, f32x4.pmin(a, b))
      v128.store(pb, f32x4.pmax(b, a))
    }
  }
}

/**
 * Per coordinate: sort, drop `trim` rows at each end, write the f64 mean of the rest to `out`
 * (groups·4 f32). The middle is summed in ascending order in f64, as the TypeScript reference does.
 */
export function trimmedMean (base: usize, stride: usize, groups: i32, n: i32, net: usize, netLen: i32,
  tileGroups: i32, trim: i32, out: usize): void {
  const inv = f64x2.splat(1.0 / <f64>(n - 2 * trim))
  for (let g0 = 0; g0 < groups; g0 += tileGroups) {
    const count = min(tileGroups, groups - g0)
    const tile = base + (<usize>g0 << 4)
    sortTile(tile, count, net, netLen)
    for (let g = 0; g < count; g++) {
      const p = tile + (<usize>g << 4)
      let lo = f64x2.splat(0)
      let hi = f64x2.splat(0)
      for (let r = trim; r < n - trim; r++) {
        const v = v128.load(p + <usize>r * stride)
        lo = f64x2.add(lo, lowF64(v))
        hi = f64x2.add(hi, highF64(v))
      }
      v128.store(out + (<usize>(g0 + g) << 4), packF32(f64x2.mul(lo, inv), f64x2.mul(hi, inv)))
    }
  }
}

/** Per coordinate median (mean of the two middle values for even n, computed in f64). */
export function median (base: usize, stride: usize, groups: i32, n: i32, net: usize, netLen: i32,
  tileGroups: i32, out: usize): void {
  const h = n >> 1
  const half = f64x2.splat(0.5)
  for (let g0 = 0; g0 < groups; g0 += tileGroups) {
    const count = min(tileGroups, groups - g0)
    const tile = base + (<usize>g0 << 4)
    sortTile(tile, count, net, netLen)
    for (let g = 0; g < count; g++) {
      const p = tile + (<usize>g << 4)
      const o = out + (<usize>(g0 + g) << 4)
      const b = v128.load(p + <usize>h * stride)
      if ((n & 1) === 1) {
        v128.store(o, b)
      } else {
        const a = v128.load(p + <usize>(h - 1) * stride)
        const lo = f64x2.mul(f64x2.add(lowF64(a), lowF64(b)), half)
        const hi = f64x2.mul(f64x2.add(highF64(a), highF64(b)), half)
        v128.store(o, packF32(lo, hi))
      }
    }
  }
}

/**
 * Per coordinate: the mean of the `keep` values closest to the median. In a sorted column they
 * form a window [lo, lo + keep) around the middle. Taking values nearest-first (ties to the lower
 * value) is a merge of the left distances med − x[h−1], med − x[h−2], … with the right distances
 * x[h] − med, x[h+1] − med, …; exactly one split a (values taken on the left) is consistent with
 * that merge, and every lane tests the same candidate splits, so the search is branch-free SIMD.
 */
export function meamed (base: usize, stride: usize, groups: i32, n: i32, net: usize, netLen: i32,
  tileGroups: i32, keep: i32, out: usize): void {
  const h = n >> 1
  const aMin = max(0, keep - (n - h))
  const aMax = min(keep, h)
  const half = f64x2.splat(0.5)
  const inv = f64x2.splat(1.0 / <f64>keep)
  const ones = i32x4.splat(-1)
  const keepV = i32x4.splat(keep)
  for (let g0 = 0; g0 < groups; g0 += tileGroups) {
    const count = min(tileGroups, groups - g0)
    const tile = base + (<usize>g0 << 4)
    sortTile(tile, count, net, netLen)
    for (let g = 0; g < count; g++) {
      const p = tile + (<usize>g << 4)
      const mid = v128.load(p + <usize>h * stride)
      let mLo = lowF64(mid)
      let mHi = highF64(mid)
      if ((n & 1) === 0) {
        const a = v128.load(p + <usize>(h - 1) * stride)
        mLo = f64x2.mul(f64x2.add(lowF64(a), mLo), half)
        mHi = f64x2.mul(f64x2.add(highF64(a), mHi), half)
      }
      let start = i32x4.splat(h - aMin)
      for (let a = aMin; a <= aMax; a++) {
        const lo = h - a
        const hi = lo + keep
        let ok = ones
        if (a > 0 && hi < n) {
          // the last value taken on the left is no farther than the first one left out on the right
          const x = v128.load(p + <usize>lo * stride)
          const y = v128.load(p + <usize>hi * stride)
          const condLo = f64x2.le(f64x2.sub(mLo, lowF64(x)), f64x2.sub(lowF64(y), mLo))
          const condHi = f64x2.le(f64x2.sub(mHi, highF64(x)), f64x2.sub(highF64(y), mHi))
          ok = v128.and(ok, packMask(condLo, condHi))
        }
        if (a < keep && lo > 0) {
          // the last value taken on the right is strictly nearer than the first one left out on the left
          const y = v128.load(p + <usize>(hi - 1) * stride)
          const x = v128.load(p + <usize>(lo - 1) * stride)
          const condLo = f64x2.lt(f64x2.sub(lowF64(y), mLo), f64x2.sub(mLo, lowF64(x)))
          const condHi = f64x2.lt(f64x2.sub(highF64(y), mHi), f64x2.sub(mHi, highF64(x)))
          ok = v128.and(ok, packMask(condLo, condHi))
        }
        start = v128.bitselect(i32x4.splat(lo), start, ok)
      }
      const stop = i32x4.add(start, keepV)
      let sLo = f64x2.splat(0)
      let sHi = f64x2.splat(0)
      for (let r = h - aMax; r < h - aMin + keep; r++) {
        const rv = i32x4.splat(r)
        const inside = v128.and(i32x4.ge_s(rv, start), i32x4.lt_s(rv, stop))
        const v = v128.and(v128.load(p + <usize>r * stride), inside)
        sLo = f64x2.add(sLo, lowF64(v))
        sHi = f64x2.add(sHi, highF64(v))
      }
      v128.store(out + (<usize>(g0 + g) << 4), packF32(f64x2.mul(sLo, inv), f64x2.mul(sHi, inv)))
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Linear combinations and distances

/** Horizontal sum of an f32x4 in f64. */
@inline function sumF64 (acc: v128): f64 {
  const s = f64x2.add(lowF64(acc), highF64(acc))
  return f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1)
}

/**
 * Whether an f32 partial sum of squares can be trusted to f32 precision: finite (no term
 * overflowed f32) and large enough that terms which underflowed f32 are negligible next to it.
 * Otherwise the tile is summed again in f64.
 */
@inline function trusted (partial: f64): bool {
  return partial >= 1e-30 && partial <= 1e38
}

/** Σ (a − b)² over `bytes` bytes of two rows, in f64 (the fallback for untrusted f32 partials). */
function sqDistanceF64 (pa: usize, pb: usize, bytes: usize): f64 {
  let lo = f64x2.splat(0)
  let hi = f64x2.splat(0)
  for (let off: usize = 0; off < bytes; off += 16) {
    const x = v128.load(pa + off)
    const y = v128.load(pb + off)
    const dLo = f64x2.sub(lowF64(x), lowF64(y))
    const dHi = f64x2.sub(highF64(x), highF64(y))
    lo = f64x2.add(lo, f64x2.mul(dLo, dLo))
    hi = f64x2.add(hi, f64x2.mul(dHi, dHi))
  }
  const s = f64x2.add(lo, hi)
  return f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1)
}

/** Adds the f32 partial of rows pa, pb over a tile into the f64 slot at dst, in f64 when needed. */
@inline function addPartial (dst: usize, acc: v128, pa: usize, pb: usize, bytes: usize): void {
  let s = sumF64(acc)
  if (!trusted(s)) s = sqDistanceF64(pa, pb, bytes)
  store<f64>(dst, load<f64>(dst) + s)
}

/**
 * outs[r] = Σ_i coeffs[r·n + i] · row_i for r < outputs; output r is written at out + r·outStride.
 * `coeffs32` and `coeffs64` hold the same outputs·n coefficients in f32 and f64; exact[r] (i32)
 * chooses the arithmetic of output r:
 * - exact: f64 products summed in input order, bit for bit what the TypeScript reference gives.
 *   The glue asks for it when a coefficient is negative, where cancellation would magnify
 *   f32 rounding (e.g. testing a Weiszfeld vertex).
 * - fast: f32 products summed in f32 over runs of eight inputs and the runs in f64, within about
 *   ten f32 ulps of Σ_i |coeff_i · x_i|. An f32 run that overflowed leaves a non-finite f64 sum
 *   (sums of f32 values cannot overflow f64), and the tile is then redone exactly.
 * Four lane groups per pass keep eight accumulator chains busy.
 */
export function combine (base: usize, stride: usize, groups: i32, n: i32, coeffs32: usize, coeffs64: usize,
  exact: usize, outputs: i32, out: usize, outStride: usize, tileGroups: i32): void {
  // Tiles small enough for L1 serve every output before the next tile is read from L2.
  for (let g0 = 0; g0 < groups; g0 += tileGroups) {
    const count = min(tileGroups, groups - g0)
    const tile = base + (<usize>g0 << 4)
    for (let r = 0; r < outputs; r++) {
      const o = out + <usize>r * outStride + (<usize>g0 << 4)
      let g = 0
      if (load<i32>(exact + (<usize>r << 2)) === 0) {
        g = combineFast(tile, stride, count & ~3, n, coeffs32 + (<usize>(r * n) << 2), o)
      }
      const c64 = coeffs64 + (<usize>(r * n) << 3)
      for (; g < count; g++) combineGroupF64(tile + (<usize>g << 4), stride, n, c64, o + (<usize>g << 4))
    }
  }
}

/**
 * The fast path of `combine` over `quads` lane groups (a multiple of 4) of one output. Returns
 * how many groups it settled: all of them, or 0 when an f32 run overflowed and the caller must
 * redo the tile exactly.
 */
@inline function combineFast (tile: usize, stride: usize, quads: i32, n: i32, c: usize, o: usize): i32 {
  // s − s is 0 for finite s and NaN otherwise; a NaN survives the running sum
  let bad = f64x2.splat(0)
  for (let g = 0; g < quads; g += 4) {
    let p = tile + (<usize>g << 4)
    let s0 = f64x2.splat(0)
    let s1 = f64x2.splat(0)
    let s2 = f64x2.splat(0)
    let s3 = f64x2.splat(0)
    let s4 = f64x2.splat(0)
    let s5 = f64x2.splat(0)
    let s6 = f64x2.splat(0)
    let s7 = f64x2.splat(0)
    for (let i0 = 0; i0 < n; i0 += 8) {
      const i1 = min(n, i0 + 8)
      let a0 = f32x4.splat(0)
      let a1 = f32x4.splat(0)
      let a2 = f32x4.splat(0)
      let a3 = f32x4.splat(0)
      for (let i = i0; i < i1; i++) {
        const w = v128.load32_splat(c + (<usize>i << 2))
        a0 = f32x4.add(a0, f32x4.mul(w, v128.load(p)))
        a1 = f32x4.add(a1, f32x4.mul(w, v128.load(p, 16)))
        a2 = f32x4.add(a2, f32x4.mul(w, v128.load(p, 32)))
        a3 = f32x4.add(a3, f32x4.mul(w, v128.load(p, 48)))
        p += stride
      }
      s0 = f64x2.add(s0, lowF64(a0))
      s1 = f64x2.add(s1, highF64(a0))
      s2 = f64x2.add(s2, lowF64(a1))
      s3 = f64x2.add(s3, highF64(a1))
      s4 = f64x2.add(s4, lowF64(a2))
      s5 = f64x2.add(s5, highF64(a2))
      s6 = f64x2.add(s6, lowF64(a3))
      s7 = f64x2.add(s7, highF64(a3))
    }
    const all = f64x2.add(f64x2.add(f64x2.add(s0, s1), f64x2.add(s2, s3)), f64x2.add(f64x2.add(s4, s5), f64x2.add(s6, s7)))
    bad = f64x2.add(bad, f64x2.sub(all, all))
    const q = o + (<usize>g << 4)
    v128.store(q, packF32(s0, s1))
    v128.store(q, packF32(s2, s3), 16)
    v128.store(q, packF32(s4, s5), 32)
    v128.store(q, packF32(s6, s7), 48)
  }
  return v128.any_true(f64x2.ne(bad, bad)) ? 0 : quads
}

/** One lane group of exact `combine`: f64 products summed in input order. */
function combineGroupF64 (p: usize, stride: usize, n: i32, c: usize, o: usize): void {
  let lo = f64x2.splat(0)
  let hi = f64x2.splat(0)
  for (let i = 0; i < n; i++) {
    const w = v128.load64_splat(c + (<usize>i << 3))
    const v = v128.load(p)
    lo = f64x2.add(lo, f64x2.mul(w, lowF64(v)))
    hi = f64x2.add(hi, f64x2.mul(w, highF64(v)))
    p += stride
  }
  v128.store(o, packF32(lo, hi))
}

/**
 * Adds the squared distances between all pairs of rows of the chunk into the f64 n×n matrix at
 * `dist` (upper triangle only). Each tile of lane groups is summed in f32x4 and then added into
 * f64. Rows are taken two at a time against four others, so six loads feed eight pairs.
 */
export function sqDistances (base: usize, stride: usize, groups: i32, n: i32, tileGroups: i32, dist: usize): void {
  for (let g0 = 0; g0 < groups; g0 += tileGroups) {
    const count = min(tileGroups, groups - g0)
    const tile = base + (<usize>g0 << 4)
    const bytes = <usize>count << 4
    let i = 0
    for (; i + 1 < n; i += 2) {
      const pi = tile + <usize>i * stride
      const pj = pi + stride
      const rowI = dist + (<usize>(i * n) << 3)
      const rowJ = rowI + (<usize>n << 3)
      pairDistance(rowI + (<usize>(i + 1) << 3), pi, pj, bytes)
      let k = i + 2
      for (; k + 4 <= n; k += 4) {
        const p0 = tile + <usize>k * stride
        const p1 = p0 + stride
        const p2 = p1 + stride
        const p3 = p2 + stride
        let a0 = f32x4.splat(0)
        let a1 = f32x4.splat(0)
        let a2 = f32x4.splat(0)
        let a3 = f32x4.splat(0)
        let b0 = f32x4.splat(0)
        let b1 = f32x4.splat(0)
        let b2 = f32x4.splat(0)
        let b3 = f32x4.splat(0)
        for (let off: usize = 0; off < bytes; off += 16) {
          const x = v128.load(pi + off)
          const y = v128.load(pj + off)
          const z0 = v128.load(p0 + off)
          const z1 = v128.load(p1 + off)
          const z2 = v128.load(p2 + off)
          const z3 = v128.load(p3 + off)
          const d0 = f32x4.sub(x, z0)
          const d1 = f32x4.sub(x, z1)
          const d2 = f32x4.sub(x, z2)
          const d3 = f32x4.sub(x, z3)
          const e0 = f32x4.sub(y, z0)
          const e1 = f32x4.sub(y, z1)
          const e2 = f32x4.sub(y, z2)
          const e3 = f32x4.sub(y, z3)
          a0 = f32x4.add(a0, f32x4.mul(d0, d0))
          a1 = f32x4.add(a1, f32x4.mul(d1, d1))
          a2 = f32x4.add(a2, f32x4.mul(d2, d2))
          a3 = f32x4.add(a3, f32x4.mul(d3, d3))
          b0 = f32x4.add(b0, f32x4.mul(e0, e0))
          b1 = f32x4.add(b1, f32x4.mul(e1, e1))
          b2 = f32x4.add(b2, f32x4.mul(e2, e2))
          b3 = f32x4.add(b3, f32x4.mul(e3, e3))
        }
        const at = <usize>k << 3
        addPartial(rowI + at, a0, pi, p0, bytes)
        addPartial(rowI + at + 8, a1, pi, p1, bytes)
        addPartial(rowI + at + 16, a2, pi, p2, bytes)
        addPartial(rowI + at + 24, a3, pi, p3, bytes)
        addPartial(rowJ + at, b0, pj, p0, bytes)
        addPartial(rowJ + at + 8, b1, pj, p1, bytes)
        addPartial(rowJ + at + 16, b2, pj, p2, bytes)
        addPartial(rowJ + at + 24, b3, pj, p3, bytes)
      }
      for (; k < n; k++) {
        const pk = tile + <usize>k * stride
        pairDistance(rowI + (<usize>k << 3), pi, pk, bytes)
        pairDistance(rowJ + (<usize>k << 3), pj, pk, bytes)
      }
    }
  }
}

/** Adds Σ (a − b)² over one tile of two rows into the f64 slot at dst. */
function pairDistance (dst: usize, pa: usize, pb: usize, bytes: usize): void {
  let a0 = f32x4.splat(0)
  let a1 = f32x4.splat(0)
  let off: usize = 0
  for (; off + 32 <= bytes; off += 32) {
    const d0 = f32x4.sub(v128.load(pa + off), v128.load(pb + off))
    const d1 = f32x4.sub(v128.load(pa + off, 16), v128.load(pb + off, 16))
    a0 = f32x4.add(a0, f32x4.mul(d0, d0))
    a1 = f32x4.add(a1, f32x4.mul(d1, d1))
  }
  if (off < bytes) {
    const d0 = f32x4.sub(v128.load(pa + off), v128.load(pb + off))
    a0 = f32x4.add(a0, f32x4.mul(d0, d0))
  }
  addPartial(dst, f32x4.add(a0, a1), pa, pb, bytes)
}

/**
 * Adds the squared distance from each row to `center` (groups·4 f32) into dist[i] (f64), summing
 * each tile in f32x4 first.
 */
export function sqDistancesTo (base: usize, stride: usize, groups: i32, n: i32, tileGroups: i32,
  center: usize, dist: usize): void {
  for (let g0 = 0; g0 < groups; g0 += tileGroups) {
    const count = min(tileGroups, groups - g0)
    const off0 = <usize>g0 << 4
    const bytes = <usize>count << 4
    for (let i = 0; i < n; i++) {
      pairDistance(dist + (<usize>i << 3), base + <usize>i * stride + off0, center + off0, bytes)
    }
  }
}
