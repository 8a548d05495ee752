/**
 * TensorFlow.js backend selection: tensorflow (native, optional) → wasm → cpu.
 *
 * `@tensorflow/tfjs-node` is an optional dependency whose install downloads libtensorflow and
 * fails offline, so it is imported dynamically and its absence only moves us down the list.
 * The wasm backend runs the SIMD single-thread build: tfjs reports no thread support under
 * Node, and forcing the threaded build fails on Node 24 (its pthread workers are started from
 * a blob: URL, which Node's Worker rejects).
 */
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import * as tf from '@tensorflow/tfjs'
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm'
import { LearnInputError } from './errors.ts'
import { registerWasmGradientKernels, replaceSlowKernels } from './wasm-kernels.ts'

/** The backends murmur can train on, fastest first. */
export const backendNames = ['tensorflow', 'wasm', 'cpu'] as const
export type BackendName = typeof backendNames[number]

/** The environment variable that forces a backend. */
export const backendEnvVar = 'MURMUR_BACKEND'

export interface InitBackendOptions {
  /** Force this backend (the CLI's `--backend`); wins over the environment variable. */
  backend?: BackendName | string
  /** Where to look for MURMUR_BACKEND (default process.env). */
  env?: Record<string, string | undefined>
  /** Receives one line naming the chosen backend, and why a faster one was skipped. */
  log?: (line: string) => void
  /** Loads the native backend; tests replace it. Default: dynamic import of @tensorflow/tfjs-node. */
  importNative?: () => Promise<unknown>
}

let wasmPathsSet = false

/** Directory of the installed tfjs-backend-wasm dist files (its .wasm binaries sit there). */
export function wasmDistDirectory (): string {
  return path.dirname(fileURLToPath(import.meta.resolve('@tensorflow/tfjs-backend-wasm'))) + path.sep
}

function parseBackend (value: string, source: string): BackendName {
  const name = value.trim().toLowerCase()
  if ((backendNames as readonly string[]).includes(name)) return name as BackendName
  throw new LearnInputError('bad-parameter', `${source}: unknown backend '${value}', expected one of ${backendNames.join(', ')}`)
}

async function importTfjsNode (): Promise<unknown> {
  const specifier = '@tensorflow/tfjs-node'
  return await import(specifier)
}

/** Tries one backend; returns why it is unusable, or undefined once it is the active backend. */
async function tryBackend (name: BackendName, options: InitBackendOptions): Promise<string | undefined> {
  // Before anything else, so a wasm backend someone activated directly still gets the kernels.
  if (name === 'wasm') registerWasmGradientKernels()
  replaceSlowKernels(name)
  if (tf.getBackend() === name) return undefined
  if (name === 'tensorflow') {
    if (tf.findBackendFactory('tensorflow') === null) {
      try {
        await (options.importNative ?? importTfjsNode)()
      } catch (err) {
        return `@tensorflow/tfjs-node is not installed or failed to load (${firstLine(err)})`
      }
      if (tf.findBackendFactory('tensorflow') === null) return '@tensorflow/tfjs-node loaded but registered no tensorflow backend'
    }
  }
  if (name === 'wasm' && !wasmPathsSet) {
    try {
      setWasmPaths(wasmDistDirectory())
    } catch {
      // Refused only once the wasm backend has started, when the paths no longer matter.
    }
    wasmPathsSet = true
  }
  let ok = false
  try {
    ok = await tf.setBackend(name)
  } catch (err) {
    return `initialisation failed (${firstLine(err)})`
  }
  return ok ? undefined : 'initialisation failed'
}

function firstLine (err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  return message.split('\n')[0]
}

/**
 * Picks and activates the tfjs backend: the forced one if the caller or MURMUR_BACKEND names
 * one (an error if it cannot start), otherwise the first of tensorflow, wasm, cpu that starts.
 * Returns its name and logs it, with the reason each faster backend was skipped.
 */
export async function initBackend (options: InitBackendOptions = {}): Promise<BackendName> {
  const log = options.log ?? (() => {})
  const envValue = (options.env ?? process.env)[backendEnvVar]
  let forced: BackendName | undefined
  if (options.backend !== undefined && options.backend !== '') forced = parseBackend(options.backend, 'backend option')
  else if (envValue !== undefined && envValue !== '') forced = parseBackend(envValue, backendEnvVar)

  if (forced !== undefined) {
    const why = await tryBackend(forced, options)
    if (why !== undefined) throw new LearnInputError('backend-unavailable', `backend '${forced}' was requested but is unavailable: ${why}`)
    log(`backend: ${describeBackend(forced)} (forced)`)
    return forced
  }
  const skipped: string[] = []
  for (const name of backendNames) {
    const why = await tryBackend(name, options)
    if (why === undefined) {
      log(`backend: ${describeBackend(name)}${skipped.length > 0 ? `; skipped ${skipped.join('; ')}` : ''}`)
      return name
    }
    skipped.push(`${name}: ${why}`)
  }
  throw new LearnInputError('backend-unavailable', `no tfjs backend could start: ${skipped.join('; ')}`)
}

function describeBackend (name: BackendName): string {
  if (name !== 'wasm') return name
  let simd = false
  try {
    simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT')
  } catch {
    // The flag is evaluated asynchronously during wasm start-up; unevaluated means unknown.
  }
  return `wasm (${simd ? 'SIMD' : 'no SIMD'}, single thread)`
}
