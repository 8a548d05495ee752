import { readFileSync } from 'node:fs'
import { type CommandIo, defineCommand, runCommand } from './command.ts'
import { commands } from './commands/index.ts'

/** The root `murmur` command: a group over the command table. */
export const murmur = defineCommand({
  name: 'murmur',
  summary: 'peer-to-peer gossip learning with Byzantine-robust mixing',
  description: 'murmur: peer-to-peer, serverless gossip learning with Byzantine-robust mixing.',
  subcommands: commands,
  examples: [
    { command: 'murmur topology generate torus --rows 4 --cols 4 -o torus.json', description: 'write a 4×4 torus topology' },
    { command: 'murmur topology inspect torus.json', description: 'check it before launching peers on it' }
  ]
})

/** The package version, read from package.json. */
export function version (): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

/** Runs the murmur command line; resolves to the exit code. */
export async function main (argv: readonly string[], io: CommandIo = processIo()): Promise<number> {
  return await runCommand(murmur, argv, { io, version: version(), debug: process.env.DEBUG !== undefined && process.env.DEBUG !== '' })
}

function processIo (): CommandIo {
  return {
    stdout: (text) => { process.stdout.write(text) },
    stderr: (text) => { process.stderr.write(text) }
  }
}
