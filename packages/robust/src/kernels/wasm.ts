import type { Vectors } from '../types.ts'
import { KERNELS_WASM_BASE64 } from '../wasm/kernels.generated.ts'
import { pruneNetwork, sortingNetwork } from './network.ts'
import type { Kernels } from './types.ts'

// JavaScript side of the WebAssembly SIMD kernels (source: packages/robust/assembly/index.ts).
// Inputs live in JavaScript memory, so every kernel streams them through linear memory in chunks
// of columns: the chunk of all n rows is copied into a scratch area sized for the L2 cache, the
// module works on it while it is hot, and the next chunk reuses the same bytes. Memory only grows
// (to the largest chunk seen), so repeated calls allocate nothing large.

// The slice of the WebAssembly JS API used here (the project's TypeScript libs do not declare it).
interface WasmMemory {
  readonly buffer: ArrayBuffer
  grow: (pages: number) => number
}
declare const WebAssembly: {
  validate: (bytes: Uint8Array) => boolean
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object, imports: object) => { exports: object }
}

interface KernelExports {
  memory: WasmMemory
  heapBase: () => number
  trimmedMean: (base: number, stride: number, groups: number, n: number, net: number, netLen: number,
    tileGroups: number, trim: number, out: number) => void
  median: (base: number, stride: number, groups: number, n: number, net: number, netLen: number,
    tileGroups: number, out: number) => void
  meamed: (base: number, stride: number, groups: number, n: number, net: number, netLen: number,
    tileGroups: number, keep: number, out: number) => void
  combine: (base: number, stride: number, groups: number, n: number, coeffs32: number, coeffs64: number,
    exact: number, outputs: number, out: number, outStride: number, tileGroups: number) => void
  sqDistances: (base: number, stride: number, groups: number, n: number, tileGroups: number, dist: number) => void
  sqDistancesTo: (base: number, stride: number, groups: number, n: number, tileGroups: number,
    center: number, dist: number) => void
}

/** Sizes of the blocks the kernels work on; the defaults suit 32–64 KiB L1 and 512 KiB+ L2 caches. */
export interface WasmKernelOptions {
  /** Bytes of one chunk (all n rows) copied into linear memory: about half the L2 cache. */
  chunkBytes?: number
  /** Bytes of one sorting tile (all n rows): fits L1, where the comparator loops run. */
  sortTileBytes?: number
  /** Bytes of one distance tile (all n rows). */
  distanceTileBytes?: number
  /** Bytes of one combine tile (all n rows), which serves every output before the next is read. */
  combineTileBytes?: number
}
/**
 * Longest f32 run of a distance sum, in lane groups: each lane adds at most this many squares in
 * f32 before the partial goes into f64, which keeps the relative error near 1e-7 (below 2^-20).
 */
const DISTANCE_RUN_GROUPS = 128
/** Bound on the network cache (a network per n and parameter). */
const MAX_NETWORKS = 256

const align64 = (x: number): number => (x + 63) & ~63

/** Decodes and instantiates the embedded module; throws when the runtime lacks WebAssembly SIMD. */
function instantiate (): KernelExports {
  if (KERNELS_WASM_BASE64 === '') throw new Error('the WebAssembly kernels were not built (run scripts/build-wasm.ts)')
  const binary = atob(KERNELS_WASM_BASE64)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  if (!WebAssembly.validate(bytes)) throw new Error('this runtime cannot validate the WebAssembly SIMD kernels')
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {})
  return instance.exports as unknown as KernelExports
}

/** Where one call's chunk scratch lives: n rows of `columns` f32, `stride` bytes apart. */
interface Chunk {
  columns: number
  stride: number
  scratch: number
}

/**
 * Columns per chunk when `rows` rows of f32 share `bytes` (a multiple of 16, at least 16), but
 * no more than the dimension rounded up to a lane group.
 */
function chunkColumns (bytes: number, rows: number, d: number): number {
  const fit = Math.floor(bytes / (4 * rows)) & ~15
  return Math.min(Math.max(16, fit), (d + 3) & ~3)
}

/** The WebAssembly kernels, plus what tests and benchmarks want to know about their memory. */
export interface WasmKernels extends Kernels {
  /** Current size of the module's linear memory in bytes (it only grows, to the largest chunk used). */
  memoryBytes: () => number
}

/**
 * Loads the WebAssembly SIMD kernels. Throws when WebAssembly or its SIMD extension is missing;
 * `kernels()` then falls back to the TypeScript ones.
 */
export function createWasmKernels (options: WasmKernelOptions = {}): WasmKernels {
  const chunkBytes = options.chunkBytes ?? 256 * 1024
  const sortTileBytes = options.sortTileBytes ?? 16 * 1024
  const distanceTileBytes = options.distanceTileBytes ?? 64 * 1024
  const combineTileBytes = options.combineTileBytes ?? 16 * 1024
  const wasm = instantiate()
  const memory = wasm.memory
  const heap = wasm.heapBase()
  let buffer = memory.buffer
  let f32 = new Float32Array(buffer)
  let f64 = new Float64Array(buffer)
  let i32 = new Int32Array(buffer)

  /** Grows linear memory to at least `bytes` and refreshes the views when it moved. */
  function reserve (bytes: number): void {
    if (memory.buffer.byteLength < bytes) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / 65536))
    if (memory.buffer !== buffer) {
      buffer = memory.buffer
      f32 = new Float32Array(buffer)
      f64 = new Float64Array(buffer)
      i32 = new Int32Array(buffer)
    }
  }

  /** Places the chunk scratch for n rows after `front` bytes of small regions and reserves memory. */
  function chunkAt (front: number, n: number, columns: number): Chunk {
    // one cache line of padding per row keeps rows off the same cache sets
    const stride = align64(columns * 4) + 64
    const scratch = align64(heap + front)
    reserve(scratch + n * stride)
    return { columns, stride, scratch }
  }

  /** Copies columns [start, start + cols) of every input into the scratch, zero-padding to a multiple of 4. */
  function loadChunk (inputs: Vectors, at: Chunk, start: number, cols: number): void {
    const padded = (cols + 3) & ~3
    for (let i = 0; i < inputs.length; i++) {
      const row = (at.scratch + i * at.stride) >> 2
      f32.set(inputs[i].subarray(start, start + cols), row)
      if (padded !== cols) f32.fill(0, row + cols, row + padded)
    }
  }

  const networks = new Map<string, Int32Array>()
  /** The network for one kernel and shape, pruned to what that kernel reads, cached. */
  function network (kind: 'trim' | 'median' | 'meamed', n: number, param: number): Int32Array {
    const key = `${kind}:${n}:${param}`
    let net = networks.get(key)
    if (net !== undefined) return net
    const classes = new Int32Array(n) // 0: ignored; 1: summed alike; 2..: read individually
    const h = n >> 1
    if (kind === 'trim') {
      for (let w = param; w < n - param; w++) classes[w] = 1
    } else if (kind === 'median') {
      classes[h] = 1
      if ((n & 1) === 0) classes[h - 1] = 1
    } else {
      const aMin = Math.max(0, param - (n - h))
      const aMax = Math.min(param, h)
      for (let w = h - aMax; w < h - aMin + param; w++) classes[w] = 2 + w
    }
    net = pruneNetwork(sortingNetwork(n), classes)
    if (networks.size >= MAX_NETWORKS) networks.clear()
    networks.set(key, net)
    return net
  }

  /** Shared driver of the three sorting kernels: chunks, network upload, output copy. */
  function coordinatewise (inputs: Vectors, out: Float32Array, net: Int32Array,
    run: (at: Chunk, groups: number, netPtr: number, netLen: number, tileGroups: number, outPtr: number) => void): void {
    const n = inputs.length
    const d = out.length
    if (d === 0) return
    const netLen = net.length >> 1
    const columns = chunkColumns(chunkBytes, n, d)
    const netPtr = align64(heap)
    const outPtr = netPtr + align64(net.length * 4)
    const at = chunkAt(outPtr - heap + 4 * columns, n, columns)
    const netAt = netPtr >> 2
    for (let c = 0; c < net.length; c++) i32[netAt + c] = net[c] * at.stride
    const tileGroups = Math.max(1, Math.floor(sortTileBytes / (16 * n)))
    for (let start = 0; start < d; start += at.columns) {
      const cols = Math.min(at.columns, d - start)
      loadChunk(inputs, at, start, cols)
      run(at, (cols + 3) >> 2, netPtr, netLen, tileGroups, outPtr)
      out.set(f32.subarray(outPtr >> 2, (outPtr >> 2) + cols), start)
    }
  }

  function trimmedMean (inputs: Vectors, trim: number, out: Float32Array): void {
    const n = inputs.length
    if (!Number.isInteger(trim) || trim < 0 || n - 2 * trim < 1) {
      throw new RangeError(`trimmedMean: cannot trim ${trim} from each end of ${n} values`)
    }
    coordinatewise(inputs, out, network('trim', n, trim), (at, groups, net, netLen, tile, o) => {
      wasm.trimmedMean(at.scratch, at.stride, groups, n, net, netLen, tile, trim, o)
    })
  }

  function median (inputs: Vectors, out: Float32Array): void {
    const n = inputs.length
    coordinatewise(inputs, out, network('median', n, 0), (at, groups, net, netLen, tile, o) => {
      wasm.median(at.scratch, at.stride, groups, n, net, netLen, tile, o)
    })
  }

  function meamed (inputs: Vectors, keep: number, out: Float32Array): void {
    const n = inputs.length
    if (!Number.isInteger(keep) || keep < 1 || keep > n) {
      throw new RangeError(`meamed: cannot keep ${keep} of ${n} values`)
    }
    coordinatewise(inputs, out, network('meamed', n, keep), (at, groups, net, netLen, tile, o) => {
      wasm.meamed(at.scratch, at.stride, groups, n, net, netLen, tile, keep, o)
    })
  }

  function combine (inputs: Vectors, coeffs: Float64Array, outs: Float32Array[]): void {
    const n = inputs.length
    const r = outs.length
    const d = n === 0 ? 0 : inputs[0].length
    if (r === 0 || d === 0) return
    // each output is a chunk-wide row too: count them in the chunk budget
    const columns = chunkColumns(chunkBytes, n + r, d)
    const c64 = align64(heap)
    const c32 = c64 + align64(8 * r * n)
    const exact = c32 + align64(4 * r * n)
    const outPtr = exact + align64(4 * r)
    const outStride = align64(4 * columns)
    const at = chunkAt(outPtr - heap + r * outStride, n, columns)
    f64.set(coeffs.subarray(0, r * n), c64 >> 3)
    f32.set(coeffs.subarray(0, r * n), c32 >> 2)
    const tileGroups = Math.max(4, Math.floor(combineTileBytes / (16 * n)) & ~3)
    for (let k = 0; k < r; k++) {
      // a negative coefficient invites cancellation: sum that output exactly (see the module's combine)
      let negative = 0
      for (let i = 0; i < n; i++) if (coeffs[k * n + i] < 0) negative = 1
      i32[(exact >> 2) + k] = negative
    }
    for (let start = 0; start < d; start += at.columns) {
      const cols = Math.min(at.columns, d - start)
      loadChunk(inputs, at, start, cols)
      wasm.combine(at.scratch, at.stride, (cols + 3) >> 2, n, c32, c64, exact, r, outPtr, outStride, tileGroups)
      for (let k = 0; k < r; k++) {
        const o = (outPtr + k * outStride) >> 2
        outs[k].set(f32.subarray(o, o + cols), start)
      }
    }
  }

  function sqDistances (inputs: Vectors): Float64Array {
    const n = inputs.length
    const d = n === 0 ? 0 : inputs[0].length
    const result = new Float64Array(n * n)
    if (n < 2 || d === 0) return result
    const dist = align64(heap)
    const at = chunkAt(8 * n * n, n, chunkColumns(chunkBytes, n, d))
    f64.fill(0, dist >> 3, (dist >> 3) + n * n)
    const tileGroups = Math.max(1, Math.min(DISTANCE_RUN_GROUPS, Math.floor(distanceTileBytes / (16 * n))))
    for (let start = 0; start < d; start += at.columns) {
      const cols = Math.min(at.columns, d - start)
      loadChunk(inputs, at, start, cols)
      wasm.sqDistances(at.scratch, at.stride, (cols + 3) >> 2, n, tileGroups, dist)
    }
    const base = dist >> 3
    for (let i = 0; i < n; i++) {
      for (let k = i + 1; k < n; k++) {
        const s = f64[base + i * n + k]
        result[i * n + k] = s
        result[k * n + i] = s
      }
    }
    return result
  }

  function sqDistancesTo (inputs: Vectors, center: Float32Array): Float64Array {
    const n = inputs.length
    const d = center.length
    const result = new Float64Array(n)
    if (n === 0 || d === 0) return result
    const dist = align64(heap)
    const centerPtr = dist + align64(8 * n)
    const columns = chunkColumns(chunkBytes, n + 1, d)
    const at = chunkAt(centerPtr - heap + 4 * columns, n, columns)
    f64.fill(0, dist >> 3, (dist >> 3) + n)
    const tileGroups = Math.max(1, Math.min(DISTANCE_RUN_GROUPS, Math.floor(distanceTileBytes / (16 * (n + 1)))))
    for (let start = 0; start < d; start += at.columns) {
      const cols = Math.min(at.columns, d - start)
      loadChunk(inputs, at, start, cols)
      const c = centerPtr >> 2
      f32.set(center.subarray(start, start + cols), c)
      const padded = (cols + 3) & ~3
      if (padded !== cols) f32.fill(0, c + cols, c + padded)
      wasm.sqDistancesTo(at.scratch, at.stride, padded >> 2, n, tileGroups, centerPtr, dist)
    }
    result.set(f64.subarray(dist >> 3, (dist >> 3) + n))
    return result
  }

  const memoryBytes = (): number => memory.buffer.byteLength
  return { name: 'wasm', combine, sqDistances, sqDistancesTo, trimmedMean, median, meamed, memoryBytes }
}
