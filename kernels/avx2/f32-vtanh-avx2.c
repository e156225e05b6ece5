/* y = tanh(x), AVX2 (AVX + AVX2 + FMA3).
 * Layout: n contiguous floats, any alignment; y == x allowed.
 * Unroll 16, masked tail. nabla's own expm1-based tanh (vmath-avx2.h):
 * -e/(2+e) near 0, 1 - 2E/(1+E) beyond 0.55, one division. Bound 3.7 ULP
 * (derived there; DESIGN.md). tanh(+-inf) = +-1, tanh(-0) = -0. */
#include "vunary-avx2.h"
#include "vmath-avx2.h"

#define F(v) nb_avx2_tanh(v)

void nb_f32_vtanh_ukernel__avx2_u16(size_t n, const float *x, float *y) {
    NB_AVX2_VUNARY_LOOP(F, n, x, y);
}
