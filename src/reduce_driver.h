/* Portable driver of float reductions over a table of row micro-kernels
 * (one table per SIMD ISA). See reduce_driver.c for the summation order and
 * its error bound. */
#ifndef NB_REDUCE_DRIVER_H
#define NB_REDUCE_DRIVER_H

#include <stdint.h>

#include <nabla/kernels.h>

/* Lanes of the row-sum accumulator and the fixed block sizes: part of the
   numerical contract (results depend on them, never on the thread count). */
#define NB_RSUM_LANES      32
#define NB_RSUM_BLOCK      4096   /* elements of one row segment */
#define NB_RSUM_COL_BLOCK  128    /* rows of one column segment */

typedef struct {
    /* acc[i % 32] += x[i * incx] for 0 <= i < n: element i of the call always
       goes to lane i mod 32, whatever incx (0 and negative allowed). */
    void (*rsum)(int64_t n, const float *x, int64_t incx, float *acc);
    /* max / min of x[i * incx], 0 <= i < n, n >= 1, with the rules of
       ref/reduce.c: any NaN gives NaN; -0 < +0. */
    float (*rmax)(int64_t n, const float *x, int64_t incx);
    float (*rmin)(int64_t n, const float *x, int64_t incx);
    /* acc[j] = acc[j] + x[j], max(acc[j], x[j]), min(acc[j], x[j]) for
       0 <= j < n, both contiguous; same NaN and signed-zero rules. */
    void (*raddcol)(int64_t n, const float *x, float *acc);
    void (*rmaxcol)(int64_t n, const float *x, float *acc);
    void (*rmincol)(int64_t n, const float *x, float *acc);
    /* Optional (NULL: the row path serves short rows too). out[r] = op of
       x[r * ldx + c], 0 <= c < n, 0 <= r < rows, for rows of
       1 <= n <= NB_RROWS_MAX_N elements; op 0 = sum, 1 = max, 2 = min; a
       sum takes at most 16 roundings per row. */
    void (*rrows)(int op, int64_t rows, int64_t n, const float *x, int64_t ldx, float *out);
} nb_sreduce_ukernels;

#define NB_RROWS_MAX_N 64

/* The sreduce slot on validated arguments (src/api_reduce.c). Returns
   NB_ERR_OOM (nothing written) if a scratch buffer cannot be allocated. */
nb_status nb_sreduce_driver(const nb_sreduce_ukernels *uk, nb_reduce_op op, int ndim,
                            const int64_t *shape, const float *x, const int64_t *xs,
                            uint64_t mask, float *y, const int64_t *ys);

#endif
