#!/usr/bin/env bash
# `corral scan` against checkov on the same files (../shared/corpus by
# default): wall time and peak RSS of each, and the ratio. checkov 3.3.30
# (PyPI, the version ../shared/notes/ci-scanners.md measured) is installed
# once into target/tools/checkov. BC_SKIP_MAPPING keeps checkov off the
# network (it otherwise tries to reach the Prisma API).
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="${1:-../shared/corpus}"
runs="${RUNS:-5}"
venv=target/tools/checkov
if [ ! -x "$venv/bin/checkov" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check checkov==3.3.30
fi
cargo build --release --quiet -p corral
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
measure() { # label command...: best wall seconds and peak RSS over $runs runs
  local label="$1"; shift
  local best="" rss=0
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %M" -o "$out/time" "$@" >/dev/null 2>&1 || true
    read -r wall kb < <(tail -n 1 "$out/time")  # after "Command exited with non-zero status N"
    if [ -z "$best" ] || awk "BEGIN{exit !($wall < $best)}"; then best="$wall"; fi
    [ "$kb" -gt "$rss" ] && rss="$kb"
  done
  echo "$label $best $rss"
}
corral=$(measure corral target/release/corral scan "$corpus" --format json --output "$out/corral.json")
runs=1 # checkov takes about a minute a run
checkov=$(BC_SKIP_MAPPING=TRUE measure checkov "$venv/bin/checkov" -d "$corpus" --framework kubernetes -o json --quiet)
read -r _ c_wall c_rss <<<"$corral"
read -r _ k_wall k_rss <<<"$checkov"
printf 'corral scan   %8.2f s  %6d MB peak RSS (best of %s)\n' "$c_wall" "$((c_rss / 1024))" "${RUNS:-5}"
printf 'checkov       %8.2f s  %6d MB peak RSS (one run)\n' "$k_wall" "$((k_rss / 1024))"
awk "BEGIN{printf \"corral is %.0fx faster (target: 400x, under 50 MB)\\n\", $k_wall / $c_wall}"
