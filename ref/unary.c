/* STUB: reference elementwise functions and softmax (to be written). */
#include "ref.h"
nb_status nb_ref_sunary(nb_unary_op op, int64_t n, const float *x, float *y) {
    (void)op; (void)n; (void)x; (void)y; return NB_ERR_UNSUPPORTED;
}
nb_status nb_ref_ssoftmax(int log, int64_t rows, int64_t cols, const float *x, int64_t ldx,
                          float *y, int64_t ldy) {
    (void)log; (void)rows; (void)cols; (void)x; (void)ldx; (void)y; (void)ldy;
    return NB_ERR_UNSUPPORTED;
}
