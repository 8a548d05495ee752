import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { mean } from '../../src/aggregators/mean.ts'
import { createRule, describeRule, ruleUsesWeights, ruleWeights } from '../../src/compose.ts'
import { RobustInputError } from '../../src/errors.ts'
import { gossipAggregate, metropolisWeights, mixMetropolis, robustMix } from '../../src/gossip.ts'
import { listRules, RULES } from '../../src/registry.ts'
import { createRng } from '../../src/rng.ts'
import type { Rng } from '../../src/rng.ts'
import type { AggregateOptions } from '../../src/types.ts'

const vec = (...v: number[]): Float32Array => Float32Array.from(v)
const scalars = (...v: number[]): Float32Array[] => v.map((x) => vec(x))

function assertClose (actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-6): void {
  assert.equal(actual.length, expected.length)
  for (let j = 0; j < expected.length; j++) {
    assert.ok(Math.abs(actual[j] - expected[j]) <= tol * Math.max(1, Math.abs(expected[j])), `coordinate ${j}: ${actual[j]} vs ${expected[j]}`)
  }
}

function refuses (weights: ArrayLike<number>, pattern: RegExp, n = 3): void {
  const inputs = Array.from({ length: n }, (_, i) => vec(i))
  assert.throws(() => mean().aggregate(inputs, { f: 0, weights }), (e: unknown) => {
    assert.ok(e instanceof RobustInputError, String(e))
    assert.equal(e.code, 'bad-parameter')
    assert.match(e.message, pattern)
    return true
  })
}

function randomInputs (rng: Rng, n: number, d: number): Float32Array[] {
  return Array.from({ length: n }, () => Float32Array.from({ length: d }, () => 3 * rng.normal()))
}

describe('mean with gossip weights', () => {
  test('hand-computed: Σ_j w_j x_j / Σ_j w_j', () => {
    // 0.8·0 + 0.1·10 + 0.1·20 = 3, not the plain 10.
    assertClose(mean().aggregate(scalars(0, 10, 20), { f: 0, weights: [0.8, 0.1, 0.1] }), [3])
    assertClose(mean().aggregate(scalars(10, 20), { f: 0, weights: [0.8, 0.2] }), [12])
    // Weights need not sum to 1: (3·(10, 0) + 1·(20, 4)) / 4.
    assertClose(mean().aggregate([vec(10, 0), vec(20, 4)], { f: 0, weights: Float64Array.of(3, 1) }), [12.5, 1])
    // A zero weight removes an input whatever its value.
    assertClose(mean().aggregate(scalars(0, 10, 1e6), { f: 0, weights: [0.5, 0.5, 0] }), [5])
    // One input, any positive weight.
    assertClose(mean().aggregate(scalars(7), { f: 0, weights: [0.25] }), [7])
  })

  test('without weights it stays the plain average, and writes into out', () => {
    assertClose(mean().aggregate(scalars(0, 10, 20), { f: 0 }), [10])
    const out = new Float32Array(1)
    assert.equal(mean().aggregate(scalars(0, 10, 20), { f: 0, weights: [0.8, 0.1, 0.1] }, out), out)
    assertClose(out, [3])
  })

  test('the D-SGD step: mean with a Metropolis row equals Σ_j W_ij x_j', () => {
    const rng = createRng(11)
    const own = Float32Array.from({ length: 5 }, () => rng.normal())
    const neighbours = randomInputs(rng, 3, 5)
    const weights = metropolisWeights(3, [1, 4, 2])
    const expected = mixMetropolis(own, neighbours, weights)
    assertClose(gossipAggregate(mean(), own, neighbours, 0, { weights }), expected)
    assertClose(robustMix(createRule('avg'), own, neighbours, 0, { weights }), expected)
  })

  test('bad weights are refused, naming the problem', () => {
    refuses([0.5, 0.5], /weights has 2 entries, expected one per input \(n = 3\)/)
    refuses([0.5, -0.1, 0.6], /weights\[1\] must be a finite number ≥ 0, got -0\.1/)
    refuses([0.5, NaN, 0.5], /weights\[1\] must be a finite number ≥ 0, got NaN/)
    refuses([Infinity, 0, 0], /weights\[0\] must be a finite number ≥ 0, got Infinity/)
    refuses([0.5, 0.5, '1' as unknown as number], /weights\[2\] must be a finite number ≥ 0, got 1/)
    refuses([0, 0, 0], /weights must have a finite positive sum, got 0/)
    refuses([1e308, 1e308, 0], /weights must have a finite positive sum, got Infinity/)
  })

  test('property: equal weights give the plain mean; any weights give the float64 reference', () => {
    const rng = createRng(5)
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + rng.int(9)
      const d = 1 + rng.int(17)
      const inputs = randomInputs(rng, n, d)
      const plain = mean().aggregate(inputs, { f: 0 })
      const c = Math.exp(4 * rng.normal())
      assertClose(mean().aggregate(inputs, { f: 0, weights: new Float64Array(n).fill(c) }), plain, 1e-6)
      const w = Float64Array.from({ length: n }, () => rng.next())
      w[rng.int(n)] += 0.1 // keeps the sum away from 0
      const sum = w.reduce((a, b) => a + b, 0)
      const expected = new Float64Array(d)
      for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) expected[j] += w[i] * inputs[i][j] / sum
      assertClose(mean().aggregate(inputs, { f: 0, weights: w }), expected, 1e-5)
    }
  })
})

describe('weights through composed rules', () => {
  const x = scalars(0, 10, 20)
  const weights = [0.8, 0.1, 0.1]

  test('stages that keep the inputs in order pass the weights on to the aggregator', () => {
    // nnm with f = 1 averages each input with its nearest other: 0 → 5, 10 → 5 (tie to the lower index), 20 → 15.
    assertClose(createRule('nnm+mean').aggregate(x, { f: 1, weights }), [0.8 * 5 + 0.1 * 5 + 0.1 * 15])
    // clip(c=15) shortens only 20 to 15.
    assertClose(createRule('clip(c=15)+mean').aggregate(x, { f: 0, weights }), [0.1 * 10 + 0.1 * 15])
    assertClose(createRule('arc+mean').aggregate(x, { f: 0, weights }), [3])
  })

  test('bucketing regroups the inputs even when s = 1: weights and pivot do not follow them', () => {
    const four = scalars(0, 10, 20, 30)
    for (let seed = 0; seed < 8; seed++) {
      // The shuffle keeps the count; skewed weights applied to it would land on the wrong inputs.
      assertClose(createRule(`bucketing(s=1,seed=${seed})+mean`).aggregate(four, { f: 0, weights: [0.5, 0.3, 0.2, 0] }), [15])
      // The pivot's bucket comes first and the rule centres on it: MoNNA around 30 keeps 30, 20, 10.
      assertClose(createRule(`bucketing(s=1,seed=${seed})+monna`).aggregate(four, { f: 1, pivot: 3 }), [20])
    }
    assertClose(createRule('bucketing+mean').aggregate(four, { f: 0, weights: [0.5, 0.3, 0.2, 0] }), [15])
  })

  test('ruleWeights and ruleUsesWeights follow the spec to its aggregator', () => {
    for (const spec of ['mean', 'avg', 'nnm+mean', 'clip(c=2)+mean', 'arc+nnm+mean', 'scclip', 'nnm+scclip(tau=1)']) {
      assert.equal(ruleUsesWeights(spec), true, spec)
    }
    for (const spec of ['cwtm', 'nnm+cwtm', 'clip(c=2)+cwtm', 'cclip(tau=1)', 'bucketing+mean', 'nnm+bucketing(s=3)+scclip']) {
      assert.equal(ruleUsesWeights(spec), false, spec)
    }
    assert.deepEqual(ruleWeights('Clip( c = 2 )+NNM+avg'), {
      rule: 'clip(c=2)+nnm+mean', used: true, stage: 'mean', reason: 'used by mean (passed on by clip(c=2), nnm)'
    })
    assert.deepEqual(ruleWeights('nnm+cwtm'), { rule: 'nnm+cwtm', used: false, stage: 'cwtm', reason: 'ignored: cwtm does not read them' })
    assert.deepEqual(ruleWeights('bucketing(s=3)+mean'), {
      rule: 'bucketing(s=3)+mean', used: false, stage: 'bucketing(s=3)', reason: 'dropped: bucketing(s=3) regroups the inputs, so mean runs without them'
    })
    assert.throws(() => ruleUsesWeights('nnm+foo'), (e: unknown) => e instanceof RobustInputError && e.code === 'unknown-rule')
  })

  test('describeRule and listRules show the treatment', () => {
    assert.match(describeRule('nnm+mean'), /\n {2}gossip weights: used by mean \(passed on by nnm\)/)
    assert.match(describeRule('bucketing+cwtm', 9), /\n {2}gossip weights: dropped: bucketing regroups the inputs/)
    const info = new Map(listRules().map((r) => [r.name, r.weights]))
    assert.deepEqual([info.get('mean'), info.get('scclip'), info.get('cwtm'), info.get('nnm'), info.get('bucketing')],
      ['used', 'used', 'ignored', 'passed', 'dropped'])
  })
})

describe('registry: every entry declares how it treats the gossip weights', () => {
  const rng = createRng(9)
  const n = 9
  const inputs = randomInputs(rng, n, 4)
  const weights = Float64Array.from({ length: n }, () => 0.05 + rng.next())
  const options: AggregateOptions = { f: 1, lossGaps: inputs.map(() => rng.next()) }
  const required: Record<string, string> = { cclip: '(tau=1)', clip: '(c=2)' }

  test('every entry has a declaration of its kind', () => {
    for (const entry of RULES) {
      const allowed = entry.kind === 'aggregator' ? ['used', 'ignored'] : ['passed', 'dropped']
      assert.ok(allowed.includes(entry.weights), `${entry.name}: weights = ${String(entry.weights)}`)
    }
    assert.deepEqual(RULES.filter((e) => e.weights === 'used').map((e) => e.name), ['mean', 'scclip'])
  })

  test('aggregators: "ignored" gives the same output with weights, "used" a different one', () => {
    for (const entry of RULES.filter((e) => e.kind === 'aggregator')) {
      const spec = entry.name + (required[entry.name] ?? '')
      // A fresh rule per call: some keep state between calls.
      const plain = createRule(spec).aggregate(inputs, options)
      const weighted = createRule(spec).aggregate(inputs, { ...options, weights })
      if (entry.weights === 'ignored') assert.deepEqual(weighted, plain, spec)
      else assert.notDeepEqual(weighted, plain, spec)
    }
  })

  test('pre-aggregators: "passed" keeps the weights aligned for the next stage, "dropped" regroups', () => {
    for (const entry of RULES.filter((e) => e.kind === 'preaggregator')) {
      const pre = entry.create({ c: 2 })
      // compose.ts stops per-input options at a stage that declares `outputs`.
      assert.equal(pre.outputs !== undefined, entry.weights === 'dropped', entry.name)
      const spec = `${entry.name}${required[entry.name] ?? ''}${entry.name === 'bucketing' ? '(s=1)' : ''}+mean`
      const got = createRule(spec).aggregate(inputs, { ...options, weights })
      if (entry.weights === 'dropped') {
        assert.deepEqual(got, createRule(spec).aggregate(inputs, options), spec)
      } else {
        // Output i of the stage comes from input i, so weight i still belongs to it.
        const staged = entry.create({ c: 2 }).apply(inputs, options)
        assertClose(got, mean().aggregate(staged, { f: 0, weights }), 1e-6)
        assert.notDeepEqual(got, createRule(spec).aggregate(inputs, options), spec)
      }
    }
  })
})
