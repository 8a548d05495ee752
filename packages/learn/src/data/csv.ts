/**
 * A peer's own data as CSV: numeric feature columns plus one label column, header optional.
 * Every bad row is reported with its 1-based line number in the file.
 */
import { readFile } from 'node:fs/promises'
import { LearnInputError, checkInt } from '../errors.ts'
import type { ClassificationDataset, Dataset, RegressionDataset } from './dataset.ts'

export interface CsvOptions {
  /** Label column: a header name or a 0-based index (default: the last column). */
  label?: string | number
  /** Whether the first line is a header; 'auto' (default) treats it as one when any field is not a number. */
  header?: boolean | 'auto'
  /** Field separator (default ','). */
  delimiter?: string
  /** 'classification' (default): labels are integers 0..numClasses−1. 'regression': any finite number. */
  task?: 'classification' | 'regression'
  /** Number of classes (default: largest label + 1). */
  numClasses?: number
  /** Name used in error messages (default 'csv'; loadCsv passes the path). */
  source?: string
}

function csvError (source: string, line: number, message: string): LearnInputError {
  return new LearnInputError('bad-csv', `${source}:${line}: ${message}`)
}

function splitFields (line: string, delimiter: string): string[] {
  return line.split(delimiter).map((f) => f.trim())
}

function unquote (field: string): string {
  return field.length >= 2 && field.startsWith('"') && field.endsWith('"') ? field.slice(1, -1) : field
}

function parseNumber (field: string): number {
  // Number('') is 0, so empty fields must be caught before conversion.
  return field === '' ? NaN : Number(unquote(field))
}

/** Parses CSV text into a dataset (see CsvOptions). */
export function parseCsv (text: string, options: CsvOptions = {}): Dataset {
  const source = options.source ?? 'csv'
  const delimiter = options.delimiter ?? ','
  if (delimiter.length === 0) throw new LearnInputError('bad-parameter', `${source}: delimiter must not be empty`)
  const task = options.task ?? 'classification'
  const lines = text.split(/\r?\n/)
  let first = 0
  while (first < lines.length && lines[first].trim() === '') first++
  if (first === lines.length) throw csvError(source, 1, 'no data rows')

  const firstFields = splitFields(lines[first], delimiter)
  const columns = firstFields.length
  if (columns < 2) throw csvError(source, first + 1, `need at least one feature column and a label column, found ${columns} column`)
  const looksLikeHeader = firstFields.some((f) => !Number.isFinite(parseNumber(f)))
  const hasHeader = options.header === 'auto' || options.header === undefined ? looksLikeHeader : options.header
  const names = hasHeader ? firstFields.map(unquote) : undefined

  let labelColumn: number
  const label = options.label ?? columns - 1
  if (typeof label === 'number') {
    checkInt(source, 'label column index', label, 0, columns - 1)
    labelColumn = label
  } else {
    if (names === undefined) throw new LearnInputError('bad-parameter', `${source}: label column '${label}' is given by name but the file has no header`)
    labelColumn = names.indexOf(label)
    if (labelColumn < 0) throw new LearnInputError('bad-parameter', `${source}: no column named '${label}' in header (${names.join(', ')})`)
  }

  const features = columns - 1
  const x: number[] = []
  const y: number[] = []
  for (let i = hasHeader ? first + 1 : first; i < lines.length; i++) {
    if (lines[i].trim() === '') continue
    const lineNo = i + 1
    const fields = splitFields(lines[i], delimiter)
    if (fields.length !== columns) throw csvError(source, lineNo, `expected ${columns} fields, found ${fields.length}`)
    for (let c = 0; c < columns; c++) {
      const v = parseNumber(fields[c])
      if (!Number.isFinite(v)) {
        const column = names === undefined ? `column ${c}` : `column '${names[c]}'`
        throw csvError(source, lineNo, `${column} is not a finite number: '${fields[c]}'`)
      }
      if (c !== labelColumn) {
        x.push(v)
      } else {
        if (task === 'classification' && (!Number.isInteger(v) || v < 0 || v > 255)) {
          throw csvError(source, lineNo, `label ${fields[c]} is not an integer class in 0..255`)
        }
        if (task === 'classification' && options.numClasses !== undefined && v >= options.numClasses) {
          throw csvError(source, lineNo, `label ${v} is not below numClasses ${options.numClasses}`)
        }
        y.push(v)
      }
    }
  }
  const count = y.length
  if (count === 0) throw csvError(source, lines.length, 'no data rows')
  if (task === 'regression') {
    const data: RegressionDataset = { kind: 'regression', x: Float32Array.from(x), targets: Float32Array.from(y), count, features, targetDim: 1 }
    return data
  }
  let maxLabel = 0
  for (const v of y) if (v > maxLabel) maxLabel = v
  const numClasses = options.numClasses ?? maxLabel + 1
  checkInt(source, 'numClasses', numClasses, 1, 256)
  const data: ClassificationDataset = { kind: 'classification', x: Float32Array.from(x), labels: Uint8Array.from(y), count, features, numClasses }
  return data
}

/** Reads and parses a CSV file; error messages name the file and line. */
export async function loadCsv (path: string, options: CsvOptions = {}): Promise<Dataset> {
  const text = await readFile(path, 'utf8')
  return parseCsv(text, { ...options, source: options.source ?? path })
}
