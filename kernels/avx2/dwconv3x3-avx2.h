/* Depthwise 3x3 with unit column stride, AVX2+FMA: backward-filter of one
 * NCHW plane (any row stride and dilation) (contract and numerics:
 * src/ukernel_dwconv.h; included by f32-dwconv-avx2.c only).
 *
 * Backward-filter: the contract's 16 virtual lanes are two ymm, so the 9
 * taps' sums would need 18 accumulators, more than AVX2's 16 registers
 * (the general kernel splits the taps into passes of 4 and reads dy and x
 * three times). Here the plane runs twice instead, once per half: lanes
 * 0..7 take the 8-column blocks at q = 0, 16, 32, ..., lanes 8..15 those
 * at q = 8, 24, ...; each pass holds all 9 tap sums (9 ymm), and a block
 * is 1 dy load + 9 x loads (FMA memory operands) for 9 independent FMAs
 * (the 9 chains, one FMA a block each, keep both FMA pipes busy). The two
 * passes read disjoint columns, so each element is still read once; every
 * lane still takes its rows in order and its blocks in order: the
 * contract's lanes, the same bits.
 *
 * Edges: blocks that reach the padding or pass Q load their taps under
 * masks (x 0 in the padding and past Q, dy 0 past Q). In the rolling
 * window only the loads that need one are masked: at padding 1 the left
 * block's tap column s = 0 and the right block's s = 2 (session 11, 1
 * thread, alternating runs: c144 56x56 0.177-0.181 -> 0.162-0.170 ms,
 * both edge blocks fall in the same half there; c32 112x112 unchanged).
 * The forward of 3x3 stride 1 dilation 1 (bands of 3 rows) is in
 * dwconv3x3-fwd-avx2.h, which uses the mask helpers below.
 */
#ifndef NB_DWCONV3X3_AVX2_H
#define NB_DWCONV3X3_AVX2_H

#include <immintrin.h>

#include "mask-avx2.h"
#include "ukernel.h"

/* Lanes [lo, hi) of an 8-lane block (clipped to [0, 8]). */
static inline __m256i nb_dw3a_range(int64_t lo, int64_t hi) {
    lo = lo < 0 ? 0 : lo > 8 ? 8 : lo;
    hi = hi < 0 ? 0 : hi > 8 ? 8 : hi;
    return _mm256_andnot_si256(nb_avx2_lane_mask(lo), nb_avx2_lane_mask(hi));
}

/* x lanes of the block at column qb for the tap at column offset off:
   0 <= qb + l + off < W and qb + l < Q. */
static inline __m256i nb_dw3a_xmask(const nb_dw_plane *g, int64_t qb, int64_t off) {
    const int64_t hi = g->w - qb - off < g->q - qb ? g->w - qb - off : g->q - qb;
    return nb_dw3a_range(-(qb + off), hi);
}

/* ---- backward-filter ---- */

/* A block of 8 columns at qb of dy row dyr against the input rows x0, x1,
   x2 (offset by -pad_w: xr + s dil_w is tap (r, s)): 9 FMAs into the
   named sums c0..c8 (named, not an array: GCC keeps an indexed array of
   vectors in memory). LD(p) loads a tap's 8 lanes: a plain load (FMA
   memory operand) when every lane is inside, else under its mask: x 0
   where the tap is in the padding or qb + l >= Q, dy 0 past Q (those lanes
   add 0 x 0 = +0 to a sum that is never -0: the contract's untouched
   lane). */
#define NB_DW3A_TAPS(r, xr, ca, cb, cc)                                                            \
    ca = _mm256_fmadd_ps(LD0(xr + qb), d, ca);                                                     \
    cb = _mm256_fmadd_ps(LD1(xr + qb + dil), d, cb);                                               \
    cc = _mm256_fmadd_ps(LD2(xr + qb + 2 * dil), d, cc);
#define NB_DW3A_BLOCK()                                                                            \
    do {                                                                                           \
        NB_DW3A_TAPS(0, x0, c0, c1, c2)                                                            \
        NB_DW3A_TAPS(1, x1, c3, c4, c5)                                                            \
        NB_DW3A_TAPS(2, x2, c6, c7, c8)                                                            \
    } while (0)

/* One half (lanes 8 h .. 8 h + 7) of every tap sum over the plane: out[t]. */
static void nb_dw3a_bwf_half(const nb_dw_plane *g, const float *x, const float *dy, const float *zero,
                             int h, __m256 *out) {
    const int64_t Q = g->q, dil = g->dil_w;
    __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0,
           c8 = c0;
    for (int64_t p = 0; p < g->p; p++) {
        const int64_t ih = p * g->stride_h - g->pad_h;
        const float *x0 = nb_dw_row(g, x, zero, ih) - g->pad_w;
        const float *x1 = nb_dw_row(g, x, zero, ih + g->dil_h) - g->pad_w;
        const float *x2 = nb_dw_row(g, x, zero, ih + 2 * g->dil_h) - g->pad_w;
        const float *dyr = dy + p * Q;
        for (int64_t qb = 8 * h; qb < Q; qb += 16) {
            if (qb >= g->q_lo && qb + 8 <= g->q_hi) {
                const __m256 d = _mm256_loadu_ps(dyr + qb);
#define LD0(a) _mm256_loadu_ps(a)
#define LD1(a) _mm256_loadu_ps(a)
#define LD2(a) _mm256_loadu_ps(a)
                NB_DW3A_BLOCK();
#undef LD0
#undef LD1
#undef LD2
            } else {
                const __m256 d = _mm256_maskload_ps(dyr + qb, nb_dw3a_range(0, Q - qb));
                const __m256i m0 = nb_dw3a_xmask(g, qb, -g->pad_w);
                const __m256i m1 = nb_dw3a_xmask(g, qb, dil - g->pad_w);
                const __m256i m2 = nb_dw3a_xmask(g, qb, 2 * dil - g->pad_w);
#define LD0(a) _mm256_maskload_ps(a, m0)
#define LD1(a) _mm256_maskload_ps(a, m1)
#define LD2(a) _mm256_maskload_ps(a, m2)
                NB_DW3A_BLOCK();
#undef LD0
#undef LD1
#undef LD2
            }
        }
    }
    out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3, out[4] = c4;
    out[5] = c5, out[6] = c6, out[7] = c7, out[8] = c8;
}
#undef NB_DW3A_TAPS
#undef NB_DW3A_BLOCK

/* Stride 1 and dilation 1 down the rows: the rolling window. Step k reads
   input row k - pad_h once (3 shifted vectors a block) and meets dy rows
   k, k - 1, k - 2 (taps of filter rows 0, 1, 2; those in [0, P): u0..u2):
   3 x + 3 dy loads per 9 FMAs instead of 1 + 9. Every tap still takes its
   dy rows in order and, in a row, its blocks in order. Blocks of this
   half outside [jl, jr) need masks: mk[j] = x masks of taps s = 0, 1, 2
   and the dy mask. */
#define NB_DW3A_MAXB 64
#define NB_DW3A_RROW(u, dr, ca, cb, cc)                                                            \
    if (u) {                                                                                       \
        const __m256 d = LDY(dr + qb);                                                             \
        ca = _mm256_fmadd_ps(xs0, d, ca);                                                          \
        cb = _mm256_fmadd_ps(xs1, d, cb);                                                          \
        cc = _mm256_fmadd_ps(xs2, d, cc);                                                          \
    }
#define NB_DW3A_RBLOCK(u0, u1, u2)                                                                 \
    const __m256 xs0 = LDX(row + qb, 0), xs1 = LDX(row + qb + 1, 1), xs2 = LDX(row + qb + 2, 2);   \
    NB_DW3A_RROW(u0, d0, c0, c1, c2)                                                               \
    NB_DW3A_RROW(u1, d1, c3, c4, c5)                                                               \
    NB_DW3A_RROW(u2, d2, c6, c7, c8)
/* An edge block whose dy is inside Q and whose tap columns s with bit s of
   MS set reach past the row (padding 1: only s = 0 on the left, s = 2 on
   the right): only those load under their mask. */
#define NB_DW3A_KBLOCK(u0, u1, u2, MS)                                                             \
    const __m256 xs0 = (MS) & 1 ? _mm256_maskload_ps(row + qb, m[0]) : _mm256_loadu_ps(row + qb);  \
    const __m256 xs1 = (MS) & 2 ? _mm256_maskload_ps(row + qb + 1, m[1])                           \
                                : _mm256_loadu_ps(row + qb + 1);                                   \
    const __m256 xs2 = (MS) & 4 ? _mm256_maskload_ps(row + qb + 2, m[2])                           \
                                : _mm256_loadu_ps(row + qb + 2);                                   \
    NB_DW3A_RROW(u0, d0, c0, c1, c2)                                                               \
    NB_DW3A_RROW(u1, d1, c3, c4, c5)                                                               \
    NB_DW3A_RROW(u2, d2, c6, c7, c8)
#define NB_DW3A_RSTEP(u0, u1, u2)                                                                  \
    do {                                                                                           \
        const int64_t ih = k - g->pad_h;                                                           \
        const float *row = nb_dw_row(g, x, zero, ih) - g->pad_w;                                   \
        const float *d0 = (u0) ? dy + k * Q : dy, *d1 = (u1) ? dy + (k - 1) * Q : dy;              \
        const float *d2 = (u2) ? dy + (k - 2) * Q : dy;                                            \
        for (int64_t j = 0; j < nbh; j++) {                                                        \
            const int64_t qb = 8 * h + 16 * j;                                                     \
            if (j >= jl && j < jr) {                                                               \
                NB_DW3A_RBLOCK(u0, u1, u2)                                                         \
            } else {                                                                               \
                const __m256i *m = mk[j];                                                          \
                switch (kd[j]) {                                                                   \
                case 1: { NB_DW3A_KBLOCK(u0, u1, u2, 1) } break;                                  \
                case 4: { NB_DW3A_KBLOCK(u0, u1, u2, 4) } break;                                  \
                default: { NB_DW3A_RBLOCK_M(u0, u1, u2) }                                         \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
        k++;                                                                                       \
    } while (0)

static void nb_dw3a_bwf_half_s1(const nb_dw_plane *g, const float *x, const float *dy,
                                const float *zero, int h, __m256 *out) {
    const int64_t Q = g->q, P = g->p, nbh = (Q - 8 * h + 15) / 16;
    /* No software prefetch of the next plane. Session 9 (Intel Xeon)
       prefetched it into L2 a few lines a step (half 0 the next x plane,
       half 1 the next dy plane): c32 112x112 0.184 -> 0.167 ms. On Zen 4
       (session 12, side by side, medians of 3 rounds) the same lines cost
       c144 56x56 0.144 -> 0.163 ms and c32 112x112 0.111 -> 0.121 ms, and
       prefetcht0 instead of t1 was slower still; the AMD machines the
       project now runs on win without it. */
    __m256i mk[NB_DW3A_MAXB][4];
    unsigned kd[NB_DW3A_MAXB];
    int64_t jl = nbh, jr = 0;   /* [jl, jr): the full blocks (a contiguous run) */
    for (int64_t j = 0; j < nbh; j++) {
        const int64_t qb = 8 * h + 16 * j;
        if (qb >= g->q_lo && qb + 8 <= g->q_hi) {
            jl = j < jl ? j : jl;
            jr = j + 1;
            continue;
        }
        for (int s = 0; s < 3; s++) mk[j][s] = nb_dw3a_xmask(g, qb, s - g->pad_w);
        mk[j][3] = nb_dw3a_range(0, Q - qb);
        /* kd: bit s, tap column s reaches past the row; 8, dy past Q */
        kd[j] = Q - qb < 8 ? 8u : 0u;
        for (int s = 0; s < 3; s++)
            kd[j] |= qb + s - g->pad_w >= 0 && qb + s - g->pad_w + 8 <= g->w ? 0u : 1u << s;
    }
    __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0,
           c8 = c0;
#define LDX(a, s) _mm256_loadu_ps(a)
#define LDY(a) _mm256_loadu_ps(a)
#define NB_DW3A_RBLOCK_M(u0, u1, u2)                                                          \
    const __m256 xs0 = _mm256_maskload_ps(row + qb, m[0]);                                        \
    const __m256 xs1 = _mm256_maskload_ps(row + qb + 1, m[1]);                                    \
    const __m256 xs2 = _mm256_maskload_ps(row + qb + 2, m[2]);                                    \
    NB_DW3A_MROW(u0, d0, c0, c1, c2)                                                               \
    NB_DW3A_MROW(u1, d1, c3, c4, c5)                                                               \
    NB_DW3A_MROW(u2, d2, c6, c7, c8)
#define NB_DW3A_MROW(u, dr, ca, cb, cc)                                                            \
    if (u) {                                                                                       \
        const __m256 d = _mm256_maskload_ps(dr + qb, m[3]);                                       \
        ca = _mm256_fmadd_ps(xs0, d, ca);                                                          \
        cb = _mm256_fmadd_ps(xs1, d, cb);                                                          \
        cc = _mm256_fmadd_ps(xs2, d, cc);                                                          \
    }
    int64_t k = 0;
    if (P >= 2) {
        NB_DW3A_RSTEP(1, 0, 0);
        NB_DW3A_RSTEP(1, 1, 0);
        while (k < P) NB_DW3A_RSTEP(1, 1, 1);
        NB_DW3A_RSTEP(0, 1, 1);
        NB_DW3A_RSTEP(0, 0, 1);
    } else {
        while (k < P + 2) NB_DW3A_RSTEP(k < P, k >= 1 && k <= P, k >= 2);
    }
#undef LDX
#undef LDY
#undef NB_DW3A_RBLOCK_M
#undef NB_DW3A_MROW
    out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3, out[4] = c4;
    out[5] = c5, out[6] = c6, out[7] = c7, out[8] = c8;
}
#undef NB_DW3A_RROW
#undef NB_DW3A_RBLOCK
#undef NB_DW3A_RSTEP
#undef NB_DW3A_KBLOCK

/* 3x3, stride_w 1 (any stride_h, dilation): both halves, then the lane tree. */
static void nb_dw3a_bwf(const nb_dw_plane *g, const float *x, const float *dy, const float *zero,
                        int accumulate, float *dw) {
    __m256 lo[9], hi[9];
    const int roll = g->stride_h == 1 && g->dil_h == 1 && g->dil_w == 1 &&
                     (g->q + 15) / 16 <= NB_DW3A_MAXB;
    (roll ? nb_dw3a_bwf_half_s1 : nb_dw3a_bwf_half)(g, x, dy, zero, 0, lo);
    (roll ? nb_dw3a_bwf_half_s1 : nb_dw3a_bwf_half)(g, x, dy, zero, 1, hi);
    for (int t = 0; t < 9; t++) {
        float lanes[NB_DW_LANES];
        _mm256_storeu_ps(lanes, lo[t]);
        _mm256_storeu_ps(lanes + 8, hi[t]);
        nb_dw_bwf_store(lanes, accumulate, dw + t);
    }
}

#endif
