// Every test file sits in a tier folder, so the tier scripts together run all of them:
// test/unit, test/e2e (repo level and per package) and packages/bench/test/bench.
import assert from 'node:assert/strict'
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { test } from 'node:test'

const root = join(import.meta.dirname, '..', '..')

function testFiles (dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : testFiles(path)
    return name.endsWith('.test.ts') ? [relative(root, path)] : []
  })
}

const TIERS = [/^test\/(unit|e2e)\/[^/]+\.test\.ts$/, /^packages\/[^/]+\/test\/(unit|e2e)\/[^/]+\.test\.ts$/, /^packages\/bench\/test\/bench\/[^/]+\.test\.ts$/]

test('every test file sits in a tier folder the test scripts run', () => {
  const packages = readdirSync(join(root, 'packages')).map((name) => join(root, 'packages', name, 'test'))
  const files = [join(root, 'test'), ...packages].filter((dir) => statSync(dir, { throwIfNoEntry: false })?.isDirectory() === true).flatMap(testFiles)
  assert.ok(files.length > 50, `${files.length} test files found`)
  assert.deepEqual(files.filter((file) => !TIERS.some((tier) => tier.test(file))), [])
})
