#!/usr/bin/env bash
# vow-get against the curl command line (and aria2c), run the way users run them: whole
# processes, files from nginx (Debian's nginx-light) on loopback, written to the real disk.
#
#   bench/cli_vs_curl.sh VOW_GET [CASE...]      (./build.sh bench-cli [CASE...] runs it)
#
# Cases (default: small large split):
#   small  2,000 files of 16 KiB, 32 in flight, each run into the same folder, emptied
#          before it (so each run's creates follow the last run's 2,000 deletes)
#   small-fresh  the same, each run into a new folder and nothing deleted until the case
#          is over, after a minute without deletes: ext4 without a journal makes each
#          create scan past the inodes freed in the last minute, which the small case's
#          deletes put in the way of every tool
#   large  one 1 GiB file
#   split  one 256 MiB file from a server limiting each connection to 20 MiB/s (nginx's
#          limit_rate): vow-get --split 4 against vow-get --split 1, curl (one connection,
#          it has no split) and aria2c -x4 -s4. The target: --split 4 at least 3x --split 1
#          (the ratio column of vow-get-split1).
# Each case runs once to warm up, then PAIRS (default 5) pairs of runs, the order of the
# tools alternating from pair to pair. It prints each tool's median wall time, CPU time
# (user + system) and peak RSS (/usr/bin/time), and the median of the per-pair ratios
# (the peer's wall time / vow-get's: above 1 means vow-get is faster), then, per pair,
# vow-get's CPU time over each peer's (below 1 means vow-get used less).
# Scratch files live in VOW_BENCH_CLI_DIR (default build/bench-cli, on the project's disk,
# not tmpfs); the served files are kept there between runs, and so is each run's table
# (results-<UTC time>.tsv: case, tool, pair, wall s, CPU s, peak RSS KiB).
set -euo pipefail

[[ $# -ge 1 ]] || { sed -n '2,27p' "$0"; exit 2; }
vow_get=$(realpath "$1")
shift
cases=("$@")
[[ ${#cases[@]} -gt 0 ]] || cases=(small large split)
fresh_outputs=false  # set by the small-fresh case: a new output folder for each run
pairs=${PAIRS:-5}
work=$(realpath -m "${VOW_BENCH_CLI_DIR:-build/bench-cli}")
www=$work/www
out=$work/out
results=$work/results.tsv

for tool in nginx curl aria2c /usr/bin/time python3; do
  command -v "$tool" >/dev/null || { echo "cli_vs_curl: $tool is missing (./build.sh bench-cli installs it)" >&2; exit 1; }
done
mkdir -p "$www/small" "$work/nginx" "$out"
echo "cli_vs_curl: scratch folder $work ($(df -T "$work" | awk 'NR==2 {print $2}'))" >&2

# --- the files (only those the cases asked for) ----------------------------
wants() { [[ " ${cases[*]} " == *" $1 "* ]]; }
make_files() {
  echo ready >"$www/ready"
  if { wants small || wants small-fresh; } && [[ ! -f $www/small/.done ]]; then
    echo "cli_vs_curl: making 2,000 files of 16 KiB" >&2
    for i in $(seq 1 2000); do head -c 16384 /dev/urandom >"$www/small/f$i"; done
    touch "$www/small/.done"
  fi
  if wants large && [[ ! -f $www/large.bin ]]; then
    echo "cli_vs_curl: making 1 GiB" >&2
    head -c 1G /dev/urandom >"$www/large.bin"
  fi
  if wants split && [[ ! -f $www/split.bin ]]; then head -c 256M /dev/urandom >"$www/split.bin"; fi
  chmod -R a+rX "$www"
}

# --- nginx on a free loopback port, with a config of its own ----------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
user_line=""
[[ $(id -u) -eq 0 ]] && user_line="user root;"
mkdir -p "$work/nginx/tmp"
cat >"$work/nginx/nginx.conf" <<CONF
$user_line
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  client_body_temp_path $work/nginx/tmp;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$port;
    root $www;
    location /limited/ {
      alias $www/;
      limit_rate 20m;
    }
  }
}
CONF
make_files
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
nginx_pid=$!
trap 'kill $nginx_pid 2>/dev/null; wait $nginx_pid 2>/dev/null; rm -rf "$work/out" "$work/fresh"' EXIT
for _ in $(seq 1 100); do
  curl -sf -o /dev/null "http://127.0.0.1:$port/ready" && break
  sleep 0.05  # waiting for a separate process to listen, not synchronising threads
done
base=http://127.0.0.1:$port

# --- one timed run -----------------------------------------------------------
# run CASE TOOL PAIR CMD...: runs CMD in an empty $out, appends a line to $results.
run() {
  local case=$1 tool=$2 pair=$3
  shift 3
  $fresh_outputs || rm -rf "$out"
  mkdir -p "$out"
  sync
  local t0 t1
  t0=$(date +%s.%N)
  if ! /usr/bin/time -f '%U %S %M' -o "$work/time.txt" "$@" >"$work/stdout.txt" 2>"$work/stderr.txt"; then
    echo "cli_vs_curl: $tool failed in case $case: $*" >&2
    tail -5 "$work/stderr.txt" >&2
    exit 1
  fi
  t1=$(date +%s.%N)
  check_output "$case" "$tool"
  read -r user sys rss <"$work/time.txt"
  [[ $pair == warm-up ]] || printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$case" "$tool" "$pair" \
    "$(python3 -c "print($t1 - $t0)")" "$(python3 -c "print($user + $sys)")" "$rss" >>"$results"
}

# The run must have produced what was asked, or its time means nothing.
check_output() {
  local case=$1 tool=$2 files bytes
  files=$(find "$out" -type f ! -name '*.part*' ! -name '*.aria2' | wc -l)
  bytes=$(find "$out" -type f ! -name '*.part*' ! -name '*.aria2' -printf '%s\n' | awk '{s += $1} END {print s + 0}')
  local want_files want_bytes
  case $case in
    small | small-fresh) want_files=2000 want_bytes=$((2000 * 16384)) ;;
    large) want_files=1 want_bytes=$((1 << 30)) ;;
    split) want_files=1 want_bytes=$((256 << 20)) ;;
  esac
  if [[ $files -ne $want_files || $bytes -ne $want_bytes ]]; then
    echo "cli_vs_curl: $tool in case $case left $files files, $bytes bytes (want $want_files, $want_bytes)" >&2
    exit 1
  fi
}

# pairs_of CASE NAME1 'CMD1' NAME2 'CMD2' [NAME3 'CMD3']: a warm-up, then $pairs pairs in
# alternating order (a third tool runs after the pair).
pairs_of() {
  local case=$1
  shift
  local -a names=() cmds=()
  while [[ $# -gt 0 ]]; do names+=("$1"); cmds+=("$2"); shift 2; done
  echo "cli_vs_curl: case $case: ${names[*]}, $pairs pairs" >&2
  # one CASE TOOL-INDEX PAIR: the commands name their folder as \$out, set here.
  one() {
    $fresh_outputs && out=$work/fresh/${names[$2]}-$3
    eval "run $1 ${names[$2]} $3 ${cmds[$2]}"
  }
  for i in "${!names[@]}"; do one "$case" "$i" warm-up; done
  for p in $(seq 1 "$pairs"); do
    local order=(0 1)
    (( p % 2 == 0 )) && order=(1 0)
    for i in "${order[@]}"; do one "$case" "$i" "$p"; done
    for ((i = 2; i < ${#names[@]}; ++i)); do one "$case" "$i" "$p"; done
  done
}

: >"$results"
for c in "${cases[@]}"; do
  case $c in
    small | small-fresh)
      if [[ $c == small-fresh ]]; then
        fresh_outputs=true
        rm -rf "$work/fresh" "$out"
        sync
        echo "cli_vs_curl: case small-fresh: a minute without deletes first" >&2
        sleep 61  # ext4's "recently deleted" window, not thread synchronisation
      fi
      for i in $(seq 1 2000); do echo "$base/small/f$i"; done >"$work/small-urls.txt"
      mapfile -t small_urls <"$work/small-urls.txt"
      printf '%s\n' "${small_urls[@]}" | sed 's/^/url = /' >"$work/small-curl.cfg"
      pairs_of "$c" \
        vow-get "\"$vow_get\" -q -j 32 -o \"\$out\" -i \"$work/small-urls.txt\"" \
        curl "curl -s -Z --parallel-max 32 --remote-name-all --output-dir \"\$out\" -K \"$work/small-curl.cfg\"" \
        aria2c "aria2c -q -j 32 --allow-overwrite=true -d \"\$out\" -i \"$work/small-urls.txt\""
      fresh_outputs=false
      out=$work/out
      ;;
    large)
      pairs_of large \
        vow-get "\"$vow_get\" -q -o \"$out\" \"$base/large.bin\"" \
        curl "curl -s -o \"$out/large.bin\" \"$base/large.bin\"" \
        aria2c "aria2c -q -d \"$out\" \"$base/large.bin\""
      ;;
    split)
      # The whole help is read (not grep -q): with pipefail, a reader that
      # stops at the first match makes --help die of SIGPIPE and the test fail.
      if ! "$vow_get" --help 2>&1 | grep -- '--split' >/dev/null; then
        echo "cli_vs_curl: case split skipped: this vow-get has no --split" >&2
        continue
      fi
      pairs_of split \
        vow-get-split4 "\"$vow_get\" -q --split 4 -o \"$out\" \"$base/limited/split.bin\"" \
        vow-get-split1 "\"$vow_get\" -q --split 1 -o \"$out\" \"$base/limited/split.bin\"" \
        curl "curl -s -o \"$out/split.bin\" \"$base/limited/split.bin\"" \
        aria2c-x4 "aria2c -q -x 4 -s 4 -d \"$out\" \"$base/limited/split.bin\""
      ;;
    *) echo "cli_vs_curl: unknown case $c" >&2; exit 2 ;;
  esac
done

python3 - "$results" <<'PY'
import collections, statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
by = collections.defaultdict(dict)  # (case, tool) -> pair -> (wall, cpu, rss)
for case, tool, pair, wall, cpu, rss in rows:
    by[(case, tool)][pair] = (float(wall), float(cpu), int(rss))
for case in dict.fromkeys(r[0] for r in rows):
    tools = [t for (c, t) in by if c == case]
    ref = tools[0]
    print(f"\n{case}")
    print(f"  {'tool':<16}{'wall s (median, range)':<28}{'cpu s':>8}{'peak RSS MiB':>14}{'ratio to ' + ref:>22}")
    for t in tools:
        runs = by[(case, t)]
        walls = [w for w, _, _ in runs.values()]
        cpus = [c for _, c, _ in runs.values()]
        rsss = [r for _, _, r in runs.values()]
        ratio = ""
        if t != ref:
            # per pair: the peer's time over vow-get's (> 1: vow-get faster)
            rs = sorted(runs[p][0] / by[(case, ref)][p][0] for p in runs if p in by[(case, ref)])
            ratio = f"{statistics.median(rs):.2f}x ({rs[0]:.2f}-{rs[-1]:.2f})"
        print(f"  {t:<16}{statistics.median(walls):>7.3f} ({min(walls):.3f}-{max(walls):.3f})".ljust(44)
              + f"{statistics.median(cpus):>8.3f}{statistics.median(rsss) / 1024:>14.1f}{ratio:>22}")
    # CPU per pair, in pair order: vow-get's over each peer's (< 1: vow-get used less)
    for t in tools[1:]:
        pairs = [p for p in sorted(by[(case, t)], key=int) if p in by[(case, ref)]]
        cpu_ratios = [by[(case, ref)][p][1] / by[(case, t)][p][1] for p in pairs if by[(case, t)][p][1] > 0]
        if cpu_ratios:
            print(f"  {ref} CPU / {t} CPU per pair: " + ", ".join(f"{r:.2f}" for r in cpu_ratios))
PY
# Each run's table is kept beside the last one's.
cp "$results" "$work/results-$(date -u +%Y%m%dT%H%M%SZ).tsv"
