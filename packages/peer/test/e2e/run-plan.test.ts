import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import type { Topology } from '@murmur/topology'
import { checkRunDirectory, comparePlans, RunDirectoryConflict } from '../../src/swarm/run-plan.ts'
import { planSwarm, type SwarmOptions, type SwarmPlan } from '../../src/swarm/plan.ts'
import { launchSwarm } from '../../src/swarm/launch.ts'

const root = mkdtempSync(join(tmpdir(), 'murmur-run-plan-'))
after(() => { rmSync(root, { recursive: true, force: true }) })
let dirs = 0
const freshDir = (): string => join(root, `run${dirs++}`)

/** Six nodes, each joined to the two nearest on either side: degree 4. */
function circulant6 (name = 'circulant-6'): Topology {
  const nodes = Array.from({ length: 6 }, (_, i) => ({ id: `p${i}` }))
  const edges: Array<[string, string]> = []
  for (let i = 0; i < 6; i++) edges.push([`p${i}`, `p${(i + 1) % 6}`], [`p${i}`, `p${(i + 2) % 6}`])
  return { name, nodes, edges }
}

function plan (overrides: Partial<SwarmOptions> = {}): SwarmPlan {
  return planSwarm({
    topology: circulant6(),
    task: { dataset: 'synthetic-mean', seed: 1 },
    rounds: 3,
    localSteps: 2,
    lr: 0.1,
    momentum: 0.9,
    batchSize: 8,
    rule: 'nnm+cwtm',
    f: 1,
    roundTimeoutMs: 2000,
    evalEvery: 1,
    ...overrides
  })
}

/** A run directory holding `first`'s plan.json. */
function runDirWith (first: SwarmPlan): string {
  const dir = freshDir()
  assert.equal(checkRunDirectory(dir, first).outcome, 'fresh')
  return dir
}

function refusal (dir: string, next: SwarmPlan): RunDirectoryConflict {
  const before = readFileSync(join(dir, 'plan.json'), 'utf8')
  let caught: unknown
  try {
    checkRunDirectory(dir, next)
  } catch (error) {
    caught = error
  }
  assert.ok(caught instanceof RunDirectoryConflict, `expected a RunDirectoryConflict, got ${String(caught)}`)
  assert.equal(readFileSync(join(dir, 'plan.json'), 'utf8'), before, 'a refused launch left plan.json as it was')
  return caught
}

describe('run directory plan check', () => {
  test('a fresh directory gets plan.json, written atomically', () => {
    const dir = freshDir()
    const p = plan()
    const check = checkRunDirectory(dir, p)
    assert.deepEqual(check, { outcome: 'fresh', differences: [] })
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'plan.json'), 'utf8')), JSON.parse(JSON.stringify(p)))
    assert.deepEqual(readdirSync(dir), ['plan.json'], 'no temp file is left behind')
  })

  test('the same plan, planned again from equal options, is accepted', () => {
    const dir = runDirWith(plan())
    const check = checkRunDirectory(dir, plan())
    assert.equal(check.outcome, 'same')
    assert.deepEqual(check.differences, [])
    assert.equal(check.note, undefined)
  })

  test('a plan.json written before weight decay, schedules and run seeds existed reads as their defaults', () => {
    const dir = freshDir()
    const old = JSON.parse(JSON.stringify(plan())) as { options: Record<string, unknown> }
    delete old.options.weightDecay
    delete old.options.lrSchedule
    delete old.options.seed
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, 'plan.json'), JSON.stringify(old))
    assert.equal(checkRunDirectory(dir, plan()).outcome, 'same')
    const error = refusal(dir, plan({ lrSchedule: { kind: 'cosine', totalSteps: 100 } }))
    assert.deepEqual(error.differences, [{ option: 'lr-schedule', before: 'constant', after: 'cosine:100' }])
  })

  test('the topology is compared by content: edges listed in another order or reversed are the same graph', () => {
    const dir = runDirWith(plan())
    const topology = circulant6()
    topology.edges = topology.edges.map(([a, b]) => [b, a] as [string, string]).reverse()
    assert.equal(checkRunDirectory(dir, plan({ topology })).outcome, 'same')
  })

  test('another rule is refused with a message naming the option and both values', () => {
    const dir = runDirWith(plan())
    const error = refusal(dir, plan({ rule: 'cwmed' }))
    assert.equal(error.message, `--run-dir ${dir} holds a run with rule nnm+cwtm; this launch asks for rule cwmed: use another --run-dir, or --force to overwrite`)
    assert.deepEqual(error.differences, [{ option: 'rule', before: 'nnm+cwtm', after: 'cwmed' }])
  })

  test('each option that differs is named as its CLI flag', () => {
    const base = plan()
    const dir = runDirWith(base)
    const cases: Array<[Partial<SwarmOptions>, string, string, string]> = [
      [{ lr: 0.05 }, 'lr', '0.1', '0.05'],
      [{ momentum: 0 }, 'momentum', '0.9', '0'],
      [{ localSteps: 5 }, 'local-steps', '2', '5'],
      [{ batchSize: 16 }, 'batch-size', '8', '16'],
      [{ delta: 0.1 }, 'delta', '0.05', '0.1'],
      [{ shortfall: 'keep' }, 'shortfall', 'shrink-f', 'keep'],
      [{ muSeed: 3 }, 'mu-seed', '0', '3'],
      [{ roundTimeoutMs: 5000 }, 'round-timeout', '2000', '5000'],
      [{ evalEvery: 2 }, 'eval-every', '1', '2'],
      [{ dtype: 'f16' }, 'dtype', 'f32', 'f16'],
      [{ initialization: 'independent' }, 'init', 'shared', 'independent'],
      [{ weightDecay: 0.01 }, 'weight-decay', '0', '0.01'],
      [{ lrSchedule: { kind: 'inv-sqrt' } }, 'lr-schedule', 'constant', 'inv-sqrt'],
      [{ lrSchedule: { kind: 'step', every: 10, gamma: 0.5 } }, 'lr-schedule', 'constant', 'step:10:0.5'],
      [{ seed: 9 }, 'run seed', '1', '9'],
      [{ f: 0 }, 'f', '1', '0'],
      [{ swarm: 'elsewhere' }, 'swarm id', 'murmur-circulant-6', 'elsewhere'],
      [{ task: { dataset: 'synthetic-mean', seed: 2 } }, 'seed', '1', '2'],
      [{ task: { dataset: 'mnist', seed: 1 } }, 'dataset', 'synthetic-mean', 'mnist'],
      [{ task: { dataset: 'synthetic-mean', seed: 1, partition: { kind: 'dirichlet', alpha: 0.5 } } }, 'partition', 'iid', 'dirichlet:0.5'],
      [{ task: { dataset: 'synthetic-mean', seed: 1, testSize: 200 } }, 'test-size', 'unset', '200']
    ]
    for (const [overrides, option, before, after] of cases) {
      const error = refusal(dir, plan(overrides))
      assert.deepEqual(error.differences, [{ option, before, after }], `${option}: ${error.message}`)
      assert.ok(error.message.includes(`holds a run with ${option} ${before}; this launch asks for ${option} ${after}:`), error.message)
    }
  })

  test('an attack, and the Byzantine set it brings, are named', () => {
    const dir = runDirWith(plan())
    const error = refusal(dir, plan({ attack: 'signflip', byzantine: ['p2'] }))
    assert.deepEqual(error.differences, [
      { option: 'attack', before: 'none', after: 'signflip' },
      { option: 'Byzantine peers', before: 'none', after: 'p2' }
    ])
    assert.match(error.message, /holds a run with attack none, Byzantine peers none; this launch asks for attack signflip, Byzantine peers p2:/)
  })

  test('another Byzantine set under the same attack is refused', () => {
    const dir = runDirWith(plan({ attack: 'signflip', byzantine: ['p2'] }))
    const error = refusal(dir, plan({ attack: 'signflip', byzantine: ['p4'] }))
    assert.deepEqual(error.differences, [{ option: 'Byzantine peers', before: 'p2', after: 'p4' }])
    // The order the set was listed in does not matter.
    const two = runDirWith(plan({ attack: 'signflip', byzantine: ['p4', 'p1'] }))
    assert.equal(checkRunDirectory(two, plan({ attack: 'signflip', byzantine: ['p1', 'p4'] })).outcome, 'same')
  })

  test('another topology is named, by name or by what changed in it', () => {
    const dir = runDirWith(plan())
    const renamed = refusal(dir, plan({ topology: circulant6('other-6') }))
    // The swarm id follows the topology's name and is not reported on its own.
    assert.deepEqual(renamed.differences, [{ option: 'topology', before: 'circulant-6', after: 'other-6' }])

    const fewer = circulant6()
    fewer.edges = fewer.edges.slice(0, 11)
    const lost = refusal(dir, plan({ topology: fewer, f: 0 }))
    assert.equal(lost.differences[0].option, 'topology')
    assert.equal(lost.differences[0].before, 'circulant-6 (6 nodes, 12 edges)')
    assert.equal(lost.differences[0].after, 'circulant-6 (6 nodes, 11 edges)')

    const rewired = circulant6()
    rewired.edges = rewired.edges.map(([a, b]) => (a === 'p0' && b === 'p2' ? ['p0', 'p3'] : [a, b]) as [string, string])
    const moved = refusal(dir, plan({ topology: rewired, f: 0 }))
    assert.deepEqual(moved.differences.find((d) => d.option === 'topology'), { option: 'topology', before: 'circulant-6', after: 'circulant-6 with other edges' })

    const reordered = circulant6()
    reordered.nodes = [...reordered.nodes].reverse()
    const order = refusal(dir, plan({ topology: reordered }))
    assert.deepEqual(order.differences.find((d) => d.option === 'topology'), { option: 'topology', before: 'circulant-6', after: 'circulant-6 with other nodes' })
  })

  test('a node whose f differs, with no option to explain it, is named', () => {
    const base = plan()
    const dir = runDirWith(base)
    const next: SwarmPlan = structuredClone(base)
    next.nodes[3].f = 0
    const error = refusal(dir, next)
    assert.deepEqual(error.differences, [{ option: 'f per node', before: 'p3 1', after: 'p3 0' }])
  })

  test('several differences are all named, in one message', () => {
    const dir = runDirWith(plan())
    const error = refusal(dir, plan({ rule: 'cwmed', lr: 0.2 }))
    assert.equal(error.message, `--run-dir ${dir} holds a run with lr 0.1, rule nnm+cwtm; this launch asks for lr 0.2, rule cwmed: use another --run-dir, or --force to overwrite`)
  })

  test('another number of rounds continues the run: accepted, reported, and plan.json updated', () => {
    const dir = runDirWith(plan({ rounds: 3 }))
    const check = checkRunDirectory(dir, plan({ rounds: 5 }))
    assert.equal(check.outcome, 'continued')
    assert.deepEqual(check.differences, [{ option: 'rounds', before: '3', after: '5' }])
    assert.match(check.note ?? '', /rounds 3 → 5/)
    assert.equal((JSON.parse(readFileSync(join(dir, 'plan.json'), 'utf8')) as SwarmPlan).options.rounds, 5)
    // Rounds with another option: refused, naming only the other option.
    const error = refusal(dir, plan({ rounds: 8, rule: 'cwmed' }))
    assert.deepEqual(error.differences.map((d) => d.option), ['rule'])
  })

  test('--force accepts a different plan, replaces plan.json and says what it overrode', () => {
    const dir = runDirWith(plan())
    const next = plan({ rule: 'cwmed' })
    const check = checkRunDirectory(dir, next, { force: true })
    assert.equal(check.outcome, 'forced')
    assert.deepEqual(check.differences, [{ option: 'rule', before: 'nnm+cwtm', after: 'cwmed' }])
    assert.match(check.note ?? '', /--force: .* held a run with rule nnm\+cwtm; continuing it with rule cwmed/)
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'plan.json'), 'utf8')), JSON.parse(JSON.stringify(next)))
    // A forced plan is then the run's plan.
    assert.equal(checkRunDirectory(dir, plan({ rule: 'cwmed' })).outcome, 'same')
  })

  test('an unreadable plan.json is refused naming the file, and replaced with --force', () => {
    for (const content of ['{"swarm": "murmur-circ', '[]', '{"swarm": "x"}', '']) {
      const dir = freshDir()
      mkdirSync(dir, { recursive: true })
      const file = join(dir, 'plan.json')
      writeFileSync(file, content)
      assert.throws(() => checkRunDirectory(dir, plan()), (error: Error) => {
        assert.ok(error instanceof RunDirectoryConflict)
        assert.ok(error.message.includes(`${file} cannot be read`), error.message)
        assert.match(error.message, /use another --run-dir, or --force to overwrite it$/)
        return true
      })
      assert.equal(readFileSync(file, 'utf8'), content)
      const check = checkRunDirectory(dir, plan(), { force: true })
      assert.equal(check.outcome, 'forced')
      assert.ok(check.note?.includes(file), check.note)
      assert.equal(checkRunDirectory(dir, plan()).outcome, 'same')
    }
  })

  test('comparePlans finds nothing between a plan and its JSON round trip', () => {
    const p = plan({ attack: 'signflip', byzantine: ['p1'], f: 'auto' })
    assert.deepEqual(comparePlans(JSON.parse(JSON.stringify(p)) as SwarmPlan, p), [])
  })
})

describe('launchSwarm and the run directory', () => {
  test('a launch into a run directory with another plan throws before any peer starts', async () => {
    const dir = runDirWith(plan())
    const messages: string[] = []
    await assert.rejects(
      launchSwarm({ plan: plan({ rule: 'cwmed' }), runDir: dir, workers: 1, onStatus: (m) => { messages.push(m) } }),
      (error: Error) => error instanceof RunDirectoryConflict && /rule nnm\+cwtm; this launch asks for rule cwmed/.test(error.message)
    )
    assert.deepEqual(messages, [], 'nothing was started')
    assert.equal(existsSync(join(dir, 'peers')), false)
    assert.equal(existsSync(join(dir, 'summary.json')), false)
  })
})
