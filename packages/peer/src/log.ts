import { logger as libp2pLogger, type Logger } from '@libp2p/logger'

/** A logger named `murmur:<component>`: `DEBUG=murmur:*` shows it, the libp2p way. */
export function logger (component: string): Logger {
  return libp2pLogger(`murmur:${component}`)
}

export type { Logger }
