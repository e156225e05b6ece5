/* One row of log_softmax: y[j] = x[j] - (m + log sum_k exp(x[k] - m)),
 * m = max x; AVX2 (AVX + AVX2 + FMA3). n >= 1 contiguous floats, any
 * alignment; y == x allowed (y[j] is written right after x[j] is read, in
 * the last pass).
 *
 * Same steps as the reference (ref/softmax.c): max pass, S = sum exp in
 * double (the exps are not stored), c = m + log(S) in double (scalar libm
 * log: once per row), then y_j = fl(x_j - c) with the subtraction in double.
 * Special values as the reference (NaN rows, +inf, all -inf -> NaN; -inf
 * next to finite values -> -inf).
 *
 * Accuracy (u = 2^-24): S has relative error sigma <= sum_k p_k (u|d_k| + 2u)
 * (see f32-softmax-avx2.c), which moves log(S) by <= sigma absolute; then
 * one rounding: |y_j - exact| <= u|y_j| + sigma + 2^-52 (|m| + |log S|). */
#include <math.h>

#include "vunary-avx2.h"

static inline __m256 sub_d(__m256 v, __m256d c) {
    const __m128 lo = _mm256_cvtpd_ps(_mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), c));
    const __m128 hi = _mm256_cvtpd_ps(_mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), c));
    return _mm256_insertf128_ps(_mm256_castps128_ps256(lo), hi, 1);
}

void nb_f32_logsoftmax_ukernel__avx2(size_t n, const float *x, float *y) {
    const float m = nb_avx2_softmax_row_max(n, x);
    const double s = nb_avx2_softmax_exp_sum(n, x, m, NULL);
    const __m256d c = _mm256_set1_pd((double)m + log(s));
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, sub_d(_mm256_loadu_ps(x + i), c));
    if (i < n) {
        const __m256i k = nb_avx2_lane_mask(n - i);
        nb_avx2_maskstore_first(y + i, k, sub_d(_mm256_maskload_ps(x + i, k), c));
    }
}
