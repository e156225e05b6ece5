/* NEON dispatch-table slot for nb_ssoftmax: the row loop around the row
 * kernels. Mirrors ref/softmax.c; arguments are validated by
 * src/api_unary.c (cols >= 1 here unless rows == 0). */
#include "vunary-neon.h"

nb_status nb_neon_ssoftmax(int log, int64_t rows, int64_t cols,
                           const float *x, int64_t ldx, float *y, int64_t ldy) {
    if (cols == 0) return NB_OK;
    for (int64_t i = 0; i < rows; i++) {
        if (log) nb_f32_logsoftmax_ukernel__neon((size_t)cols, x + i * ldx, y + i * ldy);
        else     nb_f32_softmax_ukernel__neon((size_t)cols, x + i * ldx, y + i * ldy);
    }
    return NB_OK;
}
