import type { MixingRule } from '@murmur/topology'
import { defineCommand, UsageError } from '../../command.ts'
import { readTopologyFile } from '../../topology-file.ts'
import { formatInspectReport, inspectTopology } from './inspect-report.ts'

export const inspectCommand = defineCommand({
  name: 'inspect',
  summary: 'report size, degrees, spectral gap, diameter and μ_H tolerances',
  description: 'Validate a topology file and report its nodes, edges, degree statistics, the mixing ' +
    'matrix\'s ρ and spectral gap, the algebraic connectivity, the diameter, the expected number of ' +
    'Byzantine nodes under its μ_H (Monte Carlo) and each node\'s tolerance f_i(δ).',
  positionals: [{ name: 'file', description: 'topology file (JSON, or a plain edge list)', required: true }],
  options: {
    json: { type: 'boolean', description: 'print the report as JSON' },
    delta: { type: 'number', default: 0.05, placeholder: 'δ', description: 'failure probability δ of f_i(δ)' },
    samples: { type: 'integer', default: 2000, description: 'Monte Carlo draws from μ_H' },
    seed: { type: 'integer', default: 0, description: 'seed of the μ_H draws' },
    mixing: { type: 'string', default: 'metropolis-hastings', choices: ['metropolis-hastings', 'uniform'], description: 'mixing matrix rule' },
    confidence: { type: 'number', default: 0.95, description: 'confidence level of the intervals' },
    'given-honest': { type: 'boolean', description: 'estimate P(|N(i) ∩ B| > f) given that i is honest' },
    'all-nodes': { type: 'boolean', description: 'list every node (default: only for graphs of ≤ 40 nodes, else a histogram of f_i)' }
  },
  examples: [
    { command: 'murmur topology inspect topologies/ring-8.json', description: 'the report as text' },
    { command: 'murmur topology inspect topologies/clusters-24.json --json --delta 0.01 --samples 5000', description: 'stricter δ, more draws, as JSON' }
  ],
  run: async ({ options, positionals, io, path }) => {
    if (!(options.delta >= 0 && options.delta <= 1)) throw new UsageError(`--delta: expected a probability in [0, 1], got ${options.delta}`, path)
    if (options.samples < 1) throw new UsageError(`--samples: expected a positive integer, got ${options.samples}`, path)
    if (!(options.confidence > 0 && options.confidence < 1)) throw new UsageError(`--confidence: expected a number in (0, 1), got ${options.confidence}`, path)
    const file = positionals[0]
    const topology = await readTopologyFile(file)
    const report = inspectTopology(topology, {
      delta: options.delta,
      samples: options.samples,
      seed: options.seed,
      mixing: options.mixing as MixingRule,
      confidence: options.confidence,
      conditionOnHonest: options['given-honest'] === true
    })
    io.stdout(options.json === true ? JSON.stringify(report, null, 2) + '\n' : formatInspectReport(report, options['all-nodes'] === true))
  }
})
