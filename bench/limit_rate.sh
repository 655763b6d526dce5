#!/usr/bin/env bash
# How closely vow-get --limit-rate holds its cap: files from nginx (Debian's nginx-light)
# on loopback, sized so that the run takes SECONDS at RATE, downloaded FILES at once.
#
#   bench/limit_rate.sh VOW_GET [RATE [SECONDS [FILES]]]   (./build.sh bench-rate [...] runs it)
#
# Defaults: RATE 2M (as --limit-rate reads it: K, M, G are powers of 1024), SECONDS 10,
# FILES 4. Prints the bytes, the wall time, the rate reached and how far it is from RATE;
# exits 1 when it is more than 10% off (either way). The wall time is the whole process,
# start-up included. Scratch files live in VOW_BENCH_RATE_DIR (default build/bench-rate).
set -euo pipefail

[[ $# -ge 1 ]] || { sed -n '2,11p' "$0"; exit 2; }
vow_get=$(realpath "$1")
rate_text=${2:-2M}
seconds=${3:-10}
files=${4:-4}
work=$(realpath -m "${VOW_BENCH_RATE_DIR:-build/bench-rate}")
www=$work/www
out=$work/out

for tool in nginx curl python3; do
  command -v "$tool" >/dev/null || { echo "limit_rate: $tool is missing (./build.sh bench-rate installs it)" >&2; exit 1; }
done

rate=$(python3 - "$rate_text" <<'PY'
import re, sys
m = re.fullmatch(r"(\d+)([kKmMgG]?)", sys.argv[1])
if not m or int(m.group(1)) == 0:
    sys.exit("limit_rate: RATE is whole bytes per second above 0, optionally with K, M or G")
print(int(m.group(1)) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[m.group(2).lower()])
PY
)
each=$((rate * seconds / files))
total=$((each * files))
mkdir -p "$www" "$work/nginx/tmp"
rm -rf "$out"
mkdir -p "$out"
for i in $(seq 1 "$files"); do
  f=$www/f$i.bin
  [[ -f $f && $(stat -c %s "$f") -eq $each ]] || head -c "$each" /dev/urandom >"$f"
done
chmod -R a+rX "$www"

# --- nginx on a free loopback port, with a config of its own ----------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
user_line=""
[[ $(id -u) -eq 0 ]] && user_line="user root;"
cat >"$work/nginx/nginx.conf" <<CONF
$user_line
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path $work/nginx/tmp;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$port;
    root $www;
  }
}
CONF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
nginx_pid=$!
trap 'kill $nginx_pid 2>/dev/null; wait $nginx_pid 2>/dev/null; rm -rf "$out"' EXIT
for _ in $(seq 1 100); do
  curl -sf -o /dev/null -r 0-0 "http://127.0.0.1:$port/f1.bin" && break
  sleep 0.05  # waiting for a separate process to listen, not synchronising threads
done

urls=()
for i in $(seq 1 "$files"); do urls+=("http://127.0.0.1:$port/f$i.bin"); done
echo "limit_rate: $files files, $total bytes at --limit-rate $rate_text ($rate bytes/s), -j $files" >&2
t0=$(date +%s.%N)
"$vow_get" -q -o "$out" -j "$files" --limit-rate "$rate_text" "${urls[@]}"
t1=$(date +%s.%N)
got=$(find "$out" -type f ! -name '*.part*' -printf '%s\n' | awk '{s += $1} END {print s + 0}')
[[ $got -eq $total ]] || { echo "limit_rate: got $got bytes, want $total" >&2; exit 1; }

python3 - "$total" "$t0" "$t1" "$rate" <<'PY'
import sys
total, t0, t1, rate = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
wall = t1 - t0
reached = total / wall
off = (reached - rate) / rate * 100
print(f"limit_rate: {total} bytes in {wall:.2f} s: {reached / 1048576:.3f} MiB/s against a cap of "
      f"{rate / 1048576:.3f} MiB/s, {off:+.1f}% ({'within' if abs(off) <= 10 else 'NOT within'} 10%)")
sys.exit(0 if abs(off) <= 10 else 1)
PY
