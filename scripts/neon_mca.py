#!/usr/bin/env python3
"""NEON speed estimated statically: every NEON micro-kernel's inner loops
through llvm-mca, as the library's own build compiles them.

    neon_mca.py CROSS_BUILD_DIR [--mca llvm-mca-19] [--cpus neoverse-n1,...]

CROSS_BUILD_DIR is a meson build for AArch64 (cross/aarch64-linux-gnu.ini);
each kernels/neon/*.c is compiled again with its exact command from
compile_commands.json, but to assembly (-S). In each function, every
innermost loop (a backward branch with no other backward branch inside)
holding at least 4 SIMD instructions is fed to llvm-mca, which predicts its
cycles per iteration on each CPU model. The loop's ideal is what its
busiest resource needs at the core's peak rate:

    ideal = max(FMLA-class ops / FMA rate, vector loads / load rate,
                vector stores / store rate, other SIMD ops / SIMD rate)

with the rates of the Arm Software Optimization Guides (128-bit ops per
cycle): Neoverse N1 2 FP/ASIMD pipes, 2 loads, 1 store (2 with pairs
split); V1 4 pipes, 3 loads, 2 stores; V2 4 pipes, 3 loads, 2 stores.
The report's "of peak" column is ideal / predicted: 1.00 means the loop
runs at its busiest unit's peak; less means dependency chains, port
conflicts or front-end limits that the timeline of `llvm-mca
--timeline` on that loop will show.

LLVM 14's neoverse-n1 is the Cortex-A57 model (half the FMLA rate):
use llvm-mca from LLVM 19 (Debian's llvm-19).
"""
import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

RATES = {   # cpu: (fma, simd, loads, stores) in 128-bit ops per cycle
    "neoverse-n1": (2, 2, 2, 1),
    "neoverse-v1": (4, 4, 3, 2),
    "neoverse-v2": (4, 4, 3, 2),
}
FMA = re.compile(r"^\s*(fmla|fmls|fmul|fadd|fsub|fmax|fmin|fdiv|frecps|frsqrts)\s+v", re.I)
VLOAD = re.compile(r"^\s*(ldr|ldp|ld1|ld1r|ld2|ld3|ld4|ldur|ld1rq)\s+(q|d|s|\{\s*v)", re.I)
VSTORE = re.compile(r"^\s*(str|stp|st1|st2|st3|st4|stur)\s+(q|d|s|\{\s*v)", re.I)
SIMD = re.compile(r"\bv\d+\.(4s|2s|2d|16b|8b|8h|4h|s\[|d\[|b\[|h\[)", re.I)
LABEL = re.compile(r"^(\.L\w+|[A-Za-z_]\w*):")
COND = "eq|ne|cs|cc|hs|lo|mi|pl|vs|vc|hi|ls|ge|lt|gt|le"
BRANCH = re.compile(r"^\s*(b\.?(?:%s)|cbnz|cbz|tbnz|tbz)\s+(?:\w+,\s*)*(?:#\d+,\s*)?(\.L\w+)\s*$" % COND)


def functions(asm):
    """{name: [lines]} of the global functions in gcc's assembly."""
    out, cur = {}, None
    for line in asm.splitlines():
        m = re.match(r"^([A-Za-z_]\w*):", line)
        if m and not m.group(1).startswith(".L"):
            cur = m.group(1)
            out[cur] = []
        elif cur is not None:
            if re.match(r"^\s*\.size\s", line):
                cur = None
            else:
                out[cur].append(line)
    return out


def loops(body):
    """Innermost loops: (start, end) line ranges, label line to branch."""
    where = {}
    for i, line in enumerate(body):
        m = LABEL.match(line)
        if m:
            where[m.group(1)] = i
    backs = []
    for i, line in enumerate(body):
        m = BRANCH.match(line)
        if m and m.group(2) in where and where[m.group(2)] < i:
            backs.append((where[m.group(2)], i))
    # Innermost, and no calls inside (a loop around a call is not a kernel
    # loop, and llvm-mca cannot see into the callee).
    return [(a, b) for a, b in backs
            if not any(a <= c and d <= b and (c, d) != (a, b) for c, d in backs)
            and not any(re.match(r"^\s*(bl|blr|ret)\b", l) for l in body[a:b + 1])]


def instructions(lines):
    return [l for l in lines if l.strip() and not l.strip().startswith((".", "//", "#"))
            and not LABEL.match(l)]


def mca(mca_bin, cpu, insns):
    with tempfile.NamedTemporaryFile("w", suffix=".s", delete=False) as f:
        f.write("\n".join(insns) + "\n")
        path = f.name
    try:
        r = subprocess.run([mca_bin, "-mtriple=aarch64", f"-mcpu={cpu}", "-iterations=200", path],
                           capture_output=True, text=True)
    finally:
        os.unlink(path)
    m = re.search(r"Total Cycles:\s+(\d+)", r.stdout)
    return int(m.group(1)) / 200.0 if m else None


def ideal(cpu, insns):
    fma, simd, ld, st = RATES[cpu]
    n_fma = sum(1 for l in insns if FMA.match(l))
    n_ld = sum(1 for l in insns if VLOAD.match(l)) + sum(1 for l in insns if re.match(r"^\s*ldp\s+q", l))
    n_st = sum(1 for l in insns if VSTORE.match(l)) + sum(1 for l in insns if re.match(r"^\s*stp\s+q", l))
    n_simd = sum(1 for l in insns if SIMD.search(l) and not (FMA.match(l) or VLOAD.match(l) or VSTORE.match(l)))
    return max(n_fma / fma, n_ld / ld, n_st / st, n_simd / simd), n_fma, n_ld, n_st


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--mca", default="llvm-mca-19")
    ap.add_argument("--cpus", default=",".join(RATES))
    ap.add_argument("--dump", help="print the loops of functions matching this regex")
    a = ap.parse_args()
    cpus = a.cpus.split(",")
    cmds = json.load(open(os.path.join(a.build, "compile_commands.json")))
    rows = []
    for e in sorted(cmds, key=lambda e: e["file"]):
        if "/kernels/neon/" not in e["file"] or "config-" in e["file"]:
            continue
        args = shlex.split(e["command"])
        out = args.index("-o")
        with tempfile.TemporaryDirectory() as td:
            s_path = os.path.join(td, "k.s")
            args[out + 1] = s_path
            # The build's command, to assembly: no -c, no dependency file.
            clean, skip = [], False
            for x in args:
                if skip:
                    skip = False
                elif x in ("-MQ", "-MF"):
                    skip = True
                elif x not in ("-c", "-MD", "-fdiagnostics-color=always"):
                    clean.append(x)
            subprocess.run(clean + ["-S"], cwd=e["directory"], check=True)
            asm = open(s_path).read()
        for fn, body in functions(asm).items():
            for nloop, (lo, hi) in enumerate(loops(body)):
                insns = instructions(body[lo:hi + 1])
                if sum(1 for l in insns if SIMD.search(l) or VLOAD.match(l) or VSTORE.match(l)) < 4:
                    continue
                if a.dump and re.search(a.dump, fn):
                    print(f"---- {fn} lines {lo}-{hi}\n" + "\n".join(insns))
                row = [os.path.basename(e["file"]), f"{fn} #{nloop}", len(insns)]
                for cpu in cpus:
                    pred = mca(a.mca, cpu, insns)
                    need, n_fma, n_ld, n_st = ideal(cpu, insns)
                    row += [pred, need]
                row += [n_fma, n_ld, n_st]
                rows.append(row)
    head = f"{'kernel file':34s} {'function, loop':44s} {'insns':>5s} {'fma':>4s} {'ld':>3s} {'st':>3s}"
    for cpu in cpus:
        head += f" | {cpu[9:]:>3s} cyc  ideal  of peak"
    print("NEON inner loops, llvm-mca predictions (cycles per iteration) against each core's peak")
    print(head)
    worst = []
    for r in rows:
        line = f"{r[0]:34s} {r[1][:44]:44s} {r[2]:5d} {r[-3]:4d} {r[-2]:3d} {r[-1]:3d}"
        for i in range(len(cpus)):
            pred, need = r[3 + 2 * i], r[4 + 2 * i]
            frac = need / pred if pred else float("nan")
            line += f" | {pred:7.2f} {need:6.2f} {frac:7.2f}"
            worst.append((frac, cpus[i], r[1]))
        print(line)
    worst.sort()
    print("\nlowest fractions of peak:", ", ".join(f"{f} on {c} {v:.2f}" for v, c, f in worst[:6]))


if __name__ == "__main__":
    sys.exit(main())
