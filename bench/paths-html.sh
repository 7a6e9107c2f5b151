#!/usr/bin/env bash
# `corral paths --format html` on bench/paths.sh's cluster (5,000 nodes,
# 150,000 pods, 30,000 bindings, its AWS account), from every pod to any
# critical target: the page's generation (3 runs: wall time, peak RSS), its
# size, and in headless chromium (crates/corral-cli/tests/browser/drive.mjs,
# offline), 3 loads: the time from navigation to the graph drawn
# (data-ready), and from a click on the biggest group vertex to its paths
# in the details panel. Needs Debian's chromium and playwright-core, which
# scripts/test.sh installs (CORRAL_BROWSER_NODE_MODULES, default
# target/tools/browser/node_modules). CORRAL=BINARY measures another build
# instead of this tree's release build.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${CORRAL:-}" ]; then
  cargo build --release --quiet -p corral
  CORRAL=target/release/corral
fi
export CORRAL_BROWSER_NODE_MODULES="${CORRAL_BROWSER_NODE_MODULES:-$PWD/target/tools/browser/node_modules}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -e "$CORRAL_BROWSER_NODE_MODULES/playwright-core/package.json" ] || [ ! -x "$CHROMIUM" ]; then
  echo "playwright-core or chromium missing: run scripts/test.sh first (it installs both)" >&2
  exit 2
fi
cluster=target/bench/cluster-150k.yaml
cloud=target/bench/cloud-150k
mkdir -p target/bench
if [ ! -s "$cluster" ] || [ ! -s "$cloud/iam.json" ]; then
  python3 bench/gen_cluster.py "$cluster" 5000 150000 30000 "$cloud"
fi
page=target/bench/paths-150k.html
for run in 1 2 3; do
  /usr/bin/time -f "generation run $run: %e s wall, %M KB peak RSS" \
    "$CORRAL" paths "$cluster" --cloud "$cloud"/*.json --from all-pods --to any-critical \
    --format html --quiet -o "$page" || [ $? -eq 1 ] # 1: paths found
done
echo "page: $(stat -c %s "$page") bytes ($(gzip -c "$page" | wc -c) gzipped)"

# The browser in a network namespace of its own when that is possible.
net=()
unshare --net true 2>/dev/null && net=(unshare --net)
driver=crates/corral-cli/tests/browser/drive.mjs
scenario=$(mktemp -d)
trap 'rm -rf "$scenario"' EXIT
# The graph's size and its biggest group.
echo '[{"eval": "(() => { let big = cy.nodes()[0]; cy.nodes().forEach(n => { if (n.data(\"members\") > big.data(\"members\")) big = n; }); return {vertices: cy.nodes().length, edges: cy.edges().length, members: cy.nodes().reduce((s, n) => s + n.data(\"members\"), 0), id: big.id(), label: big.data(\"label\"), biggest: big.data(\"members\")}; })()"}]' \
  >"$scenario/graph.json"
"${net[@]}" node "$driver" "$page" "$scenario/graph.json" >"$scenario/graph.out"
python3 - "$scenario/graph.out" >"$scenario/click.json" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
assert not report["errors"], report["errors"]
graph = report["results"][0]["value"]
print(f"graph: {graph['vertices']:,} vertices drawn for {graph['members']:,}, {graph['edges']:,} edges; "
      f"biggest group: {graph['label']} ({graph['biggest']:,} members)", file=sys.stderr)
print(json.dumps([{"clickVertex": graph["id"]}, {"waitFor": "#details ol.paths > li.path"},
                  {"count": "#details ol.paths > li.path"}]))
EOF
for run in 1 2 3; do
  "${net[@]}" node "$driver" "$page" "$scenario/click.json" >"$scenario/run.out"
  python3 - "$scenario/run.out" "$run" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
problems = report["errors"] + report["requests"] + [m for m in report["console"] if m["type"] in ("error", "warning")]
assert not problems, problems
steps = report["results"]
assert all("error" not in s for s in steps), steps
print(f"browser run {sys.argv[2]}: {report['load_ms']:.0f} ms to the graph drawn, "
      f"{steps[1]['value']:.0f} ms from a click on the biggest group to its paths listed ({steps[2]['value']} shown)")
EOF
done
