/* The batch-norm rows' part of the micro-kernel contract (private;
 * included by src/ukernel.h, which kernels include: a file of its own to
 * keep ukernel.h under the size limit).
 *
 * ============ batch-norm rows (src/nn/batchnorm.c) ============
 *
 * One channel of an [N, C, *] float32 tensor is `rows` rows (the N
 * images) of n contiguous floats (the spatial positions), row r at
 * x + r * ldx. The statistics kernels sum over all rows * n values in
 * double (PyTorch's CPU accumulation type for float32), in a fixed order
 * that is part of the contract, so that every ISA gives the bits of the
 * __scalar twin and a channel's result never depends on the thread count
 * (the driver threads over channels, one kernel call per channel):
 *   - NB_BNORM_LANES = 16 double accumulators, each starting at +0.0;
 *     element i of every row goes to lane i mod 16; a lane adds its terms
 *     row after row, within a row by increasing i, one rounding per add
 *     (a lane never holds -0.0, so the zero-padded tails of the vector
 *     kernels add exact no-ops);
 *   - then the fixed tree nb_bnorm_tree: lane[i] += lane[i + h] for
 *     i < h, h = 8, 4, 2, 1; the result is lane 0.
 * The terms, each rounded as written (no FMA), d = (double)x - mu:
 *   sum    (double)x
 *   sqdev  d * d
 *   gsums  out[0]: (double)g,  out[1]: (double)g * d  (two sets of lanes)
 * Error: each lane adds at most K = rows * ceil(n / 16) terms and the tree
 * 4 more, so |result - exact| <= gamma_53(K + 4) * sum |term| plus the
 * terms' own roundings (sqdev: 3 u_53 relative, gsums' products: 2).
 *
 * affine: y = ((a * u) + (b * v)) + c elementwise in float, each operation
 * rounded (no FMA); v == NULL: y = (a * u) + c. u, v and y share the
 * layout (rows of n, row stride ld); y may be u or v exactly.
 *
 * Any alignment; n == 0 or rows == 0 reads nothing (sums +0.0); no
 * element outside the rows' [0, n) is read or written. */
#ifndef NB_UKERNEL_BNORM_H
#define NB_UKERNEL_BNORM_H

#include <stddef.h>

#define NB_BNORM_LANES 16

typedef double nb_f32_bnsum_ft(size_t rows, size_t n, const float *x, size_t ldx);
typedef double nb_f32_bnsqdev_ft(size_t rows, size_t n, const float *x, size_t ldx, double mu);
typedef void nb_f32_bngsums_ft(size_t rows, size_t n, const float *g, const float *x, size_t ldx, double mu,
                               double out[2]);
typedef void nb_f32_bnaffine_ft(size_t rows, size_t n, size_t ld, const float *u, const float *v, float a,
                                float b, float c, float *y);

typedef struct {
    nb_f32_bnsum_ft *sum;
    nb_f32_bnsqdev_ft *sqdev;
    nb_f32_bngsums_ft *gsums;
    nb_f32_bnaffine_ft *affine;
} nb_f32_bnorm_ukernels;

/* The contract's final tree over the 16 lanes (in place; returns lane 0). */
static inline double nb_bnorm_tree(double *lane) {
    for (int h = NB_BNORM_LANES / 2; h >= 1; h /= 2)
        for (int i = 0; i < h; i++) lane[i] += lane[i + h];
    return lane[0];
}

/* The four micro-kernels of one ISA tag: nb_f32_bn{sum,sqdev,gsums,affine}_ukernel__<tag>
   (registry lines NB_UK_BNORM(tag)). */
#define NB_F32_BNORM_DECLARE(tag)                                                                       \
    nb_f32_bnsum_ft nb_f32_bnsum_ukernel__##tag;                                                      \
    nb_f32_bnsqdev_ft nb_f32_bnsqdev_ukernel__##tag;                                                  \
    nb_f32_bngsums_ft nb_f32_bngsums_ukernel__##tag;                                                  \
    nb_f32_bnaffine_ft nb_f32_bnaffine_ukernel__##tag;
#define NB_F32_BNORM_SET(tag)                                                                          \
    cfg->bnorm = (nb_f32_bnorm_ukernels){nb_f32_bnsum_ukernel__##tag, nb_f32_bnsqdev_ukernel__##tag,   \
                                         nb_f32_bngsums_ukernel__##tag, nb_f32_bnaffine_ukernel__##tag};

#define NB_UK_BNORM(tag) NB_F32_BNORM_DECLARE(tag)
#include "ukernel_registry.h"

#endif
