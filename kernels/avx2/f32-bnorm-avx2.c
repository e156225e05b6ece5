/* The batch-norm rows (src/ukernel_bnorm.h) in ymm: the contract's 16
 * double lanes are four ymm accumulators (q[j]: lanes 4j .. 4j+3), fed by
 * two 8-float loads per step (vcvtps2pd of each 128-bit half); a row's
 * last 1..15 floats are one step of masked loads (vmaskmovps: nothing
 * read past the row) whose masked lanes add +0.0 (sum: the zero the
 * load gives; sqdev, gsums: the term and-ed with the lane mask), an exact
 * no-op on a lane that never holds -0.0; so the bits are
 * nb_f32_bn*_ukernel__scalar's. gsums keeps eight accumulators live
 * (sum g, sum g * (x - mu)), the other passes four. affine: 8 floats per
 * step, separate multiplies and adds. */
#include <immintrin.h>

#include "mask-avx2.h"
#include "ukernel.h"

/* 16 floats from p (the first `left` of them when left < 16, zeros after)
   as 16 double lanes. */
static inline void load16(const float *p, size_t left, __m256d d[4]) {
    __m256 a, b;
    if (left >= 16) {
        a = _mm256_loadu_ps(p);
        b = _mm256_loadu_ps(p + 8);
    } else {
        a = _mm256_maskload_ps(p, nb_avx2_lane_mask((int64_t)left));
        b = _mm256_maskload_ps(p + 8, nb_avx2_lane_mask(left > 8 ? (int64_t)left - 8 : 0));
    }
    d[0] = _mm256_cvtps_pd(_mm256_castps256_ps128(a));
    d[1] = _mm256_cvtps_pd(_mm256_extractf128_ps(a, 1));
    d[2] = _mm256_cvtps_pd(_mm256_castps256_ps128(b));
    d[3] = _mm256_cvtps_pd(_mm256_extractf128_ps(b, 1));
}

/* All-ones on the double lanes 4j .. 4j+3 that are below left. */
static inline __m256d keep(size_t left, int j) {
    const __m256i idx = _mm256_setr_epi64x(4 * j, 4 * j + 1, 4 * j + 2, 4 * j + 3);
    return _mm256_castsi256_pd(_mm256_cmpgt_epi64(_mm256_set1_epi64x((long long)(left < 16 ? left : 16)), idx));
}

/* nb_bnorm_tree: h = 8 (q0 + q2, q1 + q3), 4, 2, 1. */
static inline double tree(const __m256d q[4]) {
    const __m256d s4 = _mm256_add_pd(_mm256_add_pd(q[0], q[2]), _mm256_add_pd(q[1], q[3]));
    const __m128d s2 = _mm_add_pd(_mm256_castpd256_pd128(s4), _mm256_extractf128_pd(s4, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s2, _mm_unpackhi_pd(s2, s2)));
}

double nb_f32_bnsum_ukernel__avx2(size_t rows, size_t n, const float *x, size_t ldx) {
    __m256d q[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
    for (size_t r = 0; r < rows; r++, x += ldx)
        for (size_t i = 0; i < n; i += 16) {
            __m256d d[4];
            load16(x + i, n - i, d);
            for (int j = 0; j < 4; j++) q[j] = _mm256_add_pd(q[j], d[j]);
        }
    return tree(q);
}

double nb_f32_bnsqdev_ukernel__avx2(size_t rows, size_t n, const float *x, size_t ldx, double mu) {
    const __m256d m = _mm256_set1_pd(mu);
    __m256d q[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
    for (size_t r = 0; r < rows; r++, x += ldx)
        for (size_t i = 0; i < n; i += 16) {
            __m256d d[4];
            load16(x + i, n - i, d);
            for (int j = 0; j < 4; j++) {
                const __m256d t = _mm256_sub_pd(d[j], m), s = _mm256_mul_pd(t, t);
                q[j] = _mm256_add_pd(q[j], n - i >= 16 ? s : _mm256_and_pd(s, keep(n - i, j)));
            }
        }
    return tree(q);
}

void nb_f32_bngsums_ukernel__avx2(size_t rows, size_t n, const float *g, const float *x, size_t ldx, double mu,
                                  double out[2]) {
    const __m256d m = _mm256_set1_pd(mu);
    __m256d sg[4], sp[4];
    for (int j = 0; j < 4; j++) sg[j] = sp[j] = _mm256_setzero_pd();
    for (size_t r = 0; r < rows; r++, g += ldx, x += ldx)
        for (size_t i = 0; i < n; i += 16) {
            __m256d gd[4], xd[4];
            load16(g + i, n - i, gd);
            load16(x + i, n - i, xd);
            for (int j = 0; j < 4; j++) {
                const __m256d p = _mm256_mul_pd(gd[j], _mm256_sub_pd(xd[j], m));
                sg[j] = _mm256_add_pd(sg[j], gd[j]);
                sp[j] = _mm256_add_pd(sp[j], n - i >= 16 ? p : _mm256_and_pd(p, keep(n - i, j)));
            }
        }
    out[0] = tree(sg);
    out[1] = tree(sp);
}

void nb_f32_bnaffine_ukernel__avx2(size_t rows, size_t n, size_t ld, const float *u, const float *v, float a,
                                   float b, float c, float *y) {
    const __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b), vc = _mm256_set1_ps(c);
    for (size_t r = 0; r < rows; r++, u += ld, y += ld, v = v ? v + ld : NULL) {
        size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            __m256 t = _mm256_mul_ps(va, _mm256_loadu_ps(u + i));
            if (v) t = _mm256_add_ps(t, _mm256_mul_ps(vb, _mm256_loadu_ps(v + i)));
            _mm256_storeu_ps(y + i, _mm256_add_ps(t, vc));
        }
        if (i < n) {
            const __m256i k = nb_avx2_lane_mask((int64_t)(n - i));
            __m256 t = _mm256_mul_ps(va, _mm256_maskload_ps(u + i, k));
            if (v) t = _mm256_add_ps(t, _mm256_mul_ps(vb, _mm256_maskload_ps(v + i, k)));
            nb_avx2_maskstore_first(y + i, k, _mm256_add_ps(t, vc));
        }
    }
}
