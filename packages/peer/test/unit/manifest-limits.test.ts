// A manifest comes from the network: every number in it is finite, an integer where it counts
// something, and within MANIFEST_LIMITS; the rule is a spec of the @murmur/robust registry. A bad
// manifest is refused naming the field.

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { MANIFEST_LIMITS, ManifestError, parseManifest, PROTOCOL_VERSION, type SwarmManifest } from '../../src/wire/manifest.ts'

function manifest (): SwarmManifest {
  return {
    protocol: PROTOCOL_VERSION,
    swarm: 's',
    task: { dataset: 'synthetic-mean', samplesPerNode: 50, synthetic: { dim: 4, noise: 1 } },
    nodes: 8,
    dimension: 4,
    training: { localSteps: 2, lr: 0.1, momentum: 0.9, batchSize: 16, weightDecay: 0, schedule: { kind: 'step', every: 10, gamma: 0.5 }, seed: 3 },
    mixing: { rule: 'nnm+cwtm', f: 1, joinerF: 1, shortfall: 'shrink-f', dtype: 'f32' },
    schedule: { rounds: 100, roundTimeoutMs: 2000, evalEvery: 5, round: 7 },
    open: true
  }
}

/** The manifest with `value` at `path` (dot-separated). */
function patched (path: string, value: unknown): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(manifest())) as Record<string, unknown>
  const keys = path.split('.')
  let at = copy
  for (const key of keys.slice(0, -1)) at = at[key] as Record<string, unknown>
  at[keys[keys.length - 1]] = value
  return copy
}

function refused (path: string, value: unknown, field = path): void {
  assert.throws(() => parseManifest(patched(path, value)), (e: Error) => {
    assert.ok(e instanceof ManifestError, `${path} = ${String(value)}: ${e.message}`)
    assert.equal(e.field, field, `${path} = ${String(value)}: ${e.message}`)
    return true
  })
}

describe('manifest numbers', () => {
  test('the example manifest parses to itself', () => {
    assert.deepEqual(parseManifest(JSON.parse(JSON.stringify(manifest()))), manifest())
  })

  test('1e308 is refused in every numeric field, naming it', () => {
    const fields = [
      'nodes', 'dimension',
      'training.localSteps', 'training.lr', 'training.momentum', 'training.batchSize', 'training.weightDecay', 'training.seed',
      'training.schedule.every', 'training.schedule.gamma',
      'mixing.f', 'mixing.joinerF',
      'schedule.rounds', 'schedule.roundTimeoutMs', 'schedule.evalEvery', 'schedule.round'
    ]
    for (const field of fields) refused(field, 1e308)
    for (const field of ['task.samplesPerNode', 'task.synthetic.dim', 'task.synthetic.noise']) refused(field, 1e308)
    refused('task.hidden', 1e308)
    refused('task.testSize', 1e308)
    refused('task.heldOutSize', 1e308)
  })

  test('counts must be integers, rates finite', () => {
    refused('dimension', 4.5)
    refused('training.batchSize', 16.5)
    refused('schedule.rounds', Number.NaN) // JSON turns it into null
    refused('training.lr', '0.1')
    refused('mixing.f', 0.5)
  })

  test('each bound holds exactly at its edge', () => {
    const ok = (path: string, value: number): void => {
      assert.doesNotThrow(() => parseManifest(patched(path, value)), `${path} = ${value}`)
    }
    const edges: Array<[string, number, string?]> = [
      ['dimension', MANIFEST_LIMITS.dimension],
      ['nodes', MANIFEST_LIMITS.nodes],
      ['schedule.rounds', MANIFEST_LIMITS.rounds],
      ['schedule.round', MANIFEST_LIMITS.rounds],
      ['schedule.evalEvery', MANIFEST_LIMITS.rounds],
      ['schedule.roundTimeoutMs', MANIFEST_LIMITS.roundTimeoutMs],
      ['training.localSteps', MANIFEST_LIMITS.localSteps],
      ['training.batchSize', MANIFEST_LIMITS.batchSize],
      ['training.lr', MANIFEST_LIMITS.lr],
      ['training.seed', 0xffffffff],
      ['training.schedule.every', MANIFEST_LIMITS.scheduleSteps],
      ['mixing.f', 8], // as many as the manifest's nodes
      ['mixing.joinerF', 8]
    ]
    for (const [path, max] of edges) {
      ok(path, max)
      refused(path, max + 1)
    }
    ok('training.schedule.gamma', 1)
    refused('training.schedule.gamma', 1.5)
    ok('schedule.round', 0)
    refused('schedule.round', -1)
    ok('training.localSteps', 0)
    refused('training.localSteps', -1)
  })

  test('a cosine schedule is bounded too', () => {
    const cosine = (schedule: unknown): Record<string, unknown> => patched('training.schedule', schedule)
    assert.deepEqual(parseManifest(cosine({ kind: 'cosine', totalSteps: 1000, minLr: 0.001 })).training.schedule, { kind: 'cosine', totalSteps: 1000, minLr: 0.001 })
    assert.throws(() => parseManifest(cosine({ kind: 'cosine', totalSteps: 1e308 })), (e: Error) => e instanceof ManifestError && e.field === 'training.schedule.totalSteps')
    assert.throws(() => parseManifest(cosine({ kind: 'cosine', totalSteps: 10, minLr: 1e308 })), (e: Error) => e instanceof ManifestError && e.field === 'training.schedule.minLr')
  })

  test('the task\'s partition parameters are bounded', () => {
    const task = (partition: unknown): Record<string, unknown> => patched('task', { dataset: 'mnist', partition })
    assert.equal(parseManifest(task({ kind: 'dirichlet', alpha: 0.5 })).task.partition?.kind, 'dirichlet')
    for (const [partition, field] of [
      [{ kind: 'dirichlet', alpha: 1e308 }, 'task.partition.alpha'],
      [{ kind: 'quantity', beta: 1e308 }, 'task.partition.beta'],
      [{ kind: 'shards', shardsPerNode: 1e308 }, 'task.partition.shardsPerNode']
    ] as const) {
      assert.throws(() => parseManifest(task(partition)), (e: Error) => e instanceof ManifestError && e.field === field, field)
    }
  })

  test('a swarm id that no frame can carry (over 255 bytes of UTF-8) is refused', () => {
    refused('swarm', 'é'.repeat(128)) // 128 characters, 256 bytes
    assert.equal(parseManifest(patched('swarm', 'é'.repeat(127))).swarm, 'é'.repeat(127))
  })
})

describe('manifest rule', () => {
  test('a rule the registry does not know is refused, naming the field and the rule', () => {
    assert.throws(() => parseManifest(patched('mixing.rule', 'nosuchrule')), (e: Error) =>
      e instanceof ManifestError && e.field === 'mixing.rule' && /nosuchrule/.test(e.message))
    assert.throws(() => parseManifest(patched('mixing.rule', 'nnm+nosuchrule')), (e: Error) => e instanceof ManifestError && e.field === 'mixing.rule')
    assert.throws(() => parseManifest(patched('mixing.rule', 'clip(c=-1)+cwtm')), (e: Error) => e instanceof ManifestError && e.field === 'mixing.rule')
    assert.throws(() => parseManifest(patched('mixing.rule', 'mean'.padEnd(300, ' '))), (e: Error) => e instanceof ManifestError && e.field === 'mixing.rule')
  })

  test('registered rules and pipelines, aliases included, are accepted as written', () => {
    for (const rule of ['mean', 'cwtm', 'nnm+cwtm', 'clip(c=2)+nnm+cwtm', 'scclip', 'median', 'krum(convention=n-f-2)']) {
      assert.equal(parseManifest(patched('mixing.rule', rule)).mixing.rule, rule)
    }
  })
})
