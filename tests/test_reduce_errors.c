/* Bad input to nb_sreduce / nb_dreduce: a status, a message naming the
 * function and the argument, and y left untouched. */
#include <math.h>
#include <string.h>

#include "harness.h"

static float X[64], Y[64], Y0[64];
static const int64_t SH[2] = {4, 8}, XS[2] = {8, 1}, YS[2] = {1, 1};

static void reset(void) {
    for (int i = 0; i < 64; i++) { X[i] = (float)i; Y[i] = Y0[i] = -1.0f - (float)i; }
}

static void expect_error(nb_status got, nb_status want, const char *arg) {
    assert_int_equal(got, want);
    assert_non_null(strstr(nb_last_error(), "nb_sreduce"));
    if (!strstr(nb_last_error(), arg)) fail_msg("message \"%s\" lacks \"%s\"", nb_last_error(), arg);
    assert_memory_equal(Y, Y0, sizeof Y);
}

static void bad_op_is_an_arg_error(void **state) {
    (void)state; reset();
    expect_error(nb_sreduce((nb_reduce_op)7, 2, SH, X, XS, 2, Y, YS), NB_ERR_ARG, "op");
    expect_error(nb_sreduce((nb_reduce_op)-1, 2, SH, X, XS, 2, Y, YS), NB_ERR_ARG, "op");
}

static void ndim_out_of_range_is_an_arg_error(void **state) {
    (void)state; reset();
    expect_error(nb_sreduce(NB_REDUCE_SUM, -1, SH, X, XS, 0, Y, YS), NB_ERR_ARG, "ndim");
    expect_error(nb_sreduce(NB_REDUCE_SUM, NB_MAX_DIMS + 1, SH, X, XS, 0, Y, YS), NB_ERR_ARG, "ndim");
}

static void null_shape_or_strides_are_arg_errors(void **state) {
    (void)state; reset();
    expect_error(nb_sreduce(NB_REDUCE_SUM, 2, NULL, X, XS, 2, Y, YS), NB_ERR_ARG, "shape");
    expect_error(nb_sreduce(NB_REDUCE_SUM, 2, SH, X, NULL, 2, Y, YS), NB_ERR_ARG, "x_strides");
    expect_error(nb_sreduce(NB_REDUCE_SUM, 2, SH, X, XS, 2, Y, NULL), NB_ERR_ARG, "y_strides");
}

static void null_data_pointers_are_arg_errors(void **state) {
    (void)state; reset();
    expect_error(nb_sreduce(NB_REDUCE_SUM, 2, SH, NULL, XS, 2, Y, YS), NB_ERR_ARG, "x is NULL");
    assert_int_equal(nb_sreduce(NB_REDUCE_SUM, 2, SH, X, XS, 2, NULL, YS), NB_ERR_ARG);
    assert_non_null(strstr(nb_last_error(), "y is NULL"));
}

static void negative_shape_is_an_arg_error(void **state) {
    (void)state; reset();
    const int64_t sh[2] = {4, -8};
    expect_error(nb_sreduce(NB_REDUCE_SUM, 2, sh, X, XS, 2, Y, YS), NB_ERR_ARG, "shape[1]");
}

static void mask_bits_beyond_ndim_are_arg_errors(void **state) {
    (void)state; reset();
    expect_error(nb_sreduce(NB_REDUCE_SUM, 2, SH, X, XS, 4, Y, YS), NB_ERR_ARG, "axes_mask");
    expect_error(nb_sreduce(NB_REDUCE_SUM, 2, SH, X, XS, 1ull << 63, Y, YS), NB_ERR_ARG, "axes_mask");
    expect_error(nb_sreduce(NB_REDUCE_SUM, 0, NULL, X, NULL, 1, Y, NULL), NB_ERR_ARG, "axes_mask");
}

static void zero_y_stride_on_a_kept_dim_is_an_arg_error(void **state) {
    (void)state; reset();
    const int64_t ys[2] = {0, 1};
    expect_error(nb_sreduce(NB_REDUCE_SUM, 2, SH, X, XS, 2, Y, ys), NB_ERR_ARG, "y_strides[0]");
    /* ...but fine on a reduced dim (ignored there) or a kept dim of size 1. */
    const int64_t ys2[2] = {1, 0};
    assert_int_equal(nb_sreduce(NB_REDUCE_SUM, 2, SH, X, XS, 2, Y, ys2), NB_OK);
    const int64_t sh1[2] = {1, 8};
    assert_int_equal(nb_sreduce(NB_REDUCE_SUM, 2, sh1, X, XS, 2, Y, ys), NB_OK);
}

static void max_and_min_of_an_empty_set_are_shape_errors(void **state) {
    (void)state; reset();
    const int64_t sh[2] = {4, 0};
    expect_error(nb_sreduce(NB_REDUCE_MAX, 2, sh, X, XS, 2, Y, YS), NB_ERR_SHAPE, "max");
    expect_error(nb_sreduce(NB_REDUCE_MIN, 2, sh, X, XS, 2, Y, YS), NB_ERR_SHAPE, "min");
}

static void overflowing_counts_and_extents_are_overflow_errors(void **state) {
    (void)state; reset();
    const int64_t big[2] = {INT64_MAX / 2, 4}, xs[2] = {4, 1};
    expect_error(nb_sreduce(NB_REDUCE_SUM, 2, big, X, xs, 2, Y, YS), NB_ERR_OVERFLOW, "element count");
    const int64_t sh[2] = {4, 8}, hugex[2] = {INT64_MAX / 3, 1};
    expect_error(nb_sreduce(NB_REDUCE_SUM, 2, sh, X, hugex, 2, Y, YS), NB_ERR_OVERFLOW, "extent of x");
    const int64_t hugey[2] = {INT64_MAX / 3, 1};
    expect_error(nb_sreduce(NB_REDUCE_SUM, 2, sh, X, XS, 2, Y, hugey), NB_ERR_OVERFLOW, "extent of y");
}

static void y_overlapping_x_is_an_alias_error(void **state) {
    (void)state; reset();
    /* y (4 rows sums) lands inside dense x. */
    expect_error(nb_sreduce(NB_REDUCE_SUM, 2, SH, Y, XS, 2, Y + 3, YS), NB_ERR_ALIAS, "y overlaps x");
    /* Same base address, both with holes. */
    const int64_t xs[2] = {16, 2}, ys[2] = {16, 1};
    expect_error(nb_sreduce(NB_REDUCE_SUM, 2, SH, Y, xs, 2, Y, ys), NB_ERR_ALIAS, "y overlaps x");
}

static void interleaved_views_with_holes_are_allowed(void **state) {
    (void)state; reset();
    /* x = even elements of a row pair, y = odd elements: share no element. */
    float buf[32];
    for (int i = 0; i < 32; i++) buf[i] = (float)i;
    const int64_t sh[2] = {2, 8}, xs[2] = {16, 2}, ys[2] = {0, 2};
    assert_int_equal(nb_sreduce(NB_REDUCE_SUM, 2, sh, buf, xs, 1, buf + 1, ys), NB_OK);
    for (int j = 0; j < 8; j++) assert_true(buf[1 + 2 * j] == (float)(2 * j) + (float)(16 + 2 * j));
}

static void empty_outputs_accept_null_pointers(void **state) {
    (void)state;
    const int64_t sh[2] = {0, 8};
    assert_int_equal(nb_sreduce(NB_REDUCE_MAX, 2, sh, NULL, XS, 2, NULL, YS), NB_OK);
}

static void dreduce_reports_its_own_name(void **state) {
    (void)state;
    double x[4] = {0}, y[4] = {0};
    const int64_t sh[1] = {4}, st[1] = {1};
    assert_int_equal(nb_dreduce(NB_REDUCE_SUM, 1, sh, x, st, 2, y, st), NB_ERR_ARG);
    assert_non_null(strstr(nb_last_error(), "nb_dreduce"));
    assert_non_null(strstr(nb_last_error(), "axes_mask"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_op_is_an_arg_error),
        cmocka_unit_test(ndim_out_of_range_is_an_arg_error),
        cmocka_unit_test(null_shape_or_strides_are_arg_errors),
        cmocka_unit_test(null_data_pointers_are_arg_errors),
        cmocka_unit_test(negative_shape_is_an_arg_error),
        cmocka_unit_test(mask_bits_beyond_ndim_are_arg_errors),
        cmocka_unit_test(zero_y_stride_on_a_kept_dim_is_an_arg_error),
        cmocka_unit_test(max_and_min_of_an_empty_set_are_shape_errors),
        cmocka_unit_test(overflowing_counts_and_extents_are_overflow_errors),
        cmocka_unit_test(y_overlapping_x_is_an_alias_error),
        cmocka_unit_test(interleaved_views_with_holes_are_allowed),
        cmocka_unit_test(empty_outputs_accept_null_pointers),
        cmocka_unit_test(dreduce_reports_its_own_name),
    };
    return nbt_run(tests);
}
