/* y = exp(x), AArch64 Advanced SIMD.
 * Layout: n contiguous floats, any alignment; y == x allowed.
 * Unroll 8, stack-buffer tail (never touches memory beyond n).
 * Accuracy: SLEEF Sleef_expf4_u10advsimd, <= 1.0 ULP (same algorithm and
 * bound as the AVX2 kernel; see f32-vexp-avx2.c for the special values). */
#include <sleef.h>

#include "vunary-neon.h"

#define F(v) Sleef_expf4_u10advsimd(v)

void nb_f32_vexp_ukernel__neon_u8(size_t n, const float *x, float *y) {
    NB_NEON_VUNARY_LOOP(F, n, x, y);
}
