#!/usr/bin/env python3
"""Turn nabla_bench's JSON (Google Benchmark) into the ratio report.

Benchmarks are named <family>/<impl>/<shape...>. For every family and shape
the report lists each implementation's rate (median of the repetitions) and
the ratios that the targets are stated in: nabla vs each peer measured in
the same run, and nabla vs the machine's limits measured in the same run
(machine/peak/fma for flop rates, machine/read and machine/memcpy for byte
rates).
Usage: bench_report.py results.json
"""
import json
import sys
from collections import OrderedDict


def rate(b):
    """(value, unit) of a benchmark entry: FLOPS, bytes/s or items/s."""
    if "FLOPS" in b:
        return b["FLOPS"], "flop/s"
    if "bytes_per_second" in b:
        return b["bytes_per_second"], "B/s"
    if "items_per_second" in b:
        return b["items_per_second"], "items/s"
    return None, None


def human(v, unit):
    for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if v >= scale:
            return f"{v / scale:7.2f} {prefix}{unit}"
    return f"{v:7.2f} {unit}"


def main(path):
    data = json.load(open(path))
    ctx = data.get("context", {})
    results = OrderedDict()   # name -> (value, unit)
    have_median = any(b.get("aggregate_name") == "median" for b in data["benchmarks"])
    for b in data["benchmarks"]:
        if b.get("error_occurred"):
            continue
        if have_median and b.get("run_type") == "iteration" and b.get("repetitions", 1) > 1:
            continue
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        name = b.get("run_name", b["name"])
        v, u = rate(b)
        if v is not None:
            results[name] = (v, u)

    peak = results.get("machine/peak/fma", (None, None))[0]
    read_bw = next((v for k, (v, u) in results.items() if k.startswith("machine/read/")), None)
    copy_bw = next((v for k, (v, u) in results.items() if k.startswith("machine/memcpy/")), None)

    print(f"# nabla benchmark report ({ctx.get('date', '')}, {ctx.get('num_cpus', '?')} CPUs, "
          f"{ctx.get('mhz_per_cpu', '?')} MHz)")
    print(f"machine: FMA peak {human(peak, 'flop/s') if peak else 'n/a'} (1 core), "
          f"read {human(read_bw, 'B/s') if read_bw else 'n/a'}, "
          f"memcpy {human(copy_bw, 'B/s') if copy_bw else 'n/a'}")

    groups = OrderedDict()    # (family, shape) -> {impl: (v, u)}
    for name, vu in results.items():
        parts = name.split("/")
        if len(parts) < 3 or parts[0] == "machine":
            continue
        family, impl, shape = parts[0], parts[1], "/".join(parts[2:])
        groups.setdefault((family, shape), OrderedDict())[impl] = vu

    last_family = None
    for (family, shape), impls in groups.items():
        if family != last_family:
            print(f"\n## {family}")
            last_family = family
        cells = [f"{impl} {human(v, u)}" for impl, (v, u) in impls.items()]
        ratios = []
        if "nabla" in impls:
            nv, nu = impls["nabla"]
            for impl, (v, u) in impls.items():
                if impl != "nabla" and u == nu and v > 0:
                    ratios.append(f"{nv / v:5.2f}x {impl}")
            if nu == "flop/s" and peak:
                ratios.append(f"{100 * nv / peak:5.1f}% of peak")
            if nu == "B/s" and read_bw:
                ratios.append(f"{100 * nv / read_bw:5.1f}% of read bw")
            if nu == "B/s" and copy_bw:
                ratios.append(f"{100 * nv / copy_bw:5.1f}% of memcpy bw")
        print(f"{shape:>24}: " + ", ".join(cells) + ("  |  " + ", ".join(ratios) if ratios else ""))


if __name__ == "__main__":
    main(sys.argv[1])
