#!/usr/bin/env bash
# vow's one entry point for set-up, build, run and test.
#   ./build.sh demo    install what is missing, build vow-get, run vow-get --demo
#   ./build.sh test    install what is missing, build, run every test
#   ./build.sh asan | tsan    the tests under AddressSanitizer+UBSan / ThreadSanitizer
#   ./build.sh bench [ARGS]   build and run the benchmarks (Google Benchmark args pass through)
#   ./build.sh fuzz [SECONDS]  build the libFuzzer targets (clang) and run each for SECONDS (default 60)
#   ./build.sh deb            build the Debian packages libvow-dev and vow-get into build/deb
#   ./build.sh bench-cli [CASE...]  vow-get against curl and aria2c on loopback nginx (bench/cli_vs_curl.sh)
#   ./build.sh bench-rate [RATE [SECONDS [FILES]]]  how closely vow-get --limit-rate holds its cap (bench/limit_rate.sh)
#   ./build.sh bench-report [ARGS]  run the benchmarks 5 times, chart vow against its peers in docs/img/ (bench/report.py)
set -euo pipefail
cd "$(dirname "$0")"

# Debian bookworm packages the build needs.
packages=(
  build-essential cmake pkg-config
  libboost1.81-dev libboost-thread1.81-dev
  libconcurrentqueue-dev
  libboost-url1.81-dev libssl-dev openssl zlib1g-dev
  libcurl4-openssl-dev libcli11-dev
  libgtest-dev libbenchmark-dev
  tmux tinyproxy
)

# What only ./build.sh bench-cli needs: a real server and the peers' command lines.
cli_bench_packages=(nginx-light curl aria2 time)
# What only ./build.sh bench-report needs: Debian's Python with matplotlib.
report_packages=(python3-matplotlib)

install_missing() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "build.sh: installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
}

# In CI warnings are errors.
if [ "${CI:-}" = "true" ]; then export VOW_WERROR=ON; fi

workflow() { cmake --workflow --preset "$1"; }

command=${1:-}
shift || true
case "$command" in
  demo)
    install_missing
    cmake --preset default >/dev/null
    cmake --build --preset default --target vow-get
    ./build/default/tools/vow-get/vow-get --demo "$@"
    ;;
  test) install_missing; workflow default ;;
  asan) install_missing; workflow asan ;;
  tsan) install_missing; workflow tsan ;;
  fuzz)
    packages+=(clang-14 libclang-rt-14-dev)
    install_missing
    cmake --preset fuzz >/dev/null
    cmake --build --preset fuzz
    fuzz/run.sh build/fuzz/fuzz "${1:-60}"
    ;;
  deb)
    install_missing
    cmake --preset default >/dev/null
    cmake --build --preset default --target vow vow_http vow_http_loopback vow-get
    cpack -G DEB -B build/deb --config build/default/CPackConfig.cmake
    ls build/deb/*.deb
    ;;
  bench-cli)
    packages+=("${cli_bench_packages[@]}")
    install_missing
    cmake --preset default >/dev/null
    cmake --build --preset default --target vow-get
    bench/cli_vs_curl.sh ./build/default/tools/vow-get/vow-get "$@"
    ;;
  bench-rate)
    packages+=(nginx-light curl)
    install_missing
    cmake --preset default >/dev/null
    cmake --build --preset default --target vow-get
    bench/limit_rate.sh ./build/default/tools/vow-get/vow-get "$@"
    ;;
  bench-report)
    packages+=("${report_packages[@]}")
    install_missing
    cmake --preset default >/dev/null
    cmake --build --preset default --target vow_bench
    ./build/default/bench/vow_bench --benchmark_repetitions=5 \
      --benchmark_out=build/bench.json --benchmark_out_format=json "$@"
    /usr/bin/python3 bench/report.py build/bench.json docs/img
    ;;
  bench)
    install_missing
    cmake --preset default >/dev/null
    cmake --build --preset default --target vow_bench
    ./build/default/bench/vow_bench "$@"
    ;;
  *)
    sed -n '2,11p' "$0"
    exit 2
    ;;
esac
