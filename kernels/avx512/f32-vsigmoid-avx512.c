/* y = sigmoid(x), AVX-512F: 1 / (1 + exp(-x)) as in the AVX2 kernel: exp(-|x|) once, numerator 1 or e.
 * Layout: n contiguous floats, any alignment; y == x allowed. Unroll 32,
 * masked tail (vunary-avx512.h). The same formula as the AVX2 kernel, with
 * nabla's own exp/erf (vmath-avx512.h), 16 lanes wide: the same error bound (tests/unary_oracle.h). */
#include "vunary-avx512.h"
#include "vmath-avx512.h"

static inline __m512 sigmoid16(__m512 x) {
    const __m512 one = _mm512_set1_ps(1.0f);
    const __m512 e = nb_avx512_exp(_mm512_or_ps(x, _mm512_set1_ps(-0.0f)));   /* exp(-|x|) */
    /* x >= 0 (ordered): numerator 1; x < 0 or NaN: e (NaN for NaN). */
    const __mmask16 nonneg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GE_OQ);
    return _mm512_div_ps(_mm512_mask_blend_ps(nonneg, e, one), _mm512_add_ps(one, e));
}

#define F(v) sigmoid16(v)

void nb_f32_vsigmoid_ukernel__avx512_u32(size_t n, const float *x, float *y) {
    NB_AVX512_VUNARY_LOOP(F, n, x, y);
}
