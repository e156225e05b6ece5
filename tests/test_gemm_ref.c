/* nb_sgemm / nb_dgemm against a double-precision oracle.
 *
 * Runs on whichever backend is active (the suite is registered under
 * NABLA_ISA=ref and =auto). The bound is DESIGN.md's:
 *   |C - C_exact| <= gamma(K+2) (|alpha| |A||B| + |beta| |C|),
 *   gamma(k) = k u / (1 - k u), u = 2^-24,
 * where the +2 covers the alpha product and the beta update.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

typedef struct {
    int ta, tb;
    int64_t M, N, K, lda, ldb, ldc;
    float alpha, beta;
} gemm_case;

static double gamma_k(int64_t k) {
    const double u = ldexp(1.0, -24);
    return (double)k * u / (1.0 - (double)k * u);
}

static float a_at(const gemm_case *c, const float *A, int64_t i, int64_t k) {
    return c->ta ? A[k * c->lda + i] : A[i * c->lda + k];
}
static float b_at(const gemm_case *c, const float *B, int64_t k, int64_t j) {
    return c->tb ? B[j * c->ldb + k] : B[k * c->ldb + j];
}

/* Runs one case with guarded buffers; returns the number of elements out of
   bound (0 on success). int_data: small integers, result must be exact. */
static void run_case(const gemm_case *c, int int_data) {
    const int64_t arows = c->ta ? c->K : c->M, acols = c->ta ? c->M : c->K;
    const int64_t brows = c->tb ? c->N : c->K, bcols = c->tb ? c->K : c->N;
    const size_t asz = (size_t)(arows ? (arows - 1) * c->lda + acols : 0);
    const size_t bsz = (size_t)(brows ? (brows - 1) * c->ldb + bcols : 0);
    const size_t csz = (size_t)(c->M ? (c->M - 1) * c->ldc + c->N : 0);
    float *A = nbt_alloc_guarded(asz * sizeof(float) + 4, 0);
    float *B = nbt_alloc_guarded(bsz * sizeof(float) + 4, 0);
    float *C = nbt_alloc_guarded(csz * sizeof(float) + 4, 0);
    float *C0 = malloc(csz * sizeof(float) + 4);
    assert_non_null(A); assert_non_null(B); assert_non_null(C); assert_non_null(C0);
    if (int_data) {
        nbt_fill_int(A, (int64_t)asz, 4);
        nbt_fill_int(B, (int64_t)bsz, 4);
        nbt_fill_int(C, (int64_t)csz, 4);
    } else {
        nbt_fill_uniform(A, (int64_t)asz, -1, 1);
        nbt_fill_uniform(B, (int64_t)bsz, -1, 1);
        nbt_fill_uniform(C, (int64_t)csz, -1, 1);
    }
    if (c->beta == 0)   /* beta == 0 must not read C: poison it */
        for (size_t i = 0; i < csz; i++) C[i] = NAN;
    memcpy(C0, C, csz * sizeof(float));

    assert_int_equal(nb_sgemm(c->ta, c->tb, c->M, c->N, c->K, c->alpha, A, c->lda, B, c->ldb,
                              c->beta, C, c->ldc), NB_OK);

    for (int64_t i = 0; i < c->M; i++) {
        for (int64_t j = 0; j < c->N; j++) {
            double exact = 0, mag = 0;
            for (int64_t k = 0; k < c->K; k++) {
                const double p = (double)a_at(c, A, i, k) * (double)b_at(c, B, k, j);
                exact += p;
                mag += fabs(p);
            }
            exact *= c->alpha;
            mag *= fabs(c->alpha);
            if (c->beta != 0) {
                exact += (double)c->beta * C0[i * c->ldc + j];
                mag += fabs((double)c->beta * C0[i * c->ldc + j]);
            }
            const float got = C[i * c->ldc + j];
            const double tol = int_data ? 0.0 : gamma_k(c->K + 2) * mag;
            if (!(fabs((double)got - exact) <= tol))
                fail_msg("C[%lld,%lld] = %.9g, exact %.9g, bound %.3g (ta=%d tb=%d M=%lld N=%lld "
                         "K=%lld alpha=%g beta=%g)", (long long)i, (long long)j, got, exact, tol,
                         c->ta, c->tb, (long long)c->M, (long long)c->N, (long long)c->K,
                         c->alpha, c->beta);
        }
        /* Padding between rows of C (ldc > N) is never written. */
        if (i + 1 < c->M)
            for (int64_t j = c->N; j < c->ldc; j++)
                assert_true(nbt_same_value(C[i * c->ldc + j], C0[i * c->ldc + j]));
    }
    nbt_free_guarded(A); nbt_free_guarded(B); nbt_free_guarded(C); free(C0);
}

static const int64_t sizes[] = {0, 1, 2, 3, 7, 8, 9, 13, 16, 17, 31, 33, 64, 97};
#define NSIZES ((int)(sizeof sizes / sizeof sizes[0]))

static gemm_case random_case(int64_t M, int64_t N, int64_t K) {
    static const float alphas[] = {1.0f, 0.5f, -2.0f};
    static const float betas[] = {0.0f, 1.0f, -1.5f};
    gemm_case c = {(int)nbt_range(0, 1), (int)nbt_range(0, 1), M, N, K, 0, 0, 0,
                   alphas[nbt_range(0, 2)], betas[nbt_range(0, 2)]};
    const int64_t acols = c.ta ? M : K, bcols = c.tb ? K : N;
    c.lda = (acols > 1 ? acols : 1) + nbt_range(0, 1) * nbt_range(1, 5);
    c.ldb = (bcols > 1 ? bcols : 1) + nbt_range(0, 1) * nbt_range(1, 5);
    c.ldc = (N > 1 ? N : 1) + nbt_range(0, 1) * nbt_range(1, 5);
    return c;
}

static void sgemm_matches_double_oracle_within_bound_on_edge_sizes(void **state) {
    (void)state;
    for (int a = 0; a < NSIZES; a++)
        for (int b = 0; b < NSIZES; b += 2)
            for (int k = 0; k < NSIZES; k += 3) {
                gemm_case c = random_case(sizes[a], sizes[(b + a) % NSIZES], sizes[k]);
                run_case(&c, 0);
            }
}

static void sgemm_all_transposes_and_scalars(void **state) {
    (void)state;
    static const float alphas[] = {1.0f, 0.5f, -2.0f, 0.0f};
    static const float betas[] = {0.0f, 1.0f, -1.5f};
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int ia = 0; ia < 4; ia++)
                for (int ib = 0; ib < 3; ib++) {
                    gemm_case c = random_case(nbt_range(1, 40), nbt_range(1, 40), nbt_range(1, 70));
                    c.ta = ta; c.tb = tb; c.alpha = alphas[ia]; c.beta = betas[ib];
                    c.lda = (ta ? c.M : c.K) + 3;
                    c.ldb = (tb ? c.K : c.N) + 1;
                    c.ldc = c.N + 2;
                    run_case(&c, 0);
                }
}

static void sgemm_integer_data_is_exact(void **state) {
    (void)state;
    for (int r = 0; r < 20; r++) {
        gemm_case c = random_case(nbt_range(1, 50), nbt_range(1, 50), nbt_range(1, 300));
        c.alpha = 1.0f;
        c.beta = (r & 1) ? 1.0f : 0.0f;
        run_case(&c, 1);
    }
}

static void sgemm_k_zero_scales_c_by_beta(void **state) {
    (void)state;
    float C[6] = {1, 2, 3, 4, 5, 6};
    assert_int_equal(nb_sgemm(0, 0, 2, 3, 0, 1.0f, NULL, 1, NULL, 3, 2.0f, C, 3), NB_OK);
    for (int i = 0; i < 6; i++) assert_true(C[i] == 2.0f * (float)(i + 1));
    for (int i = 0; i < 6; i++) C[i] = NAN;
    assert_int_equal(nb_sgemm(0, 0, 2, 3, 0, 1.0f, NULL, 1, NULL, 3, 0.0f, C, 3), NB_OK);
    for (int i = 0; i < 6; i++) assert_true(C[i] == 0.0f);
}

static void sgemm_large_random_shape(void **state) {
    (void)state;
    gemm_case c = random_case(nbt_range(150, 300), nbt_range(150, 300), nbt_range(200, 600));
    run_case(&c, 0);
}

static void sgemm_propagates_nan_and_inf_from_inputs(void **state) {
    (void)state;
    float A[4] = {1, 2, 3, 4}, B[4] = {1, 0, 0, 1}, C[4];
    A[1] = NAN;                /* row 0 of op(A) has a NaN */
    B[2] = INFINITY;           /* B[1][0] = Inf: column 0 meets A[i][1] */
    assert_int_equal(nb_sgemm(0, 0, 2, 2, 2, 1.0f, A, 2, B, 2, 0.0f, C, 2), NB_OK);
    assert_true(isnan(C[0]) && isnan(C[1]));   /* row 0: NaN * anything */
    assert_true(isinf(C[2]) && C[2] > 0);      /* 3*1 + 4*Inf */
    assert_true(C[3] == 4.0f);                 /* 3*0 + 4*1 */
}

static void dgemm_matches_double_loop(void **state) {
    (void)state;
    for (int r = 0; r < 10; r++) {
        const int64_t M = nbt_range(0, 30), N = nbt_range(0, 30), K = nbt_range(0, 40);
        const int ta = (int)nbt_range(0, 1), tb = (int)nbt_range(0, 1);
        const int64_t lda = (ta ? M : K) + 1, ldb = (tb ? K : N) + 2, ldc = N + 1;
        double *A = calloc((size_t)((ta ? K : M) * lda + 1), sizeof(double));
        double *B = calloc((size_t)((tb ? N : K) * ldb + 1), sizeof(double));
        double *C = calloc((size_t)(M * ldc + 1), sizeof(double));
        double *E = calloc((size_t)(M * ldc + 1), sizeof(double));
        nbt_fill_uniform_d(A, (ta ? K : M) * lda, -1, 1);
        nbt_fill_uniform_d(B, (tb ? N : K) * ldb, -1, 1);
        nbt_fill_uniform_d(C, M * ldc, -1, 1);
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double s = 0, mag = 0;
                for (int64_t k = 0; k < K; k++) {
                    double p = (ta ? A[k * lda + i] : A[i * lda + k]) * (tb ? B[j * ldb + k] : B[k * ldb + j]);
                    s += p;
                    mag += fabs(p);
                }
                E[i * ldc + j] = 0.5 * s - 1.0 * C[i * ldc + j];
                (void)mag;
            }
        assert_int_equal(nb_dgemm(ta, tb, M, N, K, 0.5, A, lda, B, ldb, -1.0, C, ldc), NB_OK);
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++)
                assert_true(fabs(C[i * ldc + j] - E[i * ldc + j]) <= 1e-13 * (double)(K + 2));
        free(A); free(B); free(C); free(E);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sgemm_matches_double_oracle_within_bound_on_edge_sizes),
        cmocka_unit_test(sgemm_all_transposes_and_scalars),
        cmocka_unit_test(sgemm_integer_data_is_exact),
        cmocka_unit_test(sgemm_k_zero_scales_c_by_beta),
        cmocka_unit_test(sgemm_large_random_shape),
        cmocka_unit_test(sgemm_propagates_nan_and_inf_from_inputs),
        cmocka_unit_test(dgemm_matches_double_loop),
    };
    return nbt_run(tests);
}
