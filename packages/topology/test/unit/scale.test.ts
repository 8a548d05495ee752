import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  algebraicConnectivity, createByzantineSampler, degreeStats, diameter, generateTopology, metropolisHastings,
  mixingSpectrum, nodeTolerances, parseTopology, formatTopology, topologyGraph
} from '../../src/index.ts'

// The one large test: a 10,000-node random 8-regular graph through the whole library path the
// `inspect` command takes. Budget on a quiet machine: a few seconds.
test('10,000-node random 8-regular graph: file round trip, ρ, λ₂(L), diameter, f_i', { timeout: 120_000 }, () => {
  const topology = generateTopology('regular', { n: 10_000, k: 8, seed: 1, byzantine: { model: 'cascade', seed: 0.01, spread: 0.1 } })
  const graph = topologyGraph(parseTopology(formatTopology(topology)))
  assert.equal(graph.n, 10_000)
  assert.equal(graph.m, 40_000)
  assert.deepEqual(degreeStats(graph), { min: 8, max: 8, mean: 8, median: 8, std: 0 })

  // MH weights on a k-regular graph are W = (I + A)/(k + 1), and L = kI − A, so
  // λ₂(L) = (k + 1)(1 − λ₂(W)): two independent Lanczos runs must agree.
  const spectrum = mixingSpectrum(metropolisHastings(graph))
  assert.ok(spectrum.converged)
  // Friedman: λ₂(A) ≈ 2√(k − 1) for random k-regular graphs, so λ₂(W) ≈ (1 + 2√7)/9 ≈ 0.699.
  assert.ok(Math.abs(spectrum.lambda2 - (1 + 2 * Math.sqrt(7)) / 9) < 0.02, `λ₂(W) = ${spectrum.lambda2}`)
  assert.equal(spectrum.rho, Math.max(spectrum.lambda2, -spectrum.lambdaMin))
  const fiedler = algebraicConnectivity(graph)
  assert.ok(Math.abs(fiedler.value - 9 * (1 - spectrum.lambda2)) < 1e-6, `${fiedler.value} vs ${9 * (1 - spectrum.lambda2)}`)

  const diam = diameter(graph)
  assert.equal(diam.exact, true)
  assert.ok(diam.diameter >= 5 && diam.diameter <= 8, `diameter ${diam.diameter}`)

  const report = nodeTolerances(graph, createByzantineSampler(topology.byzantine!, graph, { seed: 2 }), { samples: 300 })
  assert.equal(report.nodes.length, 10_000)
  assert.equal(report.histogram.reduce((a, b) => a + b, 0), 10_000)
})
