/* im2col over a range of output pixels (contract: src/conv_driver.h). Exact
 * (a copy). ISA: AArch64 Advanced SIMD.
 *
 * The shared row walk (nb_conv_im2col_walk, src/conv_driver.h) with NEON
 * runs: stride 1 copies 4 floats per vld1q/vst1q (16 per step)
 * with a scalar tail, so nothing past the run is touched; other strides
 * copy scalar (the GEMM after it dominates: im2col is ~10% of a 3x3
 * forward on AVX2).
 */
#include <arm_neon.h>

#include "conv-neon.h"

static void zero_run(float *o, int64_t n) {
    const float32x4_t z = vdupq_n_f32(0.0f);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(o + i, z);
    for (; i < n; i++) o[i] = 0.0f;
}

/* o[i] = in[i * stride] for i < n. */
static void copy_run(float *o, const float *in, int64_t n, int64_t stride) {
    int64_t i = 0;
    if (stride == 1) {
        for (; i + 16 <= n; i += 16) {
            vst1q_f32(o + i, vld1q_f32(in + i));
            vst1q_f32(o + i + 4, vld1q_f32(in + i + 4));
            vst1q_f32(o + i + 8, vld1q_f32(in + i + 8));
            vst1q_f32(o + i + 12, vld1q_f32(in + i + 12));
        }
        for (; i + 4 <= n; i += 4) vst1q_f32(o + i, vld1q_f32(in + i));
    }
    for (; i < n; i++) o[i] = in[i * stride];
}

void nb_x32_im2col_ukernel__neon(const nb_conv2d_desc *d, int64_t channels, int64_t P, int64_t Q,
                                 int64_t j0, int64_t nj, const float *x, float *col,
                                 int64_t ldcol) {
    (void)P;
    nb_conv_im2col_walk(d, channels, Q, j0, nj, x, col, ldcol, zero_run, copy_run);
}
