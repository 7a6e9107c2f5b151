#!/usr/bin/env bash
# Compile the BPF programs with clang and link them (bpftool's static
# linker) into recorder.bpf.o, committed beside them so that `cargo build`
# needs no clang; empty.bpf.o is the benchmark's floor. Deterministic: the
# same clang and bpftool give the same bytes wherever the tree is (the test
# `bpf_objects_match_sources` rebuilds and compares when both are present).
set -euo pipefail
cd "$(dirname "$0")"
out="${1:-.}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
compile() {
  clang -O2 -g -target bpf -mcpu=v3 -Wall -Werror -I"/usr/include/$(uname -m)-linux-gnu" \
    -fdebug-compilation-dir=. -fdebug-prefix-map="$PWD"=. \
    -c "$1" -o "$2"
}
# One program per concern, sharing common.h's maps once linked.
concerns=(syscalls capabilities processes network files)
for concern in "${concerns[@]}"; do
  compile "$concern.bpf.c" "$work/$concern.o"
done
bpftool gen object "$work/recorder.bpf.o" $(printf "$work/%s.o " "${concerns[@]}")
llvm-strip -g "$work/recorder.bpf.o" -o "$out/recorder.bpf.o"
compile empty.bpf.c "$work/empty.bpf.o"
llvm-strip -g "$work/empty.bpf.o" -o "$out/empty.bpf.o"
