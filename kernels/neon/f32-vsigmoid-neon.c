/* y = sigmoid(x), AArch64 Advanced SIMD.
 * Layout: n contiguous floats, any alignment; y == x allowed.
 * Unroll 8, stack-buffer tail.
 * Same formula as the reference: e = exp(-|x|), y = (x >= 0 ? 1 : e) / (1 + e).
 * Accuracy: relative error <= 4u (u = 2^-24), at most 4 ULP; derivation in
 * kernels/avx2/f32-vsigmoid-avx2.c (SLEEF expf u10 here too). */
#include <sleef.h>

#include "vunary-neon.h"

static inline float32x4_t sigmoid4(float32x4_t x) {
    const float32x4_t one = vdupq_n_f32(1.0f);
    const float32x4_t e = Sleef_expf4_u10advsimd(vnegq_f32(vabsq_f32(x)));
    const uint32x4_t nonneg = vcgeq_f32(x, vdupq_n_f32(0.0f));   /* false for NaN */
    return vdivq_f32(vbslq_f32(nonneg, one, e), vaddq_f32(one, e));
}

#define F(v) sigmoid4(v)

void nb_f32_vsigmoid_ukernel__neon_u8(size_t n, const float *x, float *y) {
    NB_NEON_VUNARY_LOOP(F, n, x, y);
}
