/* nb_sconv2d_forward / _backward_data / _backward_filter against the direct
 * double-precision definition (tests/conv_oracle.c).
 *
 * Runs on whichever backend is active (the suite is registered under
 * NABLA_ISA=ref and =auto). Bound per output element, with L the number of
 * terms of its sum (C/groups R S (+1 bias) forward, K/groups R S backward-
 * data, N P Q backward-filter and dbias):
 *   |got - exact| <= (gamma_f(L + 2) + gamma_d(L + 2)) sum |terms|,
 * gamma_f with u = 2^-24 for the float result, gamma_d (u = 2^-53) for the
 * oracle's own rounding. Buffers are guarded (an over-write past the end
 * faults), start 0..7 floats past an alignment boundary, and outputs are
 * NaN-filled first (every element must be written, none accumulated).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conv_oracle.h"
#include "harness.h"

#define SENTINEL (-7777.0f)

/* A guarded float buffer whose data starts `off` floats into the mapping;
   the `off` floats before it hold SENTINEL, so an under-write is caught. */
typedef struct {
    float *base, *p;
    int64_t n;
    int off;
} gbuf;

static gbuf gb_alloc(int64_t n) {
    gbuf b = {NULL, NULL, n, (int)nbt_range(0, 7)};
    b.base = nbt_alloc_guarded((size_t)(n + b.off) * sizeof(float), 0);
    assert_non_null(b.base);
    for (int i = 0; i < b.off; i++) b.base[i] = SENTINEL;
    b.p = b.base + b.off;
    return b;
}

static void gb_free(gbuf *b) {
    for (int i = 0; i < b->off; i++) assert_true(b->base[i] == SENTINEL);
    nbt_free_guarded(b->base);
}

static double *to_double(const float *p, int64_t n) {
    double *d = malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
    assert_non_null(d);
    for (int64_t i = 0; i < n; i++) d[i] = p[i];
    return d;
}

static void fill(float *p, int64_t n, int int_data) {
    if (int_data) nbt_fill_int(p, n, 3);
    else nbt_fill_uniform(p, n, -1, 1);
}

static void fill_nan(float *p, int64_t n) {
    for (int64_t i = 0; i < n; i++) p[i] = NAN;
}

static double tol_factor(int64_t terms, int int_data) {
    return int_data ? 0.0 : oc_gamma(terms + 2, ldexp(1.0, -24)) + oc_gamma(terms + 2, ldexp(1.0, -53));
}

/* Forward, backward-data and backward-filter of one desc against the oracle. */
static void run_case(const nb_conv2d_desc *d, int with_bias, int with_dbias, int int_data) {
    int64_t P, Q;
    oc_out_shape(d, &P, &Q);
    int64_t p_got = -1, q_got = -1;
    assert_int_equal(nb_conv2d_out_shape(d, &p_got, &q_got), NB_OK);
    assert_int_equal(p_got, P);
    assert_int_equal(q_got, Q);
    const int64_t nx = oc_numel_x(d), nw = oc_numel_w(d), ny = oc_numel_y(d), nk = d->k;

    gbuf x = gb_alloc(nx), w = gb_alloc(nw), bias = gb_alloc(nk), dy = gb_alloc(ny);
    gbuf y = gb_alloc(ny), dx = gb_alloc(nx), dw = gb_alloc(nw), dbias = gb_alloc(nk);
    fill(x.p, nx, int_data); fill(w.p, nw, int_data); fill(bias.p, nk, int_data); fill(dy.p, ny, int_data);
    fill_nan(y.p, ny); fill_nan(dx.p, nx); fill_nan(dw.p, nw); fill_nan(dbias.p, nk);

    double *xd = to_double(x.p, nx), *wd = to_double(w.p, nw), *bd = to_double(bias.p, nk);
    double *dyd = to_double(dy.p, ny);
    const int64_t most = nx > nw ? (nx > ny ? nx : ny) : (nw > ny ? nw : ny);
    double *exact = malloc((size_t)(most + nk + 1) * sizeof(double));
    double *mag = malloc((size_t)(most + nk + 1) * sizeof(double));
    assert_non_null(exact); assert_non_null(mag);

    assert_int_equal(nb_sconv2d_forward(d, x.p, w.p, with_bias ? bias.p : NULL, y.p), NB_OK);
    int64_t terms = oc_forward(d, xd, wd, with_bias ? bd : NULL, exact, mag);
    /* Winograd (its transforms round integers too): its bound, never exact. */
    oc_winograd_widen(d, 0, xd, wd, with_bias ? bd : NULL, terms, mag);
    double *got = to_double(y.p, ny);
    oc_check("y", d, ny, got, exact, mag, tol_factor(terms, int_data && !oc_winograd_eligible(d, 0)));
    free(got);

    assert_int_equal(nb_sconv2d_backward_data(d, dy.p, w.p, dx.p), NB_OK);
    terms = oc_backward_data(d, dyd, wd, exact, mag);
    oc_winograd_widen(d, 1, dyd, wd, NULL, terms, mag);
    got = to_double(dx.p, nx);
    oc_check("dx", d, nx, got, exact, mag, tol_factor(terms, int_data && !oc_winograd_eligible(d, 1)));
    free(got);

    assert_int_equal(nb_sconv2d_backward_filter(d, x.p, dy.p, dw.p, with_dbias ? dbias.p : NULL), NB_OK);
    terms = oc_backward_filter(d, xd, dyd, exact, mag);
    oc_winograd_widen(d, 2, xd, dyd, NULL, terms, mag);
    got = to_double(dw.p, nw);
    oc_check("dw", d, nw, got, exact, mag, tol_factor(terms, int_data && !oc_winograd_eligible(d, 2)));
    free(got);
    if (with_dbias) {
        terms = oc_backward_bias(d, dyd, exact, mag);
        got = to_double(dbias.p, nk);
        oc_check("dbias", d, nk, got, exact, mag, tol_factor(terms, int_data));
        free(got);
    } else {
        for (int64_t i = 0; i < nk; i++) assert_true(isnan(dbias.p[i]));   /* untouched */
    }

    free(xd); free(wd); free(bd); free(dyd); free(exact); free(mag);
    gb_free(&x); gb_free(&w); gb_free(&bias); gb_free(&dy);
    gb_free(&y); gb_free(&dx); gb_free(&dw); gb_free(&dbias);
}

static void named_shapes_match_the_direct_definition(void **state) {
    (void)state;
    for (int i = 0; i < oc_shape_count; i++) {
        run_case(&oc_shapes[i], 1, 1, 0);
        run_case(&oc_shapes[i], 0, 0, 0);
    }
}

static void random_shapes_match_the_direct_definition(void **state) {
    (void)state;
    for (int i = 0; i < 100; i++) {
        nb_conv2d_desc d = oc_random_desc();
        run_case(&d, (int)nbt_range(0, 1), (int)nbt_range(0, 1), 0);
    }
}

/* Enough channels and taps that the error bound's L is in the hundreds. */
static void a_wider_layer_matches_the_direct_definition(void **state) {
    (void)state;
    const nb_conv2d_desc d = oc_desc(2, 32, 14, 13, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1);
    run_case(&d, 1, 1, 0);
    const nb_conv2d_desc g = oc_desc(1, 32, 12, 12, 16, 5, 5, 2, 2, 2, 2, 1, 1, 4);
    run_case(&g, 1, 1, 0);
}

/* Image i's forward and backward-data results do not depend on the other
   images of the batch: a batch of 3 gives, bit for bit, the results of 3
   single-image calls (DESIGN.md "same bits for any batch size"). */
static void results_of_one_image_do_not_depend_on_the_batch(void **state) {
    (void)state;
    for (int t = 0; t < 4; t++) {
        nb_conv2d_desc d = t == 0 ? oc_shapes[4] : oc_random_desc();
        d.n = 3;
        nb_conv2d_desc one = d;
        one.n = 1;
        const int64_t nx = oc_numel_x(&d), nw = oc_numel_w(&d), ny = oc_numel_y(&d);
        const int64_t ix = nx / 3, iy = ny / 3;
        float *x = malloc((size_t)nx * 4), *w = malloc((size_t)nw * 4), *b = malloc((size_t)d.k * 4);
        float *dy = malloc((size_t)ny * 4), *y = malloc((size_t)ny * 4), *dx = malloc((size_t)nx * 4);
        float *y1 = malloc((size_t)iy * 4), *dx1 = malloc((size_t)ix * 4);
        nbt_fill_uniform(x, nx, -1, 1); nbt_fill_uniform(w, nw, -1, 1);
        nbt_fill_uniform(b, d.k, -1, 1); nbt_fill_uniform(dy, ny, -1, 1);
        assert_int_equal(nb_sconv2d_forward(&d, x, w, b, y), NB_OK);
        assert_int_equal(nb_sconv2d_backward_data(&d, dy, w, dx), NB_OK);
        for (int64_t i = 0; i < 3; i++) {
            assert_int_equal(nb_sconv2d_forward(&one, x + i * ix, w, b, y1), NB_OK);
            assert_memory_equal(y1, y + i * iy, (size_t)iy * 4);
            assert_int_equal(nb_sconv2d_backward_data(&one, dy + i * iy, w, dx1), NB_OK);
            assert_memory_equal(dx1, dx + i * ix, (size_t)ix * 4);
        }
        free(x); free(w); free(b); free(dy); free(y); free(dx); free(y1); free(dx1);
    }
}

static void integer_data_gives_exact_results(void **state) {
    (void)state;
    for (int i = 0; i < oc_shape_count; i++) run_case(&oc_shapes[i], 1, 1, 1);
    for (int i = 0; i < 10; i++) {
        nb_conv2d_desc d = oc_random_desc();
        run_case(&d, 1, 1, 1);
    }
}

static void out_shape_matches_counted_window_positions(void **state) {
    (void)state;
    for (int i = 0; i < 500; i++) {
        nb_conv2d_desc d = oc_desc(1, 1, nbt_range(0, 9), nbt_range(0, 9), 1, nbt_range(1, 6),
                                   nbt_range(1, 6), nbt_range(1, 4), nbt_range(1, 4),
                                   nbt_range(0, 3), nbt_range(0, 3), nbt_range(1, 3),
                                   nbt_range(1, 3), 1);
        int64_t P, Q, p = -5, q = -5;
        oc_out_shape(&d, &P, &Q);
        const nb_status s = nb_conv2d_out_shape(&d, &p, &q);
        if (P >= 1 && Q >= 1) {
            assert_int_equal(s, NB_OK);
            assert_int_equal(p, P);
            assert_int_equal(q, Q);
        } else {
            assert_int_equal(s, NB_ERR_SHAPE);
            assert_non_null(strstr(nb_last_error(), "output would be empty"));
            assert_int_equal(p, -5);   /* not written */
            assert_int_equal(q, -5);
        }
    }
}

/* A NaN at one input position makes exactly the outputs whose window reads
   it NaN (padding never multiplies it), and only the taps it meets in dw. */
static void nan_in_x_reaches_exactly_the_windows_that_read_it(void **state) {
    (void)state;
    const nb_conv2d_desc d = oc_desc(1, 2, 7, 6, 3, 3, 3, 2, 1, 2, 1, 1, 2, 1);
    int64_t P, Q;
    oc_out_shape(&d, &P, &Q);
    const int64_t nx = oc_numel_x(&d), nw = oc_numel_w(&d), ny = oc_numel_y(&d);
    float *x = malloc((size_t)nx * sizeof(float)), *w = malloc((size_t)nw * sizeof(float));
    float *y = malloc((size_t)ny * sizeof(float)), *dy = malloc((size_t)ny * sizeof(float));
    float *dw = malloc((size_t)nw * sizeof(float));
    nbt_fill_uniform(x, nx, 0.5f, 1); nbt_fill_uniform(w, nw, 0.5f, 1); nbt_fill_uniform(dy, ny, 0.5f, 1);
    const int64_t c0 = 1, h0 = 3, w0 = 4;
    x[(c0 * d.h + h0) * d.w + w0] = NAN;
    assert_int_equal(nb_sconv2d_forward(&d, x, w, NULL, y), NB_OK);
    assert_int_equal(nb_sconv2d_backward_filter(&d, x, dy, dw, NULL), NB_OK);
    for (int64_t k = 0; k < d.k; k++)
        for (int64_t p = 0; p < P; p++)
            for (int64_t q = 0; q < Q; q++) {
                int reads = 0;
                for (int64_t r = 0; r < d.r; r++)
                    for (int64_t s = 0; s < d.s; s++)
                        reads |= p * d.stride_h - d.pad_h + r * d.dilation_h == h0 &&
                                 q * d.stride_w - d.pad_w + s * d.dilation_w == w0;
                const float v = y[(k * P + p) * Q + q];
                assert_true(reads ? isnan(v) : !isnan(v));
            }
    for (int64_t k = 0; k < d.k; k++)
        for (int64_t c = 0; c < d.c; c++)
            for (int64_t r = 0; r < d.r; r++)
                for (int64_t s = 0; s < d.s; s++) {
                    int meets = 0;
                    for (int64_t p = 0; p < P; p++)
                        for (int64_t q = 0; q < Q; q++)
                            meets |= c == c0 && p * d.stride_h - d.pad_h + r * d.dilation_h == h0 &&
                                     q * d.stride_w - d.pad_w + s * d.dilation_w == w0;
                    const float v = dw[((k * d.c + c) * d.r + r) * d.s + s];
                    assert_true(meets ? isnan(v) : !isnan(v));
                }
    free(x); free(w); free(y); free(dy); free(dw);
}

/* Calling a backward twice, the second time over the first result, gives
   the same bits: outputs are overwritten, never accumulated into. */
static void backward_outputs_are_overwritten_not_accumulated(void **state) {
    (void)state;
    const nb_conv2d_desc d = oc_shapes[9];
    const int64_t nx = oc_numel_x(&d), nw = oc_numel_w(&d), ny = oc_numel_y(&d);
    float *x = malloc((size_t)nx * 4), *w = malloc((size_t)nw * 4), *dy = malloc((size_t)ny * 4);
    float *dx1 = malloc((size_t)nx * 4), *dx2 = malloc((size_t)nx * 4);
    float *dw1 = malloc((size_t)nw * 4), *dw2 = malloc((size_t)nw * 4);
    float db1[8], db2[8];
    nbt_fill_uniform(x, nx, -1, 1); nbt_fill_uniform(w, nw, -1, 1); nbt_fill_uniform(dy, ny, -1, 1);
    assert_int_equal(nb_sconv2d_backward_data(&d, dy, w, dx1), NB_OK);
    memcpy(dx2, dx1, (size_t)nx * 4);
    assert_int_equal(nb_sconv2d_backward_data(&d, dy, w, dx2), NB_OK);
    assert_memory_equal(dx1, dx2, (size_t)nx * 4);
    assert_int_equal(nb_sconv2d_backward_filter(&d, x, dy, dw1, db1), NB_OK);
    memcpy(dw2, dw1, (size_t)nw * 4);
    memcpy(db2, db1, sizeof db1);
    assert_int_equal(nb_sconv2d_backward_filter(&d, x, dy, dw2, db2), NB_OK);
    assert_memory_equal(dw1, dw2, (size_t)nw * 4);
    assert_memory_equal(db1, db2, (size_t)d.k * 4);
    free(x); free(w); free(dy); free(dx1); free(dx2); free(dw1); free(dw2);
}

/* ---- empty tensors: every output element that exists is written ---- */

static void n_zero_does_nothing_and_accepts_null_data(void **state) {
    (void)state;
    const nb_conv2d_desc d = oc_desc(0, 3, 5, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1);
    float w[4 * 3 * 9], bias[4] = {1, 2, 3, 4};
    nbt_fill_uniform(w, 4 * 3 * 9, -1, 1);
    assert_int_equal(nb_sconv2d_forward(&d, NULL, w, bias, NULL), NB_OK);
    assert_int_equal(nb_sconv2d_backward_data(&d, NULL, w, NULL), NB_OK);
}

static void n_zero_backward_filter_gives_zero_dw_and_dbias(void **state) {
    (void)state;
    const nb_conv2d_desc d = oc_desc(0, 3, 5, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1);
    float dw[4 * 3 * 9], dbias[4];
    fill_nan(dw, 4 * 3 * 9); fill_nan(dbias, 4);
    assert_int_equal(nb_sconv2d_backward_filter(&d, NULL, NULL, dw, dbias), NB_OK);
    for (int i = 0; i < 4 * 3 * 9; i++) assert_true(dw[i] == 0.0f);
    for (int i = 0; i < 4; i++) assert_true(dbias[i] == 0.0f);
}

static void k_zero_forward_does_nothing_and_backward_data_gives_zero_dx(void **state) {
    (void)state;
    const nb_conv2d_desc d = oc_desc(2, 3, 4, 5, 0, 3, 3, 1, 1, 1, 1, 1, 1, 1);
    float x[2 * 3 * 4 * 5], dx[2 * 3 * 4 * 5];
    nbt_fill_uniform(x, 120, -1, 1);
    fill_nan(dx, 120);
    assert_int_equal(nb_sconv2d_forward(&d, x, NULL, NULL, NULL), NB_OK);
    assert_int_equal(nb_sconv2d_backward_data(&d, NULL, NULL, dx), NB_OK);
    for (int i = 0; i < 120; i++) assert_true(dx[i] == 0.0f);
    assert_int_equal(nb_sconv2d_backward_filter(&d, x, NULL, NULL, NULL), NB_OK);
}

static void c_zero_forward_gives_the_bias(void **state) {
    (void)state;
    const nb_conv2d_desc d = oc_desc(2, 0, 4, 5, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1);
    const int64_t ny = 2 * 3 * 4 * 5;
    float y[2 * 3 * 4 * 5], bias[3] = {0.5f, -2.0f, 7.0f};
    fill_nan(y, ny);
    assert_int_equal(nb_sconv2d_forward(&d, NULL, NULL, bias, y), NB_OK);
    for (int64_t i = 0; i < ny; i++) assert_true(y[i] == bias[(i / 20) % 3]);
    fill_nan(y, ny);
    assert_int_equal(nb_sconv2d_forward(&d, NULL, NULL, NULL, y), NB_OK);
    for (int64_t i = 0; i < ny; i++) assert_true(y[i] == 0.0f);
}

static void c_zero_backward_filter_gives_the_dy_sum_as_dbias(void **state) {
    (void)state;
    const nb_conv2d_desc d = oc_desc(2, 0, 2, 3, 2, 1, 1, 1, 1, 0, 0, 1, 1, 1);
    float dy[2 * 2 * 2 * 3], dbias[2] = {NAN, NAN};
    for (int i = 0; i < 24; i++) dy[i] = (float)i;
    assert_int_equal(nb_sconv2d_backward_filter(&d, NULL, dy, NULL, dbias), NB_OK);
    /* k = 0: 0..5 and 12..17; k = 1: 6..11 and 18..23 */
    assert_true(dbias[0] == 15.0f + 87.0f);
    assert_true(dbias[1] == 51.0f + 123.0f);
}

/* h = 0 with padding: every window lies in the padding, y is the bias. */
static void input_of_only_padding_gives_the_bias(void **state) {
    (void)state;
    const nb_conv2d_desc d = oc_desc(1, 2, 0, 3, 2, 1, 3, 1, 1, 1, 1, 1, 1, 1);
    int64_t P, Q;
    assert_int_equal(nb_conv2d_out_shape(&d, &P, &Q), NB_OK);
    assert_int_equal(P, 2);
    assert_int_equal(Q, 3);
    float w[2 * 2 * 3], bias[2] = {3, -1}, y[2 * 2 * 3], dy[12], dw[12], db[2];
    nbt_fill_uniform(w, 12, -1, 1);
    nbt_fill_uniform(dy, 12, -1, 1);
    fill_nan(y, 12); fill_nan(dw, 12);
    assert_int_equal(nb_sconv2d_forward(&d, NULL, w, bias, y), NB_OK);
    for (int i = 0; i < 12; i++) assert_true(y[i] == bias[i / 6]);
    assert_int_equal(nb_sconv2d_backward_filter(&d, NULL, dy, dw, db), NB_OK);
    for (int i = 0; i < 12; i++) assert_true(dw[i] == 0.0f);
}

/* The scratch column buffer (C/groups R S x P Q) cannot be allocated: the
   call reports NB_ERR_OOM and writes nothing. R = S = 2^22 keeps every
   tensor's extent in int64 (w claims 2^44 elements; it is never read). */
static void scratch_allocation_failure_is_oom_and_writes_nothing(void **state) {
    (void)state;
    const int64_t big = (int64_t)1 << 22;
    const nb_conv2d_desc d = oc_desc(1, 1, 1, 1, 1, big, big, 1, 1, big / 2, big / 2, 1, 1, 1);
    int64_t P, Q;
    assert_int_equal(nb_conv2d_out_shape(&d, &P, &Q), NB_OK);
    assert_int_equal(P, 2);
    assert_int_equal(Q, 2);
    /* The huge tensor (w or dw) sits above every other one, so its claimed
       extent overlaps nothing and validation passes. */
    float buf[64], before[64];
    for (int i = 0; i < 64; i++) buf[i] = (float)i;
    memcpy(before, buf, sizeof buf);
    assert_int_equal(nb_sconv2d_forward(&d, buf + 8, buf + 32, buf + 16, buf), NB_ERR_OOM);
    assert_int_equal(nb_sconv2d_backward_data(&d, buf + 8, buf + 32, buf), NB_ERR_OOM);
    assert_int_equal(nb_sconv2d_backward_filter(&d, buf, buf + 8, buf + 32, buf + 16), NB_ERR_OOM);
    assert_memory_equal(buf, before, sizeof buf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(named_shapes_match_the_direct_definition),
        cmocka_unit_test(random_shapes_match_the_direct_definition),
        cmocka_unit_test(a_wider_layer_matches_the_direct_definition),
        cmocka_unit_test(results_of_one_image_do_not_depend_on_the_batch),
        cmocka_unit_test(integer_data_gives_exact_results),
        cmocka_unit_test(out_shape_matches_counted_window_positions),
        cmocka_unit_test(nan_in_x_reaches_exactly_the_windows_that_read_it),
        cmocka_unit_test(backward_outputs_are_overwritten_not_accumulated),
        cmocka_unit_test(n_zero_does_nothing_and_accepts_null_data),
        cmocka_unit_test(n_zero_backward_filter_gives_zero_dw_and_dbias),
        cmocka_unit_test(k_zero_forward_does_nothing_and_backward_data_gives_zero_dx),
        cmocka_unit_test(c_zero_forward_gives_the_bias),
        cmocka_unit_test(c_zero_backward_filter_gives_the_dy_sum_as_dbias),
        cmocka_unit_test(input_of_only_padding_gives_the_bias),
        cmocka_unit_test(scratch_allocation_failure_is_oom_and_writes_nothing),
    };
    return nbt_run(tests);
}
