import { jsKernels } from './js.ts'
import type { Kernels } from './types.ts'
import { createWasmKernels } from './wasm.ts'

export type { Kernels } from './types.ts'
export { jsKernels } from './js.ts'

let active: Kernels | undefined
let wasm: Kernels | null | undefined
let wasmError: unknown

/**
 * The WebAssembly SIMD kernels, or undefined when this runtime cannot load them (no WebAssembly,
 * no SIMD, or the module was not built). Loaded once.
 */
export function wasmKernels (): Kernels | undefined {
  if (wasm === undefined) {
    try {
      wasm = createWasmKernels()
    } catch (error) {
      wasm = null
      wasmError = error
    }
  }
  return wasm ?? undefined
}

/**
 * The kernels the rules use: WebAssembly SIMD when available, else the TypeScript reference.
 * The environment variable MURMUR_KERNELS=js|wasm forces one (wasm then throws if it cannot load).
 */
export function kernels (): Kernels {
  active ??= defaultKernels()
  return active
}

/** Force an implementation (tests and benchmarks compare them). */
export function useKernels (k: Kernels): void {
  active = k
}

function defaultKernels (): Kernels {
  const choice = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.MURMUR_KERNELS
  if (choice === 'js') return jsKernels
  if (choice === 'wasm') {
    const k = wasmKernels()
    if (k === undefined) throw new Error(`MURMUR_KERNELS=wasm, but the WebAssembly kernels did not load: ${String(wasmError)}`)
    return k
  }
  if (choice !== undefined && choice !== '') {
    throw new Error(`MURMUR_KERNELS must be 'js' or 'wasm', got '${choice}'`)
  }
  return wasmKernels() ?? jsKernels
}
