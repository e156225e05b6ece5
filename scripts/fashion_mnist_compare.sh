#!/usr/bin/env bash
# Same function as PyTorch: examples/fashion_mnist.c against its twin
# examples/fashion_mnist_torch.py, Dropout off, the same initial weights
# (nabla's --export-init) and the same batches (nabla's --export-order).
#
#   scripts/fashion_mnist_compare.sh [BUILD_DIR] [STEPS]
#
# BUILD_DIR: a meson build of nabla (default build/); STEPS default 50;
# NB_COMPARE_THREADS (default 1) is the thread count of both, NB_COMPARE_LR
# (default 1e-3, the example's) their learning rate, NB_COMPARE_DTYPE
# (float32 or float64, default float32) the precision both train in (the
# initial weights are the same float32 values either way). Three checks:
#   1. free-running: both train STEPS steps; the losses side by side with
#      each step's time, their largest relative difference (the issue's
#      target: <= 1e-4 over 50 steps);
#   2. baseline: PyTorch against itself on 2 threads instead of 1 (another
#      summation order): how fast training amplifies rounding differences;
#   2b. baseline: PyTorch against itself with one weight one ulp up at the
#      start: how far a single rounding difference carries;
#   3. per step: PyTorch's loss at the weights nabla had before each step
#      (nabla's --export-steps), which tests the function along nabla's
#      trajectory without that amplification.
# Exit status 0 when check 3 agrees to 1e-4 at every step and check 1 on
# the first 20 steps (at lr 1e-3 the baseline itself passes 1e-4 after
# about 25 steps: in float32 the issue's 50 are out of reach of any other
# summation order, PyTorch's own included; the script prints where each
# crosses). In float64 rounding differences start 2^29 times smaller, and
# check 1 must hold at every step.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
steps=${2:-50}
threads=${NB_COMPARE_THREADS:-1}
lr=${NB_COMPARE_LR:-1e-3}
dtype=${NB_COMPARE_DTYPE:-float32}
exe="$build/examples/fashion_mnist"
[ -x "$exe" ] || { echo "fashion_mnist_compare: $exe not built (meson setup $build && ninja -C $build)" >&2; exit 2; }
/usr/bin/python3 -c 'import torch' 2>/dev/null || { echo "fashion_mnist_compare: needs python3-torch" >&2; exit 2; }
work=$(mktemp -d /tmp/nb-fmnist-compare.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/steps"
twin() { /usr/bin/python3 examples/fashion_mnist_torch.py --no-dropout --steps "$steps" --epochs 1 --quiet --lr "$lr" \
             --init "$work/init.nbst" --order "$work/order.txt" --dtype "$dtype" "$@" >&2; }

"$exe" --no-dropout --steps "$steps" --epochs 1 --lr "$lr" --threads "$threads" --dtype "$dtype" --save "" --export-init "$work/init.nbst" \
    --export-order "$work/order.txt" --export-steps "$work/steps" --log-losses "$work/nabla.txt" >&2
twin --threads "$threads" --log-losses "$work/torch.txt"
twin --threads 2 --log-losses "$work/torch2.txt"
[ "$threads" != 2 ] || twin --threads 1 --log-losses "$work/torch2.txt"
twin --threads "$threads" --perturb-ulp --log-losses "$work/torch_ulp.txt"
twin --threads "$threads" --check-steps "$work/steps" --log-losses "$work/check.txt"

/usr/bin/python3 - "$work" "$steps" "$dtype" <<'PY'
import sys
work, steps, dtype = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def losses(name):
    rows = [l.split() for l in open(f"{work}/{name}.txt")]
    if len(rows) < steps:
        sys.exit(f"fashion_mnist_compare: {name}: {len(rows)} losses, expected {steps}")
    return [float(r[1]) for r in rows[:steps]], [float(r[2]) for r in rows[:steps]]
(n, tn), (t, tt), (t2, _), (c, _) = losses("nabla"), losses("torch"), losses("torch2"), losses("check")
u, _ = losses("torch_ulp")
rel = lambda a, b: [abs(x - y) / max(abs(y), 1e-30) for x, y in zip(a, b)]
free, base, step, ulp = rel(n, t), rel(t2, t), rel(n, c), rel(u, t)
print(f"{'step':>4} {'nabla loss':>12} {'torch loss':>12} {'rel diff':>9} {'torch 2thr':>10} {'torch 1ulp':>10} {'same-w diff':>11} "
      f"{'nabla ms':>9} {'torch ms':>9}")
for i in range(steps):
    print(f"{i:4d} {n[i]:12.7f} {t[i]:12.7f} {free[i]:9.2e} {base[i]:10.2e} {ulp[i]:10.2e} {step[i]:11.2e} {tn[i]:9.2f} {tt[i]:9.2f}")
first = lambda r: next((i for i, v in enumerate(r) if v > 1e-4), None)
def summary(name, r):
    f = first(r)
    return f"{name}: max {max(r):.3e} (step {r.index(max(r))}); " + \
        (f"first above 1e-4 at step {f}" if f is not None else "all within 1e-4")
med = lambda v: sorted(v[1:])[len(v[1:]) // 2]
print(summary("free-running nabla vs torch", free))
print(summary("baseline torch 2 threads vs 1", base))
print(summary("baseline torch with one weight 1 ulp up", ulp))
print(summary("per step, same weights (nabla's)", step))
print(f"median step time: nabla {med(tn):.2f} ms, torch {med(tt):.2f} ms")
ok = max(step) <= 1e-4 and max(free if dtype == "float64" else free[:20], default=0) <= 1e-4
print(f"issue target ({dtype}, free-running, {steps} steps within 1e-4): {'met' if max(free) <= 1e-4 else 'NOT met'}; "
      f"this script's check: {'pass' if ok else 'FAIL'}")
sys.exit(0 if ok else 1)
PY
