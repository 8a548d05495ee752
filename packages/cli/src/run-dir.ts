import { join } from 'node:path'

/** `runs/<name>-<UTC time>`: the default run directory, sortable by start time. */
export function defaultRunDir (name: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace('T', '_').slice(0, 19)
  return join('runs', `${name}-${stamp}`)
}
