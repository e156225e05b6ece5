/* y = gelu(x) = (0.5 x) (1 + erf(x * fl(1/sqrt 2))), exact (erf) form;
 * AArch64 Advanced SIMD. n contiguous floats, any alignment; y == x allowed.
 * Unroll 8, stack-buffer tail. Same operation order as ref/unary.c, no FMA.
 * Accuracy: |y - gelu(x)| <= 2.5u|x| + u|gelu(x)| + 2^-150 with SLEEF erff
 * u10 (derivation in kernels/avx2/f32-vgelu-avx2.c); <= 6 ULP for x >= 0. */
#include <sleef.h>

#include "vunary-neon.h"

static inline float32x4_t gelu4(float32x4_t x) {
    const float32x4_t e = Sleef_erff4_u10advsimd(vmulq_f32(x, vdupq_n_f32(0.70710678118654752440f)));
    return vmulq_f32(vmulq_f32(vdupq_n_f32(0.5f), x), vaddq_f32(vdupq_n_f32(1.0f), e));
}

#define F(v) gelu4(v)

void nb_f32_vgelu_ukernel__neon_u8(size_t n, const float *x, float *y) {
    NB_NEON_VUNARY_LOOP(F, n, x, y);
}
