// The libp2p node of a murmur peer: TCP, noise, yamux, identify, ping and gossipsub.

import { gossipsub, type GossipsubEvents } from '@chainsafe/libp2p-gossipsub'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify, type Identify } from '@libp2p/identify'
import { StrictSign, type Libp2p, type PrivateKey, type PubSub } from '@libp2p/interface'
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
  /** Open connections allowed before libp2p prunes (default 1024). */
  maxConnections?: number
}

/**
 * Creates and starts a node with the murmur stack. Connection limits are sized for a swarm of
 * ~128 peers on one host: libp2p's defaults would refuse a busy node's neighbours.
 */
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
    connectionManager: {
      // Every pair of graph neighbours and gossipsub mesh peers holds a connection.
      maxConnections: options.maxConnections ?? 1024,
      // The defaults (5 inbound connections per second per host, 10 pending upgrades) are meant
      // against floods from one address; a local swarm's peers all dial from 127.0.0.1 at once.
      inboundConnectionThreshold: 512,
      maxIncomingPendingConnections: 256
    },
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        // A small swarm starts with nobody subscribed: publishing then is not an error.
        allowPublishToZeroTopicPeers: true,
        globalSignaturePolicy: StrictSign,
        emitSelf: false
      })
    }
  })
}
