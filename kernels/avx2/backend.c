/* The AVX2+FMA backend: overrides of the reference table.
 *
 * Called once by src/dispatch.c after it has checked that the CPU and OS can
 * run AVX2+FMA code. Returns how many slots were overridden. */
#include "kernels_table.h"
#include "reduce-avx2.h"

int nb_avx2_fill(struct nb_kernels *t) {
    int n = 0;
    t->sreduce = nb_avx2_sreduce; n++;
    t->copy_strided = nb_avx2_copy_strided; n++;
    return n;
}
