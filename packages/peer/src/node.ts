// The libp2p node of a murmur peer: TCP, noise, yamux, identify, ping and gossipsub.

import { gossipsub, type GossipsubEvents } from '@chainsafe/libp2p-gossipsub'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify, type Identify } from '@libp2p/identify'
import type { Libp2p, PrivateKey, PubSub } from '@libp2p/interface'
import { ping, type PingService } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'

export type MurmurServices = {
  identify: Identify
  ping: PingService
  pubsub: PubSub<GossipsubEvents>
}

export type MurmurNode = Libp2p<MurmurServices>

export interface NodeOptions {
  privateKey: PrivateKey
  /** Listen multiaddrs (default one ephemeral TCP port on loopback). */
  listen?: string[]
  /** Addresses to announce instead of the listen addresses (e.g. behind NAT). */
  announce?: string[]
}

/** Creates and starts a node. */
export async function createMurmurNode (options: NodeOptions): Promise<MurmurNode> {
  return await createLibp2p({
    privateKey: options.privateKey,
    addresses: {
      listen: options.listen ?? ['/ip4/127.0.0.1/tcp/0'],
      ...(options.announce === undefined ? {} : { announce: options.announce })
    },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // A swarm of ~100 peers on one host: every pair of neighbours holds a connection.
    connectionManager: { maxConnections: 1024 },
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: false })
    }
  })
}
