// Model-exchange goodput between two real murmur nodes (createMurmurNode: TCP on loopback, noise,
// yamux) as a suite: one cell per (d, dtype). Each run sends one model over the real model
// protocol (createModelExchange: encode, one length-prefixed frame per stream, decode, checksum and
// finiteness checks before the model reaches the inbox) and, in the same run, moves the same bytes
// over a bare libp2p stream that only counts them. Loopback speed moves with the load on the
// machine, so the two paths alternate within a run and the figure to compare is the median of the
// per-run ratio murmur / bare: what the protocol costs on top of what libp2p itself costs.

import type { Stream } from '@libp2p/interface'
import {
  createModelExchange, createMurmurNode, decodeFrame, encodeFrame, ephemeralIdentity,
  type Dtype, type ModelExchange, type MurmurNode
} from '@murmur/peer'
import { createRng } from '@murmur/robust'
import { listOption, sizeList } from '../../options.ts'
import { allFinite, exp10, logTicks, median, round } from '../../stats.ts'
import type { Cell, CellResult, Check, Plot, Profile, SuiteContext, SuiteSummary, Table } from '../../suite.ts'
import { defineSuite } from '../../suite.ts'
import { loadTemplate } from '../../template.ts'

/** The report's paragraphs (report.md beside this file). */
const prose = loadTemplate(new URL('report.md', import.meta.url))

/** The baseline protocol: the receiver counts bytes and nothing else. */
export const RAW_PROTOCOL = '/murmur/bench/raw/1.0.0'
const SWARM = 'bench-network'
const SENDER = 'a'
const RECEIVER = 'b'
const DTYPES: readonly Dtype[] = ['f32', 'f16']
/** A transfer that has not finished by then fails the cell (a 40 MB frame takes well under 1 s). */
const TRANSFER_TIMEOUT_MS = 120_000
/**
 * Upper bound on the median ratio murmur / bare the check accepts. Measured on a 2-core machine
 * (two full runs): 1.2–1.4 at d = 10⁵, 1.5–1.7 at 10⁶, 1.7–2.2 at 10⁷. The extra is CPU work the
 * bare path does not do: encodeFrame and decodeFrame each run a CRC-32 over the payload, decode
 * scans every value, and the receiver joins the chunks into one frame; at 10⁷ the codec alone is
 * about a third of murmur's time. Both peers share one thread, so load slows both paths alike and
 * moves the ratio little. 4 is nearly twice the worst measured ratio: it fails when the protocol's
 * own cost roughly doubles (a second pass over the payload, per-chunk copies), not on a noisy run.
 */
export const MAX_RATIO = 4
const MB = 1e6
/** Untimed rounds per cell before the timed ones (each path once per round). */
const WARMUP = 2

interface Params {
  d: number
  dtype: Dtype
  runs: number
}

export interface PathTiming {
  /** Wall time of each run, ms, in run order. */
  times: number[]
  medianMs: number
  /** Median over runs of payload bytes / time, MB/s (10⁶ bytes). */
  goodputMBps: number
  /** Median over runs of parameters / time. */
  paramsPerS: number
}

export interface NetworkResult {
  d: number
  dtype: Dtype
  /** Timed rounds, after `warmup` untimed ones. */
  runs: number
  warmup: number
  /** Bytes of the encoded frame (header, ids, payload). */
  frameBytes: number
  /** Bytes written on each stream: the frame and its length prefix, on both paths. */
  wireBytes: number
  /** Model bytes: d × 4 (f32) or d × 2 (f16); goodput counts these. */
  payloadBytes: number
  murmur: PathTiming
  bare: PathTiming
  /** Median over runs of time(murmur) / time(bare) in the same run. */
  ratio: number
  /** Median time of encodeFrame alone, and of decodeFrame (decode, checksum, finiteness) alone. */
  encodeMs: number
  decodeMs: number
  /** Per-round times of encodeFrame and decodeFrame, ms. */
  codec: { encode: number[], decode: number[] }
  /** Received vs sent model, over every run including the warm-up. */
  verify: {
    runs: number
    /** Coordinates differing from the sent value (f32) or from its f16 rounding (f16). */
    mismatches: number
    /** Largest |received − sent| relative to the largest |sent|. */
    maxError: number
    /** Bare runs (warm-up included) whose receiver counted exactly wireBytes. */
    bareExact: number
  }
}

export function parseDtypes (value: unknown): Dtype[] {
  const list = listOption(value, 'dtypes')
  if (list === undefined) return [...DTYPES]
  for (const t of list) if (!(DTYPES as readonly string[]).includes(t)) throw new Error(`--dtypes: unknown dtype "${t}" (known: ${DTYPES.join(', ')})`)
  return [...new Set(list)] as Dtype[]
}

/** LEB128 length: the prefix it-length-prefixed writes before a frame. */
export function varintLength (value: number): number {
  let n = 1
  for (let v = value; v >= 0x80; v = Math.floor(v / 0x80)) n++
  return n
}

/** What the receiver must hold after an f16 round trip: each value rounded to half precision. */
export function f16Rounded (values: Float32Array): Float32Array {
  const view = new DataView(new ArrayBuffer(2))
  const out = new Float32Array(values.length)
  for (let j = 0; j < values.length; j++) {
    view.setFloat16(0, values[j], true)
    out[j] = view.getFloat16(0, true)
  }
  return out
}

/** Mismatching coordinates (bitwise, so -0 vs 0 counts) and the largest error relative to max |sent|. */
export function compareModels (received: Float32Array, expected: Float32Array, sent: Float32Array): { mismatches: number, maxError: number } {
  if (received.length !== expected.length) return { mismatches: Math.max(received.length, expected.length), maxError: Number.POSITIVE_INFINITY }
  const a = new Uint32Array(received.buffer, received.byteOffset, received.length)
  const b = new Uint32Array(expected.buffer, expected.byteOffset, expected.length)
  let mismatches = 0; let scale = 0; let worst = 0
  for (let j = 0; j < a.length; j++) {
    if (a[j] !== b[j]) mismatches++
    scale = Math.max(scale, Math.abs(sent[j]))
    worst = Math.max(worst, Math.abs(received[j] - sent[j]))
  }
  return { mismatches, maxError: scale === 0 ? worst : worst / scale }
}

/** Standard-normal parameters: in f16 range, with the spread of a trained model's weights. */
function seededModel (d: number, seed: number): Float32Array {
  const rng = createRng(seed)
  const v = new Float32Array(d)
  for (let j = 0; j < d; j++) v[j] = rng.normal()
  return v
}

async function withTimeout<T> (promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`${what} did not finish within ${TRANSFER_TIMEOUT_MS} ms`)) }, TRANSFER_TIMEOUT_MS)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * The bare receiver: drains each stream and resolves the pending transfer once `expected` bytes
 * are in. Both nodes live in this process, so the promise is the completion signal.
 */
class RawSink {
  private pending: { expected: number, resolve: (bytes: number) => void } | undefined

  expect (bytes: number): Promise<number> {
    return new Promise((resolve) => { this.pending = { expected: bytes, resolve } })
  }

  async drain (stream: Stream): Promise<void> {
    const want = this.pending
    this.pending = undefined
    let received = 0
    for await (const chunk of stream.source) {
      received += chunk.byteLength
      if (want !== undefined && received >= want.expected) break
    }
    want?.resolve(received)
    // Like the model protocol: once the whole message is in, nothing more is read.
    await stream.close()
  }
}

interface Pair {
  sender: MurmurNode
  receiver: MurmurNode
  tx: ModelExchange
  rx: ModelExchange
  sink: RawSink
}

async function startPair (d: number, dtype: Dtype, nodes: MurmurNode[]): Promise<Pair> {
  const [sender, receiver] = await Promise.all([
    ephemeralIdentity().then(async (privateKey) => await createMurmurNode({ privateKey })),
    ephemeralIdentity().then(async (privateKey) => await createMurmurNode({ privateKey }))
  ])
  nodes.push(sender, receiver)
  const book = new Map([
    [SENDER, { peerId: sender.peerId, multiaddrs: sender.getMultiaddrs() }],
    [RECEIVER, { peerId: receiver.peerId, multiaddrs: receiver.getMultiaddrs() }]
  ])
  const common = { swarm: SWARM, dimension: d, dtype, addressBook: book, sendTimeoutMs: TRANSFER_TIMEOUT_MS, readTimeoutMs: TRANSFER_TIMEOUT_MS }
  const tx = createModelExchange(sender, { ...common, self: SENDER })
  const rx = createModelExchange(receiver, { ...common, self: RECEIVER })
  await tx.start()
  await rx.start()
  const sink = new RawSink()
  await receiver.handle(RAW_PROTOCOL, ({ stream }) => {
    sink.drain(stream).catch((error: Error) => { stream.abort(error) })
  })
  return { sender, receiver, tx, rx, sink }
}

/** One model over the model protocol: from the send call until the receiver's inbox hands it over. */
async function murmurRun (pair: Pair, round: number, params: Float32Array, signal: AbortSignal): Promise<{ ms: number, model: Float32Array | undefined }> {
  const collecting = pair.rx.collect(round, [SENDER], Date.now() + TRANSFER_TIMEOUT_MS, signal)
  const started = performance.now()
  await withTimeout(pair.tx.send(RECEIVER, round, params), 'model send')
  const models = await collecting
  const ms = performance.now() - started
  return { ms, model: models.get(SENDER) }
}

/** The same bytes in one chunk, as the model protocol hands them to the stream, over the raw protocol. */
async function bareRun (pair: Pair, bytes: Uint8Array): Promise<{ ms: number, received: number }> {
  const arrived = pair.sink.expect(bytes.length)
  const started = performance.now()
  const stream = await pair.sender.dialProtocol(pair.receiver.peerId, RAW_PROTOCOL)
  await stream.sink([bytes])
  await stream.close()
  const received = await withTimeout(arrived, 'bare transfer')
  const ms = performance.now() - started
  return { ms, received }
}

function pathTiming (times: number[], payloadBytes: number, d: number): PathTiming {
  return {
    times: times.map((t) => round(t, 4)),
    medianMs: round(median(times), 4),
    goodputMBps: round(median(times.map((t) => payloadBytes / MB / (t / 1000))), 4),
    paramsPerS: round(median(times.map((t) => d / (t / 1000))), 4)
  }
}

async function runCell (cell: Cell<Params>, context: SuiteContext): Promise<NetworkResult> {
  const p = cell.params
  const params = seededModel(p.d, cell.seed)
  const expected = p.dtype === 'f16' ? f16Rounded(params) : params
  const frame = encodeFrame({ swarm: SWARM, sender: SENDER, round: 0, dtype: p.dtype, params })
  // The bare path writes exactly what the model protocol writes: length prefix, then the frame.
  const wire = new Uint8Array(varintLength(frame.length) + frame.length)
  wire.set(frame, wire.length - frame.length)
  const expectations = { swarm: SWARM, dimension: p.d, minRound: 0, maxRound: 0xffffffff }
  const times = { murmur: [] as number[], bare: [] as number[], encode: [] as number[], decode: [] as number[] }
  const verify = { runs: 0, mismatches: 0, maxError: 0, bareExact: 0 }
  const nodes: MurmurNode[] = []
  // Ends a pending collect (and its deadline timer, which would hold the process) when a run fails.
  const done = new AbortController()
  const stop = AbortSignal.any([context.signal, done.signal])
  try {
    const pair = await startPair(p.d, p.dtype, nodes)
    // Negative runs are the warm-up: they dial the connection, negotiate both protocols, grow the
    // yamux windows and let the JIT compile the codec and the stream stack; verified, not timed.
    for (let r = -WARMUP; r < p.runs; r++) {
      if (context.signal.aborted) break
      const wireRound = r + WARMUP
      // No forced GC between paths: it slowed the codec's loops several-fold at d = 10⁵ (V8 kept
      // them unoptimised), and the garbage a path makes is part of what it costs.
      // Alternate which path goes first: neither always runs right after the other, on its garbage
      // or on the windows it just grew.
      const order = (r + WARMUP) % 2 === 0 ? ['murmur', 'bare'] as const : ['bare', 'murmur'] as const
      for (const path of order) {
        if (path === 'murmur') {
          const { ms, model } = await murmurRun(pair, wireRound, params, stop)
          if (context.signal.aborted) break
          if (model === undefined) throw new Error(`round ${wireRound}: no model arrived (refused: ${JSON.stringify(pair.rx.rejections())})`)
          const check = compareModels(model, expected, params)
          verify.runs++
          verify.mismatches += check.mismatches
          verify.maxError = Math.max(verify.maxError, check.maxError)
          if (r >= 0) times.murmur.push(ms)
        } else {
          const { ms, received } = await bareRun(pair, wire)
          if (received === wire.length) verify.bareExact++
          if (r >= 0) times.bare.push(ms)
        }
      }
      if (r >= 0 && !context.signal.aborted) {
        // Codec alone, on the same frame: where the protocol's share of the time goes.
        let t = performance.now()
        encodeFrame({ swarm: SWARM, sender: SENDER, round: wireRound, dtype: p.dtype, params })
        times.encode.push(performance.now() - t)
        t = performance.now()
        decodeFrame(frame, expectations)
        times.decode.push(performance.now() - t)
      }
      context.progress((r + WARMUP + 1) / (p.runs + WARMUP))
    }
  } finally {
    done.abort()
    await Promise.all(nodes.map(async (node) => { await node.stop() }))
  }
  const payloadBytes = p.d * (p.dtype === 'f16' ? 2 : 4)
  const n = Math.min(times.murmur.length, times.bare.length)
  return {
    d: p.d,
    dtype: p.dtype,
    runs: n,
    warmup: WARMUP,
    frameBytes: frame.length,
    wireBytes: wire.length,
    payloadBytes,
    murmur: pathTiming(times.murmur, payloadBytes, p.d),
    bare: pathTiming(times.bare, payloadBytes, p.d),
    ratio: round(median(times.murmur.slice(0, n).map((t, k) => t / times.bare[k])), 4),
    encodeMs: round(median(times.encode), 4),
    decodeMs: round(median(times.decode), 4),
    codec: { encode: times.encode.map((t) => round(t, 4)), decode: times.decode.map((t) => round(t, 4)) },
    verify: { ...verify, maxError: round(verify.maxError, 4) }
  }
}

const label = (r: NetworkResult): string => `d=${exp10(r.d)} ${r.dtype}`

function summarize (results: Array<CellResult<NetworkResult, Params>>, profile: Profile): SuiteSummary {
  const rs = results.map((r) => r.result)
  const table: Table = {
    name: 'goodput',
    title: 'Median time per model, goodput of model bytes and ratio murmur / bare in the same runs',
    columns: ['d', 'dtype', 'runs', 'frame bytes', 'murmur ms', 'bare ms', 'murmur MB/s', 'bare MB/s', 'murmur Mparams/s', 'bare Mparams/s', 'murmur / bare', 'encode ms', 'decode+validate ms'],
    rows: rs.map((r) => [
      r.d, r.dtype, r.runs, r.frameBytes, r.murmur.medianMs, r.bare.medianMs, r.murmur.goodputMBps, r.bare.goodputMBps,
      round(r.murmur.paramsPerS / 1e6, 4), round(r.bare.paramsPerS / 1e6, 4), r.ratio, r.encodeMs, r.decodeMs
    ])
  }

  const ds = [...new Set(rs.map((r) => r.d))].sort((a, b) => a - b)
  const pathOrder = ['murmur', 'bare stream']
  const metrics = ['MB/s of model bytes', 'million parameters/s']
  const points = rs.flatMap((r) => ([[pathOrder[0], r.murmur], [pathOrder[1], r.bare]] as const).flatMap(([path, t]) => [
    { d: r.d, dtype: r.dtype, path, metric: metrics[0], value: t.goodputMBps },
    { d: r.d, dtype: r.dtype, path, metric: metrics[1], value: round(t.paramsPerS / 1e6, 4) }
  ]))
  const dtypeOrder = DTYPES.filter((t) => rs.some((r) => r.dtype === t))
  const plots: Plot[] = [{
    name: 'goodput',
    title: 'Model-exchange goodput between two peers over TCP on loopback',
    caption: prose.render('caption.goodput'),
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      data: { values: points },
      facet: { column: { field: 'metric', type: 'nominal', sort: metrics, title: null, header: { labelFontSize: 12 } } },
      resolve: { scale: { y: 'independent' } },
      spec: {
        width: 300,
        height: 240,
        mark: { type: 'line', point: true, strokeWidth: 1.6 },
        encoding: {
          x: { field: 'd', type: 'quantitative', scale: { type: 'log' }, title: 'parameters d', axis: { values: ds, format: '.0e' } },
          y: { field: 'value', type: 'quantitative', scale: { type: 'log', nice: false, padding: 8 }, title: null, axis: { values: logTicks(points.map((q) => q.value)), format: '~g' } },
          color: { field: 'path', type: 'nominal', sort: pathOrder, title: 'path', scale: { domain: pathOrder, range: ['#e45756', '#4c78a8'] } },
          strokeDash: { field: 'dtype', type: 'nominal', sort: dtypeOrder, title: 'dtype', scale: { domain: dtypeOrder, range: [[1, 0], [5, 3]] }, legend: { symbolType: 'stroke', symbolStrokeWidth: 1.6, encode: { symbols: { update: { stroke: { value: '#555' } } } } } },
          detail: { field: 'dtype', type: 'nominal' }
        }
      }
    }
  }]

  // Murmur's median time split into codec and the rest, in units of the bare transfer's time.
  const parts = ['encode', 'streams + transfer', 'decode + validate', 'bare stream (= 1)'] as const
  const split = rs.flatMap((r) => {
    const rest = Math.max(0, r.murmur.medianMs - r.encodeMs - r.decodeMs)
    const scale = r.bare.medianMs
    return [
      ...[r.encodeMs, rest, r.decodeMs].map((ms, k) => ({ cell: label(r), path: 'murmur', part: parts[k], order: k, x: round(ms / scale, 4) })),
      { cell: label(r), path: 'bare', part: parts[3], order: 0, x: 1 }
    ]
  })
  plots.push({
    name: 'time-split',
    title: 'Where a model exchange spends its time, relative to the bare transfer',
    caption: prose.render('caption.time-split'),
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      width: 420,
      height: { step: 14 },
      data: { values: split },
      mark: { type: 'bar' },
      encoding: {
        y: { field: 'cell', type: 'nominal', sort: rs.map(label), title: null },
        yOffset: { field: 'path', type: 'nominal', sort: ['murmur', 'bare'] },
        x: { field: 'x', type: 'quantitative', stack: 'zero', title: '× median time of the bare transfer' },
        color: { field: 'part', type: 'nominal', sort: [...parts], title: null, scale: { domain: [...parts], range: ['#f58518', '#e45756', '#54a24b', '#4c78a8'] }, legend: { labelLimit: 300 } },
        order: { field: 'order', type: 'quantitative' }
      }
    }
  })

  const checks: Check[] = []
  const numbers = rs.flatMap((r) => [r.murmur.medianMs, r.bare.medianMs, r.murmur.goodputMBps, r.bare.goodputMBps, r.ratio, r.encodeMs, r.decodeMs])
  const finite = allFinite(rs) && numbers.every((v) => Number.isFinite(v) && v > 0) && rs.every((r) => r.runs > 0)
  checks.push({ name: 'timings finite and positive', ok: finite, detail: `${numbers.length} medians over ${rs.length} cell${rs.length === 1 ? '' : 's'}` })

  const halves = ds.flatMap((d) => {
    const f32 = rs.find((r) => r.d === d && r.dtype === 'f32')
    const f16 = rs.find((r) => r.d === d && r.dtype === 'f16')
    return f32 === undefined || f16 === undefined ? [] : [{ d, share: f16.frameBytes / f32.frameBytes }]
  })
  if (halves.length > 0) {
    checks.push({
      name: 'f16 frames are half the f32 frames',
      // Only the header and ids (a few dozen bytes) are not halved.
      ok: halves.every((h) => Math.abs(h.share - 0.5) < 0.01),
      detail: halves.map((h) => `d=${exp10(h.d)}: ${round(h.share, 5)}`).join(', ')
    })
  }

  const badModels = rs.filter((r) => r.verify.runs < 1 || r.verify.mismatches > 0)
  checks.push({
    name: 'received model equals the sent one',
    ok: badModels.length === 0,
    detail: badModels.length === 0
      ? `every run of every cell (${rs.reduce((s, r) => s + r.verify.runs, 0)} models): f32 bit-exact, f16 equal to the sent values rounded to half precision (largest error ${round(Math.max(0, ...rs.filter((r) => r.dtype === 'f16').map((r) => r.verify.maxError)), 3)} of max |value|)`
      : badModels.map((r) => `${label(r)}: ${r.verify.mismatches} coordinates differ over ${r.verify.runs} runs`).join('; ')
  })
  const badBare = rs.filter((r) => r.verify.bareExact !== r.runs + r.warmup)
  checks.push({
    name: 'bare transfers delivered every byte',
    ok: badBare.length === 0,
    detail: badBare.length === 0 ? 'the raw receiver counted exactly the frame and its length prefix in every run' : badBare.map(label).join(', ')
  })
  // A bound on timings is a result of the full run, not something the quick profile (what CI
  // asserts, on whatever else the machine is doing) can promise.
  const worst = rs.reduce<NetworkResult | undefined>((w, r) => (w === undefined || r.ratio > w.ratio ? r : w), undefined)
  if (profile === 'full') {
    checks.push({
      name: `murmur within ${MAX_RATIO}× the bare stream`,
      ok: rs.every((r) => r.ratio < MAX_RATIO),
      detail: worst === undefined ? 'no cells' : `largest median ratio ${worst.ratio} at ${label(worst)}`
    })
  }

  const runs = rs[0]?.runs ?? '?'
  const notes = [
    prose.render('setup', { rawProtocol: RAW_PROTOCOL }),
    prose.render('timing', { warmup: rs[0]?.warmup ?? '?', runs }),
    prose.render('codec'),
    ...(profile === 'quick' ? [prose.render('quick')] : [])
  ]
  return { tables: [table], plots, checks, notes }
}

export const network = defineSuite<Params, NetworkResult>({
  name: 'network',
  summary: 'model-exchange goodput between two libp2p peers over TCP, murmur protocol vs a bare stream',
  fullDuration: '~40 s',
  options: {
    d: { type: 'string', placeholder: 'list', description: 'comma-separated model sizes d (default 1e5,1e6,1e7; quick: 1e5,1e6)' },
    dtypes: { type: 'string', placeholder: 'list', description: 'comma-separated wire formats (default f32,f16)' },
    runs: { type: 'integer', description: 'timed rounds per cell, each path once per round (default 9; quick: 5)' }
  },
  cells: (profile, options) => {
    const quick = profile === 'quick'
    const ds = [...new Set(sizeList(options.d, 'd', quick ? [1e5, 1e6] : [1e5, 1e6, 1e7], { max: 5e7, what: 'dimensions' }))]
    const dtypes = parseDtypes(options.dtypes)
    const runs = options.runs === undefined ? (quick ? 5 : 9) : Number(options.runs)
    if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs: expected an integer ≥ 1, got ${String(options.runs)}`)
    const cells: Array<Cell<Params>> = []
    for (const d of ds) {
      for (const dtype of dtypes) {
        const params: Params = { d, dtype, runs }
        cells.push({ id: `d${exp10(d)}-${dtype}`, params, seed: 20240701 + Math.round(Math.log10(d) * 10) })
      }
    }
    return cells
  },
  run: runCell,
  summarize
})
