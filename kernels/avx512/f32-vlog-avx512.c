/* y = log(x): nabla's own polynomial (vmath-avx512.h), bound 1.6 ULP.
 * Layout: n contiguous floats, any alignment; y == x allowed. Unroll 32,
 * masked tail (vunary-avx512.h). The AVX2 kernel's algorithm and bound,
 * 16 lanes wide (tests/unary_oracle.h). */
#include "vunary-avx512.h"
#include "vmath-avx512.h"

#define F(v) nb_avx512_log(v)

void nb_f32_vlog_ukernel__avx512_u32(size_t n, const float *x, float *y) {
    NB_AVX512_VUNARY_LOOP(F, n, x, y);
}
