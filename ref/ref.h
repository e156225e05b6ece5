/* The reference backend (private): one plain-C function per dispatch-table
 * slot, nb_ref_<slot>. Arguments are already validated (src/api_*.c).
 *
 * Obviously correct loops, no intrinsics, compiled with -ffp-contract=off so
 * the oracle gives the same bits on every architecture. It is a real backend
 * (CPUs without AVX2/NEON run it) and the oracle of every differential test.
 */
#ifndef NB_REF_H
#define NB_REF_H

#include "kernels_table.h"

nb_status nb_ref_sgemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                       float alpha, const float *A, int64_t lda,
                       const float *B, int64_t ldb,
                       float beta, float *C, int64_t ldc);
nb_status nb_ref_dgemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                       double alpha, const double *A, int64_t lda,
                       const double *B, int64_t ldb,
                       double beta, double *C, int64_t ldc);
nb_status nb_ref_sconv2d_forward(const nb_conv2d_desc *d, const float *x,
                                 const float *w, const float *bias, float *y);
nb_status nb_ref_sconv2d_backward_data(const nb_conv2d_desc *d, const float *dy,
                                       const float *w, float *dx);
nb_status nb_ref_sconv2d_backward_filter(const nb_conv2d_desc *d, const float *x,
                                         const float *dy, float *dw, float *dbias);
nb_status nb_ref_sreduce(nb_reduce_op op, int ndim, const int64_t *shape,
                         const float *x, const int64_t *x_strides, uint64_t axes_mask,
                         float *y, const int64_t *y_strides);
nb_status nb_ref_dreduce(nb_reduce_op op, int ndim, const int64_t *shape,
                         const double *x, const int64_t *x_strides, uint64_t axes_mask,
                         double *y, const int64_t *y_strides);
nb_status nb_ref_copy_strided(size_t elem_size, int ndim, const int64_t *shape,
                              const void *src, const int64_t *src_strides,
                              void *dst, const int64_t *dst_strides);
nb_status nb_ref_sunary(nb_unary_op op, int64_t n, const float *x, float *y);
nb_status nb_ref_ssoftmax(int log, int64_t rows, int64_t cols,
                          const float *x, int64_t ldx, float *y, int64_t ldy);

#endif
