import { join } from 'node:path'
import { createRunProgress, resolveSuiteOptions, runSuite, suites, type AnySuite, type Profile } from '@murmur/bench'
import { defineCommand, UsageError, type AnyCommand, type OptionSpecs } from '../../command.ts'

/** Options every suite takes; a suite's own options come after them. */
const commonOptions: OptionSpecs = {
  quick: { type: 'boolean', description: 'the quick profile: a small sweep whose checks CI asserts (exit 1 when one fails)' },
  out: { type: 'string', placeholder: 'dir', description: 'run directory (default bench-results/<suite>-<profile>); a run there resumes its unfinished cells' },
  seed: { type: 'integer', default: 0, description: 'base seed mixed into every cell\'s seed (0 keeps the suite\'s own seeds)' }
}
const reserved = new Set([...Object.keys(commonOptions), 'help', 'list'])

/** `bench-results/<suite>-<profile>`. */
export function defaultBenchDir (suite: string, profile: Profile): string {
  return join('bench-results', `${suite}-${profile}`)
}

function suiteCommand (suite: AnySuite): AnyCommand {
  const own = suite.options ?? {}
  for (const name of Object.keys(own)) {
    if (reserved.has(name)) throw new Error(`suite ${suite.name}: option --${name} clashes with a common option of murmur bench`)
  }
  return defineCommand({
    name: suite.name,
    summary: `${suite.summary} (full ${suite.fullDuration})`,
    description: `Runs the ${suite.name} suite: ${suite.summary}. The full profile takes ${suite.fullDuration} on a 2-core machine; ` +
      '--quick runs a small sweep and fails (exit 1) when one of its checks fails. ' +
      'Each finished cell is written to <out>/cells/ at once, so Ctrl-C keeps it and running the same command again resumes; ' +
      'then results.json, one CSV per table, plots/*.svg|png and report.md are written (`murmur report <out>` redoes them).',
    options: { ...commonOptions, ...own },
    examples: [
      { command: `murmur bench ${suite.name} --quick`, description: `the quick profile into ${defaultBenchDir(suite.name, 'quick')}` },
      { command: `murmur bench ${suite.name} --out docs/results/${suite.name}`, description: 'the full profile; run it again to resume after Ctrl-C' }
    ],
    run: async ({ options: parsed, io, path }) => {
      // Options built at run time from the suite's specs: their static types are unknown here.
      const options = parsed as Record<string, unknown>
      const profile: Profile = options.quick === true ? 'quick' : 'full'
      const outDir = (options.out as string | undefined) ?? defaultBenchDir(suite.name, profile)
      const given: Record<string, unknown> = {}
      for (const name of Object.keys(own)) if (options[name] !== undefined) given[name] = options[name]
      // Option values the suite refuses (a bad list, an unknown topology) are usage errors.
      try {
        suite.cells(profile, resolveSuiteOptions(suite, given))
      } catch (error) {
        throw new UsageError(error instanceof Error ? error.message : String(error), path)
      }

      const controller = new AbortController()
      const onSigint = (): void => {
        if (controller.signal.aborted) process.exit(130) // a second Ctrl-C: the user means it
        progress.log('murmur: stopping after the current cell (Ctrl-C again to quit at once)')
        controller.abort()
      }
      // A terminal gets the redrawn bar; anything else one line per cell through io (tests capture it).
      const progress = createRunProgress(process.stderr.isTTY ? {} : { write: io.stderr })
      io.stderr(`murmur: ${suite.name} (${profile} profile) into ${outDir}\n`)
      process.on('SIGINT', onSigint)
      let outcome
      try {
        outcome = await runSuite(suite, {
          profile, outDir, options: given, seed: options.seed as number, signal: controller.signal, onProgress: progress.onEvent
        })
      } finally {
        progress.done()
        process.off('SIGINT', onSigint)
      }
      if (outcome.interrupted) {
        throw new Error(`stopped: ${outcome.resumed + outcome.ran} of ${outcome.total} cells finished and kept in ${join(outDir, 'cells')}; ` +
          'run the same command again to resume')
      }
      const checks = outcome.summary?.checks ?? []
      for (const check of checks) io.stdout(`${check.ok ? '✓' : '✗'} ${check.name}: ${check.detail}\n`)
      io.stdout(`${outcome.ran} cell${outcome.ran === 1 ? '' : 's'} run, ${outcome.resumed} resumed; report: ${join(outDir, 'report.md')}\n`)
      if (outcome.failed.length > 0) {
        const names = outcome.failed.map((c) => c.name).join('; ')
        if (profile === 'quick') throw new Error(`${outcome.failed.length} of ${checks.length} checks failed: ${names}`)
        io.stderr(`murmur: warning: ${outcome.failed.length} of ${checks.length} checks failed: ${names}\n`)
      }
    }
  })
}

/** Each suite's options, for the group's --help. */
function suitesHelp (): string {
  const lines = ['Suites and their own options (see also `murmur bench <suite> --help`):']
  for (const suite of suites) {
    lines.push('', `  ${suite.name} — ${suite.summary} (full ${suite.fullDuration})`)
    const own = Object.entries(suite.options ?? {})
    if (own.length === 0) lines.push('      (no options of its own)')
    for (const [name, spec] of own) {
      const placeholder = spec.placeholder ?? (spec.type === 'string' ? 'value' : spec.type === 'integer' ? 'n' : 'x')
      const flag = `--${name}${spec.type === 'boolean' ? '' : ` <${placeholder}>`}`
      const choices = spec.choices === undefined ? '' : ` (${spec.choices.join(' | ')})`
      const extra = `${choices}${spec.default === undefined ? '' : ` (default: ${String(spec.default)})`}`
      lines.push(`      ${flag.padEnd(22)} ${spec.description}${extra}`)
    }
  }
  return lines.join('\n')
}

export const benchCommand = defineCommand({
  name: 'bench',
  summary: 'run a benchmark suite into a resumable run directory with tables, plots and a report',
  description: 'Runs a benchmark suite: seeded cells, each written to <out>/cells/ as it finishes (a rerun resumes), then ' +
    'results.json, CSV tables, SVG/PNG plots and report.md. Common options: --quick (the small profile CI asserts), ' +
    '--out <dir> (default bench-results/<suite>-<profile>), --seed <n>.\n\n' + suitesHelp(),
  positionals: [{ name: 'suite', description: `one of ${suites.map((s) => s.name).join(', ')}` }],
  options: {
    list: { type: 'boolean', description: 'list the suites with what their full profile costs' }
  },
  subcommands: suites.map(suiteCommand),
  examples: [
    { command: 'murmur bench --list', description: 'the suites and their full durations' },
    { command: 'murmur bench convergence --quick', description: 'a small sweep, checks asserted' },
    { command: 'murmur bench convergence --out docs/results/convergence', description: 'the full sweep into a chosen directory' }
  ],
  run: ({ options, io, path }) => {
    if (options.list !== true) throw new UsageError(`missing <suite> (expected ${suites.map((s) => s.name).join(', ')})`, path)
    const width = Math.max(...suites.map((s) => s.name.length))
    for (const suite of suites) io.stdout(`${suite.name.padEnd(width)}  full ${suite.fullDuration.padEnd(8)} ${suite.summary}\n`)
  }
})
