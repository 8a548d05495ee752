// The peer's quality bars, measured on real libp2p swarms launched on this machine:
//   node packages/bench/src/swarm-bars.ts [--bars 1,2,3] [--rounds 300] [--attack-rounds 100]
//        [--out bench-results/swarm-bars]
//
//   bar 1  torus-4x4, MNIST IID, MLP, no attack: honest mean test accuracy over the rounds.
//   bar 2  torus-4x4 with 3 Byzantine peers drawn from μ_H: rule × attack table of honest
//          accuracy (mean and min).
//   bar 3  regular-64: 64 peers for 50 rounds; median round time, resident memory per peer and
//          the compute / communicate / aggregate split of a round.
// Results go to <out>/bars.json and <out>/bars.md (a table per bar); each launch keeps its run
// directory under <out>/runs/ so a cell's per-peer metrics can be inspected. A finished cell
// (its summary.json exists) is read back instead of being run again.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { launchSwarm, planSwarm, type RoundSummary, type SwarmOptions } from '@murmur/peer'
import { readTopology } from '@murmur/topology'
import { launchDefaults } from './launch-defaults.ts'
import { median } from './stats.ts'

const { values } = parseArgs({
  options: {
    bars: { type: 'string', default: '1,2,3' },
    rounds: { type: 'string', default: '300' },
    'attack-rounds': { type: 'string', default: '100' },
    'scale-rounds': { type: 'string', default: '50' },
    rules: { type: 'string', default: 'mean,cwmed,nnm+cwtm,scclip' },
    attacks: { type: 'string', default: 'signflip,alie,ipm,labelflip,dissensus' },
    out: { type: 'string', default: 'bench-results/swarm-bars' }
  }
})
const bars = new Set(values.bars.split(',').map(Number))
const out = values.out
mkdirSync(join(out, 'runs'), { recursive: true })

interface Cell {
  name: string
  rounds: number
  accuracy?: number
  minAccuracy?: number
  /** First round whose honest mean accuracy reached 94%, if any. */
  reached94?: number
  medianRoundMs: number
  computeMs: number
  communicateMs: number
  aggregateMs: number
  rssPerPeerMiB: number
  wallS: number
  byzantine: string[]
  /** Honest-edge delivery and, under attack, the share of crafted models that reached honest peers. */
  honestDelivered: number
  attackReached?: number
  /** False when edges lost models or the attack did not land: then the cell measured nothing. */
  valid: boolean
  warnings: string[]
}

async function run (name: string, options: SwarmOptions): Promise<Cell> {
  const dir = join(out, 'runs', name.replace(/[^a-z0-9.+-]+/gi, '_'))
  const cached = join(dir, 'cell.json')
  if (existsSync(cached)) return JSON.parse(readFileSync(cached, 'utf8')) as Cell
  const plan = planSwarm(options)
  process.stderr.write(`${name}: ${plan.nodes.length} peers, ${options.rounds} rounds, Byzantine ${plan.byzantine.join(',') || 'none'}\n`)
  const result = await launchSwarm({
    plan,
    runDir: dir,
    onRound: (r: RoundSummary) => {
      if (r.accuracy !== undefined) process.stderr.write(`  round ${r.round + 1}: acc ${(100 * r.accuracy).toFixed(2)}% round ${Math.round(r.roundMs)} ms\n`)
    }
  })
  const rounds = result.rounds
  const cell: Cell = {
    name,
    rounds: rounds.length,
    ...(result.final?.accuracy === undefined ? {} : { accuracy: result.final.accuracy, minAccuracy: result.final.minAccuracy }),
    ...(() => { const r = rounds.find((x) => (x.accuracy ?? 0) >= 0.94); return r === undefined ? {} : { reached94: r.round + 1 } })(),
    medianRoundMs: median(rounds.map((r) => r.roundMs)),
    computeMs: median(rounds.map((r) => r.computeMs)),
    communicateMs: median(rounds.map((r) => r.communicateMs)),
    aggregateMs: median(rounds.map((r) => r.aggregateMs)),
    rssPerPeerMiB: median(rounds.map((r) => r.rssPerPeer)) / 2 ** 20,
    wallS: result.wallMs / 1000,
    byzantine: plan.byzantine,
    honestDelivered: result.delivery.honest.share,
    ...(result.delivery.attack == null ? {} : { attackReached: result.delivery.attack.reached }),
    valid: result.delivery.valid,
    warnings: result.delivery.warnings
  }
  for (const warning of cell.warnings) process.stderr.write(`${name}: warning: ${warning}\n`)
  writeFileSync(cached, JSON.stringify(cell, null, 2) + '\n')
  return cell
}

const pct = (x: number | undefined): string => x === undefined ? '–' : `${(100 * x).toFixed(2)}%`
/** A cell's accuracy, or why it is no result. */
const result = (cell: Cell, x: number | undefined): string => cell.valid ? pct(x) : `not a result (${cell.warnings.length} warning${cell.warnings.length === 1 ? '' : 's'}, see bars.json)`

const torus = await readTopology('topologies/torus-4x4.json')
const base = (rounds: number): SwarmOptions => ({ ...launchDefaults(torus, rounds), rule: 'nnm+cwtm', f: 1, evalEvery: 10 })

const report: Record<string, unknown> = { date: new Date().toISOString() }
const md: string[] = ['# Peer quality bars', '', `Command: \`node packages/bench/src/swarm-bars.ts ${process.argv.slice(2).join(' ')}\``, '']

if (bars.has(1)) {
  const cell = await run('bar1-torus-mlp-noattack', { ...base(Number(values.rounds)), f: 'auto' })
  report.bar1 = cell
  md.push('## Bar 1: torus-4x4, MNIST IID, MLP, no attack (rule nnm+cwtm, f_i from μ_H)', '',
    '| rounds | honest mean acc | honest min acc | first round ≥ 94% | median round |', '|---|---|---|---|---|',
    `| ${cell.rounds} | ${result(cell, cell.accuracy)} | ${result(cell, cell.minAccuracy)} | ${cell.reached94 ?? 'not reached'} | ${cell.medianRoundMs.toFixed(0)} ms |`, '')
}

if (bars.has(2)) {
  const rounds = Number(values['attack-rounds'])
  const rules = values.rules.split(',')
  const attacks = values.attacks.split(',')
  const table: Record<string, Record<string, Cell>> = {}
  for (const attack of attacks) {
    table[attack] = {}
    for (const rule of rules) {
      table[attack][rule] = await run(`bar2-${attack}-${rule}-${rounds}`, { ...base(rounds), rule, attack, byzantineCount: 3, muSeed: 0 })
    }
  }
  report.bar2 = { rounds, table }
  md.push(`## Bar 2: torus-4x4, 3 Byzantine peers from μ_H, f = 1, ${rounds} rounds`, '',
    'Honest mean test accuracy (min over honest peers in brackets).', '',
    `| attack | ${rules.join(' | ')} |`, `|---|${rules.map(() => '---').join('|')}|`,
    ...attacks.map((a) => `| ${a} | ${rules.map((r) => table[a][r].valid ? `${pct(table[a][r].accuracy)} (${pct(table[a][r].minAccuracy)})` : result(table[a][r], undefined)).join(' | ')} |`), '')
}

if (bars.has(3)) {
  const regular = await readTopology('topologies/regular-64.json')
  const cell = await run('bar3-regular64', { ...base(Number(values['scale-rounds'])), topology: regular, f: 'auto', task: { dataset: 'mnist', model: 'mlp', seed: 0 } })
  report.bar3 = cell
  const total = cell.computeMs + cell.communicateMs + cell.aggregateMs
  const share = (x: number): string => `${x.toFixed(1)} ms (${(100 * x / total).toFixed(1)}%)`
  md.push('## Bar 3: regular-64, 64 peers on this machine', '',
    '| rounds | honest mean acc | median round | RSS per peer | compute | communicate (incl. waiting) | aggregate |', '|---|---|---|---|---|---|---|',
    `| ${cell.rounds} | ${pct(cell.accuracy)} | ${cell.medianRoundMs.toFixed(0)} ms | ${cell.rssPerPeerMiB.toFixed(0)} MiB | ${share(cell.computeMs)} | ${share(cell.communicateMs)} | ${share(cell.aggregateMs)} |`, '',
    'Per-peer medians over rounds. Communicate runs from sending the round\'s model until the last neighbour model arrived (or the round timed out), so it includes waiting for slower peers; compute and aggregate are the peer\'s own work.', '')
}

writeFileSync(join(out, 'bars.json'), JSON.stringify(report, null, 2) + '\n')
writeFileSync(join(out, 'bars.md'), md.join('\n'))
process.stdout.write(md.join('\n'))
