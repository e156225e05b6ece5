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

    ideal = max(FMLA-class ops / FMA rate, loads / load rate,
                stores / store rate, other SIMD ops / SIMD rate,
                restricted-pipe cycles)

with the rates of the Arm Software Optimization Guides (128-bit ops per
cycle): Neoverse N1 2 FP/ASIMD pipes, 2 loads, 1 store of 16 bytes (2
of 8 bytes or less); V1 4 pipes, 3 loads, 2 stores; V2 4 pipes, 3 loads,
2 stores.
(LLVM 19's N1 model also makes a Q-form STR take both load/store pipes, so
loads and Q stores share 2 slots a cycle there: a streaming loop with 2
loads per store, e.g. y = a + b, reads about 0.5 on N1 for that reason.)
The SIMD count includes the ASIMD micro-op of lane loads, LD1R and the data
of SIMD&FP register stores. The ideal is a count, not a schedule: where the
model places those micro-ops better than the count assumes (V1 and V2 put
store data on V0/V1 only, but not every store pays it), a loop can read a
little above 1.00 (the 4x4 transpose, 1.08 on V1).
The report's "of peak" column is ideal / predicted: 1.00 means the loop
runs at its busiest unit's peak; less means dependency chains, port
conflicts or front-end limits that the timeline of `llvm-mca
--timeline` on that loop will show.

The ideal also counts the units that are not fully pipelined or that
only some pipes have: the FP divider and square root (FDIV, FSQRT) and the
conversions, roundings and estimates (FCVT*, SCVTF/UCVTF, FRINT*, FRECPE,
FRSQRTE). On N1 they all issue to V0 alone; on V1 and V2 to V0 and V2. The
cost of each, in cycles of that pipe group per instruction (UNITS below), is
the "execution throughput" of the Arm Neoverse N1 / V1 / V2 Software
Optimization Guides (ASIMD and FP divide, square root, convert, round and
reciprocal-estimate rows), as LLVM 19's scheduling models encode them
(llvm/lib/Target/AArch64/AArch64SchedNeoverse{N1,V1,V2}.td, which cite those
guides; e.g. N1 FDIV Q-form F32 holds V0 7 cycles). `--check-units` asks
llvm-mca for each of them and fails on a mismatch. So a divide loop at the
divider's rate reads 1.00.

Two more things:
- A store with base-register writeback (`str q0, [x1], 16`, `stp ...,
  [x1, 32]!`) becomes the store plus an `add` of the base. llvm-mca issues
  an instruction only when all its inputs are ready, so it makes the new
  base wait for the stored data, and an in-place loop (load y, compute,
  store y with writeback) turns into one serial chain (18 cycles per
  iteration for the softmax scaling). The cores update the base in a
  micro-op of its own that reads only the old base (the guides count an
  extra micro-op for writeback forms; LLVM's models give the base its own
  write, WriteAdr), so the split is what they execute. Loads need no
  split: their only input is the base.
- Each loop is tied to its C lines (gcc -g, which does not change the
  code gcc generates, gives the .loc directives inside it); the report
  shows the first, file:line. A loop one of whose lines, or the comment
  block right above one, opens a comment with "Tail" is a once-per-call
  remainder loop (a few iterations per call at most): it is labelled
  "tail" and left out of the "lowest fractions" line, which lists the
  steady-state loops; the lowest tails get their own line.

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

RATES = {   # cpu: (fma, simd, loads, stores, narrow stores) per cycle
    "neoverse-n1": (2, 2, 2, 1, 2),
    "neoverse-v1": (4, 4, 3, 2, 2),
    "neoverse-v2": (4, 4, 3, 2, 2),
}
# Units that are not fully pipelined or that only some pipes have: cycles
# of the core's restricted pipe group (N1: V0; V1, V2: V0 and V2, the cost
# given per instruction over both) that one instruction holds. Source: the
# Arm Neoverse N1 / V1 / V2 Software Optimization Guides (execution
# throughput of the ASIMD/FP divide, square root, convert, round and
# reciprocal-estimate rows), as encoded in LLVM 19's scheduling models;
# --check-units compares every entry with llvm-mca's own figure.
#   pattern (mnemonic and operand shape)       N1    V1    V2
_U = [
    (r"fdiv\s+v\d+\.4s", "fdiv v0.4s, v1.4s, v2.4s",   7.0,  3.5,  5.0),
    (r"fdiv\s+v\d+\.2s", "fdiv v0.2s, v1.2s, v2.2s",   7.0,  3.5,  2.5),
    (r"fdiv\s+v\d+\.2d", "fdiv v0.2d, v1.2d, v2.2d",   7.0,  3.5,  7.0),
    (r"fdiv\s+s\d+",     "fdiv s0, s1, s2",            7.0,  3.5,  1.0),
    (r"fdiv\s+d\d+",     "fdiv d0, d1, d2",            7.0,  3.5,  4.0),
    (r"fsqrt\s+v\d+\.4s", "fsqrt v0.4s, v1.4s",        7.0,  3.5,  4.5),
    (r"fsqrt\s+v\d+\.2s", "fsqrt v0.2s, v1.2s",        7.0,  3.5,  2.5),
    (r"fsqrt\s+v\d+\.2d", "fsqrt v0.2d, v1.2d",        7.0,  3.5,  7.5),
    (r"fsqrt\s+s\d+",     "fsqrt s0, s1",              7.0,  3.5,  1.0),
    (r"fsqrt\s+d\d+",     "fsqrt d0, d1",              7.0,  3.5,  4.0),
    (r"fcvt[ln]2?\s+v",   "fcvtl v0.2d, v1.2s",        1.0,  0.5,  0.5),
    (r"([fsu]cvt[amnpz][su]|[su]cvtf|frint[aimnpxz]|frecpe|frsqrte)\s+v\d+\.4s",
     "fcvtzs v0.4s, v1.4s",                            2.0,  1.0,  1.0),
    (r"([fsu]cvt[amnpz][su]|[su]cvtf|frint[aimnpxz])\s+v\d+\.(2s|2d)",
     "frintn v0.2s, v1.2s",                            1.0,  0.5,  0.5),
]
UNITS = {cpu: [(re.compile(r"^\s*" + u[0], re.I), u[1], u[2 + k]) for u in _U]
         for k, cpu in enumerate(RATES)}

FMA = re.compile(r"^\s*(fmla|fmls|fmul|fadd|fsub|fmax|fmin|fdiv|frecps|frsqrts)\s+v", re.I)
# Every load and store counts against the load and store rates, general
# register ones too (a partial panel zero-filled with `str wzr` is bound by
# its stores like any other); LDP/STP of Q registers count twice.
VLOAD = re.compile(r"^\s*(ldr|ldp|ld1|ld1r|ld2|ld3|ld4|ldur|ld1rq|ldrs?[bhw]|ldurs?[bhw])\s+([qdswx]\d|[wx]zr|\{\s*v)", re.I)
VSTORE = re.compile(r"^\s*(str|stp|st1|st2|st3|st4|stur|str[bh]|stur[bh])\s+([qdswx]\d|[wx]zr|\{\s*v)", re.I)
SIMD = re.compile(r"\bv\d+\.(4s|2s|2d|16b|8b|8h|4h|s\[|d\[|b\[|h\[)", re.I)
LABEL = re.compile(r"^(\.L\w+|[A-Za-z_]\w*):")
COND = "eq|ne|cs|cc|hs|lo|mi|pl|vs|vc|hi|ls|ge|lt|gt|le"
BRANCH = re.compile(r"^\s*(b\.?(?:%s)|cbnz|cbz|tbnz|tbz)\s+(?:\w+,\s*)*(?:#\d+,\s*)?(\.L\w+)\s*$" % COND)
# Stores with base writeback: post-index "[xN], imm|xM" and pre-index "[xN, imm]!".
ST_POST = re.compile(r"^(\s*st\w*\s+.*)\[(x\d+|sp)\],\s*#?(-?\w+)\s*$", re.I)
ST_PRE = re.compile(r"^(\s*st\w*\s+.*)\[(x\d+|sp),\s*#?(-?\d+)\]!\s*$", re.I)
LANE_LOAD = re.compile(r"^\s*(ld[1-4]r\s|ld[1-4]\s+\{[^}]*\}\[)", re.I)
TAIL = re.compile(r"(/\*|//)\s*tail\b", re.I)


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


def split_writeback(insns):
    """Stores with base writeback as the store plus an add of the base (see
    the module comment: the cores update the base apart from the data)."""
    out = []
    for l in insns:
        m, p = ST_POST.match(l), ST_PRE.match(l)
        if m:
            out += [f"{m.group(1)}[{m.group(2)}]", f"\tadd\t{m.group(2)}, {m.group(2)}, {m.group(3)}"]
        elif p:
            out += [f"\tadd\t{p.group(2)}, {p.group(2)}, {p.group(3)}", f"{p.group(1)}[{p.group(2)}]"]
        else:
            out.append(l)
    return out


def source_lines(asm, build_dir):
    """{.file number: path} of gcc's -g assembly (paths as the build sees them)."""
    files = {}
    for m in re.finditer(r'^\s*\.file\s+(\d+)\s+(?:"[^"]*"\s+)?"([^"]+)"\s*$', asm, re.M):
        files[int(m.group(1))] = os.path.normpath(os.path.join(build_dir, m.group(2)))
    return files


def loop_source(body, lo, hi, files, main):
    """(path, lines) of a loop: the kernel's own file and its lines among the
    .loc directives inside the loop, else the file of the loop's last .loc
    (a loop of a helper in a header) and its lines there."""
    locs = [(files.get(int(m.group(1))), int(m.group(2)))
            for m in (re.match(r"^\s*\.loc\s+(\d+)\s+(\d+)", l) for l in body[lo:hi + 1]) if m]
    path = main if any(f == main for f, _ in locs) else (locs[-1][0] if locs else None)
    return path, sorted({ln for f, ln in locs if f == path and ln > 0})


_SRC = {}


def is_tail(path, lines):
    """One of the loop's C lines, or the comment block right above it, opens
    a comment with "Tail" (see the module comment)."""
    if not path or not lines:
        return False
    if path not in _SRC:
        try:
            _SRC[path] = open(path).read().splitlines()
        except OSError:
            _SRC[path] = []
    src = _SRC[path]
    for line in lines:
        if not 0 < line <= len(src):
            continue
        if TAIL.search(src[line - 1]):
            return True
        i = line - 2
        while i >= 0 and (src[i].strip().startswith(("/*", "*", "//")) or src[i].rstrip().endswith("*/")):
            if TAIL.search(src[i]):
                return True
            i -= 1
    return False


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
    fma, simd, ld, st, st_narrow = RATES[cpu]
    n_fma = sum(1 for l in insns if FMA.match(l))
    n_ld = sum(1 for l in insns if VLOAD.match(l)) + sum(1 for l in insns if re.match(r"^\s*ldp\s+q", l))
    n_st = sum(1 for l in insns if VSTORE.match(l)) + sum(1 for l in insns if re.match(r"^\s*stp\s+q", l))
    # N1 stores 16 bytes a cycle: one Q store, or two of 8 bytes or less.
    n_st_q = sum(1 for l in insns if re.match(r"^\s*(st[rp]|stur)\s+q|^\s*st[1-4]\s+\{\s*v\d+\.(4s|2d|16b|8h)", l))
    n_st_q += sum(1 for l in insns if re.match(r"^\s*stp\s+q", l))
    # A lane load or a load-and-replicate (LD1 {v.s}[i], LD1R) also takes an
    # ASIMD pipe for the insert (L + V in all three guides), as does the data
    # of a store from a SIMD&FP register.
    n_simd = sum(1 for l in insns if SIMD.search(l) and not (FMA.match(l) or VLOAD.match(l) or VSTORE.match(l)))
    n_simd += sum(1 for l in insns if LANE_LOAD.match(l))
    n_simd += sum(1 for l in insns if re.match(r"^\s*(st[rp]|stur|st[1-4])\s+([qds]\d|\{\s*v)", l, re.I))
    n_simd += sum(1 for l in insns if re.match(r"^\s*stp\s+[qds]\d", l, re.I))
    unit = sum(next((c for rx, _, c in UNITS[cpu] if rx.match(l)), 0.0) for l in insns)
    st_time = n_st_q / st + (n_st - n_st_q) / st_narrow
    return max(n_fma / fma, n_ld / ld, st_time, n_simd / simd, unit), n_fma, n_ld, n_st


def check_units(mca_bin):
    """Each UNITS entry against llvm-mca's reciprocal throughput of it."""
    bad = 0
    for cpu, units in UNITS.items():
        for _, sample, cycles in units:
            with tempfile.NamedTemporaryFile("w", suffix=".s", delete=False) as f:
                f.write(sample + "\n")
                path = f.name
            r = subprocess.run([mca_bin, "-mtriple=aarch64", f"-mcpu={cpu}", "-iterations=100",
                                "-instruction-info", path], capture_output=True, text=True)
            os.unlink(path)
            m = re.search(r"Instructions:\n\s*\d+\s+\d+\s+([\d.]+)", r.stdout)
            got = float(m.group(1)) if m else None
            ok = got is not None and abs(got - cycles) < 0.01
            bad += not ok
            print(f"{cpu:12s} {sample:28s} table {cycles:5.2f}  llvm-mca {got}  {'ok' if ok else 'MISMATCH'}")
    return 1 if bad else 0


def assembly(e):
    """gcc's -g assembly of one compile_commands.json entry: the build's
    command, to assembly (no -c, no dependency file)."""
    args = shlex.split(e["command"])
    out = args.index("-o")
    with tempfile.TemporaryDirectory() as td:
        s_path = os.path.join(td, "k.s")
        args[out + 1] = s_path
        clean, skip = [], False
        for x in args:
            if skip:
                skip = False
            elif x in ("-MQ", "-MF"):
                skip = True
            elif x not in ("-c", "-MD", "-fdiagnostics-color=always"):
                clean.append(x)
        subprocess.run(clean + ["-S", "-g"], cwd=e["directory"], check=True)
        return open(s_path).read()


def report(rows, cpus):
    head = f"{'kernel file':34s} {'function, loop':44s} {'C line':34s} {'insns':>5s} {'fma':>4s} {'ld':>3s} {'st':>3s}"
    for cpu in cpus:
        head += f" | {cpu[9:]:>3s} cyc  ideal  of peak"
    print("NEON inner loops, llvm-mca predictions (cycles per iteration) against each core's peak")
    print("(\"tail\": a once-per-call remainder loop, see scripts/neon_mca.py)")
    print(head)
    worst, tails = [], []
    for r in rows:
        line = f"{r['file']:34s} {r['loop'][:44]:44s} {r['where']:34s} {r['n']:5d} {r['fma']:4d} {r['ld']:3d} {r['st']:3d}"
        for cpu, (pred, need) in zip(cpus, r["cyc"]):
            frac = need / pred if pred else float("nan")
            line += f" | {pred:7.2f} {need:6.2f} {frac:7.2f}"
            (tails if r["tail"] else worst).append((frac, cpu, r["loop"]))
        print(line + ("  tail" if r["tail"] else ""))
    for name, lst in (("lowest fractions of peak", worst), ("lowest among tails", tails)):
        lst.sort()
        print(f"\n{name}:", ", ".join(f"{f} on {c} {v:.2f}" for v, c, f in lst[:6]), end="")
    print()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?")
    ap.add_argument("--mca", default="llvm-mca-19")
    ap.add_argument("--cpus", default=",".join(RATES))
    ap.add_argument("--dump", help="print the loops of functions matching this regex")
    ap.add_argument("--check-units", action="store_true", help="check UNITS against llvm-mca")
    a = ap.parse_args()
    if a.check_units:
        return check_units(a.mca)
    if not a.build:
        ap.error("CROSS_BUILD_DIR is required")
    cpus = a.cpus.split(",")
    cmds = json.load(open(os.path.join(a.build, "compile_commands.json")))
    rows = []
    for e in sorted(cmds, key=lambda e: e["file"]):
        if "/kernels/neon/" not in e["file"] or "config-" in e["file"]:
            continue
        asm = assembly(e)
        files = source_lines(asm, e["directory"])
        for fn, body in functions(asm).items():
            for nloop, (lo, hi) in enumerate(loops(body)):
                insns = instructions(body[lo:hi + 1])
                if sum(1 for l in insns if SIMD.search(l) or VLOAD.match(l) or VSTORE.match(l)) < 4:
                    continue
                path, lines = loop_source(body, lo, hi, files, os.path.normpath(os.path.join(e["directory"], e["file"])))
                fed = split_writeback(insns)
                if a.dump and re.search(a.dump, fn):
                    print(f"---- {fn} #{nloop} ({path}:{lines[:1]})\n" + "\n".join(fed))
                r = {"file": os.path.basename(e["file"]), "loop": f"{fn} #{nloop}", "n": len(insns),
                     "where": f"{os.path.basename(path or '?')}:{lines[0] if lines else 0}",
                     "tail": is_tail(path, lines),
                     "cyc": []}
                for cpu in cpus:
                    need, r["fma"], r["ld"], r["st"] = ideal(cpu, insns)
                    r["cyc"].append((mca(a.mca, cpu, fed), need))
                rows.append(r)
    report(rows, cpus)


if __name__ == "__main__":
    sys.exit(main())
