#!/usr/bin/env bash
# The main job (README quick start): build nabla in release mode, print what
# it found (`nabla info`), run every benchmark and print the ratio report.
#
# Installs missing Debian packages first (scripts/deps.sh). Environment:
#   NB_BENCH_FILTER   regex of benchmarks to run (default: all)
#   NB_BENCH_ARGS     extra Google Benchmark flags
# Results: build/bench-results.json and build/bench-report.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
# shellcheck disable=SC2086
nb_ensure_deps $NB_DEPS_BUILD $NB_DEPS_BENCH

[ -f build/build.ninja ] || meson setup build -Dbuildtype=release -Dbench=enabled >/dev/null
ninja -C build >/dev/null
./build/tools/nabla info
echo
# Repetitions + medians: this machine is shared and noisy.
# shellcheck disable=SC2086
./build/bench/nabla_bench \
    --benchmark_filter="${NB_BENCH_FILTER:-.}" \
    --benchmark_min_time=0.2 --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
    --benchmark_out=build/bench-results.json --benchmark_out_format=json \
    ${NB_BENCH_ARGS:-} >/dev/null
python3 scripts/bench_report.py build/bench-results.json | tee build/bench-report.txt
