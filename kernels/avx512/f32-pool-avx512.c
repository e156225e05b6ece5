/* AVX-512 pooling rows (src/ukernel.h, "2-D pooling rows"): the AVX2 rows'
 * algorithm on 16 columns a vector (mask registers for the update rule),
 * the last vector of the inner columns masked (a 4-wide output row, as
 * after an 8x8 input and a 2x2 pool, is one masked vector, not four
 * scalar windows). The overhanging edge columns: the contract's scalar
 * helpers. Same bits as the __scalar twin (each lane runs the scalar
 * rule's operations in the same order). */
#include <immintrin.h>

#include "ukernel.h"

/* Lanes outside m read nothing (0.0f). Stride 2 (the common 2x2 / 2
   pool): two loads of the 2 * 16 - 1 contiguous floats the lanes span and
   one even-lane permute instead of a gather (a gather costs a load per
   lane); the loads stop at the last lane's tap. */
static inline __m512 taps16(const float *row, int64_t c, int64_t sw, __m512i lane_idx, __mmask16 m) {
    if (sw == 1) return _mm512_maskz_loadu_ps(m, row + c);
    if (sw == 2) {
        const int nl = 32 - __builtin_clz((unsigned)m | 1u);   /* m is (1 << nl) - 1 */
        const uint32_t span = (1u << (2 * nl - 1)) - 1u;       /* floats 0 .. 2 * nl - 2 */
        const __m512 a = _mm512_maskz_loadu_ps((__mmask16)span, row + c);
        const __m512 b = _mm512_maskz_loadu_ps((__mmask16)(span >> 16), row + c + 16);
        const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        return _mm512_maskz_permutex2var_ps(m, a, even, b);
    }
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, lane_idx, row + c, 4);
}

static inline __m512i lanes_times(int64_t sw) {
    return _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                              _mm512_set1_epi32((int)sw));
}

/* The update rule on one tap vector v of window offset t (i*W + j). */
static inline void max_step(__m512 v, int t, __m512 *acc, __m512i *tap) {
    const __mmask16 upd = _mm512_cmp_ps_mask(v, *acc, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    *acc = _mm512_mask_mov_ps(*acc, upd, v);
    *tap = _mm512_mask_mov_epi32(*tap, upd, _mm512_set1_epi32(t));
}

/* MaxPool2d(2) rows (2x2 windows, stride 2, no padding) of at most 16
   outputs, every window inside the plane: straight-line code. Each window
   row is loaded once (2Q floats, two masked loads) and split into its
   even (j = 0) and odd (j = 1) taps by permutes; the taps go through the
   rule in its order (0,0) (0,1) (1,0) (1,1). The general path's setup
   (window ranges, lane offsets, loops) was most of the cost of the 2- and
   4-wide rows of small planes (the 8x8 CNN step's pools). Returns 0 for
   other rows. */
static int max_row_2x2(const nb_pool2d_geom *g, const float *x, int64_t p, float *y, int64_t *arg) {
    if (g->kh != 2 || g->kw != 2 || g->sh != 2 || g->sw != 2 || g->ph != 0 || g->pw != 0 || g->Q > 16 ||
        2 * g->Q > g->W || 2 * p + 2 > g->H || g->W >= (1 << 24))
        return 0;
    const int nl = (int)g->Q;
    const __mmask16 m = (__mmask16)((1u << nl) - 1);
    const uint32_t span = (uint32_t)(((uint64_t)1 << (2 * nl)) - 1);   /* floats 0 .. 2Q-1 of a row */
    const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i od = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const float *r0 = x + 2 * p * g->W, *r1 = r0 + g->W;
    const __m512 lo0 = _mm512_maskz_loadu_ps((__mmask16)span, r0), hi0 = _mm512_maskz_loadu_ps((__mmask16)(span >> 16), r0 + 16);
    const __m512 lo1 = _mm512_maskz_loadu_ps((__mmask16)span, r1), hi1 = _mm512_maskz_loadu_ps((__mmask16)(span >> 16), r1 + 16);
    __m512 acc = _mm512_maskz_permutex2var_ps(m, lo0, ev, hi0);
    __m512i tap = _mm512_setzero_si512();
    max_step(_mm512_maskz_permutex2var_ps(m, lo0, od, hi0), 1, &acc, &tap);
    max_step(_mm512_maskz_permutex2var_ps(m, lo1, ev, hi1), (int)g->W, &acc, &tap);
    max_step(_mm512_maskz_permutex2var_ps(m, lo1, od, hi1), (int)g->W + 1, &acc, &tap);
    _mm512_mask_storeu_ps(y, m, acc);
    /* arg = 2p W + 2l + tap, as int64 */
    const __m512i off = _mm512_add_epi32(tap, _mm512_slli_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), 1));
    const __m512i base = _mm512_set1_epi64(2 * p * g->W);
    _mm512_mask_storeu_epi64(arg, (__mmask8)m, _mm512_add_epi64(base, _mm512_cvtepi32_epi64(_mm512_castsi512_si256(off))));
    if (nl > 8)
        _mm512_mask_storeu_epi64(arg + 8, (__mmask8)(m >> 8),
                                 _mm512_add_epi64(base, _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(off, 1))));
    return 1;
}

void nb_f32_maxpool_ukernel__avx512(const nb_pool2d_geom *g, const float *x, int64_t p, float *y, int64_t *arg) {
    if (max_row_2x2(g, x, p, y, arg)) return;
    int64_t q0, q1, i0, i1;
    nb_pool2d_inner_cols(g, &q0, &q1);
    nb_pool2d_inner_rows(g, p, &i0, &i1);
    if (i0 >= i1 || g->sw > (1 << 20) || g->kh * g->W >= (1 << 24)) q0 = q1 = 0;
    const __m512i lane_idx = lanes_times(g->sw);
    const int64_t h0 = p * g->sh - g->ph;
    int64_t q = 0;
    for (; q < q0; q++) y[q] = nb_pool2d_max_one(g, x, p, q, &arg[q]);
    for (; q < q1; q += 16) {
        const int nl = q1 - q < 16 ? (int)(q1 - q) : 16;
        const __mmask16 m = (__mmask16)((1u << nl) - 1);
        const int64_t c = q * g->sw - g->pw;
        __m512 acc = taps16(x + (h0 + i0) * g->W, c, g->sw, lane_idx, m);
        __m512 tap = _mm512_set1_ps((float)(i0 * g->W));
        for (int64_t i = i0; i < i1; i++) {
            const float *row = x + (h0 + i) * g->W;
            for (int64_t j = i == i0 ? 1 : 0; j < g->kw; j++) {
                const __m512 v = taps16(row, c + j, g->sw, lane_idx, m);
                const __mmask16 upd = _mm512_cmp_ps_mask(v, acc, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
                acc = _mm512_mask_mov_ps(acc, upd, v);
                tap = _mm512_mask_mov_ps(tap, upd, _mm512_set1_ps((float)(i * g->W + j)));
            }
        }
        _mm512_mask_storeu_ps(y + q, m, acc);
        /* arg = h0*W + c + l*sw + tap (tap = i*W + j, exact in float), 8 lanes a half */
        const __m512i at = _mm512_set1_epi64(h0 * g->W + c), sw8 = _mm512_set1_epi64(g->sw * 8);
        const __m512i l_sw = _mm512_mullo_epi64(_mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7), _mm512_set1_epi64(g->sw));
        const __m512i a0 = _mm512_add_epi64(_mm512_add_epi64(at, l_sw), _mm512_cvttps_epi64(_mm512_castps512_ps256(tap)));
        const __m512i a1 = _mm512_add_epi64(_mm512_add_epi64(at, _mm512_add_epi64(l_sw, sw8)),
                                            _mm512_cvttps_epi64(_mm512_extractf32x8_ps(tap, 1)));
        _mm512_mask_storeu_epi64(arg + q, (__mmask8)m, a0);
        _mm512_mask_storeu_epi64(arg + q + 8, (__mmask8)(m >> 8), a1);
    }
    q = q1;   /* the masked last vector ended past q1 */
    for (; q < g->Q; q++) y[q] = nb_pool2d_max_one(g, x, p, q, &arg[q]);
}

void nb_f32_avgpool_ukernel__avx512(const nb_pool2d_geom *g, const float *x, int64_t p, float *y) {
    int64_t q0, q1, i0, i1;
    nb_pool2d_inner_cols(g, &q0, &q1);
    nb_pool2d_inner_rows(g, p, &i0, &i1);
    if (g->sw > (1 << 20)) q0 = q1 = 0;
    const __m512i lane_idx = lanes_times(g->sw);
    const __m512 den = _mm512_set1_ps((float)(g->kh * g->kw));
    const int64_t h0 = p * g->sh - g->ph;
    int64_t q = 0;
    for (; q < q0; q++) y[q] = nb_pool2d_avg_one(g, x, p, q);
    for (; q < q1; q += 16) {
        const int nl = q1 - q < 16 ? (int)(q1 - q) : 16;
        const __mmask16 m = (__mmask16)((1u << nl) - 1);
        const int64_t c = q * g->sw - g->pw;
        __m512 acc = _mm512_setzero_ps();
        for (int64_t i = i0; i < i1; i++) {
            const float *row = x + (h0 + i) * g->W;
            for (int64_t j = 0; j < g->kw; j++) acc = _mm512_add_ps(acc, taps16(row, c + j, g->sw, lane_idx, m));
        }
        _mm512_mask_storeu_ps(y + q, m, _mm512_div_ps(acc, den));
    }
    q = q1;   /* the masked last vector ended past q1 */
    for (; q < g->Q; q++) y[q] = nb_pool2d_avg_one(g, x, p, q);
}

/* The max-pool backward of output row p (src/ukernel_pool.h). The 2x2
 * stride-2 unpadded pool (each input a tap of at most one window) writes
 * its two rows of dx directly, 8 outputs a step: the argmax offset from
 * the window corner (0, 1, W or W + 1) picks, per output, which of its
 * four taps gets 0.0f + dy (the bits of zero-fill then +=); the two taps
 * of a row interleave into 16 floats. The columns and rows no window
 * covers are zeroed. Other geometries: the plain rule (zero the band,
 * scatter). */
void nb_f32_maxpool_bwd_ukernel__avx512(const nb_pool2d_geom *g, int64_t p, int64_t P, const float *dy,
                                        const int64_t *arg, int64_t base, float *dx) {
    int64_t h0, h1;
    nb_pool2d_band(g, p, P, &h0, &h1);
    const int64_t W = g->W, Q = g->Q;
    if (g->kh != 2 || g->kw != 2 || g->sh != 2 || g->sw != 2 || g->ph || g->pw || h1 - h0 < 2 || 2 * Q > W) {
        for (int64_t i = h0 * W; i < h1 * W; i++) dx[i] = 0.0f;
        for (int64_t q = 0; q < Q; q++)
            if (arg[q] >= 0) dx[arg[q] - base] += dy[q];
        return;
    }
    float *r0 = dx + h0 * W, *r1 = r0 + W;
    const __m512i inter = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i twice = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14);
    const __m512i one = _mm512_set1_epi64(1), w = _mm512_set1_epi64(W), w1 = _mm512_set1_epi64(W + 1);
    for (int64_t q = 0; q < Q; q += 8) {
        const int64_t left = Q - q < 8 ? Q - q : 8;
        const __mmask8 k = (__mmask8)((1u << left) - 1u);
        const __mmask16 k2 = (__mmask16)((1u << (2 * left)) - 1u);
        /* the argmax's offset from its window's corner (h0, 2q + 2l) */
        const __m512i corner = _mm512_add_epi64(_mm512_set1_epi64(base + h0 * W + 2 * q), twice);
        const __m512i d = _mm512_sub_epi64(_mm512_maskz_loadu_epi64(k, arg + q), corner);
        const __m256 v = _mm256_add_ps(_mm256_setzero_ps(), _mm256_maskz_loadu_ps(k, dy + q));
        const __m256 v00 = _mm256_maskz_mov_ps(_mm512_cmpeq_epi64_mask(d, _mm512_setzero_si512()), v);
        const __m256 v01 = _mm256_maskz_mov_ps(_mm512_cmpeq_epi64_mask(d, one), v);
        const __m256 v10 = _mm256_maskz_mov_ps(_mm512_cmpeq_epi64_mask(d, w), v);
        const __m256 v11 = _mm256_maskz_mov_ps(_mm512_cmpeq_epi64_mask(d, w1), v);
        _mm512_mask_storeu_ps(r0 + 2 * q, k2,
                              _mm512_permutex2var_ps(_mm512_castps256_ps512(v00), inter, _mm512_castps256_ps512(v01)));
        _mm512_mask_storeu_ps(r1 + 2 * q, k2,
                              _mm512_permutex2var_ps(_mm512_castps256_ps512(v10), inter, _mm512_castps256_ps512(v11)));
    }
    for (int64_t j = 2 * Q; j < W; j++) r0[j] = r1[j] = 0.0f;
    for (int64_t i = (h0 + 2) * W; i < h1 * W; i++) dx[i] = 0.0f;
}
