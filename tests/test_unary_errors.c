/* Bad input to nb_sunary: a status, a message naming the function and the
 * argument, and y left untouched. */
#include <string.h>

#include "harness.h"

static float X[64], Y[64], Y0[64];

static void reset(void) {
    for (int i = 0; i < 64; i++) { X[i] = 0.5f; Y[i] = Y0[i] = (float)i; }
}

static void expect_error(nb_status got, nb_status want, const char *arg) {
    assert_int_equal(got, want);
    assert_non_null(strstr(nb_last_error(), "nb_sunary"));
    assert_non_null(strstr(nb_last_error(), arg));
    assert_memory_equal(Y, Y0, sizeof Y);
}

static void unknown_op_is_an_arg_error(void **state) {
    (void)state; reset();
    expect_error(nb_sunary((nb_unary_op)(NB_UNARY_RELU + 1), 4, X, Y), NB_ERR_ARG, "op");
    expect_error(nb_sunary((nb_unary_op)-1, 4, X, Y), NB_ERR_ARG, "op");
}

static void negative_n_is_an_arg_error(void **state) {
    (void)state; reset();
    expect_error(nb_sunary(NB_UNARY_EXP, -1, X, Y), NB_ERR_ARG, "n");
}

static void null_pointers_with_data_are_arg_errors(void **state) {
    (void)state; reset();
    expect_error(nb_sunary(NB_UNARY_EXP, 3, NULL, Y), NB_ERR_ARG, "x is NULL");
    assert_int_equal(nb_sunary(NB_UNARY_TANH, 3, X, NULL), NB_ERR_ARG);
    assert_non_null(strstr(nb_last_error(), "y is NULL"));
}

static void empty_input_accepts_null_pointers(void **state) {
    (void)state;
    assert_int_equal(nb_sunary(NB_UNARY_LOG, 0, NULL, NULL), NB_OK);
}

static void size_that_overflows_bytes_is_an_overflow_error(void **state) {
    (void)state; reset();
    expect_error(nb_sunary(NB_UNARY_EXP, INT64_MAX / 2, X, Y), NB_ERR_OVERFLOW, "n");
}

static void partial_overlap_is_an_alias_error(void **state) {
    (void)state; reset();
    memcpy(Y0, Y, sizeof Y);
    expect_error(nb_sunary(NB_UNARY_EXP, 8, Y, Y + 1), NB_ERR_ALIAS, "y overlaps x");
    expect_error(nb_sunary(NB_UNARY_RELU, 8, Y + 7, Y), NB_ERR_ALIAS, "y overlaps x");
}

static void adjacent_buffers_are_not_an_overlap(void **state) {
    (void)state; reset();
    assert_int_equal(nb_sunary(NB_UNARY_RELU, 8, Y, Y + 8), NB_OK);
    assert_int_equal(nb_sunary(NB_UNARY_RELU, 8, Y + 8, Y), NB_OK);
}

static void exact_in_place_is_allowed(void **state) {
    (void)state; reset();
    for (int i = 0; i < 64; i++) Y[i] = (float)(i - 32);
    assert_int_equal(nb_sunary(NB_UNARY_RELU, 64, Y, Y), NB_OK);
    for (int i = 0; i < 64; i++) assert_true(Y[i] == (i > 32 ? (float)(i - 32) : 0.0f));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unknown_op_is_an_arg_error),
        cmocka_unit_test(negative_n_is_an_arg_error),
        cmocka_unit_test(null_pointers_with_data_are_arg_errors),
        cmocka_unit_test(empty_input_accepts_null_pointers),
        cmocka_unit_test(size_that_overflows_bytes_is_an_overflow_error),
        cmocka_unit_test(partial_overlap_is_an_alias_error),
        cmocka_unit_test(adjacent_buffers_are_not_an_overlap),
        cmocka_unit_test(exact_in_place_is_allowed),
    };
    return nbt_run(tests);
}
