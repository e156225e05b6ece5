/* The NEON copy_strided slot: the portable driver (src/copy_driver.c) over
 * the NEON transpose and broadcast kernels. Contiguous runs use memcpy;
 * element sizes other than 4 bytes use the driver's generic loop. */
#include "copy_driver.h"
#include "reduce-neon.h"

static const nb_copy_ukernels neon_copy = {
    .transpose32 = nb_x32_transpose_ukernel_4x4__neon,
    .fill32      = nb_x32_fill_ukernel__neon,
};

nb_status nb_neon_copy_strided(size_t elem_size, int ndim, const int64_t *shape,
                               const void *src, const int64_t *ss, void *dst, const int64_t *ds) {
    return nb_copy_strided_driver(&neon_copy, elem_size, ndim, shape, src, ss, dst, ds);
}
