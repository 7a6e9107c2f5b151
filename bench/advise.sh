#!/usr/bin/env bash
# The seccomp profile of a typical server from a recording with its
# binaries: nginx (and its shared libraries: libc, libssl, libcrypto,
# libpcre2, libz...) recorded by `corral record`, which reads and analyses
# every executed binary; then `corral advise seccomp` (best and median of 10
# runs, target under a second) in mode reachable and in mode recorded.
# Needs root; installs Debian's nginx-light if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v nginx >/dev/null 2>&1 || { apt-get update -qq; apt-get install -y -qq nginx-light; }
cargo build --release --quiet
corral=$PWD/target/release/corral
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/logs"
cat > "$work/nginx.conf" <<CONF
pid $work/nginx.pid;
error_log $work/logs/error.log;
events {}
http { access_log $work/logs/access.log; server { listen 127.0.0.1:18080; root /usr/share/nginx/html; } }
CONF
echo "recording: nginx -t (its binaries read and analysed by the recorder), 5 runs"
python3 bench/measure.py 5 "$corral" record -o "$work/recording.json" -- nginx -t -c "$work/nginx.conf"
"$corral" record -o "$work/recording.json" -- nginx -t -c "$work/nginx.conf" >/dev/null 2>&1
python3 - "$work/recording.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
b = r.get("binaries", [])
print(f"binaries: {len(b)}, imports {sum(len(x.get('imports', [])) for x in b)}, recording {len(open(sys.argv[1]).read())} bytes")
PY
for mode in reachable recorded; do
  echo "advise seccomp --mode $mode, 10 runs:"
  python3 bench/measure.py 10 "$corral" advise seccomp --mode "$mode" --recording "$work/recording.json" -o "$work/profiles-$mode" --quiet
done
python3 - "$work"/profiles-*/ <<'PY'
import json, glob, sys
for d in sys.argv[1:]:
    for f in glob.glob(d + "*.report.json"):
        r = json.load(open(f))
        print(f"{d.rstrip('/').rsplit('-', 1)[1]}: allows {r['known'] - r['blocked']} of {r['known']}, blocks {r['blockedBeyondRuntimeDefault']} the runtime default allows, withholds {len(r.get('withheld', {}))} reachable attack-surface syscalls")
PY
