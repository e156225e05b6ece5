/* y = log(x), AVX2 (AVX + AVX2 + FMA3).
 * Layout: n contiguous floats, any alignment; y == x allowed.
 * Unroll 16, masked tail (masked-out lanes compute log(0) = -inf, never
 * stored). nabla's own polynomial (vmath-avx2.h): x = 2^k m, m in
 * [sqrt(1/2), sqrt 2), degree-10 log1p. Bound 1.6 ULP (derived there;
 * DESIGN.md), subnormal inputs included; log(+-0) = -inf, log(x < 0) = NaN,
 * log(+inf) = +inf. */
#include "vunary-avx2.h"
#include "vmath-avx2.h"

#define F(v) nb_avx2_log(v)

void nb_f32_vlog_ukernel__avx2_u16(size_t n, const float *x, float *y) {
    NB_AVX2_VUNARY_LOOP(F, n, x, y);
}
