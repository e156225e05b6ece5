/* The NEON (AArch64 Advanced SIMD) backend: overrides of the reference table.
 *
 * Called once by src/dispatch.c after getauxval(AT_HWCAP) reported ASIMD.
 * Returns how many slots were overridden.
 *
 * Every float32 slot is overridden. The float64 slots (dgemm, dconv2d_*,
 * dreduce) stay on the reference on purpose: they exist for gradient checks
 * and precise oracles, where a plain, obviously correct loop is the point,
 * not speed. */
#include "conv-neon.h"
#include "gemm_ukernels.h"
#include "kernels_table.h"
#include "reduce-neon.h"

nb_status nb_neon_sunary(nb_unary_op op, int64_t n, const float *x, float *y);
nb_status nb_neon_ssoftmax(int log, int64_t rows, int64_t cols,
                           const float *x, int64_t ldx, float *y, int64_t ldy);

int nb_neon_fill(struct nb_kernels *t) {
    int n = 0;
    t->sreduce = nb_neon_sreduce; n++;
    t->copy_strided = nb_neon_copy_strided; n++;
    t->sgemm = nb_neon_sgemm; n++;
    t->sunary = nb_neon_sunary; n++;
    t->ssoftmax = nb_neon_ssoftmax; n++;
    t->sconv2d_forward = nb_neon_sconv2d_forward; n++;
    t->sconv2d_backward_data = nb_neon_sconv2d_backward_data; n++;
    t->sconv2d_backward_filter = nb_neon_sconv2d_backward_filter; n++;
    return n;
}
