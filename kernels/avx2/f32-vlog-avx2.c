/* y = log(x), AVX2 (AVX + AVX2 + FMA3).
 * Layout: n contiguous floats, any alignment; y == x allowed.
 * Unroll 16, masked tail (masked-out lanes compute log(0) = -inf, never
 * stored). Accuracy: SLEEF Sleef_logf8_u10avx2, <= 1.0 ULP, subnormal
 * inputs included; log(+-0) = -inf, log(x < 0) = NaN, log(+inf) = +inf. */
#include <sleef.h>

#include "vunary-avx2.h"

#define F(v) Sleef_logf8_u10avx2(v)

void nb_f32_vlog_ukernel__avx2_u16(size_t n, const float *x, float *y) {
    NB_AVX2_VUNARY_LOOP(F, n, x, y);
}
