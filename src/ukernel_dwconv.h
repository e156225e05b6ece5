/* The depthwise-convolution micro-kernel contract (private; included by
 * src/ukernel.h, so kernels/ reach it through the one header they may
 * include). The driver is src/conv_depthwise.c.
 *
 * A depthwise kernel works on one channel plane of one image: x is H x W,
 * y is P x Q, the filter is R x S, any stride, padding and dilation. The
 * padding may be negative (backward-data at stride 1 runs as a forward
 * pass over dy whose padding is dilation (R - 1) - pad, which is negative
 * when the forward pass cropped).
 *
 * Numerics (part of the contract; every ISA and the plain-C twins keep it,
 * so every ISA gives the same bits and a pixel's bits never depend on
 * whether it fell in a vector, a masked tail or a scalar border):
 *   forward  y[p, q] = one FMA chain over the taps in (r, s) order, from
 *            bias (or from y[p, q] when accumulating):
 *              acc = fma(x[ih, iw], w[r S + s], acc),
 *            ih = p stride_h - pad_h + r dil_h, iw = q stride_w - pad_w + s dil_w;
 *            a tap in the padding multiplies 0 (so 0 x Inf is NaN, as in
 *            the reference's im2col + GEMM).
 *   filter   dw[t] for tap t = r S + s: 16 partial sums (lane l takes the
 *            output columns q with q mod 16 == l, rows p in order, each an
 *            FMA chain acc = fma(x[ih, iw], dy[p, q], acc) from +0), added
 *            in the fixed tree NB_DW_LANES -> 8 -> 4 -> 2 -> 1 (lanes i and
 *            i + half); then dw[t] = that (or dw[t] + that when accumulating).
 *            16 virtual lanes are 2 AVX2, 1 AVX-512 and 4 NEON registers.
 *   backward-data at stride > 1 (the scatter kernel): dx starts at 0 (or
 *            its value when accumulating) and gets, for p, r, s, q in that
 *            order, dx[ih, iw] = fma(dy[p, q], w[r S + s], dx[ih, iw]).
 * Rows of the padding read `zero`, a buffer of at least W + 64 zeros.
 */
#ifndef NB_UKERNEL_DWCONV_H
#define NB_UKERNEL_DWCONV_H

#include <math.h>
#include <stdint.h>

#define NB_DW_LANES 16

typedef struct {
    int64_t h, w, p, q, r, s;
    int64_t stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
    /* Output columns whose every tap reads inside the row: [q_lo, q_hi)
       (q_lo <= q_hi; set by nb_dw_plane_ranges). */
    int64_t q_lo, q_hi;
} nb_dw_plane;

/* y (P x Q) of one plane: the forward chain above, from bias, or from y
   when accumulate != 0. */
typedef void nb_dwconv_fwd_ft(const nb_dw_plane *g, const float *x, const float *w, float bias,
                              int accumulate, const float *zero, float *y);
typedef nb_dwconv_fwd_ft *nb_dwconv_fwd_fn;

/* dw (R x S) of one plane: the filter sums above of x (H x W) and dy (P x Q). */
typedef void nb_dwconv_bwf_ft(const nb_dw_plane *g, const float *x, const float *dy,
                              const float *zero, int accumulate, float *dw);
typedef nb_dwconv_bwf_ft *nb_dwconv_bwf_fn;

/* Backward-filter as above, returning the row sum of dy's P x Q plane with
   the bits of the configuration's conv.rowsum (the bias gradient's
   per-plane sum) taken in the same walk over dy. */
typedef double nb_dwconv_bwf_sum_ft(const nb_dw_plane *g, const float *x, const float *dy,
                                    const float *zero, int accumulate, float *dw);
typedef nb_dwconv_bwf_sum_ft *nb_dwconv_bwf_sum_fn;

/* dx (H x W) of one plane from dy (P x Q) by scatter (any stride). */
typedef void nb_dwconv_bwd_ft(const nb_dw_plane *g, const float *dy, const float *w,
                              int accumulate, float *dx);
typedef nb_dwconv_bwd_ft *nb_dwconv_bwd_fn;

typedef struct {
    nb_dwconv_fwd_fn fwd;   /* forward, and backward-data at stride 1 */
    nb_dwconv_bwf_fn bwf;   /* backward-filter */
    nb_dwconv_bwd_fn bwd;   /* backward-data at stride > 1 */
    nb_dwconv_bwf_sum_fn bwf_sum;   /* optional: bwf + rowsum of dy in one walk */
} nb_dwconv_ukernels;

/* Fills q_lo, q_hi from the other fields. iw = q stride_w + off, off from
   -pad_w (s = 0) to (S - 1) dil_w - pad_w (s = S - 1): a column is inside
   for every tap when it is for both ends. */
static inline void nb_dw_plane_ranges(nb_dw_plane *g) {
    const int64_t sw = g->stride_w, W = g->w, Q = g->q;
    const int64_t off0 = -g->pad_w, off1 = (g->s - 1) * g->dil_w - g->pad_w;
    int64_t lo = off0 >= 0 ? 0 : (-off0 + sw - 1) / sw;
    int64_t hi = W - off1 <= 0 ? 0 : (W - off1 + sw - 1) / sw;
    lo = lo < Q ? lo : Q;
    hi = hi < Q ? hi : Q;
    g->q_lo = lo;
    g->q_hi = hi > lo ? hi : lo;
}

/* Row ih of the plane, or the zero row in the padding. */
static inline const float *nb_dw_row(const nb_dw_plane *g, const float *x, const float *zero,
                                     int64_t ih) {
    return ih >= 0 && ih < g->h ? x + ih * g->w : zero;
}

/* A 3x3 stride-1 forward band (the AVX2 and AVX-512 row-band kernels):
   output rows p .. p + nr - 1 (ys), the nr + 2 input rows they read
   (rows, offset by -pad_w so that column q + s is tap s of output q). */
static inline __attribute__((always_inline)) void
nb_dw_band_rows(const nb_dw_plane *g, const float *x, const float *zero, float *y, int64_t p,
                const int nr, const float **rows, float **ys) {
    _Pragma("GCC unroll 5") for (int i = 0; i < nr + 2; i++)
        rows[i] = nb_dw_row(g, x, zero, p - g->pad_h + i) - g->pad_w;
    _Pragma("GCC unroll 3") for (int j = 0; j < nr; j++) ys[j] = y + (p + j) * g->q;
}

/* The input rows of taps t0 .. t0 + nt - 1 for output row p (tap t reads
   row p stride_h - pad_h + (t / S) dil_h), and their column offsets
   (t mod S) dil_w - pad_w: the setup of every backward-filter pass. */
static inline void nb_dw_tap_rows(const nb_dw_plane *g, const float *x, const float *zero,
                                  int64_t t0, int nt, int64_t p, const float **rows) {
    for (int j = 0; j < nt; j++)
        rows[j] = nb_dw_row(g, x, zero, p * g->stride_h - g->pad_h + ((t0 + j) / g->s) * g->dil_h);
}
static inline void nb_dw_tap_offsets(const nb_dw_plane *g, int64_t t0, int nt, int64_t *off) {
    for (int j = 0; j < nt; j++) off[j] = ((t0 + j) % g->s) * g->dil_w - g->pad_w;
}

/* x[ih, iw] on row `row` (0 outside the row). */
static inline float nb_dw_at(const nb_dw_plane *g, const float *row, int64_t iw) {
    return iw >= 0 && iw < g->w ? row[iw] : 0.0f;
}

/* The forward chain of pixel (p, q) from acc, one tap at a time: the plain-C
   twin's body and every ISA's border columns. */
static inline float nb_dw_fwd_pixel(const nb_dw_plane *g, const float *x, const float *zero,
                                    const float *w, int64_t p, int64_t q, float acc) {
    for (int64_t r = 0; r < g->r; r++) {
        const float *row = nb_dw_row(g, x, zero, p * g->stride_h - g->pad_h + r * g->dil_h);
        for (int64_t s = 0; s < g->s; s++)
            acc = fmaf(nb_dw_at(g, row, q * g->stride_w - g->pad_w + s * g->dil_w), w[r * g->s + s],
                       acc);
    }
    return acc;
}

/* Columns [q0, q1) of output row p, one pixel at a time. */
static inline void nb_dw_fwd_cols(const nb_dw_plane *g, const float *x, const float *zero,
                                  const float *w, float bias, int accumulate, int64_t p,
                                  int64_t q0, int64_t q1, float *y) {
    float *yr = y + p * g->q;
    for (int64_t q = q0; q < q1; q++)
        yr[q] = nb_dw_fwd_pixel(g, x, zero, w, p, q, accumulate ? yr[q] : bias);
}

/* The border columns of output row p: [0, q_lo) and [q_hi, Q). */
static inline void nb_dw_fwd_edges(const nb_dw_plane *g, const float *x, const float *zero,
                                   const float *w, float bias, int accumulate, int64_t p, float *y) {
    nb_dw_fwd_cols(g, x, zero, w, bias, accumulate, p, 0, g->q_lo, y);
    nb_dw_fwd_cols(g, x, zero, w, bias, accumulate, p, g->q_hi, g->q, y);
}

/* Filter sums, one lane at a time: for taps [t0, t1) (acc[t - t0][l]),
   output row p, columns [q0, q1) (lane q mod 16). The twin's body, and
   every ISA's border and tail blocks. */
static inline void nb_dw_bwf_cols(const nb_dw_plane *g, const float *x, const float *dy,
                                  const float *zero, int64_t t0, int64_t t1, int64_t p, int64_t q0,
                                  int64_t q1, float (*acc)[NB_DW_LANES]) {
    for (int64_t t = t0; t < t1; t++) {
        const int64_t r = t / g->s, s = t % g->s;
        const float *row = nb_dw_row(g, x, zero, p * g->stride_h - g->pad_h + r * g->dil_h);
        for (int64_t q = q0; q < q1; q++)
            acc[t - t0][q % NB_DW_LANES] =
                fmaf(nb_dw_at(g, row, q * g->stride_w - g->pad_w + s * g->dil_w), dy[p * g->q + q],
                     acc[t - t0][q % NB_DW_LANES]);
    }
}

/* The fixed lane tree of the filter sums, and the store. */
static inline void nb_dw_bwf_store(const float *lanes, int accumulate, float *dw) {
    float a[NB_DW_LANES];
    for (int i = 0; i < NB_DW_LANES; i++) a[i] = lanes[i];
    for (int half = NB_DW_LANES / 2; half >= 1; half /= 2)
        for (int i = 0; i < half; i++) a[i] = a[i] + a[i + half];
    *dw = accumulate ? *dw + a[0] : a[0];
}

#endif
