#!/usr/bin/env bash
# `corral paths` on bench/paths.sh's cluster (5,000 nodes, 150,000 pods,
# 30,000 bindings) where 12,500 bindings bind groups (a namespace's
# accounts, or a team), against the same cluster with those names bound as
# users. Target: the group case within 1.5x of the user case's time and
# under 5 s (its graph is larger: every account of a namespace whose group
# is bound joins it). Prints each run's wall time and peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
mkdir -p target/bench
for subjects in user group; do
  cluster=target/bench/cluster-150k-$subjects.yaml
  [ -s "$cluster" ] || SUBJECTS=$subjects python3 bench/gen_cluster.py "$cluster" 5000 150000 30000
  for run in 1 2 3; do
    /usr/bin/time -f "$subjects subjects, run $run: %e s wall, %M KB peak RSS" \
      target/release/corral paths "$cluster" --from all-pods --to any-critical \
      --format json --quiet -o /dev/null || [ $? -eq 1 ] # 1: paths found
  done
done
