import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import {
  findJsonError, formatEdgeList, formatTopology, generateTopology, generatorKinds, lineAndColumn,
  parseEdgeList, parseTopology, readTopology, TopologyError, validateTopology, writeTopology, type Topology
} from '../../src/index.ts'

const base = (): Record<string, unknown> => ({
  name: 'tiny',
  nodes: [{ id: 'p0' }, { id: 'p1' }, { id: 'p2' }, { id: 'p3' }],
  edges: [['p0', 'p1'], ['p1', 'p2'], ['p2', 'p3'], ['p3', 'p0']]
})

/** Asserts that validating `doc` fails with an issue at `path` whose message matches `pattern`. */
function rejects (doc: unknown, path: string, pattern: RegExp): TopologyError {
  try {
    validateTopology(doc)
  } catch (error) {
    assert.ok(error instanceof TopologyError, `expected a TopologyError, got ${String(error)}`)
    const issue = error.issues.find((i) => i.path === path)
    assert.ok(issue !== undefined, `no issue at ${path}; got ${JSON.stringify(error.issues)}`)
    assert.match(issue.message, pattern)
    assert.ok(error.message.includes(`${path}: ${issue.message}`), 'the message names the path')
    return error
  }
  assert.fail(`expected ${path} to be rejected`)
}

describe('topology validation', () => {
  test('node ids and names that would escape a directory, and files asking for unbounded work, are refused, naming the field', () => {
    for (const bad of ['../../../escaped', 'a/b', '..', '.hidden', 'nul\u0000id', 'tab\tid', 'x'.repeat(65), 'sp ace']) {
      const doc = base()
      ;(doc.nodes as Array<{ id: string }>)[1] = { id: bad }
      doc.edges = [['p0', 'p2'], ['p2', 'p3'], ['p3', 'p0']]
      rejects(doc, 'nodes[1].id', /not a usable node id/)
      rejects({ ...base(), name: bad }, 'name', /not a usable name/)
    }
    const heavy = base()
    heavy.byzantine = { model: 'ising', beta: 0.3, h: 0, burnIn: 1e9 }
    rejects(heavy, 'byzantine.burnIn', /≤ 100000/)
    rejects({ ...base(), edges: [['p0', 'p1', 1e300], ['p1', 'p2'], ['p2', 'p3'], ['p3', 'p0']] }, 'edges[0][2]', /outside/)
    rejects({ ...base(), nodes: Array.from({ length: 100_001 }, (_, i) => ({ id: `p${i}` })), edges: [] }, 'nodes', /at most 100000/)
    for (const good of ['p0', 'node_7', 'a.b-c', 'X'.repeat(64)]) {
      assert.equal(validateTopology({ ...base(), name: good }).name, good)
    }
  })

  test('accepts a valid file and returns it unchanged', () => {
    const doc = { ...base(), byzantine: { model: 'cascade', seed: 0.05, spread: 0.5 } }
    assert.deepEqual(validateTopology(doc), doc)
  })

  test('unknown node in an edge names the edge and side', () => {
    const doc = base(); (doc.edges as unknown[]).push(['p1', 'p9'])
    const error = rejects(doc, 'edges[4][1]', /^unknown node "p9"$/)
    assert.equal(error.path, 'edges[4][1]')
    assert.equal(error.message, 'edges[4][1]: unknown node "p9"')
  })

  test('self-loop', () => {
    const doc = base(); (doc.edges as unknown[]).push(['p2', 'p2'])
    rejects(doc, 'edges[4]', /self-loop on "p2"/)
  })

  test('duplicate edge in either orientation', () => {
    const same = base(); (same.edges as unknown[]).push(['p0', 'p1'])
    rejects(same, 'edges[4]', /duplicate edge "p0"–"p1" \(also edges\[0\]\)/)
    const reversed = base(); (reversed.edges as unknown[]).push(['p2', 'p1'])
    rejects(reversed, 'edges[4]', /duplicate edge "p2"–"p1" \(also edges\[1\]\)/)
  })

  test('duplicate node id', () => {
    const doc = base(); (doc.nodes as unknown[]).push({ id: 'p1' })
    rejects(doc, 'nodes[4].id', /duplicate id "p1" \(also nodes\[1\]\)/)
  })

  test('a disconnected graph is an error unless allowDisconnected', () => {
    const doc = base(); (doc.nodes as unknown[]).push({ id: 'lonely' })
    rejects(doc, 'edges', /disconnected \(2 components; "lonely" cannot reach "p0"\).*allowDisconnected/)
    assert.equal(validateTopology({ ...doc, allowDisconnected: true }).nodes.length, 5)
  })

  test('unknown μ_H model and out-of-range parameters', () => {
    rejects({ ...base(), byzantine: { model: 'plague' } }, 'byzantine.model', /unknown model "plague" \(expected one of independent, cascade/)
    rejects({ ...base(), byzantine: { model: 'cascade', seed: 1.5, spread: 0.5 } }, 'byzantine.seed', /^expected a probability in \[0, 1\], got 1\.5$/)
    rejects({ ...base(), byzantine: { model: 'cascade', seed: 0.1 } }, 'byzantine.spread', /required by model "cascade"/)
    rejects({ ...base(), byzantine: { model: 'gaussian', tau: 0, p: 0.1 } }, 'byzantine.tau', /positive finite number, got 0/)
    rejects({ ...base(), byzantine: { model: 'ising', beta: 0.3, h: -1, thin: 0 } }, 'byzantine.thin', /integer ≥ 1 and ≤ 10000, got 0/)
    rejects({ ...base(), byzantine: { model: 'worst-case', f: 5 } }, 'byzantine.f', /integer in \[0, 4\].*got 5/)
    rejects({ ...base(), byzantine: { model: 'worst-case', f: 1, strategy: 'chaos' } }, 'byzantine.strategy', /"max-degree" or "greedy"/)
    rejects({ ...base(), byzantine: { model: 'fixed', nodes: ['p0', 'p7'] } }, 'byzantine.nodes[1]', /unknown node "p7"/)
    rejects({ ...base(), byzantine: { model: 'fixed', nodes: ['p0', 'p0'] } }, 'byzantine.nodes[1]', /duplicate node "p0"/)
    rejects({ ...base(), byzantine: { model: 'cascade', seed: 0.1, spread: 0.2, sprad: 1 } }, 'byzantine.sprad', /unknown field for model "cascade"/)
  })

  test('independent needs p unless every node has a prior', () => {
    rejects({ ...base(), byzantine: { model: 'independent' } }, 'byzantine.p', /unless every node has a "prior" \(nodes\[0\] has none\)/)
    const withPriors = { ...base(), nodes: ['p0', 'p1', 'p2', 'p3'].map((id) => ({ id, prior: 0.1 })), byzantine: { model: 'independent' } }
    assert.equal(validateTopology(withPriors).byzantine?.model, 'independent')
  })

  test('a separate correlation graph is validated like edges', () => {
    rejects({ ...base(), byzantine: { model: 'cascade', seed: 0.1, spread: 0.2, graph: { edges: [['p0', 'x']] } } }, 'byzantine.graph.edges[0][1]', /unknown node "x"/)
    const ok = validateTopology({ ...base(), byzantine: { model: 'cascade', seed: 0.1, spread: 0.2, graph: { edges: [['p0', 'p2', 2]] } } })
    assert.deepEqual(ok.byzantine?.graph, { edges: [['p0', 'p2', 2]] })
  })

  test('wrong types name the field and what was expected', () => {
    rejects({ ...base(), name: 5 }, 'name', /expected a non-empty string, got 5/)
    rejects({ ...base(), nodes: 'p0' }, 'nodes', /expected an array, got "p0"/)
    rejects({ ...base(), nodes: [{ id: 'p0' }, 7] }, 'nodes[1]', /expected an object/)
    rejects({ ...base(), nodes: [{ id: 'p0', prior: 'high' }, { id: 'p1' }], edges: [['p0', 'p1']] }, 'nodes[0].prior', /probability in \[0, 1\], got "high"/)
    rejects({ ...base(), nodes: [{ id: 'p0', shard: -1 }, { id: 'p1' }], edges: [['p0', 'p1']] }, 'nodes[0].shard', /non-negative integer/)
    rejects({ ...base(), nodes: [{ id: 'p0', addr: 'localhost:1' }, { id: 'p1' }], edges: [['p0', 'p1']] }, 'nodes[0].addr', /multiaddr/)
    rejects({ ...base(), edges: [['p0', 'p1', 'heavy']] }, 'edges[0][2]', /positive finite weight, got "heavy"/)
    rejects({ ...base(), edges: [['p0']] }, 'edges[0]', /expected \[from, to\] or \[from, to, weight\]/)
    rejects({ ...base(), edges: [[0, 'p1']] }, 'edges[0][0]', /expected a node id \(string\), got 0/)
    rejects({ ...base(), allowDisconnected: 'yes' }, 'allowDisconnected', /expected true or false/)
    rejects({ ...base(), byzantine: { model: 'ising', beta: 'hot', h: 0 } }, 'byzantine.beta', /finite number, got "hot"/)
    rejects({ ...base(), colour: 'blue' }, 'colour', /unknown field/)
    rejects({ ...base(), nodes: [{ id: 'p0', role: 'x' }] }, 'nodes[0].role', /unknown field/)
    assert.throws(() => validateTopology([1, 2]), (e: unknown) => e instanceof TopologyError && e.path === '' && /expected a JSON object/.test(e.message))
  })

  test('collects every problem, the first one in .path', () => {
    const doc = { name: '', nodes: [{ id: 'a' }, { id: 'a' }], edges: [['a', 'b']] }
    try {
      validateTopology(doc)
      assert.fail('should throw')
    } catch (error) {
      assert.ok(error instanceof TopologyError)
      assert.deepEqual(error.issues.map((i) => i.path), ['name', 'nodes[1].id', 'edges[0][1]'])
      assert.equal(error.path, 'name')
      assert.equal(error.message.split('\n').length, 3)
    }
  })
})

describe('malformed JSON', () => {
  test('reports line and column from the SyntaxError position', () => {
    const text = '{\n  "name": "x",\n  "nodes" [\n}'
    try {
      parseTopology(text)
      assert.fail('should throw')
    } catch (error) {
      assert.ok(error instanceof TopologyError)
      assert.equal(error.line, 3)
      assert.equal(error.column, 11) // the "[" after "nodes"
      assert.match(error.message, /^malformed JSON at line 3, column 11: /)
    }
  })

  test('errors V8 reports without a position are located by a scan', () => {
    const text = '{\n  "name": tru\n}'
    assert.equal(findJsonError(text), text.indexOf('\n}'))
    assert.throws(() => parseTopology(text), (e: unknown) => e instanceof TopologyError && e.line === 2 && e.column === 14)
    assert.throws(() => parseTopology('{"name": "x",'), (e: unknown) => e instanceof TopologyError && e.line === 1 && e.column === 14)
  })

  test('lineAndColumn counts from 1', () => {
    assert.deepEqual(lineAndColumn('ab\ncd', 0), { line: 1, column: 1 })
    assert.deepEqual(lineAndColumn('ab\ncd', 4), { line: 2, column: 2 })
  })
})

describe('writing and reading back', () => {
  test('formatTopology round-trips every generator and every field', () => {
    const docs: Topology[] = generatorKinds.map((kind) => generateTopology(kind, {
      n: 12, k: 4, p: 0.3, rows: 3, cols: 4, m: 2, communities: 3, pIn: 0.7, pOut: 0.1, honest: 3, seed: 7
    }))
    docs.push({
      name: 'everything',
      description: 'all fields "quoted"',
      allowDisconnected: true,
      nodes: [
        { id: 'a', addr: '/ip4/127.0.0.1/tcp/4001', host: 'box-1', shard: 0, prior: 0.25 },
        { id: 'b', prior: 0 },
        { id: 'c' }
      ],
      edges: [['a', 'b', 0.5]],
      byzantine: { model: 'ising', beta: 0.4, h: -1, burnIn: 10, thin: 2, graph: { edges: [['a', 'c'], ['b', 'c', 3]] } }
    })
    for (const doc of docs) {
      const text = formatTopology(doc)
      const back = parseTopology(text)
      assert.deepEqual(back, doc, doc.name)
      assert.equal(formatTopology(back), text)
    }
  })

  test('writeTopology and readTopology use the JSON or edge-list format by extension', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'murmur-topology-'))
    try {
      const ring = generateTopology('ring', { n: 5, byzantine: { model: 'independent', p: 0.2 } })
      await writeTopology(join(dir, 'ring.json'), ring)
      assert.deepEqual(await readTopology(join(dir, 'ring.json')), ring)
      await writeTopology(join(dir, 'ring.txt'), ring)
      const fromText = await readTopology(join(dir, 'ring.txt'))
      assert.equal(fromText.name, 'ring')
      assert.deepEqual(fromText.edges, ring.edges)
      assert.equal(fromText.byzantine, undefined)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('edge-list format', () => {
  test('first line is the node count, then u v [weight]; ids become p<u>', () => {
    const t = parseEdgeList('# a path\n3\n0 1\n\n1 2 0.5\n', { name: 'path' })
    assert.deepEqual(t, { name: 'path', nodes: [{ id: 'p0' }, { id: 'p1' }, { id: 'p2' }], edges: [['p0', 'p1'], ['p1', 'p2', 0.5]] })
    const numbers = parseEdgeList('2\n0 1', { ids: 'numbers' })
    assert.deepEqual(numbers.edges, [['0', '1']])
    assert.equal(numbers.name, 'edge-list')
  })

  test('parseTopology detects the format by content', () => {
    assert.equal(parseTopology('2\n0 1\n').nodes.length, 2)
    assert.equal(parseTopology('# comment\n2\n0 1\n').edges.length, 1)
  })

  test('errors name the line', () => {
    const lineOf = (text: string): string => {
      try { parseEdgeList(text); return 'accepted' } catch (error) { return (error as TopologyError).path }
    }
    assert.equal(lineOf('three\n0 1'), 'line 1')
    assert.equal(lineOf('3\n0 1\n1 3'), 'line 3') // node 3 out of range
    assert.equal(lineOf('3\n0 1\n1 2\n2 2'), 'line 4') // self-loop
    assert.equal(lineOf('3\n0 1\n1 2\n\n1 0'), 'line 5') // duplicate
    assert.equal(lineOf('3\n0 1 -2\n1 2'), 'line 2') // bad weight
    assert.equal(lineOf('4\n0 1\n1 2'), 'edges') // p3 unreachable
    assert.throws(() => parseEdgeList('3\n0 1\n1 2\n\n1 0'), /line 5: duplicate edge "p1"–"p0" \(also line 2\)/)
    assert.equal(parseEdgeList('4\n0 1\n1 2', { allowDisconnected: true }).nodes.length, 4)
  })

  test('formatEdgeList writes what parseEdgeList reads', () => {
    const t = generateTopology('erdos-renyi', { n: 15, p: 0.3, seed: 3 })
    t.edges[0] = [t.edges[0][0], t.edges[0][1], 2.5]
    const back = parseEdgeList(formatEdgeList(t), { name: t.name })
    assert.deepEqual(back, t)
  })
})
