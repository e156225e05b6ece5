#!/usr/bin/env python3
"""Turn nabla_bench's JSON (Google Benchmark) into the ratio report.

Benchmarks are named <family>/<impl>/<shape...>. For every family and shape
the report lists each implementation's rate (median of the repetitions) and
the ratios that the targets are stated in: nabla vs each peer measured in
the same run, and nabla vs the machine's limits measured in the same run
(machine/peak/fma for flop rates, machine/read and machine/memcpy for byte
rates). A row that carries its own read-bandwidth reference (counter
read_bw: the read probe over the same buffer, alternated with the kernel,
bench/bench_reduce.cc) is measured against that one instead, "% of read bw
(same buf)".
Machine ratios are printed only where they mean something: % of FMA peak
for single-thread flop rates, % of bandwidth for single-thread byte rates
whose working set (bytes per iteration) is larger than the last-level
cache. Multi-thread entries (`_t2`, `/real_time`, all threads) are compared
with the same implementation's single-thread entry instead. The tensor
family counts bytes read + written, so it is compared with memcpy's
traffic (twice its rate, which counts the bytes read).
The optional second file is the same-ISA run for the AVX2 targets: nabla
forced to AVX2 (NABLA_ISA=avx2) and oneDNN capped at AVX2
(DNNL_MAX_CPU_ISA=AVX2, scripts/run.sh). Its conv entries become families
of their own, conv2d*_avx2, so their ratios compare the two at AVX2
(everything else in it is ignored). A row too wide for one line puts its ratios on a second,
indented line.
Usage: bench_report.py results.json [results-avx2.json]
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


UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
DRAM_BYTES = 48 << 20     # beyond the 32 MiB L3 of the machines we measure on


def bytes_per_iteration(b):
    if "bytes_per_second" not in b:
        return None
    t = b["real_time"] if "real_time" in b.get("run_name", b["name"]) else b["cpu_time"]
    return b["bytes_per_second"] * t * UNIT_SECONDS.get(b.get("time_unit", "ns"), 1e-9)


def is_multithread(shape):
    return "_t2" in shape or "real_time" in shape


def single_thread_twin(shape):
    """The single-thread shape name matching a multi-thread one, if any."""
    if "_t2" in shape:
        return shape.split("_t2")[0]
    if "real_time" in shape:
        return shape.replace("real_time", "t1")
    return None


def human(v, unit):
    for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if v >= scale:
            return f"{v / scale:7.2f} {prefix}{unit}"
    return f"{v:7.2f} {unit}"


WIDTH = 144               # longest row kept on one line


def load(path, results, big, labels, rename=None, own_read=None):
    """Add the median rate of every entry of `path` to `results` (and its
    working-set flag to `big`, its label to `labels`), under the name
    rename(name) returns; entries it returns None for are skipped."""
    data = json.load(open(path))
    have_median = any(b.get("aggregate_name") == "median" for b in data["benchmarks"])
    for b in data["benchmarks"]:
        if b.get("error_occurred"):
            continue
        if have_median and b.get("run_type") == "iteration" and b.get("repetitions", 1) > 1:
            continue
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        name = b.get("run_name", b["name"])
        if rename:
            name = rename(name)
            if name is None:
                continue
        v, u = rate(b)
        if v is not None:
            results[name] = (v, u)
            big[name] = (bytes_per_iteration(b) or 0) >= DRAM_BYTES
            labels[name] = b.get("label", "")
            if own_read is not None and b.get("read_bw"):
                own_read[name] = b["read_bw"]
    return data.get("context", {})


def avx2_name(name):
    """conv2d*/<impl>/<layer> -> conv2d*_avx2/<impl>/<layer> (nabla, oneDNN)."""
    parts = name.split("/")
    if len(parts) < 3 or not parts[0].startswith("conv2d") or parts[1] not in ("nabla", "onednn", "onednn_nchw"):
        return None
    return "/".join([parts[0] + "_avx2"] + parts[1:])


def main(path, avx2_path=None):
    results = OrderedDict()   # name -> (value, unit)
    big = {}                  # name -> working set beyond the last-level cache
    labels = {}               # name -> benchmark label (oneDNN: the ISA it ran)
    own_read = {}             # name -> its own read-bandwidth reference (B/s)
    ctx = load(path, results, big, labels, own_read=own_read)
    if avx2_path:
        load(avx2_path, results, big, labels, avx2_name)

    peak = peak256 = results.get("machine/peak/fma", (None, None))[0]
    # Where AVX-512 ran, nabla's rates are measured against the 512-bit peak.
    peak512 = results.get("machine/peak/fma512", (None, None))[0]
    if peak512:
        peak = peak512
    read_bw = next((v for k, (v, u) in results.items() if k.startswith("machine/read/")), None)
    # ... and against the read bandwidth with 512-bit loads.
    read512 = next((v for k, (v, u) in results.items() if k.startswith("machine/read512/")), None)
    if read512:
        read_bw = read512
    copy_bw = next((v for k, (v, u) in results.items() if k.startswith("machine/memcpy/")), None)

    print(f"# nabla benchmark report ({ctx.get('date', '')}, {ctx.get('num_cpus', '?')} CPUs, "
          f"{ctx.get('mhz_per_cpu', '?')} MHz)")
    print(f"machine: FMA peak {human(peak, 'flop/s') if peak else 'n/a'} (1 core"
          f"{', 512-bit' if peak512 else ''}), "
          f"read {human(read_bw, 'B/s') if read_bw else 'n/a'}, "
          f"memcpy {human(copy_bw, 'B/s') if copy_bw else 'n/a'}")
    # A cap oneDNN ignored would make the _avx2 peers AVX-512 in disguise.
    isas = {next((t for t in labels[k].split() if t.startswith("isa=")), "isa unknown")
            for k in results if k.split("/")[0].endswith("_avx2") and "/onednn" in k}
    if isas - {"isa=avx2"}:
        print(f"WARNING: the conv2d*_avx2 oneDNN entries did not all run on AVX2 ({', '.join(sorted(isas))})")

    groups = OrderedDict()    # (family, shape) -> {impl: (v, u)}
    for name, vu in results.items():
        parts = name.split("/")
        if len(parts) < 3 or parts[0] == "machine":
            continue
        family, impl, shape = parts[0], parts[1], "/".join(parts[2:])
        groups.setdefault((family, shape), OrderedDict())[impl] = vu + (big.get(name, False),)

    # One heading per family: rows of a family stay together even where the
    # benchmark binary interleaves them (the _t2 rows, the _ymm rows).
    families = list(OrderedDict.fromkeys(f for f, _ in groups))
    ordered = [(key, groups[key]) for fam in families for key in groups if key[0] == fam]
    last_family = None
    for (family, shape), impls in ordered:
        if family != last_family:
            print(f"\n## {family}")
            last_family = family
        cells = [f"{impl} {human(v, u)}" for impl, (v, u, _) in impls.items()]
        ratios = []
        if "nabla" in impls:
            nv, nu, nbig = impls["nabla"]
            for impl, (v, u, _) in impls.items():
                if impl != "nabla" and u == nu and v > 0:
                    ratios.append(f"{nv / v:5.2f}x {impl}")
            # Prepacked weights against the peers that prepare theirs once too.
            if "nabla_packed" in impls:
                pv, pu, _ = impls["nabla_packed"]
                for impl, (v, u, _) in impls.items():
                    if (impl.startswith("onednn") or impl == "xnnpack") and u == pu and v > 0:
                        ratios.append(f"packed {pv / v:5.2f}x {impl}")
            if is_multithread(shape):
                base = single_thread_twin(shape) or ""
                # The 1-thread row may carry a suffix of its own (/iterations:3).
                key = next((k for k in groups if k[0] == family and (k[1] == base or k[1].startswith(base + "/"))),
                           None)
                twin = groups.get(key, {}).get("nabla") if key else None
                if twin and twin[0] > 0:
                    ratios.append(f"{nv / twin[0]:5.2f}x its 1 thread")
            else:
                # The AVX2 families are held to the 256-bit peak.
                fam_peak = peak256 if family.endswith("_avx2") else peak
                if nu == "flop/s" and fam_peak:
                    ratios.append(f"{100 * nv / fam_peak:5.1f}% of peak")
                if family == "tensor":
                    # tensor/ counts bytes read + written; memcpy/ only the reads.
                    if nu == "B/s" and nbig and copy_bw:
                        ratios.append(f"{100 * nv / (2 * copy_bw):5.1f}% of memcpy traffic")
                else:
                    own = own_read.get(f"{family}/nabla/{shape}")
                    if nu == "B/s" and nbig and own:
                        ratios.append(f"{100 * nv / own:5.1f}% of read bw (same buf)")
                    elif nu == "B/s" and nbig and read_bw:
                        ratios.append(f"{100 * nv / read_bw:5.1f}% of read bw")
                    if nu == "B/s" and nbig and copy_bw:
                        ratios.append(f"{100 * nv / copy_bw:5.1f}% of memcpy bw")
        line = f"{shape:>24}: " + ", ".join(cells)
        if ratios and len(line) + 5 + len(", ".join(ratios)) > WIDTH:
            print(line)
            line = " " * 24 + "  "
        print(line + ("  |  " + ", ".join(ratios) if ratios else ""))


if __name__ == "__main__":
    main(*sys.argv[1:3])
