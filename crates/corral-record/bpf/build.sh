#!/usr/bin/env bash
# Compile the BPF programs with clang into the objects committed beside them,
# so that `cargo build` needs no clang. Deterministic: the same clang gives
# the same bytes wherever the tree is (the test `bpf_objects_match_sources`
# rebuilds and compares when clang is present).
set -euo pipefail
cd "$(dirname "$0")"
# Each program includes task.h, the kernel fields it reads.
for source in *.bpf.c; do
  clang -O2 -g -target bpf -mcpu=v3 -Wall -Werror -I"/usr/include/$(uname -m)-linux-gnu" \
    -fdebug-compilation-dir=. -fdebug-prefix-map="$PWD"=. \
    -c "$source" -o "${1:-.}/${source%.c}.o"
  llvm-strip -g "${1:-.}/${source%.c}.o"
done
