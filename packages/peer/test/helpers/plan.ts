// The small plan tests launch: synthetic mean estimation, plain mean mixing, one local step.

import type { Topology } from '@murmur/topology'
import { planSwarm, type SwarmOptions, type SwarmPlan } from '../../src/swarm/plan.ts'

export function tinyPlan (topology: Topology, overrides: Partial<SwarmOptions> = {}): SwarmPlan {
  return planSwarm({
    topology,
    task: { dataset: 'synthetic-mean', seed: 1 },
    rounds: 2,
    localSteps: 1,
    lr: 0.1,
    momentum: 0,
    batchSize: 8,
    rule: 'mean',
    f: 0,
    roundTimeoutMs: 5000,
    evalEvery: 1,
    ...overrides
  })
}
