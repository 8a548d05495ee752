import { defineCommand } from '../../command.ts'
import { generateCommand } from './generate.ts'
import { inspectCommand } from './inspect.ts'

export const topologyCommand = defineCommand({
  name: 'topology',
  summary: 'generate and inspect topology files',
  description: 'Generate topology files (graph + Byzantine model μ_H) and inspect their mixing, diameter and per-node tolerances.',
  subcommands: [generateCommand, inspectCommand],
  examples: [
    { command: 'murmur topology generate ring --n 8 -o ring-8.json', description: 'write an 8-node ring' },
    { command: 'murmur topology inspect ring-8.json', description: 'report its spectral gap, diameter and f_i' }
  ]
})
