import type { ByzantineModelName } from '../types.ts'

/** Draws Byzantine sets from μ_H. */
export interface ByzantineSampler {
  readonly model: ByzantineModelName
  readonly n: number
  /** True when every draw is the same set (fixed lists, worst-case placements). */
  readonly deterministic: boolean
  /** Draws one set as a mask over nodes (1 = Byzantine), written into `out` when given. */
  sample: (out?: Uint8Array) => Uint8Array
}

/** A mask of length n: `out` when it fits, else a new one. */
export function maskFor (n: number, out?: Uint8Array): Uint8Array {
  if (out === undefined) return new Uint8Array(n)
  if (out.length !== n) throw new RangeError(`mask has length ${out.length}, the graph has ${n} nodes`)
  return out
}

/** Indices of the set bits of a mask. */
export function maskToIndices (mask: Uint8Array): Int32Array {
  let count = 0
  for (let i = 0; i < mask.length; i++) count += mask[i]
  const out = new Int32Array(count)
  let k = 0
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) out[k++] = i
  return out
}

/** Mask of length n with the given indices set. */
export function indicesToMask (n: number, indices: ArrayLike<number>): Uint8Array {
  const mask = new Uint8Array(n)
  for (let k = 0; k < indices.length; k++) mask[indices[k]] = 1
  return mask
}
