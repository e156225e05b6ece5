/* y = sigmoid(x) = 1 / (1 + exp(-x)), AVX2 (AVX + AVX2 + FMA3).
 * Layout: n contiguous floats, any alignment; y == x allowed.
 * Unroll 16, masked tail.
 *
 * Same formula as the reference (ref/unary.c): with e = exp(-|x|) in (0, 1],
 *   y = (x >= 0 ? 1 : e) / (1 + e),
 * so exp never overflows and tiny results for x << 0 are e itself, not 0.
 * Accuracy (u = 2^-24, nabla's exp (vmath-avx2.h), bound b_e = 1.7 ULP:
 * |rel err of e| <= 2 b_e u):
 *   x >= 0: 1/(1+e): the error of e enters scaled by e/(1+e) <= 1/2
 *           (b_e u), plus the roundings of 1+e and of the division (2u);
 *   x <  0: e/(1+e): the error of e enters scaled by 1/(1+e) <= 1
 *           (2 b_e u), plus two roundings (2u);
 * i.e. relative error <= (2 b_e + 2) u (+O(u^2)), at most 5.4 ULP. When y
 * is subnormal (x < -87.3), y = e exactly after the division by 1 and the
 * error is exp's on a subnormal result (b_e + 1 ulps of 2^-149). */
#include "vunary-avx2.h"
#include "vmath-avx2.h"

static inline __m256 sigmoid8(__m256 x) {
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256 e = nb_avx2_exp(_mm256_or_ps(x, sign));       /* exp(-|x|) */
    /* x >= 0 (ordered): numerator 1; x < 0 or NaN: e (NaN for NaN). */
    const __m256 nonneg = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ);
    const __m256 num = _mm256_blendv_ps(e, one, nonneg);
    return _mm256_div_ps(num, _mm256_add_ps(one, e));
}

#define F(v) sigmoid8(v)

void nb_f32_vsigmoid_ukernel__avx2_u16(size_t n, const float *x, float *y) {
    NB_AVX2_VUNARY_LOOP(F, n, x, y);
}
