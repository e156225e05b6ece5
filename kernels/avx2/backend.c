/* The AVX2+FMA backend: overrides of the reference table.
 *
 * Called once by src/dispatch.c after it has checked that the CPU and OS can
 * run AVX2+FMA code. Returns how many slots were overridden.
 *
 * Every float32 slot is overridden. The float64 slots (dgemm, dconv2d_*,
 * dreduce) stay on the reference on purpose: they exist for gradient checks
 * and precise oracles, where a plain, obviously correct loop is the point,
 * not speed. */
#include "gemm_ukernels.h"
#include "kernels_table.h"
#include "reduce-avx2.h"
#include "conv-avx2.h"

nb_status nb_avx2_sunary(nb_unary_op op, int64_t n, const float *x, float *y);
nb_status nb_avx2_ssoftmax(int log, int64_t rows, int64_t cols,
                           const float *x, int64_t ldx, float *y, int64_t ldy);

int nb_avx2_fill(struct nb_kernels *t) {
    int n = 0;
    t->sgemm = nb_avx2_sgemm; n++;
    t->sreduce = nb_avx2_sreduce; n++;
    t->copy_strided = nb_avx2_copy_strided; n++;
    t->sunary = nb_avx2_sunary; n++;
    t->ssoftmax = nb_avx2_ssoftmax; n++;
    t->sgemm = nb_avx2_sgemm; n++;
    t->sconv2d_forward = nb_avx2_sconv2d_forward; n++;
    t->sconv2d_backward_data = nb_avx2_sconv2d_backward_data; n++;
    t->sconv2d_backward_filter = nb_avx2_sconv2d_backward_filter; n++;
    return n;
}
