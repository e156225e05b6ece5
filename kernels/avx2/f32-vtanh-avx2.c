/* y = tanh(x), AVX2 (AVX + AVX2 + FMA3).
 * Layout: n contiguous floats, any alignment; y == x allowed.
 * Unroll 16, masked tail. Accuracy: SLEEF Sleef_tanhf8_u10avx2, <= 1.0 ULP. */
#include <sleef.h>

#include "vunary-avx2.h"

#define F(v) Sleef_tanhf8_u10avx2(v)

void nb_f32_vtanh_ukernel__avx2_u16(size_t n, const float *x, float *y) {
    NB_AVX2_VUNARY_LOOP(F, n, x, y);
}
