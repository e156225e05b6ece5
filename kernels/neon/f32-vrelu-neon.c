/* y = relu(x) = x > 0 ? x : 0, NaN -> NaN, relu(-0) = +0; AArch64 Advanced
 * SIMD. n contiguous floats, any alignment; y == x allowed. Unroll 8,
 * stack-buffer tail. Exact.
 * AArch64 FMAX returns NaN when either operand is NaN and orders -0 < +0,
 * so vmaxq_f32(x, 0) is exactly the rule (unlike x86 maxps). */
#include "vunary-neon.h"

#define F(v) vmaxq_f32((v), vdupq_n_f32(0.0f))

void nb_f32_vrelu_ukernel__neon_u8(size_t n, const float *x, float *y) {
    NB_NEON_VUNARY_LOOP(F, n, x, y);
}
