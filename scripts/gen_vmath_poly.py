#!/usr/bin/env python3
"""Coefficients of nabla's own x86 exp, log and erf (kernels/avx2/vmath-poly.h).

Chebyshev fits (mpmath.chebyfit, near-minimax) rounded to float, and the
error of each fit with the float coefficients in exact arithmetic (the
figures quoted in vmath-poly.h). Prints the #defines to paste there.
Needs mpmath (Debian: python3-mpmath). Usage: gen_vmath_poly.py
"""
import struct

import mpmath as mp

mp.mp.dps = 40


def f32(v):
    return struct.unpack("f", struct.pack("f", float(v)))[0]


def hexf(v):
    return "0.0f" if v == 0 else float.hex(v).replace("0000000p", "p") + "f"


def horner(c, t):
    p = mp.mpf(0)
    for ck in reversed(c):
        p = p * t + ck
    return p


def fit(g, a, b, deg):
    """Float coefficients (ascending) of a degree-deg fit of g on [a, b]."""
    return [f32(x) for x in mp.chebyfit(g, [a, b], deg + 1)[::-1]]


def max_err(c, g, a, b, scale=lambda t: 1, steps=4000):
    return max(abs(horner(c, t) - g(t)) * scale(t)
               for t in (mp.mpf(a) + (mp.mpf(b) - a) * i / steps for i in range(steps + 1)))


def erf_table(nint, width, deg):
    rows, worst = [], 0
    for j in range(nint):
        a0 = mp.mpf(j) * width
        if j == 0:  # erf(t) = t q(t): relative accuracy down to subnormal z
            q = fit(lambda t: mp.erf(t) / t if t != 0 else 2 / mp.sqrt(mp.pi), 0, width, deg - 1)
            c = [0.0] + q
        else:
            c = fit(lambda t: mp.erf(a0 + t), 0, width, deg)
        for i in range(801):
            t = mp.mpf(width) * i / 800
            ex = mp.erf(a0 + t)
            if ex != 0:
                worst = max(worst, abs(horner(c, t) - ex) / ex)
        rows.append(c)
    return rows, worst


def main():
    u = mp.mpf(2) ** -24
    ln2 = mp.log(2)
    h = ln2 / 2 + mp.mpf(2) ** -20
    gexp = lambda r: (mp.exp(r) - 1 - r) / r**2 if r != 0 else mp.mpf(0.5)
    q = fit(gexp, -h, h, 4)
    e = max_err(q, gexp, -h, h, lambda r: r * r / mp.exp(r))
    print(f"/* exp Q: |r^2 (Q - Q*)| / e^r <= {mp.nstr(e, 3)} ({mp.nstr(e / u, 3)} u) */")
    for k, v in enumerate(q):
        print(f"#define NB_EXP_Q{k} {hexf(v)}")
    a, b = mp.sqrt(2) / 2 - 1, mp.sqrt(2) - 1
    glog = lambda f: (mp.log1p(f) - f) / f**2 if f != 0 else mp.mpf(-0.5)
    p = fit(glog, a - 1e-7, b + 1e-7, 8)
    e = max_err(p, glog, a, b, lambda f: abs(f))
    print(f"/* log P: |f^2 (P - P*)| <= {mp.nstr(e, 3)} |f| ({mp.nstr(e / u, 3)} u) */")
    for k, v in enumerate(p):
        print(f"#define NB_LOG_P{k} {hexf(v)}")
    for name, nint, width, deg in (("NB_ERF16", 16, 0.25, 5), ("NB_ERF8", 8, 0.5, 7)):
        rows, worst = erf_table(nint, width, deg)
        print(f"/* {name}: {nint} intervals of width {width}, degree {deg}: "
              f"<= {mp.nstr(worst / u, 3)} u relative */")
        for k in range(deg + 1):
            print(f"#define {name}_C{k} " + ", ".join(hexf(r[k]) for r in rows))


if __name__ == "__main__":
    main()
