#!/usr/bin/env bash
# The pre-commit hook (`.pre-commit-hooks.yaml`): build Corral from this
# checkout once (pre-commit keeps it in its cache), then scan the files
# pre-commit passes, from the user's working directory.
# CORRAL_HOOK_PROFILE picks the cargo profile (default release);
# CORRAL_HOOK_BIN runs an already built corral instead of building one.
set -euo pipefail
if [ -n "${CORRAL_HOOK_BIN:-}" ]; then
  exec "$CORRAL_HOOK_BIN" scan "$@"
fi
repo="$(cd "$(dirname "$0")/.." && pwd)"
profile="${CORRAL_HOOK_PROFILE:-release}"
cargo build --quiet --locked --profile "$profile" --manifest-path "$repo/Cargo.toml" -p corral
target="${CARGO_TARGET_DIR:-$repo/target}"
dir="$profile"
[ "$profile" = dev ] && dir=debug
exec "$target/$dir/corral" scan "$@"
