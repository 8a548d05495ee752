// Every package declares what it imports: its runtime code's packages in `dependencies`, packages only its tests
// (or benchmarks) import in `devDependencies` or the root's, so a package installed on its own resolves its imports.
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'

const root = join(import.meta.dirname, '..', '..')
const packages = readdirSync(join(root, 'packages')).filter((name) => existsSync(join(root, 'packages', name, 'package.json')))
const runtimeDirs = ['src', 'bin']
const devDirs = ['test', 'bench']

interface Manifest {
  dependencies?: Record<string, string>
  devDependencies?: Record<string, string>
  optionalDependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
}

function readManifest (dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest
}

function sourceFiles (dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : sourceFiles(path)
    return /\.(ts|js)$/.test(name) ? [path] : []
  })
}

// Static `import … from 'x'`, `export … from 'x'`, side-effect `import 'x'` and literal `import('x')`.
// The lookbehind keeps a quoted word 'from' (as in `{ name: 'from' }`) from reading as an import.
function importsOf (file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const specs: string[] = []
  for (const m of text.matchAll(/(?<![\w'"$.])from\s*['"]([^'"]+)['"]|\bimport\s*\(?\s*['"]([^'"]+)['"]/g)) specs.push(m[1] ?? m[2])
  return specs
}

/** The package a bare specifier names ('@scope/name/sub' → '@scope/name'), or null for relative paths and node: builtins. */
function packageOf (spec: string): string | null {
  if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:')) return null
  const parts = spec.split('/')
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]
}

function importedPackages (dirs: string[]): Map<string, string> {
  const found = new Map<string, string>()
  for (const file of dirs.flatMap(sourceFiles)) {
    for (const spec of importsOf(file)) {
      const name = packageOf(spec)
      if (name !== null && !found.has(name)) found.set(name, file.slice(root.length + 1))
    }
  }
  return found
}

const rootManifest = readManifest(root)

test('import specifiers name their package', () => {
  assert.equal(packageOf('@libp2p/crypto/keys'), '@libp2p/crypto')
  assert.equal(packageOf('vega'), 'vega')
  assert.equal(packageOf('node:fs'), null)
  assert.equal(packageOf('../src/index.ts'), null)
})

for (const pkg of packages) {
  const dir = join(root, 'packages', pkg)
  const manifest = readManifest(dir)
  const runtime = { ...manifest.dependencies, ...manifest.optionalDependencies, ...manifest.peerDependencies }

  test(`${pkg}: what its source imports is in dependencies`, () => {
    const missing = [...importedPackages(runtimeDirs.map((d) => join(dir, d)))]
      .filter(([name]) => !(name in runtime))
      .map(([name, file]) => `${name} (${file})`)
    assert.deepEqual(missing, [])
  })

  test(`${pkg}: what its tests import is declared`, () => {
    const declared = { ...runtime, ...manifest.devDependencies, ...rootManifest.devDependencies }
    const missing = [...importedPackages(devDirs.map((d) => join(dir, d)))]
      .filter(([name]) => !(name in declared) && name !== `@murmur/${pkg}`)
      .map(([name, file]) => `${name} (${file})`)
    assert.deepEqual(missing, [])
  })
}
