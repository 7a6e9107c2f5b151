#!/usr/bin/env python3
"""Run a command several times; print its best and median wall time and peak RSS.

Usage: measure.py RUNS COMMAND [ARGS...]
Output goes to /dev/null; the exit statuses seen are reported.
"""
import resource
import statistics
import subprocess
import sys
import time


def main():
    runs = int(sys.argv[1])
    command = sys.argv[2:]
    walls = []
    statuses = set()
    for _ in range(runs):
        start = time.perf_counter()
        statuses.add(subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode)
        walls.append(time.perf_counter() - start)
    # ru_maxrss of children is the largest of any child, in KiB on Linux.
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"best {min(walls):.3f} s  median {statistics.median(walls):.3f} s  peak RSS {peak_mib:.0f} MiB  ({runs} runs, exit status {', '.join(map(str, sorted(statuses)))})")


if __name__ == "__main__":
    main()
