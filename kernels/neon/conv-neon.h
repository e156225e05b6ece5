/* NEON convolution kernels (private to kernels/neon/): im2col / col2im over
 * a range of output pixels. Contracts:
 * src/ukernel.h. */
#ifndef NB_NEON_CONV_H
#define NB_NEON_CONV_H

#include <stdint.h>

#include "ukernel.h"

void nb_x32_im2col_ukernel__neon(const nb_conv2d_desc *d, int64_t channels, int64_t P, int64_t Q,
                                 int64_t j0, int64_t nj, const float *x, float *col,
                                 int64_t ldcol);
void nb_f32_col2im_ukernel__neon(const nb_conv2d_desc *d, int64_t channels, int64_t P, int64_t Q,
                                 int64_t j0, int64_t nj, const float *col, int64_t ldcol,
                                 float *x);

/* Implicit im2col B packer (contract: nb_conv_pack_b_fn). */
void nb_f32_packb_im2col_ukernel_12__neon(const nb_conv_tap *plan, int64_t rs, int64_t l0,
                                          int64_t kc, int64_t panels, const float *x, int64_t hw,
                                          float *dst);


#endif
