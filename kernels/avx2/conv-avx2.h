/* AVX2 convolution kernels (private to kernels/avx2/): im2col / col2im over
 * a range of output pixels, and the row walk they share.
 *
 * Static inline helpers only: every includer is compiled with the same AVX2
 * flags (KERNEL-PLAYBOOK pitfall 3).
 */
#ifndef NB_AVX2_CONV_H
#define NB_AVX2_CONV_H

#include <stdint.h>

#include <immintrin.h>

#include "mask-avx2.h"
#include "ukernel.h"

/* Contracts: src/ukernel.h (nb_conv_im2col_fn, nb_conv_col2im_fn). */
void nb_x32_im2col_ukernel__avx2(const nb_conv2d_desc *d, int64_t channels, int64_t P, int64_t Q,
                                 int64_t j0, int64_t nj, const float *x, float *col,
                                 int64_t ldcol);
void nb_f32_col2im_ukernel__avx2(const nb_conv2d_desc *d, int64_t channels, int64_t P, int64_t Q,
                                 int64_t j0, int64_t nj, const float *col, int64_t ldcol,
                                 float *x);

/* Implicit im2col B packer (contract: nb_conv_pack_b_fn). */
void nb_f32_packb_im2col_ukernel_16__avx2(const nb_conv_tap *plan, int64_t rs, int64_t l0,
                                          int64_t kc, int64_t panels, const float *x, int64_t hw,
                                          float *dst);


/* The even elements of a and b: [a0 a2 a4 a6 b0 b2 b4 b6] (stride-2 copies). */
static inline __m256 nb_avx2_evens(__m256 a, __m256 b) {
    const __m256 e = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));   /* a0 a2 b0 b2 | a4 a6 b4 b6 */
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), _MM_SHUFFLE(3, 1, 2, 0)));
}


#endif
