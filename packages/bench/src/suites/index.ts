import type { AnySuite } from '../suite.ts'
import { aggregators } from './aggregators.ts'
import { convergence } from './convergence.ts'
import { expected } from './expected.ts'
import { faults } from './faults.ts'
import { network } from './network.ts'
import { robustness } from './robustness.ts'
import { scale } from './scale.ts'

/** Every benchmark suite, by name. A new suite is one module under suites/ and one line here. */
export const suites: readonly AnySuite[] = [
  convergence,
  aggregators,
  robustness,
  expected,
  scale,
  network,
  faults
]
