// Plots: a Vega-Lite spec compiled and rendered to SVG by Vega's headless view (no browser, no
// canvas), and SVG rasterised to PNG by resvg. Both libraries load on first use, so commands that
// never plot do not pay for them.

import { existsSync } from 'node:fs'
import type { TopLevelSpec } from 'vega-lite'

/** The font plots ask for; DejaVu Sans ships with Debian's fonts-dejavu-core. */
export const PLOT_FONT = 'DejaVu Sans'

/** Shared look of every plot; a spec's own `config` wins where it sets the same key. */
const BASE_CONFIG = {
  font: PLOT_FONT,
  // ARIA roles and labels on every mark double the SVG; the report gives each plot a title and caption.
  aria: false,
  background: 'white',
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eee' },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 14, anchor: 'start' }
}

type Json = Record<string, unknown>

function isObject (value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Suites build their specs as plain JSON objects; vega-lite itself checks them as it compiles. */
function isVegaLiteSpec (value: unknown): value is TopLevelSpec {
  return isObject(value)
}

function deepMerge (base: Json, over: Json): Json {
  const out: Json = { ...base }
  for (const [key, value] of Object.entries(over)) {
    out[key] = isObject(value) && isObject(out[key]) ? deepMerge(out[key] as Json, value) : value
  }
  return out
}

/** Renders a Vega-Lite spec (data inline) to an SVG document. */
export async function renderSvg (spec: Record<string, unknown>): Promise<string> {
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')])
  const withConfig = { ...spec, config: deepMerge(BASE_CONFIG, isObject(spec.config) ? spec.config : {}) }
  if (!isVegaLiteSpec(withConfig)) throw new Error('plot: a Vega-Lite spec is an object')
  let compiled
  try {
    compiled = vegaLite.compile(withConfig).spec
  } catch (error) {
    throw new Error(`plot: invalid Vega-Lite spec: ${error instanceof Error ? error.message : String(error)}`)
  }
  // renderer 'none': no scenegraph is drawn to a canvas; toSVG builds the SVG from the scenegraph.
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' })
  try {
    return shortenNumbers(await view.toSVG())
  } finally {
    view.finalize()
  }
}

/**
 * Vega writes coordinates with full double precision; a hundredth of a pixel is plenty and
 * halves the file. Only numbers inside tags change, never the text of labels.
 */
function shortenNumbers (svg: string): string {
  return svg.replace(/<[^>]+>/g, (tag) => tag.replace(/(\d\.\d{2})\d+/g, '$1'))
}

/** Font folders searched besides the system's own (fontconfig) list. */
const FONT_DIRS = ['/usr/share/fonts', '/usr/local/share/fonts'].filter((dir) => existsSync(dir))

export interface PngOptions {
  /** Pixels per SVG unit (default 1: the SVG's own size; the SVG is what reports embed). */
  scale?: number
}

/** Rasterises an SVG document to PNG bytes. Text needs a system font (see PLOT_FONT). */
export async function svgToPng (svg: string, options: PngOptions = {}): Promise<Uint8Array> {
  const { Resvg } = await import('@resvg/resvg-js')
  const scale = options.scale ?? 1
  if (!(scale > 0 && scale <= 8)) throw new RangeError(`plot: scale must be in (0, 8], got ${scale}`)
  const resvg = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: scale },
    font: { loadSystemFonts: true, fontDirs: FONT_DIRS, defaultFontFamily: PLOT_FONT, sansSerifFamily: PLOT_FONT }
  })
  return new Uint8Array(resvg.render().asPng())
}

/** The 8-byte signature every PNG file starts with. */
export const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)
