#!/usr/bin/env bash
# Corral's own supply chain, judged by deny.toml: licences, bans (duplicate
# and wildcard dependencies), sources (crates.io only) and advisories
# (RustSec, plus crates yanked from crates.io). cargo-deny is installed from
# crates.io at a pinned version if missing.
#
# The advisories check needs the RustSec advisory database, a git repository
# that cargo-deny and cargo-audit clone. Where it can be fetched, both
# cargo-deny's advisories check and cargo-audit (installed the same way) must
# pass. Where it cannot (this project's own machines reach only the package
# registries), cargo-deny and cargo-audit check against the snapshot in
# ../shared/rustsec (a git bundle; the output names its date), which must
# pass too.
set -euo pipefail
cd "$(dirname "$0")/.."
deny_version=0.20.2
audit_version=0.22.1
if ! cargo deny --version 2>/dev/null | grep -q " $deny_version\$"; then
  cargo install --locked --quiet cargo-deny --version "$deny_version"
fi
cargo deny --locked check bans licenses sources

# cargo-audit against the advisory database at $1 (a clone; never fetched
# here), with any further arguments: any vulnerability fails it.
audit() {
  if ! cargo audit --version 2>/dev/null | grep -q " $audit_version\$"; then
    cargo install --locked --quiet cargo-audit --version "$audit_version"
  fi
  cargo audit --no-fetch --db "$@"
}

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if cargo deny --locked check advisories >"$log" 2>&1; then
  cat "$log"
  db="$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/advisory-dbs/advisory-db-* | head -n 1)"
  audit "$db"
elif grep -q "failed to fetch advisory database" "$log"; then
  grep -m 1 "failed to fetch" "$log" | cut -c 1-200 >&2
  # The offline snapshot in ../shared/rustsec (a git bundle of the
  # database), checked as cargo-deny would check the live one, and said so.
  bundle=../shared/rustsec/advisory-db.bundle
  if [ -e "$bundle" ]; then
    db="$(mktemp -d)"
    trap 'rm -f "$log"; rm -rf "$db"' EXIT
    git clone -q -b main "$bundle" "$db/advisory-db-3157b0e258782691"
    snapshot="$(git -C "$db/advisory-db-3157b0e258782691" log -1 --format=%cs)"
    sed "s|^\[advisories\]\$|[advisories]\ndb-path = \"$db\"|" deny.toml > "$db/deny.toml"
    cargo deny --offline --locked --config "$db/deny.toml" check advisories
    # cargo-audit on the same snapshot, which cannot change under us: any
    # advisory (vulnerable, unsound, unmaintained or yanked) fails it.
    audit "$db/advisory-db-3157b0e258782691" --deny warnings
    echo "supply-chain: advisories checked (cargo-deny and cargo-audit) against the RustSec snapshot of $snapshot ($bundle), not the live database" >&2
  elif [ "${CI:-}" = true ]; then
    echo "supply-chain: CI has ../shared, but $bundle is missing" >&2
    exit 1
  else
    echo "supply-chain: ADVISORIES NOT CHECKED: the RustSec advisory database cannot be fetched from this machine, and ../shared/rustsec is not here" >&2
  fi
else
  cat "$log" >&2
  exit 1
fi
