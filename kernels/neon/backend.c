/* The NEON (AArch64 Advanced SIMD) backend: overrides of the reference table.
 *
 * Called once by src/dispatch.c after getauxval(AT_HWCAP) reported ASIMD.
 * Returns how many slots were overridden. */
#include "gemm_ukernels.h"
#include "kernels_table.h"

int nb_neon_fill(struct nb_kernels *t) {
    int n = 0;
    t->sgemm = nb_neon_sgemm; n++;
    return n;
}
