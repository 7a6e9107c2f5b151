#!/usr/bin/env bash
# The recorder's overhead, side by side with an empty program on the same
# hook: a getppid loop (and strace -f on it), and nginx serving wrk on
# loopback. Needs root; installs Debian's nginx-light, wrk and strace if
# they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=""
for pair in nginx:nginx-light wrk:wrk strace:strace; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing="$missing ${pair##*:}"
done
if [ -n "$missing" ]; then
  apt-get update -qq
  apt-get install -y -qq $missing
fi
# Debian's package starts nginx on port 80; the bench runs its own.
systemctl stop nginx >/dev/null 2>&1 || true
exec cargo bench -p corral-recorder --bench overhead
