/* The 2-D pooling rows' part of the micro-kernel contract (private;
 * included by src/ukernel.h, which kernels include: a file of its own only
 * to keep ukernel.h under the size limit). */
#ifndef NB_UKERNEL_POOL_H
#define NB_UKERNEL_POOL_H

#include <stdint.h>

/* ============ 2-D pooling rows (src/nn/conv_pool.c) ============
 *
 * One output row p of one NCHW plane: x is the plane (H x W, dense), y
 * the row's Q outputs. Window (p, q) covers rows p*sh - ph + i (i < kh)
 * and columns q*sw - pw + j (j < kw); taps outside the plane are padding.
 *   max: the largest valid tap, scanned in row-major tap order, updating
 *        on v > best or v NaN (PyTorch's rule: the FIRST of tied maxima,
 *        the LAST of several NaNs); arg[q] = its plane index h*W + w, -1
 *        for a window of padding only.
 *   avg: acc = 0.0f, acc += each valid tap in row-major order (one float
 *        rounding each), y = acc / (float)(kh*kw) (count_include_pad).
 * The SIMD micro-kernels give the same bits as the __scalar twins. The
 * scalar single-output helpers below are the rule written once; the
 * micro-kernels use them for the edge columns, where windows overhang. */
typedef struct { int64_t H, W, kh, kw, sh, sw, ph, pw, Q; } nb_pool2d_geom;
typedef void nb_f32_maxpool_row_ft(const nb_pool2d_geom *g, const float *x, int64_t p, float *y, int64_t *arg);
typedef void nb_f32_avgpool_row_ft(const nb_pool2d_geom *g, const float *x, int64_t p, float *y);
typedef nb_f32_maxpool_row_ft *nb_f32_maxpool_row_fn;
/* Max-pool backward of output row p (of P) of one plane, for windows that
 * do not overlap across rows (sh >= kh): writes the plane's rows of band
 * p (nb_pool2d_band; the bands of p = 0 .. P-1 tile the plane) as zero,
 * then dx[arg[q] - base] += dy[q] for q = 0 .. Q-1 in order (arg[q] < 0:
 * nothing), one float add each: the bits of zero-filling the plane and
 * scattering every output in order, with the band still in L1. arg holds
 * the forward's indices (plane index + base). */
typedef void nb_f32_maxpool_bwd_row_ft(const nb_pool2d_geom *g, int64_t p, int64_t P, const float *dy,
                                       const int64_t *arg, int64_t base, float *dx);
typedef nb_f32_maxpool_bwd_row_ft *nb_f32_maxpool_bwd_row_fn;
typedef nb_f32_avgpool_row_ft *nb_f32_avgpool_row_fn;

static inline float nb_pool2d_max_one(const nb_pool2d_geom *g, const float *x, int64_t p, int64_t q,
                                      int64_t *arg) {
    float best = 0.0f;
    int64_t at = -1;
    for (int64_t i = 0; i < g->kh; i++) {
        const int64_t h = p * g->sh - g->ph + i;
        if (h < 0 || h >= g->H) continue;
        for (int64_t j = 0; j < g->kw; j++) {
            const int64_t w = q * g->sw - g->pw + j;
            if (w < 0 || w >= g->W) continue;
            /* Branch-free: on random data v > best is a coin toss, and a
               mispredicted branch per tap cost 6 ns a tap. */
            const float v = x[h * g->W + w];
            const int upd = (at < 0) | (v > best) | (v != v);
            best = upd ? v : best;
            at = upd ? h * g->W + w : at;
        }
    }
    *arg = at;
    return at < 0 ? -__builtin_inff() : best;
}

static inline float nb_pool2d_avg_one(const nb_pool2d_geom *g, const float *x, int64_t p, int64_t q) {
    float acc = 0.0f;
    for (int64_t i = 0; i < g->kh; i++) {
        const int64_t h = p * g->sh - g->ph + i;
        if (h < 0 || h >= g->H) continue;
        for (int64_t j = 0; j < g->kw; j++) {
            const int64_t w = q * g->sw - g->pw + j;
            if (w >= 0 && w < g->W) acc += x[h * g->W + w];
        }
    }
    return acc / (float)(g->kh * g->kw);
}

/* The window rows [*i0, *i1) of output row p that lie inside the plane. */
static inline void nb_pool2d_inner_rows(const nb_pool2d_geom *g, int64_t p, int64_t *i0, int64_t *i1) {
    const int64_t h0 = p * g->sh - g->ph;
    *i0 = h0 < 0 ? -h0 : 0;
    *i1 = g->H - h0 < g->kh ? g->H - h0 : g->kh;
}

/* The plane rows [*h0, *h1) of output row p's band for the backward:
   from its window's first row (0 for p = 0) to the next row's (H for the
   last), clamped to the plane. */
static inline void nb_pool2d_band(const nb_pool2d_geom *g, int64_t p, int64_t P, int64_t *h0, int64_t *h1) {
    const int64_t lo = p * g->sh - g->ph, hi = (p + 1) * g->sh - g->ph;
    *h0 = p == 0 || lo < 0 ? 0 : lo > g->H ? g->H : lo;
    *h1 = p == P - 1 || hi > g->H ? g->H : hi < *h0 ? *h0 : hi;
}

/* The columns [*q0, *q1) whose windows lie inside the plane's width (the
   SIMD body's range; the others go through the helpers above). */
static inline void nb_pool2d_inner_cols(const nb_pool2d_geom *g, int64_t *q0, int64_t *q1) {
    int64_t lo = (g->pw + g->sw - 1) / g->sw;                 /* q*sw - pw >= 0 */
    int64_t hi = g->W - g->kw + g->pw >= 0 ? (g->W - g->kw + g->pw) / g->sw + 1 : 0;   /* q*sw - pw + kw <= W */
    if (hi > g->Q) hi = g->Q;
    if (lo > hi) lo = hi;
    *q0 = lo;
    *q1 = hi;
}

/* MaxPool2d(2) over whole planes laid end to end: kh = kw = sh = sw = 2,
 * no padding, H = 2P and W = 2Q exactly (every input is a tap of exactly
 * one window). Flat output o = plane * P*Q + p*Q + q; x, y, arg (dx, dy)
 * are the tensors' bases, the call covers outputs [o0, o1). Forward: the
 * rows' rule, same y and arg (plane indices) as the row kernels. Backward:
 * writes the 4 taps of each output's window: 0.0f + dy[o] at
 * arg[o] (a tap of its window), +0.0f at the others (the bits of zero-fill
 * then scatter). A plane of 4x4 outputs is one 16-lane vector, where the
 * rows cost a call per 4 outputs (the small CNN's pools). Optional: NULL
 * in a config without them (the rows run). */
typedef void nb_f32_maxpool2_planes_ft(int64_t P, int64_t Q, const float *x, int64_t o0, int64_t o1, float *y,
                                       int64_t *arg);
typedef void nb_f32_maxpool2_planes_bwd_ft(int64_t P, int64_t Q, const float *dy, const int64_t *arg, int64_t o0,
                                           int64_t o1, float *dx);
typedef nb_f32_maxpool2_planes_ft *nb_f32_maxpool2_planes_fn;
typedef nb_f32_maxpool2_planes_bwd_ft *nb_f32_maxpool2_planes_bwd_fn;
/* Whether the planes kernels run P x Q output planes as vectors (nonzero)
   rather than through their plain-C twin, which is slower than the row
   kernels: the driver takes the planes only where this says so. */
typedef int nb_f32_maxpool2_planes_fits_ft(int64_t P, int64_t Q);
typedef nb_f32_maxpool2_planes_fits_ft *nb_f32_maxpool2_planes_fits_fn;
nb_f32_maxpool2_planes_fits_ft nb_f32_maxpool2_planes_fits__avx512;

/* The prototypes of the backward rows and the planes (registry lines
   NB_UK_MAXPOOL_BWD, NB_UK_MAXPOOL2). */
#define NB_UK_MAXPOOL_BWD(fn) nb_f32_maxpool_bwd_row_ft fn;
#define NB_UK_MAXPOOL2(fwd, bwd) nb_f32_maxpool2_planes_ft fwd; nb_f32_maxpool2_planes_bwd_ft bwd;
#include "ukernel_registry.h"

#endif
