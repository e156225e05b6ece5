/* y = exp(x), AVX2 (AVX + AVX2 + FMA3).
 * Layout: n contiguous floats, any alignment; y == x allowed.
 * Unroll 16 (two independent vectors in flight), masked tail.
 * nabla's own polynomial (vmath-avx2.h): Cody-Waite reduction, degree-6
 * polynomial, 2^n from the rounding constant's bits. Bound 1.7 ULP (derived
 * there; DESIGN.md). exp(x) = +inf above 0x1.62e42ep6, 0 below -0x1.9fe368p6,
 * subnormal results rounded once; NaN -> NaN. */
#include "vunary-avx2.h"
#include "vmath-avx2.h"

#define F(v) nb_avx2_exp(v)

void nb_f32_vexp_ukernel__avx2_u16(size_t n, const float *x, float *y) {
    NB_AVX2_VUNARY_LOOP(F, n, x, y);
}
