import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { parsePartitionSpec, type LrSchedule } from '@murmur/learn'
import {
  AllowListError, checkPlanManifest, DEFAULT_EVAL_EVERY, launchSwarm, listBehaviours, parseAllowList, parseLrSchedule, planSwarm, SwarmConfigError,
  type DeliveryReport, type PeerFinal, type RoundSummary, type SwarmOptions, type TaskConfig
} from '@murmur/peer'
import { listRules } from '@murmur/robust'
import { createProgressBar } from '@murmur/bench'
import { defineCommand, UsageError } from '../../command.ts'
import { defaultRunDir } from '../../run-dir.ts'
import { readTopologyFile } from '../../topology-file.ts'

/** Peers one host runs: each is a libp2p node with its own model, data and sockets. */
const MAX_LOCAL_PEERS = 256

/** `iid`, `dirichlet:0.5`, `shards:2`, `quantity:0.5` → a partition spec. */
export function parsePartition (text: string): TaskConfig['partition'] {
  try {
    return parsePartitionSpec(text)
  } catch (error) {
    throw new UsageError(`--partition: ${(error as Error).message}`, 'murmur launch')
  }
}

function formatRound (r: RoundSummary): string {
  const acc = r.accuracy === undefined ? '' : `acc ${(100 * r.accuracy).toFixed(1)}% (min ${(100 * (r.minAccuracy ?? 0)).toFixed(1)}%) `
  const alone = r.isolated > 0 ? ` ${r.isolated} isolated` : ''
  const unwritten = r.writeFailures > 0 ? ` ⚠ ${r.writeFailures} writes failed` : ''
  return `${acc}consensus ${r.consensusDistance.toExponential(2)} edges ${r.edgesLive}/${r.edges} live${alone} round ${Math.round(r.roundMs)} ms${unwritten}`
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`

/** `--allow` as PeerIds; a malformed one is a usage error naming it. */
export function allowOption (text: string | undefined, path: string): string[] | undefined {
  if (text === undefined) return undefined
  try {
    return parseAllowList(text)
  } catch (error) {
    if (error instanceof AllowListError) throw new UsageError(`--allow: ${error.message}`, path)
    throw error
  }
}

/** The connections the peers refused or closed, in one line (nothing when there were none). */
export function formatConnectionRefusals (peers: readonly PeerFinal[]): string {
  const total = { denied: 0, limit: 0, idle: 0 }
  const remotes = new Set<string>()
  for (const peer of peers) {
    const r = peer.connectionRefusals
    if (r === undefined) continue
    total.denied += r.denied
    total.limit += r.limit
    total.idle += r.idle
    for (const id of Object.keys(r.byPeer)) remotes.add(id)
  }
  if (total.denied + total.limit + total.idle === 0) return ''
  return `connections refused: ${total.denied} not allowed, ${total.limit} over a limit, ${total.idle} closed idle` +
    ` (from ${remotes.size} peer${remotes.size === 1 ? '' : 's'}; per peer in summary.json)\n`
}

/** What the run delivered, in a few lines: honest edges, isolation, the attack. */
export function formatDelivery (d: DeliveryReport): string {
  const lines = [`honest edges: ${pct(d.honest.share)} of models delivered in time (${d.honest.delivered} of ${d.honest.expected}), ` +
    `${d.honest.liveAtEnd}/${d.honest.edges} live at the end` +
    (d.skippedBehind > 0 ? `; ${d.skippedBehind} rounds skipped by paused peers to catch up` : '')]
  if (d.attack === null) lines.push('attack: silent peers (nothing to deliver)')
  else if (d.attack !== undefined) {
    lines.push(`attack ${d.attack.behaviour}: ${pct(d.attack.reached)} of crafted models reached honest peers in time ` +
      `(${d.attack.delivered} mixed, ${d.attack.refused} refused by their checks, of ${d.attack.expected})`)
  }
  for (const warning of d.warnings) lines.push(`warning: ${warning}`)
  if (!d.valid) lines.push('warning: this run\'s figures do not measure what they would claim; see the warnings above and events.jsonl')
  return lines.join('\n') + '\n'
}

export const launchCommand = defineCommand({
  name: 'launch',
  summary: 'start every node of a topology as a real peer on this machine and train',
  description: 'Starts one libp2p peer per topology node over TCP on loopback, spread over one worker ' +
    'process per core. Each round every peer runs local SGD steps, sends its model to its graph ' +
    'neighbours, and mixes what arrives with a robust rule. Byzantine peers, when an attack is given, ' +
    'are drawn from the topology\'s μ_H (or listed). Progress shows honest accuracy, consensus ' +
    'distance and round time; the run directory gets per-peer metrics (JSONL), checkpoints and a ' +
    'summary. Ctrl-C stops after the current round with everything written; launching again with ' +
    'the same --run-dir resumes from the checkpoints.',
  positionals: [{ name: 'topology', description: 'topology file (see `murmur topology`); required unless listing' }],
  options: {
    dataset: { type: 'string', default: 'mnist', choices: ['mnist', 'fashion-mnist', 'synthetic-mean'], description: 'training data' },
    partition: { type: 'string', default: 'iid', placeholder: 'spec', description: 'how data is split: iid, dirichlet:<α>, shards:<k>, quantity:<β>' },
    model: { type: 'string', default: 'mlp', choices: ['logistic', 'mlp', 'cnn'], description: 'model architecture' },
    rounds: { type: 'integer', default: 100, description: 'gossip rounds' },
    'local-steps': { type: 'integer', default: 10, description: 'SGD steps per round' },
    lr: { type: 'number', default: 0.05, description: 'learning rate' },
    momentum: { type: 'number', default: 0.9, description: 'heavy-ball momentum β' },
    'batch-size': { type: 'integer', default: 32, description: 'samples per SGD step' },
    'weight-decay': { type: 'number', default: 0, placeholder: 'λ', description: 'L2 weight decay: the gradient becomes g + λθ' },
    'lr-schedule': {
      type: 'string', default: 'constant', placeholder: 'spec',
      description: 'learning rate over each peer\'s SGD steps t: constant, inv-sqrt (lr/√(1+t)), step:<every>:<gamma> (×gamma every <every> steps), ' +
        'cosine:<totalSteps>'
    },
    rule: { type: 'string', default: 'scclip', placeholder: 'spec', description: 'mixing rule, e.g. mean, cwmed, nnm+cwtm, scclip (see --list-rules)' },
    f: { type: 'string', default: 'auto', placeholder: 'n|auto', description: 'Byzantine neighbours each node tolerates; auto: f_i(δ) from μ_H' },
    delta: { type: 'number', default: 0.05, placeholder: 'δ', description: 'failure probability δ of f_i(δ) with --f auto' },
    shortfall: {
      type: 'string', default: 'shrink-f', choices: ['shrink-f', 'keep'],
      description: 'when too few models arrive: lower f to what arrived, or keep the own model'
    },
    attack: {
      type: 'string', default: 'none', placeholder: 'spec',
      description: 'Byzantine behaviour, e.g. signflip, alie, ipm, labelflip, dissensus, crash, nan (see --list-attacks)'
    },
    byzantine: { type: 'string', placeholder: 'ids', description: 'comma-separated Byzantine node ids (default: drawn from μ_H)' },
    'byzantine-count': { type: 'integer', placeholder: 'k', description: 'draw from μ_H until exactly k peers are Byzantine' },
    'mu-seed': { type: 'integer', default: 0, description: 'seed of the μ_H draw' },
    'round-timeout': {
      type: 'integer', default: 30000, placeholder: 'ms',
      description: 'the most a peer waits for its neighbours in a round; below it the wait follows the arrival times it sees (at least 2 s)'
    },
    'eval-every': { type: 'integer', default: DEFAULT_EVAL_EVERY, description: 'evaluate test accuracy every k rounds' },
    'test-size': { type: 'integer', default: 1000, description: 'test samples each peer evaluates on' },
    dtype: { type: 'string', default: 'f32', choices: ['f32', 'f16'], description: 'number format of models on the wire' },
    init: { type: 'string', default: 'shared', choices: ['shared', 'independent'], description: 'initial models: the same on every peer, or one per peer' },
    seed: { type: 'integer', default: 0, description: 'seed of the data split, model initialisation and batches' },
    backend: {
      type: 'string', choices: ['tensorflow', 'wasm', 'cpu'],
      description: 'force a tfjs backend (default: tensorflow if installed, else wasm; also MURMUR_BACKEND)'
    },
    workers: { type: 'integer', description: 'worker processes (default: one per core)' },
    open: { type: 'boolean', description: 'let newcomers join (`murmur join`); prints the bootstrap addresses and writes them to <run-dir>/bootstrap.txt' },
    allow: {
      type: 'string', placeholder: 'ids|file',
      description: 'PeerIds that may connect besides the topology\'s own peers: comma-separated, ' +
        'or a file with one a line (# comments). Without it a swarm admits only its own peers, or with --open anyone; ' +
        'with it, --open admits only these newcomers'
    },
    listen: {
      type: 'string', default: '127.0.0.1', placeholder: 'ip',
      description: 'IPv4 address the peers listen on; 0.0.0.0 or a LAN address lets other machines reach them'
    },
    only: { type: 'string', placeholder: 'ids', description: 'run only these comma-separated nodes here; the rest of the topology runs on other hosts' },
    bootstrap: {
      type: 'string', placeholder: 'multiaddrs',
      description: 'with --only: comma-separated addresses of peers already running elsewhere (from their bootstrap.txt)'
    },
    'peer-wait': { type: 'integer', default: 300, placeholder: 's', description: 'with --only: how long to wait for the nodes on other hosts' },
    'run-dir': { type: 'string', placeholder: 'dir', description: 'where results go (default runs/<topology>-<time>); an existing run resumes' },
    force: {
      type: 'boolean',
      description: 'resume from --run-dir even when its run was made with other options (its plan.json is replaced); ' +
        'without it such a launch is refused. A different --rounds needs no --force'
    },
    json: { type: 'boolean', description: 'print the final summary as JSON' },
    'list-rules': { type: 'boolean', description: 'list the mixing rules and exit' },
    'list-attacks': { type: 'boolean', description: 'list the Byzantine behaviours and exit' }
  },
  examples: [
    { command: 'murmur launch topologies/torus-4x4.json', description: '16 honest peers, MNIST, MLP, self-centred clipping (scclip) mixing' },
    {
      command: 'murmur launch topologies/torus-4x4.json --attack signflip --byzantine-count 3 --rule cwmed',
      description: 'three sign-flipping peers drawn from μ_H'
    },
    { command: 'murmur launch topologies/ring-16.json --rounds 20 --run-dir runs/ring', description: 'a short run; run it again to resume' },
    { command: 'murmur launch topologies/ring-16.json --open', description: 'a swarm others can `murmur join`' },
    {
      command: 'murmur launch topologies/ring-16.json --only p0,p1,p2,p3,p4,p5,p6,p7 --listen 10.0.0.1',
      description: 'host A of two: half the ring (prints bootstrap addresses)'
    },
    {
      command: 'murmur launch topologies/ring-16.json --only p8,p9,p10,p11,p12,p13,p14,p15 --listen 10.0.0.2 --bootstrap <addr from host A>',
      description: 'host B: the other half'
    }
  ],
  run: async ({ options, positionals, io, path }) => {
    if (options['list-rules'] === true) {
      const weights: Record<string, string> = { used: ' [weighs neighbours by gossip weights]', dropped: ' [later stages mix unweighted]' }
      for (const rule of listRules()) io.stdout(`${rule.name.padEnd(12)} ${rule.description}${weights[rule.weights] ?? ''}\n`)
      return
    }
    if (options['list-attacks'] === true) {
      for (const b of listBehaviours()) io.stdout(`${b.name.padEnd(14)} ${b.description}\n`)
      return
    }
    const file = positionals[0]
    if (file === undefined) throw new UsageError('missing <topology>', path)
    const list = (text: string | undefined): string[] | undefined => text?.split(',').map((s) => s.trim()).filter((s) => s !== '')
    const only = list(options.only)
    const bootstrap = list(options.bootstrap)
    if (bootstrap !== undefined && only === undefined) {
      throw new UsageError('--bootstrap needs --only (which nodes run here); to add one node to a running swarm use `murmur join`', path)
    }
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(options.listen)) throw new UsageError(`--listen: expected an IPv4 address, got "${options.listen}"`, path)
    if (!(options['peer-wait'] > 0)) throw new UsageError(`--peer-wait: expected seconds > 0, got ${options['peer-wait']}`, path)
    const allow = allowOption(options.allow, path)
    let f: number | 'auto'
    if (options.f === 'auto') f = 'auto'
    else {
      f = Number(options.f)
      if (!Number.isInteger(f) || f < 0) throw new UsageError(`--f: expected a non-negative integer or auto, got "${options.f}"`, path)
    }
    let lrSchedule: LrSchedule
    try {
      lrSchedule = parseLrSchedule(options['lr-schedule'])
    } catch (error) {
      throw new UsageError(`--lr-schedule: ${(error as Error).message}`, path)
    }
    const topology = await readTopologyFile(file)
    const request: SwarmOptions = {
      topology,
      task: {
        dataset: options.dataset as TaskConfig['dataset'],
        partition: parsePartition(options.partition),
        model: options.model as TaskConfig['model'],
        testSize: options['test-size'],
        seed: options.seed
      },
      rounds: options.rounds,
      localSteps: options['local-steps'],
      lr: options.lr,
      momentum: options.momentum,
      batchSize: options['batch-size'],
      weightDecay: options['weight-decay'],
      lrSchedule,
      rule: options.rule,
      f,
      delta: options.delta,
      shortfall: options.shortfall as 'shrink-f' | 'keep',
      attack: options.attack,
      ...(options.byzantine === undefined ? {} : { byzantine: options.byzantine.split(',').map((s) => s.trim()).filter((s) => s !== '') }),
      ...(options['byzantine-count'] === undefined ? {} : { byzantineCount: options['byzantine-count'] }),
      muSeed: options['mu-seed'],
      roundTimeoutMs: options['round-timeout'],
      evalEvery: options['eval-every'],
      dtype: options.dtype as 'f32' | 'f16',
      initialization: options.init as 'shared' | 'independent'
    }
    let plan
    try {
      plan = planSwarm(request)
      checkPlanManifest(plan, options.open === true)
    } catch (error) {
      if (error instanceof SwarmConfigError) throw new UsageError(error.message, path)
      throw error
    }
    for (const id of only ?? []) if (!plan.nodes.some((n) => n.id === id)) throw new UsageError(`--only: node ${id} is not in topology ${topology.name}`, path)
    const local = only?.length ?? plan.nodes.length
    if (local > MAX_LOCAL_PEERS) {
      throw new UsageError(`${local} peers on this machine; at most ${MAX_LOCAL_PEERS} run on one host: split the topology over hosts with --only`, path)
    }
    const runDir = options['run-dir'] ?? defaultRunDir(topology.name)
    mkdirSync(runDir, { recursive: true })
    const fs = [...new Set(plan.nodes.map((n) => n.f))].sort((a, b) => a - b)
    io.stderr(`murmur: ${plan.nodes.length} peers on ${topology.name}, ` +
      `rule ${plan.options.rule} (f ${fs.length === 1 ? fs[0] : `${fs[0]}–${fs[fs.length - 1]} per node`}), ` +
      `${plan.byzantine.length === 0 ? 'no Byzantine peers' : `${plan.byzantine.length} Byzantine (${plan.options.attack}): ${plan.byzantine.join(', ')}`}\n`)
    for (const warning of plan.warnings ?? []) io.stderr(`murmur: warning: ${warning}\n`)
    if (plan.overrun.length > 0) {
      io.stderr(`murmur: warning: honest ${plan.overrun.join(', ')} ha${plan.overrun.length === 1 ? 's' : 've'} more Byzantine neighbours than their f\n`)
    }
    io.stderr(`murmur: run directory ${runDir}\n`)

    // Worker processes inherit the environment, where @murmur/learn reads the forced backend.
    if (options.backend !== undefined) process.env.MURMUR_BACKEND = options.backend
    const controller = new AbortController()
    const onSigint = (): void => {
      if (controller.signal.aborted) process.exit(130) // a second Ctrl-C: the user means it
      controller.abort()
    }
    // SIGTERM (a service manager, `kill`) stops the run the same way: checkpoints and summary written.
    process.on('SIGINT', onSigint)
    process.on('SIGTERM', onSigint)
    const bar = createProgressBar({ total: plan.options.rounds })
    let lastAccuracy = ''
    try {
      const result = await launchSwarm({
        plan,
        runDir,
        ...(options.workers === undefined ? {} : { workers: options.workers }),
        listenHost: options.listen,
        open: options.open === true,
        ...(allow === undefined ? {} : { allow }),
        ...(only === undefined ? {} : { only }),
        ...(bootstrap === undefined ? {} : { bootstrap }),
        peerWaitMs: options['peer-wait'] * 1000,
        force: options.force === true,
        onBootstrap: (addrs) => {
          bar.log(`murmur: bootstrap addresses (also in ${join(runDir, 'bootstrap.txt')}):\n${addrs.map((a) => `  ${a}`).join('\n')}`)
        },
        signal: controller.signal,
        onStatus: (message) => { bar.log(`murmur: ${message}`) },
        onRound: (r) => {
          if (r.accuracy !== undefined) lastAccuracy = `acc ${(100 * r.accuracy).toFixed(1)}% `
          bar.update(r.round + 1, `${r.accuracy === undefined ? lastAccuracy : ''}${formatRound(r)}`)
        }
      })
      bar.done()
      if (options.json === true) {
        const { final, interrupted, delivery, peers } = result
        io.stdout(JSON.stringify({ runDir, final, interrupted, delivery, peers }, null, 2) + '\n')
      } else {
        const final = result.final
        const rounds = result.rounds.length === 0 ? 0 : result.rounds[result.rounds.length - 1].round + 1
        io.stdout(`${result.interrupted ? 'stopped' : 'finished'} after ${rounds} rounds in ${(result.wallMs / 1000).toFixed(1)} s\n`)
        if (final !== undefined) {
          io.stdout(`honest accuracy at round ${final.round + 1}: ` +
            `mean ${(100 * (final.accuracy ?? 0)).toFixed(2)}%, min ${(100 * (final.minAccuracy ?? 0)).toFixed(2)}%\n`)
        }
        io.stdout(formatDelivery(result.delivery))
        io.stdout(formatConnectionRefusals(result.peers))
        const unsaved = result.peers.filter((p) => p.checkpointFailures > 0)
        if (unsaved.length > 0) {
          io.stdout(`warning: ${unsaved.reduce((a, p) => a + p.checkpointFailures, 0)} checkpoints could not be written ` +
            `(${unsaved.slice(0, 3).map((p) => `${p.id}, ${p.checkpointError ?? 'unknown error'}`).join('; ')}${unsaved.length > 3 ? '; …' : ''}): ` +
            'a resume would start from older rounds\n')
        }
        const unlogged = result.peers.filter((p) => (p.metricsFailures ?? 0) > 0)
        if (unlogged.length > 0) {
          io.stdout(`warning: ${unlogged.reduce((a, p) => a + (p.metricsFailures ?? 0), 0)} lines of the peers' metrics.jsonl could not be written ` +
            `(${unlogged.slice(0, 3).map((p) => `${p.id}, ${p.metricsError ?? 'unknown error'}`).join('; ')}${unlogged.length > 3 ? '; …' : ''}): ` +
            'those rounds are missing from the per-peer files\n')
        }
        io.stdout(`results: ${join(runDir, 'summary.json')}, ${join(runDir, 'rounds.jsonl')}, ${join(runDir, 'peers')}/<id>/metrics.jsonl\n`)
      }
    } finally {
      process.off('SIGINT', onSigint)
      process.off('SIGTERM', onSigint)
    }
  }
})
