/* Winograd F(4x4, 3x3) (src/conv_winograd.c), forced with
 * NABLA_CONV_ALGO=winograd (set by main: the library reads it per call):
 *   - every SIMD transform of the registry against its plain-C twin, bit
 *     for bit (the contract fixes every operation), and the twins against
 *     the transform matrices in double;
 *   - forward and backward-data of every SIMD table against the double
 *     oracle within the Winograd bound gamma(C + 24) wmag (conv_oracle.c)
 *     on tile edges: H, W = 1..9 and primes, padding 0..4 (beyond the
 *     kernel), C, K in {1, 3, 17, 64};
 *   - the same bits for 1, 2 and 3 threads, and for an image alone as in
 *     its batch;
 *   - NaN and Inf: the non-finite outputs of the reference, no more.
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

/* ---- the transforms against their twins ---- */

typedef struct {
    const char *name;
    nb_isa isa;
    int kind;   /* 0 in, 1 filter, 2 out */
    void (*fn)(void);
    int lanes;
} wk;

static const wk kernels[] = {
#define NB_UK_WINO_IN(fn, lanes) {#fn, NB_UK_ISA, 0, (void (*)(void))fn, lanes},
#define NB_UK_WINO_FILTER(fn) {#fn, NB_UK_ISA, 1, (void (*)(void))fn, 0},
#define NB_UK_WINO_OUT(fn, lanes) {#fn, NB_UK_ISA, 2, (void (*)(void))fn, lanes},
#include "ukernel_registry.h"
};

static const wk *twin(int kind, int lanes) {
    for (size_t i = 0; i < sizeof kernels / sizeof *kernels; i++)
        if (kernels[i].isa == NB_ISA_REF && kernels[i].kind == kind && kernels[i].lanes == lanes)
            return &kernels[i];
    return NULL;
}

static void same_bits(const char *name, const float *a, const float *b, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof *a) != 0)
            fail_msg("%s: [%lld] %.9g != twin %.9g", name, (long long)i, (double)a[i], (double)b[i]);
}

static const double BT[6][6] = {{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
                                {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};

/* The input twin against B^T d B in double: |err| <= gamma(6) |B^T||d||B|. */
static void twin_in_matches_the_matrices(const float *x, int64_t ld, const int32_t *off,
                                         const float *v, int lanes, int64_t vxi) {
    for (int i = 0; i < lanes; i++)
        for (int mu = 0; mu < 6; mu++)
            for (int nu = 0; nu < 6; nu++) {
                double s = 0, m = 0;
                for (int a = 0; a < 6; a++)
                    for (int b = 0; b < 6; b++) {
                        const double t = BT[mu][a] * x[off[i] + a * ld + b] * BT[nu][b];
                        s += t;
                        m += fabs(t);
                    }
                const double got = v[(6 * mu + nu) * vxi + i];
                if (!(fabs(got - s) <= oc_gamma(6, ldexp(1.0, -24)) * m))
                    fail_msg("input twin: lane %d point %d: %.9g vs %.9g", i, 6 * mu + nu, got, s);
            }
}

static void transforms_match_their_plain_c_twins(void **state) {
    (void)state;
    int ran = 0;
    for (size_t e = 0; e < sizeof kernels / sizeof *kernels; e++) {
        const wk *k = &kernels[e];
        if (!nb_isa_supported(k->isa)) continue;
        const wk *t = twin(k->kind, k->lanes);
        assert_non_null(t);
        ran++;
        const int lanes = k->lanes ? k->lanes : 16;
        const int64_t ld = 13, plane = 8 * ld + 8, channels = 3;
        float *x = malloc((size_t)(channels * plane) * sizeof *x);
        float *a = calloc(36 * 64 * 16, sizeof *a), *b = calloc(36 * 64 * 16, sizeof *b);
        assert_non_null(x); assert_non_null(a); assert_non_null(b);
        nbt_fill_uniform(x, channels * plane, -2, 2);
        if (k->kind == 0) {
            int32_t off[NB_CONV_PLAN_LANES];
            for (int i = 0; i < lanes; i++) off[i] = (int32_t)nbt_range(0, 2 * ld + 5);
            const int64_t vxi = channels * lanes + 3;
            ((nb_wino_in_fn)k->fn)((size_t)channels, x, plane, ld, off, a, vxi);
            ((nb_wino_in_fn)t->fn)((size_t)channels, x, plane, ld, off, b, vxi);
            same_bits(k->name, a, b, 36 * vxi);
            twin_in_matches_the_matrices(x, ld, off, b, lanes, vxi);
        } else if (k->kind == 1) {
            /* rot 0: taps forward; 1: reversed, filters backward; 2:
               reversed, filters forward (the driver's backward-data);
               3: taps at stride 2 (not contiguous) */
            static const int gs[4] = {9, -9, 9, 19}, ts[4] = {1, -1, -1, 2};
            for (int n = 1; n <= 17; n++)
                for (int rot = 0; rot < 4; rot++) {
                    const float *g = rot == 1 ? x + 8 + 9 * (n - 1) : rot == 2 ? x + 8 : x;   /* inside x */
                    memset(a, 0, 36 * 20 * sizeof *a);
                    memset(b, 0, 36 * 20 * sizeof *b);
                    ((nb_wino_filter_fn)k->fn)((size_t)n, g, gs[rot], ts[rot], a, 20);
                    ((nb_wino_filter_fn)t->fn)((size_t)n, g, gs[rot], ts[rot], b, 20);
                    same_bits(k->name, a, b, 36 * 20);
                }
        } else {
            float *m = a, *oa = b, ob[16 * 16];
            nbt_fill_uniform(m, 36 * lanes, -3, 3);
            for (int live = 0; live <= lanes; live += lanes / 2) {
                const int ra = ((nb_wino_out_fn)k->fn)((size_t)live, m, lanes, 0.5f, oa);
                const int rb = ((nb_wino_out_fn)t->fn)((size_t)live, m, lanes, 0.5f, ob);
                same_bits(k->name, oa, ob, 16 * lanes);
                assert_int_equal(ra != 0, rb != 0);
                assert_int_equal(ra, 0);
            }
            m[7 * lanes + lanes - 1] = NAN;   /* the last lane: flagged when live */
            assert_int_equal(((nb_wino_out_fn)k->fn)((size_t)lanes - 1, m, lanes, 0.0f, oa) != 0, 0);
            assert_int_not_equal(((nb_wino_out_fn)k->fn)((size_t)lanes, m, lanes, 0.0f, oa), 0);
            m[7 * lanes + lanes - 1] = INFINITY;
            assert_int_not_equal(((nb_wino_out_fn)k->fn)((size_t)lanes, m, lanes, 0.0f, oa), 0);
        }
        free(x); free(a); free(b);
    }
    if (!ran) skip();
}

/* ---- whole passes ---- */

static const struct nb_kernels *wino_table(void) {
    const struct nb_kernels *t = nb_kernels_active();
    return t->isa == NB_ISA_REF ? NULL : t;
}

/* y (forward) or dx (bwd) of t for desc d against the oracle and ref. */
static void check_pass(const struct nb_kernels *t, const nb_conv2d_desc *d, int bwd, int with_bias) {
    const int64_t nx = oc_numel_x(d), nw = oc_numel_w(d), ny = oc_numel_y(d);
    const int64_t nin = bwd ? ny : nx, nout = bwd ? nx : ny;
    float *in = malloc((size_t)nin * 4), *w = malloc((size_t)nw * 4), *b = malloc((size_t)d->k * 4);
    float *out = malloc((size_t)nout * 4), *ref = malloc((size_t)nout * 4);
    double *ind = malloc((size_t)nin * 8), *wd = malloc((size_t)nw * 8), *bd = malloc((size_t)d->k * 8);
    double *exact = malloc((size_t)nout * 8), *mag = malloc((size_t)nout * 8), *got = malloc((size_t)nout * 8);
    assert_true(in && w && b && out && ref && ind && wd && bd && exact && mag && got);
    nbt_fill_uniform(in, nin, -1, 1); nbt_fill_uniform(w, nw, -1, 1); nbt_fill_uniform(b, d->k, -1, 1);
    for (int64_t i = 0; i < nin; i++) ind[i] = in[i];
    for (int64_t i = 0; i < nw; i++) wd[i] = w[i];
    for (int64_t i = 0; i < d->k; i++) bd[i] = b[i];
    for (int64_t i = 0; i < nout; i++) out[i] = NAN;
    const float *bias = with_bias ? b : NULL;
    int64_t terms;
    if (bwd) {
        assert_int_equal(t->sconv2d_backward_data(d, in, w, out), NB_OK);
        terms = oc_backward_data(d, ind, wd, exact, mag);
    } else {
        assert_int_equal(t->sconv2d_forward(d, in, w, bias, out), NB_OK);
        terms = oc_forward(d, ind, wd, with_bias ? bd : NULL, exact, mag);
    }
    oc_winograd_widen(d, bwd, ind, wd, with_bias ? bd : NULL, terms, mag);
    for (int64_t i = 0; i < nout; i++) got[i] = out[i];
    oc_check(bwd ? "dx" : "y", d, nout, got, exact, mag,
             oc_gamma(terms + 2, ldexp(1.0, -24)) + oc_gamma(terms + 2, ldexp(1.0, -53)));
    free(in); free(w); free(b); free(out); free(ref); free(ind); free(wd); free(bd);
    free(exact); free(mag); free(got);
}

static void edges_paddings_and_channel_counts_within_the_bound(void **state) {
    (void)state;
    const struct nb_kernels *t = wino_table();
    if (!t) skip();
    static const int64_t sizes[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 13, 17};
    static const int64_t chans[] = {1, 3, 17, 64};
    const int nsz = 12;
    for (int i = 0; i < nsz; i++)
        for (int pad = 0; pad <= 4; pad++) {
            const int64_t h = sizes[i], w = sizes[nbt_range(0, nsz - 1)];
            if (h + 2 * pad < 3 || w + 2 * pad < 3) continue;
            const int64_t c = chans[nbt_range(0, 3)], k = chans[nbt_range(0, 3)];
            const nb_conv2d_desc d = oc_desc(nbt_range(1, 2), c, h, w, k, 3, 3, 1, 1, pad, pad, 1, 1, 1);
            check_pass(t, &d, 0, pad & 1);
            check_pass(t, &d, 1, 0);
        }
}

/* More channels than a KC block (several GEMM blocks per point, beta 1
   after the first), on a batch-1 image of few tiles (the filter transform
   fused into the task) and on a batch (transformed once). */
static void several_kc_blocks_within_the_bound(void **state) {
    (void)state;
    const struct nb_kernels *t = wino_table();
    if (!t) skip();
    for (int64_t n = 1; n <= 2; n++) {
        const nb_conv2d_desc d = oc_desc(n, 400, 9, 10, 30, 3, 3, 1, 1, 1, 1, 1, 1, 1);
        check_pass(t, &d, 0, 1);
        const nb_conv2d_desc b = oc_desc(n, 30, 9, 10, 400, 3, 3, 1, 1, 1, 1, 1, 1, 1);
        check_pass(t, &b, 1, 0);
    }
}

/* 1, 2, 3 threads and each image alone: the same bits. An image alone of
   few tiles runs the fused filter panels (conv_winograd.c, gemm_fused: on
   AVX-512 the 16-row tile, not the batch's 14-row one), so filter counts
   around 16 and 14 panels (15, 17, 33, 47) check its edges, alone and
   split by filter rows over 2 and 3 threads. Images of more tiles than
   one L2 block (56x56 c64: blocks of 7 panels of 13; 62x62 c40 k24: 14
   of 16) are cut into blocks that split evenly over the threads, each
   thread on the fused filter panels when it has one whole block: their
   leftover panel split by filter rows (14 or 16 rows a part), and the
   filter edge at 24. */
static void threads_and_batch_do_not_change_the_bits(void **state) {
    (void)state;
    const struct nb_kernels *t = wino_table();
    if (!t) skip();
    static const nb_conv2d_desc shapes[] = {
        {3, 17, 13, 11, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1},
        {2, 64, 28, 28, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1},
        {1, 64, 9, 7, 17, 3, 3, 1, 1, 2, 0, 1, 1, 1},
        {2, 20, 6, 6, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1},
        {2, 31, 5, 9, 47, 3, 3, 1, 1, 1, 1, 1, 1, 1},
        {3, 15, 8, 8, 15, 3, 3, 1, 1, 0, 0, 1, 1, 1},
        {1, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1},
        {1, 40, 62, 62, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int bwd = 0; bwd < 2; bwd++) {
            const nb_conv2d_desc *d = &shapes[s];
            const int64_t nin = bwd ? oc_numel_y(d) : oc_numel_x(d), nout = bwd ? oc_numel_x(d) : oc_numel_y(d);
            const int64_t nw = oc_numel_w(d);
            float *in = malloc((size_t)nin * 4), *w = malloc((size_t)nw * 4), *b = malloc((size_t)d->k * 4);
            float *o1 = malloc((size_t)nout * 4), *o2 = malloc((size_t)nout * 4);
            assert_true(in && w && b && o1 && o2);
            nbt_fill_uniform(in, nin, -1, 1); nbt_fill_uniform(w, nw, -1, 1); nbt_fill_uniform(b, d->k, -1, 1);
            for (int nt = 1; nt <= 3; nt++) {
                nb_set_num_threads(nt);
                float *o = nt == 1 ? o1 : o2;
                if (bwd) assert_int_equal(t->sconv2d_backward_data(d, in, w, o), NB_OK);
                else assert_int_equal(t->sconv2d_forward(d, in, w, b, o), NB_OK);
                if (nt > 1) same_bits("threads", o2, o1, nout);
                /* each image alone, on this thread count */
                nb_conv2d_desc one = *d;
                one.n = 1;
                const int64_t is = nin / d->n, os = nout / d->n;
                for (int64_t n = 0; n < d->n; n++) {
                    if (bwd) assert_int_equal(t->sconv2d_backward_data(&one, in + n * is, w, o2), NB_OK);
                    else assert_int_equal(t->sconv2d_forward(&one, in + n * is, w, b, o2), NB_OK);
                    same_bits("alone", o2, o1 + n * os, os);
                }
            }
            nb_set_num_threads(0);
            free(in); free(w); free(b); free(o1); free(o2);
        }
}

/* A NaN and an Inf in x, or in dy: the outputs the reference makes NaN or
   infinite, no others (Winograd would spread them over whole tiles); in a
   batch and in an image alone (the fused filter panels). */
static void nan_and_inf_follow_the_reference(void **state) {
    (void)state;
    const struct nb_kernels *t = wino_table();
    if (!t) skip();
    for (int v = 0; v < 4; v++) {
        const int bwd = v & 1;   /* v >= 2: the image alone */
        const nb_conv2d_desc d = oc_desc(v < 2 ? 2 : 1, 17, 19, 23, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1);
        const int64_t nin = bwd ? oc_numel_y(&d) : oc_numel_x(&d), nout = bwd ? oc_numel_x(&d) : oc_numel_y(&d);
        const int64_t nw = oc_numel_w(&d);
        float *in = malloc((size_t)nin * 4), *w = malloc((size_t)nw * 4);
        float *o = malloc((size_t)nout * 4), *r = malloc((size_t)nout * 4);
        assert_true(in && w && o && r);
        nbt_fill_uniform(in, nin, -1, 1); nbt_fill_uniform(w, nw, -1, 1);
        in[nin / 2 + 7] = NAN;          /* image 1 (0 alone) */
        in[nin / 5] = INFINITY;         /* image 0 */
        if (bwd) {
            assert_int_equal(t->sconv2d_backward_data(&d, in, w, o), NB_OK);
            assert_int_equal(nb_kernels_ref.sconv2d_backward_data(&d, in, w, r), NB_OK);
        } else {
            assert_int_equal(t->sconv2d_forward(&d, in, w, NULL, o), NB_OK);
            assert_int_equal(nb_kernels_ref.sconv2d_forward(&d, in, w, NULL, r), NB_OK);
        }
        assert_true(oc_same_nonfinite(bwd ? "dx" : "y", nout, o, r) > 0);
        free(in); free(w); free(o); free(r);
    }
}

int main(void) {
    setenv("NABLA_CONV_ALGO", "winograd", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(transforms_match_their_plain_c_twins),
        cmocka_unit_test(edges_paddings_and_channel_counts_within_the_bound),
        cmocka_unit_test(several_kc_blocks_within_the_bound),
        cmocka_unit_test(threads_and_batch_do_not_change_the_bits),
        cmocka_unit_test(nan_and_inf_follow_the_reference),
    };
    return nbt_run(tests);
}
