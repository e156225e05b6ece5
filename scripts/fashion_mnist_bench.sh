#!/usr/bin/env bash
# Fashion-MNIST training throughput and peak memory, nabla against its
# PyTorch twin, side by side in one run: the same model, initial weights
# and batches (Dropout on, as in training), STEPS steps (default 60) on 1
# and on 2 threads, alternating nabla and PyTorch.
#
#   flock /tmp/nabla-bench.lock scripts/fashion_mnist_bench.sh [BUILD_DIR] [STEPS]
#
# BUILD_DIR: a release meson build (default build/); NB_BENCH_THREADS
# (default "1 2") the thread counts. Per run: images/s over
# the whole training loop, the median wall and process-CPU time of a step
# (the first 5 steps left out), and the peak resident memory
# (/usr/bin/time -v). Both load the whole data set first and test on the
# 10,000 test images at the end (--eval, batches of 1000), as a full run
# does, so the peak memory is a full run's.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
steps=${2:-60}
exe="$build/examples/fashion_mnist"
[ -x "$exe" ] || { echo "fashion_mnist_bench: $exe not built" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "fashion_mnist_bench: needs /usr/bin/time (Debian package time)" >&2; exit 2; }
work=$(mktemp -d /tmp/nb-fmnist-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$exe" --steps 1 --epochs 1 --threads 1 --save "" --export-init "$work/init.nbst" \
    --export-order "$work/order.txt" >/dev/null

report() {   # name threads log timefile
    /usr/bin/python3 - "$@" <<'PY'
import sys
name, threads, log, tfile = sys.argv[1:5]
rows = [l.split() for l in open(log)][5:]
med = lambda v: sorted(v)[len(v) // 2]
wall, cpu = med([float(r[2]) for r in rows]), med([float(r[3]) for r in rows])
rss = next(l.split()[-1] for l in open(tfile) if "Maximum resident" in l)
total = sum(float(r[2]) for r in rows) / 1e3
print(f"{name:7s} {threads} thr  {64 * len(rows) / total:7.0f} images/s  step median {wall:7.1f} ms wall "
      f"{cpu:7.1f} ms cpu  peak RSS {int(rss) / 1024:6.0f} MiB")
PY
}

for t in ${NB_BENCH_THREADS:-1 2}; do
    /usr/bin/time -v -o "$work/n$t.time" "$exe" --steps "$steps" --epochs 1 --threads "$t" --save "" --eval \
        --resume "$work/init.nbst" --log-losses "$work/n$t.txt" >/dev/null
    /usr/bin/time -v -o "$work/t$t.time" /usr/bin/python3 examples/fashion_mnist_torch.py --steps "$steps" \
        --epochs 1 --threads "$t" --quiet --eval --init "$work/init.nbst" --order "$work/order.txt" \
        --log-losses "$work/t$t.txt" >/dev/null
    report nabla "$t" "$work/n$t.txt" "$work/n$t.time"
    report pytorch "$t" "$work/t$t.txt" "$work/t$t.time"
done
