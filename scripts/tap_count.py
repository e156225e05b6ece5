#!/usr/bin/env python3
"""Count test cases in meson test logs (meson-logs/*.json).

TAP programs count each `ok` / `not ok` line (`# SKIP` lines as skipped); a
program that failed without reporting a failing case (a crash, a timeout)
counts as one more failure; non-TAP tests count once each.
Usage: tap_count.py LOG.json... ; prints "passed failed skipped".
"""
import json
import re
import sys

passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        failed += 1
        continue
    for line in lines:
        if not line.strip():
            continue
        t = json.loads(line)
        out = t.get("stdout") or ""
        p = f = s = 0
        for l in out.splitlines():
            if re.match(r"^not ok\b", l):
                f += 1
            elif re.match(r"^ok\b", l):
                if re.search(r"#\s*SKIP", l, re.I):
                    s += 1
                else:
                    p += 1
        ok = t.get("result") in ("OK", "EXPECTEDFAIL", "SKIP")
        if p + f + s == 0:
            if t.get("result") == "SKIP":
                s += 1
            elif ok:
                p += 1
            else:
                f += 1
        elif not ok and f == 0:
            f += 1
        passed, failed, skipped = passed + p, failed + f, skipped + s
print(passed, failed, skipped)
