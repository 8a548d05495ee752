import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { PNG_SIGNATURE, renderSvg, svgToPng } from '../../src/plot.ts'

const spec = {
  title: 'Decay',
  width: 200,
  height: 120,
  data: { values: [{ t: 0, y: 0, g: 'ring' }, { t: 10, y: -3, g: 'ring' }, { t: 0, y: 0, g: 'torus' }, { t: 10, y: -6, g: 'torus' }] },
  mark: 'line',
  encoding: { x: { field: 't', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' }, color: { field: 'g', type: 'nominal' } }
}

describe('plots', () => {
  test('a Vega-Lite spec renders to an SVG with its marks and text', async () => {
    const svg = await renderSvg(spec)
    assert.ok(svg.startsWith('<svg'), svg.slice(0, 80))
    assert.match(svg, /<path[^>]* d="M/)
    assert.match(svg, /<text[^>]*>Decay<\/text>/)
    assert.match(svg, /font-family="DejaVu Sans"/)
    assert.equal(await renderSvg(spec), svg, 'rendering is deterministic')
  })

  test('SVG to PNG: the PNG signature, and text really drawn (a system font was found)', async () => {
    const svg = await renderSvg(spec)
    const png = await svgToPng(svg)
    assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE)
    assert.ok(png.length > 2000, `${png.length} bytes`)
    // Without any usable font resvg silently drops text: the same SVG without its text must differ.
    const textless = await svgToPng(svg.replace(/<text[^>]*>[^<]*<\/text>/g, ''))
    assert.notDeepEqual(textless, png)
  })

  test('an invalid spec is a clear error', async () => {
    await assert.rejects(renderSvg({ data: { values: [] }, mark: 'nonsense' }), /plot: invalid Vega-Lite spec/)
  })
})
