#!/usr/bin/env python3
"""Write the loader's hostile inputs (cases that were quadratic or unbounded)
into a directory: `python3 bench/gen_hostile.py OUT_DIR`. Time each with
`corral inventory FILE -o /dev/null` (see the report for numbers)."""
import os
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/corral-hostile"
os.makedirs(out, exist_ok=True)
head = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"


def write(name, text):
    with open(os.path.join(out, name), "w") as f:
        f.write(text)


# Merge keys: one mapping merging 100k single-entry maps.
write("merge-100k.yaml", head + "data:\n  <<:\n" + "".join(f"  - {{k{i}: v}}\n" for i in range(100_000)))
# A block mapping with 200k keys.
write("block-map-200k.yaml", head + "data:\n" + "".join(f"  k{i}: v\n" for i in range(200_000)))
# The same with a duplicate key, which the fast parser leaves to saphyr.
write("block-map-200k-dup.yaml", head + "data:\n" + "".join(f"  k{i}: v\n" for i in range(200_000)) + "  k0: again\n")
# One-line flow collections with 200k entries (ASCII, and not).
write("flow-map-200k.yaml", head + "data: {" + ", ".join(f"k{i}: v" for i in range(200_000)) + "}\n")
write("flow-map-200k-dup.yaml", head + "data: {" + ", ".join(f"k{i}: v" for i in range(200_000)) + ", k0: again}\n")
write("flow-seq-200k.yaml", head + "data:\n  l: [" + ", ".join(f"v{i}" for i in range(200_000)) + "]\n")
write("flow-map-200k-utf8.yaml", head + "data: {" + ", ".join(f"é{i}: v" for i in range(200_000)) + "}\n")
# 1,000,000 tiny documents without kind.
write("kindless-1m.yaml", "a: 1\n---\n" * 1_000_000)
# A 1 MiB scalar aliased 10,000 times (10 GiB if expanded).
write("alias-bytes.yaml", head + "data:\n  a: &a \"" + "x" * (1 << 20) + "\"\n  l: [" + ", ".join(["*a"] * 10_000) + "]\n")
# A chain of 200 nested anchors over a 8 MiB leaf: copying each anchored
# subtree costs 200 copies of the leaf.
nested = "".join(f"{'  ' * (i + 1)}k{i}: &a{i}\n" for i in range(200))
write("nested-anchors.yaml", head + "data:\n" + nested + "  " * 201 + "leaf: \"" + "x" * (8 << 20) + "\"\n")
