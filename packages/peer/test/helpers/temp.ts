// Temporary folders for tests: each is removed when the test process exits (node --test runs
// every test file in a process of its own), so a run leaves nothing behind in the temp dir.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const made: string[] = []
process.once('exit', () => { for (const dir of made) rmSync(dir, { recursive: true, force: true }) })

/** A new empty folder `murmur-<tag>-XXXXXX` in the temp dir. */
export function tempDir (tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), `murmur-${tag}-`))
  made.push(dir)
  return dir
}
