// What a benchmark suite is: a list of seeded cells, a function that runs one cell, and a
// summary that turns the cells' results into tables, plots and checks. The runner (runner.ts)
// owns everything else: resuming finished cells, progress with an ETA, writing JSON, CSV,
// SVG/PNG plots and the Markdown report, and re-rendering from JSON (`murmur report`).

/** quick: what CI runs and asserts on (whole suite in well under a minute). full: the real sweep. */
export type Profile = 'quick' | 'full'

/** A suite-specific command-line option (the same shape as the CLI's option specs). */
export interface SuiteOption {
  type: 'string' | 'boolean' | 'number' | 'integer'
  description: string
  default?: string | number | boolean
  choices?: readonly string[]
  placeholder?: string
}

/** One independent unit of work. `id` names its result file, so it must be stable and file-safe. */
export interface Cell<P = unknown> {
  id: string
  /** Every input the cell depends on (JSON-serialisable); written next to its result. */
  params: P
  /**
   * Seeds all randomness of the cell. With `--seed s` (s ≠ 0) the runner hands the cell a fixed
   * mix of s and this seed instead, so one flag reseeds a whole suite.
   */
  seed: number
}

export interface SuiteContext {
  profile: Profile
  /** Suite options from the command line (`--topology`, `--rules`, ...), already validated. */
  options: Readonly<Record<string, unknown>>
  /** The run directory; a cell may write scratch files under `<outDir>/cells/<cell.id>/`. */
  outDir: string
  /** Fires on Ctrl-C: a cell should stop soon; its result is then not recorded. */
  signal: AbortSignal
  /** Progress inside a long cell, 0..1 (drives the ETA). */
  progress: (fraction: number) => void
  /** `DEBUG=murmur:bench:*` logging. */
  log: (format: string, ...args: unknown[]) => void
}

/** A result table: written as CSV (`<name>.csv`) and as Markdown in the report. */
export interface Table {
  name: string
  title: string
  columns: string[]
  rows: Array<Array<string | number | null>>
}

/** A plot: a Vega-Lite spec with its data inline, rendered to `<name>.svg` and `<name>.png`. */
export interface Plot {
  name: string
  title: string
  /** One sentence under the plot in the report: what to look at. */
  caption: string
  spec: Record<string, unknown>
}

/** A pass/fail statement about the results; the quick profile's checks are asserted in CI. */
export interface Check {
  name: string
  ok: boolean
  detail: string
}

export interface SuiteSummary {
  tables: Table[]
  plots: Plot[]
  checks: Check[]
  /** Paragraphs of the report, above the tables (Markdown). */
  notes: string[]
}

export interface CellResult<R = unknown, P = unknown> {
  cell: Cell<P>
  result: R
  /** Wall time of the cell, ms. */
  ms: number
}

/** What describes a suite apart from its cells: its name, help text and options. */
export interface SuiteInfo {
  name: string
  /** One line for `murmur bench --help`. */
  summary: string
  /** What the full profile costs on a 2-core machine, e.g. '~25 min'. */
  fullDuration: string
  /** Options of this suite beyond the common ones (`--quick`, `--out`, `--seed`), by long name. */
  options?: Record<string, SuiteOption>
}

/** A suite whose cells carry parameters `P` and whose runs return results `R`. */
export interface Suite<P extends object, R> extends SuiteInfo {
  /** The cells of a profile, in run order; every cell seeded. */
  cells: (profile: Profile, options: Readonly<Record<string, unknown>>) => Array<Cell<P>>
  /** Runs one cell; the result must be JSON-serialisable. */
  run: (cell: Cell<P>, context: SuiteContext) => Promise<R>
  /** Pure: the same results give the same summary (so `murmur report` can re-render). */
  summarize: (results: Array<CellResult<R, P>>, profile: Profile) => SuiteSummary
}

/** Any suite, its parameter and result types erased: what the registry, the runner and the CLI handle. */
export interface AnySuite extends SuiteInfo {
  cells: (profile: Profile, options: Readonly<Record<string, unknown>>) => Cell[]
  run: (cell: Cell, context: SuiteContext) => Promise<unknown>
  summarize: (results: CellResult[], profile: Profile) => SuiteSummary
}

/**
 * Registers a typed suite. The result is still the typed suite (tests call its parts with typed
 * cells and results) and also an `AnySuite`. Types are erased in this one place, which is sound as
 * long as the runner hands a suite only cells its own `cells` listed and results its own `run`
 * returned, or their JSON round trip through the run directory, which is what runner.ts does.
 */
export function defineSuite<P extends object, R> (suite: Suite<P, R>): Suite<P, R> & AnySuite {
  const { cells, run, summarize } = suite
  return {
    ...suite,
    cells,
    run: async (cell: Cell, context: SuiteContext): Promise<R> => await run(cell as Cell<P>, context),
    summarize: (results: CellResult[], profile: Profile): SuiteSummary => summarize(results as Array<CellResult<R, P>>, profile)
  }
}
