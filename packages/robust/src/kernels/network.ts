// Comparator networks for the coordinate-wise WebAssembly kernels: a fixed sequence of
// compare-exchange steps sorts every coordinate of a chunk with SIMD lanes and no branches.

/**
 * Batcher's odd–even merge sort for n wires, as a flat list of wire pairs [lo0, hi0, lo1, hi1, …]
 * (each comparator puts the smaller value on the lower wire). Built for the next power of two and
 * cut to n: padding wires would hold +∞, which no comparator ever moves (a value only moves up to
 * a higher wire, and every wire above n already holds +∞), so comparators touching them are no-ops.
 */
export function sortingNetwork (n: number): Int32Array {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`sortingNetwork: n must be a positive integer, got ${n}`)
  let size = 1
  while (size < n) size *= 2
  const pairs: number[] = []
  for (let p = 1; p < size; p *= 2) {
    for (let k = p; k >= 1; k = k / 2) {
      for (let j = k % p; j + k < size; j += 2 * k) {
        for (let i = 0; i < Math.min(k, size - j - k); i++) {
          const a = i + j
          const b = i + j + k
          if (Math.floor(a / (2 * p)) === Math.floor(b / (2 * p)) && b < n) pairs.push(a, b)
        }
      }
    }
  }
  return Int32Array.from(pairs)
}

/**
 * Drops the comparators that cannot change a result which treats some output wires alike.
 * `outputClass[w]` labels output wire w; the result must not change when values are permuted
 * among wires of one label (label 0 for ignored wires, a shared label for wires that are summed).
 * Walking backwards, a comparator between two wires of one label is dropped; a kept one gives its
 * two wires fresh labels, since what follows it now tells them apart.
 */
export function pruneNetwork (pairs: Int32Array, outputClass: ArrayLike<number>): Int32Array {
  const label = Int32Array.from(outputClass)
  let fresh = 1
  for (let w = 0; w < label.length; w++) fresh = Math.max(fresh, label[w] + 1)
  const keep = new Uint8Array(pairs.length / 2)
  let kept = 0
  for (let c = pairs.length / 2 - 1; c >= 0; c--) {
    const a = pairs[2 * c]
    const b = pairs[2 * c + 1]
    if (label[a] === label[b]) continue
    keep[c] = 1
    kept++
    label[a] = fresh++
    label[b] = fresh++
  }
  const out = new Int32Array(2 * kept)
  let o = 0
  for (let c = 0; c < keep.length; c++) {
    if (keep[c] === 1) { out[o++] = pairs[2 * c]; out[o++] = pairs[2 * c + 1] }
  }
  return out
}

/** Applies a network to one column in place (tests and the JavaScript side use it). */
export function applyNetwork (pairs: Int32Array, values: { [i: number]: number }): void {
  for (let c = 0; c < pairs.length; c += 2) {
    const a = pairs[c]
    const b = pairs[c + 1]
    const x = values[a]
    const y = values[b]
    if (y < x) { values[a] = y; values[b] = x }
  }
}
