/* Bad input to the conv entry points: a status, a message naming the
 * function and the offending field, and every output left untouched.
 *
 * Desc errors are checked on all seven functions (nb_conv2d_out_shape and
 * the float32 and float64 forward, backward-data and backward-filter), since
 * they share one validator and must report the same thing.
 */
#include <math.h>
#include <string.h>

#include "harness.h"

#define BUF 512

static float X[BUF], W[BUF], B[BUF], DY[BUF], Y[BUF], DX[BUF], DW[BUF], DB[BUF];
static double Xd[BUF], Wd[BUF], Bd[BUF], DYd[BUF], Yd[BUF], DXd[BUF], DWd[BUF], DBd[BUF];
static float out0[BUF];
static double out0d[BUF];

static void reset(void) {
    for (int i = 0; i < BUF; i++) {
        X[i] = W[i] = B[i] = DY[i] = 1.0f;
        Xd[i] = Wd[i] = Bd[i] = DYd[i] = 1.0;
        out0[i] = Y[i] = DX[i] = DW[i] = DB[i] = (float)i;
        out0d[i] = Yd[i] = DXd[i] = DWd[i] = DBd[i] = (double)i;
    }
}

static void outputs_untouched(void) {
    assert_memory_equal(Y, out0, sizeof Y);
    assert_memory_equal(DX, out0, sizeof DX);
    assert_memory_equal(DW, out0, sizeof DW);
    assert_memory_equal(DB, out0, sizeof DB);
    assert_memory_equal(Yd, out0d, sizeof Yd);
    assert_memory_equal(DXd, out0d, sizeof DXd);
    assert_memory_equal(DWd, out0d, sizeof DWd);
    assert_memory_equal(DBd, out0d, sizeof DBd);
}

/* A valid desc: x 1x4x5x5 (100), w 2x4x3x3 (72), y 1x2x5x5 (50). */
static nb_conv2d_desc good(void) {
    nb_conv2d_desc d = {1, 4, 5, 5, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1};
    return d;
}

static void expect(nb_status got, nb_status want, const char *fn, const char *field) {
    if (got != want)
        fail_msg("%s returned %d (%s), want %d; message: %s", fn, got, nb_status_str(got), want,
                 nb_last_error());
    if (!strstr(nb_last_error(), fn) || !strstr(nb_last_error(), field))
        fail_msg("message \"%s\" does not name %s and \"%s\"", nb_last_error(), fn, field);
    outputs_untouched();
}

/* The tensor functions reject d with `want`, naming themselves and `field`. */
static void expect_all_tensor_functions(const nb_conv2d_desc *d, nb_status want, const char *field) {
    reset();
    expect(nb_sconv2d_forward(d, X, W, B, Y), want, "nb_sconv2d_forward", field);
    expect(nb_sconv2d_backward_data(d, DY, W, DX), want, "nb_sconv2d_backward_data", field);
    expect(nb_sconv2d_backward_filter(d, X, DY, DW, DB), want, "nb_sconv2d_backward_filter", field);
    expect(nb_dconv2d_forward(d, Xd, Wd, Bd, Yd), want, "nb_dconv2d_forward", field);
    expect(nb_dconv2d_backward_data(d, DYd, Wd, DXd), want, "nb_dconv2d_backward_data", field);
    expect(nb_dconv2d_backward_filter(d, Xd, DYd, DWd, DBd), want, "nb_dconv2d_backward_filter", field);
}

/* ... and so does nb_conv2d_out_shape, without writing p or q. */
static void expect_all(const nb_conv2d_desc *d, nb_status want, const char *field) {
    int64_t p = -3, q = -3;
    reset();
    expect(nb_conv2d_out_shape(d, &p, &q), want, "nb_conv2d_out_shape", field);
    assert_true(p == -3 && q == -3);
    expect_all_tensor_functions(d, want, field);
}

static void the_valid_desc_is_accepted(void **state) {
    (void)state;
    nb_conv2d_desc d = good();
    int64_t p, q;
    assert_int_equal(nb_conv2d_out_shape(&d, &p, &q), NB_OK);
    assert_int_equal(p, 5);
    assert_int_equal(q, 5);
    assert_int_equal(nb_sconv2d_forward(&d, X, W, B, Y), NB_OK);
    assert_int_equal(nb_dconv2d_backward_filter(&d, Xd, DYd, DWd, DBd), NB_OK);
}

static void null_desc_is_an_arg_error(void **state) {
    (void)state;
    expect_all(NULL, NB_ERR_ARG, "desc");
}

static void negative_sizes_are_shape_errors(void **state) {
    (void)state;
    nb_conv2d_desc d;
    d = good(); d.n = -1; expect_all(&d, NB_ERR_SHAPE, "n = -1");
    d = good(); d.c = -4; expect_all(&d, NB_ERR_SHAPE, "c = -4");
    d = good(); d.h = -2; expect_all(&d, NB_ERR_SHAPE, "h = -2");
    d = good(); d.w = -5; expect_all(&d, NB_ERR_SHAPE, "w = -5");
    d = good(); d.k = -3; expect_all(&d, NB_ERR_SHAPE, "k = -3");
}

static void kernel_sizes_below_one_are_shape_errors(void **state) {
    (void)state;
    nb_conv2d_desc d;
    d = good(); d.r = 0; expect_all(&d, NB_ERR_SHAPE, "r = 0");
    d = good(); d.s = -1; expect_all(&d, NB_ERR_SHAPE, "s = -1");
}

static void strides_and_dilations_below_one_are_shape_errors(void **state) {
    (void)state;
    nb_conv2d_desc d;
    d = good(); d.stride_h = 0; expect_all(&d, NB_ERR_SHAPE, "stride_h = 0");
    d = good(); d.stride_w = -2; expect_all(&d, NB_ERR_SHAPE, "stride_w = -2");
    d = good(); d.dilation_h = 0; expect_all(&d, NB_ERR_SHAPE, "dilation_h = 0");
    d = good(); d.dilation_w = -1; expect_all(&d, NB_ERR_SHAPE, "dilation_w = -1");
}

static void negative_pads_are_shape_errors(void **state) {
    (void)state;
    nb_conv2d_desc d;
    d = good(); d.pad_h = -1; expect_all(&d, NB_ERR_SHAPE, "pad_h = -1");
    d = good(); d.pad_w = -3; expect_all(&d, NB_ERR_SHAPE, "pad_w = -3");
}

static void groups_below_one_or_not_dividing_c_and_k_are_shape_errors(void **state) {
    (void)state;
    nb_conv2d_desc d;
    d = good(); d.groups = 0; expect_all(&d, NB_ERR_SHAPE, "groups = 0");
    d = good(); d.groups = 3; expect_all(&d, NB_ERR_SHAPE, "groups = 3 does not divide c = 4");
    d = good(); d.groups = 4; expect_all(&d, NB_ERR_SHAPE, "groups = 4 does not divide k = 2");
}

static void an_empty_output_is_a_shape_error(void **state) {
    (void)state;
    nb_conv2d_desc d;
    /* 3x3 kernel on 2 rows, no padding: nothing fits. */
    d = good(); d.h = 2; d.pad_h = 0; expect_all(&d, NB_ERR_SHAPE, "output would be empty: P");
    /* Stride 2 makes (2 - 3) / 2 + 1 truncate to 1 in C; still empty. */
    d = good(); d.h = 2; d.pad_h = 0; d.stride_h = 2;
    expect_all(&d, NB_ERR_SHAPE, "output would be empty: P");
    /* Dilation 3 spreads a 3-wide kernel over 7 columns; 5 + 2 pads = 7 fits... */
    d = good(); d.dilation_w = 3;
    int64_t p, q;
    assert_int_equal(nb_conv2d_out_shape(&d, &p, &q), NB_OK);
    assert_int_equal(q, 1);
    /* ... 4 does not. */
    d = good(); d.dilation_w = 4; expect_all(&d, NB_ERR_SHAPE, "output would be empty: Q");
    /* w = 0 without padding. */
    d = good(); d.w = 0; d.pad_w = 0; d.s = 1; expect_all(&d, NB_ERR_SHAPE, "Q");
}

static void sizes_overflowing_int64_are_overflow_errors(void **state) {
    (void)state;
    nb_conv2d_desc d;
    /* n c h w = 2^62 x 4 x 5 x 5 */
    d = good(); d.n = (int64_t)1 << 62; expect_all(&d, NB_ERR_OVERFLOW, "x");
    /* The element count fits, the bytes (x 4 or 8) do not: 2^61 elements.
       nb_conv2d_out_shape counts elements only, so it accepts this desc. */
    d = good(); d.n = (int64_t)1 << 59; d.c = 4; d.h = 1; d.w = 2; d.r = 1; d.s = 1; d.pad_h = 0;
    d.pad_w = 0; d.k = 1;
    expect_all_tensor_functions(&d, NB_ERR_OVERFLOW, "bytes");
    int64_t p, q;
    assert_int_equal(nb_conv2d_out_shape(&d, &p, &q), NB_OK);
    /* w: k x c x r x s with a huge k (x fits). */
    d = good(); d.k = (int64_t)1 << 61; expect_all(&d, NB_ERR_OVERFLOW, "w");
    /* y: n x k x P x Q, where only P is huge (x and w fit). */
    d = good(); d.n = 1; d.c = 1; d.k = 1; d.r = 1; d.s = 1; d.h = 1; d.w = 1;
    d.pad_h = (int64_t)1 << 40; d.pad_w = (int64_t)1 << 40;
    expect_all(&d, NB_ERR_OVERFLOW, "y");
    /* h + 2 pad_h itself overflows. */
    d = good(); d.pad_h = INT64_MAX / 2; expect_all(&d, NB_ERR_OVERFLOW, "pad_h");
    /* dilation_w (s - 1) overflows. */
    d = good(); d.dilation_w = INT64_MAX / 2 + 1; expect_all(&d, NB_ERR_OVERFLOW, "dilation_w");
    /* An empty tensor whose other dims multiply past int64 is still refused. */
    d = good(); d.n = 0; d.c = (int64_t)1 << 32; d.h = (int64_t)1 << 31; d.groups = 1; d.k = 2;
    expect_all(&d, NB_ERR_OVERFLOW, "x");
}

static void null_tensors_with_elements_are_arg_errors(void **state) {
    (void)state;
    const nb_conv2d_desc d = good();
    const nb_conv2d_desc *p = &d;
    reset();
    expect(nb_sconv2d_forward(p, NULL, W, B, Y), NB_ERR_ARG, "nb_sconv2d_forward", "x is NULL");
    expect(nb_sconv2d_forward(p, X, NULL, B, Y), NB_ERR_ARG, "nb_sconv2d_forward", "w is NULL");
    expect(nb_sconv2d_forward(p, X, W, B, NULL), NB_ERR_ARG, "nb_sconv2d_forward", "y is NULL");
    expect(nb_sconv2d_backward_data(p, NULL, W, DX), NB_ERR_ARG, "nb_sconv2d_backward_data", "dy is NULL");
    expect(nb_sconv2d_backward_data(p, DY, NULL, DX), NB_ERR_ARG, "nb_sconv2d_backward_data", "w is NULL");
    expect(nb_sconv2d_backward_data(p, DY, W, NULL), NB_ERR_ARG, "nb_sconv2d_backward_data", "dx is NULL");
    expect(nb_sconv2d_backward_filter(p, NULL, DY, DW, DB), NB_ERR_ARG, "nb_sconv2d_backward_filter", "x is NULL");
    expect(nb_sconv2d_backward_filter(p, X, NULL, DW, DB), NB_ERR_ARG, "nb_sconv2d_backward_filter", "dy is NULL");
    expect(nb_sconv2d_backward_filter(p, X, DY, NULL, DB), NB_ERR_ARG, "nb_sconv2d_backward_filter", "dw is NULL");
    expect(nb_dconv2d_forward(p, Xd, Wd, NULL, NULL), NB_ERR_ARG, "nb_dconv2d_forward", "y is NULL");
    expect(nb_dconv2d_backward_data(p, DYd, NULL, DXd), NB_ERR_ARG, "nb_dconv2d_backward_data", "w is NULL");
    expect(nb_dconv2d_backward_filter(p, NULL, DYd, DWd, NULL), NB_ERR_ARG, "nb_dconv2d_backward_filter", "x is NULL");
}

static void bias_and_dbias_may_be_null(void **state) {
    (void)state;
    const nb_conv2d_desc d = good();
    assert_int_equal(nb_sconv2d_forward(&d, X, W, NULL, Y), NB_OK);
    assert_int_equal(nb_sconv2d_backward_filter(&d, X, DY, DW, NULL), NB_OK);
    assert_int_equal(nb_dconv2d_forward(&d, Xd, Wd, NULL, Yd), NB_OK);
    assert_int_equal(nb_dconv2d_backward_filter(&d, Xd, DYd, DWd, NULL), NB_OK);
}

static void out_shape_with_null_p_or_q_is_an_arg_error(void **state) {
    (void)state;
    const nb_conv2d_desc d = good();
    int64_t v = 9;
    assert_int_equal(nb_conv2d_out_shape(&d, NULL, &v), NB_ERR_ARG);
    assert_non_null(strstr(nb_last_error(), "nb_conv2d_out_shape: p"));
    assert_int_equal(nb_conv2d_out_shape(&d, &v, NULL), NB_ERR_ARG);
    assert_non_null(strstr(nb_last_error(), "nb_conv2d_out_shape: q"));
    assert_int_equal(v, 9);
}

/* Outputs overlapping an input (or dbias overlapping dw): NB_ERR_ALIAS,
   nothing written. One shared buffer; x 100, w 72, y 50 elements. */
static void outputs_overlapping_inputs_are_alias_errors(void **state) {
    (void)state;
    const nb_conv2d_desc d = good();
    const nb_conv2d_desc *p = &d;
    static float m[BUF];
    static float m0[BUF];
    for (int i = 0; i < BUF; i++) m[i] = m0[i] = (float)i;
    reset();
#define EXPECT_ALIAS(call, fn, what)                                                             \
    do {                                                                                         \
        expect(call, NB_ERR_ALIAS, fn, what);                                                    \
        assert_memory_equal(m, m0, sizeof m);                                                    \
    } while (0)
    EXPECT_ALIAS(nb_sconv2d_forward(p, m, W, B, m + 99), "nb_sconv2d_forward", "y overlaps x");
    EXPECT_ALIAS(nb_sconv2d_forward(p, X, m + 49, B, m), "nb_sconv2d_forward", "y overlaps w");
    EXPECT_ALIAS(nb_sconv2d_forward(p, X, W, m + 1, m), "nb_sconv2d_forward", "y overlaps bias");
    EXPECT_ALIAS(nb_sconv2d_backward_data(p, m, W, m + 49), "nb_sconv2d_backward_data", "dx overlaps dy");
    EXPECT_ALIAS(nb_sconv2d_backward_data(p, DY, m + 50, m), "nb_sconv2d_backward_data", "dx overlaps w");
    EXPECT_ALIAS(nb_sconv2d_backward_filter(p, m + 71, DY, m, NULL), "nb_sconv2d_backward_filter", "dw overlaps x");
    EXPECT_ALIAS(nb_sconv2d_backward_filter(p, X, m, m + 10, NULL), "nb_sconv2d_backward_filter", "dw overlaps dy");
    EXPECT_ALIAS(nb_sconv2d_backward_filter(p, X, DY, m, m + 71), "nb_sconv2d_backward_filter", "dbias overlaps dw");
    EXPECT_ALIAS(nb_sconv2d_backward_filter(p, m, DY, DW, m + 99), "nb_sconv2d_backward_filter", "dbias overlaps x");
    EXPECT_ALIAS(nb_sconv2d_backward_filter(p, X, m + 1, DW, m), "nb_sconv2d_backward_filter", "dbias overlaps dy");
#undef EXPECT_ALIAS
    /* Adjacent, not overlapping: accepted. */
    assert_int_equal(nb_sconv2d_forward(p, m, m + 100, NULL, m + 172), NB_OK);
    /* float64 names itself too. */
    static double md[BUF];
    assert_int_equal(nb_dconv2d_backward_data(p, md, Wd, md + 10), NB_ERR_ALIAS);
    assert_non_null(strstr(nb_last_error(), "nb_dconv2d_backward_data: dx overlaps dy"));
}

/* An input of width 0 (x empty, so NULL) padded to a 2 x 2 output: every
   tap is padding, so y is the bias, dw is 0 and dbias sums dy; the
   reference's im2col/col2im once did NULL + 0 here (undefined; clang UBSan,
   found by tests/fuzz/fuzz_abi). */
static void an_empty_width_padded_to_an_output_is_all_padding(void **s) {
    (void)s;
    const nb_conv2d_desc d = {1, 1, 2, 0, 2, 1, 1, 1, 1, 0, 1, 1, 1, 1};
    int64_t P, Q;
    assert_int_equal(nb_conv2d_out_shape(&d, &P, &Q), NB_OK);
    assert_true(P == 2 && Q == 2);
    const float w[2] = {3, 5}, bias[2] = {-1, 7};
    float y[8], dy[8], dw[2] = {9, 9}, db[2] = {9, 9};
    assert_int_equal(nb_sconv2d_forward(&d, NULL, w, bias, y), NB_OK);
    for (int i = 0; i < 8; i++) assert_true(y[i] == bias[i / 4]);
    for (int i = 0; i < 8; i++) dy[i] = (float)(i + 1);
    assert_int_equal(nb_sconv2d_backward_data(&d, dy, w, NULL), NB_OK);
    assert_int_equal(nb_sconv2d_backward_filter(&d, NULL, dy, dw, db), NB_OK);
    assert_true(dw[0] == 0 && dw[1] == 0);
    assert_true(db[0] == 1 + 2 + 3 + 4 && db[1] == 5 + 6 + 7 + 8);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_valid_desc_is_accepted),
        cmocka_unit_test(null_desc_is_an_arg_error),
        cmocka_unit_test(negative_sizes_are_shape_errors),
        cmocka_unit_test(kernel_sizes_below_one_are_shape_errors),
        cmocka_unit_test(strides_and_dilations_below_one_are_shape_errors),
        cmocka_unit_test(negative_pads_are_shape_errors),
        cmocka_unit_test(groups_below_one_or_not_dividing_c_and_k_are_shape_errors),
        cmocka_unit_test(an_empty_output_is_a_shape_error),
        cmocka_unit_test(sizes_overflowing_int64_are_overflow_errors),
        cmocka_unit_test(null_tensors_with_elements_are_arg_errors),
        cmocka_unit_test(bias_and_dbias_may_be_null),
        cmocka_unit_test(out_shape_with_null_p_or_q_is_an_arg_error),
        cmocka_unit_test(outputs_overlapping_inputs_are_alias_errors),
        cmocka_unit_test(an_empty_width_padded_to_an_output_is_all_padding),
    };
    return nbt_run(tests);
}
