import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { describe, test } from 'node:test'
import * as tf from '@tensorflow/tfjs'
import { initBackend, LearnInputError, wasmDistDirectory } from '../../src/index.ts'

const noNative = async (): Promise<never> => { throw new Error('Cannot find package @tensorflow/tfjs-node') }

describe('backend selection', () => {
  test('the wasm binaries are found next to the installed tfjs-backend-wasm', () => {
    const dir = wasmDistDirectory()
    for (const file of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm']) {
      assert.ok(existsSync(dir + file), `${file} missing in ${dir}`)
    }
  })

  test('without a native backend the order falls through to wasm and says why', async () => {
    const lines: string[] = []
    const name = await initBackend({ env: {}, importNative: noNative, log: (l) => lines.push(l) })
    assert.equal(name, 'wasm')
    assert.equal(tf.getBackend(), 'wasm')
    assert.equal(lines.length, 1)
    assert.match(lines[0], /^backend: wasm \(SIMD, single thread\)/)
    assert.match(lines[0], /skipped tensorflow: @tensorflow\/tfjs-node is not installed/)
  })

  test('MURMUR_BACKEND forces a backend', async () => {
    const lines: string[] = []
    assert.equal(await initBackend({ env: { MURMUR_BACKEND: 'cpu' }, log: (l) => lines.push(l) }), 'cpu')
    assert.equal(tf.getBackend(), 'cpu')
    assert.deepEqual(lines, ['backend: cpu (forced)'])
  })

  test('the backend parameter wins over the environment variable', async () => {
    assert.equal(await initBackend({ backend: 'wasm', env: { MURMUR_BACKEND: 'cpu' } }), 'wasm')
    assert.equal(tf.getBackend(), 'wasm')
  })

  test('a forced backend that cannot start is an error, not a silent fallback', async () => {
    await assert.rejects(initBackend({ backend: 'tensorflow', importNative: noNative }), (err: unknown) => {
      assert.ok(err instanceof LearnInputError)
      assert.equal(err.code, 'backend-unavailable')
      assert.match(err.message, /tensorflow.*@tensorflow\/tfjs-node/)
      return true
    })
    assert.equal(tf.getBackend(), 'wasm', 'the previous backend stays active')
  })

  test('an unknown backend name is rejected with the valid names', async () => {
    await assert.rejects(initBackend({ env: { MURMUR_BACKEND: 'gpu' } }), /MURMUR_BACKEND: unknown backend 'gpu', expected one of tensorflow, wasm, cpu/)
    await assert.rejects(initBackend({ backend: 'webgl' }), /backend option: unknown backend 'webgl'/)
  })

  test('a native backend that loads is preferred over wasm', async () => {
    // Stand-in for @tensorflow/tfjs-node: registers a backend under the name 'tensorflow'.
    const fakeNative = async (): Promise<void> => {
      const cpuFactory = tf.findBackendFactory('cpu')
      assert.ok(cpuFactory !== null)
      tf.registerBackend('tensorflow', cpuFactory, 3)
    }
    try {
      assert.equal(await initBackend({ env: {}, importNative: fakeNative }), 'tensorflow')
      assert.equal(tf.getBackend(), 'tensorflow')
    } finally {
      tf.removeBackend('tensorflow')
      await tf.setBackend('wasm')
    }
  })
})
