#!/usr/bin/env bash
# Corral's container image: a reproducible OCI image of the `corral` binary,
# built with Debian's umoci (installed here if missing, with jq and
# binutils), named and tagged as the chart's values.yaml says
# (image.repository:image.tag).
#
#   scripts/image.sh [OUT]       # default OUT: target/image
#
# Writes OUT/REPOSITORY (an OCI image layout holding the tag),
# OUT/REPOSITORY-TAG.oci.tar (the same layout as an oci-archive) and
# OUT/REPOSITORY.cdx.json (the CycloneDX SBOM of scripts/sbom.sh, whose
# SHA-256 the image manifest names in its dev.corral.sbom.sha256
# annotation). Prints the image's manifest digest.
#
# The image holds the binary as /corral, the ELF interpreter and the shared
# libraries it links (found with ldd, copied from this system) and nothing
# else: no shell, no package manager, no CA certificates (in a pod, Corral
# trusts the service account's CA). It runs as user 65532 by default; the
# recorder's DaemonSet sets runAsUser 0. Entrypoint: /corral.
#
# Reproducible: the same binary and commit give the same digest. Every time
# is SOURCE_DATE_EPOCH (the last commit's), every owner 0:0, entries sorted,
# modes fixed. CORRAL_BIN names the binary to package (by default a release
# build, made here); tests pass a debug build.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-target/image}"

sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
missing=()
for pair in umoci:umoci jq:jq readelf:binutils; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair##*:}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${missing[@]}"
fi

export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}"
created="$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)"

# The chart's image reference: the single source of the name and tag.
values=deploy/chart/corral/values.yaml
read -r repository tag < <(awk '
  /^image:/ { inside = 1; next }
  /^[^ #]/ { inside = 0 }
  inside && $1 == "repository:" { repository = $2 }
  inside && $1 == "tag:" { tag = $2 }
  END { print repository, tag }' "$values")
if ! [[ "$repository" =~ ^[a-z0-9._/-]+$ && "$tag" =~ ^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$ ]]; then
  echo "$values: image.repository ($repository) or image.tag ($tag) is missing or not a plain image name and tag" >&2
  exit 1
fi
name="${repository##*/}"

binary="${CORRAL_BIN:-}"
if [ -z "$binary" ]; then
  cargo build --release --locked -p corral --bin corral >&2
  binary=target/release/corral
fi
[ -x "$binary" ] || { echo "$binary: not an executable" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
mkdir -p "$rootfs"
install -m 0755 "$binary" "$rootfs/corral"

# The ELF interpreter and every shared library, at the paths the loader
# looks for them (ldd resolves them as on this system; symbolic links are
# copied as the files they name). A static binary needs none.
libraries=""
if readelf --program-headers "$binary" | grep "program interpreter" >/dev/null; then
  libraries="$(ldd "$binary" | awk '
    $2 == "=>" && $3 ~ /^\// { print $3; next }
    $1 ~ /^\// { print $1 }')"
  [ -n "$libraries" ] || { echo "$binary: dynamically linked, but ldd found no interpreter or libraries" >&2; exit 1; }
fi
for library in $libraries; do
  mkdir -p "$rootfs$(dirname "$library")"
  install -m 0755 "$(readlink -f "$library")" "$rootfs$library"
done
# The recorder writes its recordings here (an emptyDir in the DaemonSet).
mkdir -p "$rootfs/var/lib/corral/recordings"
find "$rootfs" -type d -exec chmod 0755 {} +
# The image's architecture, the binary's.
case "$(readelf --file-header "$binary" | awk -F: '/Machine:/ { gsub(/^ +/, "", $2); print $2 }')" in
  "Advanced Micro Devices X86-64") architecture=amd64 ;;
  AArch64) architecture=arm64 ;;
  *) echo "$binary: not an x86-64 or AArch64 program" >&2; exit 1 ;;
esac

# One layer: sorted entries, times SOURCE_DATE_EPOCH, owners 0:0, no
# access or change times.
(cd "$rootfs" && find . -mindepth 1 | sed 's|^\./||' | LC_ALL=C sort) > "$work/entries"
tar --create --file "$work/layer.tar" --directory "$rootfs" --no-recursion \
  --files-from "$work/entries" --format=posix \
  --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
  --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner

# The SBOM, beside the image; the manifest names its digest.
sbom="$out/$name.cdx.json"
mkdir -p "$out"
bash scripts/sbom.sh "$sbom" >/dev/null
sbom_sha256="$(sha256sum "$sbom" | cut -d' ' -f1)"

layout="$out/$name"
rm -rf "$layout"
umoci init --layout "$layout"
umoci new --image "$layout:$tag"
umoci raw add-layer --image "$layout:$tag" --history.created "$created" \
  --history.created_by "scripts/image.sh" "$work/layer.tar"
umoci config --image "$layout:$tag" --created "$created" \
  --history.created "$created" --history.created_by "scripts/image.sh" \
  --os linux --architecture "$architecture" \
  --config.user 65532:65532 --config.entrypoint /corral --config.workingdir / \
  --manifest.annotation "org.opencontainers.image.created=$created" \
  --manifest.annotation "org.opencontainers.image.title=$name" \
  --manifest.annotation "org.opencontainers.image.version=$tag" \
  --manifest.annotation "org.opencontainers.image.licenses=$(awk -F'"' '/^license *=/ { print $2; exit }' Cargo.toml)" \
  --manifest.annotation "dev.corral.sbom.sha256=$sbom_sha256"
umoci gc --layout "$layout"

# The oci-archive: the layout as a tar, as reproducible as the layer.
(cd "$layout" && find . -mindepth 1 | sed 's|^\./||' | LC_ALL=C sort) > "$work/layout-entries"
find "$layout" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
tar --create --file "$out/$name-$tag.oci.tar" --directory "$layout" --no-recursion \
  --files-from "$work/layout-entries" --format=posix \
  --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
  --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner --mode=u+rw,go+r

digest="$(jq -r --arg tag "$tag" \
  '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $tag) | .digest' \
  "$layout/index.json")"
echo "$repository:$tag $digest"
