// Temporary folders for tests, removed by an after hook once every test of the file has run (a
// folder may hold the state of a peer that a suite stops only at its end), and on exit whatever
// was made after that hook ran: a run leaves nothing behind in the temp dir.

import { mkdtempSync, rmSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after } from 'node:test'

const made = new Set<string>()

// Registered as this module loads, with the test file's own imports: a hook of the file's root.
after(async () => {
  for (const dir of made) await rm(dir, { recursive: true, force: true })
  made.clear()
})
process.once('exit', () => { for (const dir of made) rmSync(dir, { recursive: true, force: true }) })

/** A new empty folder `murmur-<tag>-XXXXXX` in the temp dir. */
export function tempDir (tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), `murmur-${tag}-`))
  made.add(dir)
  return dir
}
