#!/usr/bin/env bash
# Runs every libFuzzer target for a bounded time and prints what each did.
#   fuzz/run.sh BUILD_DIR [SECONDS_PER_TARGET]     (./build.sh fuzz runs it)
# Each target starts from its seeds in fuzz/corpus/<name>/ plus what earlier
# runs found (BUILD_DIR/corpus/<name>/; the repository's seeds are not
# touched). A crash, leak, timeout or memory blow-up stops the run with its
# input saved in BUILD_DIR/artifacts/ and exit status 1.
set -euo pipefail
build=$(realpath "$1")
seconds=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$build/artifacts"
status=0
summary=()
for seeds in "$here"/corpus/*/; do
  name=$(basename "$seeds")
  target=$build/fuzz_$name
  [[ -x $target ]] || { echo "fuzz: $target is not built" >&2; exit 1; }
  corpus=$build/corpus/$name
  mkdir -p "$corpus"
  cp -n "$seeds"* "$corpus"/ 2>/dev/null || true
  log=$build/fuzz_$name.log
  echo "fuzz: $name for ${seconds} s" >&2
  # -rss_limit_mb: the process may not grow past 1 GiB (a reply that makes the
  # client buffer without bound fails here); -timeout: no input may take 20 s.
  if "$target" -max_total_time="$seconds" -rss_limit_mb=1024 -timeout=20 -print_final_stats=1 \
       -artifact_prefix="$build/artifacts/$name-" "$corpus" >"$log" 2>&1; then
    result=ok
  else
    result=FAILED
    status=1
    grep -E "ERROR|SUMMARY|Test unit written" "$log" | head -5 >&2
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
  summary+=("$(printf '%-14s %-7s %10s runs  %5s MiB peak  corpus %s' "$name" "$result" "${runs:-?}" "${rss:-?}" \
                "$(find "$corpus" -type f | wc -l)")")
done
printf '%s\n' "${summary[@]}"
exit $status
