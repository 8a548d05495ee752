import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { kernels, useKernels } from '../../src/kernels/index.ts'
import type { Kernels } from '../../src/kernels/index.ts'
import { arc, arcClipCount, bucketing, clipping, nnm } from '../../src/preaggregators.ts'
import { createRng } from '../../src/rng.ts'
import { RobustInputError } from '../../src/errors.ts'

const vec = (...v: number[]): Float32Array => Float32Array.from(v)
const rows = (outs: Float32Array[]): number[][] => outs.map((o) => Array.from(o))

function assertClose (actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-6): void {
  assert.equal(actual.length, expected.length)
  for (let j = 0; j < expected.length; j++) {
    assert.ok(Math.abs(actual[j] - expected[j]) <= tol * Math.max(1, Math.abs(expected[j])), `coordinate ${j}: ${actual[j]} vs ${expected[j]}`)
  }
}

/** Counts kernel calls made while `run` executes. */
function countingKernels (run: () => void): { combine: number, sqDistances: number, outputs: number } {
  const base = kernels()
  const counts = { combine: 0, sqDistances: 0, outputs: 0 }
  const spy: Kernels = {
    ...base,
    combine: (inputs, coeffs, outs) => { counts.combine++; counts.outputs += outs.length; base.combine(inputs, coeffs, outs) },
    sqDistances: (inputs) => { counts.sqDistances++; return base.sqDistances(inputs) }
  }
  useKernels(spy)
  try { run() } finally { useKernels(base) }
  return counts
}

describe('nnm', () => {
  test('each input becomes the mean of its n − f nearest (hand-computed, 2-D)', () => {
    // Distances from (5,5): 50, 41, 34, 0, so its 3 nearest are itself, (0,2) and (1,0).
    const inputs = [vec(0, 0), vec(1, 0), vec(0, 2), vec(5, 5)]
    const out = nnm().apply(inputs, { f: 1 })
    assert.equal(out.length, 4)
    assertClose(out[0], [1 / 3, 2 / 3])
    assertClose(out[1], [1 / 3, 2 / 3])
    assertClose(out[2], [1 / 3, 2 / 3])
    assertClose(out[3], [2, 7 / 3])
  })

  test('equal distances go to the lower index', () => {
    // From 0 both −1 (index 1) and +1 (index 2) are at distance 1: the lower index wins.
    const out = nnm().apply([vec(0), vec(-1), vec(1)], { f: 1 })
    assert.deepEqual(rows(out), [[-0.5], [-0.5], [0.5]])
  })

  test('f = 0 replaces every input by the mean of all', () => {
    const out = nnm().apply([vec(1, 2), vec(3, 6)], { f: 0 })
    assert.deepEqual(rows(out), [[2, 4], [2, 4]])
  })

  test('one distance pass, one combine producing the n outputs; inputs untouched', () => {
    const inputs = [vec(0, 0), vec(1, 0), vec(0, 2), vec(5, 5), vec(9, 9)]
    const copy = rows(inputs)
    let out: Float32Array[] = []
    const counts = countingKernels(() => { out = nnm().apply(inputs, { f: 2 }) })
    assert.deepEqual(counts, { combine: 1, sqDistances: 1, outputs: 5 })
    assert.equal(out.length, 5)
    for (const o of out) assert.ok(!inputs.includes(o))
    assert.deepEqual(rows(inputs), copy)
  })

  test('bound n > 2f and bad input are refused with named errors', () => {
    assert.equal(nnm().minInputs(3), 7)
    assert.throws(() => nnm().apply([vec(1), vec(2)], { f: 1 }), (e: unknown) => e instanceof RobustInputError && e.code === 'too-few-inputs')
    assert.throws(() => nnm().apply([vec(1), vec(NaN), vec(2)], { f: 1 }), /non-finite/)
  })
})

describe('bucketing', () => {
  // 2^i as input i: a bucket's sum names its members.
  const inputs = [1, 2, 4, 8, 16].map((v) => vec(v))

  test('fixed seed: permutation [4,2,3,1,0] gives buckets {4,2}, {3,1}, {0} (last one smaller)', () => {
    // Pivot 0 lies in the third bucket, which moves to the front.
    const out = bucketing({ s: 2 }).apply(inputs, { f: 1, rng: createRng(7) })
    assert.deepEqual(rows(out), [[1], [5], [10]])
  })

  test('the bucket holding the pivot comes first', () => {
    const out = bucketing({ s: 2 }).apply(inputs, { f: 1, rng: createRng(7), pivot: 3 })
    assert.deepEqual(rows(out), [[5], [10], [1]])
  })

  test('every input lands in exactly one bucket, the pivot in the first', () => {
    const popcount = (v: number): number => v.toString(2).split('').filter((c) => c === '1').length
    for (let seed = 0; seed < 20; seed++) {
      const out = bucketing({ s: 3 }).apply(inputs, { f: 1, rng: createRng(seed) })
      assert.equal(out.length, 2)
      // Sizes are 3 and 2 in some order: member sums must be disjoint bit sets covering 1..16.
      const valid = [[3, 2], [2, 3]].filter((sizes) => {
        const sums = sizes.map((size, b) => out[b][0] * size)
        if (!sums.every((v) => Math.abs(v - Math.round(v)) < 1e-4)) return false
        const [a, b] = sums.map(Math.round)
        return popcount(a) === sizes[0] && popcount(b) === sizes[1] && (a & b) === 0 && (a | b) === 31 && (a & 1) === 1
      })
      assert.equal(valid.length, 1, `seed ${seed}: ${rows(out)}`)
    }
  })

  test('nextF = ⌈f/s⌉, ⌈n/s⌉ outputs, name and parameter checks', () => {
    const b = bucketing({ s: 2 })
    assert.equal(b.nextF(3, 9), 2)
    assert.equal(b.nextF(4, 9), 2)
    assert.equal(b.outputs?.(9), 5)
    assert.equal(b.name, 'bucketing')
    assert.equal(bucketing({ s: 3, seed: 4 }).name, 'bucketing(s=3,seed=4)')
    assert.throws(() => bucketing({ s: 0 }), /s must be an integer/)
    assert.throws(() => bucketing({ s: 1.5 }), /s must be an integer/)
  })

  test('without options.rng: reproducible from the seed, and successive calls reshuffle', () => {
    const many = Array.from({ length: 8 }, (_, i) => vec(2 ** i))
    const a = bucketing({ s: 2, seed: 5 })
    const b = bucketing({ s: 2, seed: 5 })
    const first = rows(a.apply(many, { f: 1 }))
    assert.deepEqual(rows(b.apply(many, { f: 1 })), first)
    const later = Array.from({ length: 5 }, () => JSON.stringify(rows(a.apply(many, { f: 1 }))))
    assert.ok(later.some((r) => r !== JSON.stringify(first)))
  })

  test('one combine writes all bucket means', () => {
    const counts = countingKernels(() => { bucketing({ s: 2 }).apply(inputs, { f: 0, rng: createRng(1) }) })
    assert.deepEqual(counts, { combine: 1, sqDistances: 0, outputs: 3 })
  })
})

describe('clipping', () => {
  test('only inputs longer than c are scaled (copies); the rest pass through by reference', () => {
    const inputs = [vec(3, 4), vec(1, 0), vec(0, 2), vec(-6, 8)]
    const out = clipping({ c: 2 }).apply(inputs, { f: 0 })
    assertClose(out[0], [1.2, 1.6])
    assert.equal(out[1], inputs[1])
    assert.equal(out[2], inputs[2]) // norm exactly c: untouched
    assertClose(out[3], [-1.2, 1.6])
    assert.deepEqual(Array.from(inputs[0]), [3, 4])
  })

  test('c must be positive', () => {
    assert.throws(() => clipping({ c: 0 }), /c must be a finite number > 0/)
    assert.throws(() => clipping({ c: NaN }), /c must be/)
  })
})

describe('arc', () => {
  test('k = ⌊2 (f/n)(n − f)⌋: n = 17, f = 4 gives 6', () => {
    assert.equal(arcClipCount(17, 4), 6)
    assert.equal(arcClipCount(10, 0), 0)
    assert.equal(arcClipCount(5, 2), 2) // 2·2·3/5 = 2.4
    assert.equal(arcClipCount(10, 3), 4) // 2·3·7/10 = 4.2
  })

  test('n = 17, f = 4: the six largest norms (12..17) are clipped to 11, signs kept', () => {
    // Norms 1..17 in a scrambled order, alternating signs.
    const order = [5, 17, 2, 9, 14, 1, 11, 16, 3, 8, 13, 6, 12, 4, 15, 7, 10]
    const inputs = order.map((v, i) => vec(i % 2 === 0 ? v : -v, 0))
    const out = arc().apply(inputs, { f: 4 })
    let clipped = 0
    for (let i = 0; i < 17; i++) {
      const v = order[i]
      const sign = i % 2 === 0 ? 1 : -1
      if (v > 11) {
        clipped++
        assertClose(out[i], [sign * 11, 0])
        assert.notEqual(out[i], inputs[i])
      } else {
        assert.equal(out[i], inputs[i])
      }
    }
    assert.equal(clipped, 6)
  })

  test('f = 0 changes nothing; ties at the threshold are not copied', () => {
    const inputs = [vec(1), vec(2), vec(2)]
    const none = arc().apply(inputs, { f: 0 })
    assert.ok(none.every((o, i) => o === inputs[i]))
    // n = 5, f = 2: k = 2. Norms sorted: 1, 2, 3 (input 1), 3 (input 2), 9: the top two are
    // inputs 2 and 4, the threshold the largest remaining norm, 3. Input 2 sits on it: not copied.
    const five = [vec(1), vec(3), vec(3), vec(2), vec(9)]
    const out = arc().apply(five, { f: 2 })
    assert.deepEqual(rows(out), [[1], [3], [3], [2], [3]])
    assert.equal(out[2], five[2])
    assert.notEqual(out[4], five[4])
  })
})
