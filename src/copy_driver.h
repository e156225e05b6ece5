/* Portable driver of strided copies over a table of copy micro-kernels (one
 * table per SIMD ISA). See copy_driver.c. */
#ifndef NB_COPY_DRIVER_H
#define NB_COPY_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#include <nabla/kernels.h>

#include "ukernel.h"   /* nb_copy_ukernels */


/* The copy_strided slot on validated arguments (src/api_copy.c). */
nb_status nb_copy_strided_driver(const nb_copy_ukernels *uk, size_t elem_size, int ndim,
                                 const int64_t *shape, const void *src, const int64_t *ss,
                                 void *dst, const int64_t *ds);

#endif
