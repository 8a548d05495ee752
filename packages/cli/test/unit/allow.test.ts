// `--allow` of launch and join: PeerIds given inline or in a file, checked before any peer starts.

import assert from 'node:assert/strict'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { statePeerId, type PeerFinal } from '@murmur/peer'
import { tempDir } from '../../../peer/test/helpers/temp.ts'
import { formatConnectionRefusals } from '../../src/commands/launch/index.ts'
import { main } from '../../src/main.ts'

const ring8 = fileURLToPath(new URL('../../../../topologies/ring-8.json', import.meta.url))

async function murmur (args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  let stdout = ''
  let stderr = ''
  const code = await main(args, { stdout: (t) => { stdout += t }, stderr: (t) => { stderr += t } })
  return { code, stdout, stderr }
}

const newPeerId = async (): Promise<string> => await statePeerId(tempDir('identity'))

describe('--allow', () => {
  test('launch and join document it', async () => {
    for (const command of ['launch', 'join']) {
      const help = await murmur([command, '--help'])
      assert.equal(help.code, 0)
      assert.match(help.stdout, /--allow <ids\|file>\s+PeerIds that may connect/)
    }
  })

  test('a malformed PeerId is a usage error naming the flag, before any peer starts', async () => {
    const good = await newPeerId()
    const dir = tempDir('allow')
    const launch = await murmur(['launch', ring8, '--allow', `${good},12D3KooWnotapeer`, '--run-dir', dir])
    assert.equal(launch.code, 2)
    assert.match(launch.stderr, /--allow: "12D3KooWnotapeer" is not a PeerId/)
    assert.doesNotMatch(launch.stderr, /peers on ring-8/)
    assert.equal(existsSync(join(dir, 'peers')), false)

    const file = join(dir, 'allow.txt')
    writeFileSync(file, `# who may come\n${good}\nnot-a-peer   # typo\n`)
    const fromFile = await murmur(['launch', ring8, '--allow', file, '--run-dir', dir])
    assert.equal(fromFile.code, 2)
    assert.match(fromFile.stderr, new RegExp(`--allow: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} line 3: "not-a-peer" is not a PeerId`))

    const joiner = await murmur(['join', '--bootstrap', `/ip4/127.0.0.1/tcp/9/p2p/${good}`, '--allow', 'nope', '--run-dir', tempDir('allow')])
    assert.equal(joiner.code, 2)
    assert.match(joiner.stderr, /--allow: "nope" is not a PeerId/)
    assert.doesNotMatch(joiner.stderr, /contacting/)
  })

  test('a list or a file of valid PeerIds passes (the launch then fails on the next thing wrong)', async () => {
    const [a, b] = [await newPeerId(), await newPeerId()]
    const dir = tempDir('allow')
    const file = join(dir, 'allow.txt')
    writeFileSync(file, `${a}\n\n# and\n${b}\n`)
    for (const allow of [`${a}, ${b}`, file]) {
      const run = await murmur(['launch', ring8, '--allow', allow, '--rule', 'nosuchrule', '--run-dir', dir])
      assert.equal(run.code, 2)
      assert.match(run.stderr, /rule "nosuchrule"/)
    }
  })

  test('the launch summary totals the refused connections', () => {
    const peer = (id: string, refusals?: PeerFinal['connectionRefusals']): PeerFinal => ({
      id, byzantine: false, lastRound: 1, rejected: {}, rejectedFrom: {}, skippedBehind: 0, checkpointFailures: 0,
      ...(refusals === undefined ? {} : { connectionRefusals: refusals })
    })
    assert.equal(formatConnectionRefusals([peer('p0'), peer('p1', { denied: 0, limit: 0, idle: 0, byPeer: {} })]), '')
    assert.equal(formatConnectionRefusals([
      peer('p0', { denied: 2, limit: 0, idle: 1, byPeer: { A: { denied: 2 }, B: { idle: 1 } } }),
      peer('p1', { denied: 1, limit: 3, idle: 0, byPeer: { A: { denied: 1, limit: 3 } } })
    ]), 'connections refused: 3 not allowed, 3 over a limit, 1 closed idle (from 2 peers; per peer in summary.json)\n')
  })
})
