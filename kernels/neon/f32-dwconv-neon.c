/* Depthwise convolution micro-kernels, NEON (contract and numerics:
 * src/ukernel_dwconv.h): forward (also backward-data at stride 1) and
 * backward-filter, one channel plane of NCHW. Same per-pixel FMA chains
 * (vfmaq_f32 is fused, as fmaf) and the same 16 filter-sum lanes (4
 * registers) as the plain-C twin: the same bits.
 *
 * NCHW: the lanes run along W of the output row (4 columns a register, 4
 * registers a step: 4 independent FMA chains), each tap one unaligned load
 * of an input row and one FMA with the tap's weight; 3x3 stride 1 takes
 * output rows in pairs that share their input rows' loads. Stride 2 loads pairs
 * (vld2q) and keeps the even lanes. NEON has no masked loads, so the
 * border columns (whose taps reach the padding) and the interior's last
 * < 4 columns take the scalar chain, and backward-filter's border and tail
 * blocks spill the 16 lanes and add them one at a time (same bits).
 * Rows in the padding read the zero row.
 */
#include <arm_neon.h>

#include "ukernel.h"

/* 4 lanes at xs[i stride] for stride 1 or 2. */
static inline float32x4_t load4(const float *xs, int64_t sw) {
    return sw == 1 ? vld1q_f32(xs) : vld2q_f32(xs).val[0];
}

/* Columns [q0, q0 + n) of row p, all inside: 16 a step, then 4, then scalar.
   Stride 2 reads xs[0 .. 2 n - 1] per tap: vld2q of the last group reads one
   float past its last even lane, so stride 2 stops a group early and leaves
   it to the scalar chain. */
static void fwd_interior(const nb_dw_plane *g, const float *x, const float *zero, const float *w,
                         float bias, int accumulate, int64_t p, int64_t q0, int64_t n, float *y) {
    const int64_t sw = g->stride_w, R = g->r, S = g->s;
    float *yr = y + p * g->q + q0;
    const int64_t nv = sw == 1 ? n : (n > 0 ? n - 1 : 0);   /* columns the vectors may take */
    int64_t i = 0;
    for (; i + 4 <= nv;) {
        const int v4 = i + 16 <= nv ? 4 : 1;
        float32x4_t acc[4];
        for (int v = 0; v < v4; v++) acc[v] = accumulate ? vld1q_f32(yr + i + 4 * v) : vdupq_n_f32(bias);
        for (int64_t r = 0; r < R; r++) {
            const float *row = nb_dw_row(g, x, zero, p * g->stride_h - g->pad_h + r * g->dil_h);
            const float *base = row + (q0 + i) * sw - g->pad_w;
            for (int64_t s = 0; s < S; s++) {
                const float32x4_t wv = vdupq_n_f32(w[r * S + s]);
                for (int v = 0; v < v4; v++)
                    acc[v] = vfmaq_f32(acc[v], load4(base + s * g->dil_w + 4 * v * sw, sw), wv);
            }
        }
        for (int v = 0; v < v4; v++) vst1q_f32(yr + i + 4 * v, acc[v]);
        i += 4 * v4;
    }
    nb_dw_fwd_cols(g, x, zero, w, bias, accumulate, p, q0 + i, q0 + n, y);
}

/* 3x3, stride 1, dilation 1 down the rows: output rows p and p + 1 over
   the interior columns [q0, q0 + n) together, 16 columns a step, so each
   of their 4 input rows is loaded once for both (row p - pad_h + i feeds
   tap row i of p and i - 1 of p + 1): 12 loads per 18 FMAs a vector
   instead of 18, and 8 independent chains. Each row still takes its taps
   in (r, s) order. Register plan: 8 accumulators + 2 weights + 4 loads.
   The last < 16 columns go through fwd_interior row by row. */
static void fwd_interior2_3x3(const nb_dw_plane *g, const float *x, const float *zero,
                              const float *w, float bias, int accumulate, int64_t p, int64_t q0,
                              int64_t n, float *y) {
    float *yr[2] = {y + p * g->q + q0, y + (p + 1) * g->q + q0};
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        float32x4_t acc[2][4];
        for (int j = 0; j < 2; j++)
            for (int v = 0; v < 4; v++)
                acc[j][v] = accumulate ? vld1q_f32(yr[j] + i + 4 * v) : vdupq_n_f32(bias);
        for (int r = 0; r < 4; r++) {
            const float *row = nb_dw_row(g, x, zero, p - g->pad_h + r) + q0 + i - g->pad_w;
            for (int s = 0; s < 3; s++) {
                const float32x4_t w0 = vdupq_n_f32(w[(r < 3 ? r : 2) * 3 + s]);
                const float32x4_t w1 = vdupq_n_f32(w[(r > 0 ? r - 1 : 0) * 3 + s]);
                for (int v = 0; v < 4; v++) {
                    const float32x4_t xv = vld1q_f32(row + s * g->dil_w + 4 * v);
                    if (r < 3) acc[0][v] = vfmaq_f32(acc[0][v], xv, w0);
                    if (r > 0) acc[1][v] = vfmaq_f32(acc[1][v], xv, w1);
                }
            }
        }
        for (int j = 0; j < 2; j++)
            for (int v = 0; v < 4; v++) vst1q_f32(yr[j] + i + 4 * v, acc[j][v]);
    }
    for (int j = 0; j < 2; j++) fwd_interior(g, x, zero, w, bias, accumulate, p + j, q0 + i, n - i, y);
}

void nb_f32_dwconv_fwd_ukernel__neon(const nb_dw_plane *g, const float *x, const float *w,
                                     float bias, int accumulate, const float *zero, float *y) {
    const int vec = g->stride_w <= 2;
    const int pairs = g->r == 3 && g->s == 3 && g->stride_h == 1 && g->stride_w == 1 && g->dil_h == 1;
    for (int64_t p = 0; p < g->p; p++) {
        if (pairs && p + 1 < g->p) {
            nb_dw_fwd_edges(g, x, zero, w, bias, accumulate, p, y);
            nb_dw_fwd_edges(g, x, zero, w, bias, accumulate, p + 1, y);
            fwd_interior2_3x3(g, x, zero, w, bias, accumulate, p, g->q_lo, g->q_hi - g->q_lo, y);
            p++;
            continue;
        }
        if (!vec) {
            nb_dw_fwd_cols(g, x, zero, w, bias, accumulate, p, 0, g->q, y);
            continue;
        }
        nb_dw_fwd_edges(g, x, zero, w, bias, accumulate, p, y);
        fwd_interior(g, x, zero, w, bias, accumulate, p, g->q_lo, g->q_hi - g->q_lo, y);
    }
}

/* Taps per pass: 4 taps x 4 registers (16 lanes) = 16 accumulators. */
#define BWF_TAPS 4

void nb_f32_dwconv_bwf_ukernel__neon(const nb_dw_plane *g, const float *x, const float *dy,
                                     const float *zero, int accumulate, float *dw) {
    const int64_t RS = g->r * g->s, Q = g->q, sw = g->stride_w;
    for (int64_t t0 = 0; t0 < RS; t0 += BWF_TAPS) {
        const int nt = RS - t0 < BWF_TAPS ? (int)(RS - t0) : BWF_TAPS;
        float32x4_t acc[BWF_TAPS][4];
        int64_t off[BWF_TAPS];
        for (int j = 0; j < nt; j++)
            for (int h = 0; h < 4; h++) acc[j][h] = vdupq_n_f32(0.0f);
        nb_dw_tap_offsets(g, t0, nt, off);
        for (int64_t p = 0; p < g->p; p++) {
            const float *rows[BWF_TAPS];
            nb_dw_tap_rows(g, x, zero, t0, nt, p, rows);
            const float *dyr = dy + p * Q;
            for (int64_t q0 = 0; q0 < Q; q0 += NB_DW_LANES) {
                /* stride 2: vld2q of the block's last lane reads one more float */
                const int full = sw <= 2 && q0 >= g->q_lo && q0 + NB_DW_LANES + (sw == 2) <= g->q_hi;
                if (full) {
                    float32x4_t d[4];
                    for (int h = 0; h < 4; h++) d[h] = vld1q_f32(dyr + q0 + 4 * h);
                    for (int j = 0; j < nt; j++)
                        for (int h = 0; h < 4; h++)
                            acc[j][h] = vfmaq_f32(acc[j][h], load4(rows[j] + (q0 + 4 * h) * sw + off[j], sw),
                                                  d[h]);
                    continue;
                }
                float a[BWF_TAPS][NB_DW_LANES];
                for (int j = 0; j < nt; j++)
                    for (int h = 0; h < 4; h++) vst1q_f32(a[j] + 4 * h, acc[j][h]);
                const int64_t q1 = q0 + NB_DW_LANES < Q ? q0 + NB_DW_LANES : Q;
                nb_dw_bwf_cols(g, x, dy, zero, t0, t0 + nt, p, q0, q1, a);
                for (int j = 0; j < nt; j++)
                    for (int h = 0; h < 4; h++) acc[j][h] = vld1q_f32(a[j] + 4 * h);
            }
        }
        for (int j = 0; j < nt; j++) {
            float lanes[NB_DW_LANES];
            for (int h = 0; h < 4; h++) vst1q_f32(lanes + 4 * h, acc[j][h]);
            nb_dw_bwf_store(lanes, accumulate, dw + t0 + j);
        }
    }
}
