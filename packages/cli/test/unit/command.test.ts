import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { defineCommand, runCommand, type AnyCommand } from '../../src/command.ts'

/** Runs argv against a command tree, capturing output. */
async function run (root: AnyCommand, argv: string[]): Promise<{ code: number, out: string, err: string }> {
  let out = ''; let err = ''
  const code = await runCommand(root, argv, { io: { stdout: (t) => { out += t }, stderr: (t) => { err += t } }, version: '9.9.9' })
  return { code, out, err }
}

const seen: unknown[] = []
const leaf = defineCommand({
  name: 'leaf',
  summary: 'a leaf',
  positionals: [{ name: 'file', description: 'input', required: true }],
  options: {
    count: { type: 'integer', default: 3, description: 'how many' },
    rate: { type: 'number', description: 'a rate' },
    mode: { type: 'string', choices: ['a', 'b'], default: 'a', description: 'mode' },
    loud: { type: 'boolean', short: 'l', description: 'shout' }
  },
  run: ({ options, positionals }) => {
    // The option types are inferred: count is a number, rate may be undefined.
    const count: number = options.count
    const rate: number | undefined = options.rate
    seen.push({ count, rate, mode: options.mode, loud: options.loud, positionals })
    if (positionals[0] === 'explode') throw new Error('it broke')
  }
})
const root = defineCommand({ name: 'tool', summary: 'a tool', subcommands: [defineCommand({ name: 'group', summary: 'a group', subcommands: [leaf] })] })

describe('command framework', () => {
  test('resolves the path, applies defaults and converts numbers', async () => {
    seen.length = 0
    const r = await run(root, ['group', 'leaf', 'x.json', '--rate', '-0.5', '-l'])
    assert.equal(r.code, 0)
    assert.deepEqual(seen, [{ count: 3, rate: -0.5, mode: 'a', loud: true, positionals: ['x.json'] }])
  })

  test('usage errors exit 2 and point at the right --help', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['group', 'leaf', 'x', '--count', '2.5'], /--count: expected an integer, got "2.5"/],
      [['group', 'leaf', 'x', '--rate', 'fast'], /--rate: expected a number, got "fast"/],
      [['group', 'leaf', 'x', '--mode', 'c'], /--mode: expected one of a, b, got "c"/],
      [['group', 'leaf', 'x', '--rate'], /--rate needs a value/],
      [['group', 'leaf', 'x', '--loud=yes'], /--loud does not take a value/],
      [['group', 'leaf'], /missing <file>/],
      [['group', 'leaf', 'x', 'y'], /unexpected argument "y"/],
      [['group', 'twig'], /unknown command "twig" for "tool group" \(expected leaf\)/],
      [['group'], /missing command for "tool group"/]
    ]
    for (const [argv, pattern] of cases) {
      const r = await run(root, argv)
      assert.equal(r.code, 2, argv.join(' '))
      assert.match(r.err, new RegExp(`^tool: ${pattern.source}`))
      assert.match(r.err, /Run 'tool( group)?( leaf)? --help' for usage\.\n$/)
    }
  })

  test('failures exit 1 with the message only', async () => {
    const r = await run(root, ['group', 'leaf', 'explode'])
    assert.equal(r.code, 1)
    assert.equal(r.err, 'tool: it broke\n')
  })

  test('help lists options with defaults and choices; version on the root only', async () => {
    const help = await run(root, ['group', 'leaf', '--help'])
    assert.equal(help.code, 0)
    assert.match(help.out, /^Usage: tool group leaf <file> \[options\]/)
    assert.match(help.out, /--count <n>\s+how many \(default: 3\)/)
    assert.match(help.out, /--mode <value>\s+mode \(a \| b\) \(default: a\)/)
    assert.match(help.out, /-l, --loud\s+shout/)
    assert.equal((await run(root, ['--version'])).out, '9.9.9\n')
    assert.equal((await run(root, ['group', '--version'])).code, 2)
  })
})
