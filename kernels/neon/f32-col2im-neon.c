/* col2im over a range of output pixels (contract: src/conv_driver.h): the
 * scatter-add adjoint of im2col. ISA: AArch64 Advanced SIMD.
 *
 * The shared row walk (nb_conv_col2im_walk, src/conv_driver.h); only the
 * interior of each p-row touches x. Every
 * element of x receives its adds in the order c, r, s, p, q, one add per
 * tap, as in the reference (so the result is the reference's, bit for bit).
 * Stride 1 adds 4 floats per vaddq (vectors of distinct elements: no
 * reassociation); other strides scalar.
 */
#include <arm_neon.h>

#include "conv-neon.h"

static void add_run(float *o, const float *in, int64_t n, int64_t stride) {
    int64_t i = 0;
    if (stride == 1)
        for (; i + 4 <= n; i += 4) vst1q_f32(o + i, vaddq_f32(vld1q_f32(o + i), vld1q_f32(in + i)));
    for (; i < n; i++) o[i * stride] += in[i];
}

void nb_f32_col2im_ukernel__neon(const nb_conv2d_desc *d, int64_t channels, int64_t P, int64_t Q,
                                 int64_t j0, int64_t nj, const float *col, int64_t ldcol,
                                 float *x) {
    (void)P;
    nb_conv_col2im_walk(d, channels, Q, j0, nj, col, ldcol, x, add_run);
}
