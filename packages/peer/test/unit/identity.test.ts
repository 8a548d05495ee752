// The peer's key on disk: private mode, stable across restarts, loud when damaged.

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { IDENTITY_FILE, loadOrCreateIdentity } from '../../src/net/identity.ts'
import { tempDir } from '../helpers/temp.ts'

const freshDir = (): string => tempDir('identity')

describe('identity', () => {
  test('is an Ed25519 key created with mode 0600 in a 0700 directory, and nothing else is left there', async () => {
    const dir = join(freshDir(), 'state')
    const key = await loadOrCreateIdentity(dir)
    assert.equal(key.type, 'Ed25519')
    assert.equal(statSync(join(dir, IDENTITY_FILE)).mode & 0o777, 0o600)
    assert.equal(statSync(dir).mode & 0o777, 0o700)
    assert.deepEqual(readdirSync(dir), [IDENTITY_FILE])
  })

  test('is reused on restart: same PeerId', async () => {
    const dir = freshDir()
    const first = peerIdFromPrivateKey(await loadOrCreateIdentity(dir))
    const again = peerIdFromPrivateKey(await loadOrCreateIdentity(dir))
    assert.ok(first.equals(again), `${first.toString()} then ${again.toString()}`)
    const other = peerIdFromPrivateKey(await loadOrCreateIdentity(freshDir()))
    assert.ok(!first.equals(other))
  })

  test('a corrupt, empty or non-Ed25519 key file is an error naming the file, and is left alone', async () => {
    const dir = freshDir()
    const path = join(dir, IDENTITY_FILE)
    writeFileSync(path, 'not a key', { mode: 0o600 })
    await assert.rejects(loadOrCreateIdentity(dir), (error: Error) => error.message.startsWith(`${path}: not a valid private key`))
    assert.equal(readFileSync(path, 'utf8'), 'not a key')
    writeFileSync(path, new Uint8Array(0))
    await assert.rejects(loadOrCreateIdentity(dir), (error: Error) => error.message.startsWith(`${path}: not a valid private key`))
    const secp = await generateKeyPair('secp256k1')
    writeFileSync(path, privateKeyToProtobuf(secp))
    await assert.rejects(loadOrCreateIdentity(dir), (error: Error) => error.message.includes(path) && /secp256k1 key/.test(error.message))
  })

  test('a key file readable by others is tightened to 0600 with a warning, and still loaded', async () => {
    const dir = freshDir()
    const first = peerIdFromPrivateKey(await loadOrCreateIdentity(dir))
    const path = join(dir, IDENTITY_FILE)
    chmodSync(path, 0o644)
    const warnings: Error[] = []
    const onWarning = (warning: Error): void => { warnings.push(warning) }
    process.on('warning', onWarning)
    try {
      const again = peerIdFromPrivateKey(await loadOrCreateIdentity(dir))
      assert.ok(first.equals(again))
      await new Promise((resolve) => setImmediate(resolve)) // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning)
    }
    assert.equal(statSync(path).mode & 0o777, 0o600)
    assert.equal(warnings.length, 1)
    assert.match(warnings[0].message, /readable by others \(mode 644\)/)
  })
})
