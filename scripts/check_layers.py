#!/usr/bin/env python3
"""The library's layering, checked on the sources and on a build.

    check_layers.py ROOT [LIBNABLA.a]

1. Files under kernels/ include, from src/, only the micro-kernel contract
   src/ukernel.h (and nb_config.h, which the build writes).
2. No include cycle among the headers of src/ and no call cycle among the
   object files of src/ (from `nm` on the static library: a file that uses
   a symbol another defines depends on it), outside the tensor, autograd and
   nn layers, whose graph and tensors call each other by design.
3. OpenMP pragmas appear only in src/parallel.c: every threaded loop goes
   through its team runner (src/parallel.h).
Prints each violation; exit 1 if there is any.
"""
import os
import re
import subprocess
import sys

root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
lib = sys.argv[2] if len(sys.argv) > 2 else None
INC = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
UPPER = ("tensor/", "autograd/", "nn/")
bad = []

src_headers = {f for f in os.listdir(os.path.join(root, "src")) if f.endswith(".h")}
for isa in sorted(os.listdir(os.path.join(root, "kernels"))):
    d = os.path.join(root, "kernels", isa)
    for f in sorted(os.listdir(d)):
        if not f.endswith((".c", ".h")):
            continue
        for inc in INC.findall(open(os.path.join(d, f)).read()):
            if inc in ("ukernel.h", "nb_config.h") or os.path.exists(os.path.join(d, inc)):
                continue
            where = "src/" + inc if inc in src_headers else inc
            bad.append(f"kernels/{isa}/{f} includes {where}: kernels/ may include only src/ukernel.h")

OMP = re.compile(r'^\s*#\s*pragma\s+omp\b', re.M)
for top in ("src", "kernels", "ref"):
    for dirpath, _, files in os.walk(os.path.join(root, top)):
        for f in sorted(files):
            rel = os.path.relpath(os.path.join(dirpath, f), root)
            if f.endswith((".c", ".h")) and rel != os.path.join("src", "parallel.c") \
                    and OMP.search(open(os.path.join(dirpath, f)).read()):
                bad.append(f"{rel} has an OpenMP pragma: threaded loops go through src/parallel.h")


def cycles(graph):
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]; n[0] += 1
        stack.append(v); on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w); low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))
    sys.setrecursionlimit(10000)
    for v in list(graph):
        if v not in index:
            visit(v)
    return out


inc_graph = {}
for f in sorted(src_headers):
    deps = {i for i in INC.findall(open(os.path.join(root, "src", f)).read()) if i in src_headers and i != f}
    inc_graph[f] = deps
for comp in cycles(inc_graph):
    bad.append("include cycle among src/ headers: " + " -> ".join(comp))

if lib:
    out = subprocess.run(["nm", "-A", lib], capture_output=True, text=True, check=True).stdout
    defs, uses = {}, {}
    for line in out.splitlines():
        m = re.match(r"^[^:]*:([^:]+\.o):\s*(?:[0-9a-fA-F]+)?\s+([A-Za-z])\s+(\S+)$", line)
        if not m:
            continue
        obj, kind, sym = m.groups()
        name = re.sub(r"\.c\.o$", "", obj)
        if not name.startswith("src_") or any(name.startswith("src_" + u.replace("/", "_")) for u in UPPER):
            continue
        if kind in "TDBRVW":
            defs[sym] = name
        elif kind == "U":
            uses.setdefault(name, set()).add(sym)
    call_graph = {o: {defs[s] for s in syms if s in defs and defs[s] != o} for o, syms in uses.items()}
    for comp in cycles(call_graph):
        bad.append("call cycle among src/ files: " + " <-> ".join(c[4:] + ".c" for c in comp))

for b in bad:
    print("check_layers: " + b)
print(f"check_layers: {len(bad)} violation(s)")
sys.exit(1 if bad else 0)
