/* y = log(x), AVX-512F: SLEEF Sleef_logf16_u10avx512f, <= 1.0 ULP.
 * Layout: n contiguous floats, any alignment; y == x allowed. Unroll 32,
 * masked tail (vunary-avx512.h). The same formula and SLEEF variant as the
 * AVX2 kernel, 16 lanes wide: the same error bound (tests/unary_oracle.h). */
#include <sleef.h>

#include "vunary-avx512.h"

#define F(v) Sleef_logf16_u10avx512f(v)

void nb_f32_vlog_ukernel__avx512_u32(size_t n, const float *x, float *y) {
    NB_AVX512_VUNARY_LOOP(F, n, x, y);
}
