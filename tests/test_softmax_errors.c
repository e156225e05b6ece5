/* Bad input to nb_ssoftmax: a status, a message naming the function and the
 * argument, and y left untouched. */
#include <string.h>

#include "harness.h"

static float X[64], Y[64], Y0[64];

static void reset(void) {
    for (int i = 0; i < 64; i++) { X[i] = 0.5f; Y[i] = Y0[i] = (float)i; }
}

static void expect_error(nb_status got, nb_status want, const char *arg) {
    assert_int_equal(got, want);
    assert_non_null(strstr(nb_last_error(), "nb_ssoftmax"));
    assert_non_null(strstr(nb_last_error(), arg));
    assert_memory_equal(Y, Y0, sizeof Y);
}

static void negative_sizes_are_arg_errors(void **state) {
    (void)state; reset();
    expect_error(nb_ssoftmax(0, -1, 4, X, 4, Y, 4), NB_ERR_ARG, "rows");
    expect_error(nb_ssoftmax(1, 2, -4, X, 4, Y, 4), NB_ERR_ARG, "cols");
}

static void leading_dimensions_below_cols_are_arg_errors(void **state) {
    (void)state; reset();
    expect_error(nb_ssoftmax(0, 2, 4, X, 3, Y, 4), NB_ERR_ARG, "ldx");
    expect_error(nb_ssoftmax(0, 2, 4, X, 4, Y, 3), NB_ERR_ARG, "ldy");
    expect_error(nb_ssoftmax(1, 1, 4, X, -4, Y, 4), NB_ERR_ARG, "ldx");
}

static void null_pointers_with_data_are_arg_errors(void **state) {
    (void)state; reset();
    expect_error(nb_ssoftmax(0, 2, 4, NULL, 4, Y, 4), NB_ERR_ARG, "x is NULL");
    assert_int_equal(nb_ssoftmax(0, 2, 4, X, 4, NULL, 4), NB_ERR_ARG);
    assert_non_null(strstr(nb_last_error(), "y is NULL"));
}

static void empty_problems_accept_null_pointers(void **state) {
    (void)state;
    assert_int_equal(nb_ssoftmax(0, 0, 4, NULL, 4, NULL, 4), NB_OK);
    assert_int_equal(nb_ssoftmax(1, 3, 0, NULL, 0, NULL, 0), NB_OK);
}

static void extents_that_overflow_are_overflow_errors(void **state) {
    (void)state; reset();
    expect_error(nb_ssoftmax(0, INT64_MAX / 2, 4, X, INT64_MAX / 4, Y, 4), NB_ERR_OVERFLOW, "x");
    expect_error(nb_ssoftmax(0, 3, INT64_MAX / 2, X, INT64_MAX / 2, Y, INT64_MAX / 2),
                 NB_ERR_OVERFLOW, "x");
}

static void partial_overlap_is_an_alias_error(void **state) {
    (void)state; reset();
    memcpy(Y0, Y, sizeof Y);
    expect_error(nb_ssoftmax(0, 2, 4, Y, 4, Y + 2, 4), NB_ERR_ALIAS, "y overlaps x");
    /* same base but different leading dimensions: row 1 of y is row 0.5 of x */
    expect_error(nb_ssoftmax(1, 3, 4, Y, 8, Y, 4), NB_ERR_ALIAS, "y overlaps x");
}

static void exact_in_place_is_allowed(void **state) {
    (void)state; reset();
    for (int i = 0; i < 8; i++) Y[i] = 0.0f;
    assert_int_equal(nb_ssoftmax(0, 2, 3, Y, 4, Y, 4), NB_OK);
    for (int r = 0; r < 2; r++)
        for (int c = 0; c < 3; c++) assert_true(Y[r * 4 + c] == 1.0f / 3.0f);
    assert_true(Y[3] == 0.0f);   /* the padding column is not written */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(negative_sizes_are_arg_errors),
        cmocka_unit_test(leading_dimensions_below_cols_are_arg_errors),
        cmocka_unit_test(null_pointers_with_data_are_arg_errors),
        cmocka_unit_test(empty_problems_accept_null_pointers),
        cmocka_unit_test(extents_that_overflow_are_overflow_errors),
        cmocka_unit_test(partial_overlap_is_an_alias_error),
        cmocka_unit_test(exact_in_place_is_allowed),
    };
    return nbt_run(tests);
}
