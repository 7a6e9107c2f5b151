#!/usr/bin/env bash
# `corral drift --cloud` on a generated cluster and AWS account of 20,000
# IRSA roles (bench/gen_drift.py; ROLES to change it), against `corral
# paths --cloud` on the same files: drift must run in the same order of
# time. 3 runs of each: wall time and peak RSS, and drift's finding count.
# CORRAL=BINARY measures another build (e.g. an older commit's) instead of
# this tree's release build.
set -euo pipefail
cd "$(dirname "$0")/.."
roles=${ROLES:-20000}
if [ -z "${CORRAL:-}" ]; then
  cargo build --release --quiet -p corral
  CORRAL=target/release/corral
fi
dir=target/bench/drift-$roles
mkdir -p target/bench
[ -s "$dir/iam.json" ] || python3 bench/gen_drift.py "$dir" "$roles"
cloud=("$dir"/cluster.json "$dir"/iam.json "$dir"/instances.json)
echo "findings: $({ "$CORRAL" drift "$dir/cluster.yaml" --cloud "${cloud[@]}" --format json --quiet || true; } |
  python3 -c 'import json,sys; print(len(json.load(sys.stdin)["findings"]))')"
for run in 1 2 3; do
  /usr/bin/time -f "drift run $run: %e s wall, %M KB peak RSS" \
    "$CORRAL" drift "$dir/cluster.yaml" --cloud "${cloud[@]}" --format json --quiet -o /dev/null || [ $? -eq 1 ]
done
for run in 1 2 3; do
  /usr/bin/time -f "paths run $run: %e s wall, %M KB peak RSS" \
    "$CORRAL" paths "$dir/cluster.yaml" --cloud "${cloud[@]}" --format json --quiet -o /dev/null || [ $? -eq 1 ]
done
