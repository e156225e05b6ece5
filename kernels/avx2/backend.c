/* The AVX2+FMA backend: overrides of the reference table.
 *
 * Called once by src/dispatch.c after it has checked that the CPU and OS can
 * run AVX2+FMA code. Returns how many slots were overridden. */
#include "gemm_ukernels.h"
#include "kernels_table.h"

int nb_avx2_fill(struct nb_kernels *t) {
    int count = 0;
    t->sgemm = nb_avx2_sgemm; count++;
    return count;
}
