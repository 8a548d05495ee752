// Suite options from the command line: every error names the option and what it expected.

/** A comma-separated option as trimmed, non-empty items; undefined when it was not given. */
export function listOption (value: unknown, name: string): string[] | undefined {
  if (value === undefined) return undefined
  const items = String(value).split(',').map((s) => s.trim()).filter((s) => s !== '')
  if (items.length === 0) throw new Error(`--${name}: empty list`)
  return items
}

/**
 * A comma-separated list of sizes such as `1e5,1e6`, rounded to integers in [1, max]; `what` names
 * them in the error (e.g. `dimensions`).
 */
export function sizeList (value: unknown, name: string, fallback: number[], limits: { max?: number, what?: string } = {}): number[] {
  const items = listOption(value, name)
  if (items === undefined) return fallback
  const { max = Number.POSITIVE_INFINITY, what = 'sizes' } = limits
  const range = Number.isFinite(max) ? `between 1 and ${max.toExponential().replace('e+', 'e')}` : '≥ 1'
  return items.map((s) => {
    const v = Number(s)
    if (!Number.isFinite(v) || v < 1 || v > max) throw new Error(`--${name}: expected ${what} ${range} (e.g. 1e5), got "${s}"`)
    return Math.round(v)
  })
}
