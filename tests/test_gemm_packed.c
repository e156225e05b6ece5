/* Prepacked B (nb_sgemm_pack_b / nb_sgemm_packed, src/api_gemm_packed.c)
 * against nb_sgemm on the same operands, bit for bit:
 *   - every ISA this CPU runs (nb_isa_set), shapes 0, 1, primes, the panel
 *     widths +-1 (15/16/17, 31/32/33), several KC blocks, a large GEMV;
 *     both transposes, odd leading dimensions, pointers off 16-byte
 *     alignment, alpha/beta 1/0, 0 (A and B not read) and others, 1 and
 *     3 threads, and a random sweep;
 *   - NaN and Inf in A, B and C;
 *   - the pack keeps its own copy of op(B); a pack made under one ISA and
 *     called under another (the active ISA's nb_sgemm bits);
 *   - the errors: the function and argument named, *packed untouched.
 * nb_sgemm itself is held to the documented FMA order by test_gemm_bits.c
 * (and to the reference's error bound by test_gemm_diff.c): equal bits
 * here carry that over; a packed path that skipped or reordered a k, or
 * cut K elsewhere, fails.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static int qemu(void) {
    const char *e = getenv("NABLA_QEMU");
    return e && *e && strcmp(e, "0") != 0;
}

/* n floats starting `off` floats into a fresh block (off 1: 4-byte aligned
   only), filled from [-1, 1]. */
typedef struct { float *base, *p; } buf;
static buf mk(int64_t n, int off) {
    buf b;
    b.base = malloc((size_t)(n + off + 1) * sizeof(float));
    assert_non_null(b.base);
    b.p = b.base + off;
    nbt_fill_uniform(b.p, n, -1, 1);
    return b;
}

typedef struct {
    int ta, tb;
    int64_t M, N, K, lda, ldb, ldc;
    float alpha, beta;
    int off;   /* pointer offset of A, B and C in floats */
} gcase;

static void same_bits(const gcase *g, const float *got, const float *want) {
    for (int64_t i = 0; i < g->M; i++)
        for (int64_t j = 0; j < g->ldc; j++) {   /* the gap past N too: untouched */
            const float a = got[i * g->ldc + j], b = want[i * g->ldc + j];
            if (memcmp(&a, &b, sizeof a) != 0)
                fail_msg("isa %s %c%c M=%lld N=%lld K=%lld lda=%lld ldb=%lld ldc=%lld alpha=%g "
                             "beta=%g off=%d threads=%d: C[%lld,%lld] packed %.9g != nb_sgemm %.9g",
                             nb_isa_name(nb_isa_active()), g->ta ? 'T' : 'N', g->tb ? 'T' : 'N',
                             (long long)g->M, (long long)g->N, (long long)g->K, (long long)g->lda,
                             (long long)g->ldb, (long long)g->ldc, (double)g->alpha, (double)g->beta,
                             g->off, nb_get_num_threads(), (long long)i, (long long)j, (double)a,
                             (double)b);
        }
}

/* One case: nb_sgemm and nb_sgemm_packed from the same C, same bits, for
   1 and 3 threads. special: NaN and Inf planted in A, B and C. */
static void run_case(gcase g, int special) {
    const int64_t ar = g.ta ? g.K : g.M, ac = g.ta ? g.M : g.K;
    const int64_t br = g.tb ? g.N : g.K, bc = g.tb ? g.K : g.N;
    g.lda = g.lda < (ac > 1 ? ac : 1) ? (ac > 1 ? ac : 1) : g.lda;
    g.ldb = g.ldb < (bc > 1 ? bc : 1) ? (bc > 1 ? bc : 1) : g.ldb;
    g.ldc = g.ldc < (g.N > 1 ? g.N : 1) ? (g.N > 1 ? g.N : 1) : g.ldc;
    buf A = mk(ar * g.lda, g.off), B = mk(br * g.ldb, g.off), C0 = mk(g.M * g.ldc, g.off);
    buf C1 = mk(g.M * g.ldc, g.off);
    if (special && g.M > 0 && g.N > 0 && g.K > 0) {
        A.p[(ar - 1) * g.lda] = INFINITY;
        B.p[(br / 2) * g.ldb + bc / 2] = NAN;
        B.p[0] = -INFINITY;
        C0.p[(g.M - 1) * g.ldc + g.N - 1] = NAN;
    }
    memcpy(C1.p, C0.p, (size_t)(g.M * g.ldc) * sizeof(float));
    const float *const Cstart = C1.p;
    float *Cinit = malloc((size_t)(g.M * g.ldc + 1) * sizeof(float));
    assert_non_null(Cinit);
    memcpy(Cinit, C0.p, (size_t)(g.M * g.ldc) * sizeof(float));
    nb_sgemm_packed_b *p = NULL;
    assert_int_equal(nb_sgemm_pack_b(g.tb, g.N, g.K, B.p, g.ldb, &p), NB_OK);
    assert_non_null(p);
    assert_true(nb_sgemm_packed_b_floats(p) >= g.N * g.K);
    for (int nt = 1; nt <= 3; nt += 2) {
        nb_set_num_threads(nt);
        memcpy(C0.p, Cinit, (size_t)(g.M * g.ldc) * sizeof(float));
        memcpy(C1.p, Cinit, (size_t)(g.M * g.ldc) * sizeof(float));
        assert_int_equal(nb_sgemm(g.ta, g.tb, g.M, g.N, g.K, g.alpha, A.p, g.lda, B.p, g.ldb, g.beta,
                                  C0.p, g.ldc), NB_OK);
        assert_int_equal(nb_sgemm_packed(g.ta, g.M, g.N, g.K, g.alpha, A.p, g.lda, p, g.beta, C1.p,
                                         g.ldc), NB_OK);
        same_bits(&g, C1.p, C0.p);
    }
    assert_ptr_equal(C1.p, Cstart);
    nb_set_num_threads(0);
    nb_sgemm_packed_b_free(p);
    free(A.base); free(B.base); free(C0.base); free(C1.base); free(Cinit);
}

/* Each ISA this build and CPU run, active in turn. */
static int next_isa(int isa) {
    while (++isa < NB_ISA_COUNT)
        if (nb_isa_supported((nb_isa)isa)) return isa;
    return -1;
}
#define FOR_EACH_ISA(isa) for (int isa = next_isa(-1); isa >= 0 && nb_isa_set((nb_isa)isa) == NB_OK; isa = next_isa(isa))

static void same_bits_as_nb_sgemm_on_edge_shapes(void **state) {
    (void)state;
    const nb_isa saved = nb_isa_active();
    static const int64_t ms[] = {0, 1, 2, 3, 4, 5, 13, 15, 29};
    static const int64_t ns[] = {0, 1, 7, 15, 16, 17, 31, 32, 33, 67};
    static const int64_t ks[] = {0, 1, 2, 17, 33, 401};   /* 401: two KC blocks on every ISA */
    FOR_EACH_ISA(isa) {
        for (size_t mi = 0; mi < sizeof ms / sizeof *ms; mi++)
            for (size_t ni = 0; ni < sizeof ns / sizeof *ns; ni++)
                for (size_t ki = 0; ki < sizeof ks / sizeof *ks; ki++) {
                    const int t = (int)(mi + ni + ki);   /* vary the rest along the grid */
                    gcase g = {t & 1, (t >> 1) & 1, ms[mi], ns[ni], ks[ki], 0, 0, 0,
                               1.0f, (t % 3) ? 0.0f : 1.0f, 0};
                    if (t % 4 == 3) { g.lda = 1000; g.ldb = 1001; g.ldc = 1003; g.off = 1; }
                    run_case(g, 0);
                    if (qemu() && ki > 3) break;
                }
    }
    nb_isa_set(saved);
}

static void same_bits_as_nb_sgemm_on_random_shapes(void **state) {
    (void)state;
    const nb_isa saved = nb_isa_active();
    static const float ab[][2] = {{1, 0}, {0.5f, -1.5f}, {-2, 1}, {0, 0.25f}, {0, 0}, {1, 1}};
    FOR_EACH_ISA(isa) {
        for (int r = 0; r < (qemu() ? 8 : 40); r++) {
            gcase g = {(int)nbt_range(0, 1), (int)nbt_range(0, 1), nbt_range(0, 70), nbt_range(0, 200),
                       nbt_range(0, 900), 0, 0, 0, 0, 0, (int)nbt_range(0, 3)};
            if (nbt_range(0, 1)) {   /* odd leading dimensions */
                g.lda = 2 * nbt_range(0, 40) + (g.ta ? g.M : g.K) + 1;
                g.ldb = 2 * nbt_range(0, 40) + (g.tb ? g.K : g.N) + 1;
                g.ldc = g.N + 2 * nbt_range(0, 5) + 1;
            }
            const int k = (int)nbt_range(0, 5);
            g.alpha = ab[k][0];
            g.beta = ab[k][1];
            run_case(g, 0);
        }
    }
    nb_isa_set(saved);
}

/* The benchmark's GEMV and a few rows over many KC blocks: the prepacked
   path reads the panels in place for those (A in place, one stream). */
static void same_bits_as_nb_sgemm_on_large_gemvs(void **state) {
    (void)state;
    const int64_t n = qemu() ? 300 : 1024, k = qemu() ? 900 : 4096;
    const nb_isa saved = nb_isa_active();
    FOR_EACH_ISA(isa) {
        for (int tb = 0; tb <= 1; tb++) {
            run_case((gcase){0, tb, 1, n, k, 0, 0, 0, 1.0f, 0.0f, 0}, 0);
            run_case((gcase){0, tb, 4, n + 1, k - 3, 0, 0, 0, 0.75f, -1.0f, 1}, 0);
        }
        if (!qemu()) run_case((gcase){0, 1, 1, 4096, 4096, 0, 0, 0, 1.0f, 0.0f, 0}, 0);
    }
    nb_isa_set(saved);
}

static void nan_and_inf_as_nb_sgemm(void **state) {
    (void)state;
    const nb_isa saved = nb_isa_active();
    FOR_EACH_ISA(isa) {
        for (int tb = 0; tb <= 1; tb++) {
            run_case((gcase){0, tb, 1, 33, 401, 0, 0, 0, 1.0f, 1.0f, 0}, 1);
            run_case((gcase){1, tb, 17, 40, 50, 0, 0, 0, -1.0f, 0.5f, 1}, 1);
            run_case((gcase){0, tb, 3, 16, 16, 0, 0, 0, 1.0f, 0.0f, 0}, 1);
        }
    }
    nb_isa_set(saved);
}

/* The pack holds its own copy of op(B); a pack used under another ISA
   (both ways) gives the active ISA's nb_sgemm bits. */
static void copy_and_isa_changed_after_packing(void **state) {
    (void)state;
    const nb_isa saved = nb_isa_active();
    const int64_t M = 3, N = 37, K = 700;
    buf A = mk(M * K, 0), B = mk(N * K, 0), C0 = mk(M * N, 0), C1 = mk(M * N, 0);
    float *Bcopy = malloc((size_t)(N * K) * sizeof(float));
    assert_non_null(Bcopy);
    memcpy(Bcopy, B.p, (size_t)(N * K) * sizeof(float));
    FOR_EACH_ISA(pack_isa) {
        nb_sgemm_packed_b *p = NULL;
        assert_int_equal(nb_sgemm_pack_b(1, N, K, B.p, K, &p), NB_OK);
        for (int64_t i = 0; i < N * K; i++) B.p[i] = 3.0f;   /* the pack holds its own copy */
        FOR_EACH_ISA(call_isa) {
            assert_int_equal(nb_sgemm(0, 1, M, N, K, 1.0f, A.p, K, Bcopy, K, 0.0f, C0.p, N), NB_OK);
            assert_int_equal(nb_sgemm_packed(0, M, N, K, 1.0f, A.p, K, p, 0.0f, C1.p, N), NB_OK);
            const gcase g = {0, 1, M, N, K, K, K, N, 1.0f, 0.0f, 0};
            same_bits(&g, C1.p, C0.p);
        }
        nb_isa_set((nb_isa)pack_isa);
        memcpy(B.p, Bcopy, (size_t)(N * K) * sizeof(float));
        nb_sgemm_packed_b_free(p);
    }
    nb_isa_set(saved);
    free(A.base); free(B.base); free(C0.base); free(C1.base); free(Bcopy);
}

static void errors_name_the_function_and_argument(void **state) {
    (void)state;
    float A[64], B[64], C[64];
    nbt_fill_uniform(A, 64, -1, 1);
    nbt_fill_uniform(B, 64, -1, 1);
    nb_sgemm_packed_b *p = (nb_sgemm_packed_b *)A, *const sentinel = p;
    const char *pk = "nb_sgemm_pack_b";
    nbt_expect_error(nb_sgemm_pack_b(2, 4, 4, B, 4, &p), NB_ERR_ARG, pk, "trans_b");
    nbt_expect_error(nb_sgemm_pack_b(0, -1, 4, B, 4, &p), NB_ERR_ARG, pk, "N");
    nbt_expect_error(nb_sgemm_pack_b(0, 4, -1, B, 4, &p), NB_ERR_ARG, pk, "K");
    nbt_expect_error(nb_sgemm_pack_b(0, 4, 4, NULL, 4, &p), NB_ERR_ARG, pk, "B");
    nbt_expect_error(nb_sgemm_pack_b(0, 4, 4, B, 3, &p), NB_ERR_ARG, pk, "ldb");
    nbt_expect_error(nb_sgemm_pack_b(1, 4, 5, B, 4, &p), NB_ERR_ARG, pk, "ldb");
    nbt_expect_error(nb_sgemm_pack_b(0, 4, 4, B, 4, NULL), NB_ERR_ARG, pk, "packed");
    nbt_expect_error(nb_sgemm_pack_b(0, INT64_MAX / 2, 4, B, INT64_MAX / 2, &p), NB_ERR_OVERFLOW, pk, "B");
    assert_ptr_equal(p, sentinel);   /* untouched on failure */
    assert_int_equal(nb_sgemm_pack_b(0, 4, 4, B, 4, &p), NB_OK);   /* op(B) 4 x 4 */
    const char *fn = "nb_sgemm_packed";
    nbt_expect_error(nb_sgemm_packed(2, 2, 4, 4, 1, A, 4, p, 0, C, 4), NB_ERR_ARG, fn, "trans_a");
    nbt_expect_error(nb_sgemm_packed(0, 2, 4, 4, 1, A, 4, NULL, 0, C, 4), NB_ERR_ARG, fn, "B");
    nbt_expect_error(nb_sgemm_packed(0, -2, 4, 4, 1, A, 4, p, 0, C, 4), NB_ERR_ARG, fn, "M");
    nbt_expect_error(nb_sgemm_packed(0, 2, 5, 4, 1, A, 4, p, 0, C, 5), NB_ERR_SHAPE, fn, "N");
    nbt_expect_error(nb_sgemm_packed(0, 2, 4, 3, 1, A, 4, p, 0, C, 4), NB_ERR_SHAPE, fn, "K");
    nbt_expect_error(nb_sgemm_packed(0, 2, 4, 4, 1, NULL, 4, p, 0, C, 4), NB_ERR_ARG, fn, "A");
    nbt_expect_error(nb_sgemm_packed(0, 2, 4, 4, 1, A, 3, p, 0, C, 4), NB_ERR_ARG, fn, "lda");
    nbt_expect_error(nb_sgemm_packed(1, 2, 4, 4, 1, A, 1, p, 0, C, 4), NB_ERR_ARG, fn, "lda");
    nbt_expect_error(nb_sgemm_packed(0, 2, 4, 4, 1, A, 4, p, 0, NULL, 4), NB_ERR_ARG, fn, "C");
    nbt_expect_error(nb_sgemm_packed(0, 2, 4, 4, 1, A, 4, p, 0, C, 3), NB_ERR_ARG, fn, "ldc");
    nbt_expect_error(nb_sgemm_packed(0, 2, 4, 4, 1, A, 4, p, 0, A + 2, 4), NB_ERR_ALIAS, fn, "overlaps A");
    nbt_expect_error(nb_sgemm_packed(0, INT64_MAX / 2, 4, 4, 1, A, 4, p, 0, C, INT64_MAX / 2),
                     NB_ERR_OVERFLOW, fn, "A");
    /* Empty calls: nothing read or written. */
    assert_int_equal(nb_sgemm_packed(0, 0, 4, 4, 1, NULL, 4, p, 0, NULL, 4), NB_OK);
    nb_sgemm_packed_b_free(p);
    /* alpha == 0 or K == 0: A and B are not read; beta == 0 does not read C. */
    assert_int_equal(nb_sgemm_pack_b(0, 3, 0, NULL, 3, &p), NB_OK);
    assert_int_equal(nb_sgemm_packed_b_floats(p), 0);
    C[0] = NAN;
    assert_int_equal(nb_sgemm_packed(0, 1, 3, 0, 1, NULL, 1, p, 0, C, 3), NB_OK);
    assert_true(C[0] == 0.0f && C[1] == 0.0f && C[2] == 0.0f);
    nb_sgemm_packed_b_free(p);
    nb_sgemm_packed_b_free(NULL);
    assert_int_equal(nb_sgemm_packed_b_floats(NULL), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_bits_as_nb_sgemm_on_edge_shapes),
        cmocka_unit_test(same_bits_as_nb_sgemm_on_random_shapes),
        cmocka_unit_test(same_bits_as_nb_sgemm_on_large_gemvs),
        cmocka_unit_test(nan_and_inf_as_nb_sgemm),
        cmocka_unit_test(copy_and_isa_changed_after_packing),
        cmocka_unit_test(errors_name_the_function_and_argument),
    };
    return nbt_run(tests);
}
