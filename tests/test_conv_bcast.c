/* The broadcast-orientation direct forward convolution (src/conv_bcast.c,
 * the ISAs' nb_conv_desc.bcast tiles).
 *
 * NABLA_CONV_BCAST=1 sends every shape the path can take to it (each case
 * first checks that it does; NABLA_CONV_PATH=bcast, read once, does the
 * same: the suite runs again with it), on every SIMD table that has the tile:
 * random shapes and listed ones for the tile's edges (a row's first and
 * last tiles in the padding, a tail tile of fewer pixels, Q = 1, prime
 * and odd sizes, filter counts that leave a partial block, 0 / 1 / 2 /
 * 3 padding, strides 1 and 2 each way, dilation, the 7x7 stem's window).
 * Per shape: y against the reference and the double-precision oracle
 * within the bound (bit for bit with integer data), with and without
 * bias; x in a guarded buffer (a PROT_NONE page right after it, then
 * right before it: no tile or pad copy reads outside the image); y
 * NaN-filled first (every element written); the same bits on 1, 2 and 3
 * threads; an image alone gets its in-batch bits; AVX-512 gives the AVX2
 * bits; NaN and Inf in x and in w give the reference's non-finite
 * pattern, a non-finite filter value included where it meets the
 * padding (0 w, as the reference multiplies it).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv_internal.h"
#include "conv_oracle.h"
#include "gemm_diff.h"   /* FOR_EACH_SIMD_TABLE */
#include "ref.h"

static const nb_conv2d_desc shapes[] = {
    //  n   c   h   w   k  r  s sh sw ph pw dh dw g
    {1, 32, 28, 28, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1},   /* the bench layer's shape, small */
    {2, 7, 13, 17, 37, 3, 3, 2, 2, 1, 1, 1, 1, 1},    /* Q 9: one tile, both edges; K 37 */
    {1, 5, 31, 61, 19, 3, 3, 2, 2, 0, 0, 1, 1, 1},    /* no padding, a tail tile of 2 */
    {1, 6, 9, 9, 33, 3, 3, 2, 2, 2, 2, 1, 1, 1},      /* padding 2 */
    {1, 6, 10, 12, 20, 3, 3, 2, 2, 3, 3, 1, 1, 1},    /* padding past the kernel: zero rows */
    {3, 9, 11, 3, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1},     /* W 3 */
    {1, 5, 7, 1, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1},      /* Q 1 */
    {1, 3, 37, 41, 24, 7, 7, 2, 2, 3, 3, 1, 1, 1},    /* the stem's window */
    {1, 8, 19, 23, 29, 5, 5, 1, 1, 2, 2, 1, 1, 1},    /* 5x5 stride 1 */
    {1, 6, 15, 16, 20, 3, 3, 1, 1, 2, 2, 2, 2, 1},    /* dilation 2 */
    {1, 6, 14, 29, 18, 3, 3, 1, 2, 1, 1, 1, 1, 1},    /* stride 1 x 2 */
    {1, 6, 29, 14, 18, 3, 3, 2, 1, 1, 1, 1, 1, 1},    /* stride 2 x 1 */
    {1, 11, 23, 29, 13, 3, 3, 2, 2, 1, 1, 1, 1, 1},   /* primes */
    {2, 64, 30, 30, 48, 3, 3, 2, 2, 1, 1, 1, 1, 1},   /* more channels, 2 images */
    {1, 4, 16, 45, 16, 1, 3, 1, 2, 0, 1, 1, 1, 1},    /* 1 x 3 window */
};
#define NSHAPES ((int)(sizeof shapes / sizeof shapes[0]))
#define NRANDOM 24

/* The table's ISA: its ukernel config (the tile under test). */
static const nb_conv_desc *conv_of(const struct nb_kernels *t) {
    for (int isa = NB_ISA_REF + 1; isa < NB_ISA_COUNT; isa++)
        if (nb_kernels_for((nb_isa)isa) == t) {
            const nb_ukernel_config *cfg = nb_ukernels_for((nb_isa)isa);
            return cfg ? &cfg->conv : NULL;
        }
    return NULL;
}

/* A random shape the path takes (forced) on every table with a tile. */
static nb_conv2d_desc random_shape(void) {
    for (;;) {
        nb_conv2d_desc d = {nbt_range(1, 2), nbt_range(1, 12), nbt_range(1, 21), nbt_range(1, 33),
                            nbt_range(1, 40), nbt_range(1, 5), nbt_range(1, 5), nbt_range(1, 2),
                            nbt_range(1, 2), nbt_range(0, 2), nbt_range(0, 2), nbt_range(1, 2),
                            nbt_range(1, 2), 1};
        int64_t P, Q;
        if (nb_conv2d_out_shape(&d, &P, &Q) != NB_OK || P < 1 || Q < 1) continue;
        const nb_conv_geom g = nb_conv_geom_of(&d);
        if (g.pointwise) continue;
        return d;
    }
}

/* The shapes of the run: the list, then NRANDOM random ones. */
static nb_conv2d_desc shape_at(int i) {
    return i < NSHAPES ? shapes[i] : random_shape();
}

/* 1 when table t's forward pass sends d to the broadcast path. */
static int takes_bcast(const struct nb_kernels *t, const nb_conv2d_desc *d) {
    const nb_conv_desc *cd = conv_of(t);
    if (!cd || !cd->bcast.fn) return 0;
    const nb_conv_geom g = nb_conv_geom_of(d);
    return nb_conv_use_bcast(cd, d, &g);
}

static void force(void) {
    setenv("NABLA_CONV_BCAST", "1", 1);
    setenv("NABLA_CONV_ALGO", "gemm", 1);   /* not Winograd */
}
static void unforce(void) {
    unsetenv("NABLA_CONV_BCAST");
    unsetenv("NABLA_CONV_ALGO");
}

/* The inputs of d (x, w and a bias, uniform in [-1, 1]) and two
   NaN-filled outputs of na and nb floats (every element must be written). */
typedef struct {
    float *x, *w, *b, *ya, *yb;
} bcast_case;

static bcast_case bcast_case_of(const nb_conv2d_desc *d, int64_t na, int64_t nb) {
    const int64_t nx = oc_numel_x(d), nw = oc_numel_w(d);
    bcast_case c = {nbt_alloc_floats(nx), nbt_alloc_floats(nw), nbt_alloc_floats(d->k),
                 nbt_nan_floats(na), nbt_nan_floats(nb)};
    nbt_fill_uniform(c.x, nx, -1, 1);
    nbt_fill_uniform(c.w, nw, -1, 1);
    nbt_fill_uniform(c.b, d->k, -1, 1);
    return c;
}

static void bcast_case_free(bcast_case *c) {
    free(c->x); free(c->w); free(c->b); free(c->ya); free(c->yb);
}

/* y of table t (x in a guarded buffer, guard after or before) against the
   reference and the oracle; int_data: bit for bit. */
static void check_forward(const struct nb_kernels *t, const nb_conv2d_desc *d, int int_data,
                          int with_bias, int guard_before) {
    const int64_t nx = oc_numel_x(d), nw = oc_numel_w(d), ny = oc_numel_y(d);
    float *x = nbt_alloc_guarded((size_t)nx * sizeof(float), guard_before);
    float *w = nbt_alloc_floats(nw), *b = nbt_alloc_floats(d->k), *y = nbt_nan_floats(ny), *ry = nbt_nan_floats(ny);
    if (int_data) {
        nbt_fill_int(x, nx, 3);
        nbt_fill_int(w, nw, 3);
        nbt_fill_int(b, d->k, 3);
    } else {
        nbt_fill_uniform(x, nx, -1, 1);
        nbt_fill_uniform(w, nw, -1, 1);
        nbt_fill_uniform(b, d->k, -1, 1);
    }
    const float *bias = with_bias ? b : NULL;
    assert_int_equal(t->sconv2d_forward(d, x, w, bias, y), NB_OK);
    assert_int_equal(nb_kernels_ref.sconv2d_forward(d, x, w, bias, ry), NB_OK);
    if (int_data) {
        assert_memory_equal(y, ry, (size_t)ny * sizeof(float));
    } else {
        double *xd = malloc((size_t)nx * sizeof(double)), *wd = malloc((size_t)nw * sizeof(double));
        double *bd = malloc((size_t)d->k * sizeof(double));
        double *exact = malloc((size_t)ny * sizeof(double)), *mag = malloc((size_t)ny * sizeof(double));
        double *got = malloc((size_t)ny * sizeof(double));
        assert_non_null(xd); assert_non_null(wd); assert_non_null(bd); assert_non_null(exact);
        assert_non_null(mag); assert_non_null(got);
        for (int64_t i = 0; i < nx; i++) xd[i] = x[i];
        for (int64_t i = 0; i < nw; i++) wd[i] = w[i];
        for (int64_t i = 0; i < d->k; i++) bd[i] = b[i];
        for (int64_t i = 0; i < ny; i++) got[i] = y[i];
        const int64_t terms = oc_forward(d, xd, wd, with_bias ? bd : NULL, exact, mag);
        const double gf = oc_gamma(terms + 2, ldexp(1.0, -24));
        oc_check("y", d, ny, got, exact, mag, gf + oc_gamma(terms + 2, ldexp(1.0, -53)));
        for (int64_t i = 0; i < ny; i++) {
            const double diff = fabs((double)y[i] - (double)ry[i]);
            if (!(diff <= 2 * gf * mag[i]))
                fail_msg("y[%lld]: simd %.9g vs ref %.9g differ by %.3g > %.3g", (long long)i,
                         (double)y[i], (double)ry[i], diff, 2 * gf * mag[i]);
        }
        free(xd); free(wd); free(bd); free(exact); free(mag); free(got);
    }
    nbt_free_guarded(x);
    free(w); free(b); free(y); free(ry);
}

static void bcast_matches_reference_and_oracle(void **state) {
    (void)state;
    force();
    FOR_EACH_SIMD_TABLE(t) {
        if (!conv_of(t) || !conv_of(t)->bcast.fn) continue;
        for (int i = 0; i < NSHAPES + NRANDOM; i++) {
            const nb_conv2d_desc d = shape_at(i);
            if (!takes_bcast(t, &d)) {
                unforce();
                fail_msg("shape %d does not take the broadcast path", i);
            }
            check_forward(t, &d, 0, i % 2, i % 3 == 0);
            check_forward(t, &d, 0, 1 - i % 2, i % 3 != 0);
        }
    }
    unforce();
}

static void bcast_is_bit_exact_with_integer_data(void **state) {
    (void)state;
    force();
    FOR_EACH_SIMD_TABLE(t) {
        if (!conv_of(t) || !conv_of(t)->bcast.fn) continue;
        for (int i = 0; i < NSHAPES + NRANDOM; i++) {
            const nb_conv2d_desc d = shape_at(i);
            check_forward(t, &d, 1, 1, i % 2);
        }
    }
    unforce();
}

static void thread_count_does_not_change_the_bits(void **state) {
    (void)state;
    force();
    FOR_EACH_SIMD_TABLE(t) {
        if (!conv_of(t) || !conv_of(t)->bcast.fn) continue;
        for (int i = 0; i < NSHAPES + 8; i++) {
            const nb_conv2d_desc d = shape_at(i);
            const int64_t ny = oc_numel_y(&d);
            bcast_case c = bcast_case_of(&d, ny, ny);
            nb_set_num_threads(1);
            assert_int_equal(t->sconv2d_forward(&d, c.x, c.w, c.b, c.ya), NB_OK);
            for (int nt = 2; nt <= 3; nt++) {
                nb_set_num_threads(nt);
                assert_int_equal(t->sconv2d_forward(&d, c.x, c.w, c.b, c.yb), NB_OK);
                assert_memory_equal(c.yb, c.ya, (size_t)ny * sizeof(float));
            }
            nb_set_num_threads(0);
            bcast_case_free(&c);
        }
    }
    unforce();
}

static void one_image_alone_gives_the_bits_it_gets_in_a_batch(void **state) {
    (void)state;
    force();
    FOR_EACH_SIMD_TABLE(t) {
        if (!conv_of(t) || !conv_of(t)->bcast.fn) continue;
        for (int i = 0; i < NSHAPES + 8; i++) {
            nb_conv2d_desc d = shape_at(i);
            d.n = 3;
            nb_conv2d_desc one = d;
            one.n = 1;
            const int64_t ny = oc_numel_y(&d);
            const int64_t ix = oc_numel_x(&d) / d.n, iy = ny / d.n;
            bcast_case c = bcast_case_of(&d, ny, iy);
            nb_set_num_threads((int)nbt_range(1, 3));
            assert_int_equal(t->sconv2d_forward(&d, c.x, c.w, c.b, c.ya), NB_OK);
            nb_set_num_threads((int)nbt_range(1, 3));
            for (int64_t n = 0; n < d.n; n++) {
                assert_int_equal(t->sconv2d_forward(&one, c.x + n * ix, c.w, c.b, c.yb), NB_OK);
                assert_memory_equal(c.yb, c.ya + n * iy, (size_t)iy * sizeof(float));
            }
            nb_set_num_threads(0);
            bcast_case_free(&c);
        }
    }
    unforce();
}

/* Both tiles run one FMA chain per output in the same tap order, then the
   bias: the same bits whatever their MP and NF. */
static void avx512_gives_the_avx2_bits(void **state) {
    (void)state;
    const struct nb_kernels *a2 = nb_kernels_for(NB_ISA_AVX2), *a5 = nb_kernels_for(NB_ISA_AVX512);
    if (!a2 || !a5 || !conv_of(a2) || !conv_of(a2)->bcast.fn || !conv_of(a5)->bcast.fn) {
        skip();
        return;
    }
    force();
    for (int i = 0; i < NSHAPES + NRANDOM; i++) {
        const nb_conv2d_desc d = shape_at(i);
        const int64_t ny = oc_numel_y(&d);
        bcast_case c = bcast_case_of(&d, ny, ny);
        assert_true(takes_bcast(a2, &d) && takes_bcast(a5, &d));
        assert_int_equal(a2->sconv2d_forward(&d, c.x, c.w, c.b, c.ya), NB_OK);
        assert_int_equal(a5->sconv2d_forward(&d, c.x, c.w, c.b, c.yb), NB_OK);
        assert_memory_equal(c.yb, c.ya, (size_t)ny * sizeof(float));
        bcast_case_free(&c);
    }
    unforce();
}

/* NaN and Inf in x, then in w (one value each, at the first tap of a
   filter, which meets the top padding on output row 0: 0 * Inf is NaN
   there in the reference, and the path must not skip that tap): the
   reference's pattern of non-finite outputs. */
static void nan_and_inf_propagate_as_in_the_reference(void **state) {
    (void)state;
    force();
    const float bad[2] = {NAN, INFINITY};
    FOR_EACH_SIMD_TABLE(t) {
        if (!conv_of(t) || !conv_of(t)->bcast.fn) continue;
        for (int i = 0; i < NSHAPES; i++) {
            const nb_conv2d_desc d = shapes[i];
            const int64_t nx = oc_numel_x(&d), nw = oc_numel_w(&d), ny = oc_numel_y(&d);
            for (int where = 0; where < 2; where++)
                for (int v = 0; v < 2; v++) {
                    float *x = nbt_alloc_floats(nx), *w = nbt_alloc_floats(nw);
                    float *y = nbt_nan_floats(ny), *ry = nbt_nan_floats(ny);
                    nbt_fill_uniform(x, nx, -1, 1);
                    nbt_fill_uniform(w, nw, -1, 1);
                    if (where == 0) {
                        x[nbt_range(0, nx - 1)] = bad[v];
                        x[0] = bad[1 - v];   /* the image's corner: the edge tiles */
                    } else {
                        w[nbt_range(0, d.k - 1) * (nw / d.k)] = bad[v];
                    }
                    assert_int_equal(t->sconv2d_forward(&d, x, w, NULL, y), NB_OK);
                    assert_int_equal(nb_kernels_ref.sconv2d_forward(&d, x, w, NULL, ry), NB_OK);
                    const int64_t nonfinite = oc_same_nonfinite("y", ny, y, ry);
                    assert_true(nonfinite > 0);
                    free(x); free(w); free(y); free(ry);
                }
        }
    }
    unforce();
}

/* By shape (NABLA_CONV_BCAST unset) the bench layer takes the path on a
   table with the tile, a 5x5 stride-1 layer does not, and a grouped layer
   never does. */
static void the_path_is_chosen_by_shape(void **state) {
    (void)state;
    unforce();
    const nb_conv2d_desc bench = {1, 128, 56, 56, 128, 3, 3, 2, 2, 1, 1, 1, 1, 1};
    const nb_conv2d_desc grouped = {1, 128, 56, 56, 128, 3, 3, 2, 2, 1, 1, 1, 1, 2};
    FOR_EACH_SIMD_TABLE(t) {
        if (!conv_of(t) || !conv_of(t)->bcast.fn) continue;
        if (!nb_conv_implicit_forced()) assert_true(takes_bcast(t, &bench));
        if (!nb_conv_bcast_forced()) assert_false(takes_bcast(t, &shapes[8]));   /* 5x5 stride 1 */
        assert_false(takes_bcast(t, &grouped));
    }
}

/* NABLA_CONV_PATH=bcast (read once: tests/meson.build runs this suite
   with it as conv_bcast_path) sends every listed shape to the path with
   NABLA_CONV_BCAST unset, the stride-1 and 5x5 ones included. */
static void conv_path_bcast_forces_the_path(void **state) {
    (void)state;
    const char *e = getenv("NABLA_CONV_PATH");
    if (!e || strcmp(e, "bcast") != 0) {
        skip();
        return;
    }
    unforce();
    FOR_EACH_SIMD_TABLE(t) {
        if (!conv_of(t) || !conv_of(t)->bcast.fn) continue;
        for (int i = 0; i < NSHAPES; i++) assert_true(takes_bcast(t, &shapes[i]));
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bcast_matches_reference_and_oracle),
        cmocka_unit_test(bcast_is_bit_exact_with_integer_data),
        cmocka_unit_test(thread_count_does_not_change_the_bits),
        cmocka_unit_test(one_image_alone_gives_the_bits_it_gets_in_a_batch),
        cmocka_unit_test(avx512_gives_the_avx2_bits),
        cmocka_unit_test(nan_and_inf_propagate_as_in_the_reference),
        cmocka_unit_test(the_path_is_chosen_by_shape),
        cmocka_unit_test(conv_path_bcast_forces_the_path),
    };
    return nbt_run(tests);
}
