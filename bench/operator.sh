#!/usr/bin/env bash
# `corral operator run` against a simulated cluster in the stand-in API
# server (crates/corral-standin): 5,000 nodes, 150,000 pods, 2,000
# namespaces by default, a tenth of them recorded; the recorders'
# publishers apply one window of Recordings from every node, WINDOWS times.
# Per window: the operator's API requests by verb and bytes (the
# publishers' writes are counted apart), LISTs after the initial sync,
# reconciles (from the operator's /metrics when it serves them), its peak
# RSS, and the time from the window's start until every changed workload
# container's merged Recording holds the window's run (the stand-in's
# publishing time, shown, is part of it). Targets beside the numbers; the exit
# status is 1 when one is missed.
#
# Scale and pace (environment): NODES PODS NAMESPACES REPLICAS RECORDED
# (fraction of namespaces) CHANGED (fraction of recorded workload containers
# changed per window) WINDOWS WINDOW_SECONDS SYNC_TIMEOUT SYNC_QUIET (the
# operator's quiet seconds that end the initial sync, default 20); a smoke run:
#   NODES=50 PODS=1500 NAMESPACES=20 WINDOWS=2 WINDOW_SECONDS=15 bench/operator.sh
# Binaries: release builds of both unless CORRAL= and STANDIN= name them.
# Targets: REQUESTS_PER_CHANGED (default 20) and RSS_TARGET_MB (1024).
# The operator's metrics: see below (METRICS_URL, OPERATOR_ARGS).
set -euo pipefail
cd "$(dirname "$0")/.."

NODES=${NODES:-5000}
PODS=${PODS:-150000}
NAMESPACES=${NAMESPACES:-2000}
REPLICAS=${REPLICAS:-5}
RECORDED=${RECORDED:-0.1}
CHANGED=${CHANGED:-0.1}
WINDOWS=${WINDOWS:-3}
WINDOW_SECONDS=${WINDOW_SECONDS:-60}
SYNC_TIMEOUT=${SYNC_TIMEOUT:-900}
SYNC_QUIET=${SYNC_QUIET:-20}
REQUESTS_PER_CHANGED=${REQUESTS_PER_CHANGED:-20}
RSS_TARGET_MB=${RSS_TARGET_MB:-1024}

if [ -z "${CORRAL:-}" ] || [ -z "${STANDIN:-}" ]; then
  cargo build --release --locked -p corral -p corral-standin
  CORRAL=${CORRAL:-target/release/corral}
  STANDIN=${STANDIN:-target/release/corral-standin}
fi

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "simulating $NODES nodes, $PODS pods, $NAMESPACES namespaces (recorded $RECORDED, changed per window $CHANGED)"
"$STANDIN" --simulate --nodes "$NODES" --pods "$PODS" --namespaces "$NAMESPACES" \
  --replicas "$REPLICAS" --recorded "$RECORDED" --changed "$CHANGED" \
  --window-seconds "$WINDOW_SECONDS" --recordings examples/advise-demo/recordings \
  --kubeconfig "$work/kubeconfig" --ready-file "$work/ready" \
  >"$work/standin.out" 2>"$work/standin.err" &
standin_pid=$!
pids+=("$standin_pid")
for _ in $(seq 1 "$SYNC_TIMEOUT"); do
  [ -s "$work/ready" ] && break
  kill -0 "$standin_pid" 2>/dev/null || { cat "$work/standin.err" >&2; exit 2; }
  sleep 1
done
[ -s "$work/ready" ] || { echo "the stand-in was not ready in ${SYNC_TIMEOUT}s" >&2; exit 2; }
cat "$work/standin.err"

# Flags the operator may have: a metrics endpoint's address (the first
# `--metrics...` option its help lists, given 127.0.0.1:PORT), or
# METRICS_URL when it serves them elsewhere; OPERATOR_ARGS for the rest.
metrics="${METRICS_URL:-}"
args=(operator run --kubeconfig "$work/kubeconfig")
help="$("$CORRAL" operator run --help 2>&1 || true)"
flag="$(grep -o -- '--metrics[a-z-]*' <<<"$help" | head -n 1 || true)"
if [ -z "$metrics" ] && [ -n "$flag" ]; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  args+=("$flag" "127.0.0.1:$port")
  metrics="http://127.0.0.1:$port/metrics"
fi
# shellcheck disable=SC2206
args+=(${OPERATOR_ARGS:-})
"$CORRAL" "${args[@]}" >"$work/operator.out" 2>"$work/operator.err" &
operator_pid=$!
pids+=("$operator_pid")

status=0
python3 - "$(cat "$work/ready")" "$operator_pid" "$metrics" "$WINDOWS" "$WINDOW_SECONDS" \
  "$SYNC_TIMEOUT" "$REQUESTS_PER_CHANGED" "$RSS_TARGET_MB" "$work/operator.err" "$SYNC_QUIET" <<'EOF' || status=$?
import json, sys, time, urllib.request

ready, pid, metrics, windows, window_seconds, sync_timeout, per_changed, rss_target, operr, sync_quiet = sys.argv[1:]
sync_quiet = float(sync_quiet)
url = json.loads(ready)["url"]
windows, window_seconds, sync_timeout = int(windows), float(window_seconds), float(sync_timeout)
per_changed, rss_target = float(per_changed), float(rss_target)
VERBS = ["get", "list", "watch", "create", "update", "patch", "delete"]

def call(path, method="GET"):
    request = urllib.request.Request(url + path, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(request, timeout=600) as r:
        return json.loads(r.read())

def alive():
    try:
        with open(f"/proc/{pid}/status") as f:
            return "State:\tZ" not in f.read()
    except OSError:
        return False

def peak_mb():
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")

def reconciles():
    """The operator's reconcile count, from its /metrics, or None."""
    if not metrics:
        return None
    try:
        text = urllib.request.urlopen(metrics, timeout=5).read().decode()
    except OSError:
        return None
    total = None
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name = line.split("{")[0].split()[0]
        if "reconcil" in name and name.endswith("_total") and "error" not in name and "fail" not in name:
            total = (total or 0) + float(line.rsplit(None, 1)[-1])
    return total

def died():
    print("the operator exited; its last words:", file=sys.stderr)
    print("".join(open(operr).readlines()[-20:]), file=sys.stderr)
    sys.exit(2)

def by_verb(stats):
    counts = {v: 0 for v in VERBS}
    for row in stats["api"]:
        counts[row["verb"]] = counts.get(row["verb"], 0) + row["requests"]
    return counts

# The initial sync: window 0 converged, the Recordings watched, and the
# operator quiet (no request but its open watches) for SYNC_QUIET seconds,
# longer than its namespace debounce (15 s), so that the first
# NetworkPolicies written after the last merge count in the sync, not in
# window 1.
began = time.time()
quiet_since, lists, asked = None, -1, -1
while True:
    if not alive():
        died()
    stats = call("/standin/stats")
    verbs = by_verb(stats)
    now_lists = verbs["list"]
    now_asked = sum(n for v, n in verbs.items() if v != "watch")
    converged = call("/standin/converged", "POST")["converged"]
    watching = stats["watchesOpen"].get("recordings.corral.dev", 0) > 0
    if now_lists != lists or now_asked != asked:
        lists, asked, quiet_since = now_lists, now_asked, time.time()
    if converged and watching and time.time() - quiet_since >= sync_quiet:
        break
    if time.time() - began > sync_timeout:
        print(f"initial sync: not done in {sync_timeout:.0f} s", file=sys.stderr)
        sys.exit(2)
    time.sleep(0.5)
total = stats["total"]
print(f"initial sync: {time.time() - began:.1f} s, {total['requests']} requests "
      f"({lists} LIST), {total['bytesOut'] / 1e6:.1f} MB out, peak RSS {peak_mb():.0f} MB")
call("/standin/stats/reset", "POST")

missed = []
header = f"{'window':>6} {'changed':>7} {'publish':>8} {'converge':>9} " + " ".join(f"{v:>6}" for v in VERBS) + \
         f" {'MB in':>7} {'MB out':>8} {'reconciles':>10} {'RSS MB':>7}"
print(header)
before = reconciles()
for w in range(windows):
    start = time.time()
    summary = call("/standin/window", "POST")
    converge = None
    deadline = start + max(window_seconds * 3, 30)
    while time.time() < deadline:
        if not alive():
            died()
        if call("/standin/converged", "POST")["converged"]:
            converge = time.time() - start
            break
        time.sleep(0.2)
    # The rest of the window: requests count per window.
    time.sleep(max(0.0, start + window_seconds - time.time()))
    stats = call("/standin/stats")
    call("/standin/stats/reset", "POST")
    counts = by_verb(stats)
    after = reconciles()
    done = "n/a" if after is None or before is None else f"{after - before:.0f}"
    before = after
    rss = peak_mb()
    total = stats["total"]
    changed = summary["changed"]
    shown = "never" if converge is None else f"{converge:.1f}s"
    publish = f"{summary['milliseconds'] / 1000:.1f}s"
    print(f"{summary['window']:>6} {changed:>7} {publish:>8} {shown:>9} " + " ".join(f"{counts[v]:>6}" for v in VERBS) +
          f" {total['bytesIn'] / 1e6:>7.1f} {total['bytesOut'] / 1e6:>8.1f} {done:>10} {rss:>7.0f}")
    if counts["list"]:
        missed.append(f"window {summary['window']}: {counts['list']} LIST after the initial sync (target: none)")
    if converge is None or converge > window_seconds:
        missed.append(f"window {summary['window']}: converged in {shown} (target: within the window, {window_seconds:.0f} s)")
    if total["requests"] > per_changed * changed + 10:
        missed.append(f"window {summary['window']}: {total['requests']} requests for {changed} changed "
                      f"workload containers (target: at most {per_changed:.0f} per changed one, +10)")
    if not rss < rss_target:
        missed.append(f"window {summary['window']}: peak RSS {rss:.0f} MB (target: under {rss_target:.0f} MB)")
print(f"targets: no LIST after the initial sync; requests <= {per_changed:.0f} x changed + 10; "
      f"converged within {window_seconds:.0f} s; peak RSS < {rss_target:.0f} MB")
for m in missed:
    print("MISSED:", m)
sys.exit(1 if missed else 0)
EOF
exit "$status"
