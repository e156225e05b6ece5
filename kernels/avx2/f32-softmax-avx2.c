/* One row of softmax: y[j] = exp(x[j] - m) / sum_k exp(x[k] - m), m = max x;
 * AVX2 (AVX + AVX2 + FMA3). n >= 1 contiguous floats, any alignment; y == x
 * allowed (x is fully read by the max pass before y is written).
 *
 * Three passes like the reference (ref/softmax.c), same arithmetic:
 *   1. m = max (masked-out tail lanes are -inf, so they never win);
 *   2. e_j = exp(fl(x_j - m)) stored to y, S = sum e_j accumulated in double
 *      (16 lane-wise partial sums; masked-out tail lanes are zeroed first);
 *   3. y_j = fl(e_j * (1/S)) computed in double (one float rounding).
 * Special values as the reference: a NaN anywhere makes S NaN and the whole
 * row NaN; +inf in the row or a row of all -inf gives inf - inf = NaN.
 *
 * Accuracy (u = 2^-24, d_j = x_j - m <= 0, nabla's exp (vmath-avx2.h) b_e = 1.7 ULP):
 *   e_j has relative error r_j <= u|d_j| (rounding of x_j - m, amplified by
 *   exp) + 2 b_e u (exp); S then has relative error <= sum_j p_j r_j + n 2^-52
 *   (p_j = the exact softmax); y_j's relative error is
 *   <= r_j + sum_k p_k r_k + u + O(2^-50), plus 2^-149 absolute when y_j is
 *   subnormal. For |d| <~ 1 that is about 8u-9u, i.e. 8-9 ULP. */
#include <math.h>

#include "vunary-avx2.h"
#include "vmath-avx2.h"

static inline float hmax8(__m256 v) {
    __m128 a = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_max_ps(a, _mm_movehl_ps(a, a));
    a = _mm_max_ss(a, _mm_movehdup_ps(a));
    return _mm_cvtss_f32(a);
}

static inline double hsum4d(__m256d v) {
    __m128d a = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    a = _mm_add_sd(a, _mm_unpackhi_pd(a, a));
    return _mm_cvtsd_f64(a);
}

/* Both halves of e widened to double and added to (lo, hi). */
static inline void acc_d(__m256 e, __m256d *lo, __m256d *hi) {
    *lo = _mm256_add_pd(*lo, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
    *hi = _mm256_add_pd(*hi, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
}

/* fl(e * s) with the product in double. */
static inline __m256 scale_d(__m256 e, __m256d s) {
    const __m128 lo = _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(e)), s));
    const __m128 hi = _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)), s));
    return _mm256_insertf128_ps(_mm256_castps128_ps256(lo), hi, 1);
}

/* max over x[0..n), n >= 1 (also used by the log_softmax kernel). */
float nb_avx2_softmax_row_max(size_t n, const float *x) {
    __m256 m0 = _mm256_set1_ps(-INFINITY), m1 = m0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + i));
        m1 = _mm256_max_ps(m1, _mm256_loadu_ps(x + i + 8));
    }
    if (i + 8 <= n) { m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + i)); i += 8; }
    if (i < n) {
        const __m256i k = nb_avx2_lane_mask(n - i);
        const __m256 v = _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), _mm256_maskload_ps(x + i, k),
                                          _mm256_castsi256_ps(k));
        m1 = _mm256_max_ps(m1, v);
    }
    return hmax8(_mm256_max_ps(m0, m1));
}

/* S = sum exp(x - m) in double; when y != NULL also stores the exps to y. */
double nb_avx2_softmax_exp_sum(size_t n, const float *x, float m, float *y) {
    const __m256 vm = _mm256_set1_ps(m);
    __m256d s0 = _mm256_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256 a = nb_avx2_exp(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
        const __m256 b = nb_avx2_exp(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vm));
        if (y) { _mm256_storeu_ps(y + i, a); _mm256_storeu_ps(y + i + 8, b); }
        acc_d(a, &s0, &s1);
        acc_d(b, &s2, &s3);
    }
    if (i + 8 <= n) {
        const __m256 a = nb_avx2_exp(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
        if (y) _mm256_storeu_ps(y + i, a);
        acc_d(a, &s0, &s1);
        i += 8;
    }
    if (i < n) {
        const __m256i k = nb_avx2_lane_mask(n - i);
        __m256 a = nb_avx2_exp(_mm256_sub_ps(_mm256_maskload_ps(x + i, k), vm));
        a = _mm256_and_ps(a, _mm256_castsi256_ps(k));      /* masked lanes add nothing */
        if (y) nb_avx2_maskstore_first(y + i, k, a);
        acc_d(a, &s2, &s3);
    }
    return hsum4d(_mm256_add_pd(_mm256_add_pd(s0, s1), _mm256_add_pd(s2, s3)));
}

void nb_f32_softmax_ukernel__avx2(size_t n, const float *x, float *y) {
    const float m = nb_avx2_softmax_row_max(n, x);
    const double s = nb_avx2_softmax_exp_sum(n, x, m, y);
    const __m256d inv = _mm256_set1_pd(1.0 / s);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, scale_d(_mm256_loadu_ps(y + i), inv));
    if (i < n) {
        const __m256i k = nb_avx2_lane_mask(n - i);
        nb_avx2_maskstore_first(y + i, k, scale_d(_mm256_maskload_ps(y + i, k), inv));
    }
}
