#!/usr/bin/env python3
"""The benchmark report as charts: one PNG per family.

    bench_charts.py RESULTS.json [RESULTS-AVX2.json] OUTDIR

For each family (sgemm, conv2d, conv2d_bwd_data, ..., reduce, copy, unary,
tensor) a PNG OUTDIR/bench-<family>.png with two panels, one row per shape
(1-thread shapes only):
  left:  every implementation's rate (nabla in black);
  right: nabla's time advantage over the best peer of that shape
         (rate / best peer's rate; right of 1 = nabla leads), green where
         nabla leads and red where it trails, so where nabla stands can be
         read at a glance.
The reference backend (ref) and nabla's own micro-kernel rows are drawn but
are not peers. Needs matplotlib (Debian: python3-matplotlib).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_report  # noqa: E402  (the same loader as the text report)

import matplotlib  # noqa: E402
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

NOT_PEERS = {"nabla", "ref"}


def groups_of(results):
    fams = {}
    for name, (v, u) in results.items():
        parts = name.split("/")
        if len(parts) < 3 or parts[0] in ("machine", "ukernel", "vbinary", "optim"):
            continue
        shape = "/".join(parts[2:])
        if bench_report.is_multithread(shape):
            continue
        fams.setdefault(parts[0], {}).setdefault(shape, {})[parts[1]] = (v, u)
    return fams


def chart(family, shapes, out):
    names = list(shapes)
    impls = sorted({i for s in shapes.values() for i in s}, key=lambda i: (i != "nabla", i))
    fig_h = 1.0 + 0.42 * len(names) * max(1, len(impls)) / 3
    fig, (ax, axr) = plt.subplots(1, 2, figsize=(13, fig_h), gridspec_kw={"width_ratios": [3, 1]})
    unit = next(iter(next(iter(shapes.values())).values()))[1]
    # Rates in G<unit> (flop/s, B/s, items/s), for readable ticks.
    scale = 1e9
    h = 0.8 / max(1, len(impls))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, impl in enumerate(impls):
        ys, xs = [], []
        for i, s in enumerate(names):
            if impl in shapes[s]:
                ys.append(i + (k - (len(impls) - 1) / 2) * h)
                xs.append(shapes[s][impl][0] / scale)
        ax.barh(ys, xs, height=h, label=impl,
                color="black" if impl == "nabla" else colors[k % len(colors)],
                alpha=1.0 if impl == "nabla" else 0.75)
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("G" + unit)
    ax.set_title(f"{family}: rate per implementation (1 thread, median)")
    ax.legend(fontsize=7, loc="lower right")
    ratios = []
    for s in names:
        row = shapes[s]
        peers = [v for i, (v, u) in row.items() if i not in NOT_PEERS and v > 0]
        ratios.append(row["nabla"][0] / max(peers) if "nabla" in row and peers else None)
    vals = [r if r else 0 for r in ratios]
    axr.barh(range(len(names)), vals, color=["tab:green" if r and r >= 1 else "tab:red" for r in ratios])
    axr.axvline(1.0, color="black", linewidth=0.8)
    for i, r in enumerate(ratios):
        axr.text(max(vals + [1.0]) * 1.02, i, f"{r:.2f}x" if r else "no peer", va="center", fontsize=7)
    axr.set_yticks(range(len(names)))
    axr.set_yticklabels([])
    axr.invert_yaxis()
    axr.set_xlim(0, max(vals + [1.0]) * 1.25)
    axr.set_title("nabla / best peer", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    outdir = sys.argv[-1]
    results, big, labels = {}, {}, {}
    bench_report.load(sys.argv[1], results, big, labels)
    if len(sys.argv) > 3:
        bench_report.load(sys.argv[2], results, big, labels, bench_report.avx2_name)
    written = []
    for family, shapes in groups_of(results).items():
        out = os.path.join(outdir, f"bench-{family}.png")
        chart(family, shapes, out)
        written.append(out)
    print("charts: " + " ".join(written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
