#!/usr/bin/env python3
"""Run a command several times; print its best and median wall time and peak RSS.

Usage: measure.py RUNS COMMAND [ARGS...]
Output goes to /dev/null; a non-zero exit status is reported.
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
    for _ in range(runs):
        start = time.perf_counter()
        status = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
        walls.append(time.perf_counter() - start)
        if status not in (0, 1):
            print(f"exit status {status}: {' '.join(command)}", file=sys.stderr)
    # ru_maxrss of children is the largest of any child, in KiB on Linux.
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"best {min(walls):.3f} s  median {statistics.median(walls):.3f} s  peak RSS {peak_mib:.0f} MiB  ({runs} runs)")


if __name__ == "__main__":
    main()
