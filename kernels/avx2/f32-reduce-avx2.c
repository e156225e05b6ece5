/* The AVX2 sreduce slot: the portable driver (src/reduce_driver.c) over the
 * AVX2 row and column micro-kernels. */
#include "reduce-avx2.h"
#include "reduce_driver.h"

static const nb_sreduce_ukernels avx2_reduce = {
    .rsum    = nb_f32_rsum_ukernel__avx2_u32,
    .rmax    = nb_f32_rmax_ukernel__avx2_u32,
    .rmin    = nb_f32_rmin_ukernel__avx2_u32,
    .raddcol = nb_f32_raddcol_ukernel__avx2_u32,
    .rmaxcol = nb_f32_rmaxcol_ukernel__avx2_u32,
    .rmincol = nb_f32_rmincol_ukernel__avx2_u32,
    .rrows   = nb_f32_rrows_ukernel__avx2_8x8,
};

nb_status nb_avx2_sreduce(nb_reduce_op op, int ndim, const int64_t *shape, const float *x,
                          const int64_t *xs, uint64_t mask, float *y, const int64_t *ys) {
    return nb_sreduce_driver(&avx2_reduce, op, ndim, shape, x, xs, mask, y, ys);
}
