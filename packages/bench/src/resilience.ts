// Does a real swarm deliver what its topology promises on a machine that is not idle?
//   node packages/bench/src/resilience.ts [--cells pause,load] [--rounds 45] [--pause-s 45]
//        [--hogs 4] [--out bench-results/resilience]
//
//   pause  torus-4x4 launch with the launch defaults (MNIST, MLP, rule scclip, f_i from μ_H); one of
//          its two worker processes (half the peers) is frozen for --pause-s seconds (SIGSTOP,
//          then SIGCONT) once round 8 is done. Passes when over the last 5 rounds every honest peer received from every topology neighbour, no peer of the
//          running worker ever went a round without any honest neighbour's model, and the paused
//          peers did so only in the rounds the pause cut through (at most 2 each).
//   load   the same launch with --hogs CPU-bound processes beside it. Passes when ≥ 99 % of the
//          models between honest peers arrived in time over the run.
// Results go to <out>/resilience.json and <out>/resilience.md; each launch keeps its run
// directory under <out>/runs/ (events.jsonl says which edge missed which round).

import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { launchSwarm, planSwarm, readMetricsLog, type DeliveryReport, type SwarmOptions } from '@murmur/peer'
import { readTopology } from '@murmur/topology'
import { launchDefaults } from './launch-defaults.ts'
import { median } from './stats.ts'

const { values } = parseArgs({
  options: {
    cells: { type: 'string', default: 'pause,load' },
    rounds: { type: 'string', default: '45' },
    'pause-s': { type: 'string', default: '45' },
    'pause-after': { type: 'string', default: '8' },
    hogs: { type: 'string', default: '4' },
    out: { type: 'string', default: 'bench-results/resilience' }
  }
})
const cells = new Set(values.cells.split(','))
const rounds = Number(values.rounds)
const pauseMs = 1000 * Number(values['pause-s'])
const pauseAfter = Number(values['pause-after'])
const hogs = Number(values.hogs)
if (!(Number.isInteger(rounds) && rounds > pauseAfter + 5)) throw new Error(`--rounds: expected an integer > ${pauseAfter + 5}, got ${values.rounds}`)
const out = values.out
mkdirSync(join(out, 'runs'), { recursive: true })

interface CellResult {
  name: string
  passed: boolean
  /** What the bar asks, in words, and what was measured. */
  bar: string
  measured: string
  delivery: DeliveryReport
  /** Per honest peer: neighbours whose model was missing in one of the last 5 rounds. */
  missingAtEnd: Record<string, string[]>
  /** Rounds without any honest neighbour's model (skipped catch-up rounds aside), by peer. */
  isolatedRounds: Record<string, number[]>
  medianRoundMs: number
  wallS: number
  load: string
}

const torus = await readTopology('topologies/torus-4x4.json')
const options: SwarmOptions = launchDefaults(torus, rounds)

/** One launch; `during` may act on the worker processes once round `pauseAfter` is summarised. */
async function launch (name: string, during?: (pids: number[]) => void): Promise<{ delivery: DeliveryReport, missingAtEnd: Record<string, string[]>, isolatedRounds: Record<string, number[]>, medianRoundMs: number, wallS: number }> {
  const dir = join(out, 'runs', name)
  rmSync(dir, { recursive: true, force: true })
  const plan = planSwarm(options)
  let pids: number[] = []
  let acted = false
  const result = await launchSwarm({
    plan,
    runDir: dir,
    onWorkers: (ids) => { pids = ids },
    onRound: (r) => {
      process.stderr.write(`${name}: round ${r.round + 1}/${rounds} edges ${r.edgesLive}/${r.edges} live, deadline ${r.deadlineMs} ms, round ${Math.round(r.roundMs)} ms\n`)
      if (!acted && r.round + 1 >= pauseAfter && during !== undefined) { acted = true; during(pids) }
    }
  })
  const missingAtEnd: Record<string, string[]> = {}
  const isolatedRounds: Record<string, number[]> = {}
  const byzantine = new Set(plan.byzantine)
  for (const node of plan.nodes.filter((n) => !n.byzantine)) {
    const all = readMetricsLog(join(dir, 'peers', node.id, 'metrics.jsonl'))
    const honestNeighbours = node.neighbours.filter((id) => !byzantine.has(id))
    const alone = all.filter((m) => m.skipReason !== 'behind' && honestNeighbours.length > 0 && honestNeighbours.every((id) => m.missing.includes(id))).map((m) => m.round)
    if (alone.length > 0) isolatedRounds[node.id] = alone
    const last = all.filter((m) => m.round >= rounds - 5)
    const missing = [...new Set(last.flatMap((m) => m.missing))]
    if (missing.length > 0 || last.length < 5) missingAtEnd[node.id] = last.length < 5 ? ['(fewer than 5 rounds reported)'] : missing
  }
  return { delivery: result.delivery, missingAtEnd, isolatedRounds, medianRoundMs: median(result.rounds.map((r) => r.roundMs)), wallS: result.wallMs / 1000 }
}

const results: CellResult[] = []
const pct = (x: number): string => `${(100 * x).toFixed(2)} %`

if (cells.has('pause')) {
  const run = await launch('pause', (pids) => {
    const pid = pids[pids.length - 1]
    process.stderr.write(`pause: freezing worker ${pid} for ${pauseMs / 1000} s\n`)
    process.kill(pid, 'SIGSTOP')
    setTimeout(() => { process.kill(pid, 'SIGCONT'); process.stderr.write(`pause: worker ${pid} resumed\n`) }, pauseMs)
  })
  const healed = Object.keys(run.missingAtEnd).length === 0
  // The launcher puts node i in worker i mod 2; the paused worker is the last one started.
  const paused = new Set(torus.nodes.filter((_, i) => i % 2 === 1).map((n) => n.id))
  const runningAlone = Object.keys(run.isolatedRounds).filter((id) => !paused.has(id))
  const pausedAlone = Object.entries(run.isolatedRounds).filter(([id, rs]) => paused.has(id) && rs.length > 2).map(([id]) => id)
  const neverAlone = runningAlone.length === 0 && pausedAlone.length === 0
  results.push({
    name: 'pause',
    passed: healed && neverAlone,
    bar: `one of two worker processes frozen for ${pauseMs / 1000} s after round ${pauseAfter}: over the last 5 rounds every honest peer receives from every topology neighbour; no peer of the running worker goes a round without an honest neighbour's model, a paused one only in the rounds the pause cut through (≤ 2)`,
    measured: `${healed ? 'every edge delivered in the last 5 rounds' : `missing at the end: ${JSON.stringify(run.missingAtEnd)}`}; rounds without an honest neighbour's model: ${JSON.stringify(run.isolatedRounds)}; ` +
      `${run.delivery.skippedBehind} rounds skipped by the paused peers to catch up; honest-edge delivery over the run ${pct(run.delivery.honest.share)}`,
    ...run,
    load: 'none added'
  })
}

if (cells.has('load')) {
  const spinners: ChildProcess[] = Array.from({ length: hogs }, () => spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }))
  // However this script ends, the spinning processes end with it.
  const stopSpinners = (): void => { for (const s of spinners) s.kill('SIGKILL') }
  process.once('exit', stopSpinners)
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => { stopSpinners(); process.exit(130) })
  try {
    const run = await launch('load')
    results.push({
      name: 'load',
      passed: run.delivery.honest.share >= 0.99,
      bar: `${hogs} CPU-bound processes beside the launch: ≥ 99 % of honest-edge models delivered in time over the run`,
      measured: `${pct(run.delivery.honest.share)} (${run.delivery.honest.delivered} of ${run.delivery.honest.expected}); isolated peer-rounds ${run.delivery.isolated.peerRounds}`,
      ...run,
      load: `${hogs} × node -e 'for(;;){}'`
    })
  } finally {
    for (const s of spinners) s.kill('SIGKILL')
  }
}

writeFileSync(join(out, 'resilience.json'), JSON.stringify({ rounds, pauseMs, pauseAfter, hogs, results }, null, 2) + '\n')
const md = ['# Resilience of a torus-4x4 swarm', '', `\`node packages/bench/src/resilience.ts --cells ${values.cells} --rounds ${rounds} --pause-s ${pauseMs / 1000} --hogs ${hogs}\``, '',
  '| cell | passed | bar | measured | median round | wall |', '|---|---|---|---|---|---|',
  ...results.map((r) => `| ${r.name} | ${r.passed ? 'yes' : '**no**'} | ${r.bar} | ${r.measured} | ${Math.round(r.medianRoundMs)} ms | ${r.wallS.toFixed(0)} s |`)]
writeFileSync(join(out, 'resilience.md'), md.join('\n') + '\n')
for (const r of results) process.stdout.write(`${r.name}: ${r.passed ? 'passed' : 'FAILED'} — ${r.measured}\n`)
if (results.some((r) => !r.passed)) process.exitCode = 1
