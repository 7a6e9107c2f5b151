#!/usr/bin/env bash
# Time `corral inventory` on each hostile input of bench/gen_hostile.py:
# bench/hostile.sh [CORRAL] [DIR]. Prints seconds, peak RSS and the first
# error line per input. Limits to 8 GB of address space and 300 s per input,
# so a regression fails instead of taking the machine.
set -uo pipefail
corral=${1:-target/release/corral}
dir=${2:-/tmp/corral-hostile}
[ -d "$dir" ] || python3 "$(dirname "$0")/gen_hostile.py" "$dir"
printf '%-26s %9s %10s  %s\n' input seconds max-RSS-MB first-error
for file in "$dir"/*.yaml; do
  out=$( (ulimit -v 8000000; /usr/bin/time -f '%e %M' timeout 300 "$corral" inventory "$file" --format json -o /dev/null) 2>&1)
  times=$(tail -n1 <<<"$out")
  error=$(grep -m1 'error' <<<"$out" | cut -c1-120)
  printf '%-26s %9s %10s  %s\n' "$(basename "$file")" "${times% *}" "$(( ${times#* } / 1024 ))" "${error:--}"
done
