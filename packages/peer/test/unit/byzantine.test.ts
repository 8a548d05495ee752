import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { ClassificationDataset } from '@murmur/learn'
import {
  BehaviourSpecError, craftModels, listBehaviours, MALFORMED_KINDS, malformedFrame, parseBehaviour,
  type ModelAttackBehaviour, type RawFrameContext
} from '../../src/round/byzantine.ts'
import type { RoundEngineOptions } from '../../src/round/engine.ts'
import { strategyFor } from '../../src/round/strategies/index.ts'
import { decodeFrame, FrameError, type FrameRejection } from '../../src/wire/frame.ts'

function model (spec: string): ModelAttackBehaviour {
  const b = parseBehaviour(spec)
  assert.equal(b.kind, 'model')
  return b as ModelAttackBehaviour
}

describe('parseBehaviour', () => {
  test('model-space attacks by their robust spec, also in the name:key=value form', () => {
    assert.deepEqual([model('signflip').spec, model('SF').name], ['signflip', 'signflip'])
    assert.equal(model('ipm:eps=0.5').spec, 'ipm(eps=0.5)')
    assert.equal(model('ipm(eps=0.5)').spec, 'ipm(eps=0.5)')
    assert.equal(model('alie').needsHonest, true)
    assert.equal(model('gaussian(sigma=10)').needsHonest, false)
    assert.equal(model('dissensus').needsTarget, true)
    const eq = model('equivocate:alie(z=1.5)')
    assert.deepEqual([eq.equivocate, eq.name, eq.spec], [true, 'alie', 'equivocate:alie(z=1.5)'])
    assert.equal(model('equivocate:ipm:eps=2').spec, 'equivocate:ipm(eps=2)')
  })

  test('own behaviours with parameters', () => {
    const crash = parseBehaviour('crash(from=5)')
    assert.deepEqual([crash.kind, crash.kind === 'crash' && crash.fromRound, crash.spec], ['crash', 5, 'crash(from=5)'])
    const colon = parseBehaviour('crash:from=3')
    assert.equal(colon.kind === 'crash' && colon.fromRound, 3)
    assert.equal(parseBehaviour('crash').kind === 'crash' && (parseBehaviour('crash') as { fromRound: number }).fromRound, 0)
    assert.deepEqual(['nan', 'malformed(kind=checksum)', 'labelflip', 'backdoor(target=3,fraction=0.25)'].map((s) => parseBehaviour(s).kind), ['raw', 'raw', 'poison', 'poison'])
  })

  test('unknown names and bad parameters get errors that say what is known', () => {
    assert.throws(() => parseBehaviour('flipsign'), (err: unknown) => err instanceof BehaviourSpecError &&
      /unknown behaviour "flipsign"; known behaviours: .*signflip.*equivocate:<attack>.*labelflip.*crash.*nan.*malformed/.test(err.message))
    assert.throws(() => parseBehaviour(''), /empty behaviour spec/)
    assert.throws(() => parseBehaviour('crash(from=-1)'), /crash.from must be an integer ≥ 0, got "-1"/)
    assert.throws(() => parseBehaviour('crash(at=2)'), /crash has no parameter "at"; its parameters: from/)
    assert.throws(() => parseBehaviour('malformed(kind=bogus)'), /malformed.kind must be one of rotate, garbage/)
    assert.throws(() => parseBehaviour('labelflip(x=1)'), /labelflip has no parameter "x"; it takes no parameters/)
    assert.throws(() => parseBehaviour('equivocate'), /equivocate needs an attack/)
    assert.throws(() => parseBehaviour('ipm(eps=-1)'), /behaviour "ipm\(eps=-1\)"/)
  })

  test('listBehaviours covers the robust attacks and the peer-level ones', () => {
    const names = listBehaviours().map((b) => b.name)
    for (const name of ['signflip', 'ipm', 'alie', 'mimic', 'gaussian', 'dissensus', 'equivocate', 'labelflip', 'backdoor', 'crash', 'nan', 'malformed']) {
      assert.ok(names.includes(name), name)
    }
    for (const b of listBehaviours()) assert.ok(b.description.length > 10, b.name)
  })
})

describe('raw frames', () => {
  const ctx: RawFrameContext = { swarm: 's', sender: 'b', round: 4, dimension: 3, dtype: 'f32', params: Float32Array.of(1, 2, 3), receiverIndex: 0, seed: 7 }
  const reason = (bytes: Uint8Array): FrameRejection | 'accepted' => {
    try {
      decodeFrame(bytes, { swarm: 's', dimension: 3, minRound: 4, maxRound: 6 })
      return 'accepted'
    } catch (error) {
      assert.ok(error instanceof FrameError)
      return error.reason
    }
  }

  test('every malformed kind is refused by the codec for its own reason', () => {
    const expected: Record<string, FrameRejection> = {
      garbage: 'malformed', checksum: 'checksum', dimension: 'dimension', 'wrong-swarm': 'wrong-swarm', truncated: 'malformed', version: 'version'
    }
    for (const kind of MALFORMED_KINDS) assert.equal(reason(malformedFrame(kind, ctx)), expected[kind], kind)
  })

  test('nan frames are well formed but refused as non-finite; rotate changes kind per receiver and round', () => {
    const nan = parseBehaviour('nan')
    assert.equal(nan.kind, 'raw')
    if (nan.kind !== 'raw') return
    assert.equal(reason(nan.frame(ctx)), 'non-finite')
    const rotating = parseBehaviour('malformed')
    if (rotating.kind !== 'raw') return
    const reasons = [0, 1, 2, 3, 4, 5].map((receiverIndex) => reason(rotating.frame({ ...ctx, receiverIndex })))
    assert.equal(new Set(reasons).size, 5) // six kinds, two of them share the 'malformed' reason
  })
})

describe('craftModels', () => {
  // Path a – b – c with Byzantine b: honest a and c, and the Byzantine node's other neighbour d.
  const graph = new Map([['a', ['b', 'x']], ['b', ['a', 'c', 'd']], ['c', ['b']], ['d', ['b']], ['x', ['a']]])
  const pooled = new Map([['a', Float32Array.of(2, 0)], ['c', Float32Array.of(4, 4)], ['x', Float32Array.of(0, 2)]])
  const base = { round: 0, pooled, own: Float32Array.of(9, 9), dimension: 2, colluders: new Set(['b', 'd']), graph }

  test('a consistent attacker sends the same −ḡ to everyone; an equivocating one aims per receiver', () => {
    const same = craftModels({ ...base, behaviour: model('signflip'), receivers: ['a', 'c'] })
    assert.deepEqual(same.models.get('a'), Float32Array.of(-2, -2))
    assert.deepEqual(same.models.get('c'), Float32Array.of(-2, -2))
    const eq = craftModels({ ...base, behaviour: model('equivocate:signflip'), receivers: ['a', 'c'] })
    // a sees itself and x: −(2+0, 0+2)/2; c sees only itself.
    assert.deepEqual(eq.models.get('a'), Float32Array.of(-1, -1))
    assert.deepEqual(eq.models.get('c'), Float32Array.of(-4, -4))
  })

  test('dissensus aims at each receiver with its Metropolis weights', () => {
    const { models, failures } = craftModels({ ...base, behaviour: model('dissensus(eps=1)'), receivers: ['a', 'c'] })
    assert.equal(failures.size, 0)
    // Target a (degree 2): honest neighbour x (degree 1), W_ax = 1/3; Byzantine weight W_ab = 1/(1+3) = 1/4.
    // x_a − ε W_ax (x_x − x_a) / W_ab = (2, 0) − (4/3)(−2, 2) = (2 + 8/3, −8/3).
    const a = models.get('a') as Float32Array
    assert.ok(Math.abs(a[0] - (2 + 8 / 3)) < 1e-5 && Math.abs(a[1] + 8 / 3) < 1e-5)
    // Target c has no honest neighbour: the attacker sends c's own model back.
    assert.deepEqual(models.get('c'), Float32Array.of(4, 4))
  })

  test('receivers the attack cannot serve are reported, not sent garbage', () => {
    const none = craftModels({ ...base, pooled: new Map(), behaviour: model('alie'), receivers: ['a'] })
    assert.match(none.failures.get('a') ?? '', /no honest model/)
    const blind = craftModels({ ...base, graph: undefined, behaviour: model('dissensus'), receivers: ['a'] })
    assert.match(blind.failures.get('a') ?? '', /needs the topology/)
    const noise = craftModels({ ...base, pooled: new Map(), behaviour: model('gaussian(sigma=2)'), receivers: ['a', 'c'] })
    assert.equal(noise.models.size, 2)
    assert.deepEqual(noise.models.get('a'), noise.models.get('c')) // one draw for a consistent attacker
  })
})

describe('data poisoning', () => {
  const data: ClassificationDataset = {
    kind: 'classification', x: new Float32Array(8 * 16), labels: Uint8Array.of(0, 1, 2, 3, 4, 5, 6, 7), count: 8, features: 16, numClasses: 10, imageShape: [4, 4, 1]
  }

  test('labelflip maps y → 9 − y', () => {
    const b = parseBehaviour('labelflip')
    if (b.kind !== 'poison') throw new Error('expected a poison behaviour')
    const poisoned = b.poison(data, { colluderIndex: 0, colluders: 1, seed: 0 }) as ClassificationDataset
    assert.deepEqual(Array.from(poisoned.labels), [9, 8, 7, 6, 5, 4, 3, 2])
    assert.deepEqual(Array.from(data.labels), [0, 1, 2, 3, 4, 5, 6, 7])
  })

  test('backdoor relabels a fraction to the target and stamps this colluder\'s part of the trigger', async () => {
    const b = parseBehaviour('backdoor(target=9,fraction=0.5)')
    if (b.kind !== 'poison') throw new Error('expected a poison behaviour')
    // A 28×28 trigger does not fit 4×4 images: a clear error, not a silent no-op.
    assert.throws(() => b.poison(data, { colluderIndex: 0, colluders: 2, seed: 0 }), /does not fit a 4×4 image/)
    const big: ClassificationDataset = { ...data, x: new Float32Array(8 * 784), features: 784, imageShape: [28, 28, 1] }
    const parts = [0, 1].map((i) => b.poison(big, { colluderIndex: i, colluders: 2, seed: 0 }) as ClassificationDataset)
    for (const p of parts) assert.equal(Array.from(p.labels).filter((y, i) => y === 9 && big.labels[i] !== 9).length, 4)
    // The two colluders stamp disjoint pixels (their halves of the trigger).
    const stamped = parts.map((p) => new Set(Array.from(p.x.keys()).filter((k) => p.x[k] !== 0).map((k) => k % 784)))
    assert.ok(stamped[0].size > 0 && stamped[1].size > 0)
    for (const pixel of stamped[0]) assert.ok(!stamped[1].has(pixel))
  })
})

describe('strategyFor', () => {
  test('an honest node keeps every step of the engine; each behaviour replaces only its own', () => {
    const honest = strategyFor(undefined)
    assert.deepEqual(honest, { byzantine: false })
    const crash = strategyFor(parseBehaviour('crash(from=3)'))
    assert.deepEqual([crash.byzantine, crash.silentAt?.(2), crash.silentAt?.(3), crash.exchange, crash.mix], [true, false, true, undefined, undefined])
    const poison = strategyFor(parseBehaviour('labelflip'))
    assert.deepEqual([poison.byzantine, typeof poison.setUp, poison.exchange, poison.mix], [true, 'function', undefined, undefined])
    for (const spec of ['alie', 'nan']) {
      const s = strategyFor(parseBehaviour(spec))
      const hooks = [s.byzantine, typeof s.exchange, typeof s.expects, typeof s.mix, s.silentAt]
      assert.deepEqual(hooks, [true, 'function', 'function', 'function', undefined], spec)
    }
  })

  test('an attacker keeps the mean of what it sent and heard', () => {
    const mix = strategyFor(parseBehaviour('signflip')).mix
    const out = mix?.(Float32Array.of(0, 3), new Map([['a', Float32Array.of(2, 0)], ['b', Float32Array.of(4, 0)]]))
    assert.deepEqual(out, Float32Array.of(2, 1))
  })

  test('a targeting attack needs the topology; the others do not', () => {
    const options = { graph: undefined } as unknown as RoundEngineOptions
    assert.throws(() => strategyFor(parseBehaviour('dissensus')).check?.(options), /needs the topology/)
    assert.doesNotThrow(() => strategyFor(parseBehaviour('alie')).check?.(options))
  })
})
