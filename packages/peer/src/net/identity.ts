// A peer's Ed25519 identity, kept in its state directory so a restarted peer keeps its PeerId.

import { randomBytes } from 'node:crypto'
import { chmod, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { logger } from '../log.ts'

const log = logger('identity')

export const IDENTITY_FILE = 'identity.key'

// @libp2p/crypto declares its keys with a newer @libp2p/interface than libp2p 2.x; the objects
// are the same at runtime, so the key is retyped as the one libp2p takes.
function asPrivateKey (key: unknown): PrivateKey {
  return key as PrivateKey
}

/**
 * Loads the peer's private key from `<stateDir>/identity.key`, or creates an Ed25519 key there.
 * The directory is created with mode 0700 and the key file with 0600, written to a temporary
 * file and renamed so a crash never leaves half a key. A key file readable by group or others is
 * tightened to 0600 with a warning; a file that is not an Ed25519 private key is an error naming
 * its path (the peer must not silently take a new identity).
 */
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
    const key = parseKey(path, bytes)
    await tightenMode(path)
    return key
  }
  const key = asPrivateKey(await generateKeyPair('Ed25519'))
  await writeAtomically(path, privateKeyToProtobuf(key as Parameters<typeof privateKeyToProtobuf>[0]))
  log('created identity %s', path)
  return key
}

function parseKey (path: string, bytes: Uint8Array): PrivateKey {
  let key: PrivateKey
  try {
    key = asPrivateKey(privateKeyFromProtobuf(bytes))
  } catch (error) {
    throw new Error(`${path}: not a valid private key (${(error as Error).message}); move it away to create a new identity`)
  }
  if (key.type !== 'Ed25519') {
    throw new Error(`${path}: a ${key.type} key, murmur peers use Ed25519; move it away to create a new identity`)
  }
  return key
}

async function tightenMode (path: string): Promise<void> {
  const mode = (await stat(path)).mode & 0o777
  if ((mode & 0o077) === 0) return
  await chmod(path, 0o600)
  const message = `${path} was readable by others (mode ${mode.toString(8)}); tightened to 0600`
  log.error('warning: %s', message)
  process.emitWarning(message, { code: 'MURMUR_IDENTITY_MODE' })
}

/** Writes a new file (mode 0600) next to `path`, flushes it, then renames it over `path`. */
async function writeAtomically (path: string, bytes: Uint8Array): Promise<void> {
  // A fresh name per attempt, opened exclusively: a leftover from a crash is never reused with
  // whatever mode it had.
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  try {
    const file = await open(temp, 'wx', 0o600)
    try {
      await file.writeFile(bytes)
      await file.sync()
    } finally {
      await file.close()
    }
    await rename(temp, path)
  } catch (error) {
    await rm(temp, { force: true })
    throw error
  }
}

/** A throwaway Ed25519 key, for a short-lived probe node that must not share a peer's PeerId. */
export async function ephemeralIdentity (): Promise<PrivateKey> {
  return asPrivateKey(await generateKeyPair('Ed25519'))
}
