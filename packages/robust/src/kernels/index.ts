import { jsKernels } from './js.ts'
import type { Kernels } from './types.ts'

export type { Kernels } from './types.ts'
export { jsKernels } from './js.ts'

let active: Kernels = jsKernels

/** The kernels the rules use: WebAssembly SIMD when available, else the TypeScript reference. */
export function kernels (): Kernels {
  return active
}

/** Force an implementation (tests and benchmarks compare them). */
export function useKernels (k: Kernels): void {
  active = k
}
