import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, test } from 'node:test'
import { LearnInputError, loadCsv, parseCsv, type ClassificationDataset, type RegressionDataset } from '../../src/index.ts'

function badCsv (pattern: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof LearnInputError)
    assert.match(err.message, pattern)
    return true
  }
}

describe('CSV loader', () => {
  test('header detected, label column by name, features in file order', () => {
    const data = parseCsv('a,label,b\n1,0,2\n3.5,2,-4\n', { label: 'label' }) as ClassificationDataset
    assert.equal(data.kind, 'classification')
    assert.equal(data.count, 2)
    assert.equal(data.features, 2)
    assert.equal(data.numClasses, 3)
    assert.deepEqual(Array.from(data.x), [1, 2, 3.5, -4])
    assert.deepEqual(Array.from(data.labels), [0, 2])
  })

  test('no header: the last column is the label by default, or any column by index', () => {
    const last = parseCsv('0.5,1,1\n0.25,2,0\n') as ClassificationDataset
    assert.deepEqual(Array.from(last.x), [0.5, 1, 0.25, 2])
    assert.deepEqual(Array.from(last.labels), [1, 0])
    const first = parseCsv('1,0.5,7\r\n0,0.25,8\r\n\r\n', { label: 0, numClasses: 4 }) as ClassificationDataset
    assert.deepEqual(Array.from(first.x), [0.5, 7, 0.25, 8])
    assert.deepEqual(Array.from(first.labels), [1, 0])
    assert.equal(first.numClasses, 4)
  })

  test('regression targets, another delimiter, quoted header names, blank lines', () => {
    const data = parseCsv('"x1";"y"\n\n1;2.5\n2;-0.5\n', { delimiter: ';', label: 'y', task: 'regression' }) as RegressionDataset
    assert.equal(data.kind, 'regression')
    assert.deepEqual(Array.from(data.targets), [2.5, -0.5])
    assert.deepEqual(Array.from(data.x), [1, 2])
  })

  test('a row with the wrong number of fields names its line', () => {
    assert.throws(() => parseCsv('a,b,y\n1,2,0\n3,4\n', { source: 'peer.csv' }), badCsv(/^peer\.csv:3: expected 3 fields, found 2$/))
  })

  test('a non-numeric value names its line and column', () => {
    assert.throws(() => parseCsv('a,b,y\n1,2,0\n1,2,1\n1,x,0\n'), badCsv(/^csv:4: column 'b' is not a finite number: 'x'$/))
    assert.throws(() => parseCsv('1,2,0\n1,,0\n'), badCsv(/^csv:2: column 1 is not a finite number: ''$/))
  })

  test('labels must be class integers, below numClasses when given', () => {
    assert.throws(() => parseCsv('1,0\n2,1.5\n'), badCsv(/^csv:2: label 1.5 is not an integer class in 0..255$/))
    assert.throws(() => parseCsv('1,0\n2,-1\n'), badCsv(/^csv:2: label -1 is not an integer class/))
    assert.throws(() => parseCsv('1,0\n2,3\n', { numClasses: 3 }), badCsv(/^csv:2: label 3 is not below numClasses 3$/))
  })

  test('label columns that do not exist are refused', () => {
    assert.throws(() => parseCsv('1,2,0\n', { label: 'y' }), /label column 'y' is given by name but the file has no header/)
    assert.throws(() => parseCsv('a,b\n1,0\n', { label: 'y' }), /no column named 'y' in header \(a, b\)/)
    assert.throws(() => parseCsv('1,2,0\n', { label: 3 }), /label column index must be an integer in \[0, 2\], got 3/)
    assert.throws(() => parseCsv('\n\n'), /no data rows/)
    assert.throws(() => parseCsv('a,y\n'), /no data rows/)
  })

  test('loadCsv reads a file and reports errors with its path', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'murmur-csv-'))
    try {
      const good = path.join(dir, 'good.csv')
      writeFileSync(good, 'f1,f2,class\n0,1,1\n1,0,0\n')
      const data = await loadCsv(good, { label: 'class' }) as ClassificationDataset
      assert.deepEqual(Array.from(data.labels), [1, 0])
      const bad = path.join(dir, 'bad.csv')
      writeFileSync(bad, 'f1,f2,class\n0,1,1\n1,zero,0\n')
      await assert.rejects(loadCsv(bad), badCsv(new RegExp(`^${bad.replace(/[.\\/]/g, '\\$&')}:3: column 'f2' is not a finite number: 'zero'$`)))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
