/* The NEON float32 convolution slots: the portable driver
 * (src/conv_driver.c, shared with AVX2) with the NEON SGEMM (8x12),
 * im2col / col2im, the NEON fill and a double-accumulating row sum for
 * dbias.
 *
 * Column blocks of ~128 Ki floats (512 KiB): written by im2col and read by
 * the GEMM's B packing while still in L2 (1 MiB on Neoverse-N1 class cores;
 * the AVX2 measurements showed 16 Ki..1 Mi floats within noise). At least
 * 128 output pixels per block so each block's GEMM repays packing the
 * filters. Not timed on AArch64 hardware: tuned values are the AVX2 ones.
 */
#include <arm_neon.h>

#include "conv-neon.h"
#include "gemm_ukernels.h"
#include "reduce-neon.h"

static void fill_f32(int64_t n, float v, float *dst) {
    union { float f; uint32_t u; } b = {v};
    nb_x32_fill_ukernel__neon(n, b.u, dst);
}

/* Sum in double: 4 floats per step widened into two 2-lane double
   accumulators (a fixed order for a given n), then the lanes and the tail. */
static double rowsum_f64(int64_t n, const float *x) {
    float64x2_t a0 = vdupq_n_f64(0.0), a1 = vdupq_n_f64(0.0);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float32x4_t v = vld1q_f32(x + i);
        a0 = vaddq_f64(a0, vcvt_f64_f32(vget_low_f32(v)));
        a1 = vaddq_f64(a1, vcvt_high_f64_f32(v));
    }
    const float64x2_t s = vaddq_f64(a0, a1);
    double acc = vgetq_lane_f64(s, 0) + vgetq_lane_f64(s, 1);
    for (; i < n; i++) acc += (double)x[i];
    return acc;
}

static const nb_conv_desc conv_desc = {
    .sgemm = nb_neon_sgemm,
    .gemm = &nb_neon_sgemm_desc,
    .pack_b_im2col = nb_f32_packb_im2col_ukernel_12__neon,
    .im2col = nb_x32_im2col_ukernel__neon,
    .col2im = nb_f32_col2im_ukernel__neon,
    .fill = fill_f32,
    .rowsum = rowsum_f64,
    .col_floats = 131072,
    .min_block = 128,
    .min_mnk_per_thread = 65536,   /* the SGEMM's own threshold */
};

nb_status nb_neon_sconv2d_forward(const nb_conv2d_desc *d, const float *x, const float *w,
                                  const float *bias, float *y) {
    return nb_conv_forward_run(&conv_desc, d, x, w, bias, y);
}

nb_status nb_neon_sconv2d_backward_data(const nb_conv2d_desc *d, const float *dy, const float *w,
                                        float *dx) {
    return nb_conv_backward_data_run(&conv_desc, d, dy, w, dx);
}

nb_status nb_neon_sconv2d_backward_filter(const nb_conv2d_desc *d, const float *x,
                                          const float *dy, float *dw, float *dbias) {
    return nb_conv_backward_filter_run(&conv_desc, d, x, dy, dw, dbias);
}
