import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { cwtm } from '../../src/aggregators/coordinatewise.ts'
import {
  composeRule, createRule, describeRule, maxTolerableF, parseRuleSpec, pipelineMinInputs, ruleRequirements
} from '../../src/compose.ts'
import { RobustInputError } from '../../src/errors.ts'
import { bucketing, nnm } from '../../src/preaggregators.ts'
import { listRules, RULES } from '../../src/registry.ts'
import { createRng } from '../../src/rng.ts'

const vec = (...v: number[]): Float32Array => Float32Array.from(v)

function fails (spec: string, code: string, pattern: RegExp): void {
  assert.throws(() => parseRuleSpec(spec), (e: unknown) => {
    assert.ok(e instanceof RobustInputError, String(e))
    assert.equal(e.code, code, e.message)
    assert.match(e.message, pattern)
    return true
  })
}

describe('parseRuleSpec', () => {
  test('stages, kinds and typed parameters', () => {
    const p = parseRuleSpec('arc+nnm+cwtm')
    assert.equal(p.spec, 'arc+nnm+cwtm')
    assert.deepEqual(p.stages.map((s) => [s.name, s.kind, s.offset]), [['arc', 'preaggregator', 0], ['nnm', 'preaggregator', 4], ['cwtm', 'aggregator', 8]])
    const c = parseRuleSpec('cclip(tau=0.1,iters=3)')
    assert.deepEqual(c.stages[0].params, { tau: 0.1, iters: 3 })
    assert.deepEqual(parseRuleSpec('krum(convention=n-f-2)').stages[0].params, { convention: 'n-f-2' })
  })

  test('normalization: case, spaces, aliases, defaults dropped, schema order', () => {
    assert.equal(parseRuleSpec(' Clip( c = 2 ) + NNM + TrMean ').spec, 'clip(c=2)+nnm+cwtm')
    assert.equal(parseRuleSpec('clipping(c=2)+nnm+cwtm').spec, 'clip(c=2)+nnm+cwtm')
    assert.equal(parseRuleSpec('bucketing(s=2)+cwmed').spec, 'bucketing+cwmed')
    assert.equal(parseRuleSpec('bucketing(s=3)+cwmed').spec, 'bucketing(s=3)+cwmed')
    assert.equal(parseRuleSpec('geomed(tol=1e-6)').spec, 'geomed')
    assert.equal(parseRuleSpec('geomed(nu=1e-9, tol=1e-7)').spec, 'geomed(tol=1e-7,nu=1e-9)')
    assert.equal(parseRuleSpec('krum(convention=N-F-2)').spec, 'krum(convention=n-f-2)')
    assert.equal(parseRuleSpec('cclip(tau=0.1,iters=3)').spec, 'cclip(tau=0.1,iters=3)')
    assert.equal(parseRuleSpec('noregret(eta=0.25)').spec, 'no-regret(eta=0.25)')
    assert.equal(parseRuleSpec('geomed(tol=5E-1)').spec, 'geomed(tol=0.5)')
    assert.equal(parseRuleSpec('cclip(tau=1e+1)').spec, 'cclip(tau=10)') // '+' inside parentheses is no stage separator
  })

  test('unknown names list the known ones, with the column', () => {
    fails('foo', 'unknown-rule', /unknown rule "foo" at column 1; known rules: nnm, bucketing, clip, arc, mean, cwmed, cwtm/)
    fails('nnm+fo+cwtm', 'unknown-rule', /unknown rule "fo" at column 5/)
  })

  test('unknown parameters list the rule\'s parameters', () => {
    fails('cwtm(x=1)', 'bad-parameter', /cwtm has no parameter "x" \(column 6\); it takes no parameters/)
    fails('geomed(tolerance=1e-6)', 'bad-parameter', /geomed has no parameter "tolerance" \(column 8\); its parameters: tol, maxIter, nu/)
  })

  test('bad values say what was expected', () => {
    fails('geomed(tol=abc)', 'bad-parameter', /bad value "abc" for parameter "tol" of geomed at column 12: expected a number/)
    fails('geomed(tol=2)', 'bad-parameter', /expected a value in \(0, 1\)/)
    fails('geomed(maxIter=2.5)', 'bad-parameter', /expected an integer/)
    fails('krum(convention=n-f-3)', 'bad-parameter', /expected one of n-f-1, n-f-2/)
    fails('bucketing(s=0)+cwtm', 'bad-parameter', /expected a value in \[1, ∞\)/)
    fails('clip(c=0)+cwtm', 'bad-parameter', /expected a value in \(0, ∞\)/)
    fails('geomed(tol=1e-6,tol=1e-7)', 'bad-parameter', /"tol" of geomed is given twice \(column 17\)/)
    fails('cclip', 'bad-parameter', /cclip at column 1 needs parameter "tau"/)
  })

  test('stage order: pre-aggregators first, exactly one aggregator last', () => {
    fails('nnm', 'bad-parameter', /nnm at column 1 is a pre-aggregator, but the last stage must be an aggregator/)
    fails('cwtm+nnm', 'bad-parameter', /cwtm at column 1 is an aggregator, but only the last stage may be one/)
    fails('nnm+cwtm+cwmed', 'bad-parameter', /cwtm at column 5 is an aggregator/)
  })

  test('syntax errors name the column', () => {
    fails('', 'bad-parameter', /empty rule spec/)
    fails('nnm+', 'bad-parameter', /expected a rule name after the '\+' at column 4/)
    fails('nnm +  ', 'bad-parameter', /expected a rule name after the '\+' at column 5/)
    fails('nnm cwtm', 'bad-parameter', /unexpected 'c' at column 5: stages are joined by '\+'/)
    fails('geomed(tol=1e-6', 'bad-parameter', /missing '\)' to close the parameters of geomed opened at column 7/)
    fails('geomed(tol)', 'bad-parameter', /expected '=' after parameter "tol" of geomed, found '\)' at column 11/)
    fails('geomed(tol=)', 'bad-parameter', /parameter "tol" of geomed at column 8 has no value/)
    fails('+cwtm', 'bad-parameter', /expected a rule name, found '\+' at column 1/)
  })
})

describe('composed rules', () => {
  test('a tolerance that is not a non-negative integer is refused at once, naming the rule', () => {
    const inputs = Array.from({ length: 9 }, (_, i) => Float32Array.of(i, -i))
    for (const spec of ['nnm+cwtm', 'bucketing+cwmed', 'clip(c=1)+mean', 'arc+cwtm']) {
      const rule = createRule(spec)
      for (const f of [Number.NaN, undefined as unknown as number, -1, 1.5, Infinity]) {
        assert.throws(() => rule.minInputs(f), (e: unknown) => e instanceof RobustInputError && e.message.startsWith(`${rule.name}: f must be`))
        assert.throws(() => rule.aggregate(inputs, { f }), RobustInputError)
      }
    }
  })

  test('createRule runs the stages in order and is named by the normalized spec', () => {
    const rng = createRng(4)
    const inputs = Array.from({ length: 9 }, () => Float32Array.from({ length: 6 }, () => rng.normal()))
    const rule = createRule(' NNM + TrMean ')
    assert.equal(rule.name, 'nnm+cwtm')
    const expected = cwtm().aggregate(nnm().apply(inputs, { f: 2 }), { f: 2 })
    assert.deepEqual(rule.aggregate(inputs, { f: 2 }), expected)
    const out = new Float32Array(6)
    assert.equal(rule.aggregate(inputs, { f: 2 }, out), out)
    assert.deepEqual(out, expected)
  })

  test('bucketing hands the next stage ⌈f/s⌉ and the bucket means', () => {
    const inputs = [1, 2, 4, 8, 16].map((v) => vec(v))
    // Seed 7 shuffles to buckets {4,2}, {3,1}, {0}: means 10, 5, 1; cwtm with f = ⌈1/2⌉ = 1 keeps 5.
    assert.deepEqual(Array.from(createRule('bucketing+cwtm').aggregate(inputs, { f: 1, rng: createRng(7) })), [5])
    // With f = 2, f for cwtm is still 1: at n = 5 the pipeline needs only 3 buckets.
    assert.deepEqual(Array.from(createRule('bucketing+cwtm').aggregate(inputs, { f: 2, rng: createRng(7) })), [5])
  })

  test('a pivot rule after bucketing centres on the bucket holding the pivot', () => {
    const inputs = [1, 2, 4, 8, 16].map((v) => vec(v))
    // Bucket means with pivot 3: [5 (the bucket of input 3), 10, 1]. MoNNA with f = 1 averages the
    // 2 means nearest the first: 5 itself and 1 (|1 − 5| = 4 < |10 − 5| = 5).
    const out = createRule('bucketing+monna').aggregate(inputs, { f: 1, rng: createRng(7), pivot: 3 })
    assert.deepEqual(Array.from(out), [3])
  })

  test('the composed bound is checked before any stage runs', () => {
    const eight = Array.from({ length: 8 }, (_, i) => vec(i))
    assert.throws(() => createRule('bucketing(s=2)+cwtm').aggregate(eight, { f: 3 }),
      /bucketing\+cwtm: needs at least 9 inputs to tolerate f = 3, got n = 8/)
    assert.throws(() => createRule('nnm+cwtm').aggregate([vec(1), vec(NaN), vec(3)], { f: 1 }),
      (e: unknown) => e instanceof RobustInputError && e.code === 'non-finite' && /nnm\+cwtm/.test(e.message))
  })

  test('a one-stage spec is the rule itself, renamed when parameters show', () => {
    const mda = createRule('mda(exactLimit=10)') as ReturnType<typeof createRule> & { weights?: unknown, exactFor?: (n: number, f: number) => boolean }
    assert.equal(mda.name, 'mda(exactLimit=10)')
    assert.equal(typeof mda.weights, 'function')
    assert.equal(mda.exactFor?.(12, 2), false) // C(12, 2) = 66 > 10
    const inputs = [vec(0), vec(1), vec(2), vec(50)]
    assert.deepEqual(Array.from(mda.aggregate(inputs, { f: 1 })), [1])
    assert.equal(createRule('mda').name, 'mda')
  })

  test('composeRule chains programmatic stages the same way', () => {
    const rule = composeRule([bucketing({ s: 2 })], cwtm())
    assert.equal(rule.name, 'bucketing+cwtm')
    assert.equal(rule.minInputs(3), 9)
  })
})

describe('what a spec needs', () => {
  test('bucketing(s=2)+cwtm with f = 3: cwtm needs 2·2 + 1 = 5 buckets, so n ≥ 9', () => {
    const rule = createRule('bucketing(s=2)+cwtm')
    assert.equal(rule.minInputs(3), 9)
    assert.equal(rule.minInputs(0), 1)
    assert.equal(rule.minInputs(1), 5) // f' = 1: 3 buckets
    assert.equal(rule.minInputs(4), 9) // f' = 2 again
    assert.equal(rule.minInputs(5), 13) // f' = 3: 7 buckets
  })

  test('each stage\'s bound counts', () => {
    assert.equal(createRule('arc+nnm+cwtm').minInputs(4), 9)
    assert.equal(createRule('clip(c=1)+cwmed').minInputs(2), 5)
    assert.equal(createRule('nnm+bulyan').minInputs(2), 11)
    // f' = ⌈4/3⌉ = 2, Bulyan needs 4·2 + 3 = 11 buckets of 3: n ≥ 31.
    assert.equal(createRule('bucketing(s=3)+bulyan').minInputs(4), 31)
    assert.equal(pipelineMinInputs([bucketing({ s: 3 })], cwtm(), 4), 13) // f' = 2: 5 buckets of 3
  })

  test('maxTolerableF is the largest f with minInputs(f) ≤ n', () => {
    assert.equal(maxTolerableF('cwtm', 10), 4)
    assert.equal(maxTolerableF('cwtm', 11), 5)
    assert.equal(maxTolerableF('bulyan', 10), 1)
    assert.equal(maxTolerableF('bucketing(s=2)+cwtm', 9), 4)
    assert.equal(maxTolerableF('bucketing(s=2)+cwtm', 8), 2)
    assert.equal(maxTolerableF('cwtm', 1), 0)
    assert.equal(maxTolerableF('bulyan', 2), -1)
    assert.equal(maxTolerableF(createRule('arc+nnm+cwtm'), 17), 8)
  })

  test('ruleRequirements traces n and f through the stages', () => {
    const r = ruleRequirements('bucketing(s=2)+cwtm', 9)
    assert.equal(r.rule, 'bucketing+cwtm')
    assert.equal(r.maxF, 4)
    assert.deepEqual(r.stages, [
      { name: 'bucketing', inputs: 9, f: 4, needs: 5 },
      { name: 'cwtm', inputs: 5, f: 2, needs: 5 }
    ])
  })

  test('describeRule states the bound, the stages and the tolerance at n', () => {
    const text = describeRule('arc+nnm+cwtm', 17)
    assert.match(text, /^arc\+nnm\+cwtm: needs n ≥ 1 for f = 0, 3 for f = 1, 5 for f = 2/)
    assert.match(text, /\n {2}nnm: nearest-neighbour mixing/)
    assert.match(text, /with n = 17 inputs: tolerates f ≤ 8/)
    assert.match(describeRule('bulyan', 2), /too few even for f = 0/)
  })
})

describe('registry', () => {
  test('names and aliases are unique and every entry is listed', () => {
    const names = RULES.flatMap((e) => [e.name, ...(e.aliases ?? [])])
    assert.equal(new Set(names).size, names.length)
    const list = listRules()
    assert.deepEqual(list.map((r) => r.name), RULES.map((e) => e.name))
    const clip = list.find((r) => r.name === 'clip')
    assert.deepEqual(clip?.paramHelp, ['c: number (0, ∞) (required) norm threshold'])
    assert.deepEqual(list.find((r) => r.name === 'krum')?.paramHelp,
      ['convention: n-f-1|n-f-2 (default n-f-1) neighbours in the Krum score: n − f − 1, or n − f − 2 as in Blanchard et al.'])
  })

  test('every aggregator builds from its schema defaults and gives a finite answer', () => {
    const rng = createRng(2)
    const required: Record<string, string> = { cclip: '(tau=1)' }
    for (const entry of RULES.filter((e) => e.kind === 'aggregator')) {
      const rule = createRule(entry.name + (required[entry.name] ?? ''))
      const n = Math.max(rule.minInputs(1), 5)
      const inputs = Array.from({ length: n }, () => Float32Array.from({ length: 4 }, () => rng.normal()))
      const out = rule.aggregate(inputs, { f: 1, lossGaps: inputs.map(() => rng.next()) })
      assert.ok(out.every(Number.isFinite), entry.name)
    }
  })

  test('every pre-aggregator composes with cwtm and keeps cwtm\'s answer on identical inputs', () => {
    const same = Array.from({ length: 7 }, () => vec(1, -2))
    for (const entry of RULES.filter((e) => e.kind === 'preaggregator')) {
      const spec = `${entry.name}${entry.name === 'clip' ? '(c=10)' : ''}+cwtm`
      assert.deepEqual(Array.from(createRule(spec).aggregate(same, { f: 1 })), [1, -2], spec)
    }
  })
})
