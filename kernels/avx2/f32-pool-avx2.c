/* AVX2 pooling rows (src/ukernel.h, "2-D pooling rows"): 8 output columns
 * a vector, for the columns whose windows lie inside the plane's width,
 * the last vector masked (a 4-wide output row is one masked vector); the
 * overhanging edge columns go through the contract's scalar helpers. Tap loads: contiguous for stride 1, a gather otherwise.
 * Register plan: acc (running max / sum) and, for max, tap (the current
 * maximum's offset i*W + j from its window's corner, as floats: exact
 * below 2^24, so no division turns it into the plane index); both
 * are blended per lane, so every lane follows the scalar rule's sequence
 * of operations and the bits equal the __scalar twin's. */
#include <immintrin.h>

#include "mask-avx2.h"
#include "ukernel.h"

/* Taps row[c + l*sw] for the lanes l of m (c: the first lane's column);
   the other lanes read nothing (0.0f). */
static inline __m256 taps8(const float *row, int64_t c, int64_t sw, __m256i lane_idx, __m256i m) {
    if (sw == 1) return _mm256_maskload_ps(row + c, m);
    return _mm256_mask_i32gather_ps(_mm256_setzero_ps(), row + c, lane_idx, _mm256_castsi256_ps(m), 4);
}

/* Lanes 0 .. n-1 set. */
static inline __m256i first_lanes(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

void nb_f32_maxpool_ukernel__avx2(const nb_pool2d_geom *g, const float *x, int64_t p, float *y, int64_t *arg) {
    int64_t q0, q1, i0, i1;
    nb_pool2d_inner_cols(g, &q0, &q1);
    nb_pool2d_inner_rows(g, p, &i0, &i1);
    if (i0 >= i1 || g->sw > (1 << 20) || g->kh * g->W >= (1 << 24)) q0 = q1 = 0;   /* padding rows only / huge stride: scalar */
    const __m256i lane_idx = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                                _mm256_set1_epi32((int)g->sw));
    const int64_t h0 = p * g->sh - g->ph;
    int64_t q = 0;
    for (; q < q0; q++) y[q] = nb_pool2d_max_one(g, x, p, q, &arg[q]);
    for (; q < q1; q += 8) {
        const int nl = q1 - q < 8 ? (int)(q1 - q) : 8;
        const __m256i m = first_lanes(nl);
        const int64_t c = q * g->sw - g->pw;
        __m256 acc = taps8(x + (h0 + i0) * g->W, c, g->sw, lane_idx, m);
        __m256 tap = _mm256_set1_ps((float)(i0 * g->W));
        for (int64_t i = i0; i < i1; i++) {
            const float *row = x + (h0 + i) * g->W;
            for (int64_t j = i == i0 ? 1 : 0; j < g->kw; j++) {
                const __m256 v = taps8(row, c + j, g->sw, lane_idx, m);
                const __m256 upd = _mm256_or_ps(_mm256_cmp_ps(v, acc, _CMP_GT_OQ), _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
                acc = _mm256_blendv_ps(acc, v, upd);
                tap = _mm256_blendv_ps(tap, _mm256_set1_ps((float)(i * g->W + j)), upd);
            }
        }
        nb_avx2_maskstore_first(y + q, m, acc);
        float t[8];
        _mm256_storeu_ps(t, tap);
        for (int l = 0; l < nl; l++) {
            arg[q + l] = h0 * g->W + c + (int64_t)l * g->sw + (int64_t)t[l];   /* tap = i*W + j */
        }
    }
    q = q1;   /* the masked last vector ended past q1 */
    for (; q < g->Q; q++) y[q] = nb_pool2d_max_one(g, x, p, q, &arg[q]);
}

void nb_f32_avgpool_ukernel__avx2(const nb_pool2d_geom *g, const float *x, int64_t p, float *y) {
    int64_t q0, q1, i0, i1;
    nb_pool2d_inner_cols(g, &q0, &q1);
    nb_pool2d_inner_rows(g, p, &i0, &i1);
    if (g->sw > (1 << 20)) q0 = q1 = 0;
    const __m256i lane_idx = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                                _mm256_set1_epi32((int)g->sw));
    const __m256 den = _mm256_set1_ps((float)(g->kh * g->kw));
    const int64_t h0 = p * g->sh - g->ph;
    int64_t q = 0;
    for (; q < q0; q++) y[q] = nb_pool2d_avg_one(g, x, p, q);
    for (; q < q1; q += 8) {
        const int nl = q1 - q < 8 ? (int)(q1 - q) : 8;
        const __m256i m = first_lanes(nl);
        const int64_t c = q * g->sw - g->pw;
        __m256 acc = _mm256_setzero_ps();
        for (int64_t i = i0; i < i1; i++) {
            const float *row = x + (h0 + i) * g->W;
            for (int64_t j = 0; j < g->kw; j++) acc = _mm256_add_ps(acc, taps8(row, c + j, g->sw, lane_idx, m));
        }
        nb_avx2_maskstore_first(y + q, m, _mm256_div_ps(acc, den));
    }
    q = q1;   /* the masked last vector ended past q1 */
    for (; q < g->Q; q++) y[q] = nb_pool2d_avg_one(g, x, p, q);
}
