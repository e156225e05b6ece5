/* y = relu(x) = x > 0 ? x : 0, NaN -> NaN (as torch.relu), relu(-0) = +0;
 * AVX2. Layout: n contiguous floats, any alignment; y == x allowed.
 * Unroll 16, masked tail. Exact (bit-identical to the reference).
 *
 * maxps alone would return 0 for NaN (it returns its second operand when
 * either is NaN), so keep the lanes that are "not <= 0", an unordered
 * compare that is true for x > 0 and for NaN, and zero the rest. */
#include "vunary-avx2.h"

static inline __m256 relu8(__m256 x) {
    return _mm256_and_ps(x, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_NLE_UQ));
}

#define F(v) relu8(v)

void nb_f32_vrelu_ukernel__avx2_u16(size_t n, const float *x, float *y) {
    NB_AVX2_VUNARY_LOOP(F, n, x, y);
}
