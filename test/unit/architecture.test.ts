// The package graph of docs/ARCHITECTURE.md, enforced: dependencies point one way
// (cli → bench → peer → learn, topology → robust), and robust and topology stay free of tfjs and libp2p.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'

const root = join(import.meta.dirname, '..', '..')
const allowed: Record<string, string[]> = {
  robust: [],
  topology: ['robust'],
  learn: ['robust'],
  peer: ['robust', 'topology', 'learn'],
  bench: ['robust', 'topology', 'learn', 'peer'],
  cli: ['robust', 'topology', 'learn', 'peer', 'bench']
}
const forbiddenExternal: Record<string, RegExp> = {
  robust: /^(@tensorflow|libp2p|@libp2p|@chainsafe)/,
  topology: /^(@tensorflow|libp2p|@libp2p|@chainsafe)/
}

function sourceFiles (dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : sourceFiles(path)
    return /\.(ts|js)$/.test(name) ? [path] : []
  })
}

function importsOf (file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const specs: string[] = []
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) specs.push(m[1])
  return specs
}

for (const pkg of Object.keys(allowed)) {
  test(`${pkg} imports only what the package graph allows`, () => {
    const problems: string[] = []
    for (const file of sourceFiles(join(root, 'packages', pkg, 'src'))) {
      for (const spec of importsOf(file)) {
        const internal = /^@murmur\/([^/]+)/.exec(spec)
        if (internal !== null && !allowed[pkg].includes(internal[1])) problems.push(`${file}: ${spec}`)
        if (forbiddenExternal[pkg]?.test(spec) === true) problems.push(`${file}: ${spec}`)
        if (spec.startsWith('../') && /\.\.\/\.\.\/\.\.\//.test(spec)) problems.push(`${file}: reaches outside its package via ${spec}`)
      }
    }
    assert.deepEqual(problems, [])
  })
}
