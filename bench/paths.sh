#!/usr/bin/env bash
# `corral paths` on a synthetic cluster: 5,000 nodes, 150,000 pods, 30,000
# bindings, with its AWS account (3,000 IRSA roles, 5,000 instances); target:
# loaded, built, and each pod's shortest path to its nearest critical target
# found in under 5 s, peak RSS under 1 GB. Prints the graph's size and the phases' timings (--stats),
# then wall time and peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
cluster=target/bench/cluster-150k.yaml
cloud=target/bench/cloud-150k
mkdir -p target/bench
[ -s "$cluster" ] && [ -s "$cloud/iam.json" ] ||
  python3 bench/gen_cluster.py "$cluster" 5000 150000 30000 "$cloud"
for run in 1 2 3; do
  /usr/bin/time -f "run $run: %e s wall, %M KB peak RSS" \
    target/release/corral paths "$cluster" --cloud "$cloud"/*.json --from all-pods --to any-critical \
    --format json --stats --quiet -o /dev/null || [ $? -eq 1 ] # 1: paths found
done
