/* STUB: reference conv2d (to be written). */
#include "ref.h"
nb_status nb_ref_sconv2d_forward(const nb_conv2d_desc *d, const float *x, const float *w,
                                 const float *bias, float *y) {
    (void)d; (void)x; (void)w; (void)bias; (void)y; return NB_ERR_UNSUPPORTED;
}
nb_status nb_ref_sconv2d_backward_data(const nb_conv2d_desc *d, const float *dy, const float *w, float *dx) {
    (void)d; (void)dy; (void)w; (void)dx; return NB_ERR_UNSUPPORTED;
}
nb_status nb_ref_sconv2d_backward_filter(const nb_conv2d_desc *d, const float *x, const float *dy,
                                         float *dw, float *dbias) {
    (void)d; (void)x; (void)dy; (void)dw; (void)dbias; return NB_ERR_UNSUPPORTED;
}
