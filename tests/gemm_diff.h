/* What the SGEMM differential suites share (tests/test_gemm_diff.c: the
 * error bound; tests/test_gemm_bits.c: the documented FMA order and the
 * bit invariances): the tables under test, guarded buffers, one case and
 * its check against the reference, the evaluation-order emulation. */
#ifndef NBT_GEMM_DIFF_H
#define NBT_GEMM_DIFF_H

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

static inline int simd_tables(const struct nb_kernels *out[NB_ISA_COUNT]) {
    int n = 0;
    for (int isa = NB_ISA_REF + 1; isa < NB_ISA_COUNT; isa++) {
        const struct nb_kernels *t = nb_kernels_for((nb_isa)isa);
        if (t && t->sgemm != nb_kernels_ref.sgemm) out[n++] = t;
    }
    return n;
}

/* The blocking of an ISA's SGEMM (KC fixes the rounding; MC/NC the loops). */
static inline nb_gemm_desc blocking(nb_isa isa) {
    const nb_ukernel_config *cfg = nb_ukernels_for(isa);
    if (cfg) return cfg->gemm;
    nb_gemm_desc d = {0};
    d.mr = 8; d.nr = 12; d.mc = 128; d.kc = 256; d.nc = 4092;
    return d;
}

#define FOR_EACH_SIMD_TABLE(t)                                                  \
    const struct nb_kernels *tabs_[NB_ISA_COUNT];                                          \
    const int ntabs_ = simd_tables(tabs_);                                      \
    if (ntabs_ == 0) skip();                                                    \
    for (int ti_ = 0; ti_ < ntabs_; ti_++)                                      \
        for (const struct nb_kernels *t = tabs_[ti_]; t; t = NULL)

static inline int qemu(void) {
    const char *e = getenv("NABLA_QEMU");
    return e && *e && strcmp(e, "0") != 0;
}

/* ---- guarded, offset buffers ---- */

typedef struct { float *base, *p; } gbuf;

static inline gbuf galloc(size_t n, int guard_before, int off) {
    gbuf g;
    /* Exactly n + off floats (at least one), so with the guard after it the
       last element ends at the guard page and every float stays aligned. */
    const size_t count = n + (size_t)off > 0 ? n + (size_t)off : 1;
    g.base = nbt_alloc_guarded(count * sizeof(float), guard_before);
    assert_non_null(g.base);
    g.p = g.base + off;
    return g;
}
static inline void gfree(gbuf g) { nbt_free_guarded(g.base); }

/* ---- one case ---- */

typedef struct {
    int ta, tb;
    int64_t M, N, K, lda, ldb, ldc;
    float alpha, beta;
} gcase;

enum { DATA_UNIFORM, DATA_INT, DATA_SPECIAL };

static inline double gamma_k(int64_t k) {
    const double u = ldexp(1.0, -24);
    return (double)k * u / (1.0 - (double)k * u);
}

static inline size_t span(int64_t rows, int64_t cols, int64_t ld) {
    return rows && cols ? (size_t)((rows - 1) * ld + cols) : 0;
}

static inline void describe(const gcase *c, char *buf, size_t n) {
    snprintf(buf, n, "ta=%d tb=%d M=%lld N=%lld K=%lld lda=%lld ldb=%lld ldc=%lld alpha=%g beta=%g",
             c->ta, c->tb, (long long)c->M, (long long)c->N, (long long)c->K, (long long)c->lda,
             (long long)c->ldb, (long long)c->ldc, (double)c->alpha, (double)c->beta);
}

/* sum over k of |op(A)[i,k] op(B)[k,j]| in double (before alpha). */
static inline double unscaled_mag(const gcase *c, const float *A, const float *B, int64_t i, int64_t j) {
    double m = 0;
    for (int64_t k = 0; k < c->K; k++)
        m += fabs((double)(c->ta ? A[k * c->lda + i] : A[i * c->lda + k]) *
                  (double)(c->tb ? B[j * c->ldb + k] : B[k * c->ldb + j]));
    return m;
}

/* Runs c on table t and on the reference; checks the bound (or exactness),
   NaN/Inf classes, and that nothing outside the m x n part of C changed. */
static inline void check_case(const struct nb_kernels *t, const gcase *c, int data) {
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

static const float alphas[] __attribute__((unused)) = {1.0f, 0.5f, -2.0f, 0.0f};
static const float betas[] __attribute__((unused)) = {0.0f, 1.0f, -1.5f};

/* Transposes and scalars random (alpha = 0 rarely), leading dimensions
   larger than needed half of the time. */
static inline gcase make_case(int64_t M, int64_t N, int64_t K) {
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

static inline float op_a(const gcase *c, const float *A, int64_t i, int64_t k) {
    return c->ta ? A[k * c->lda + i] : A[i * c->lda + k];
}
static inline float op_b(const gcase *c, const float *B, int64_t k, int64_t j) {
    return c->tb ? B[j * c->ldb + k] : B[k * c->ldb + j];
}

static inline void emulate(const gcase *c, int64_t kc, const float *A, const float *B, float *C) {
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

/* Fills A, B, C for c (dense enough for the largest ld), uniform data. */
typedef struct { float *A, *B, *C; size_t na, nb, nc; } bufs;
static inline bufs make_bufs(const gcase *c) {
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
static inline void free_bufs(bufs b) { free(b.A); free(b.B); free(b.C); }

#endif
