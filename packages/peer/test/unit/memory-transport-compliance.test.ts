// The in-memory hub against the ModelTransport compliance suite.
import { memorySwarm, transportCompliance } from '../helpers/transport-compliance.ts'

transportCompliance('memory hub', memorySwarm)
