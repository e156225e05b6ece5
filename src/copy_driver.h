/* Portable driver of strided copies over a table of copy micro-kernels (one
 * table per SIMD ISA). See copy_driver.c. */
#ifndef NB_COPY_DRIVER_H
#define NB_COPY_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#include <nabla/kernels.h>

typedef struct {
    /* 4-byte elements: dst[i * ldd + j] = src[j * lds + i], 0 <= i < m,
       0 <= j < n (a 2-D transpose; src rows i are contiguous). nontemporal:
       a hint that dst will not be read soon (the copy exceeds the cache). */
    void (*transpose32)(int64_t m, int64_t n, const void *src, int64_t lds, void *dst, int64_t ldd,
                        int nontemporal);
    /* 4-byte elements: dst[0..n) = value (a broadcast source). */
    void (*fill32)(int64_t n, uint32_t value, void *dst);
} nb_copy_ukernels;

/* The copy_strided slot on validated arguments (src/api_copy.c). */
nb_status nb_copy_strided_driver(const nb_copy_ukernels *uk, size_t elem_size, int ndim,
                                 const int64_t *shape, const void *src, const int64_t *ss,
                                 void *dst, const int64_t *ds);

#endif
