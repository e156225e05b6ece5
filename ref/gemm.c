/* Reference GEMM, float32 and float64: C = alpha op(A) op(B) + beta C.
 *
 * Row by row, accumulating op(A)[i,:] op(B) into a double row buffer in k
 * order (i-k-j loops, so B is read along its rows when not transposed). The
 * double accumulator makes the float32 result nearly exact (error ~ u |alpha|
 * |A||B| rather than K u), so it is a sharp oracle for the SIMD kernels.
 * BLAS semantics: alpha == 0 or K == 0 does not read A or B; beta == 0 does
 * not read C. The _acc twins take the row buffer (N doubles; unused, may
 * be NULL, when alpha == 0 or K == 0) from the caller and cannot fail: the
 * convolutions allocate it with their other buffers, before writing.
 */
#include <stdlib.h>

#include "ref.h"

#define DEFINE_REF_GEMM(NAME, T)                                                               \
    void NAME##_acc(int ta, int tb, int64_t M, int64_t N, int64_t K, T alpha, const T *A,       \
                    int64_t lda, const T *B, int64_t ldb, T beta, T *C, int64_t ldc,            \
                    double *acc) {                                                              \
        const int use_ab = (alpha != 0 && K > 0);                                               \
        for (int64_t i = 0; i < M; i++) {                                                       \
            T *c = C + i * ldc;                                                                 \
            if (use_ab) {                                                                       \
                for (int64_t j = 0; j < N; j++) acc[j] = 0.0;                                   \
                for (int64_t k = 0; k < K; k++) {                                               \
                    const double a = ta ? A[k * lda + i] : A[i * lda + k];                      \
                    if (tb) for (int64_t j = 0; j < N; j++) acc[j] += a * (double)B[j * ldb + k]; \
                    else    for (int64_t j = 0; j < N; j++) acc[j] += a * (double)B[k * ldb + j]; \
                }                                                                               \
            }                                                                                   \
            for (int64_t j = 0; j < N; j++) {                                                   \
                const double ab = use_ab ? (double)alpha * acc[j] : 0.0;                        \
                c[j] = (T)(beta == 0 ? ab : ab + (double)beta * (double)c[j]);                  \
            }                                                                                   \
        }                                                                                       \
    }                                                                                           \
                                                                                                \
    nb_status NAME(int ta, int tb, int64_t M, int64_t N, int64_t K, T alpha, const T *A,        \
                   int64_t lda, const T *B, int64_t ldb, T beta, T *C, int64_t ldc) {           \
        double *acc = NULL;                                                                     \
        if (alpha != 0 && K > 0) {                                                              \
            acc = malloc((size_t)N * sizeof *acc);                                              \
            if (!acc) return NB_ERR_OOM;                                                        \
        }                                                                                       \
        NAME##_acc(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, acc);                  \
        free(acc);                                                                              \
        return NB_OK;                                                                           \
    }

DEFINE_REF_GEMM(nb_ref_sgemm, float)
DEFINE_REF_GEMM(nb_ref_dgemm, double)
