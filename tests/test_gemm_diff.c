/* Differential tests of every SIMD SGEMM table against the reference.
 *
 * For each usable SIMD table (nb_kernels_for(AVX2/NEON); skip() when none),
 * t->sgemm is compared with nb_kernels_ref.sgemm (which accumulates in double,
 * so it is within one rounding of exact) under DESIGN.md's bound
 *   |C - C_exact| <= gamma(K+2) (|alpha| |A||B| + |beta| |C|),
 * widened to gamma(K+3) for the reference's own final rounding. |A||B| etc.
 * is computed by the reference on the absolute values.
 *
 * Beyond the bound, the SIMD path promises an exact evaluation order
 * (src/gemm_driver.h): per KC block an FMA chain from +0 in k order, then
 * alpha*acc and fma(beta, C, .). A scalar emulation with fmaf() checks it bit
 * for bit, and with it the invariances DESIGN.md asks for: same bits for
 * any thread count and for a row computed alone or inside a batch.
 *
 * Buffers are guarded (a PROT_NONE page right after the end or right before
 * the start) and offset by 0..7 floats; C rows have canaries in the ldc
 * padding; with beta == 0, C is poisoned with NaN.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "isa_ops.h"
#include "ukernel.h"
#include "harness.h"
#include "internal.h"
#include "kernels_table.h"

/* ---- tables under test ---- */

static int simd_tables(const struct nb_kernels *out[2]) {
    int n = 0;
    for (int isa = NB_ISA_REF + 1; isa < NB_ISA_COUNT; isa++) {
        const struct nb_kernels *t = nb_kernels_for((nb_isa)isa);
        if (t && t->sgemm != nb_kernels_ref.sgemm) out[n++] = t;
    }
    return n;
}

/* The blocking of an ISA's SGEMM (KC fixes the rounding; MC/NC the loops). */
static nb_gemm_desc blocking(nb_isa isa) {
    const nb_ukernel_config *cfg = nb_isa_ukernels(isa);
    if (cfg) return cfg->gemm;
    nb_gemm_desc d = {0};
    d.mr = 8; d.nr = 12; d.mc = 128; d.kc = 256; d.nc = 4092;
    return d;
}

#define FOR_EACH_SIMD_TABLE(t)                                                  \
    const struct nb_kernels *tabs_[2];                                          \
    const int ntabs_ = simd_tables(tabs_);                                      \
    if (ntabs_ == 0) skip();                                                    \
    for (int ti_ = 0; ti_ < ntabs_; ti_++)                                      \
        for (const struct nb_kernels *t = tabs_[ti_]; t; t = NULL)

static int qemu(void) {
    const char *e = getenv("NABLA_QEMU");
    return e && *e && strcmp(e, "0") != 0;
}

/* ---- guarded, offset buffers ---- */

typedef struct { float *base, *p; } gbuf;

static gbuf galloc(size_t n, int guard_before, int off) {
    gbuf g;
    /* Exactly n + off floats (at least one), so with the guard after it the
       last element ends at the guard page and every float stays aligned. */
    const size_t count = n + (size_t)off > 0 ? n + (size_t)off : 1;
    g.base = nbt_alloc_guarded(count * sizeof(float), guard_before);
    assert_non_null(g.base);
    g.p = g.base + off;
    return g;
}
static void gfree(gbuf g) { nbt_free_guarded(g.base); }

/* ---- one case ---- */

typedef struct {
    int ta, tb;
    int64_t M, N, K, lda, ldb, ldc;
    float alpha, beta;
} gcase;

enum { DATA_UNIFORM, DATA_INT, DATA_SPECIAL };

static double gamma_k(int64_t k) {
    const double u = ldexp(1.0, -24);
    return (double)k * u / (1.0 - (double)k * u);
}

static size_t span(int64_t rows, int64_t cols, int64_t ld) {
    return rows && cols ? (size_t)((rows - 1) * ld + cols) : 0;
}

static void describe(const gcase *c, char *buf, size_t n) {
    snprintf(buf, n, "ta=%d tb=%d M=%lld N=%lld K=%lld lda=%lld ldb=%lld ldc=%lld alpha=%g beta=%g",
             c->ta, c->tb, (long long)c->M, (long long)c->N, (long long)c->K, (long long)c->lda,
             (long long)c->ldb, (long long)c->ldc, (double)c->alpha, (double)c->beta);
}

/* sum over k of |op(A)[i,k] op(B)[k,j]| in double (before alpha). */
static double unscaled_mag(const gcase *c, const float *A, const float *B, int64_t i, int64_t j) {
    double m = 0;
    for (int64_t k = 0; k < c->K; k++)
        m += fabs((double)(c->ta ? A[k * c->lda + i] : A[i * c->lda + k]) *
                  (double)(c->tb ? B[j * c->ldb + k] : B[k * c->ldb + j]));
    return m;
}

/* Runs c on table t and on the reference; checks the bound (or exactness),
   NaN/Inf classes, and that nothing outside the m x n part of C changed. */
static void check_case(const struct nb_kernels *t, const gcase *c, int data) {
    const int64_t ar = c->ta ? c->K : c->M, ac = c->ta ? c->M : c->K;
    const int64_t br = c->tb ? c->N : c->K, bc = c->tb ? c->K : c->N;
    const size_t na = span(ar, ac, c->lda), nb = span(br, bc, c->ldb);
    const size_t nc = (size_t)(c->M * c->ldc);   /* whole rows: padding has canaries */
    const int gb = (int)nbt_range(0, 1);
    gbuf A = galloc(na, gb, (int)nbt_range(0, 7));
    gbuf B = galloc(nb, !gb, (int)nbt_range(0, 7));
    gbuf C = galloc(nc, gb, (int)nbt_range(0, 7));
    float *R = malloc((nc + 1) * sizeof(float)), *C0 = malloc((nc + 1) * sizeof(float));
    float *Aa = malloc((na + 1) * sizeof(float)), *Ba = malloc((nb + 1) * sizeof(float));
    float *Mag = malloc((nc + 1) * sizeof(float));
    assert_non_null(R); assert_non_null(C0); assert_non_null(Aa); assert_non_null(Ba); assert_non_null(Mag);
    if (data == DATA_INT) {
        nbt_fill_int(A.p, (int64_t)na, 4);
        nbt_fill_int(B.p, (int64_t)nb, 4);
        nbt_fill_int(C.p, (int64_t)nc, 4);
    } else {
        nbt_fill_uniform(A.p, (int64_t)na, -1, 1);
        nbt_fill_uniform(B.p, (int64_t)nb, -1, 1);
        nbt_fill_uniform(C.p, (int64_t)nc, -1, 1);
    }
    if (data == DATA_SPECIAL) {
        static const float special[] = {NAN, INFINITY, -INFINITY, 0.0f};
        for (int r = 0; r < 3; r++) {
            if (na) A.p[nbt_range(0, (int64_t)na - 1)] = special[nbt_range(0, 3)];
            if (nb) B.p[nbt_range(0, (int64_t)nb - 1)] = special[nbt_range(0, 3)];
        }
    }
    if (c->beta == 0.0f)
        for (int64_t i = 0; i < c->M; i++)
            for (int64_t j = 0; j < c->N; j++) C.p[i * c->ldc + j] = NAN;
    memcpy(C0, C.p, nc * sizeof(float));
    memcpy(R, C.p, nc * sizeof(float));
    for (size_t i = 0; i < na; i++) Aa[i] = fabsf(A.p[i]);
    for (size_t i = 0; i < nb; i++) Ba[i] = fabsf(B.p[i]);
    for (size_t i = 0; i < nc; i++) Mag[i] = c->beta == 0.0f ? 0.0f : fabsf(C0[i]);

    assert_int_equal(t->sgemm(c->ta, c->tb, c->M, c->N, c->K, c->alpha, A.p, c->lda, B.p, c->ldb,
                              c->beta, C.p, c->ldc), NB_OK);
    assert_int_equal(nb_kernels_ref.sgemm(c->ta, c->tb, c->M, c->N, c->K, c->alpha, A.p, c->lda,
                                          B.p, c->ldb, c->beta, R, c->ldc), NB_OK);
    assert_int_equal(nb_kernels_ref.sgemm(c->ta, c->tb, c->M, c->N, c->K, fabsf(c->alpha), Aa,
                                          c->lda, Ba, c->ldb, fabsf(c->beta), Mag, c->ldc), NB_OK);
    char what[256];
    for (int64_t i = 0; i < c->M; i++)
        for (int64_t j = 0; j < c->ldc; j++) {
            const size_t e = (size_t)(i * c->ldc + j);
            const float got = C.p[e], want = R[e];
            if (j >= c->N) {   /* ldc padding: the canary is untouched */
                if (memcmp(&got, &C0[e], sizeof got) != 0) {
                    describe(c, what, sizeof what);
                    fail_msg("padding C[%lld,%lld] was written (%s)", (long long)i, (long long)j, what);
                }
                continue;
            }
            int ok;
            if (!isfinite(want) || !isfinite(got)) {   /* the classes, or kernels.h's overflow exception */
                const double um = unscaled_mag(c, A.p, B.p, i, j);
                const double m = fabs((double)c->alpha) * um + (c->beta != 0.0f ? fabs((double)c->beta * (double)C0[e]) : 0.0);
                ok = nbt_same_value(got, want) || nb_check_overflow_exempt(got, um > m ? um : m, (double)c->K + 2);
            }
            else if (data == DATA_INT) ok = got == want;
            else ok = fabs((double)got - (double)want) <= gamma_k(c->K + 3) * (double)Mag[e] * (1 + 1e-6);
            if (!ok) {
                describe(c, what, sizeof what);
                fail_msg("%s: C[%lld,%lld] = %.9g, reference %.9g, |A||B| %.3g (%s)", nb_isa_name(t->isa),
                         (long long)i, (long long)j, (double)got, (double)want, (double)Mag[e], what);
            }
        }
    gfree(A); gfree(B); gfree(C);
    free(R); free(C0); free(Aa); free(Ba); free(Mag);
}

static const float alphas[] = {1.0f, 0.5f, -2.0f, 0.0f};
static const float betas[] = {0.0f, 1.0f, -1.5f};

/* Transposes and scalars random (alpha = 0 rarely), leading dimensions
   larger than needed half of the time. */
static gcase make_case(int64_t M, int64_t N, int64_t K) {
    gcase c;
    c.ta = (int)nbt_range(0, 1);
    c.tb = (int)nbt_range(0, 1);
    c.M = M; c.N = N; c.K = K;
    c.alpha = alphas[nbt_range(0, 9) == 0 ? 3 : nbt_range(0, 2)];
    c.beta = betas[nbt_range(0, 2)];
    const int64_t acols = c.ta ? M : K, bcols = c.tb ? K : N;
    c.lda = (acols > 1 ? acols : 1) + nbt_range(0, 1) * nbt_range(1, 9);
    c.ldb = (bcols > 1 ? bcols : 1) + nbt_range(0, 1) * nbt_range(1, 9);
    c.ldc = (N > 1 ? N : 1) + nbt_range(0, 1) * nbt_range(1, 9);
    return c;
}

/* ---- the evaluation-order emulation (gemm_driver.h) ---- */

static float op_a(const gcase *c, const float *A, int64_t i, int64_t k) {
    return c->ta ? A[k * c->lda + i] : A[i * c->lda + k];
}
static float op_b(const gcase *c, const float *B, int64_t k, int64_t j) {
    return c->tb ? B[j * c->ldb + k] : B[k * c->ldb + j];
}

static void emulate(const gcase *c, int64_t kc, const float *A, const float *B, float *C) {
    for (int64_t i = 0; i < c->M; i++)
        for (int64_t j = 0; j < c->N; j++) {
            float *cij = C + i * c->ldc + j;
            if (c->K == 0 || c->alpha == 0.0f) {
                *cij = c->beta == 0.0f ? 0.0f : c->beta * *cij;
                continue;
            }
            for (int64_t p = 0; p < c->K; p += kc) {
                float acc = 0.0f;
                for (int64_t k = p; k < c->K && k < p + kc; k++)
                    acc = fmaf(op_a(c, A, i, k), op_b(c, B, k, j), acc);
                const float t = c->alpha * acc;
                const float beta = p == 0 ? c->beta : 1.0f;
                *cij = beta == 0.0f ? t : fmaf(beta, *cij, t);
            }
        }
}

/* ---- tests ---- */

static void simd_sgemm_within_bound_on_micro_tile_edges(void **state) {
    (void)state;
    FOR_EACH_SIMD_TABLE(t) {
        const nb_gemm_desc d = blocking(t->isa);
        const int64_t ks[] = {1, 2, 7, 8, 9, 17, 31, 300};   /* 300: A read in place */
        for (int64_t m = 1; m <= d.mr + 1; m++)
            for (int64_t n = 1; n <= 2 * d.nr + 1; n++)
                for (size_t q = 0; q < sizeof ks / sizeof ks[0]; q++) {
                    gcase c = make_case(m, n, ks[q]);
                    check_case(t, &c, DATA_UNIFORM);
                }
    }
}

static void simd_sgemm_within_bound_on_row_edges_with_wide_n(void **state) {
    (void)state;
    /* Wide enough N that A is packed (not read in place), both layouts. */
    FOR_EACH_SIMD_TABLE(t) {
        const nb_gemm_desc d = blocking(t->isa);
        for (int64_t m = 1; m <= d.mr + 1; m++)
            for (int r = 0; r < 4; r++) {
                gcase c = make_case(m, nbt_range(97, 2 * d.nr * 5), nbt_range(1, 40));
                c.ta = r & 1;
                check_case(t, &c, DATA_UNIFORM);
            }
    }
}

static void simd_sgemm_within_bound_around_kc(void **state) {
    (void)state;
    FOR_EACH_SIMD_TABLE(t) {
        const int64_t kc = blocking(t->isa).kc;
        const int64_t ks[] = {kc - 1, kc, kc + 1, 2 * kc + 3, 3 * kc};
        for (size_t q = 0; q < sizeof ks / sizeof ks[0]; q++)
            for (int r = 0; r < 4; r++) {
                gcase c = make_case(nbt_range(1, 40), nbt_range(1, 40), ks[q]);
                check_case(t, &c, DATA_UNIFORM);
            }
    }
}

static void simd_sgemm_within_bound_around_mc_and_nc(void **state) {
    (void)state;
    FOR_EACH_SIMD_TABLE(t) {
        const nb_gemm_desc d = blocking(t->isa);
        for (int64_t dm = -1; dm <= 1; dm++) {
            gcase c = make_case(d.mc + dm, nbt_range(1, 40), nbt_range(1, 30));
            check_case(t, &c, DATA_UNIFORM);
            c = make_case(2 * d.mc + dm, 17, 5);
            check_case(t, &c, DATA_UNIFORM);
        }
        /* Cheap even emulated (K <= 9): NC +- 1 stays under NABLA_QEMU. */
        for (int64_t dn = -1; dn <= 1; dn++) {
            gcase c = make_case(nbt_range(5, 13), d.nc + dn, nbt_range(1, 9));
            check_case(t, &c, DATA_UNIFORM);
        }
    }
}

static void simd_sgemm_empty_dimensions_and_k_zero(void **state) {
    (void)state;
    /* M or N == 0: nothing is written (N == 0 leaves every canary of the
       ldc padding); K == 0: C = beta C, and beta == 0 writes zeros over the
       NaN poison without reading it. */
    FOR_EACH_SIMD_TABLE(t) {
        for (int r = 0; r < 30; r++) {
            const int64_t M = r % 3 == 0 ? 0 : nbt_range(1, 20);
            const int64_t N = r % 3 == 1 ? 0 : nbt_range(1, 40);
            const int64_t K = r % 3 == 2 ? 0 : nbt_range(0, 50);
            gcase c = make_case(M, N, K);
            check_case(t, &c, DATA_UNIFORM);
        }
    }
}

static void simd_sgemm_all_transposes_alphas_and_betas(void **state) {
    (void)state;
    FOR_EACH_SIMD_TABLE(t) {
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int ia = 0; ia < 4; ia++)
                    for (int ib = 0; ib < 3; ib++) {
                        gcase c = make_case(nbt_range(1, 60), nbt_range(1, 60), nbt_range(1, 300));
                        c.ta = ta; c.tb = tb; c.alpha = alphas[ia]; c.beta = betas[ib];
                        c.lda = (ta ? c.M : c.K) + nbt_range(1, 7);
                        c.ldb = (tb ? c.K : c.N) + nbt_range(1, 7);
                        c.ldc = c.N + nbt_range(1, 7);
                        check_case(t, &c, DATA_UNIFORM);
                    }
    }
}

static void simd_sgemm_beta_zero_never_reads_c(void **state) {
    (void)state;
    /* check_case poisons C with NaN for beta == 0: any read would leak. */
    FOR_EACH_SIMD_TABLE(t) {
        for (int r = 0; r < 60; r++) {
            gcase c = make_case(nbt_range(1, 20), nbt_range(1, 40), nbt_range(1, 600));
            c.beta = 0.0f;
            c.alpha = alphas[r % 4];
            check_case(t, &c, DATA_UNIFORM);
        }
    }
}

static void simd_sgemm_small_m_within_bound(void **state) {
    (void)state;
    /* The no-pack small-M path: few rows, B not transposed, wide N. */
    FOR_EACH_SIMD_TABLE(t) {
        for (int r = 0; r < 30; r++) {
            gcase c = make_case(nbt_range(1, 40), nbt_range(1, 1100), nbt_range(1, 600));
            c.tb = 0;
            c.ldb = c.N + nbt_range(0, 3);
            check_case(t, &c, DATA_UNIFORM);
        }
    }
}

static void simd_sgemm_small_m_with_transposed_b_within_bound(void **state) {
    (void)state;
    /* The no-pack path for x W^T: few rows, B stored N x K. */
    FOR_EACH_SIMD_TABLE(t) {
        for (int r = 0; r < 30; r++) {
            gcase c = make_case(nbt_range(1, 20), nbt_range(1, 300), nbt_range(1, 700));
            c.tb = 1;
            c.ldb = c.K + nbt_range(0, 3);
            check_case(t, &c, r % 3 == 0 ? DATA_SPECIAL : DATA_UNIFORM);
        }
    }
}

static void simd_sgemm_nan_and_inf_propagate_like_reference(void **state) {
    (void)state;
    FOR_EACH_SIMD_TABLE(t) {
        for (int r = 0; r < 80; r++) {
            gcase c = make_case(nbt_range(1, 20), nbt_range(1, 40), nbt_range(1, 300));
            if (c.alpha == 0.0f) c.alpha = 1.0f;   /* alpha == 0 reads neither A nor B */
            check_case(t, &c, DATA_SPECIAL);
        }
    }
}

static void simd_sgemm_alpha_zero_reads_neither_a_nor_b(void **state) {
    (void)state;
    /* BLAS (and the reference): alpha == 0 gives beta C even when A or B
       hold NaN/Inf; check_case's special values exercise it. */
    FOR_EACH_SIMD_TABLE(t) {
        for (int r = 0; r < 20; r++) {
            gcase c = make_case(nbt_range(1, 40), nbt_range(1, 40), nbt_range(1, 500));
            c.alpha = 0.0f;
            check_case(t, &c, DATA_SPECIAL);
        }
    }
}

static void simd_sgemm_integer_data_is_bit_exact(void **state) {
    (void)state;
    FOR_EACH_SIMD_TABLE(t) {
        for (int r = 0; r < 40; r++) {
            gcase c = make_case(nbt_range(1, 50), nbt_range(1, 50), nbt_range(1, 700));
            c.alpha = r & 1 ? 1.0f : -2.0f;
            c.beta = betas[r % 3];
            check_case(t, &c, DATA_INT);
        }
    }
}

/* Fills A, B, C for c (dense enough for the largest ld), uniform data. */
typedef struct { float *A, *B, *C; size_t na, nb, nc; } bufs;
static bufs make_bufs(const gcase *c) {
    bufs b;
    b.na = span(c->ta ? c->K : c->M, c->ta ? c->M : c->K, c->lda);
    b.nb = span(c->tb ? c->N : c->K, c->tb ? c->K : c->N, c->ldb);
    b.nc = (size_t)(c->M * c->ldc);
    b.A = malloc((b.na + 1) * sizeof(float));
    b.B = malloc((b.nb + 1) * sizeof(float));
    b.C = malloc((b.nc + 1) * sizeof(float));
    assert_non_null(b.A); assert_non_null(b.B); assert_non_null(b.C);
    nbt_fill_uniform(b.A, (int64_t)b.na, -1, 1);
    nbt_fill_uniform(b.B, (int64_t)b.nb, -1, 1);
    nbt_fill_uniform(b.C, (int64_t)b.nc, -1, 1);
    return b;
}
static void free_bufs(bufs b) { free(b.A); free(b.B); free(b.C); }

static void simd_sgemm_follows_documented_fma_order_bit_for_bit(void **state) {
    (void)state;
    FOR_EACH_SIMD_TABLE(t) {
        const int64_t kc = blocking(t->isa).kc;
        for (int r = 0; r < 40; r++) {
            gcase c = make_case(nbt_range(1, 30), nbt_range(1, 40),
                                r < 30 ? nbt_range(1, 100) : nbt_range(kc - 2, 2 * kc + 5));
            bufs b = make_bufs(&c);
            float *E = malloc((b.nc + 1) * sizeof(float));
            assert_non_null(E);
            memcpy(E, b.C, b.nc * sizeof(float));
            emulate(&c, kc, b.A, b.B, E);
            assert_int_equal(t->sgemm(c.ta, c.tb, c.M, c.N, c.K, c.alpha, b.A, c.lda, b.B, c.ldb,
                                      c.beta, b.C, c.ldc), NB_OK);
            for (size_t e = 0; e < b.nc; e++)
                if (memcmp(&b.C[e], &E[e], sizeof(float)) != 0) {
                    char what[256];
                    describe(&c, what, sizeof what);
                    fail_msg("C[%zu] = %a, emulation %a (%s)", e, (double)b.C[e], (double)E[e], what);
                }
            free(E);
            free_bufs(b);
        }
    }
}

static void simd_sgemm_single_row_wide_n_follows_fma_order_on_any_thread_count(void **state) {
    (void)state;
    /* M = 1 with B not transposed: the GEMV-like path, whose calls cover up
       to a few thousand columns each (split between threads) and step
       through K several rows at a time. N around and past one call's width,
       K with every remainder of the row step and across KC blocks. */
    FOR_EACH_SIMD_TABLE(t) {
        const int64_t kc = blocking(t->isa).kc;
        const int64_t ns[] = {1, 4095, 4097, nbt_range(4098, 9000)};
        const int64_t ks[] = {nbt_range(1, 15), kc - 1, kc + nbt_range(1, 15)};
        for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++)
            for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
                if (qemu() && ns[ni] * ks[ki] > 1000000) continue;
                gcase c = make_case(1, ns[ni], ks[ki]);
                c.tb = 0;
                c.ldb = c.N + nbt_range(0, 3);
                if (c.alpha == 0.0f) c.alpha = 0.5f;
                check_case(t, &c, DATA_UNIFORM);   /* guard pages, unaligned */
                bufs b = make_bufs(&c);
                float *E = malloc(b.nc * sizeof(float)), *G = malloc(b.nc * sizeof(float));
                assert_non_null(E); assert_non_null(G);
                memcpy(E, b.C, b.nc * sizeof(float));
                emulate(&c, kc, b.A, b.B, E);
                for (int nt = 1; nt <= 3; nt++) {
                    memcpy(G, b.C, b.nc * sizeof(float));
                    nb_set_num_threads(nt);
                    assert_int_equal(t->sgemm(c.ta, c.tb, c.M, c.N, c.K, c.alpha, b.A, c.lda, b.B,
                                              c.ldb, c.beta, G, c.ldc), NB_OK);
                    for (size_t e = 0; e < b.nc; e++)
                        if (memcmp(&G[e], &E[e], sizeof(float)) != 0) {
                            char what[256];
                            describe(&c, what, sizeof what);
                            fail_msg("%d threads: C[%zu] = %a, emulation %a (%s)", nt, e,
                                     (double)G[e], (double)E[e], what);
                        }
                }
                nb_set_num_threads(0);
                free(E); free(G);
                free_bufs(b);
            }
    }
}

static void simd_sgemm_same_bits_for_1_2_and_3_threads(void **state) {
    (void)state;
    const int64_t shapes[][3] = {
        {300, 200, 600}, {1000, 20, 300}, {20, 1000, 300}, {3, 3000, 600}, {7, 700, 520}, {97, 97, 97},
        {30, 300, 600}, {33, 2000, 70},
    };
    FOR_EACH_SIMD_TABLE(t) {
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            gcase c = make_case(shapes[s][0], shapes[s][1], shapes[s][2]);
            if (c.alpha == 0.0f) c.alpha = 0.5f;
            bufs b = make_bufs(&c);
            float *C1 = malloc(b.nc * sizeof(float)), *Cn = malloc(b.nc * sizeof(float));
            assert_non_null(C1); assert_non_null(Cn);
            memcpy(C1, b.C, b.nc * sizeof(float));
            nb_set_num_threads(1);
            assert_int_equal(t->sgemm(c.ta, c.tb, c.M, c.N, c.K, c.alpha, b.A, c.lda, b.B, c.ldb,
                                      c.beta, C1, c.ldc), NB_OK);
            for (int nt = 2; nt <= 3; nt++) {
                memcpy(Cn, b.C, b.nc * sizeof(float));
                nb_set_num_threads(nt);
                assert_int_equal(t->sgemm(c.ta, c.tb, c.M, c.N, c.K, c.alpha, b.A, c.lda, b.B,
                                          c.ldb, c.beta, Cn, c.ldc), NB_OK);
                if (memcmp(C1, Cn, b.nc * sizeof(float)) != 0) {
                    char what[256];
                    describe(&c, what, sizeof what);
                    fail_msg("%d threads differ from 1 thread (%s)", nt, what);
                }
            }
            nb_set_num_threads(0);
            free(C1); free(Cn);
            free_bufs(b);
        }
    }
}

static void simd_sgemm_inside_a_user_parallel_region_runs_per_thread(void **state) {
    (void)state;
#ifdef _OPENMP
    /* Each user thread calls sgemm with its own shape (so a barrier that
       leaked into the user's team would deadlock or corrupt); each result
       must equal the same call made outside any parallel region. */
    FOR_EACH_SIMD_TABLE(t) {
        enum { NT = 3 };
        gcase cs[NT];
        bufs bs[NT];
        float *want[NT];
        for (int i = 0; i < NT; i++) {
            cs[i] = make_case(nbt_range(100, 300), nbt_range(20, 300), nbt_range(300, 900));
            if (cs[i].alpha == 0.0f) cs[i].alpha = 1.0f;
            bs[i] = make_bufs(&cs[i]);
            want[i] = malloc(bs[i].nc * sizeof(float));
            assert_non_null(want[i]);
            memcpy(want[i], bs[i].C, bs[i].nc * sizeof(float));
            nb_set_num_threads(2);
            assert_int_equal(t->sgemm(cs[i].ta, cs[i].tb, cs[i].M, cs[i].N, cs[i].K, cs[i].alpha,
                                      bs[i].A, cs[i].lda, bs[i].B, cs[i].ldb, cs[i].beta, want[i],
                                      cs[i].ldc), NB_OK);
        }
        nb_status st[NT];
#pragma omp parallel num_threads(NT)
        {
#pragma omp for schedule(static, 1)
            for (int i = 0; i < NT; i++)
                st[i] = t->sgemm(cs[i].ta, cs[i].tb, cs[i].M, cs[i].N, cs[i].K, cs[i].alpha,
                                 bs[i].A, cs[i].lda, bs[i].B, cs[i].ldb, cs[i].beta, bs[i].C,
                                 cs[i].ldc);
        }
        nb_set_num_threads(0);
        for (int i = 0; i < NT; i++) {
            assert_int_equal(st[i], NB_OK);
            assert_memory_equal(bs[i].C, want[i], bs[i].nc * sizeof(float));
            free(want[i]);
            free_bufs(bs[i]);
        }
    }
#else
    skip();
#endif
}

static void simd_sgemm_row_alone_equals_row_in_batch(void **state) {
    (void)state;
    const int64_t batch[] = {7, 100, 300};
    const int64_t ns[] = {1, 17, 100, 1030};
    FOR_EACH_SIMD_TABLE(t) {
        const int64_t kc = blocking(t->isa).kc;
        const int64_t ks[] = {5, kc - 1, kc + 44, 2 * kc + 3};
        for (size_t bi = 0; bi < sizeof batch / sizeof batch[0]; bi++)
            for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++)
                for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
                    if (qemu() && batch[bi] * ns[ni] * ks[ki] > 2000000) continue;
                    gcase c = make_case(batch[bi], ns[ni], ks[ki]);
                    if (c.alpha == 0.0f) c.alpha = -2.0f;
                    bufs b = make_bufs(&c);
                    float *Cb = malloc(b.nc * sizeof(float));
                    assert_non_null(Cb);
                    memcpy(Cb, b.C, b.nc * sizeof(float));
                    assert_int_equal(t->sgemm(c.ta, c.tb, c.M, c.N, c.K, c.alpha, b.A, c.lda, b.B,
                                              c.ldb, c.beta, Cb, c.ldc), NB_OK);
                    /* Rows 0, the last, and a few in between, each alone (M = 1)
                       and as a 2-row and 3-row batch starting there. */
                    const int64_t rows[] = {0, c.M - 1, nbt_range(0, c.M - 1), nbt_range(0, c.M - 1)};
                    for (size_t ri = 0; ri < 4; ri++)
                        for (int64_t mm = 1; mm <= 3; mm++) {
                            const int64_t i = rows[ri];
                            if (i + mm > c.M) continue;
                            float *row = malloc((size_t)(mm * c.ldc) * sizeof(float));
                            assert_non_null(row);
                            memcpy(row, b.C + i * c.ldc, (size_t)(mm * c.ldc) * sizeof(float));
                            const float *Ai = c.ta ? b.A + i : b.A + i * c.lda;
                            assert_int_equal(t->sgemm(c.ta, c.tb, mm, c.N, c.K, c.alpha, Ai, c.lda,
                                                      b.B, c.ldb, c.beta, row, c.ldc), NB_OK);
                            for (int64_t r = 0; r < mm; r++)
                                if (memcmp(row + r * c.ldc, Cb + (i + r) * c.ldc,
                                           (size_t)c.N * sizeof(float)) != 0) {
                                    char what[256];
                                    describe(&c, what, sizeof what);
                                    fail_msg("row %lld computed with M=%lld differs from the batch (%s)",
                                             (long long)(i + r), (long long)mm, what);
                                }
                            free(row);
                        }
                    free(Cb);
                    free_bufs(b);
                }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(simd_sgemm_within_bound_on_micro_tile_edges),
        cmocka_unit_test(simd_sgemm_within_bound_on_row_edges_with_wide_n),
        cmocka_unit_test(simd_sgemm_within_bound_around_kc),
        cmocka_unit_test(simd_sgemm_within_bound_around_mc_and_nc),
        cmocka_unit_test(simd_sgemm_empty_dimensions_and_k_zero),
        cmocka_unit_test(simd_sgemm_all_transposes_alphas_and_betas),
        cmocka_unit_test(simd_sgemm_beta_zero_never_reads_c),
        cmocka_unit_test(simd_sgemm_small_m_within_bound),
        cmocka_unit_test(simd_sgemm_small_m_with_transposed_b_within_bound),
        cmocka_unit_test(simd_sgemm_nan_and_inf_propagate_like_reference),
        cmocka_unit_test(simd_sgemm_alpha_zero_reads_neither_a_nor_b),
        cmocka_unit_test(simd_sgemm_integer_data_is_bit_exact),
        cmocka_unit_test(simd_sgemm_follows_documented_fma_order_bit_for_bit),
        cmocka_unit_test(simd_sgemm_same_bits_for_1_2_and_3_threads),
        cmocka_unit_test(simd_sgemm_single_row_wide_n_follows_fma_order_on_any_thread_count),
        cmocka_unit_test(simd_sgemm_inside_a_user_parallel_region_runs_per_thread),
        cmocka_unit_test(simd_sgemm_row_alone_equals_row_in_batch),
    };
    return nbt_run(tests);
}
