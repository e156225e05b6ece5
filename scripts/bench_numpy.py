#!/usr/bin/env python3
"""numpy's own SIMD loops as peers of nabla's elementwise benchmarks.

Times np.exp, np.log and np.tanh over 1M float32 (into a preallocated out=,
so only the ufunc loop is timed) and appends the medians to a Google
Benchmark JSON file as unary/numpy/<fn>/1048576, with the inputs of
bench/bench_unary.cc (exp/tanh in [-10, 10], log in (0, 100]). numpy picks
its best loop for the CPU (AVX-512 here); a second process with
NPY_DISABLE_CPU_FEATURES capping it at AVX2 gives unary_ymm/numpy/...
sigmoid and gelu have no numpy loop of their own and are not timed.
Without numpy (or its interpreter) it prints one line and changes nothing.
Usage: bench_numpy.py results.json            (merge into the file)
       bench_numpy.py --measure FAMILY        (internal: print JSON rows)
"""
import json
import os
import subprocess
import sys
import time
import timeit

N = 1 << 20
AVX512 = "AVX512F AVX512CD AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL"


def measure(family):
    import numpy as np
    rng = np.random.default_rng(7)
    x = rng.uniform(-1.0, 1.0, N).astype(np.float32)
    inputs = {"exp": 10.0 * x, "tanh": 10.0 * x, "log": 50.0 * (x + 1.0001)}
    out = np.empty(N, np.float32)
    rows = []
    for fn, arg in inputs.items():
        f = getattr(np, fn)
        arg = arg.astype(np.float32)
        f(arg, out=out)
        # CPU time, as Google Benchmark's rates (the machine may be shared)
        reps = timeit.repeat(lambda: f(arg, out=out), number=20, repeat=7, timer=time.process_time)
        t = sorted(reps)[len(reps) // 2] / 20
        rows.append({"name": f"{family}/numpy/{fn}/{N}", "run_name": f"{family}/numpy/{fn}/{N}",
                     "run_type": "aggregate", "aggregate_name": "median", "repetitions": 7,
                     "real_time": t * 1e6, "cpu_time": t * 1e6, "time_unit": "us",
                     "items_per_second": N / t, "label": f"numpy {np.__version__}"})
    print(json.dumps(rows))


def run(family, env):
    r = subprocess.run([sys.executable, __file__, "--measure", family], env=env,
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip().splitlines()[-1] if r.stderr else "failed")
    return json.loads(r.stdout)


def main(path):
    try:
        import numpy  # noqa: F401
    except ImportError:
        print(f"numpy peers: skipped (no numpy for {sys.executable})")
        return
    data = json.load(open(path))
    rows = run("unary", dict(os.environ))
    if any(b["name"].startswith("unary_ymm/") for b in data["benchmarks"]):
        rows += run("unary_ymm", dict(os.environ, NPY_DISABLE_CPU_FEATURES=AVX512))
    data["benchmarks"] += rows
    json.dump(data, open(path, "w"), indent=1)
    print(f"numpy peers: {len(rows)} rows added to {path}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--measure":
        measure(sys.argv[2])
    else:
        main(sys.argv[1])
