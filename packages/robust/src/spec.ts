import { RobustInputError } from './errors.ts'

// The text form shared by rules and attacks: stages joined by `+`, each a name with optional
// `key=value` parameters, e.g. `clip(c=2)+nnm+cwtm` or `alie(z=1.5)`. Names and parameter
// names are case-insensitive; whitespace between tokens is ignored.

export type ParamValue = number | string

/** One parameter a rule or attack accepts: what the parser checks and what help text shows. */
export interface ParamSpec {
  readonly name: string
  readonly type: 'number' | 'string' | 'enum'
  readonly description: string
  /** Used when the spec omits the parameter; without one the factory's own default applies. */
  readonly default?: ParamValue
  /** The spec must give it. */
  readonly required?: boolean
  readonly integer?: boolean
  readonly min?: number
  readonly max?: number
  /** `min` itself is excluded (e.g. a threshold that must be > 0). */
  readonly exclusiveMin?: boolean
  /** `max` itself is excluded. */
  readonly exclusiveMax?: boolean
  /** The allowed values of an enum. */
  readonly values?: readonly string[]
}

/** What the parser needs to know about a name it may meet. */
export interface SpecEntry {
  readonly name: string
  readonly aliases?: readonly string[]
  readonly params: readonly ParamSpec[]
}

/** A stage as written, before its name and parameters are checked. */
export interface RawStage {
  readonly name: string
  /** 0-based offset of the name in the spec. */
  readonly offset: number
  readonly params: ReadonlyArray<{ readonly key: string, readonly value: string, readonly keyOffset: number, readonly valueOffset: number }>
}

/** A checked stage: canonical name, typed parameters (only those the spec gives). */
export interface SpecStage {
  readonly name: string
  readonly offset: number
  readonly params: Readonly<Record<string, ParamValue>>
}

/** Splits a spec into stages. `what` names the kind of spec in error messages ("rule", "attack"). */
export function tokenizeSpec (spec: string, what: string): RawStage[] {
  if (typeof spec !== 'string') throw specError('bad-parameter', what, String(spec), `a ${what} spec must be a string`)
  const stages: RawStage[] = []
  let pos = 0
  const fail = (message: string): never => { throw specError('bad-parameter', what, spec, message) }
  const skip = (): void => { while (pos < spec.length && /\s/.test(spec[pos])) pos++ }
  const shown = (): string => pos < spec.length ? `'${spec[pos]}' at column ${pos + 1}` : 'the end of the spec'
  // Names may contain '-' after the first letter (no-regret); parameter names may not.
  const word = (inner: RegExp): string => {
    const start = pos
    if (pos < spec.length && /[A-Za-z_]/.test(spec[pos])) {
      pos++
      while (pos < spec.length && inner.test(spec[pos])) pos++
    }
    return spec.slice(start, pos)
  }
  skip()
  if (pos === spec.length) fail(`empty ${what} spec`)
  for (;;) {
    skip()
    const offset = pos
    const name = word(/[A-Za-z0-9_-]/)
    if (name === '') fail(`expected a ${what} name, found ${shown()}`)
    const params: Array<RawStage['params'][number]> = []
    skip()
    if (spec[pos] === '(') {
      const open = pos
      pos++
      skip()
      if (spec[pos] === ')') {
        pos++
      } else {
        for (;;) {
          skip()
          const keyOffset = pos
          const key = word(/[A-Za-z0-9_]/)
          if (key === '') fail(`expected a parameter name of ${name}, found ${shown()}`)
          skip()
          if (spec[pos] !== '=') fail(`expected '=' after parameter "${key}" of ${name}, found ${shown()}`)
          pos++
          skip()
          const valueOffset = pos
          while (pos < spec.length && !',()'.includes(spec[pos])) pos++
          const value = spec.slice(valueOffset, pos).trim()
          if (value === '') fail(`parameter "${key}" of ${name} at column ${keyOffset + 1} has no value`)
          if (pos === spec.length) fail(`missing ')' to close the parameters of ${name} opened at column ${open + 1}`)
          if (spec[pos] === '(') fail(`unexpected '(' at column ${pos + 1} in the value of parameter "${key}" of ${name}`)
          params.push({ key, value, keyOffset, valueOffset })
          if (spec[pos] === ')') { pos++; break }
          pos++ // ','
        }
      }
      skip()
    }
    stages.push({ name, offset, params })
    if (pos === spec.length) return stages
    if (spec[pos] !== '+') fail(`unexpected ${shown()}: stages are joined by '+'`)
    const plus = pos++
    skip()
    if (pos === spec.length) fail(`expected a ${what} name after the '+' at column ${plus + 1}`)
  }
}

/** Finds the catalog entry of a stage's name (or alias), case-insensitively. */
export function findEntry<E extends SpecEntry> (catalog: readonly E[], name: string): E | undefined {
  const key = name.toLowerCase()
  return catalog.find((e) => e.name.toLowerCase() === key || (e.aliases ?? []).some((a) => a.toLowerCase() === key))
}

/**
 * Checks a stage against the catalog: known name, known parameters, values of the right type and
 * range, required parameters present. Errors name the column and the problem.
 */
export function resolveStage<E extends SpecEntry> (spec: string, raw: RawStage, catalog: readonly E[], what: string): { entry: E, stage: SpecStage } {
  const entry = findEntry(catalog, raw.name)
  if (entry === undefined) {
    throw specError('unknown-rule', what, spec,
      `unknown ${what} "${raw.name}" at column ${raw.offset + 1}; known ${what}s: ${catalog.map((e) => e.name).join(', ')}`)
  }
  const params: Record<string, ParamValue> = {}
  for (const p of raw.params) {
    const schema = entry.params.find((s) => s.name.toLowerCase() === p.key.toLowerCase())
    if (schema === undefined) {
      const known = entry.params.length > 0 ? `its parameters: ${entry.params.map((s) => s.name).join(', ')}` : 'it takes no parameters'
      throw specError('bad-parameter', what, spec, `${entry.name} has no parameter "${p.key}" (column ${p.keyOffset + 1}); ${known}`)
    }
    if (schema.name in params) {
      throw specError('bad-parameter', what, spec, `parameter "${schema.name}" of ${entry.name} is given twice (column ${p.keyOffset + 1})`)
    }
    const value = parseValue(schema, p.value)
    const problem = schema.type === 'number' && typeof value === 'string' ? 'expected a number' : checkValue(schema, value)
    if (problem !== undefined) {
      throw specError('bad-parameter', what, spec,
        `bad value "${p.value}" for parameter "${schema.name}" of ${entry.name} at column ${p.valueOffset + 1}: ${problem}`)
    }
    params[schema.name] = value
  }
  for (const s of entry.params) {
    if (s.required === true && !(s.name in params)) {
      throw specError('bad-parameter', what, spec,
        `${entry.name} at column ${raw.offset + 1} needs parameter "${s.name}" (${s.description}), e.g. ${entry.name}(${s.name}=...)`)
    }
  }
  return { entry, stage: { name: entry.name, offset: raw.offset, params } }
}

/** The explicit parameters with schema defaults filled in: what a factory receives. */
export function withDefaults (entry: SpecEntry, params: Readonly<Record<string, ParamValue>>): Record<string, ParamValue> {
  const full: Record<string, ParamValue> = {}
  for (const s of entry.params) {
    const v = params[s.name] ?? s.default
    if (v !== undefined) full[s.name] = v
  }
  return full
}

/**
 * The canonical text of a stage: canonical name, parameters in schema order, those equal to
 * their default left out, so two specs that mean the same thing print the same.
 */
export function formatStage (entry: SpecEntry, params: Readonly<Record<string, ParamValue>>): string {
  const parts: string[] = []
  for (const s of entry.params) {
    const v = params[s.name]
    if (v === undefined || v === s.default) continue
    parts.push(`${s.name}=${String(v)}`)
  }
  return parts.length > 0 ? `${entry.name}(${parts.join(',')})` : entry.name
}

/** One line per parameter, for help text: `name: type [range] (default x) description`. */
export function describeParams (entry: SpecEntry): string[] {
  return entry.params.map((s) => {
    const type = s.type === 'enum' ? (s.values ?? []).join('|') : s.integer === true ? 'integer' : s.type
    const range = rangeText(s)
    const dflt = s.required === true ? 'required' : s.default !== undefined ? `default ${String(s.default)}` : 'default: automatic'
    return `${s.name}: ${type}${range === '' ? '' : ` ${range}`} (${dflt}) ${s.description}`
  })
}

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i

function parseValue (schema: ParamSpec, text: string): ParamValue {
  if (schema.type === 'number') return NUMBER.test(text) ? Number(text) : text
  if (schema.type === 'enum') {
    const found = (schema.values ?? []).find((v) => v.toLowerCase() === text.toLowerCase())
    return found ?? text
  }
  return text
}

function checkValue (schema: ParamSpec, value: ParamValue): string | undefined {
  if (schema.type === 'enum') {
    const values = schema.values ?? []
    return values.includes(value as string) ? undefined : `expected one of ${values.join(', ')}`
  }
  if (schema.type === 'string') return undefined
  const v = value as number
  if (!Number.isFinite(v)) return 'expected a finite number'
  if (schema.integer === true && !Number.isInteger(v)) return 'expected an integer'
  const belowMin = schema.min !== undefined && (schema.exclusiveMin === true ? v <= schema.min : v < schema.min)
  const aboveMax = schema.max !== undefined && (schema.exclusiveMax === true ? v >= schema.max : v > schema.max)
  return belowMin || aboveMax ? `expected a value in ${rangeText(schema)}` : undefined
}

function rangeText (s: ParamSpec): string {
  if (s.type !== 'number' || (s.min === undefined && s.max === undefined)) return ''
  const lo = s.min === undefined ? '(-∞' : `${s.exclusiveMin === true ? '(' : '['}${s.min}`
  const hi = s.max === undefined ? '∞)' : `${s.max}${s.exclusiveMax === true ? ')' : ']'}`
  return `${lo}, ${hi}`
}

function specError (code: 'unknown-rule' | 'bad-parameter', what: string, spec: string, message: string): RobustInputError {
  return new RobustInputError(code, `${what} spec "${spec}": ${message}`)
}
