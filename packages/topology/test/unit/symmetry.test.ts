import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  automorphismOrbits, chain, complete, defaultIds, graphFromEdges, isAutomorphism, labelledGraph, randomRegular, ring,
  star, torus, type Graph
} from '../../src/index.ts'

const edges = (n: number, list: Array<[number, number]>): Graph =>
  graphFromEdges(defaultIds(n), list.map((e) => e[0]), list.map((e) => e[1]))

const orbitsOf = (g: Graph, nodeValues?: number[]): ReturnType<typeof automorphismOrbits> =>
  automorphismOrbits(labelledGraph([{ graph: g }], nodeValues))

describe('automorphism orbits', () => {
  test('vertex-transitive graphs are one orbit', () => {
    const petersen = edges(10, [[0, 1], [1, 2], [2, 3], [3, 4], [4, 0], [0, 5], [1, 6], [2, 7], [3, 8], [4, 9], [5, 7], [7, 9], [9, 6], [6, 8], [8, 5]])
    for (const g of [ring(16), torus(4, 4), complete(6), petersen]) {
      const o = orbitsOf(g)
      assert.deepEqual([o.classes, o.orbits, o.complete], [1, 1, true])
      assert.ok(o.representative.every((r) => r === 0))
    }
  })

  test('paths pair mirror images; stars split hub and leaves', () => {
    assert.deepEqual(Array.from(orbitsOf(chain(9)).representative), [0, 1, 2, 3, 4, 3, 2, 1, 0])
    assert.deepEqual(Array.from(orbitsOf(star(6)).representative), [0, 1, 1, 1, 1, 1])
  })

  test('colour refinement merges nodes no automorphism relates; the search keeps them apart', () => {
    // A triangle beside a hexagon: 2-regular, so one colour class, but two orbits.
    const c3c6 = edges(9, [[0, 1], [1, 2], [2, 0], [3, 4], [4, 5], [5, 6], [6, 7], [7, 8], [8, 3]])
    const o = orbitsOf(c3c6)
    assert.deepEqual([o.classes, o.orbits, o.complete], [1, 2, true])
    assert.deepEqual(Array.from(o.representative), [0, 0, 0, 3, 3, 3, 3, 3, 3])
    // The Frucht graph: 3-regular with a trivial automorphism group.
    const frucht = edges(12, [[0, 1], [0, 2], [0, 11], [1, 3], [1, 6], [2, 5], [2, 10], [3, 4], [3, 6], [4, 8], [4, 11], [5, 9],
      [5, 10], [6, 7], [7, 8], [7, 9], [8, 9], [10, 11]])
    const f = orbitsOf(frucht)
    assert.deepEqual([f.classes, f.orbits, f.complete], [1, 12, true])
  })

  test('node colours and edge labels are part of the structure', () => {
    // One distinct node on a ring leaves only the reflection through it: i ↔ 6 − i (mod 16).
    const o = orbitsOf(ring(16), Array.from({ length: 16 }, (_, i) => i === 3 ? 0.2 : 0.1))
    for (let i = 0; i < 16; i++) assert.equal(o.representative[i], o.representative[(22 - i) % 16])
    assert.equal(o.orbits, 9)
    // A ring whose edge 0–1 weighs more: only the reflection swapping 0 and 1 remains.
    const g = ring(6)
    const values = Array.from(g.neighbors, (_, k) => {
      const i = g.offsets.findLastIndex((start) => start <= k)
      const j = g.neighbors[k]
      return (i === 0 && j === 1) || (i === 1 && j === 0) ? 2 : 1
    })
    const weighted = automorphismOrbits(labelledGraph([{ graph: g }, { graph: g, values }]))
    assert.deepEqual(Array.from(weighted.representative), [0, 0, 2, 3, 3, 2])
  })

  test('isAutomorphism checks colours and labelled edges', () => {
    const lg = labelledGraph([{ graph: ring(5) }])
    assert.ok(isAutomorphism(lg, [1, 2, 3, 4, 0]))
    assert.ok(isAutomorphism(lg, [0, 4, 3, 2, 1]))
    assert.ok(!isAutomorphism(lg, [1, 0, 2, 3, 4]))
    const coloured = labelledGraph([{ graph: ring(5) }], [1, 0, 0, 0, 0])
    assert.ok(!isAutomorphism(coloured, [1, 2, 3, 4, 0]))
  })

  test('a large graph without symmetry stops at its budget and pools nothing', () => {
    const o = orbitsOf(randomRegular(2000, 6, 3))
    assert.equal(o.classes, 1)
    assert.equal(o.orbits, 2000)
    assert.equal(o.complete, false)
  })
})
