#!/usr/bin/env bash
# Fuzz the loader (fuzz/fuzz_targets/load.rs) for SECONDS (default 300).
# Not part of CI. cargo-fuzz wants nightly flags; RUSTC_BOOTSTRAP lets the
# stable toolchain accept them. A failing input lands in fuzz/artifacts/load/:
# copy it to crates/corral-core/tests/fuzz-regressions/ with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
mkdir -p fuzz/corpus/load
cp -n fuzz/seeds/load/* fuzz/corpus/load/
RUSTC_BOOTSTRAP=1 cargo fuzz run load -- -max_total_time="$seconds"
