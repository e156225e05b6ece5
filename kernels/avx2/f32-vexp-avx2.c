/* y = exp(x), AVX2 (AVX + AVX2 + FMA3).
 * Layout: n contiguous floats, any alignment; y == x allowed.
 * Unroll 16 (two independent SLEEF calls in flight), masked tail.
 * Accuracy: SLEEF Sleef_expf8_u10avx2, <= 1.0 ULP over the float range
 * (overflow to +inf above ~88.72, 0 below ~-103.97, NaN -> NaN). */
#include <sleef.h>

#include "vunary-avx2.h"

#define F(v) Sleef_expf8_u10avx2(v)

void nb_f32_vexp_ukernel__avx2_u16(size_t n, const float *x, float *y) {
    NB_AVX2_VUNARY_LOOP(F, n, x, y);
}
