import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createProgressBar, createRunProgress, formatDuration } from '../../src/progress.ts'
import type { Cell } from '../../src/suite.ts'

const cell = (id: string): Cell => ({ id, params: {}, seed: 0 })

test('without a terminal: one line per finished cell, with an ETA', () => {
  let out = ''
  const p = createRunProgress({ write: (t) => { out += t } })
  p.onEvent({ type: 'start', suite: 's', outDir: 'd', total: 3, resumed: 1 })
  p.onEvent({ type: 'cell-start', cell: cell('b'), index: 1 })
  p.onEvent({ type: 'cell-progress', cell: cell('b'), index: 1, fraction: 0.5 })
  p.onEvent({ type: 'cell-done', cell: cell('b'), index: 1, ms: 1234 })
  p.done()
  assert.match(out, /^s: 1 of 3 cells already finished in d, resuming\n\[2\/3\] b 1\.2 s, eta \d\d:\d\d\n$/)
})

test('on a terminal: a bar redrawn in place with the running cell\'s fraction', () => {
  let out = ''
  const p = createRunProgress({ write: (t) => { out += t }, tty: true, redrawMs: 0 })
  p.onEvent({ type: 'start', suite: 's', outDir: 'd', total: 4, resumed: 0 })
  p.onEvent({ type: 'cell-start', cell: cell('a'), index: 0 })
  p.onEvent({ type: 'cell-progress', cell: cell('a'), index: 0, fraction: 0.5 })
  assert.match(out, /\r\x1b\[2K\[(█|░)+\] 0\/4 a 50% eta \d\d:\d\d$/)
  p.log('a message')
  assert.match(out, /\r\x1b\[2Ka message\n\[/)
  p.onEvent({ type: 'cell-done', cell: cell('a'), index: 0, ms: 10 })
  assert.match(out, /\] 1\/4 a eta/)
  p.done()
  assert.ok(out.endsWith('\n'))
})

test('a step bar without a terminal: a line every logEvery steps and at the end', () => {
  let out = ''
  const bar = createProgressBar({ total: 10, logEvery: 4, write: (t) => { out += t } })
  for (let step = 1; step <= 10; step++) bar.update(step, `round ${step}`)
  bar.log('a message')
  bar.done()
  const lines = out.trimEnd().split('\n')
  assert.deepEqual(lines.slice(0, -1).map((l) => /\] (\d+)\/10 round/.exec(l)?.[1]), ['3', '7', '10'])
  assert.match(lines[2], /^\[█{24}\] 10\/10 round 10 eta /)
  assert.equal(lines[3], 'a message')
})

test('a step bar on a terminal: redrawn in place, messages above it', () => {
  let out = ''
  const bar = createProgressBar({ total: 4, width: 8, tty: true, write: (t) => { out += t } })
  bar.update(2, 'half')
  assert.match(out, /^\r\x1b\[2K\[████░░░░\] 2\/4 half eta --:--$/)
  bar.log('note')
  assert.ok(out.endsWith('\r\x1b[2Knote\n[████░░░░] 2/4 half eta --:--'))
  bar.done()
  assert.ok(out.endsWith('\n'))
})

test('durations read mm:ss, h:mm:ss past an hour, --:-- while unknown', () => {
  assert.equal(formatDuration(65_000), '01:05')
  assert.equal(formatDuration(3_725_000), '1:02:05')
  assert.equal(formatDuration(Number.NaN), '--:--')
})
