import { mean } from '@murmur/robust'

/**
 * An attacker's own model does not matter to anyone; keeping it at the mean of what it hears
 * keeps its honest-looking update (the `inverse` attack's) in the swarm's range.
 */
export function meanOfHeard (half: Float32Array, received: ReadonlyMap<string, Float32Array>): Float32Array {
  return mean().aggregate([half, ...received.values()], { f: 0 })
}
