#!/usr/bin/env bash
# Corral's benchmarks against the targets their issues name. Timings are
# measured here, never asserted in `cargo test`.
#   bench/run.sh            the whole binary on the corpus and a 200 MB file
#   cargo bench             criterion micro-benchmarks (crates/*/benches)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
corral=target/release/corral
big=target/bench/deployments-100k.yaml
mkdir -p target/bench
[ -s "$big" ] || python3 bench/gen_deployments.py "$big" 100000

echo "== corral inventory ../shared/corpus (target: < 0.25 s wall)"
if [ -d ../shared/corpus ]; then
  python3 bench/measure.py 10 "$corral" inventory ../shared/corpus --quiet
else
  echo "skipped: ../shared/corpus is not present"
fi

# Exit status 2: three corpus objects hold placeholders where numbers belong.
echo "== corral pss ../shared/corpus (target: < 0.3 s wall)"
if [ -d ../shared/corpus ]; then
  python3 bench/measure.py 10 "$corral" pss ../shared/corpus --quiet
else
  echo "skipped: ../shared/corpus is not present"
fi

# The PSP issue names no target; the planner applies every usable PSP to
# every workload, evaluates it twice and writes its patch.
echo "== corral psp plan ../shared/corpus (no target named)"
if [ -d ../shared/corpus ]; then
  python3 bench/measure.py 10 "$corral" psp plan ../shared/corpus --format json --quiet
else
  echo "skipped: ../shared/corpus is not present"
fi
echo "== corral psp plan on 100,000 Deployments under examples/psp-migration's PSPs and RBAC (no target named)"
python3 bench/measure.py 3 "$corral" psp plan "$big" examples/psp-migration/psps.yaml examples/psp-migration/rbac.yaml --format json --quiet

echo "== corral inventory on 100,000 Deployments, $(du -m "$big" | cut -f1) MB (target: < 3 s wall, < 1 GB peak RSS)"
python3 bench/measure.py 3 "$corral" inventory "$big" --quiet
