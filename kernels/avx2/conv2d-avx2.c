/* The AVX2 float32 convolution slots: the portable driver (src/conv_driver.c)
 * with the AVX2 SGEMM, im2col / col2im, fill and a double-accumulating row
 * sum for dbias.
 *
 * Column blocks of ~128 Ki floats (512 KiB): a block of the column matrix is
 * written by im2col and read right away by the GEMM's B packing while still
 * in L2 (1 MiB per core on the machine the SGEMM was tuned on), and the
 * scratch stays bounded whatever the image size. At least 128 output pixels
 * per block, so each block's GEMM has enough 16-column panels to repay
 * packing its A (the filters), and stays off the no-pack small-N path
 * (N <= 96), which re-reads a large A per 16 columns.
 * Measured (1 thread, CPU time, the four bench layers): blocks of 16 Ki to
 * 1 Mi floats and the whole column matrix at once are all within +-5% (the
 * noise of this shared machine); the ~10% that im2col costs is copying, not
 * cache misses.
 */
#include "conv-avx2.h"
#include "conv_driver.h"
#include "gemm_ukernels.h"
#include "reduce-avx2.h"

static void fill_f32(int64_t n, float v, float *dst) {
    union { float f; uint32_t u; } b = {v};
    nb_x32_fill_ukernel__avx2(n, b.u, dst);
}

/* Sum in double: 8 floats per step widened into two 4-lane double
   accumulators (a fixed order for a given n), then the lanes and the tail. */
static double rowsum_f64(int64_t n, const float *x) {
    __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        a0 = _mm256_add_pd(a0, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
        a1 = _mm256_add_pd(a1, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
    }
    double lanes[4];
    _mm256_storeu_pd(lanes, _mm256_add_pd(a0, a1));
    double acc = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
    for (; i < n; i++) acc += (double)x[i];
    return acc;
}

static const nb_conv_desc conv_desc = {
    .sgemm = nb_avx2_sgemm,
    .gemm = &nb_avx2_sgemm_desc,
    .pack_b_im2col = nb_f32_packb_im2col_ukernel_16__avx2,
    .im2col = nb_x32_im2col_ukernel__avx2,
    .col2im = nb_f32_col2im_ukernel__avx2,
    .fill = fill_f32,
    .rowsum = rowsum_f64,
    .col_floats = 131072,
    .min_block = 128,
    .min_mnk_per_thread = 65536,   /* the SGEMM's own threshold */
};

nb_status nb_avx2_sconv2d_forward(const nb_conv2d_desc *d, const float *x, const float *w,
                                  const float *bias, float *y) {
    return nb_conv_forward_run(&conv_desc, d, x, w, bias, y);
}

nb_status nb_avx2_sconv2d_backward_data(const nb_conv2d_desc *d, const float *dy, const float *w,
                                        float *dx) {
    return nb_conv_backward_data_run(&conv_desc, d, dy, w, dx);
}

nb_status nb_avx2_sconv2d_backward_filter(const nb_conv2d_desc *d, const float *x,
                                          const float *dy, float *dw, float *dbias) {
    return nb_conv_backward_filter_run(&conv_desc, d, x, dy, dw, dbias);
}
