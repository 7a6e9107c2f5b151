#!/usr/bin/env bash
# Fuzz Corral's input handling: every target in fuzz/fuzz_targets (or those
# named after SECONDS) for SECONDS each (default 300), from its committed
# seeds in fuzz/seeds. scripts/test.sh runs it for a short time on every
# run; long campaigns run it by hand (`bench/fuzz.sh 3600`), and the README
# records the hours each target has run without a crash.
#
# cargo-fuzz wants nightly flags; RUSTC_BOOTSTRAP lets the stable toolchain
# accept them (AddressSanitizer's runtime ships with stable). A crash fails
# the run; its input lands in fuzz/artifacts/TARGET/: add it to the seeds
# (or the crate's regression tests) with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
shift || true
fuzz_version=0.13.2
if ! cargo fuzz --version 2>/dev/null | grep -q " $fuzz_version\$"; then
  cargo install --locked --quiet cargo-fuzz --version "$fuzz_version"
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=($(cd fuzz/fuzz_targets && ls ./*.rs | sed 's|^\./||; s|\.rs$||' | grep -vx common))
fi
seeds_of() { # the committed seed folder a target starts from
  case "$1" in
    recording | cloud | escape | baseline | elf) echo "fuzz/seeds/$1" ;;
    *) echo fuzz/seeds/manifests ;;
  esac
}
export RUSTC_BOOTSTRAP=1
logs=fuzz/target/logs
mkdir -p "$logs"
(cd fuzz && cargo fuzz build)
for target in "${targets[@]}"; do
  # New inputs the fuzzer finds go to fuzz/corpus (not committed); the
  # seeds are read, never written.
  corpus="fuzz/corpus/$target"
  mkdir -p "$corpus"
  start=$(date +%s)
  (cd fuzz && cargo fuzz run "$target" "../$corpus" "../$(seeds_of "$target")" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1) 2> "$logs/$target.log" \
    || { tail -n 40 "$logs/$target.log"; echo "fuzz: $target FAILED (log: $logs/$target.log)"; exit 1; }
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$logs/$target.log" | grep -o '[0-9]*$' || echo "?")
  echo "fuzz: $target ok, $runs inputs in $(( $(date +%s) - start )) s, no crash"
done
