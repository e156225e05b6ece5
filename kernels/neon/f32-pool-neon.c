/* NEON pooling rows (src/ukernel.h, "2-D pooling rows"): the AVX2 rows'
 * algorithm on 4 columns a vector. Tap loads: vld1q for stride 1, else
 * four lane loads (NEON has no gather; vld2q/vld3q would read past the
 * last lane's tap). The overhanging edge columns and the tail: the
 * contract's scalar helpers. Same bits as the __scalar twin. */
#include <arm_neon.h>

#include "ukernel.h"

static inline float32x4_t taps4(const float *row, int64_t c, int64_t sw) {
    if (sw == 1) return vld1q_f32(row + c);
    float32x4_t v = vld1q_dup_f32(row + c);
    v = vld1q_lane_f32(row + c + sw, v, 1);
    v = vld1q_lane_f32(row + c + 2 * sw, v, 2);
    return vld1q_lane_f32(row + c + 3 * sw, v, 3);
}

void nb_f32_maxpool_ukernel__neon(const nb_pool2d_geom *g, const float *x, int64_t p, float *y, int64_t *arg) {
    int64_t q0, q1, i0, i1;
    nb_pool2d_inner_cols(g, &q0, &q1);
    nb_pool2d_inner_rows(g, p, &i0, &i1);
    if (i0 >= i1 || g->kh * g->W >= (1 << 24)) q0 = q1 = 0;
    const int64_t h0 = p * g->sh - g->ph;
    int64_t q = 0;
    for (; q < q0; q++) y[q] = nb_pool2d_max_one(g, x, p, q, &arg[q]);
    for (; q + 4 <= q1; q += 4) {
        const int64_t c = q * g->sw - g->pw;
        float32x4_t acc = taps4(x + (h0 + i0) * g->W, c, g->sw);
        float32x4_t tap = vdupq_n_f32((float)(i0 * g->W));
        for (int64_t i = i0; i < i1; i++) {
            const float *row = x + (h0 + i) * g->W;
            for (int64_t j = i == i0 ? 1 : 0; j < g->kw; j++) {
                const float32x4_t v = taps4(row, c + j, g->sw);
                /* v > acc, or v NaN (v == v false) */
                const uint32x4_t upd = vorrq_u32(vcgtq_f32(v, acc), vmvnq_u32(vceqq_f32(v, v)));
                acc = vbslq_f32(upd, v, acc);
                tap = vbslq_f32(upd, vdupq_n_f32((float)(i * g->W + j)), tap);
            }
        }
        vst1q_f32(y + q, acc);
        float t[4];
        vst1q_f32(t, tap);
        for (int l = 0; l < 4; l++) {
            arg[q + l] = h0 * g->W + c + (int64_t)l * g->sw + (int64_t)t[l];   /* tap = i*W + j */
        }
    }
    for (; q < g->Q; q++) y[q] = nb_pool2d_max_one(g, x, p, q, &arg[q]);
}

void nb_f32_avgpool_ukernel__neon(const nb_pool2d_geom *g, const float *x, int64_t p, float *y) {
    int64_t q0, q1, i0, i1;
    nb_pool2d_inner_cols(g, &q0, &q1);
    nb_pool2d_inner_rows(g, p, &i0, &i1);
    const float32x4_t den = vdupq_n_f32((float)(g->kh * g->kw));
    const int64_t h0 = p * g->sh - g->ph;
    int64_t q = 0;
    for (; q < q0; q++) y[q] = nb_pool2d_avg_one(g, x, p, q);
    for (; q + 4 <= q1; q += 4) {
        const int64_t c = q * g->sw - g->pw;
        float32x4_t acc = vdupq_n_f32(0.0f);
        for (int64_t i = i0; i < i1; i++) {
            const float *row = x + (h0 + i) * g->W;
            for (int64_t j = 0; j < g->kw; j++) acc = vaddq_f32(acc, taps4(row, c + j, g->sw));
        }
        vst1q_f32(y + q, vdivq_f32(acc, den));
    }
    for (; q < g->Q; q++) y[q] = nb_pool2d_avg_one(g, x, p, q);
}
