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
/* The same with the caller's row buffer of N doubles (ref/gemm.c). */
void nb_ref_sgemm_acc(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                      float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
                      float beta, float *C, int64_t ldc, double *acc);
void nb_ref_dgemm_acc(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                      double alpha, const double *A, int64_t lda, const double *B, int64_t ldb,
                      double beta, double *C, int64_t ldc, double *acc);
nb_status nb_ref_sconv2d_forward(const nb_conv2d_desc *d, const float *x,
                                 const float *w, const float *bias, float *y);
nb_status nb_ref_sconv2d_backward_data(const nb_conv2d_desc *d, const float *dy,
                                       const float *w, float *dx);
nb_status nb_ref_sconv2d_backward_filter(const nb_conv2d_desc *d, const float *x,
                                         const float *dy, float *dw, float *dbias);
nb_status nb_ref_dconv2d_forward(const nb_conv2d_desc *d, const double *x,
                                 const double *w, const double *bias, double *y);
nb_status nb_ref_dconv2d_backward_data(const nb_conv2d_desc *d, const double *dy,
                                       const double *w, double *dx);
nb_status nb_ref_dconv2d_backward_filter(const nb_conv2d_desc *d, const double *x,
                                         const double *dy, double *dw, double *dbias);
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

/* ---- im2col / col2im (ref/im2col.c), the building blocks of conv2d ----
 * One image, one group: x is `channels` x H x W (H, W, R, S, strides, pads
 * and dilations from d), col is (channels R S) x (P Q), row-major, row
 * (c, r, s) = (c R + r) S + s, column (p, q) = p Q + q, and
 *   col[(c,r,s), (p,q)] = x[c, p stride_h - pad_h + r dilation_h,
 *                              q stride_w - pad_w + s dilation_w]
 * (0 where that position lies in the padding). im2col writes every element
 * of col; col2im is its adjoint: it ADDS each col element into the x
 * element it was read from (padding positions are dropped), so the caller
 * zeroes x first. Both are pure data movement plus, for col2im, additions in
 * the fixed order (c, r, s, p, q). The SIMD backends mirror these. */
void nb_ref_sim2col(const nb_conv2d_desc *d, int64_t channels, int64_t P, int64_t Q,
                    const float *x, float *col);
void nb_ref_dim2col(const nb_conv2d_desc *d, int64_t channels, int64_t P, int64_t Q,
                    const double *x, double *col);
void nb_ref_scol2im(const nb_conv2d_desc *d, int64_t channels, int64_t P, int64_t Q,
                    const float *col, float *x);
void nb_ref_dcol2im(const nb_conv2d_desc *d, int64_t channels, int64_t P, int64_t Q,
                    const double *col, double *x);

#endif
