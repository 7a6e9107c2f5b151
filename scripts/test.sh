#!/usr/bin/env bash
# Corral's whole test suite. Installs what the tests need first (idempotent),
# so it runs the same on a fresh Debian/Ubuntu machine with Rust and in CI.
set -euo pipefail
cd "$(dirname "$0")/.."

# rustfmt and clippy come with rustup's default profile; add them if missing.
if command -v rustup >/dev/null 2>&1; then
  for component in rustfmt clippy; do
    rustup component list --installed 2>/dev/null | grep -q "^$component" || rustup component add "$component"
  done
fi

# Debian packages the tests use: clang, llvm and bpftool (its static linker)
# rebuild the BPF objects to check them against their sources, libbpf-dev and
# linux-libc-dev give the headers, strace is the reference the recorder's
# syscalls are checked against, runc, busybox-static and iproute2 make the
# real containers and network namespaces the recorder is tested on, setcap
# (libcap2-bin) gives a program file capabilities, kubectl (Debian's
# kubernetes-client) runs Corral as a plugin, shellcheck checks the
# scripts of workflow steps for jactionlint. Real servers (redis,
# memcached, PostgreSQL, nginx, lighttpd) and their clients (curl) are what
# advised policies are proven on (crates/corral-cli/tests/apps.rs). umoci
# and jq build the container image (scripts/image.sh), binutils' strip and
# readelf shrink and inspect the binary it holds (tests/image.rs). chromium
# opens the HTML page of attack paths (crates/corral-cli/tests/paths_html.rs).
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
missing=""
for pair in clang:clang llvm-strip:llvm bpftool:bpftool strace:strace npm:npm runc:runc \
  ip:iproute2 setcap:libcap2-bin shellcheck:shellcheck redis-server:redis-server \
  memcached:memcached nginx:nginx-light lighttpd:lighttpd curl:curl gzip:gzip \
  umoci:umoci jq:jq strip:binutils kubectl:kubernetes-client chromium:chromium; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing="$missing ${pair##*:}"
done
[ -e /usr/include/bpf/bpf_helpers.h ] || missing="$missing libbpf-dev"
[ -e /usr/include/x86_64-linux-gnu/asm/unistd_64.h ] || missing="$missing linux-libc-dev"
dpkg -s busybox-static >/dev/null 2>&1 || missing="$missing busybox-static"
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || missing="$missing postgresql"
# musl and musl-gcc: corral-reach's musl table and the programs it is checked on.
dpkg -s musl-tools >/dev/null 2>&1 || missing="$missing musl musl-tools"
python3 -c "import venv, ensurepip" >/dev/null 2>&1 || missing="$missing python3-venv"
if [ -n "$missing" ]; then
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq $missing
fi

# kubectl runs Corral as a plugin (crates/corral-cli/tests/kubectl.rs):
# Debian's kubernetes-client, or the kubectl already installed.
KUBECTL="$(command -v kubectl)"
export KUBECTL

# Microsoft's SARIF Multitool checks the SARIF Corral writes. It comes from
# npm as a self-contained binary; installed once into target/tools.
tools="$PWD/target/tools"
multitool="$tools/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
if [ ! -e "$multitool" ]; then
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-audit --no-fund --silent @microsoft/sarif-multitool@5.7.0
fi
chmod u+x "$multitool"
export SARIF_MULTITOOL="$tools/node_modules/.bin/sarif-multitool"

# The browser driver of the HTML page's tests (crates/corral-cli/tests/browser):
# playwright-core, pinned by its package-lock.json, drives Debian's chromium;
# it never downloads a browser of its own.
browser_src=crates/corral-cli/tests/browser
browser="$tools/browser"
if [ ! -e "$browser/node_modules/playwright-core/package.json" ] ||
  ! cmp -s "$browser_src/package-lock.json" "$browser/package-lock.json"; then
  mkdir -p "$browser"
  cp "$browser_src/package.json" "$browser_src/package-lock.json" "$browser/"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$browser" --no-audit --no-fund --silent
fi
export CORRAL_BROWSER_NODE_MODULES="$browser/node_modules"
export CHROMIUM=/usr/bin/chromium

# The npm tarballs of the files vendored in crates/corral-paths/assets/vendor
# (vendor.json): npm pack checks each download against the registry's
# integrity; crates/corral-paths/tests/vendored.rs checks the vendored files.
# The packages and versions are vendor.json's own.
npm_tarballs="$tools/npm"
vendor=crates/corral-paths/assets/vendor/vendor.json
mkdir -p "$npm_tarballs"
jq -r '.packages[] | "\(.tarball) \(.name)@\(.version)"' "$vendor" | while read -r tarball spec; do
  [ -e "$npm_tarballs/$tarball" ] || npm pack --silent "$spec" --pack-destination "$npm_tarballs" >/dev/null
done
export CORRAL_NPM_TARBALLS="$npm_tarballs"

# From PyPI, into a virtual environment in target/tools: pre-commit runs
# Corral's hook in a test; CycloneDX's Python library validates the SBOM
# against the CycloneDX schema; jactionlint (actionlint's checks, and actions
# pinned by SHA) checks the workflows.
python_tools=(pre-commit==4.3.0 "cyclonedx-python-lib[json-validation]==11.12.0" jactionlint==2.3.0)
if [ ! -e "$tools/venv/installed" ] || [ "$(cat "$tools/venv/installed")" != "${python_tools[*]}" ]; then
  [ -x "$tools/venv/bin/pip" ] || python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install --quiet --disable-pip-version-check "${python_tools[@]}"
  echo "${python_tools[*]}" > "$tools/venv/installed"
fi
export PRE_COMMIT="$tools/venv/bin/pre-commit"
export CYCLONEDX_PYTHON="$tools/venv/bin/python"
export JACTIONLINT="$tools/venv/bin/jactionlint"

# Helm v4 itself, as helm-sdkpy bundles its Go library (PyPI, Apache-2.0):
# lints and renders deploy/chart/corral (crates/corral-cli/tests/deploy.rs).
# It declares Python 3.12 but runs on this machine's 3.11.
helm_sdkpy="helm-sdkpy==0.1.32"
if [ ! -e "$tools/venv/helm-installed" ] || [ "$(cat "$tools/venv/helm-installed")" != "$helm_sdkpy" ]; then
  [ -x "$tools/venv/bin/pip" ] || python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install --quiet --disable-pip-version-check --ignore-requires-python "$helm_sdkpy"
  echo "$helm_sdkpy" > "$tools/venv/helm-installed"
fi
export HELM_PYTHON="$tools/venv/bin/python"

cargo fmt --all -- --check
cargo fmt --all --manifest-path fuzz/Cargo.toml -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

# Corral's own supply chain (deny.toml), and the SBOM tool the tests use.
bash scripts/supply-chain.sh
bash scripts/sbom.sh >/dev/null

# Every fuzz target, briefly, from its committed seeds (bench/fuzz.sh runs
# long campaigns).
bash bench/fuzz.sh "${FUZZ_SECONDS:-30}"

cargo test --workspace --locked
