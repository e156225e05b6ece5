/* y = gelu(x) = (0.5 x) (1 + erf(x * fl(1/sqrt 2))), exact (erf) form as
 * PyTorch's default; AVX2 (AVX + AVX2 + FMA3).
 * Layout: n contiguous floats, any alignment; y == x allowed.
 * Unroll 16, masked tail. Same operation order as ref/unary.c, no FMA.
 *
 * Accuracy (u = 2^-24; nabla's erf (vmath-avx2.h), bound b_f = 2.2 ULP:
 * |E - erf(z)| <= 2 b_f u |erf(z)|):
 *   z = fl(x fl(1/sqrt2)) = (x/sqrt2)(1 + d), |d| <= 2u, moves erf by at most
 *       max_t |t erf'(t)| * 2u = sqrt(2/(pi e)) * 2u < u (absolute);
 *   S = fl(1 + E): |S - (1 + erf(x/sqrt2))| <= 2 b_f u|erf| + u + u|1 + E|;
 *   y = fl(fl(0.5 x) S): one more relative u (0.5 x is exact unless x is
 *       subnormal: then half an ulp of 2^-149).
 * So |y - gelu(x)| <= 0.5|x| (2 b_f u|erf| + u + u|1+E|) + u|gelu(x)| + 2^-150
 *                  <= (b_f + 1.5)u|x| + u|gelu(x)| + 2^-150.
 * For x >= 0 (gelu(x) >= x/2) that is <= (2 b_f + 4)u|gelu(x)|, <= 8.4 ULP. For
 * x < 0 the absolute term dominates: 1 + erf cancels (gelu(-5) ~ -1.4e-6 is
 * known only to ~2.5u*5 absolute, ~1e-6 relative), as in PyTorch's kernel.
 * Ends: gelu(+inf) = +inf, gelu(-inf) = NaN (-inf * 0, as the reference and
 * PyTorch), NaN -> NaN. */
#include "vunary-avx2.h"
#include "vmath-avx2.h"

static inline __m256 gelu8(__m256 x) {
    const __m256 half = _mm256_set1_ps(0.5f);
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 rsqrt2 = _mm256_set1_ps(0.70710678118654752440f);
    const __m256 e = nb_avx2_erf(_mm256_mul_ps(x, rsqrt2));
    return _mm256_mul_ps(_mm256_mul_ps(half, x), _mm256_add_ps(one, e));
}

#define F(v) gelu8(v)

void nb_f32_vgelu_ukernel__avx2_u16(size_t n, const float *x, float *y) {
    NB_AVX2_VUNARY_LOOP(F, n, x, y);
}
