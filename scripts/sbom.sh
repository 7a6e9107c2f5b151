#!/usr/bin/env bash
# Corral's SBOM: CycloneDX 1.5 JSON of the `corral` binary for one target
# (default x86_64-unknown-linux-gnu), every crate it links with its version,
# licence, purl and Cargo.lock's SHA-256. Written to $1 (default
# target/sbom/corral.cdx.json). Reproducible: the timestamp is the commit's
# (SOURCE_DATE_EPOCH), and bom-refs name the workspace as
# path+file:///corral instead of this checkout's path.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-target/sbom/corral.cdx.json}"
target="${2:-x86_64-unknown-linux-gnu}"
cyclonedx_version=0.5.9
if ! cargo cyclonedx --version 2>/dev/null | grep -q " $cyclonedx_version\$"; then
  cargo install --locked --quiet cargo-cyclonedx --version "$cyclonedx_version"
fi
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}"
cargo cyclonedx --quiet --manifest-path crates/corral-cli/Cargo.toml --format json \
  --spec-version 1.5 --describe binaries --target "$target"
generated=crates/corral-cli/corral_bin.cdx.json
mkdir -p "$(dirname "$out")"
sed "s|path+file://$PWD/|path+file:///corral/|g" "$generated" > "$out"
rm "$generated"
echo "$out"
