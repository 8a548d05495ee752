// A peer's Ed25519 identity, kept in its state directory so a restarted peer keeps its PeerId.

import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { logger } from './log.ts'

const log = logger('identity')

// @libp2p/crypto declares its keys with a newer @libp2p/interface than libp2p 2.x; the objects
// are the same at runtime, so the key is retyped as the one libp2p takes.
function asPrivateKey (key: unknown): PrivateKey {
  return key as PrivateKey
}
export const IDENTITY_FILE = 'identity.key'

/** Loads `<stateDir>/identity.key`, or creates it (mode 0600, written atomically). */
export async function loadOrCreateIdentity (stateDir: string): Promise<PrivateKey> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 })
  const path = join(stateDir, IDENTITY_FILE)
  let bytes: Uint8Array | undefined
  try {
    bytes = await readFile(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  if (bytes !== undefined) {
    let key: PrivateKey
    try {
      key = asPrivateKey(privateKeyFromProtobuf(bytes))
    } catch (error) {
      throw new Error(`${path}: not a valid private key (${(error as Error).message}); move it away to create a new identity`)
    }
    const mode = (await stat(path)).mode & 0o777
    if ((mode & 0o077) !== 0) {
      log('%s was readable by others (mode %s): tightening to 0600', path, mode.toString(8))
      await chmod(path, 0o600)
    }
    return key
  }
  const key = asPrivateKey(await generateKeyPair('Ed25519'))
  const temp = `${path}.${process.pid}.tmp`
  await writeFile(temp, privateKeyToProtobuf(key as Parameters<typeof privateKeyToProtobuf>[0]), { mode: 0o600 })
  await rename(temp, path)
  log('created identity %s', path)
  return key
}
