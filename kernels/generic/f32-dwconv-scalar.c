/* The plain-C depthwise micro-kernels (src/ukernel_dwconv.h): one pixel,
 * one tap at a time, in the contract's order. They are the twins the SIMD
 * kernels are tested against bit for bit, and the backward-data scatter
 * (stride > 1) every ISA uses. */
#include "ukernel.h"

void nb_f32_dwconv_fwd_ukernel__scalar(const nb_dw_plane *g, const float *x, const float *w,
                                       float bias, int accumulate, const float *zero, float *y) {
    for (int64_t p = 0; p < g->p; p++) nb_dw_fwd_cols(g, x, zero, w, bias, accumulate, p, 0, g->q, y);
}

void nb_f32_dwconv_bwf_ukernel__scalar(const nb_dw_plane *g, const float *x, const float *dy,
                                       const float *zero, int accumulate, float *dw) {
    for (int64_t t = 0; t < g->r * g->s; t++) {
        float acc[1][NB_DW_LANES] = {{0}};
        for (int64_t p = 0; p < g->p; p++) nb_dw_bwf_cols(g, x, dy, zero, t, t + 1, p, 0, g->q, acc);
        nb_dw_bwf_store(acc[0], accumulate, dw + t);
    }
}

/* dx[ih, iw] += dy[p, q] w[r, s] for p, r, s, q in order (the contract):
   output row p's taps in row r land on input row ih, tap column s on the
   columns q stride_w + s dil_w - pad_w inside the row. */
void nb_f32_dwconv_bwd_ukernel__scalar(const nb_dw_plane *g, const float *dy, const float *w,
                                       int accumulate, float *dx) {
    if (!accumulate)
        for (int64_t i = 0; i < g->h * g->w; i++) dx[i] = 0.0f;
    for (int64_t p = 0; p < g->p; p++)
        for (int64_t r = 0; r < g->r; r++) {
            const int64_t ih = p * g->stride_h - g->pad_h + r * g->dil_h;
            if (ih < 0 || ih >= g->h) continue;
            float *row = dx + ih * g->w;
            for (int64_t s = 0; s < g->s; s++) {
                const int64_t off = s * g->dil_w - g->pad_w;
                int64_t q_lo, q_hi;
                nb_conv_valid_q(off, g->stride_w, g->w, g->q, &q_lo, &q_hi);
                const float wv = w[r * g->s + s];
                const float *dyr = dy + p * g->q;
                for (int64_t q = q_lo; q < q_hi; q++)
                    row[q * g->stride_w + off] = fmaf(dyr[q], wv, row[q * g->stride_w + off]);
            }
        }
}
