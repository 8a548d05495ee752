import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { attackNeeds, listAttacks, listRules, ruleNeeds, RULES } from '../../src/index.ts'

describe('rule needs', () => {
  test('loss-aware rules need loss gaps, in any stage of a composed spec', () => {
    assert.deepEqual(ruleNeeds('fedlaw'), { lossGaps: true })
    assert.deepEqual(ruleNeeds('pawbrofl(mu=0.5)'), { lossGaps: true })
    assert.deepEqual(ruleNeeds('nnm+pawbrofl(mu=0.5,base=caf)'), { lossGaps: true })
    assert.deepEqual(ruleNeeds('nnm+cwtm'), {})
    assert.deepEqual(ruleNeeds('arc+nnm+krum'), {})
  })

  test('the rules that use the gossip weights need them', () => {
    assert.deepEqual(ruleNeeds('mean'), { gossipWeights: true })
    assert.deepEqual(ruleNeeds('nnm+scclip'), { gossipWeights: true })
    assert.deepEqual(ruleNeeds('avg'), { gossipWeights: true }, 'an alias needs what its rule needs')
    for (const entry of RULES) assert.equal(entry.needs.gossipWeights === true, entry.weights === 'used', entry.name)
  })

  test('listRules reports the needs, and a bad spec throws', () => {
    assert.deepEqual(listRules().filter((r) => r.needs.lossGaps === true).map((r) => r.name), ['pawbrofl', 'fedlaw'])
    assert.throws(() => ruleNeeds('nope'), /unknown/)
  })
})

describe('attack needs', () => {
  test('attacks on the honest vectors need them; noise and own-update attacks do not', () => {
    for (const spec of ['signflip', 'sf', 'ipm(eps=0.5)', 'alie', 'mimic']) assert.deepEqual(attackNeeds(spec), { honestModels: true }, spec)
    for (const spec of ['gaussian(sigma=10)', 'nonfinite', 'inverse']) assert.deepEqual(attackNeeds(spec), {}, spec)
  })

  test('dissensus aims at the receiver: it needs a target and the honest models', () => {
    assert.deepEqual(attackNeeds('dissensus(eps=1)'), { honestModels: true, target: true })
    assert.deepEqual(listAttacks().filter((a) => a.needs.target === true).map((a) => a.name), ['dissensus'])
    assert.throws(() => attackNeeds('nope'), /unknown/)
  })
})
