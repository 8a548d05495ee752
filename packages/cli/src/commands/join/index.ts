import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { initBackend } from '@murmur/learn'
import { JoinError, joinSwarm, PROTOCOL_VERSION, statePeerId, type JoinerDataSpec } from '@murmur/peer'
import { isSafeName, SAFE_NAME_RULE } from '@murmur/topology'
import { createProgressBar } from '@murmur/bench'
import { defineCommand, UsageError } from '../../command.ts'
import { allowOption } from '../launch/index.ts'
import { defaultRunDir } from '../../run-dir.ts'

/** `part:3/17` → partition 3 of 17; anything else is a CSV file path. */
export function parseDataSpec (text: string, path: string): JoinerDataSpec {
  const part = /^part:(\d+)\/(\d+)$/.exec(text)
  if (part !== null) {
    const index = Number(part[1])
    const count = Number(part[2])
    if (count < 1 || index >= count) throw new UsageError(`--data: partition ${index} of ${count} does not exist (index counts from 0)`, path)
    return { kind: 'partition', index, count }
  }
  if (text.startsWith('part:')) throw new UsageError(`--data: expected part:<index>/<count>, got "${text}"`, path)
  return { kind: 'csv', path: text }
}

export const joinCommand = defineCommand({
  name: 'join',
  summary: 'join a running swarm through one of its peers and train with it',
  description: 'Reaches a bootstrap peer of a running swarm (launched with --open), fetches and checks the ' +
    'swarm manifest (protocol version, task, model, rule, schedule), learns the membership, picks ' +
    'neighbours by random peer sampling (they add this node back), starts from the coordinate-wise ' +
    'median of several peers\' models, and trains from an agreed round to the end of the swarm\'s ' +
    'schedule. The run directory keeps the identity, checkpoints, metrics.jsonl, edges.jsonl and join.json.',
  options: {
    bootstrap: {
      type: 'string', placeholder: 'multiaddrs',
      description: 'comma-separated peer addresses with /p2p/<PeerId> (from the swarm\'s bootstrap.txt); required'
    },
    data: {
      type: 'string', placeholder: 'spec',
      description: 'own data: part:<i>/<n> (partition i of the swarm\'s data set split n ways) or a CSV file (features…, label); ' +
        'default: a fresh share of the swarm\'s data set'
    },
    degree: { type: 'integer', default: 3, placeholder: 'k', description: 'neighbours to find' },
    id: { type: 'string', placeholder: 'id', description: 'node id in the swarm (default j-<end of the PeerId>)' },
    listen: { type: 'string', default: '127.0.0.1', placeholder: 'ip', description: 'IPv4 address to listen on (the swarm\'s peers must reach it)' },
    allow: {
      type: 'string', placeholder: 'ids|file',
      description: 'PeerIds that may connect besides the swarm\'s members: comma-separated, or a file with one a line (# comments); default: anyone'
    },
    'run-dir': { type: 'string', placeholder: 'dir', description: 'state directory (default runs/join-<time>); an existing one keeps its identity' },
    'connect-timeout': { type: 'integer', default: 15, placeholder: 's', description: 'how long to keep trying the bootstrap peers' },
    protocol: { type: 'integer', default: PROTOCOL_VERSION, placeholder: 'v', description: 'protocol version to speak (for compatibility checks)' },
    backend: { type: 'string', choices: ['tensorflow', 'wasm', 'cpu'], description: 'force a tfjs backend (default: tensorflow if installed, else wasm)' },
    json: { type: 'boolean', description: 'print the result as JSON' }
  },
  examples: [
    { command: 'murmur join --bootstrap /ip4/127.0.0.1/tcp/40123/p2p/12D3KooW…', description: 'join with a fresh share of the swarm\'s data' },
    { command: 'murmur join --bootstrap $(head -1 runs/ring/bootstrap.txt) --data mine.csv --degree 4', description: 'bring your own samples' }
  ],
  run: async ({ options, io, path }) => {
    const bootstrap = (options.bootstrap ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')
    if (bootstrap.length === 0) throw new UsageError('--bootstrap is required: the address of a peer of the swarm', path)
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(options.listen)) throw new UsageError(`--listen: expected an IPv4 address, got "${options.listen}"`, path)
    if (options.degree < 1) throw new UsageError(`--degree: expected an integer ≥ 1, got ${options.degree}`, path)
    if (options.id !== undefined && !isSafeName(options.id)) {
      throw new UsageError(`--id: ${JSON.stringify(options.id)} is not a usable node id (${SAFE_NAME_RULE})`, path)
    }
    if (options['connect-timeout'] <= 0) throw new UsageError(`--connect-timeout: expected seconds > 0, got ${options['connect-timeout']}`, path)
    const allow = allowOption(options.allow, path)
    const data = options.data === undefined ? undefined : parseDataSpec(options.data, path)
    const runDir = options['run-dir'] ?? defaultRunDir('join')
    mkdirSync(runDir, { recursive: true })
    // What a swarm launched with --allow must list to let this node in.
    io.stderr(`murmur: this node is PeerId ${await statePeerId(runDir)} (kept in ${runDir})\n`)
    if (options.backend !== undefined) process.env.MURMUR_BACKEND = options.backend
    await initBackend()

    const controller = new AbortController()
    const onSigint = (): void => {
      if (controller.signal.aborted) process.exit(130)
      controller.abort()
    }
    process.on('SIGINT', onSigint)
    let bar: ReturnType<typeof createProgressBar> | undefined
    try {
      const result = await joinSwarm({
        bootstrap,
        stateDir: runDir,
        degree: options.degree,
        listen: [`/ip4/${options.listen}/tcp/0`],
        protocol: options.protocol,
        connectTimeoutMs: options['connect-timeout'] * 1000,
        ...(options.id === undefined ? {} : { id: options.id }),
        ...(allow === undefined ? {} : { allow }),
        ...(data === undefined ? {} : { data }),
        signal: controller.signal,
        onStatus: (message) => { (bar?.log ?? ((m: string) => { io.stderr(m + '\n') }))(`murmur: ${message}`) },
        onJoined: (joined) => { bar = createProgressBar({ total: joined.manifest.schedule.rounds }) },
        onRound: (metrics) => {
          const acc = metrics.accuracy === undefined ? '' : `acc ${(100 * metrics.accuracy).toFixed(1)}% `
          bar?.update(metrics.round + 1, `round ${metrics.round} ${acc}${metrics.received}/${metrics.neighbours} neighbours ${Math.round(metrics.roundMs)} ms`)
        }
      })
      bar?.done()
      if (options.json === true) {
        io.stdout(JSON.stringify({ runDir, ...result, manifest: undefined, swarm: result.manifest.swarm }, null, 2) + '\n')
      } else {
        io.stdout(`joined ${result.manifest.swarm} as ${result.id}; neighbours ${result.neighbours.join(', ')} from round ${result.startRound}\n`)
        io.stdout(`${controller.signal.aborted ? 'stopped' : 'finished'} at round ${result.final.lastRound}` +
          `${result.final.accuracy === undefined ? '' : `, test accuracy ${(100 * result.final.accuracy).toFixed(2)}%`}\n`)
        io.stdout(`results: ${join(runDir, 'join.json')}, ${join(runDir, 'metrics.jsonl')}, ${join(runDir, 'edges.jsonl')}\n`)
      }
    } catch (error) {
      if (error instanceof JoinError || (error as Error).name === 'ManifestError' || (error as Error).name === 'TaskConfigError') {
        throw new UsageError((error as Error).message, path)
      }
      throw error
    } finally {
      process.off('SIGINT', onSigint)
    }
  }
})
