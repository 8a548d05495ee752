import { parseArgs } from 'node:util'

// A small typed command framework on node:util parseArgs. A command is a plain object: its
// options (typed, with defaults and help text), positionals, examples and handler; a group is a
// command with subcommands. `runCommand` resolves the argv path, parses strictly, prints help, and
// maps errors to exit codes (2 usage, 1 failure).

export type OptionType = 'string' | 'boolean' | 'number' | 'integer'

export interface OptionSpec {
  type: OptionType
  description: string
  /** One-letter alias, e.g. `o` for `-o`. */
  short?: string
  default?: string | number | boolean
  /** Allowed values of a string option. */
  choices?: readonly string[]
  /** Placeholder shown in help, e.g. `file` for `--output <file>`. */
  placeholder?: string
}

export type OptionSpecs = Record<string, OptionSpec>

type ValueOf<S extends OptionSpec> = S['type'] extends 'boolean' ? boolean : S['type'] extends 'string' ? string : number

/** Parsed option values, keyed by flag name; options with a default are always present. */
export type OptionValues<O extends OptionSpecs> = {
  [K in keyof O]: O[K] extends { default: string | number | boolean } ? ValueOf<O[K]> : ValueOf<O[K]> | undefined
}

export interface PositionalSpec {
  name: string
  description: string
  required?: boolean
}

/** Where a command writes. Tests pass their own; the binary passes the process streams. */
export interface CommandIo {
  stdout: (text: string) => void
  stderr: (text: string) => void
}

export interface CommandArgs<O extends OptionSpecs> {
  options: OptionValues<O>
  positionals: string[]
  io: CommandIo
  /** The command path, e.g. `murmur topology inspect`, for messages. */
  path: string
}

export interface Command<O extends OptionSpecs = OptionSpecs> {
  name: string
  /** One line, shown in the parent's command list. */
  summary: string
  /** Longer text under the usage line. */
  description?: string
  positionals?: PositionalSpec[]
  options?: O
  examples?: Array<{ command: string, description: string }>
  subcommands?: AnyCommand[]
  run?: (args: CommandArgs<O>) => void | Promise<void>
}

/** A command of any option shape (commands sit in tables of mixed option types). */
export type AnyCommand = Command<any>

/** Returns the command unchanged; lets TypeScript infer the option types. */
export function defineCommand<O extends OptionSpecs> (command: Command<O>): Command<O> {
  return command
}

/** Bad command line: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {
  /** Command path whose help explains the fix. */
  helpPath?: string
  constructor (message: string, helpPath?: string) {
    super(message)
    this.name = 'UsageError'
    this.helpPath = helpPath
  }
}

const helpOption: OptionSpec = { type: 'boolean', short: 'h', description: 'show this help' }
const versionOption: OptionSpec = { type: 'boolean', short: 'V', description: 'print the version' }

export interface RunOptions {
  io: CommandIo
  version?: string
  /** Print stack traces of failures (the binary sets this from DEBUG). */
  debug?: boolean
}

/** Runs `argv` against the command tree rooted at `root`; resolves to the exit code. */
export async function runCommand (root: AnyCommand, argv: readonly string[], options: RunOptions): Promise<number> {
  const { io } = options
  let path = root.name
  try {
    // Walk down the tree while the next word names a subcommand.
    let command: AnyCommand = root
    let i = 0
    while (command.subcommands !== undefined && i < argv.length && !argv[i].startsWith('-')) {
      const word = argv[i]
      const sub = command.subcommands.find((c) => c.name === word)
      if (sub === undefined) {
        throw new UsageError(`unknown command "${word}" for "${path}" (expected ${command.subcommands.map((c) => c.name).join(', ')})`, path)
      }
      command = sub
      path = `${path} ${sub.name}`
      i++
    }
    const specs: OptionSpecs = { ...(command.options ?? {}), help: helpOption }
    if (command === root && options.version !== undefined) specs.version = versionOption
    const parsed = parseStrict(specs, argv.slice(i), path)
    if (parsed.values.help === true) { io.stdout(formatHelp(command, path, specs)); return 0 }
    if (parsed.values.version === true) { io.stdout(`${options.version ?? ''}\n`); return 0 }
    if (command.run === undefined) {
      if (parsed.positionals.length > 0) throw new UsageError(`unknown command "${parsed.positionals[0]}" for "${path}"`, path)
      const names = (command.subcommands ?? []).map((c) => c.name).join(', ')
      throw new UsageError(`missing command for "${path}" (expected ${names})`, path)
    }
    const positionals = command.positionals ?? []
    const required = positionals.filter((p) => p.required === true).length
    if (parsed.positionals.length < required) {
      throw new UsageError(`missing <${positionals[parsed.positionals.length].name}>`, path)
    }
    if (parsed.positionals.length > positionals.length) {
      throw new UsageError(`unexpected argument "${parsed.positionals[positionals.length]}"`, path)
    }
    await command.run({ options: parsed.values as OptionValues<OptionSpecs>, positionals: parsed.positionals, io, path })
    return 0
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`${root.name}: ${error.message}\n`)
      io.stderr(`Run '${error.helpPath ?? path} --help' for usage.\n`)
      return 2
    }
    const message = error instanceof Error ? error.message : String(error)
    io.stderr(`${root.name}: ${message}\n`)
    if (options.debug === true && error instanceof Error && error.stack !== undefined) io.stderr(`${error.stack}\n`)
    return 1
  }
}

/** parseArgs in strict mode, with numbers converted and checked and errors as UsageErrors. */
function parseStrict (specs: OptionSpecs, args: string[], path: string): { values: Record<string, unknown>, positionals: string[] } {
  const config: Record<string, { type: 'string' | 'boolean', short?: string }> = {}
  for (const [name, spec] of Object.entries(specs)) {
    config[name] = { type: spec.type === 'boolean' ? 'boolean' : 'string' }
    if (spec.short !== undefined) config[name].short = spec.short
  }
  let result
  try {
    result = parseArgs({ args: joinNegativeNumbers(specs, args), options: config, strict: true, allowPositionals: true })
  } catch (error) {
    throw new UsageError(parseArgsMessage(error), path)
  }
  const values: Record<string, unknown> = {}
  for (const [name, spec] of Object.entries(specs)) {
    const raw = (result.values as Record<string, string | boolean | undefined>)[name]
    if (raw === undefined) {
      if (spec.default !== undefined) values[name] = spec.default
      continue
    }
    values[name] = convert(name, spec, raw, path)
  }
  return { values, positionals: result.positionals }
}

/** `--h -1` would read -1 as a flag: glue negative numbers to their numeric option (`--h=-1`). */
function joinNegativeNumbers (specs: OptionSpecs, args: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]
    const name = arg.startsWith('--') ? arg.slice(2) : Object.keys(specs).find((key) => arg === `-${specs[key].short ?? '\0'}`)
    const spec = name === undefined ? undefined : specs[name]
    const next = args[i + 1]
    if (spec !== undefined && (spec.type === 'number' || spec.type === 'integer') && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      out.push(`${arg}=${next}`)
      i++
    } else {
      out.push(arg)
    }
  }
  return out
}

function convert (name: string, spec: OptionSpec, raw: string | boolean, path: string): string | number | boolean {
  if (spec.type === 'boolean') return raw
  const text = String(raw)
  if (spec.type === 'string') {
    if (spec.choices !== undefined && !spec.choices.includes(text)) {
      throw new UsageError(`--${name}: expected one of ${spec.choices.join(', ')}, got "${text}"`, path)
    }
    return text
  }
  const value = text.trim() === '' ? NaN : Number(text)
  if (!Number.isFinite(value)) throw new UsageError(`--${name}: expected a number, got "${text}"`, path)
  if (spec.type === 'integer' && !Number.isInteger(value)) throw new UsageError(`--${name}: expected an integer, got "${text}"`, path)
  return value
}

/** Rephrases parseArgs errors: "unknown option --foo", "--n needs a value". */
function parseArgsMessage (error: unknown): string {
  const code = (error as { code?: string }).code
  const message = error instanceof Error ? error.message : String(error)
  // parseArgs quotes the flag as '--name', '-n' or '-n, --name'.
  const quoted = /'(-[^']*)'/.exec(message)?.[1] ?? ''
  const flag = /--[\w-]+/.exec(quoted)?.[0] ?? quoted.split(/[ ,]/)[0]
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${flag}`
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (message.includes('does not take an argument')) return `${flag} does not take a value`
    return `${flag} needs a value`
  }
  return message
}

/** The --help text of a command: usage, description, arguments or subcommands, options, examples. */
export function formatHelp (command: AnyCommand, path: string, specs: OptionSpecs): string {
  const lines: string[] = []
  const positionals = command.positionals ?? []
  const words = positionals.map((p) => p.required === true ? `<${p.name}>` : `[${p.name}]`)
  if (command.subcommands !== undefined && command.run === undefined) words.push('<command>')
  lines.push(`Usage: ${[path, ...words, '[options]'].join(' ')}`, '')
  lines.push(command.description ?? command.summary, '')
  if (command.subcommands !== undefined && command.subcommands.length > 0) {
    lines.push('Commands:')
    lines.push(...table(command.subcommands.map((c) => [c.name, c.summary])), '')
  }
  if (positionals.length > 0) {
    lines.push('Arguments:')
    lines.push(...table(positionals.map((p) => [`<${p.name}>`, p.description])), '')
  }
  lines.push('Options:')
  lines.push(...table(Object.entries(specs).map(([name, spec]) => {
    const value = spec.type === 'boolean' ? '' : ` <${spec.placeholder ?? (spec.type === 'string' ? 'value' : spec.type === 'integer' ? 'n' : 'x')}>`
    const flag = `${spec.short !== undefined ? `-${spec.short}, ` : '    '}--${name}${value}`
    let text = spec.description
    if (spec.choices !== undefined) text += ` (${spec.choices.join(' | ')})`
    if (spec.default !== undefined) text += ` (default: ${String(spec.default)})`
    return [flag, text]
  })), '')
  if (command.examples !== undefined && command.examples.length > 0) {
    lines.push('Examples:')
    for (const example of command.examples) lines.push(`  ${example.command}`, `      ${example.description}`)
    lines.push('')
  }
  if (command.subcommands !== undefined && command.run === undefined) {
    lines.push(`Run '${path} <command> --help' for a command's options.`, '')
  }
  return lines.join('\n')
}

function table (rows: string[][]): string[] {
  const width = Math.min(34, Math.max(...rows.map((r) => r[0].length)))
  return rows.map(([left, right]) => left.length > width
    ? `  ${left}\n  ${' '.repeat(width)}  ${right}`
    : `  ${left.padEnd(width)}  ${right}`)
}
