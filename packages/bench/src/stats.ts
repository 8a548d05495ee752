// Small statistics the suites share.

/** Median of the finite values (NaN when there are none); the mean of the middle two for even counts. */
export { median } from '@murmur/robust'

/** Ordinary least squares y ≈ intercept + slope·x over the points [from, to). */
export function leastSquares (x: ArrayLike<number>, y: ArrayLike<number>, from = 0, to = x.length): { slope: number, intercept: number, points: number } {
  const count = to - from
  if (count < 2) return { slope: Number.NaN, intercept: Number.NaN, points: Math.max(0, count) }
  let mx = 0; let my = 0
  for (let i = from; i < to; i++) { mx += x[i]; my += y[i] }
  mx /= count; my /= count
  let sxy = 0; let sxx = 0
  for (let i = from; i < to; i++) {
    const dx = x[i] - mx
    sxy += dx * (y[i] - my)
    sxx += dx * dx
  }
  const slope = sxy / sxx
  return { slope, intercept: my - slope * mx, points: count }
}

/** Spearman's rank correlation (ties get their mean rank); NaN for fewer than 3 pairs. */
export function spearman (a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length || a.length < 3) return Number.NaN
  const ra = ranks(a); const rb = ranks(b)
  const n = a.length
  const mean = (n + 1) / 2
  let sab = 0; let saa = 0; let sbb = 0
  for (let i = 0; i < n; i++) {
    sab += (ra[i] - mean) * (rb[i] - mean)
    saa += (ra[i] - mean) ** 2
    sbb += (rb[i] - mean) ** 2
  }
  return sab / Math.sqrt(saa * sbb)
}

function ranks (values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((p, q) => p[0] - q[0])
  const out = new Array<number>(values.length)
  for (let i = 0; i < order.length;) {
    let j = i
    while (j + 1 < order.length && order[j + 1][0] === order[i][0]) j++
    for (let k = i; k <= j; k++) out[order[k][1]] = (i + j) / 2 + 1
    i = j + 1
  }
  return out
}

/** Every number in a JSON-like value is finite (null stands for "not applicable" and passes). */
export function allFinite (value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value)
  if (Array.isArray(value)) return value.every(allFinite)
  if (typeof value === 'object' && value !== null) return Object.values(value).every(allFinite)
  return true
}

/** Keeps at most `max` points of a series: every k-th, always with the last one. */
export function thin<T> (points: readonly T[], max: number): T[] {
  if (points.length <= max) return points.slice()
  const step = Math.ceil(points.length / (max - 1))
  const out: T[] = []
  for (let i = 0; i < points.length - 1; i += step) out.push(points[i])
  out.push(points[points.length - 1])
  return out
}

/** A number rounded to `digits` significant digits (keeps JSON and CSV short). */
export function round (value: number, digits = 4): number {
  if (!Number.isFinite(value) || value === 0) return value
  return Number(value.toPrecision(digits))
}

/** Powers of ten spanning the positive values: tick values for a log axis without minor ticks. */
export function decades (values: readonly number[]): number[] {
  const positive = values.filter((v) => v > 0 && Number.isFinite(v))
  if (positive.length === 0) return [1]
  const lo = Math.floor(Math.log10(Math.min(...positive)))
  const hi = Math.ceil(Math.log10(Math.max(...positive)))
  return Array.from({ length: hi - lo + 1 }, (_, k) => Number(`1e${lo + k}`))
}

/** d as `1e6` when it is a power of ten, else its digits: for labels and cell ids. */
export function exp10 (d: number): string {
  const e = Math.log10(d)
  return Number.isInteger(e) ? `1e${e}` : String(d)
}

/** 1-2-3-5-7 ticks spanning the positive values: a log axis that is readable over less than a decade. */
export function logTicks (values: readonly number[]): number[] {
  const ticks = decades(values).flatMap((p) => [p, 2 * p, 3 * p, 5 * p, 7 * p]).map((v) => round(v, 3))
  const positive = values.filter((v) => v > 0 && Number.isFinite(v))
  if (positive.length === 0) return ticks
  const lo = Math.min(...positive); const hi = Math.max(...positive)
  const inside = ticks.filter((t) => t >= lo && t <= hi)
  // Keep one tick beyond each end so the axis is never blank over a narrow range.
  return [...ticks.filter((t) => t < lo).slice(-1), ...inside, ...ticks.filter((t) => t > hi).slice(0, 1)]
}
