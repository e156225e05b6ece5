/* The NEON sreduce slot: the portable driver (src/reduce_driver.c) over the
 * NEON row and column micro-kernels (32 sum lanes, the driver's contract). */
#include "reduce-neon.h"
#include "reduce_driver.h"

static const nb_sreduce_ukernels neon_reduce = {
    .rsum    = nb_f32_rsum_ukernel__neon_u32,
    .rmax    = nb_f32_rmax_ukernel__neon_u32,
    .rmin    = nb_f32_rmin_ukernel__neon_u32,
    .raddcol = nb_f32_raddcol_ukernel__neon_u16,
    .rmaxcol = nb_f32_rmaxcol_ukernel__neon_u16,
    .rmincol = nb_f32_rmincol_ukernel__neon_u16,
    .rrows   = nb_f32_rrows_ukernel__neon_4x8,
};

nb_status nb_neon_sreduce(nb_reduce_op op, int ndim, const int64_t *shape, const float *x,
                          const int64_t *xs, uint64_t mask, float *y, const int64_t *ys) {
    return nb_sreduce_driver(&neon_reduce, op, ndim, shape, x, xs, mask, y, ys);
}
