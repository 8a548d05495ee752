// Which mixing rule should `murmur launch` use when none is given? The one that mixes: with no
// attack its honest consensus distance after the run stays within 2× that of weighted-mean gossip
// (D-SGD) on sparse and denser graphs alike, and it still resists the README's attack.
//   node packages/bench/src/default-rule.ts [--rules nnm+cwtm,cwtm,scclip,...] [--rounds 100]
//        [--topologies ring-16,torus-4x4,er-32] [--out bench-results/default-rule]
// Every cell is the in-process simulator (the peers' code path over the in-memory hub) with the
// launch defaults: MNIST IID, MLP, 10 local steps, lr 0.05, momentum 0.9, f_i from μ_H.
// Writes <out>/default-rule.json and <out>/default-rule.md.

import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { planSwarm, type SwarmOptions } from '@murmur/peer'
import { readTopology } from '@murmur/topology'
import { launchDefaults } from './launch-defaults.ts'
import { simulateSwarm } from './sim/swarm.ts'

const { values } = parseArgs({
  options: {
    rules: { type: 'string', default: 'mean,nnm+cwtm,cwtm,scclip' },
    topologies: { type: 'string', default: 'ring-16,torus-4x4,er-32' },
    rounds: { type: 'string', default: '100' },
    attack: { type: 'string', default: 'signflip' },
    out: { type: 'string', default: 'bench-results/default-rule' }
  }
})
const rounds = Number(values.rounds)
const rules = values.rules.split(',')
mkdirSync(values.out, { recursive: true })

interface Row { topology: string, rule: string, attack: string, consensus: number, accuracy: number, minAccuracy: number, byzantine: string[], valid: boolean }
const rows: Row[] = []

for (const name of values.topologies.split(',')) {
  const topology = await readTopology(`topologies/${name}.json`)
  for (const attack of ['none', values.attack]) {
    for (const rule of rules) {
      if (attack !== 'none' && rule === 'mean') continue
      const options: SwarmOptions = {
        ...launchDefaults(topology, rounds),
        rule,
        roundTimeoutMs: 5000,
        evalEvery: rounds,
        ...(attack === 'none' ? {} : { attack, byzantineCount: 3 })
      }
      const plan = planSwarm(options)
      const sim = await simulateSwarm({ plan, kappa: false })
      const row = { topology: name, rule, attack, consensus: sim.final.consensus, accuracy: sim.final.meanAccuracy, minAccuracy: sim.final.minAccuracy, byzantine: plan.byzantine, valid: sim.delivery.valid }
      rows.push(row)
      process.stderr.write(`${name} ${rule} ${attack}: consensus ${row.consensus.toExponential(3)}, accuracy ${(100 * row.accuracy).toFixed(2)} % (min ${(100 * row.minAccuracy).toFixed(2)} %)\n`)
      writeFileSync(join(values.out, 'default-rule.json'), JSON.stringify({ rounds, rows }, null, 2) + '\n')
    }
  }
}

const md = ['# Choosing the default mixing rule', '', `\`node packages/bench/src/default-rule.ts --rules ${values.rules} --topologies ${values.topologies} --rounds ${rounds}\``, '',
  `Honest consensus distance after ${rounds} rounds with no attack, as a multiple of weighted-mean gossip's on the same graph, and honest mean (min) accuracy with no attack and under ${values.attack} from 3 Byzantine peers drawn from μ_H.`, '',
  '| topology | rule | consensus (× mean) | accuracy, no attack | accuracy under attack |', '|---|---|---|---|---|']
for (const name of values.topologies.split(',')) {
  const base = rows.find((r) => r.topology === name && r.rule === 'mean' && r.attack === 'none')
  for (const rule of rules) {
    const clean = rows.find((r) => r.topology === name && r.rule === rule && r.attack === 'none')
    const attacked = rows.find((r) => r.topology === name && r.rule === rule && r.attack !== 'none')
    if (clean === undefined) continue
    const pct = (r: Row | undefined): string => r === undefined ? '–' : `${(100 * r.accuracy).toFixed(2)} % (${(100 * r.minAccuracy).toFixed(2)} %)${r.valid ? '' : ' not a result'}`
    md.push(`| ${name} | ${rule} | ${clean.consensus.toExponential(2)} (${base === undefined ? '–' : (clean.consensus / base.consensus).toFixed(2)}×) | ${pct(clean)} | ${pct(attacked)} |`)
  }
}
writeFileSync(join(values.out, 'default-rule.md'), md.join('\n') + '\n')
process.stdout.write(md.join('\n') + '\n')
