/* y = relu(x), AVX-512F: x > 0 ? x : 0, NaN -> NaN (as torch.relu), relu(-0) = +0.
 * Layout: n contiguous floats, any alignment; y == x allowed. Unroll 32,
 * masked tail (vunary-avx512.h). The same formula and SLEEF variant as the
 * AVX2 kernel, 16 lanes wide: the same error bound (tests/unary_oracle.h). */

#include "vunary-avx512.h"

static inline __m512 relu16(__m512 x) {
    /* Keep x where !(x <= 0) (unordered: NaN kept), else +0. */
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_NLE_UQ), x);
}

#define F(v) relu16(v)

void nb_f32_vrelu_ukernel__avx512_u32(size_t n, const float *x, float *y) {
    NB_AVX512_VUNARY_LOOP(F, n, x, y);
}
