/* y = a * b, float32, elementwise, in the three row layouts of
 * src/ukernel.h ("elementwise binary rows"). NEON (AArch64 Advanced SIMD,
 * IEEE division, no flush-to-zero under Linux's default FPCR): 8 floats per
 * step (two Q registers), then 4, then the tail through a zero-padded stack
 * vector (no access outside [0, n)); any alignment. One IEEE operation per
 * element: the bits of nb_f32_vmul_ukernel__scalar and its siblings
 * (NaN payloads aside). */
#include <assert.h>

#include "vbinary-neon.h"
#include "ukernel.h"

void nb_f32_vmul_ukernel__neon_u8(size_t n, const float *a, const float *b, float *y) {
    assert(n == 0 || (a && b && y));
    NB_NEON_VBINARY_ROW(vmulq_f32, NB_NEON_LA, NB_NEON_LB, NB_NEON_TLA, NB_NEON_TLB);
}

void nb_f32_vmulc_ukernel__neon_u8(size_t n, const float *a, float c, float *y) {
    assert(n == 0 || (a && y));
    const float32x4_t vc = vdupq_n_f32(c);
    NB_NEON_VBINARY_ROW(vmulq_f32, NB_NEON_LA, NB_NEON_LC, NB_NEON_TLA, NB_NEON_TLC);
}

void nb_f32_vrmulc_ukernel__neon_u8(size_t n, const float *a, float c, float *y) {
    assert(n == 0 || (a && y));
    const float32x4_t vc = vdupq_n_f32(c);
    NB_NEON_VBINARY_ROW(vmulq_f32, NB_NEON_LC, NB_NEON_LA, NB_NEON_TLC, NB_NEON_TLA);
}
