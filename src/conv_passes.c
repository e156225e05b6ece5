/* The forward and backward-data passes of an ISA's float32 convolution
 * (conv_driver.h): which algorithm takes the call. Depthwise kernels for
 * groups == C, Winograd F(4x4, 3x3) for the 3x3 stride-1 shapes it takes,
 * else the GEMM paths of conv_driver.c (which Winograd also falls back on
 * for an image with a NaN or an infinity), so the choice lives apart from
 * the algorithms and none of them calls back up into it. */
#include "conv_driver.h"
#include "conv_internal.h"

nb_status nb_conv_forward_run(const nb_conv_desc *cd, const nb_conv2d_desc *d, const float *x,
                              const float *w, const float *bias, float *y) {
    if (nb_conv_use_depthwise(cd, d)) return nb_conv_depthwise_forward(cd, d, x, w, bias, y);
    nb_status wst;
    if (nb_conv_winograd_forward(cd, d, x, w, bias, y, &wst)) return wst;
    return nb_conv_forward_gemm(cd, d, x, w, bias, y);
}

nb_status nb_conv_backward_data_run(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                    const float *dy, const float *w, float *dx) {
    if (nb_conv_use_depthwise(cd, d)) return nb_conv_depthwise_backward_data(cd, d, dy, w, dx);
    nb_status wst;
    if (nb_conv_winograd_backward_data(cd, d, dy, w, dx, &wst)) return wst;
    return nb_conv_backward_data_gemm(cd, d, dy, w, dx);
}
