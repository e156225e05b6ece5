/* Public GEMM entry points: validate once, then dispatch.
 *
 * Every backend receives arguments that passed these checks, so the checks
 * (and their messages) are the same whatever ISA runs the call.
 */
#include <math.h>
#include <stdio.h>

#include "api_gemm.h"
#include "internal.h"
#include "kernels_table.h"

/* A stored rows x cols with leading dimension ld: the span in elements. */
nb_status nb_gemm_check_matrix(const char *fn, const char *name, const char *ldname,
                               const void *p, int64_t rows, int64_t cols, int64_t ld,
                               size_t elem, int64_t *span) {
    if (ld < (cols > 1 ? cols : 1))
        return nb_error(NB_ERR_ARG, fn, "%s = %lld is smaller than the row length %lld of %s",
                        ldname, (long long)ld, (long long)cols, name);
    *span = 0;
    if (rows == 0 || cols == 0) return NB_OK;
    if (p == NULL)
        return nb_error(NB_ERR_ARG, fn, "%s is NULL for a %lld x %lld matrix",
                        name, (long long)rows, (long long)cols);
    int64_t s, bytes;
    if (!nb_mul_ok(rows - 1, ld, &s) || !nb_add_ok(s, cols, &s) || !nb_mul_ok(s, (int64_t)elem, &bytes))
        return nb_error(NB_ERR_OVERFLOW, fn, "%s: %lld rows with %s = %lld overflow int64",
                        name, (long long)rows, ldname, (long long)ld);
    *span = s;
    return NB_OK;
}

static nb_status validate(const char *fn, int ta, int tb, int64_t M, int64_t N, int64_t K,
                          const void *A, int64_t lda, const void *B, int64_t ldb,
                          const void *C, int64_t ldc, size_t elem) {
    if (ta != 0 && ta != 1) return nb_error(NB_ERR_ARG, fn, "trans_a = %d must be 0 or 1", ta);
    if (tb != 0 && tb != 1) return nb_error(NB_ERR_ARG, fn, "trans_b = %d must be 0 or 1", tb);
    if (M < 0) return nb_error(NB_ERR_ARG, fn, "M = %lld is negative", (long long)M);
    if (N < 0) return nb_error(NB_ERR_ARG, fn, "N = %lld is negative", (long long)N);
    if (K < 0) return nb_error(NB_ERR_ARG, fn, "K = %lld is negative", (long long)K);
    int64_t span_a, span_b, span_c;
    nb_status s;
    /* op(A) is M x K: A is stored M x K, or K x M when transposed. */
    if ((s = nb_gemm_check_matrix(fn, "A", "lda", A, ta ? K : M, ta ? M : K, lda, elem, &span_a))) return s;
    if ((s = nb_gemm_check_matrix(fn, "B", "ldb", B, tb ? N : K, tb ? K : N, ldb, elem, &span_b))) return s;
    if ((s = nb_gemm_check_matrix(fn, "C", "ldc", C, M, N, ldc, elem, &span_c))) return s;
    if (nb_ranges_overlap(C, (size_t)span_c * elem, A, (size_t)span_a * elem))
        return nb_error(NB_ERR_ALIAS, fn, "C overlaps A");
    if (nb_ranges_overlap(C, (size_t)span_c * elem, B, (size_t)span_b * elem))
        return nb_error(NB_ERR_ALIAS, fn, "C overlaps B");
    return NB_OK;
}

/* Every argument that shapes the call, so `nabla bench --replay` and
   `nabla diff --replay` can run it again. */
static void trace(const char *fn, int ta, int tb, int64_t M, int64_t N, int64_t K, double alpha,
                  int64_t lda, int64_t ldb, double beta, int64_t ldc, double t0) {
    fprintf(stderr, "nabla: %s isa=%s %c%c M=%lld N=%lld K=%lld alpha=%.9g lda=%lld ldb=%lld beta=%.9g "
            "ldc=%lld threads=%d time=%.3f ms\n", fn,
            nb_isa_name(nb_isa_active()), ta ? 'T' : 'N', tb ? 'T' : 'N', (long long)M,
            (long long)N, (long long)K, alpha, (long long)lda, (long long)ldb, beta, (long long)ldc,
            nb_get_num_threads(), 1e3 * (nb_now_seconds() - t0));
}

nb_status nb_sgemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                   float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
                   float beta, float *C, int64_t ldc) {
    nb_status s = validate("nb_sgemm", trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc, sizeof(float));
    if (s != NB_OK || M == 0 || N == 0) return s;
    const bool verbose = nb_verbose_enabled();
    const double t0 = verbose ? nb_now_seconds() : 0.0;
    s = nb_kernels_active()->sgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    if (verbose) trace("nb_sgemm", trans_a, trans_b, M, N, K, alpha, lda, ldb, beta, ldc, t0);
    if (s == NB_ERR_OOM)   /* the packing buffers; C is untouched then */
        return nb_error(s, "nb_sgemm", "out of memory for the packing buffers");
    return s;
}

nb_status nb_dgemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                   double alpha, const double *A, int64_t lda, const double *B, int64_t ldb,
                   double beta, double *C, int64_t ldc) {
    nb_status s = validate("nb_dgemm", trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc, sizeof(double));
    if (s != NB_OK || M == 0 || N == 0) return s;
    const bool verbose = nb_verbose_enabled();
    const double t0 = verbose ? nb_now_seconds() : 0.0;
    s = nb_kernels_active()->dgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    if (verbose) trace("nb_dgemm", trans_a, trans_b, M, N, K, alpha, lda, ldb, beta, ldc, t0);
    return s;
}
