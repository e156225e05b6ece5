/* y = a * (b * (1 - b)) (sigmoid's gradient: a = incoming gradient,
 * b = sigmoid output; three roundings in this order, the tensor layer's composition), float32, elementwise, in the three row layouts of
 * src/ukernel.h ("elementwise binary rows"). NEON (AArch64): 8 floats per
 * step (two Q registers), then 4, then the tail through a zero-padded stack
 * vector (no access outside [0, n)); any alignment. vmulq/vsubq, never
 * vfmaq/vmlaq: the bits of nb_f32_vsigmoidgrad_ukernel__scalar and its siblings
 * (NaN payloads aside). */
#include <assert.h>

#include "vbinary-neon.h"
#include "ukernel.h"

void nb_f32_vsigmoidgrad_ukernel__neon_u8(size_t n, const float *a, const float *b, float *y) {
    assert(n == 0 || (a && b && y));
    NB_NEON_VBINARY_ROW(nb_neon_vsigmoidgrad, NB_NEON_LA, NB_NEON_LB, NB_NEON_TLA, NB_NEON_TLB);
}

void nb_f32_vsigmoidgradc_ukernel__neon_u8(size_t n, const float *a, float c, float *y) {
    assert(n == 0 || (a && y));
    const float32x4_t vc = vdupq_n_f32(c);
    NB_NEON_VBINARY_ROW(nb_neon_vsigmoidgrad, NB_NEON_LA, NB_NEON_LC, NB_NEON_TLA, NB_NEON_TLC);
}

void nb_f32_vrsigmoidgradc_ukernel__neon_u8(size_t n, const float *a, float c, float *y) {
    assert(n == 0 || (a && y));
    const float32x4_t vc = vdupq_n_f32(c);
    NB_NEON_VBINARY_ROW(nb_neon_vsigmoidgrad, NB_NEON_LC, NB_NEON_LA, NB_NEON_TLC, NB_NEON_TLA);
}
