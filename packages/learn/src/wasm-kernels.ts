/**
 * Gradient kernels the wasm backend does not ship, expressed through kernels it has, and
 * faster compositions for a few kernels that exist but are slow.
 *
 * tfjs-backend-wasm 4.22 lacks Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter,
 * DepthwiseConv2dNativeBackpropInput and UnsortedSegmentSum, so training any conv model on it
 * fails at the first gradient. Each kernel below rearranges its operands (transpose, slice,
 * reshape) and hands the arithmetic to a wasm kernel (Conv2D, DepthwiseConv2dNative,
 * Conv2DBackpropInput, BatchMatMul), so the heavy loops stay in XNNPACK. The same filter-gradient
 * composition replaces the cpu backend's Conv2DBackpropFilter, which is ~20× slower.
 */
import * as tf from '@tensorflow/tfjs'
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm'

type Info = tf.TensorInfo
type Attrs = tf.NamedAttrMap
type Pair = [number, number]
type PadSpec = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding
type Rounding = 'floor' | 'round' | 'ceil' | undefined

/** The backend a composed kernel runs on: its kernels are looked up under `name`. */
interface Ctx { name: string, backend: tf.KernelBackend }

/** Calls a kernel registered for ctx's backend on raw tensor infos, outside the engine (no tape, no tracking). */
function run (ctx: Ctx, name: string, inputs: Record<string, Info> | Info[], attrs: Attrs = {}): Info {
  const kernel = tf.getKernel(name, ctx.name)
  if (kernel === undefined) throw new Error(`${ctx.name} kernel ${name} is not registered`)
  return kernel.kernelFunc({ inputs: inputs as Record<string, Info>, backend: ctx.backend, attrs }) as Info
}

function free (ctx: Ctx, ...infos: Info[]): void {
  for (const info of infos) ctx.backend.disposeData(info.dataId)
}

function zeros (ctx: Ctx, shape: number[]): Info {
  return run(ctx, 'Fill', {}, { shape, value: 0, dtype: 'float32' })
}

function wasmHeap (ctx: Ctx, info: Info): Float32Array {
  return (ctx.backend as unknown as BackendWasm).typedArrayFromHeap(info) as Float32Array
}

type ComposedKernel = (args: { inputs: Record<string, Info>, backend: unknown, attrs?: Attrs }) => Info

function pair (v: number | number[] | undefined): Pair {
  if (v === undefined) return [1, 1]
  return typeof v === 'number' ? [v, v] : [v[0], v[1]]
}

function requireChannelsLast (kernel: string, dataFormat: unknown): void {
  if (dataFormat === 'NCHW' || dataFormat === 'channelsFirst') {
    throw new Error(`${kernel} here supports NHWC only (got ${String(dataFormat)})`)
  }
}

/**
 * Geometry shared by the filter gradients: which input rows/columns the forward convolution
 * read, and the explicit padding that makes a forward conv over the transposed operands
 * produce exactly filterHeight × filterWidth outputs.
 *
 * Forward: y[n, i, j] = Σ x[n, i·s + k·d − top, j·s' + l·d' − left] · w[k, l]. Swapping the
 * roles of (i, j) and (k, l) gives dW[k, l] = Σ_{n, i, j} x[k·d + i·s − top, …] · dy[n, i, j]:
 * a conv with stride d (the forward dilation) and dilation s (the forward stride) whose
 * "filter" is dy. It must read (fh − 1)·d + (oh − 1)·s + 1 padded rows; rows beyond that
 * were never read by the forward conv (possible with 'valid' and stride > 1) and are sliced away.
 */
interface FilterGradGeometry {
  keepH: number
  keepW: number
  pad: tf.backend_util.ExplicitPadding
}

function filterGradGeometry (inH: number, inW: number, fh: number, fw: number, info: tf.backend_util.Conv2DInfo): FilterGradGeometry {
  const needH = (fh - 1) * info.dilationHeight + (info.outHeight - 1) * info.strideHeight + 1
  const needW = (fw - 1) * info.dilationWidth + (info.outWidth - 1) * info.strideWidth + 1
  const top = info.padInfo.top
  const left = info.padInfo.left
  const keepH = Math.min(inH, needH - top)
  const keepW = Math.min(inW, needW - left)
  return {
    keepH,
    keepW,
    pad: [[0, 0], [top, needH - top - keepH], [left, needW - left - keepW], [0, 0]]
  }
}

function sliceRows (ctx: Ctx, x: Info, keepH: number, keepW: number): Info {
  const [n, h, w, c] = x.shape
  if (keepH === h && keepW === w) return x
  return run(ctx, 'Slice', { x }, { begin: [0, 0, 0, 0], size: [n, keepH, keepW, c] })
}

/** dW for y = conv2d(x, W): a forward conv of xᵀ (channels as batch) with dyᵀ as the filter. */
function conv2dBackpropFilter (args: { inputs: Record<string, Info>, backend: unknown, attrs?: Attrs }, backendName = 'wasm'): Info {
  const ctx: Ctx = { name: backendName, backend: args.backend as tf.KernelBackend }
  const { x, dy } = args.inputs
  const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs
  requireChannelsLast('Conv2DBackpropFilter', attrs.dataFormat)
  const filterShape = attrs.filterShape
  const [fh, fw, cin, cout] = filterShape
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape,
    attrs.strides, 1, attrs.pad, attrs.dimRoundingMode as Rounding, false, 'channelsLast')
  const geo = filterGradGeometry(x.shape[1], x.shape[2], fh, fw, info)
  if (geo.keepH <= 0 || geo.keepW <= 0) return zeros(ctx, [fh, fw, cin, cout])

  const xs = sliceRows(ctx, x, geo.keepH, geo.keepW)
  const xT = run(ctx, 'Transpose', { x: xs }, { perm: [3, 1, 2, 0] }) // [cin, h, w, n]
  const dyT = run(ctx, 'Transpose', { x: dy }, { perm: [1, 2, 0, 3] }) // [oh, ow, n, cout]
  const conv = run(ctx, 'Conv2D', { x: xT, filter: dyT }, {
    strides: [info.dilationHeight, info.dilationWidth],
    dilations: [info.strideHeight, info.strideWidth],
    pad: geo.pad,
    dataFormat: 'NHWC'
  }) // [cin, fh, fw, cout]
  const dW = run(ctx, 'Transpose', { x: conv }, { perm: [1, 2, 0, 3] })
  if (xs !== x) free(ctx, xs)
  free(ctx, xT, dyT, conv)
  return dW
}

/**
 * dF for y = depthwiseConv2d(x, F): the batch joins the channels (n·c depthwise channels),
 * dy becomes a per-channel filter, and the batch is summed out at the end.
 */
function depthwiseBackpropFilter (args: { inputs: Record<string, Info>, backend: unknown, attrs?: Attrs }, backendName = 'wasm'): Info {
  const ctx: Ctx = { name: backendName, backend: args.backend as tf.KernelBackend }
  const { x, dy } = args.inputs
  const attrs = args.attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs
  const [fh, fw, c, m] = attrs.filterShape
  const n = x.shape[0]
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], attrs.filterShape,
    attrs.strides, attrs.dilations, attrs.pad as PadSpec, attrs.dimRoundingMode as Rounding, true)
  const geo = filterGradGeometry(x.shape[1], x.shape[2], fh, fw, info)
  if (geo.keepH <= 0 || geo.keepW <= 0) return zeros(ctx, [fh, fw, c, m])
  const [oh, ow] = [info.outHeight, info.outWidth]

  const xs = sliceRows(ctx, x, geo.keepH, geo.keepW)
  const xT = run(ctx, 'Transpose', { x: xs }, { perm: [1, 2, 0, 3] }) // [h, w, n, c]
  const xB = run(ctx, 'Reshape', { x: xT }, { shape: [1, geo.keepH, geo.keepW, n * c] })
  const dyT = run(ctx, 'Transpose', { x: dy }, { perm: [1, 2, 0, 3] }) // [oh, ow, n, c·m]
  const dyF = run(ctx, 'Reshape', { x: dyT }, { shape: [oh, ow, n * c, m] })
  const conv = run(ctx, 'DepthwiseConv2dNative', { x: xB, filter: dyF }, {
    strides: [info.dilationHeight, info.dilationWidth],
    dilations: [info.strideHeight, info.strideWidth],
    pad: geo.pad
  }) // [1, fh, fw, n·c·m]
  const perBatch = run(ctx, 'Reshape', { x: conv }, { shape: [fh, fw, n, c * m] })
  const summed = run(ctx, 'Sum', { x: perBatch }, { axis: [2], keepDims: false }) // [fh, fw, c·m]
  const dF = run(ctx, 'Reshape', { x: summed }, { shape: [fh, fw, c, m] })
  if (xs !== x) free(ctx, xs)
  free(ctx, xT, xB, dyT, dyF, conv, perBatch, summed)
  return dF
}

/**
 * dx for y = depthwiseConv2d(x, F): the depthwise filter written as the block-diagonal dense
 * filter it is (input channel c feeds only outputs c·m … c·m + m − 1), dilation spelled out
 * with zeros, then the wasm Conv2DBackpropInput. Costs c times the depthwise arithmetic, which
 * is fine for the channel counts murmur's models use.
 */
function depthwiseBackpropInput (args: { inputs: Record<string, Info>, backend: unknown, attrs?: Attrs }, backendName = 'wasm'): Info {
  const ctx: Ctx = { name: backendName, backend: args.backend as tf.KernelBackend }
  const { dy, filter } = args.inputs
  const attrs = args.attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs
  const [fh, fw, c, m] = filter.shape
  const [dh, dw] = pair(attrs.dilations)
  const efh = (fh - 1) * dh + 1
  const efw = (fw - 1) * dw + 1
  const dense = zeros(ctx, [efh, efw, c, c * m])
  const src = wasmHeap(ctx, filter)
  const dst = wasmHeap(ctx, dense)
  for (let kh = 0; kh < fh; kh++) {
    for (let kw = 0; kw < fw; kw++) {
      for (let ci = 0; ci < c; ci++) {
        const from = ((kh * fw + kw) * c + ci) * m
        const to = (((kh * dh) * efw + kw * dw) * c + ci) * c * m + ci * m
        for (let mi = 0; mi < m; mi++) dst[to + mi] = src[from + mi]
      }
    }
  }
  const dx = run(ctx, 'Conv2DBackpropInput', { dy, filter: dense }, {
    strides: attrs.strides,
    pad: attrs.pad,
    dataFormat: 'NHWC',
    ...(attrs.dimRoundingMode === undefined ? {} : { dimRoundingMode: attrs.dimRoundingMode }),
    inputShape: attrs.inputShape
  })
  free(ctx, dense)
  return dx
}

/** Σ of the rows of x per segment id: onehot(ids)ᵀ · x, one wasm matmul. Out-of-range ids drop out. */
function unsortedSegmentSum (args: { inputs: Record<string, Info>, backend: unknown, attrs?: Attrs }, backendName = 'wasm'): Info {
  const ctx: Ctx = { name: backendName, backend: args.backend as tf.KernelBackend }
  const { x, segmentIds } = args.inputs
  const { numSegments } = args.attrs as unknown as tf.UnsortedSegmentSumAttrs
  const rows = tf.util.sizeFromShape(segmentIds.shape)
  const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)]
  const inner = tf.util.sizeFromShape(outShape) / numSegments
  const owned: Info[] = []
  const ids = segmentIds.dtype === 'int32' ? segmentIds : keep(owned, run(ctx, 'Cast', { x: segmentIds }, { dtype: 'int32' }))
  const xf = x.dtype === 'float32' ? x : keep(owned, run(ctx, 'Cast', { x }, { dtype: 'float32' }))
  const flatIds = keep(owned, run(ctx, 'Reshape', { x: ids }, { shape: [rows] }))
  // The wasm OneHot writes int32 whatever dtype it is given, so cast its output.
  const hotInt = keep(owned, run(ctx, 'OneHot', { indices: flatIds }, { depth: numSegments, onValue: 1, offValue: 0, dtype: 'int32' }))
  const hot = keep(owned, run(ctx, 'Cast', { x: hotInt }, { dtype: 'float32' }))
  const a = keep(owned, run(ctx, 'Reshape', { x: hot }, { shape: [1, rows, numSegments] }))
  const b = keep(owned, run(ctx, 'Reshape', { x: xf }, { shape: [1, rows, inner] }))
  const prod = keep(owned, run(ctx, 'BatchMatMul', { a, b }, { transposeA: true, transposeB: false }))
  let out = run(ctx, 'Reshape', { x: prod }, { shape: outShape })
  if (x.dtype !== 'float32') {
    const cast = run(ctx, 'Cast', { x: out }, { dtype: x.dtype })
    free(ctx, out)
    out = cast
  }
  free(ctx, ...owned)
  return out
}

function keep (owned: Info[], info: Info): Info {
  owned.push(info)
  return info
}

/**
 * dx for y = conv2d(x, W) through forward convs, replacing the wasm Conv2DBackpropInput (a plain
 * C++ loop, ~10× slower than XNNPACK's forward conv).
 *
 * With q = p + top, dx[p] = Σ_{i·s + k = q} dy[i] · Wᵀ[k]. Split q by phase r = q mod s
 * (q = a·s + r): only taps k = r + s·j contribute, from dy row a − j, so each phase is a
 * stride-1 conv of dy with the flipped sub-filter Wᵀ[r + s·(J − 1 − t)], padded J − 1 on top.
 * The tiny sub-filters are built and the phase outputs interleaved by plain copies on the wasm
 * heap (the wasm StridedSlice and DepthToSpace kernels cost more than the convs themselves).
 */
function conv2dBackpropInputFast (original: tf.KernelFunc): ComposedKernel {
  return (args: { inputs: Record<string, Info>, backend: unknown, attrs?: Attrs }): Info => {
    const ctx: Ctx = { name: 'wasm', backend: args.backend as tf.KernelBackend }
    const { dy, filter } = args.inputs
    const attrs = args.attrs as unknown as tf.Conv2DBackpropInputAttrs
    const inputShape = attrs.inputShape
    const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape as [number, number, number, number],
      attrs.strides, 1, attrs.pad, attrs.dimRoundingMode as Rounding, false,
      tf.backend_util.convertConv2DDataFormat(attrs.dataFormat))
    if (info.dataFormat !== 'channelsLast' || dy.dtype !== 'float32' || filter.dtype !== 'float32') {
      return original(args as Parameters<tf.KernelFunc>[0]) as Info
    }
    const [n, h, w, ci] = inputShape
    const [kh, kw, , co] = filter.shape
    const [sh, sw] = [info.strideHeight, info.strideWidth]
    const { top, left } = info.padInfo
    const rowsA = Math.ceil((h + top) / sh)
    const colsB = Math.ceil((w + left) / sw)
    const dyA = sliceRows(ctx, dy, Math.min(dy.shape[1], rowsA), Math.min(dy.shape[2], colsB))
    const dx = zeros(ctx, [n, h, w, ci])
    for (let rh = 0; rh < sh; rh++) {
      for (let rw = 0; rw < sw; rw++) {
        const jh = Math.ceil((kh - rh) / sh)
        const jw = Math.ceil((kw - rw) / sw)
        if (jh <= 0 || jw <= 0) continue // no tap lands on this phase: its dx entries stay 0
        const sub = (ctx.backend as unknown as BackendWasm).makeOutput([jh, jw, co, ci], 'float32') as Info
        const src = wasmHeap(ctx, filter)
        const dst = wasmHeap(ctx, sub)
        for (let th = 0; th < jh; th++) {
          for (let tw = 0; tw < jw; tw++) {
            const fromTap = ((rh + sh * (jh - 1 - th)) * kw + (rw + sw * (jw - 1 - tw))) * ci * co
            const toTap = (th * jw + tw) * co * ci
            for (let i = 0; i < ci; i++) {
              for (let o = 0; o < co; o++) dst[toTap + o * ci + i] = src[fromTap + i * co + o]
            }
          }
        }
        const phase = run(ctx, 'Conv2D', { x: dyA, filter: sub }, {
          strides: [1, 1],
          dilations: [1, 1],
          pad: [[0, 0], [jh - 1, rowsA - dyA.shape[1]], [jw - 1, colsB - dyA.shape[2]], [0, 0]],
          dataFormat: 'NHWC'
        }) // [n, rowsA, colsB, ci]
        scatterPhase(wasmHeap(ctx, phase), wasmHeap(ctx, dx),
          n, rowsA, colsB, ci, h, w, sh, sw, rh - top, rw - left)
        free(ctx, sub, phase)
      }
    }
    if (dyA !== dy) free(ctx, dyA)
    return dx
  }
}

/** Copies phase[b, a, c, :] to dx[b, a·sh + offH, c·sw + offW, :] where that lies inside dx. */
function scatterPhase (phase: Float32Array, dx: Float32Array, n: number, rows: number, cols: number, ch: number,
  h: number, w: number, sh: number, sw: number, offH: number, offW: number): void {
  for (let b = 0; b < n; b++) {
    for (let a = 0; a < rows; a++) {
      const p = a * sh + offH
      if (p < 0 || p >= h) continue
      for (let c = 0; c < cols; c++) {
        const q = c * sw + offW
        if (q < 0 || q >= w) continue
        const from = ((b * rows + a) * cols + c) * ch
        const to = ((b * h + p) * w + q) * ch
        for (let k = 0; k < ch; k++) dx[to + k] = phase[from + k]
      }
    }
  }
}

/**
 * The wasm BatchMatMul runs XNNPACK only without transposes; with transposeA or transposeB it
 * falls back to a loop ~10× slower, and every dense-layer gradient asks for one. Transposing
 * the operand explicitly first is far cheaper.
 */
function batchMatMulFast (original: tf.KernelFunc): ComposedKernel {
  return (args: { inputs: Record<string, Info>, backend: unknown, attrs?: Attrs }): Info => {
    const ctx: Ctx = { name: 'wasm', backend: args.backend as tf.KernelBackend }
    const { a, b } = args.inputs
    const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs
    if (!transposeA && !transposeB) return original(args as Parameters<tf.KernelFunc>[0]) as Info
    const aT = transposeA ? swapLastTwo(ctx, a) : a
    const bT = transposeB ? swapLastTwo(ctx, b) : b
    const out = original({ inputs: { a: aT, b: bT }, backend: ctx.backend, attrs: { transposeA: false, transposeB: false } }) as Info
    if (aT !== a) free(ctx, aT)
    if (bT !== b) free(ctx, bT)
    return out
  }
}

function swapLastTwo (ctx: Ctx, x: Info): Info {
  const perm = x.shape.map((_, i) => i)
  const r = perm.length
  perm[r - 2] = r - 1
  perm[r - 1] = r - 2
  return run(ctx, 'Transpose', { x }, { perm })
}

/** The kernels this module adds to wasm, by tfjs kernel name. */
export const wasmGradientKernels: ReadonlyArray<{ kernelName: string, kernelFunc: ComposedKernel }> = [
  { kernelName: tf.Conv2DBackpropFilter, kernelFunc: (args) => conv2dBackpropFilter(args) },
  { kernelName: tf.DepthwiseConv2dNativeBackpropFilter, kernelFunc: (args) => depthwiseBackpropFilter(args) },
  { kernelName: tf.DepthwiseConv2dNativeBackpropInput, kernelFunc: (args) => depthwiseBackpropInput(args) },
  { kernelName: tf.UnsortedSegmentSum, kernelFunc: (args) => unsortedSegmentSum(args) }
]

/**
 * Registers the missing gradient kernels for the wasm backend. Idempotent, and it never
 * replaces a kernel a later tfjs release may ship. Returns the names it registered now.
 */
export function registerWasmGradientKernels (): string[] {
  const added: string[] = []
  for (const { kernelName, kernelFunc } of wasmGradientKernels) {
    if (tf.getKernel(kernelName, 'wasm') !== undefined) continue
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as tf.KernelFunc })
    added.push(kernelName)
  }
  return added
}

interface Replacement { backendName: string, kernelName: string, wrap: (original: tf.KernelFunc) => ComposedKernel }

/**
 * Kernels a backend has but runs far slower than a composition of its own kernels: the wasm
 * Conv2DBackpropInput and transposed BatchMatMul (plain loops instead of XNNPACK), and the cpu
 * Conv2DBackpropFilter (element-wise buffer indexing: seconds per CNN step).
 */
const replacements: readonly Replacement[] = [
  { backendName: 'wasm', kernelName: tf.Conv2DBackpropInput, wrap: conv2dBackpropInputFast },
  { backendName: 'wasm', kernelName: tf.BatchMatMul, wrap: batchMatMulFast },
  { backendName: 'cpu', kernelName: tf.Conv2DBackpropFilter, wrap: () => (args) => conv2dBackpropFilter(args, 'cpu') }
]
const replaced = new Set<string>()

/**
 * Swaps a backend's slow kernels for faster compositions of its own kernels (same results to
 * float rounding). Idempotent; keeps each original kernel's setup so it still initialises.
 * Returns the names it replaced now.
 */
export function replaceSlowKernels (backendName: string): string[] {
  const done: string[] = []
  for (const { backendName: target, kernelName, wrap } of replacements) {
    const key = `${target}/${kernelName}`
    if (target !== backendName || replaced.has(key)) continue
    const original = tf.getKernel(kernelName, target)
    if (original === undefined) continue
    tf.unregisterKernel(kernelName, target)
    tf.registerKernel({
      kernelName,
      backendName: target,
      setupFunc: original.setupFunc,
      disposeFunc: original.disposeFunc,
      kernelFunc: wrap(original.kernelFunc) as tf.KernelFunc
    })
    replaced.add(key)
    done.push(kernelName)
  }
  return done
}
