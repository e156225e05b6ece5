#!/usr/bin/python3
"""PyTorch's side of bench/bench_steps.cc: the same training steps and tiny
ops, one thread, timed the same way (median of repetitions of a timed loop).

Rows (items/s, one step or one op per item), as nabla_bench names them:
  steps/pytorch/mlp_784_256_10_b128  Linear(784,256)-ReLU-Linear(256,10), batch 128
  steps/pytorch/cnn_8x8_b64          [64,1,8,8] Conv2d(1,16,3,p1)-ReLU-MaxPool2-
                                     Conv2d(16,32,3,p1)-ReLU-MaxPool2-Flatten-Linear(128,10)
  tiny/pytorch/{add,relu,sum}_4      a + b, relu(a), a.sum() on 4 float32 elements
Each step: forward, cross_entropy, zero_grad (set_to_none), backward, SGD(lr 0.01).

Usage: bench_torch_steps.py [--merge RESULTS.json] [--nabla RESULTS.json]
  --merge: append the rows to nabla_bench's JSON (Google Benchmark format:
           median aggregates), so scripts/bench_report.py prints them next
           to nabla's; without it, prints a table;
  --nabla: also print nabla's rows from that JSON and the time ratios.
Run timings under `flock /tmp/nabla-bench.lock` (scripts/run.sh does).
Needs Debian's python3-torch: run with /usr/bin/python3.
"""
import argparse
import json
import statistics
import sys
import time

try:
    import torch
except ImportError:
    print("bench_torch_steps: no torch for this python (python3-torch, /usr/bin/python3)", file=sys.stderr)
    sys.exit(0)


def mlp():
    return torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))


def cnn():
    n = torch.nn
    return n.Sequential(n.Conv2d(1, 16, 3, padding=1), n.ReLU(), n.MaxPool2d(2),
                        n.Conv2d(16, 32, 3, padding=1), n.ReLU(), n.MaxPool2d(2),
                        n.Flatten(), n.Linear(128, 10))


def step_fn(model, x):
    t = torch.tensor([(i * 7) % 10 for i in range(x.shape[0])])
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def step():
        y = model(x)
        loss = torch.nn.functional.cross_entropy(y, t)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return step


def tiny_fn(op):
    a = torch.tensor([1.0, -2.0, 3.0, -4.0])
    b = torch.full((4,), 0.5)
    return {"add": lambda: a + b, "relu": lambda: torch.relu(a), "sum": lambda: a.sum()}[op]


# CPU time of the calling thread, as Google Benchmark's cpu_time (the rate
# nabla_bench reports): on a shared machine wall time counts other
# processes' turns. torch runs on this thread (set_num_threads(1)).
clock = time.thread_time


def time_it(fn, min_time, reps):
    """Median CPU seconds per call over `reps` loops of at least min_time each."""
    for _ in range(3):
        fn()
    n = 1
    while True:   # calibrate the loop length
        t0 = clock()
        for _ in range(n):
            fn()
        dt = clock() - t0
        if dt >= min_time / 4:
            break
        n *= 4
    n = max(1, int(n * min_time / dt))
    per = []
    for _ in range(reps):
        t0 = clock()
        for _ in range(n):
            fn()
        per.append((clock() - t0) / n)
    return statistics.median(per), n


def rows():
    torch.manual_seed(7)
    yield "steps/pytorch/mlp_784_256_10_b128", step_fn(mlp(), torch.randn(128, 784))
    yield "steps/pytorch/cnn_8x8_b64", step_fn(cnn(), torch.randn(64, 1, 8, 8))
    for op in ("add", "relu", "sum"):
        yield f"tiny/pytorch/{op}_4", tiny_fn(op)


def entry(name, sec, n, reps):
    unit = "us" if sec > 1e-5 else "ns"
    scale = 1e6 if unit == "us" else 1e9
    return {"name": name + "_median", "run_name": name, "run_type": "aggregate", "aggregate_name": "median",
            "repetitions": reps, "iterations": n, "real_time": sec * scale, "cpu_time": sec * scale,
            "time_unit": unit, "items_per_second": 1.0 / sec}


def nabla_seconds(path):
    out = {}
    for b in json.load(open(path))["benchmarks"]:
        name = b.get("run_name", b["name"])
        if b.get("aggregate_name", "median") == "median" and "/nabla/" in name and "items_per_second" in b:
            out[name] = 1.0 / b["items_per_second"]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--merge")
    ap.add_argument("--nabla")
    ap.add_argument("--min-time", type=float, default=0.2)
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(1)
    results = [(name, *time_it(fn, a.min_time, a.reps)) for name, fn in rows()]
    ours = nabla_seconds(a.nabla) if a.nabla else {}
    print(f"# PyTorch {torch.__version__}, 1 thread, CPU time, median of {a.reps}")
    for name, sec, _ in results:
        twin = name.replace("/pytorch/", "/nabla/")
        line = f"{name:40s} {sec * 1e6:10.3f} us"
        if twin in ours:
            line += f"   nabla {ours[twin] * 1e6:10.3f} us   nabla/pytorch time {ours[twin] / sec:5.2f}x"
        print(line)
    if a.merge:
        data = json.load(open(a.merge))
        data["benchmarks"] = [b for b in data["benchmarks"] if "/pytorch/" not in b.get("run_name", b["name"])]
        data["benchmarks"] += [entry(name, sec, n, a.reps) for name, sec, n in results]
        json.dump(data, open(a.merge, "w"), indent=1)


if __name__ == "__main__":
    main()
