#!/usr/bin/env bash
# The main job (README quick start): build nabla in release mode, print what
# it found (`nabla info`), run every benchmark and print the ratio report.
#
# Installs missing Debian packages first (scripts/deps.sh). Environment:
#   NB_BENCH_FILTER   regex of benchmarks to run (default: all but the 396
#                     per-micro-kernel rows of the elementwise families,
#                     vbinary/ and optim/: NB_BENCH_FILTER='^(vbinary|optim)/'
#                     runs those; a leading '-' negates, as Google Benchmark)
#   NB_BENCH_ARGS     extra Google Benchmark flags
# Results: build/bench-results.json, build/bench-report.txt and
# build/neon-mca.txt (the NEON micro-kernels' llvm-mca estimates).
# A second pass runs the oneDNN convolution peers again with oneDNN capped at
# AVX2, nabla's ISA (DNNL_MAX_CPU_ISA, read once per process): those of them
# that NB_BENCH_FILTER selects, into build/bench-results-avx2.json; the report
# shows them as onednn_avx2 and onednn_nchw_avx2.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
# shellcheck disable=SC2086
nb_ensure_deps $NB_DEPS_BUILD $NB_DEPS_BENCH $NB_DEPS_MCA

[ -f build/build.ninja ] || meson setup build -Dbuildtype=release -Dbench=enabled >/dev/null
ninja -C build >/dev/null
./build/tools/nabla info
echo
filter=${NB_BENCH_FILTER:--^(vbinary|optim)/}
# Repetitions + medians: this machine is shared and noisy.
# shellcheck disable=SC2086
./build/bench/nabla_bench \
    --benchmark_filter="$filter" \
    --benchmark_min_time=0.2 --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
    --benchmark_out=build/bench-results.json --benchmark_out_format=json \
    ${NB_BENCH_ARGS:-} >/dev/null

# The same-ISA pass for the AVX2 targets: nabla forced to AVX2 (NABLA_ISA)
# against oneDNN capped at AVX2 (DNNL_MAX_CPU_ISA), on the single-thread
# conv rows the filter selects, as one exact-name regex (names are plain
# [a-z0-9_/:]); none without oneDNN or for a filter like "sgemm", and then
# no second pass. The report shows them as families conv2d*_avx2.
avx2_names=$(./build/bench/nabla_bench --benchmark_list_tests \
    --benchmark_filter="$filter" 2>/dev/null | grep -E '^conv2d[a-z_]*/(nabla|onednn|onednn_nchw)/' |
    grep -v '_t2' | paste -sd'|' || true)
avx2_json=
rm -f build/bench-results-avx2.json
if grep -q onednn <<<"$avx2_names"; then
    # shellcheck disable=SC2086
    NABLA_ISA=avx2 DNNL_MAX_CPU_ISA=AVX2 ./build/bench/nabla_bench \
        --benchmark_filter="^($avx2_names)\$" \
        --benchmark_min_time=0.2 --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
        --benchmark_out=build/bench-results-avx2.json --benchmark_out_format=json \
        ${NB_BENCH_ARGS:-} >/dev/null
    avx2_json=build/bench-results-avx2.json
fi
# PyTorch's side of the steps/ and tiny/ rows (bench/bench_steps.cc), merged
# into the results so the report prints them next to nabla's: with
# Debian's python3-torch, when the filter selects any of those rows.
# (The list is read whole first: grep -q stops at the first match, and under
# pipefail the lister's SIGPIPE then made the test false on long lists.)
rows=$(./build/bench/nabla_bench --benchmark_list_tests --benchmark_filter="$filter" 2>/dev/null || true)
if grep -qE '^(steps|tiny)/' <<<"$rows" && /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    /usr/bin/python3 scripts/bench_torch_steps.py --merge build/bench-results.json >/dev/null
fi
# numpy's own exp/log/tanh loops, in their own process, into the same results
# (a line and nothing else without numpy).
py=$(command -v /usr/bin/python3 || command -v python3)
"$py" scripts/bench_numpy.py build/bench-results.json
# shellcheck disable=SC2086
python3 scripts/bench_report.py build/bench-results.json $avx2_json | tee build/bench-report.txt
# The same results as charts, one PNG per family next to the report
# (build/bench-<family>.png), with Debian's python3 and its matplotlib.
if "$py" -c 'import matplotlib' 2>/dev/null; then
    "$py" scripts/bench_charts.py build/bench-results.json $avx2_json build
else
    echo "charts: skipped (no matplotlib for $py; scripts/deps.sh installs python3-matplotlib)"
fi

# NEON speed, estimated statically (no AArch64 hardware here): every NEON
# micro-kernel's inner loops through llvm-mca on Neoverse N1/V1/V2, compiled
# with the cross build's own commands (a configured build is enough).
if [ ! -f build-aarch64-mca/compile_commands.json ]; then
    meson setup build-aarch64-mca --cross-file cross/aarch64-linux-gnu.ini -Dtests=disabled \
        -Dbench=disabled -Dtools=false -Dexamples=false >/dev/null
fi
echo
python3 scripts/neon_mca.py build-aarch64-mca | tee build/neon-mca.txt
