import type { AnySuite } from '../suite.ts'
import { aggregators } from './aggregators/index.ts'
import { convergence } from './convergence/index.ts'
import { expected } from './expected/index.ts'
import { faults } from './faults/index.ts'
import { network } from './network/index.ts'
import { resilience } from './resilience/index.ts'
import { robustness } from './robustness/index.ts'
import { scale } from './scale/index.ts'
import { swarmBars } from './swarm-bars/index.ts'

/** Every benchmark suite, by name. A new suite is one folder under suites/ (index.ts and report.md) and one line here. */
export const suites: readonly AnySuite[] = [
  convergence,
  aggregators,
  robustness,
  expected,
  scale,
  network,
  faults,
  resilience,
  swarmBars
]
