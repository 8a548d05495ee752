// The libp2p model exchange, over TCP on 127.0.0.1, against the ModelTransport compliance suite.
import { libp2pSwarm, transportCompliance } from '../helpers/transport-compliance.ts'

transportCompliance('libp2p exchange', libp2pSwarm)
