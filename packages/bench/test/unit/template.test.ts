import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { describe, test } from 'node:test'
import { fillPlaceholders, loadTemplate, parseTemplate } from '../../src/template.ts'

const text = [
  'What this file is: not part of any block.',
  '',
  '<!-- block: setup -->',
  'Every cell runs {{peers}} peers',
  '  for {{ rounds }} rounds, n ∈ {{{sizes}}}.',
  '',
  '<!-- block: quick -->',
  'Quick profile: the numbers are not meant to be read.'
].join('\n')

describe('report templates', () => {
  test('a block is one paragraph with its placeholders filled; text before the first block is left out', () => {
    const t = parseTemplate(text, 'report.md')
    assert.deepEqual([...t.blocks.keys()], ['setup', 'quick'])
    assert.equal(t.render('setup', { peers: 16, rounds: '30', sizes: '16, 32' }), 'Every cell runs 16 peers for 30 rounds, n ∈ {16, 32}.')
    assert.equal(t.render('quick'), 'Quick profile: the numbers are not meant to be read.')
  })

  test('a value is inserted as is, never scanned for placeholders itself', () => {
    assert.equal(fillPlaceholders('a {{x}} b', { x: '{{y}}' }, 'here'), 'a {{y}} b')
    assert.equal(fillPlaceholders('{{x}}{{x}}', { x: 0 }, 'here'), '00')
  })

  test('a missing placeholder value is an error naming the file, the block and the placeholder', () => {
    const t = parseTemplate(text, 'suites/demo/report.md')
    assert.throws(() => t.render('setup', { peers: 16, sizes: '16' }), { message: 'suites/demo/report.md, block "setup": no value for placeholder {{rounds}}' })
    // Values read from JSON may hold null where a number was meant.
    const fromJson: Record<string, string | number> = JSON.parse('{"peers": 16, "rounds": null, "sizes": "16"}')
    assert.throws(() => t.render('setup', fromJson), /no value for placeholder \{\{rounds\}\}/)
  })

  test('an unknown block, an empty or repeated block and a malformed placeholder are errors', () => {
    const t = parseTemplate(text, 'report.md')
    assert.throws(() => t.render('setpu'), { message: 'report.md: no block "setpu" (blocks: setup, quick)' })
    assert.throws(() => parseTemplate('<!-- block: a -->\n\n<!-- block: b -->\nx', 'r.md'), /r\.md: block "a" is empty/)
    assert.throws(() => parseTemplate('<!-- block: a -->\nx\n<!-- block: a -->\ny', 'r.md'), /block "a" appears twice/)
    assert.throws(() => fillPlaceholders('a {{x} b', { x: 1 }, 'here'), /here: malformed placeholder near "a \{\{x\} b"/)
    assert.throws(() => fillPlaceholders('a {{x y}} b', { x: 1 }, 'here'), /malformed placeholder/)
    assert.throws(() => fillPlaceholders('a {{}} b', {}, 'here'), /here: empty placeholder/)
  })

  test('every suite has a report.md whose blocks parse', () => {
    const root = new URL('../../src/suites/', import.meta.url)
    const folders = readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name)
    assert.ok(folders.length >= 9, folders.join(', '))
    for (const name of folders) {
      const t = loadTemplate(new URL(`${name}/report.md`, root))
      assert.ok(t.blocks.size > 0, name)
      assert.match(t.source, new RegExp(`packages/bench/src/suites/${name}/report\\.md$`))
    }
  })
})
