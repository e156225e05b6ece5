#!/usr/bin/env bash
# Before/after on one machine in one run: builds nabla_bench at two commits
# (release, in build-compare/<commit>/), then runs both binaries on every
# benchmark family, alternating (A, B, A, B, ...) so that a noisy neighbour
# hits both sides alike, and prints, per benchmark both commits have, the
# median times and B's speed relative to A.
#
#   scripts/bench_compare.sh OLD NEW [FILTER]
#
# FILTER (a Google Benchmark regex) defaults to nabla's own rows (the peers
# are the same library on both sides). NB_COMPARE_ROUNDS rounds (default 3).
# NB_COMPARE_LOCK=FILE holds flock on FILE during each benchmark run (not
# while building), for a machine shared with other benchmark runs.
# Results: build-compare/compare-<old>-<new>.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
# shellcheck disable=SC2086
nb_ensure_deps $NB_DEPS_BUILD $NB_DEPS_BENCH
[ $# -ge 2 ] || { echo "usage: $0 OLD NEW [FILTER]" >&2; exit 2; }
old=$(git rev-parse --short "$1")
new=$(git rev-parse --short "$2")
filter=${3:-/nabla}
rounds=${NB_COMPARE_ROUNDS:-3}
root=$PWD/build-compare
mkdir -p "$root"

build_at() {   # commit -> path of its nabla_bench
    local c=$1 src=$root/src-$1
    [ -d "$src" ] || git worktree add -f --detach "$src" "$c" >/dev/null 2>&1
    [ -f "$root/$c/build.ninja" ] || meson setup "$root/$c" "$src" -Dbuildtype=release \
        -Dbench=enabled -Dtests=disabled >/dev/null
    ninja -C "$root/$c" bench/nabla_bench >/dev/null
    echo "$root/$c/bench/nabla_bench"
}
bin_old=$(build_at "$old")
bin_new=$(build_at "$new")

lock=(env)
[ -n "${NB_COMPARE_LOCK:-}" ] && lock=(flock "$NB_COMPARE_LOCK")
for r in $(seq 1 "$rounds"); do
    for side in old new; do
        bin=bin_$side
        "${lock[@]}" "${!bin}" --benchmark_filter="$filter" --benchmark_min_time=0.2 \
            --benchmark_out="$root/$old-$new-$side-$r.json" --benchmark_out_format=json >/dev/null
    done
done
python3 - "$root" "$rounds" "$old" "$new" <<'EOF' | tee "$root/compare-$old-$new.txt"
import json, statistics, sys
root, rounds, old, new = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def times(side):
    t = {}
    for r in range(1, rounds + 1):
        for b in json.load(open(f"{root}/{old}-{new}-{side}-{r}.json"))["benchmarks"]:
            if b.get("run_type", "iteration") == "iteration":
                t.setdefault(b["name"], []).append(b["real_time"])
    return {k: statistics.median(v) for k, v in t.items()}
a, b = times("old"), times("new")
names = [n for n in a if n in b]
print(f"before {old}, after {new}: median of {rounds} alternating runs; speed = before/after time")
print(f"{'benchmark':60s} {'before':>12s} {'after':>12s} {'speed':>7s}")
fam = {}
for n in names:
    s = a[n] / b[n]
    fam.setdefault(n.split("/")[0], []).append(s)
    print(f"{n:60s} {a[n]:12.1f} {b[n]:12.1f} {s:7.3f}")
print("\nper family (geometric mean of speed, worst row):")
for f, v in fam.items():
    g = statistics.geometric_mean(v)
    print(f"  {f:24s} {g:6.3f}  (worst {min(v):.3f}, {len(v)} rows)")
EOF
