/* Portable driver of float reductions over a table of row micro-kernels
 * (one table per SIMD ISA). See reduce_driver.c for the summation order and
 * its error bound. */
#ifndef NB_REDUCE_DRIVER_H
#define NB_REDUCE_DRIVER_H

#include <stdint.h>

#include <nabla/kernels.h>

#include "ukernel.h"   /* nb_sreduce_ukernels and the block sizes */


/* The sreduce slot on validated arguments (src/api_reduce.c). Returns
   NB_ERR_OOM (nothing written) if a scratch buffer cannot be allocated. */
nb_status nb_sreduce_driver(const nb_sreduce_ukernels *uk, nb_reduce_op op, int ndim,
                            const int64_t *shape, const float *x, const int64_t *xs,
                            uint64_t mask, float *y, const int64_t *ys);

#endif
