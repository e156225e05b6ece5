/* NEON dispatch-table slot for nb_sunary: picks the micro-kernel per op.
 * Mirrors ref/unary.c; arguments are validated by src/api_unary.c. */
#include "vunary-neon.h"

nb_status nb_neon_sunary(nb_unary_op op, int64_t n, const float *x, float *y) {
    const size_t len = (size_t)n;
    switch (op) {
    case NB_UNARY_EXP:     nb_f32_vexp_ukernel__neon_u8(len, x, y);     break;
    case NB_UNARY_LOG:     nb_f32_vlog_ukernel__neon_u8(len, x, y);     break;
    case NB_UNARY_TANH:    nb_f32_vtanh_ukernel__neon_u8(len, x, y);    break;
    case NB_UNARY_SIGMOID: nb_f32_vsigmoid_ukernel__neon_u8(len, x, y); break;
    case NB_UNARY_GELU:    nb_f32_vgelu_ukernel__neon_u8(len, x, y);    break;
    case NB_UNARY_RELU:    nb_f32_vrelu_ukernel__neon_u8(len, x, y);    break;
    }
    return NB_OK;
}
