// @murmur/peer: one murmur peer (a libp2p node with the model exchange, the control plane, the
// collusion channel and the open-swarm protocols, driving the round engine), and the launcher that
// runs a swarm of them. Laid out by concern:
//   wire/   what crosses the network: model frames, manifests, length-prefixed messages
//   net/    the libp2p node, its identity, access control and protocols
//   round/  the round engine, learners, Byzantine behaviours, checkpoints and metrics
//   open/   open swarms: the directory, changing neighbourhoods, joining
//   swarm/  the local launcher: plans, worker processes, delivery accounting

export { decodeFrame, encodeFrame, frameBytes, FRAME_HEADER_BYTES, type Dtype, type FrameRejection } from './wire/frame.ts'
export { PROTOCOL_VERSION, checkPlanManifest } from './wire/manifest.ts'

export { createMurmurNode, type MurmurNode } from './net/node.ts'
export { ephemeralIdentity, loadOrCreateIdentity } from './net/identity.ts'
export { AllowListError, MAX_STRANGER_CONNECTIONS, parseAllowList, statePeerId } from './net/access.ts'
export { MODEL_PROTOCOL, createModelExchange, type ModelExchange } from './net/exchange.ts'
export { ControlMessageError, controlTopic, parseControlMessage, type ControlRefusal } from './net/control.ts'
export { createMemoryHub, type MemoryTransport } from './net/memory-transport.ts'

export type { Learner, ModelTransport, RoundMetrics } from './round/types.ts'
export { RoundEngine, isLossAwareRule } from './round/engine.ts'
export { DEFAULT_EVAL_EVERY, ENGINE_EVAL_EVERY } from './constants.ts'
export { listBehaviours, parseBehaviour } from './round/byzantine.ts'
export { createLearner } from './round/learner.ts'
export { loadCheckpoint } from './round/checkpoint.ts'
export { readMetricsLog } from './round/metrics.ts'
export { loadNodeData, type JoinerDataSpec, type TaskConfig } from './round/task.ts'

export { fetchManifest } from './open/open-swarm.ts'
export { JoinError, joinSwarm } from './open/join.ts'

export { createPeer, type MurmurPeer } from './peer.ts'
export { createNodeLearner, engineOptions, loadPeerData, peerConfigFromPlan, type PeerConfig } from './peer-config.ts'
export { logger } from './log.ts'

export { SwarmConfigError, parseLrSchedule, planSwarm, type SwarmOptions, type SwarmPlan } from './swarm/plan.ts'
export { checkRunDirectory, peerStateDir } from './swarm/run-plan.ts'
export { consensusDistance, launchSwarm, type RoundSummary } from './swarm/launch.ts'
export { DeliveryLedger, type DeliveryReport } from './swarm/delivery.ts'
export type { PeerAddress, PeerFinal } from './swarm/protocol.ts'
