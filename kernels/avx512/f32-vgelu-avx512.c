/* y = gelu(x), AVX-512F: (0.5 x) (1 + erf(x fl(1/sqrt 2))) as in the AVX2 kernel.
 * Layout: n contiguous floats, any alignment; y == x allowed. Unroll 32,
 * masked tail (vunary-avx512.h). The same formula as the AVX2 kernel, with
 * nabla's own exp/erf (vmath-avx512.h), 16 lanes wide: the same error bound (tests/unary_oracle.h). */
#include "vunary-avx512.h"
#include "vmath-avx512.h"

static inline __m512 gelu16(__m512 x) {
    const __m512 e = nb_avx512_erf(_mm512_mul_ps(x, _mm512_set1_ps(0.70710678118654752440f)));
    return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x), _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

#define F(v) gelu16(v)

void nb_f32_vgelu_ukernel__avx512_u32(size_t n, const float *x, float *y) {
    NB_AVX512_VUNARY_LOOP(F, n, x, y);
}
