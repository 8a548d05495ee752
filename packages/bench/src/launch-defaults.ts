// What `murmur launch <topology>` runs with no other flag, for the scripts that measure it.

import { DEFAULT_EVAL_EVERY, type SwarmOptions } from '@murmur/peer'
import type { Topology } from '@murmur/topology'

export function launchDefaults (topology: Topology, rounds: number): SwarmOptions {
  return {
    topology,
    task: { dataset: 'mnist', model: 'mlp', partition: { kind: 'iid' }, seed: 0 },
    rounds,
    localSteps: 10,
    lr: 0.05,
    momentum: 0.9,
    batchSize: 32,
    rule: 'scclip',
    f: 'auto',
    roundTimeoutMs: 30_000,
    evalEvery: DEFAULT_EVAL_EVERY
  }
}
