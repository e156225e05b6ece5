/* One row of softmax and of log_softmax, AVX-512F, 16 lanes: the AVX2
 * kernels' algorithm and error bound (README, numerics), with masked tails.
 *   m = max x; S = sum exp(fl(x - m)) in double (nabla's exp, vmath-avx512.h);
 *   softmax:     y[j] = fl(exp(fl(x[j] - m)) * (1 / S)), the product in double;
 *   log_softmax: y[j] = fl(x[j] - (m + log S)), the difference in double.
 * A row with NaN or +inf, or of all -inf, comes out all NaN (as PyTorch):
 * fl(x - m) is NaN somewhere, so S is NaN. n >= 1, any alignment, y == x
 * allowed. */
#include <math.h>

#include "vunary-avx512.h"
#include "vmath-avx512.h"

static inline __mmask16 tail(size_t r) { return (__mmask16)((1u << r) - 1u); }

/* max over x[0..n); masked-off lanes read -inf. */
static float row_max(size_t n, const float *x) {
    __m512 m0 = _mm512_set1_ps(-INFINITY), m1 = m0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        m0 = _mm512_max_ps(m0, _mm512_loadu_ps(x + i));
        m1 = _mm512_max_ps(m1, _mm512_loadu_ps(x + i + 16));
    }
    if (i + 16 <= n) { m0 = _mm512_max_ps(m0, _mm512_loadu_ps(x + i)); i += 16; }
    if (i < n) m1 = _mm512_max_ps(m1, _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), tail(n - i), x + i));
    return _mm512_reduce_max_ps(_mm512_max_ps(m0, m1));
}

/* Both halves of e widened to double and added to s. */
static inline __m512d acc_d(__m512d s, __m512 e) {
    s = _mm512_add_pd(s, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
    return _mm512_add_pd(s, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))));
}

/* S = sum exp(x - m) in double; stores the exps to y unless y is NULL. */
static double exp_sum(size_t n, const float *x, float m, float *y) {
    const __m512 vm = _mm512_set1_ps(m);
    __m512d s0 = _mm512_setzero_pd(), s1 = s0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 e = nb_avx512_exp(_mm512_sub_ps(_mm512_loadu_ps(x + i), vm));
        if (y) _mm512_storeu_ps(y + i, e);
        if ((i / 16) % 2) s1 = acc_d(s1, e);
        else s0 = acc_d(s0, e);
    }
    if (i < n) {
        const __mmask16 k = tail(n - i);
        /* masked-off lanes give exp(0 - m) garbage: zero them before adding */
        const __m512 e = _mm512_maskz_mov_ps(k, nb_avx512_exp(
                             _mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), vm)));
        if (y) _mm512_mask_storeu_ps(y + i, k, e);
        s1 = acc_d(s1, e);
    }
    return _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
}

/* fl(v op c) for the 16 lanes, op in double: multiply (softmax) or subtract. */
static inline __m512 apply_d(__m512 v, __m512d c, int sub) {
    const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    const __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    const __m256 l = _mm512_cvtpd_ps(sub ? _mm512_sub_pd(lo, c) : _mm512_mul_pd(lo, c));
    const __m256 h = _mm512_cvtpd_ps(sub ? _mm512_sub_pd(hi, c) : _mm512_mul_pd(hi, c));
    return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(l)), _mm256_castps_pd(h), 1));
}

static void apply_row(size_t n, const float *src, float *y, __m512d c, int sub) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, apply_d(_mm512_loadu_ps(src + i), c, sub));
    if (i < n) {
        const __mmask16 k = tail(n - i);
        _mm512_mask_storeu_ps(y + i, k, apply_d(_mm512_maskz_loadu_ps(k, src + i), c, sub));
    }
}

void nb_f32_softmax_ukernel__avx512(size_t n, const float *x, float *y) {
    const float m = row_max(n, x);
    const double s = exp_sum(n, x, m, y);
    apply_row(n, y, y, _mm512_set1_pd(1.0 / s), 0);
}

void nb_f32_logsoftmax_ukernel__avx512(size_t n, const float *x, float *y) {
    const float m = row_max(n, x);
    const double s = exp_sum(n, x, m, NULL);
    apply_row(n, x, y, _mm512_set1_pd((double)m + log(s)), 1);
}
