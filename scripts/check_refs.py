#!/usr/bin/env python3
"""Cross-references in the documentation point at things that exist.

    check_refs.py [ROOT]

Reads README.md, docs/*.md, include/nabla/*.h, examples/*.c and the
scripts, and checks three kinds of reference against the tree:
  - a file path (`src/nn/conv_pool.c`, `docs/api-tour.md`, `scripts/deps.sh`):
    the file or folder exists (build outputs such as build/... are skipped);
  - a function or type of nabla (`nb_something`): it is defined or declared
    somewhere in include/, src/, ref/, kernels/, tools/ or tests/;
  - an environment variable (`NABLA_SOMETHING`): some source reads it.
Prints one line per dangling reference; exit 1 if there is any.
"""
import os
import re
import sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
root = os.path.abspath(root)

DOCS = ["README.md"] + [os.path.join("docs", f) for f in sorted(os.listdir(os.path.join(root, "docs")))
                        if f.endswith(".md")]
DOCS += [os.path.join("include/nabla", f) for f in sorted(os.listdir(os.path.join(root, "include/nabla")))
         if f.endswith((".h", ".in"))]
SOURCE_DIRS = ["include", "src", "ref", "kernels", "tools", "tests", "bench", "examples", "scripts", ".ci"]

PATH_RE = re.compile(r"(?<![\w./-])((?:\.ci|src|ref|kernels|include|docs|tests|bench|examples|scripts|tools|cross)"
                     r"/[\w./*{},-]*[\w*}])")
# Written by the build, not kept in the tree.
GENERATED = {"version.h", "nb_config.h"}
FILE_RE = re.compile(r"(?<![\w./*-])([\w-]+\.(?:c|h|md|sh|py|cc|ini|def|build))\b")
SYM_RE = re.compile(r"\b(nb_[a-z0-9_]+|NB_[A-Z0-9_]+)\b")
ENV_RE = re.compile(r"\b(NABLA_[A-Z0-9_]+)\b")


def read(path):
    try:
        return open(os.path.join(root, path), errors="replace").read()
    except OSError:
        return ""


def all_sources():
    for d in SOURCE_DIRS:
        for dirpath, _, files in os.walk(os.path.join(root, d)):
            for f in files:
                if f.endswith((".c", ".h", ".cc", ".def", ".in", ".py", ".sh", ".build")) or f == "run":
                    yield os.path.relpath(os.path.join(dirpath, f), root)
    yield "meson.build"
    yield "meson_options.txt"


def expand_braces(p):
    m = re.search(r"\{([^{}]*)\}", p)
    if not m:
        return [p]
    return [q for alt in m.group(1).split(",") for q in expand_braces(p[:m.start()] + alt + p[m.end():])]


def path_exists(p):
    import glob
    for q in expand_braces(p.rstrip(".,")):
        if "*" in q:
            if not glob.glob(os.path.join(root, q)):
                return False
        elif not os.path.exists(os.path.join(root, q)):
            return False
    return True


def main():
    sources = list(all_sources())
    code = "\n".join(read(s) for s in sources)
    basenames = {os.path.basename(s) for s in sources} | {os.path.basename(d) for d in DOCS}
    for dirpath, _, files in os.walk(root):
        if "/.git" in dirpath or "/build" in dirpath:
            continue
        basenames.update(files)
    defined = set(SYM_RE.findall(code))
    env_read = set(ENV_RE.findall(code))
    bad = []
    for doc in DOCS:
        text = read(doc)
        for n, line in enumerate(text.splitlines(), 1):
            if line.lstrip().startswith("#include <"):
                continue   # system headers
            for p in PATH_RE.findall(line):
                if not path_exists(p):
                    bad.append(f"{doc}:{n}: path {p} does not exist")
            for f in FILE_RE.findall(line):
                if f not in basenames and f not in GENERATED and not f.startswith(("my_", "your_")):
                    bad.append(f"{doc}:{n}: file {f} is not in the tree")
            for s in SYM_RE.findall(line):
                if s not in defined:
                    bad.append(f"{doc}:{n}: {s} is not defined anywhere in the sources")
            for e in ENV_RE.findall(line):
                if e not in env_read:
                    bad.append(f"{doc}:{n}: environment variable {e} is read by no source")
    for b in bad:
        print("check_refs: " + b)
    print(f"check_refs: {len(DOCS)} documents, {len(bad)} dangling reference(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
