#!/bin/sh
# Regenerates the example topologies in topologies/ with the murmur command line.
# Every generator is seeded, so running this again reproduces the committed files byte for byte.
set -eu
cd "$(dirname "$0")/.."
NODE="${NODE:-node_modules/.bin/node}"
gen () { "$NODE" packages/cli/bin/murmur.ts topology generate "$@"; }
out=topologies

gen ring --n 8 --byzantine-model cascade --cascade-seed 0.05 --cascade-spread 0.5 \
  --description "Smallest ring: slow mixing, 2 neighbours per node; cascade μ_H along the ring" -o $out/ring-8.json
gen ring --n 16 --byzantine-model independent --byzantine-p 0.1 \
  --description "16-node ring with independent Byzantine nodes (p = 0.1): the uncorrelated baseline" -o $out/ring-16.json
gen torus --rows 4 --cols 4 --byzantine-model ising --ising-beta 0.3 --ising-h -1 \
  --description "4x4 torus (4-regular) with an Ising μ_H: neighbouring nodes tend to fail together" -o $out/torus-4x4.json
gen complete --n 8 --byzantine-model independent --byzantine-p 0.1 \
  --description "Complete graph: the server-like setting, rho = 0; f_i follows Binomial(7, 0.1)" -o $out/complete-8.json
gen erdos-renyi --n 32 --p 0.15 --seed 1 --byzantine-model gaussian --gaussian-tau 1 --byzantine-p 0.1 \
  --description "Erdos-Renyi G(32, 0.15) with a Gaussian-copula μ_H (each node Byzantine with p = 0.1)" -o $out/er-32.json
gen regular --n 64 --k 6 --seed 1 --byzantine-model worst-case --worst-f 6 --worst-strategy greedy \
  --description "Random 6-regular expander with a worst-case adversary placing f = 6 nodes greedily" -o $out/regular-64.json
gen small-world --n 64 --k 4 --beta 0.1 --seed 1 --byzantine-model cascade --cascade-seed 0.03 --cascade-spread 0.2 \
  --description "Watts-Strogatz small world (k = 4, beta = 0.1) with a cascade μ_H" -o $out/small-world-64.json
gen dumbbell --n 20 --byzantine-model independent --byzantine-p 0.1 \
  --description "Two 10-cliques joined by one bridge: a mixing bottleneck (tiny spectral gap)" -o $out/dumbbell-20.json
gen sbm --n 24 --communities 3 --p-in 0.6 --p-out 0.05 --seed 1 --byzantine-model cascade --cascade-seed 0.03 --cascade-spread 0.15 \
  --name clusters-24 \
  --description "Three 8-node communities (shared operators or data sources); Byzantine behaviour cascades inside them" -o $out/clusters-24.json
gen malicious-ring --honest 5 --per-node 2 --extra 1 \
  --description "MaliciousRing (ClippedGossip): 5 honest nodes in a ring, 2 Byzantine leaves each, one more on p0 = 16 nodes" -o $out/malicious-ring-16.json
