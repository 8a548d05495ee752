import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { createRng, jsKernels, wasmKernels } from '../../src/index.ts'
import type { Kernels, Rng } from '../../src/index.ts'
import { applyNetwork, pruneNetwork, sortingNetwork } from '../../src/kernels/network.ts'
import { createWasmKernels } from '../../src/kernels/wasm.ts'

const loaded = wasmKernels()
let wasm = loaded as Kernels

describe('js kernels', () => {
  test('trimmed mean, median and meamed on a hand-computed column', () => {
    const inputs = [1, 2, 3, 10, -5].map((v) => Float32Array.of(v))
    const out = new Float32Array(1)
    jsKernels.median(inputs, out)
    assert.equal(out[0], 2)
    jsKernels.trimmedMean(inputs, 1, out)
    assert.equal(out[0], 2)
    jsKernels.meamed(inputs, 3, out) // the 3 values closest to 2: {1, 2, 3}
    assert.equal(out[0], 2)
  })
})

describe('comparator networks', () => {
  test('Batcher networks sort every 0/1 input for n ≤ 12 (hence every input, by the 0-1 principle)', () => {
    for (let n = 1; n <= 12; n++) {
      const net = sortingNetwork(n)
      const v = new Float64Array(n)
      for (let mask = 0; mask < 1 << n; mask++) {
        for (let i = 0; i < n; i++) v[i] = (mask >> i) & 1
        applyNetwork(net, v)
        for (let i = 1; i < n; i++) assert.ok(v[i - 1] <= v[i], `n=${n} mask=${mask}`)
      }
    }
  })

  test('Batcher networks sort random columns for n up to 100, with the known sizes for powers of two', () => {
    assert.equal(sortingNetwork(8).length / 2, 19)
    assert.equal(sortingNetwork(16).length / 2, 63)
    assert.equal(sortingNetwork(32).length / 2, 191)
    const rng = createRng(5)
    for (let n = 13; n <= 100; n += 3) {
      const net = sortingNetwork(n)
      for (let rep = 0; rep < 20; rep++) {
        const v = Float64Array.from({ length: n }, () => rng.int(7) - 3)
        const expected = Float64Array.from(v).sort()
        applyNetwork(net, v)
        assert.deepEqual(v, expected)
      }
    }
  })

  test('pruning keeps what a summed or ignored class of wires needs, and drops comparators', () => {
    const rng = createRng(6)
    for (const n of [5, 8, 17, 32]) {
      const trim = n >> 2
      const classes = Int32Array.from({ length: n }, (_, w) => (w >= trim && w < n - trim ? 1 : 0))
      const full = sortingNetwork(n)
      const pruned = pruneNetwork(full, classes)
      assert.ok(pruned.length < full.length, `n=${n}: nothing pruned`)
      for (let rep = 0; rep < 50; rep++) {
        const v = Float64Array.from({ length: n }, () => rng.int(10))
        const sorted = Float64Array.from(v).sort()
        applyNetwork(pruned, v)
        const middle = Array.from(v.subarray(trim, n - trim)).sort((a, b) => a - b)
        assert.deepEqual(middle, Array.from(sorted.subarray(trim, n - trim)))
      }
    }
  })
})

// ---------------------------------------------------------------------------------------------
// WebAssembly against the TypeScript reference

type Fill = 'normal' | 'ties' | 'duplicates' | 'zeros' | 'large' | 'tiny'

function makeInputs (n: number, d: number, fill: Fill, rng: Rng): Float32Array[] {
  const inputs: Float32Array[] = []
  for (let i = 0; i < n; i++) {
    const x = new Float32Array(d)
    for (let j = 0; j < d; j++) {
      switch (fill) {
        case 'normal': x[j] = rng.normal(); break
        case 'ties': x[j] = rng.int(5) - 2; break
        case 'zeros': x[j] = rng.next() < 0.5 ? -0 : (rng.next() < 0.5 ? 0 : rng.int(3) - 1); break
        case 'large': x[j] = (rng.next() < 0.5 ? -1 : 1) * 10 ** (25 + 13 * rng.next()); break
        case 'tiny': x[j] = rng.normal() * 1e-30; break
        case 'duplicates': x[j] = i % 3 === 0 ? inputs[0]?.[j] ?? rng.normal() : rng.normal(); break
      }
    }
    inputs.push(x)
  }
  return inputs
}

/** Numeric equality that lets -0 equal 0 (the WebAssembly networks do not order zeros by sign). */
function assertSameValues (actual: Float32Array, expected: Float32Array, what: string): void {
  for (let j = 0; j < expected.length; j++) {
    if (actual[j] !== expected[j]) assert.fail(`${what}: coordinate ${j}: wasm ${actual[j]}, js ${expected[j]}`)
  }
}

function assertRelative (actual: ArrayLike<number>, expected: ArrayLike<number>, scale: ArrayLike<number>, tol: number, what: string): void {
  for (let j = 0; j < expected.length; j++) {
    const err = Math.abs(actual[j] - expected[j])
    if (!(err <= tol * scale[j])) assert.fail(`${what}: entry ${j}: wasm ${actual[j]}, js ${expected[j]} (scale ${scale[j]})`)
  }
}

function checkCoordinatewise (inputs: Float32Array[], what: string): void {
  const n = inputs.length
  const d = inputs[0].length
  const expected = new Float32Array(d)
  const actual = new Float32Array(d).fill(NaN)
  for (const trim of new Set([0, (n - 1) >> 2, (n - 1) >> 1])) {
    jsKernels.trimmedMean(inputs, trim, expected)
    wasm.trimmedMean(inputs, trim, actual)
    assertSameValues(actual, expected, `${what} trimmedMean(${trim})`)
  }
  jsKernels.median(inputs, expected)
  wasm.median(inputs, actual.fill(NaN))
  assertSameValues(actual, expected, `${what} median`)
  for (const keep of new Set([1, n - ((n - 1) >> 1), n - (n >> 2), n])) {
    jsKernels.meamed(inputs, keep, expected)
    wasm.meamed(inputs, keep, actual.fill(NaN))
    // same window, but summed in another order: allow f64 rounding, then f32 rounding
    const scale = new Float64Array(d)
    for (let j = 0; j < d; j++) for (let i = 0; i < n; i++) scale[j] = Math.max(scale[j], Math.abs(inputs[i][j]))
    assertRelative(actual, expected, scale, 1e-6, `${what} meamed(${keep})`)
  }
}

function checkLinear (inputs: Float32Array[], rng: Rng, what: string): void {
  const n = inputs.length
  const d = inputs[0].length
  // three outputs at once: the mean, signed random weights, and a sparse combination
  const coeffs = new Float64Array(3 * n)
  for (let i = 0; i < n; i++) {
    coeffs[i] = 1 / n
    coeffs[n + i] = rng.normal()
    coeffs[2 * n + i] = i % 2 === 0 ? 0 : 1 / 3
  }
  const expected = [0, 1, 2].map(() => new Float32Array(d))
  const actual = [0, 1, 2].map(() => new Float32Array(d).fill(NaN))
  jsKernels.combine(inputs, coeffs, expected)
  wasm.combine(inputs, coeffs, actual)
  for (let r = 0; r < 3; r++) {
    const scale = new Float64Array(d)
    for (let j = 0; j < d; j++) {
      for (let i = 0; i < n; i++) scale[j] += Math.abs(coeffs[r * n + i] * inputs[i][j])
      scale[j] = Math.max(scale[j], 1e-37)
    }
    assertRelative(actual[r], expected[r], scale, 1e-5, `${what} combine output ${r}`)
  }
  // with a negative coefficient the sum is exact: the same f64 sum as the reference
  if (coeffs.subarray(n, 2 * n).some((c) => c < 0)) assertSameValues(actual[1], expected[1], `${what} exact combine`)

  const dist = wasm.sqDistances(inputs)
  const ref = jsKernels.sqDistances(inputs)
  assert.equal(dist.length, n * n)
  for (let i = 0; i < n; i++) {
    assert.equal(dist[i * n + i], 0)
    for (let k = 0; k < n; k++) assert.equal(dist[i * n + k], dist[k * n + i])
  }
  assertRelative(dist, ref, ref, 1e-5, `${what} sqDistances`)

  const center = inputs[rng.int(n)]
  const to = jsKernels.sqDistancesTo(inputs, center)
  assertRelative(wasm.sqDistancesTo(inputs, center), to, to, 1e-5, `${what} sqDistancesTo`)
}

describe('wasm kernels', () => {
  test('load in this runtime', () => {
    assert.ok(loaded !== undefined, 'the WebAssembly SIMD kernels did not load')
    assert.equal(wasm.name, 'wasm')
  })

  test('hand-computed values, including ties in distance to the median', () => {
    const column = (values: number[]): Float32Array[] => values.map((v) => Float32Array.of(v, -v, v + 0.5, 2 * v, v))
    const out = new Float32Array(5)
    const inputs = column([1, 2, 3, 10, -5])
    wasm.median(inputs, out)
    assert.deepEqual(Array.from(out), [2, -2, 2.5, 4, 2])
    wasm.trimmedMean(inputs, 1, out)
    assert.deepEqual(Array.from(out), [2, -2, 2.5, 4, 2])
    wasm.meamed(inputs, 3, out)
    assert.deepEqual(Array.from(out), [2, -2, 2.5, 4, 2])
    wasm.trimmedMean(inputs, 0, out) // plain mean: 11 / 5
    assert.deepEqual(Array.from(out), Array.from(Float32Array.of(2.2, -2.2, 2.7, 4.4, 2.2)))
    // even n: median of 0, 1, 2, 3 is 1.5; keeping 3, the values 0 and 3 are equally far: 0 wins
    const even = column([3, 0, 2, 1])
    wasm.median(even, out)
    assert.deepEqual(Array.from(out), [1.5, -1.5, 2, 3, 1.5])
    wasm.meamed(even, 3, out)
    assert.deepEqual(Array.from(out), [1, -2, 1.5, 2, 1])
    jsKernels.meamed(even, 3, out)
    assert.deepEqual(Array.from(out), [1, -2, 1.5, 2, 1])
    wasm.meamed(even, 2, out)
    assert.deepEqual(Array.from(out), [1.5, -1.5, 2, 3, 1.5])

    const a = Float32Array.of(1, 2, 3)
    const b = Float32Array.of(4, 6, 3)
    const c = Float32Array.of(1, 2, 4)
    assert.deepEqual(Array.from(wasm.sqDistances([a, b, c])), [0, 25, 1, 25, 0, 26, 1, 26, 0])
    assert.deepEqual(Array.from(wasm.sqDistancesTo([a, b, c], b)), [25, 0, 26])
    const outs = [new Float32Array(3), new Float32Array(3)]
    wasm.combine([a, b, c], Float64Array.of(1, 1, 1, 0.5, -1, 0), outs)
    assert.deepEqual(Array.from(outs[0]), [6, 10, 10])
    assert.deepEqual(Array.from(outs[1]), [-3.5, -5, -1.5])
  })

  test('match the TypeScript kernels across shapes (n = 1…64, d = 1…4097)', () => {
    const rng = createRng(2024)
    for (const n of [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 32, 33, 63, 64]) {
      for (const d of [1, 3, 5, 8, 4097]) {
        if (d === 4097 && n > 17 && n !== 64) continue
        const inputs = makeInputs(n, d, 'normal', rng)
        checkCoordinatewise(inputs, `n=${n} d=${d}`)
        checkLinear(inputs, rng, `n=${n} d=${d}`)
      }
    }
  })

  test('match across chunk and tile boundaries (d larger than one chunk)', () => {
    const rng = createRng(7)
    for (const [n, d] of [[2, 70001], [8, 20003], [24, 9001]]) {
      const inputs = makeInputs(n, d, 'normal', rng)
      checkCoordinatewise(inputs, `n=${n} d=${d}`)
      checkLinear(inputs, rng, `n=${n} d=${d}`)
    }
  })

  test('match with tiny chunks and tiles (many chunk, tile and tail boundaries) and n up to 100', () => {
    const rng = createRng(8)
    const shared = wasm
    wasm = createWasmKernels({ chunkBytes: 4096, sortTileBytes: 512, distanceTileBytes: 512, combineTileBytes: 256 })
    try {
      for (const [n, d] of [[1, 77], [3, 301], [5, 97], [12, 263], [33, 130], [100, 9]]) {
        const inputs = makeInputs(n, d, n % 2 === 0 ? 'ties' : 'normal', rng)
        checkCoordinatewise(inputs, `small blocks n=${n} d=${d}`)
        checkLinear(inputs, rng, `small blocks n=${n} d=${d}`)
      }
    } finally {
      wasm = shared
    }
  })

  test('match on ties, duplicate inputs, signed zeros, large and tiny magnitudes', () => {
    const rng = createRng(99)
    for (const fill of ['ties', 'duplicates', 'zeros', 'large', 'tiny'] as const) {
      for (const [n, d] of [[3, 7], [6, 33], [11, 130], [32, 61]]) {
        const inputs = makeInputs(n, d, fill, rng)
        checkCoordinatewise(inputs, `${fill} n=${n} d=${d}`)
        checkLinear(inputs, rng, `${fill} n=${n} d=${d}`)
      }
    }
  })

  test('f32 overflow and underflow fall back to f64 (huge and nearly equal vectors)', () => {
    const d = 1000
    const big = new Float32Array(d).fill(3e38)
    const other = new Float32Array(d).fill(-3e38)
    const near = new Float32Array(d).fill(1e-20)
    const nearer = Float32Array.from(near)
    nearer[17] = near[17] * (1 + 2 ** -23) // one ulp apart: the square underflows f32
    const inputs = [big, other, near, nearer]
    const dist = wasm.sqDistances(inputs)
    assertRelative(dist, jsKernels.sqDistances(inputs), jsKernels.sqDistances(inputs), 1e-12, 'sqDistances')
    assert.ok(Math.abs(dist[1] / (d * (2 * Math.fround(3e38)) ** 2) - 1) < 1e-12, `overflow: ${dist[1]}`)
    assert.equal(dist[2 * 4 + 3], (nearer[17] - near[17]) ** 2)
    assert.ok(dist[2 * 4 + 3] > 0)
    const to = jsKernels.sqDistancesTo(inputs, nearer)
    assertRelative(wasm.sqDistancesTo(inputs, nearer), to, to, 1e-12, 'sqDistancesTo')
    // 2 · 3e38 overflows f32 although the combination 2a − a = 3e38 does not
    const outs = [new Float32Array(d)]
    wasm.combine([big, big], Float64Array.of(2, -1), outs)
    assert.ok(outs[0].every((v) => v === Math.fround(3e38)), `combine: ${outs[0][0]}`)
  })

  test('never modify their inputs, and keep their memory small and reused across calls', () => {
    const own = createWasmKernels()
    const rng = createRng(3)
    const n = 16
    const d = 100_000
    const inputs = makeInputs(n, d, 'normal', rng)
    const copies = inputs.map((x) => Float32Array.from(x))
    const out = new Float32Array(d)
    const runAll = (): void => {
      own.trimmedMean(inputs, 2, out)
      own.median(inputs, out)
      own.meamed(inputs, 6, out)
      own.combine(inputs, new Float64Array(n).fill(1 / n), [out])
      own.sqDistances(inputs)
      own.sqDistancesTo(inputs, inputs[1])
    }
    runAll()
    const bytes = own.memoryBytes()
    runAll()
    assert.equal(own.memoryBytes(), bytes, 'memory grew on a repeated call')
    // chunks, not whole inputs, live in linear memory
    assert.ok(bytes < (n * d * 4) / 4, `linear memory ${bytes} bytes for ${n * d * 4} bytes of inputs`)
    assert.deepEqual(inputs, copies)
  })

  test('reject a trim or keep that leaves no values', () => {
    const inputs = [Float32Array.of(1), Float32Array.of(2)]
    assert.throws(() => wasm.trimmedMean(inputs, 1, new Float32Array(1)), RangeError)
    assert.throws(() => wasm.meamed(inputs, 0, new Float32Array(1)), RangeError)
    assert.throws(() => wasm.meamed(inputs, 3, new Float32Array(1)), RangeError)
  })
})

describe('kernels()', () => {
  const node = process.execPath
  const script = "import { kernels } from './packages/robust/src/index.ts'; console.log(kernels().name)"
  const run = (value: string | undefined): string => {
    const env = { ...process.env }
    if (value === undefined) delete env.MURMUR_KERNELS
    else env.MURMUR_KERNELS = value
    const cwd = fileURLToPath(new URL('../../../../', import.meta.url))
    return execFileSync(node, ['--input-type=module', '-e', script], { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()
  }

  test('defaults to wasm and honours MURMUR_KERNELS=js|wasm', () => {
    assert.equal(run(undefined), 'wasm')
    assert.equal(run('js'), 'js')
    assert.equal(run('wasm'), 'wasm')
  })

  test('rejects an unknown MURMUR_KERNELS value', () => {
    assert.throws(() => run('gpu'), /MURMUR_KERNELS must be 'js' or 'wasm', got 'gpu'/)
  })
})
