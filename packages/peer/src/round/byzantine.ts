// What a Byzantine peer does instead of following the protocol. Four families:
//   model  — a model-space attack of @murmur/robust, computed from the honest models the
//            colluders really received this round and crafted per receiving neighbour
//            (equivocate:<attack> aims each neighbour from its own neighbourhood's view);
//   poison — data poisoning: the peer trains honestly on poisoned local data;
//   crash  — silence from a given round on;
//   raw    — frames receivers must refuse (NaN payloads, garbage, bad checksums...).

import {
  attackNeeds, createAttack, createRng, listAttacks, parseAttackSpec,
  type Attack, type AttackContext, type AttackTarget, type Rng
} from '@murmur/robust'
import { backdoor, labelFlip, patternTrigger, splitTrigger, type ClassificationDataset, type Dataset } from '@murmur/learn'
import { encodeFrame, FRAME_HEADER_BYTES, type Dtype } from '../wire/frame.ts'

/** A behaviour spec that cannot be used; the message says why and what is known. */
export class BehaviourSpecError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'BehaviourSpecError'
  }
}

interface BehaviourBase {
  /** The normalized spec, e.g. `ipm(eps=0.5)` or `equivocate:alie`. */
  readonly spec: string
  /** The behaviour's name, e.g. `ipm`, `labelflip`, `crash`. */
  readonly name: string
}

export interface ModelAttackBehaviour extends BehaviourBase {
  readonly kind: 'model'
  readonly attack: Attack
  /** A different vector to each neighbour, each from that neighbour's local view. */
  readonly equivocate: boolean
  /** The attack reads AttackContext.target (needs the topology around each receiver). */
  readonly needsTarget: boolean
  /** The attack reads the honest models (most do; noise attacks do not). */
  readonly needsHonest: boolean
}

/** Which colluder a poisoning peer is, for attacks split across colluders (DBA). */
export interface PoisonContext {
  /** This peer's position among the colluders (sorted ids), and their number. */
  colluderIndex: number
  colluders: number
  seed: number
}

export interface PoisonBehaviour extends BehaviourBase {
  readonly kind: 'poison'
  /** The peer's poisoned training data. */
  readonly poison: (data: Dataset, ctx: PoisonContext) => Dataset
}

export interface CrashBehaviour extends BehaviourBase {
  readonly kind: 'crash'
  /** First silent round. */
  readonly fromRound: number
}

/** What a raw-frame behaviour needs to build the bytes for one receiver. */
export interface RawFrameContext {
  swarm: string
  sender: string
  round: number
  dimension: number
  dtype: Dtype
  /** The peer's current model (a well-formed body to corrupt). */
  params: Float32Array
  /** Position of the receiver among this round's receivers. */
  receiverIndex: number
  seed: number
}

export interface RawBehaviour extends BehaviourBase {
  readonly kind: 'raw'
  readonly frame: (ctx: RawFrameContext) => Uint8Array
}

export type ByzantineBehaviour = ModelAttackBehaviour | PoisonBehaviour | CrashBehaviour | RawBehaviour

export interface BehaviourInfo {
  readonly name: string
  readonly kind: ByzantineBehaviour['kind']
  readonly description: string
  /** One line per parameter. */
  readonly params: readonly string[]
}

/** The ways `malformed` breaks a frame; `rotate` cycles through them by round and receiver. */
export const MALFORMED_KINDS = ['garbage', 'checksum', 'dimension', 'wrong-swarm', 'truncated', 'version'] as const
export type MalformedKind = typeof MALFORMED_KINDS[number]

interface OwnParam {
  name: string
  type: 'integer' | 'number' | 'enum'
  min?: number
  max?: number
  values?: readonly string[]
  help: string
}

interface OwnEntry {
  name: string
  kind: ByzantineBehaviour['kind']
  description: string
  params: readonly OwnParam[]
  build: (spec: string, params: Readonly<Record<string, number | string>>) => ByzantineBehaviour
}

function imageSide (data: ClassificationDataset): { width: number, height: number } {
  if (data.imageShape !== undefined) {
    if (data.imageShape[2] !== 1) throw new BehaviourSpecError(`backdoor: triggers are single-channel, the images have ${data.imageShape[2]} channels`)
    return { height: data.imageShape[0], width: data.imageShape[1] }
  }
  const side = Math.round(Math.sqrt(data.features))
  if (side * side !== data.features) throw new BehaviourSpecError(`backdoor: ${data.features} features are not a square image`)
  return { width: side, height: side }
}

function classification (name: string, data: Dataset): ClassificationDataset {
  if (data.kind !== 'classification') throw new BehaviourSpecError(`${name} poisons labels, but this task is a regression (${data.kind})`)
  return data
}

const OWN: readonly OwnEntry[] = [
  {
    name: 'labelflip',
    kind: 'poison',
    description: 'train on flipped labels y → C − 1 − y (9 − y on MNIST) and send that model',
    params: [],
    build: (spec) => ({ kind: 'poison', spec, name: 'labelflip', poison: (data) => labelFlip(classification('labelflip', data)) })
  },
  {
    name: 'backdoor',
    kind: 'poison',
    description: 'distributed backdoor (DBA): stamp this peer\'s part of a pixel trigger on local samples, relabel them to the target class',
    params: [
      { name: 'target', type: 'integer', min: 0, help: 'class the trigger should cause (default 0)' },
      { name: 'fraction', type: 'number', min: 0, max: 1, help: 'share of local samples poisoned (default 0.5)' },
      { name: 'parts', type: 'integer', min: 1, help: 'pieces the trigger is split into (default: one per colluder)' }
    ],
    build: (spec, p) => ({
      kind: 'poison',
      spec,
      name: 'backdoor',
      poison: (data, ctx) => {
        const images = classification('backdoor', data)
        const target = (p.target as number | undefined) ?? 0
        if (target >= images.numClasses) throw new BehaviourSpecError(`backdoor: target ${target} is not a class (0..${images.numClasses - 1})`)
        const trigger = patternTrigger(imageSide(images))
        const parts = Math.min((p.parts as number | undefined) ?? Math.max(1, ctx.colluders), trigger.positions.length)
        const local = splitTrigger(trigger, parts)[ctx.colluderIndex % parts]
        return backdoor(images, { trigger: local, target, fraction: (p.fraction as number | undefined) ?? 0.5, seed: ctx.seed }).data
      }
    })
  },
  {
    name: 'crash',
    kind: 'crash',
    description: 'follow the protocol, then fall silent from a given round on',
    params: [{ name: 'from', type: 'integer', min: 0, help: 'first silent round (default 0: silent throughout)' }],
    build: (spec, p) => ({ kind: 'crash', spec, name: 'crash', fromRound: (p.from as number | undefined) ?? 0 })
  },
  {
    name: 'nan',
    kind: 'raw',
    description: 'send well-formed frames whose payload is NaN (receivers must refuse them as non-finite)',
    params: [],
    build: (spec) => ({
      kind: 'raw',
      spec,
      name: 'nan',
      frame: (ctx) => encodeFrame({ swarm: ctx.swarm, sender: ctx.sender, round: ctx.round, dtype: ctx.dtype, params: new Float32Array(ctx.dimension).fill(NaN) })
    })
  },
  {
    name: 'malformed',
    kind: 'raw',
    description: 'send broken frames: garbage, bad checksum, wrong dimension, wrong swarm, truncated, wrong version',
    params: [{ name: 'kind', type: 'enum', values: ['rotate', ...MALFORMED_KINDS], help: 'which breakage (default rotate: a different one per round and receiver)' }],
    build: (spec, p) => {
      const kind = (p.kind as string | undefined) ?? 'rotate'
      return {
        kind: 'raw',
        spec,
        name: 'malformed',
        frame: (ctx) => malformedFrame(kind === 'rotate' ? MALFORMED_KINDS[(ctx.round + ctx.receiverIndex) % MALFORMED_KINDS.length] : kind as MalformedKind, ctx)
      }
    }
  }
]

/** One broken frame of the given kind, for one receiver. */
export function malformedFrame (kind: MalformedKind, ctx: RawFrameContext): Uint8Array {
  const good = (params: Float32Array, swarm = ctx.swarm): Uint8Array =>
    encodeFrame({ swarm, sender: ctx.sender, round: ctx.round, dtype: ctx.dtype, params })
  switch (kind) {
    case 'garbage': {
      const rng = createRng(mixSeed(ctx.seed, ctx.round, ctx.receiverIndex))
      const bytes = new Uint8Array(16 + rng.int(256))
      for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(256)
      return bytes
    }
    case 'checksum': {
      const bytes = good(ctx.params)
      bytes[bytes.length - 1] ^= 0x01
      return bytes
    }
    case 'dimension': return good(new Float32Array(ctx.dimension + 1))
    case 'wrong-swarm': return good(ctx.params, `not-${ctx.swarm}`)
    case 'truncated': return good(ctx.params).subarray(0, FRAME_HEADER_BYTES + ctx.dimension)
    case 'version': {
      const bytes = good(ctx.params)
      bytes[4] = 0xff
      return bytes
    }
  }
}

function parseOwnParams (entry: OwnEntry, spec: string, body: string | undefined): Record<string, number | string> {
  const params: Record<string, number | string> = {}
  if (body === undefined || body.trim() === '') return params
  for (const part of body.split(',')) {
    const eq = part.indexOf('=')
    if (eq < 0) throw new BehaviourSpecError(`behaviour "${spec}": expected key=value, got "${part.trim()}"`)
    const key = part.slice(0, eq).trim().toLowerCase()
    const text = part.slice(eq + 1).trim()
    const schema = entry.params.find((s) => s.name.toLowerCase() === key)
    if (schema === undefined) {
      const known = entry.params.length === 0 ? 'it takes no parameters' : `its parameters: ${entry.params.map((s) => s.name).join(', ')}`
      throw new BehaviourSpecError(`behaviour "${spec}": ${entry.name} has no parameter "${key}"; ${known}`)
    }
    if (schema.name in params) throw new BehaviourSpecError(`behaviour "${spec}": parameter "${schema.name}" is given twice`)
    if (schema.type === 'enum') {
      const value = schema.values?.find((v) => v.toLowerCase() === text.toLowerCase())
      if (value === undefined) throw new BehaviourSpecError(`behaviour "${spec}": ${entry.name}.${schema.name} must be one of ${(schema.values ?? []).join(', ')}, got "${text}"`)
      params[schema.name] = value
      continue
    }
    const value = Number(text)
    const integer = schema.type === 'integer'
    if (text === '' || !Number.isFinite(value) || (integer && !Number.isInteger(value)) ||
      (schema.min !== undefined && value < schema.min) || (schema.max !== undefined && value > schema.max)) {
      const range = [schema.min === undefined ? '' : `≥ ${schema.min}`, schema.max === undefined ? '' : `≤ ${schema.max}`].filter((s) => s !== '').join(' and ')
      throw new BehaviourSpecError(`behaviour "${spec}": ${entry.name}.${schema.name} must be ${integer ? 'an integer' : 'a number'}${range === '' ? '' : ` ${range}`}, got "${text}"`)
    }
    params[schema.name] = value
  }
  return params
}

/** `name:k=v,k2=v2` (the command-line friendly form) → `name(k=v,k2=v2)`; other text unchanged. */
function colonToParens (spec: string): string {
  const match = /^\s*([A-Za-z_][A-Za-z0-9_-]*)\s*:\s*([^()]*)$/.exec(spec)
  return match === null ? spec : `${match[1]}(${match[2]})`
}

function knownNames (): string {
  return [...listAttacks().map((a) => a.name), 'equivocate:<attack>', ...OWN.map((e) => e.name)].join(', ')
}

function modelBehaviour (attackSpec: string, equivocate: boolean, original: string): ModelAttackBehaviour {
  let parsed
  let attack
  try {
    parsed = parseAttackSpec(colonToParens(attackSpec))
    attack = createAttack(parsed.spec)
  } catch (error) {
    const message = (error as Error).message
    const unknown = /unknown attack/.test(message)
    throw new BehaviourSpecError(unknown
      ? `unknown behaviour "${original}"; known behaviours: ${knownNames()}`
      : `behaviour "${original}": ${message}`)
  }
  const needs = attackNeeds(parsed.spec)
  return {
    kind: 'model',
    spec: equivocate ? `equivocate:${parsed.spec}` : parsed.spec,
    name: parsed.name,
    attack,
    equivocate,
    needsTarget: needs.target === true,
    needsHonest: needs.honestModels === true
  }
}

/**
 * Parses a Byzantine behaviour: any model-space attack of @murmur/robust by its spec (`signflip`,
 * `alie`, `ipm(eps=0.5)` or `ipm:eps=0.5`, `dissensus`, `mimic`, `gaussian(sigma=10)`...),
 * `equivocate:<attack>`, `labelflip`, `backdoor(target=0)`, `crash(from=5)`, `nan`, and
 * `malformed(kind=checksum)`. Throws a BehaviourSpecError listing the known names for an unknown one.
 */
export function parseBehaviour (spec: string): ByzantineBehaviour {
  if (typeof spec !== 'string' || spec.trim() === '') throw new BehaviourSpecError(`empty behaviour spec; known behaviours: ${knownNames()}`)
  const text = spec.trim()
  const equivocation = /^equivocate\s*(?::\s*([\s\S]*)|\(([\s\S]*)\))$/i.exec(text)
  if (equivocation !== null) {
    const inner = (equivocation[1] ?? equivocation[2] ?? '').trim()
    if (inner === '') throw new BehaviourSpecError(`behaviour "${spec}": equivocate needs an attack, e.g. equivocate:signflip`)
    return modelBehaviour(inner, true, spec)
  }
  if (/^equivocate$/i.test(text)) throw new BehaviourSpecError(`behaviour "${spec}": equivocate needs an attack, e.g. equivocate:signflip`)
  const own = /^([A-Za-z_][A-Za-z0-9_-]*)\s*(?:\(([^()]*)\)|:([^()]*))?$/.exec(text)
  const entry = own === null ? undefined : OWN.find((e) => e.name === own[1].toLowerCase())
  if (own !== null && entry !== undefined) {
    const params = parseOwnParams(entry, spec, own[2] ?? own[3])
    const normalized = Object.keys(params).length === 0 ? entry.name : `${entry.name}(${Object.entries(params).map(([k, v]) => `${k}=${v}`).join(',')})`
    return entry.build(normalized, params)
  }
  return modelBehaviour(text, false, spec)
}

/** Every behaviour a spec may name, for help text. */
export function listBehaviours (): BehaviourInfo[] {
  const attacks: BehaviourInfo[] = listAttacks().map((a) => ({
    name: a.name,
    kind: 'model',
    description: `${a.description} (model-space${a.aliases.length > 0 ? `; alias ${a.aliases.join(', ')}` : ''})`,
    params: a.paramHelp
  }))
  const equivocate: BehaviourInfo = {
    name: 'equivocate',
    kind: 'model',
    description: 'equivocate:<attack> — a different model to each neighbour, each aimed from that neighbour\'s own neighbourhood',
    params: []
  }
  const own = OWN.map((e) => ({ name: e.name, kind: e.kind, description: e.description, params: e.params.map((p) => `${p.name}: ${p.help}`) }))
  return [...attacks, equivocate, ...own]
}

/** A 32-bit seed from a base seed, a round and a receiver slot. */
export function mixSeed (seed: number, round: number, slot: number): number {
  let h = (seed ^ 0x2545f491) >>> 0
  h = Math.imul(h ^ (round + 1), 0x9e3779b1) >>> 0
  h = Math.imul(h ^ (h >>> 15) ^ (slot + 1), 0x85ebca6b) >>> 0
  return (h ^ (h >>> 13)) >>> 0
}

/** What a model-space Byzantine peer knows when it crafts its round-t messages. */
export interface CraftInput {
  behaviour: ModelAttackBehaviour
  round: number
  /** Honest neighbours to send to. */
  receivers: readonly string[]
  /** The honest models the colluders received this round, by honest sender id. */
  pooled: ReadonlyMap<string, Float32Array>
  /** The peer's own (honestly trained) model. */
  own: Float32Array
  dimension: number
  /** Every Byzantine node id (this peer included). */
  colluders: ReadonlySet<string>
  /** Adjacency of the whole topology; gives each receiver's n, f and neighbourhood. */
  graph?: ReadonlyMap<string, readonly string[]>
  seed?: number
}

export interface CraftResult {
  /** One vector per receiver the attack could be computed for. */
  models: Map<string, Float32Array>
  /** Receivers left out, with the reason (e.g. no honest model seen, n too small for ALIE). */
  failures: Map<string, string>
}

const metropolis = (di: number, dj: number): number => 1 / (1 + Math.max(di, dj))

/**
 * The context the attack sees for receiver `i`: n = deg(i) + 1 and f = its Byzantine neighbours
 * (from the topology when given), the honest models (all pooled ones, or for equivocation those of
 * i and its honest neighbours) and, with the topology, i as a target with Metropolis weights.
 */
export function attackContext (input: CraftInput, receiver: string, slot: number): AttackContext {
  const { pooled, graph, colluders } = input
  const neighbours = graph?.get(receiver)
  const all = [...pooled.values()]
  let honest = all
  if (input.behaviour.equivocate && neighbours !== undefined) {
    const local: Float32Array[] = []
    for (const id of [receiver, ...neighbours]) {
      const model = colluders.has(id) ? undefined : pooled.get(id)
      if (model !== undefined) local.push(model)
    }
    if (local.length > 0) honest = local
  }
  const n = neighbours === undefined ? all.length + 1 : neighbours.length + 1
  const f = neighbours === undefined ? 1 : Math.max(1, neighbours.filter((id) => colluders.has(id)).length)
  // A consistent attacker draws the same randomness for every receiver; an equivocating one does not.
  const rng: Rng = createRng(mixSeed(input.seed ?? 0, input.round, input.behaviour.equivocate ? slot : -1))
  const ctx: { -readonly [K in keyof AttackContext]: AttackContext[K] } = { honest, own: input.own, n, f, rng, dimension: input.dimension }
  const model = pooled.get(receiver)
  if (neighbours !== undefined && model !== undefined && graph !== undefined) {
    const di = neighbours.length
    const honestModels: Float32Array[] = []
    const weights: number[] = []
    let byzantineWeight = 0
    for (const k of neighbours) {
      const dk = graph.get(k)?.length
      if (dk === undefined) continue
      if (colluders.has(k)) {
        byzantineWeight += metropolis(di, dk)
        continue
      }
      const xk = pooled.get(k)
      if (xk === undefined) continue
      honestModels.push(xk)
      weights.push(metropolis(di, dk))
    }
    if (byzantineWeight > 0) {
      const target: AttackTarget = { model, neighbours: honestModels, weights, byzantineWeight }
      ctx.target = target
    }
  }
  return ctx
}

/**
 * Crafts this round's message for every receiver. A receiver the attack cannot serve (no honest
 * model seen, n too small for its formula, no target known for a targeting attack) is reported in
 * `failures` and gets nothing.
 */
export function craftModels (input: CraftInput): CraftResult {
  const models = new Map<string, Float32Array>()
  const failures = new Map<string, string>()
  const { behaviour } = input
  input.receivers.forEach((receiver, slot) => {
    if (behaviour.needsHonest && input.pooled.size === 0) {
      failures.set(receiver, 'no honest model was received this round')
      return
    }
    const ctx = attackContext(input, receiver, slot)
    if (behaviour.needsTarget && ctx.target === undefined) {
      failures.set(receiver, input.graph === undefined
        ? `${behaviour.name} needs the topology to aim at a receiver`
        : `${receiver}'s own model did not arrive, so it cannot be targeted`)
      return
    }
    try {
      models.set(receiver, behaviour.attack(ctx))
    } catch (error) {
      failures.set(receiver, (error as Error).message)
    }
  })
  return { models, failures }
}
