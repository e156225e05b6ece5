/* Winograd backward-filter F(3x3, 4x4) (src/conv_winograd_bwd_filter.c):
 *   - the dy and output transforms of every ISA against their plain-C
 *     twins bit for bit, and the twins against the matrices in double;
 *   - dw of every SIMD table, forced with NABLA_CONV_ALGO=winograd, against
 *     the double oracle within gamma(N T + 21) wmag (conv_oracle.c, from
 *     the transform matrices) and against the reference backend, on tile
 *     edges: P, Q = 1..9, primes, 14, 28; padding 0..4 (beyond the
 *     kernel); C, K in {1, 3, 16, 17, 64}; batches 1, 2, 5;
 *   - the same bits for 1, 2 and 3 threads (a lone image's filters cut in
 *     parts too), and odd (unaligned) pointers;
 *   - NABLA_CONV_ALGO: gemm gives the GEMM path's bits, winograd others;
 *   - NaN and Inf: the non-finite dw of the reference, no more.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv_oracle.h"
#include "harness.h"
#include "internal.h"
#include "kernels_table.h"
#include "ukernel.h"

typedef struct {
    const char *name;
    nb_isa isa;
    int kind;   /* 0 dy transform, 1 output transform */
    void (*fn)(void);
    int lanes;
} wk;

static const wk kernels[] = {
#define NB_UK_WINO_BFDY(fn, lanes) {#fn, NB_UK_ISA, 0, (void (*)(void))fn, lanes},
#define NB_UK_WINO_BFOUT(fn) {#fn, NB_UK_ISA, 1, (void (*)(void))fn, 0},
#include "ukernel_registry.h"
};

static const double AT[4][6] = {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0},
                                {0, 1, -1, 8, -8, 1}};
static const double G[6][3] = {{0.25, 0, 0},           {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                               {-1.0 / 6, 1.0 / 6, -1.0 / 6}, {1.0 / 24, 1.0 / 12, 1.0 / 6},
                               {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1}};

static void same_bits(const char *name, const float *a, const float *b, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof *a) != 0)
            fail_msg("%s: [%lld] %.9g != %.9g", name, (long long)i, (double)a[i], (double)b[i]);
}

static const wk *twin(int kind, int lanes) {
    for (size_t i = 0; i < sizeof kernels / sizeof *kernels; i++)
        if (kernels[i].isa == NB_ISA_REF && kernels[i].kind == kind && kernels[i].lanes == lanes)
            return &kernels[i];
    return NULL;
}

/* The dy twin against A e A^T (A = (A^T)^T) in double: gamma(4) |A||e||A^T|;
   the output twin against G^T m G: gamma(10) |G^T||m||G| (the constants'
   roundings counted). */
static void dy_twin_matches_the_matrices(const float *x, int64_t ld, const int32_t *off,
                                         const float *v, int lanes, int64_t oxi) {
    for (int i = 0; i < lanes; i++)
        for (int e = 0; e < 36; e++) {
            double s = 0, m = 0;
            for (int a = 0; a < 4; a++)
                for (int b = 0; b < 4; b++) {
                    const double t = AT[a][e / 6] * x[off[i] + a * ld + b] * AT[b][e % 6];
                    s += t;
                    m += fabs(t);
                }
            const double got = v[e * oxi + i];
            if (!(fabs(got - s) <= oc_gamma(4, ldexp(1.0, -24)) * m))
                fail_msg("dy twin: lane %d point %d: %.9g vs %.9g", i, e, got, s);
        }
}

static void out_twin_matches_the_matrices(const float *m, int64_t n, int64_t mxi, const float *dw) {
    for (int64_t j = 0; j < n; j++)
        for (int r = 0; r < 3; r++)
            for (int q = 0; q < 3; q++) {
                double s = 0, a = 0;
                for (int e = 0; e < 36; e++) {
                    const double t = G[e / 6][r] * m[e * mxi + j] * G[e % 6][q];
                    s += t;
                    a += fabs(t);
                }
                if (!(fabs(dw[9 * j + 3 * r + q] - s) <= oc_gamma(10, ldexp(1.0, -24)) * a))
                    fail_msg("out twin: %lld (%d, %d): %.9g vs %.9g", (long long)j, r, q,
                             (double)dw[9 * j + 3 * r + q], s);
            }
}

static void transforms_match_their_plain_c_twins(void **state) {
    (void)state;
    for (size_t e = 0; e < sizeof kernels / sizeof *kernels; e++) {
        const wk *k = &kernels[e];
        if (!nb_isa_supported(k->isa)) continue;
        const wk *t = twin(k->kind, k->lanes);
        assert_non_null(t);
        const int64_t ld = 13, plane = 8 * ld + 8, count = 3;
        float *x = malloc((size_t)(count * plane) * sizeof *x);
        float *a = calloc(36 * 64 * 20, sizeof *a), *b = calloc(36 * 64 * 20, sizeof *b);
        assert_true(x && a && b);
        nbt_fill_uniform(x, count * plane, -2, 2);
        if (k->kind == 0) {
            int32_t off[NB_CONV_PLAN_LANES];
            for (int i = 0; i < k->lanes; i++) off[i] = (int32_t)nbt_range(0, 4 * ld + 4);
            const int64_t oxi = count * k->lanes + 3;
            ((nb_wino_bfdy_fn)k->fn)((size_t)count, x, plane, ld, off, a, oxi);
            ((nb_wino_bfdy_fn)t->fn)((size_t)count, x, plane, ld, off, b, oxi);
            same_bits(k->name, a, b, 36 * oxi);
            dy_twin_matches_the_matrices(x, ld, off, b, k->lanes, oxi);
        } else {
            float *m = calloc(36 * 48, sizeof *m);
            assert_non_null(m);
            for (int64_t n = 0; n <= 37; n += n < 3 ? 1 : 17) {
                const int64_t mxi = n + 5;
                float *x = m;
                nbt_fill_uniform(x, 36 * mxi, -3, 3);
                assert_int_equal(((nb_wino_bfout_fn)k->fn)((size_t)n, x, mxi, a), 0);
                assert_int_equal(((nb_wino_bfout_fn)t->fn)((size_t)n, x, mxi, b), 0);
                same_bits(k->name, a, b, 9 * n);
                out_twin_matches_the_matrices(x, n, mxi, b);
                if (n == 0) continue;
                x[7 * mxi + n - 1] = NAN;   /* the last one: flagged */
                assert_int_not_equal(((nb_wino_bfout_fn)k->fn)((size_t)n, x, mxi, a), 0);
                assert_int_equal(((nb_wino_bfout_fn)k->fn)((size_t)n - 1, x, mxi, a), 0);
                x[7 * mxi + n - 1] = -INFINITY;
                assert_int_not_equal(((nb_wino_bfout_fn)k->fn)((size_t)n, x, mxi, a), 0);
            }
            free(m);
        }
        free(x); free(a); free(b);
    }
}

/* ---- whole passes ---- */

static const struct nb_kernels *wino_table(void) {
    const struct nb_kernels *t = nb_kernels_active();
    return t->isa == NB_ISA_REF ? NULL : t;
}

/* dw of t for d (x, dy at an odd float offset when odd) against the oracle
   within the Winograd bound, and against the reference within both bounds. */
static void check_dw(const struct nb_kernels *t, const nb_conv2d_desc *d, int odd) {
    const int64_t nx = oc_numel_x(d), nw = oc_numel_w(d), ny = oc_numel_y(d);
    float *xb = malloc((size_t)(nx + 1) * 4), *dyb = malloc((size_t)(ny + 1) * 4);
    float *dwb = malloc((size_t)(nw + 1) * 4), *ref = malloc((size_t)nw * 4);
    double *xd = malloc((size_t)nx * 8), *dyd = malloc((size_t)ny * 8), *exact = malloc((size_t)nw * 8);
    double *mag = malloc((size_t)nw * 8), *wmag = malloc((size_t)nw * 8);
    assert_true(xb && dyb && dwb && ref && xd && dyd && exact && mag && wmag);
    float *x = xb + odd, *dy = dyb + odd, *dw = dwb + odd;
    nbt_fill_uniform(x, nx, -1, 1);
    nbt_fill_uniform(dy, ny, -1, 1);
    for (int64_t i = 0; i < nx; i++) xd[i] = x[i];
    for (int64_t i = 0; i < ny; i++) dyd[i] = dy[i];
    for (int64_t i = 0; i < nw; i++) dw[i] = NAN;
    assert_int_equal(t->sconv2d_backward_filter(d, x, dy, dw, NULL), NB_OK);
    assert_int_equal(nb_kernels_ref.sconv2d_backward_filter(d, x, dy, ref, NULL), NB_OK);
    const int64_t terms = oc_backward_filter(d, xd, dyd, exact, mag);
    const double gw = oc_winograd_mag(d, 2, xd, dyd, NULL, wmag);
    const double gr = oc_gamma(terms + 2, ldexp(1.0, -24));
    for (int64_t i = 0; i < nw; i++) {
        const double err = fabs((double)dw[i] - exact[i]), bound = gw * wmag[i] * (1 + 1e-12);
        if (!(err <= bound))
            fail_msg("dw[%lld] n%lld c%lld %lldx%lld k%lld pad %lld: %.9g vs exact %.9g, err %.3g > %.3g",
                     (long long)i, (long long)d->n, (long long)d->c, (long long)d->h, (long long)d->w,
                     (long long)d->k, (long long)d->pad_h, (double)dw[i], exact[i], err, bound);
        if (!(fabs((double)dw[i] - (double)ref[i]) <= bound + 2 * gr * mag[i]))
            fail_msg("dw[%lld]: %.9g vs reference %.9g", (long long)i, (double)dw[i], (double)ref[i]);
    }
    free(xb); free(dyb); free(dwb); free(ref); free(xd); free(dyd); free(exact); free(mag); free(wmag);
}

static void edges_paddings_and_channel_counts_within_the_bound(void **state) {
    (void)state;
    const struct nb_kernels *t = wino_table();
    if (!t) skip();
    static const int64_t sizes[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 13, 14, 17, 28};
    static const int64_t chans[] = {1, 3, 16, 17, 64};
    static const int64_t batches[] = {1, 2, 5};
    const int nsz = 14;
    for (int i = 0; i < nsz; i++)
        for (int pad = 0; pad <= 4; pad++) {
            const int64_t h = sizes[i], w = sizes[nbt_range(0, nsz - 1)];
            if (h + 2 * pad < 3 || w + 2 * pad < 3) continue;
            int64_t c = chans[nbt_range(0, 4)], k = chans[nbt_range(0, 4)];
            if (h * w >= 196 && c * k > 17 * 64) c = 3;   /* runtime under qemu */
            const nb_conv2d_desc d = oc_desc(batches[nbt_range(0, 2)], c, h, w, k, 3, 3, 1, 1, pad,
                                             pad, 1, 1, 1);
            check_dw(t, &d, (i + pad) & 1);
        }
    /* Output P, Q = 1..9 exactly (pad 1: P = h), and a P x Q of 1. */
    for (int64_t p = 1; p <= 9; p++) {
        const nb_conv2d_desc d = oc_desc(2, 17, p, 10 - p, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1);
        check_dw(t, &d, 1);
    }
    const nb_conv2d_desc one = oc_desc(5, 3, 3, 3, 17, 3, 3, 1, 1, 0, 0, 1, 1, 1);
    check_dw(t, &one, 0);
}

/* More tiles than a chunk (several GEMM calls per point, beta 1 after the
   first; an image split in blocks, and many images a chunk). */
static void several_chunks_within_the_bound(void **state) {
    (void)state;
    const struct nb_kernels *t = wino_table();
    if (!t) skip();
    const nb_conv2d_desc big = oc_desc(1, 5, 70, 66, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1);   /* 306 tiles */
    check_dw(t, &big, 0);
    const nb_conv2d_desc many = oc_desc(40, 4, 14, 14, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1); /* 16 a image */
    check_dw(t, &many, 1);
    /* One chunk (a lone 14x14 image): the filters in two parts, the second
       ending in a partial lane block. */
    const nb_conv2d_desc parts = oc_desc(1, 20, 14, 14, 100, 3, 3, 1, 1, 1, 1, 1, 1, 1);
    check_dw(t, &parts, 1);
}

static void run_bwf(const struct nb_kernels *t, const nb_conv2d_desc *d, const float *x,
                    const float *dy, float *dw, float *db) {
    assert_int_equal(t->sconv2d_backward_filter(d, x, dy, dw, db), NB_OK);
}

/* 1, 2, 3 threads: the same bits; gemm forced: the GEMM path's bits (the
   winograd ones differ on random data), and auto on a shape worth it. */
static void threads_and_algo_choice(void **state) {
    (void)state;
    const struct nb_kernels *t = wino_table();
    if (!t) skip();
    static const nb_conv2d_desc shapes[] = {
        {3, 17, 13, 11, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1},
        {2, 64, 28, 28, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1},
        {5, 16, 9, 7, 17, 3, 3, 1, 1, 2, 0, 1, 1, 1},
        {1, 128, 14, 14, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1},   /* one chunk, two filter parts */
    };
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const nb_conv2d_desc *d = &shapes[s];
        const int64_t nx = oc_numel_x(d), ny = oc_numel_y(d), nw = oc_numel_w(d);
        float *x = malloc((size_t)nx * 4), *dy = malloc((size_t)ny * 4);
        float *w1 = malloc((size_t)nw * 4), *w2 = malloc((size_t)nw * 4), *g1 = malloc((size_t)nw * 4);
        float *b1 = malloc((size_t)d->k * 4), *b2 = malloc((size_t)d->k * 4);
        assert_true(x && dy && w1 && w2 && g1 && b1 && b2);
        nbt_fill_uniform(x, nx, -1, 1);
        nbt_fill_uniform(dy, ny, -1, 1);
        for (int nt = 1; nt <= 3; nt++) {
            nb_set_num_threads(nt);
            run_bwf(t, d, x, dy, nt == 1 ? w1 : w2, nt == 1 ? b1 : b2);
            if (nt > 1) {
                same_bits("threads dw", w2, w1, nw);
                same_bits("threads dbias", b2, b1, d->k);
            }
        }
        nb_set_num_threads(0);
        setenv("NABLA_CONV_ALGO", "gemm", 1);
        run_bwf(t, d, x, dy, g1, b2);
        same_bits("dbias gemm", b2, b1, d->k);
        int differ = 0;
        for (int64_t i = 0; i < nw; i++) differ |= memcmp(&g1[i], &w1[i], 4) != 0;
        assert_true(differ);   /* Winograd ran when forced */
        setenv("NABLA_CONV_ALGO", "auto", 1);
        run_bwf(t, d, x, dy, w2, NULL);
        if (s == 1 || s == 3) same_bits("auto", w2, w1, nw);   /* Winograd's worth it */
        setenv("NABLA_CONV_ALGO", "winograd", 1);
        free(x); free(dy); free(w1); free(w2); free(g1); free(b1); free(b2);
    }
}

/* A NaN and an Inf in x, then in dy: the dw the reference makes NaN or
   infinite, no others (Winograd would spread them). */
static void nan_and_inf_follow_the_reference(void **state) {
    (void)state;
    const struct nb_kernels *t = wino_table();
    if (!t) skip();
    /* two chunks (through M), and one (a lone 14x14 image: dw straight
       from E and V, fused_outputs) */
    const nb_conv2d_desc ds[2] = {oc_desc(2, 17, 19, 23, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1),
                                  oc_desc(1, 17, 14, 14, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1)};
    for (int sh = 0; sh < 2; sh++) {
    const nb_conv2d_desc d = ds[sh];
    const int64_t nx = oc_numel_x(&d), ny = oc_numel_y(&d), nw = oc_numel_w(&d);
    float *x = malloc((size_t)nx * 4), *dy = malloc((size_t)ny * 4);
    float *o = malloc((size_t)nw * 4), *r = malloc((size_t)nw * 4);
    assert_true(x && dy && o && r);
    for (int which = 0; which < 2; which++) {
        nbt_fill_uniform(x, nx, -1, 1);
        nbt_fill_uniform(dy, ny, -1, 1);
        float *in = which ? dy : x;
        const int64_t nin = which ? ny : nx;
        in[nin / 2 + 7] = NAN;
        in[nin / 5] = INFINITY;
        run_bwf(t, &d, x, dy, o, NULL);
        assert_int_equal(nb_kernels_ref.sconv2d_backward_filter(&d, x, dy, r, NULL), NB_OK);
        const int64_t nonfinite = oc_same_nonfinite("dw", nw, o, r);
        assert_true(nonfinite > 0 && nonfinite < nw);
    }
    free(x); free(dy); free(o); free(r);
    }
}

int main(void) {
    setenv("NABLA_CONV_ALGO", "winograd", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(transforms_match_their_plain_c_twins),
        cmocka_unit_test(edges_paddings_and_channel_counts_within_the_bound),
        cmocka_unit_test(several_chunks_within_the_bound),
        cmocka_unit_test(threads_and_algo_choice),
        cmocka_unit_test(nan_and_inf_follow_the_reference),
    };
    return nbt_run(tests);
}
