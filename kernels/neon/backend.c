/* The NEON (AArch64 Advanced SIMD) backend: overrides of the reference table.
 *
 * Called once by src/dispatch.c after getauxval(AT_HWCAP) reported ASIMD.
 * Returns how many slots were overridden. */
#include "kernels_table.h"

nb_status nb_neon_sunary(nb_unary_op op, int64_t n, const float *x, float *y);
nb_status nb_neon_ssoftmax(int log, int64_t rows, int64_t cols,
                           const float *x, int64_t ldx, float *y, int64_t ldy);

int nb_neon_fill(struct nb_kernels *t) {
    int n = 0;
    t->sunary = nb_neon_sunary; n++;
    t->ssoftmax = nb_neon_ssoftmax; n++;
    return n;
}
