// The libp2p node of a murmur peer: TCP, noise, yamux, identify, ping and gossipsub.

import { gossipsub, type GossipsubEvents } from '@chainsafe/libp2p-gossipsub'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify, type Identify } from '@libp2p/identify'
import { StrictSign, type Libp2p, type PrivateKey, type PubSub } from '@libp2p/interface'
import { ping, type PingService } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { toString } from 'uint8arrays'
import type { PeerAccess } from './access.ts'

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
  /** Who may connect, and for how long (default: anyone, for as long as they like). */
  access?: PeerAccess
}

/**
 * Creates and starts a node with the murmur stack. Connection limits are sized for a swarm of
 * ~128 peers on one host: libp2p's defaults would refuse a busy node's neighbours. With `access`,
 * its gater decides who may connect and it watches the connections of strangers (see access.ts).
 */
export async function createMurmurNode (options: NodeOptions): Promise<MurmurNode> {
  const node = await createLibp2p({
    // Started below, once the access control watches its connections.
    start: false,
    privateKey: options.privateKey,
    addresses: {
      listen: options.listen ?? ['/ip4/127.0.0.1/tcp/0'],
      ...(options.announce === undefined ? {} : { announce: options.announce })
    },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    ...(options.access === undefined ? {} : { connectionGater: options.access.gater }),
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
        emitSelf: false,
        // Gossipsub checks a message's signature before it looks the message up among those it
        // has seen, so every copy a peer receives over its mesh (about D of each) pays an Ed25519
        // verification: with every peer sending a heartbeat each round that is O(N² D) per round,
        // most of a 128-peer swarm's CPU. This id (publisher and sequence number, what StrictSign's
        // message id is made of) lets copies of an already verified message be dropped unverified;
        // the cache only ever holds ids of messages that passed validation.
        fastMsgIdFn: (message) => message.from == null || message.seqno == null
          ? ''
          : `${toString(message.from, 'base64')}:${toString(message.seqno, 'base64')}`
      })
    }
  })
  options.access?.attach(node)
  await node.start()
  return node
}
