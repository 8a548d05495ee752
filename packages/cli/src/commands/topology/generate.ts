import { writeFile } from 'node:fs/promises'
import {
  formatEdgeList, formatTopology, generateTopology, generatorKinds, generatorParameters, validateTopology,
  type ByzantineSpec, type GenerateOptions, type GeneratorKind, TopologyError, type WorstCaseStrategy, worstCaseStrategies
} from '@murmur/topology'
import { defineCommand, type OptionValues, UsageError } from '../../command.ts'

const options = {
  output: { type: 'string', short: 'o', placeholder: 'file', description: 'write here (.json, or .txt/.edges for an edge list) instead of stdout' },
  n: { type: 'integer', description: 'number of nodes' },
  k: { type: 'integer', description: 'degree (regular) or lattice degree (small-world, default 4)' },
  p: { type: 'number', description: 'edge probability (erdos-renyi)' },
  rows: { type: 'integer', description: 'torus rows' },
  cols: { type: 'integer', description: 'torus columns' },
  seed: { type: 'integer', description: 'random seed of random generators (default 0)' },
  beta: { type: 'number', description: 'rewiring probability (small-world, default 0.1)' },
  m: { type: 'integer', description: 'edges per new node (barabasi-albert, default 2)' },
  communities: { type: 'integer', description: 'number of blocks (sbm, default 2)' },
  'p-in': { type: 'number', description: 'edge probability inside a block (sbm, default 0.5)' },
  'p-out': { type: 'number', description: 'edge probability across blocks (sbm, default 0.02)' },
  honest: { type: 'integer', description: 'honest nodes (malicious-ring, default 5)' },
  'per-node': { type: 'integer', description: 'Byzantine leaves per honest node (malicious-ring, default 2)' },
  extra: { type: 'integer', description: 'extra Byzantine leaves on p0 (malicious-ring, default 1)' },
  name: { type: 'string', description: 'topology name (default from kind and size, e.g. ring-8)' },
  description: { type: 'string', description: 'free-text description stored in the file' },
  'byzantine-model': {
    type: 'string',
    choices: ['none', 'independent', 'cascade', 'ising', 'gaussian', 'fixed', 'worst-case'],
    description: 'μ_H section (default none; malicious-ring: fixed on its Byzantine leaves)'
  },
  'byzantine-p': { type: 'number', description: 'independent / gaussian: Byzantine probability (default 0.1)' },
  'cascade-seed': { type: 'number', description: 'cascade: seed probability p_0 (default 0.05)' },
  'cascade-spread': { type: 'number', description: 'cascade: spread probability q per edge (default 0.5)' },
  'ising-beta': { type: 'number', description: 'ising: coupling β (default 0.3)' },
  'ising-h': { type: 'number', description: 'ising: field h (default -1)' },
  'gaussian-tau': { type: 'number', description: 'gaussian: regularization τ of L + τI (default 1)' },
  'worst-f': { type: 'integer', description: 'worst-case: number of Byzantine nodes f' },
  'worst-strategy': {
    type: 'string', choices: [...worstCaseStrategies],
    description: 'worst-case: placement strategy (default auto: exact search when it fits its budget, else greedy)'
  },
  'byzantine-nodes': { type: 'string', placeholder: 'ids', description: 'fixed: comma-separated Byzantine node ids' }
} as const

type Options = OptionValues<typeof options>

/** Generator flags and the GenerateOptions field each sets. */
const graphFlags: Array<[keyof Options, keyof GenerateOptions]> = [
  ['n', 'n'], ['k', 'k'], ['p', 'p'], ['rows', 'rows'], ['cols', 'cols'], ['seed', 'seed'], ['beta', 'beta'],
  ['m', 'm'], ['communities', 'communities'], ['p-in', 'pIn'], ['p-out', 'pOut'], ['honest', 'honest'],
  ['per-node', 'perNode'], ['extra', 'extra']
]

/** Byzantine flags and the models they belong to. */
const byzantineFlags: Array<[keyof Options, string[]]> = [
  ['byzantine-p', ['independent', 'gaussian']], ['cascade-seed', ['cascade']], ['cascade-spread', ['cascade']],
  ['ising-beta', ['ising']], ['ising-h', ['ising']], ['gaussian-tau', ['gaussian']],
  ['worst-f', ['worst-case']], ['worst-strategy', ['worst-case']], ['byzantine-nodes', ['fixed']]
]

const flagOf = (key: string): string => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`

export const generateCommand = defineCommand({
  name: 'generate',
  summary: 'write a generated topology file',
  description: 'Generate a topology (seeded and reproducible) in the topology file format.\n\nKinds:\n' +
    generatorKinds.map((kind) => {
      const params = Object.keys(generatorParameters[kind].options).map(flagOf).join(' ')
      return `  ${kind.padEnd(16)} ${generatorParameters[kind].summary}${params === '' ? '' : ` [${params}]`}`
    }).join('\n'),
  positionals: [{ name: 'kind', description: `one of ${generatorKinds.join(', ')}`, required: true }],
  options,
  examples: [
    { command: 'murmur topology generate ring --n 8 -o ring-8.json', description: '8-node ring' },
    {
      command: 'murmur topology generate torus --rows 4 --cols 4 --byzantine-model independent --byzantine-p 0.1',
      description: '4×4 torus with independent Byzantine nodes, printed to stdout'
    },
    {
      command: 'murmur topology generate sbm --n 24 --communities 3 --p-in 0.6 --p-out 0.05 --byzantine-model cascade',
      description: 'three communities with a cascade μ_H'
    },
    { command: 'murmur topology generate malicious-ring --honest 5', description: 'the 16-node malicious ring' }
  ],
  run: async ({ options: values, positionals, io, path }) => {
    const kind = positionals[0]
    if (!(generatorKinds as readonly string[]).includes(kind)) {
      throw new UsageError(`unknown kind "${kind}" (expected one of ${generatorKinds.join(', ')})`, path)
    }
    const request = generateOptions(kind as GeneratorKind, values, path)
    let topology
    try {
      topology = validateTopology(generateTopology(kind as GeneratorKind, request))
    } catch (error) {
      // Generator parameters are named like their flags: `pIn` is --p-in.
      if (error instanceof TopologyError && /^[a-zA-Z]+$/.test(error.path) && error.path !== 'edges') {
        throw new UsageError(`${flagOf(error.path)}: ${error.message.replace(/^[^:]*: /, '')}`, path)
      }
      throw error
    }
    const output = values.output
    if (output === undefined) { io.stdout(formatTopology(topology)); return }
    await writeFile(output, /\.(txt|edges)$/.test(output) ? formatEdgeList(topology) : formatTopology(topology), 'utf8')
    io.stderr(`wrote ${output}: ${topology.name}, ${topology.nodes.length} nodes, ${topology.edges.length} edges\n`)
  }
})

function generateOptions (kind: GeneratorKind, values: Options, path: string): GenerateOptions {
  const request: GenerateOptions = {}
  const reads = new Set<string>(Object.keys(generatorParameters[kind].options))
  for (const [flag, key] of graphFlags) {
    const value = values[flag]
    if (value === undefined) continue
    if (!reads.has(key)) {
      const wanted = [...reads].map(flagOf).join(', ')
      throw new UsageError(`--${flag} does not apply to ${kind}${wanted === '' ? '' : ` (it reads ${wanted})`}`, path)
    }
    ;(request as Record<string, unknown>)[key] = value
  }
  if (values.name !== undefined) request.name = values.name
  if (values.description !== undefined) request.description = values.description
  if (values['byzantine-model'] === 'none') request.byzantine = null
  const byzantine = byzantineSpec(values, path)
  if (byzantine !== undefined) request.byzantine = byzantine
  return request
}

function byzantineSpec (values: Options, path: string): ByzantineSpec | undefined {
  const model = values['byzantine-model']
  for (const [flag, models] of byzantineFlags) {
    if (values[flag] !== undefined && (model === undefined || !models.includes(model))) {
      throw new UsageError(`--${flag} needs --byzantine-model ${models.join(' or ')}`, path)
    }
  }
  switch (model) {
    case undefined: case 'none': return undefined
    case 'independent': return { model, p: values['byzantine-p'] ?? 0.1 }
    case 'cascade': return { model, seed: values['cascade-seed'] ?? 0.05, spread: values['cascade-spread'] ?? 0.5 }
    case 'ising': return { model, beta: values['ising-beta'] ?? 0.3, h: values['ising-h'] ?? -1 }
    case 'gaussian': return { model, tau: values['gaussian-tau'] ?? 1, p: values['byzantine-p'] ?? 0.1 }
    case 'worst-case': {
      const f = values['worst-f']
      if (f === undefined) throw new UsageError('--byzantine-model worst-case needs --worst-f', path)
      return values['worst-strategy'] === undefined ? { model, f } : { model, f, strategy: values['worst-strategy'] as WorstCaseStrategy }
    }
    case 'fixed': {
      const list = values['byzantine-nodes']
      if (list === undefined) throw new UsageError('--byzantine-model fixed needs --byzantine-nodes', path)
      return { model, nodes: list.split(',').map((id) => id.trim()).filter((id) => id !== '') }
    }
    default: throw new UsageError(`unknown Byzantine model "${model}"`, path)
  }
}
