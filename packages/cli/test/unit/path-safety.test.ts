// Ids and names become folder names: traversal, absolute paths, NUL and overlong ids are refused
// by launch, join and the topology tools before anything is written, naming the field.

import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { peerStateDir } from '@murmur/peer'
import { main } from '../../src/main.ts'

const work = mkdtempSync(join(tmpdir(), 'murmur-path-safety-'))
after(() => { rmSync(work, { recursive: true, force: true }) })

async function murmur (args: string[]): Promise<{ code: number, stderr: string }> {
  let stderr = ''
  const code = await main(args, { stdout: () => {}, stderr: (t) => { stderr += t } })
  return { code, stderr }
}

const BAD_IDS = ['../../escaped', '/tmp/absolute', 'nul\u0000id', 'x'.repeat(65), '..', 'a/b']
const BOOTSTRAP = '/ip4/127.0.0.1/tcp/1/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'

describe('ids that would become paths', () => {
  test('launch refuses a topology with such a node id or name, naming the field, and writes nothing', async () => {
    for (const [k, bad] of BAD_IDS.entries()) {
      const dir = join(work, `launch-${k}`)
      const file = join(work, `bad-${k}.json`)
      writeFileSync(file, JSON.stringify({ name: 'ok', nodes: [{ id: bad }, { id: 'b' }, { id: 'c' }], edges: [[bad, 'b'], ['b', 'c']] }))
      const byId = await murmur(['launch', file, '--dataset', 'synthetic-mean', '--rounds', '1', '--run-dir', dir])
      assert.equal(byId.code, 1, JSON.stringify(bad))
      assert.match(byId.stderr, /nodes\[0\]\.id: .* is not a usable node id/)
      writeFileSync(file, JSON.stringify({ name: bad, nodes: [{ id: 'a' }, { id: 'b' }], edges: [['a', 'b']] }))
      const byName = await murmur(['launch', file, '--dataset', 'synthetic-mean', '--rounds', '1', '--run-dir', dir])
      assert.equal(byName.code, 1, JSON.stringify(bad))
      assert.match(byName.stderr, /name: .* is not a usable name/)
      assert.equal(existsSync(dir), false, 'no run directory was made')
    }
  })

  test('join refuses such an --id before it contacts anyone or makes its run directory', async () => {
    for (const [k, bad] of BAD_IDS.entries()) {
      const dir = join(work, `join-${k}`)
      const result = await murmur(['join', '--bootstrap', BOOTSTRAP, '--id', bad, '--run-dir', dir])
      assert.equal(result.code, 2, JSON.stringify(bad))
      assert.match(result.stderr, /--id: .* is not a usable node id/)
      assert.doesNotMatch(result.stderr, /contacting/)
      assert.equal(existsSync(dir), false)
    }
  })

  test('topology generate and inspect refuse such names and ids', async () => {
    for (const [k, bad] of BAD_IDS.entries()) {
      const out = join(work, `gen-${k}.json`)
      const generated = await murmur(['topology', 'generate', 'ring', '--n', '4', '--name', bad, '-o', out])
      assert.equal(generated.code, 2, JSON.stringify(bad))
      assert.match(generated.stderr, /--name: .* is not a usable name/)
      assert.equal(existsSync(out), false)
      const file = join(work, `inspect-${k}.json`)
      writeFileSync(file, JSON.stringify({ name: 'ok', nodes: [{ id: bad }, { id: 'b' }], edges: [[bad, 'b']] }))
      const inspected = await murmur(['topology', 'inspect', file])
      assert.notEqual(inspected.code, 0)
      assert.match(inspected.stderr, /nodes\[0\]\.id: .* is not a usable node id/)
    }
    assert.deepEqual(readdirSync(work).filter((name) => name.includes('escaped')), [])
  })

  test('a peer\'s folder is refused whatever the id\'s source if it would leave <run>/peers', () => {
    assert.equal(peerStateDir('/runs/r', 'p0'), '/runs/r/peers/p0')
    for (const bad of ['../x', '../../x', '/abs', '', 'a\u0000b', '.', 'a/b']) assert.throws(() => peerStateDir('/runs/r', bad), /does not name a folder inside/, JSON.stringify(bad))
  })
})
