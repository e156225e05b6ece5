/* Bad input to nb_sgemm / nb_dgemm: a status, a message naming the function
 * and the argument, and C left untouched. */
#include <math.h>
#include <string.h>

#include "harness.h"

static float A[64], B[64], C[64], C0[64];

static void reset(void) {
    for (int i = 0; i < 64; i++) { A[i] = 1; B[i] = 1; C[i] = C0[i] = (float)i; }
}

/* The call failed with `want`, named nb_sgemm and `arg`, and wrote nothing. */
static void expect_error(nb_status got, nb_status want, const char *arg) {
    assert_int_equal(got, want);
    assert_non_null(strstr(nb_last_error(), "nb_sgemm"));
    assert_non_null(strstr(nb_last_error(), arg));
    assert_memory_equal(C, C0, sizeof C);
}

static void bad_transpose_flag_is_an_arg_error(void **state) {
    (void)state; reset();
    expect_error(nb_sgemm(2, 0, 2, 2, 2, 1, A, 2, B, 2, 0, C, 2), NB_ERR_ARG, "trans_a");
    expect_error(nb_sgemm(0, -1, 2, 2, 2, 1, A, 2, B, 2, 0, C, 2), NB_ERR_ARG, "trans_b");
}

static void negative_sizes_are_arg_errors(void **state) {
    (void)state; reset();
    expect_error(nb_sgemm(0, 0, -1, 2, 2, 1, A, 2, B, 2, 0, C, 2), NB_ERR_ARG, "M");
    expect_error(nb_sgemm(0, 0, 2, -3, 2, 1, A, 2, B, 2, 0, C, 2), NB_ERR_ARG, "N");
    expect_error(nb_sgemm(0, 0, 2, 2, -2, 1, A, 2, B, 2, 0, C, 2), NB_ERR_ARG, "K");
}

static void small_leading_dimensions_are_arg_errors(void **state) {
    (void)state; reset();
    expect_error(nb_sgemm(0, 0, 2, 3, 4, 1, A, 3, B, 3, 0, C, 3), NB_ERR_ARG, "lda");
    expect_error(nb_sgemm(1, 0, 5, 3, 4, 1, A, 4, B, 3, 0, C, 3), NB_ERR_ARG, "lda");
    expect_error(nb_sgemm(0, 0, 2, 3, 4, 1, A, 4, B, 2, 0, C, 3), NB_ERR_ARG, "ldb");
    expect_error(nb_sgemm(0, 1, 2, 3, 4, 1, A, 4, B, 3, 0, C, 3), NB_ERR_ARG, "ldb");
    expect_error(nb_sgemm(0, 0, 2, 3, 4, 1, A, 4, B, 3, 0, C, 2), NB_ERR_ARG, "ldc");
}

static void null_pointers_with_data_are_arg_errors(void **state) {
    (void)state; reset();
    expect_error(nb_sgemm(0, 0, 2, 2, 2, 1, NULL, 2, B, 2, 0, C, 2), NB_ERR_ARG, "A is NULL");
    expect_error(nb_sgemm(0, 0, 2, 2, 2, 1, A, 2, NULL, 2, 0, C, 2), NB_ERR_ARG, "B is NULL");
    assert_int_equal(nb_sgemm(0, 0, 2, 2, 2, 1, A, 2, B, 2, 0, NULL, 2), NB_ERR_ARG);
    assert_non_null(strstr(nb_last_error(), "C is NULL"));
}

static void empty_problems_accept_null_pointers(void **state) {
    (void)state;
    assert_int_equal(nb_sgemm(0, 0, 0, 5, 3, 1, NULL, 3, B, 5, 0, NULL, 5), NB_OK);
    assert_int_equal(nb_sgemm(0, 0, 4, 0, 3, 1, A, 3, NULL, 1, 0, NULL, 1), NB_OK);
}

static void extents_that_overflow_are_overflow_errors(void **state) {
    (void)state; reset();
    expect_error(nb_sgemm(0, 0, INT64_MAX / 2, 2, 2, 1, A, INT64_MAX / 4, B, 2, 0, C, 2),
                 NB_ERR_OVERFLOW, "A");
}

static void output_overlapping_an_input_is_an_alias_error(void **state) {
    (void)state; reset();
    expect_error(nb_sgemm(0, 0, 2, 2, 2, 1, C, 2, B, 2, 0, C + 2, 2), NB_ERR_ALIAS, "overlaps A");
    expect_error(nb_sgemm(0, 0, 2, 2, 2, 1, A, 2, C + 1, 2, 0, C, 2), NB_ERR_ALIAS, "overlaps B");
}

static void dgemm_reports_its_own_name(void **state) {
    (void)state;
    double a[4] = {0}, b[4] = {0}, c[4] = {0};
    assert_int_equal(nb_dgemm(0, 0, 2, 2, 2, 1, a, 1, b, 2, 0, c, 2), NB_ERR_ARG);
    assert_non_null(strstr(nb_last_error(), "nb_dgemm"));
    assert_non_null(strstr(nb_last_error(), "lda"));
}

static void last_error_is_per_thread_and_kept_until_next_failure(void **state) {
    (void)state; reset();
    assert_int_equal(nb_sgemm(0, 0, -1, 2, 2, 1, A, 2, B, 2, 0, C, 2), NB_ERR_ARG);
    char saved[256];
    strncpy(saved, nb_last_error(), sizeof saved - 1);
    saved[sizeof saved - 1] = 0;
    assert_int_equal(nb_sgemm(0, 0, 2, 2, 2, 1, A, 2, B, 2, 0, C, 2), NB_OK);
    assert_string_equal(nb_last_error(), saved);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_transpose_flag_is_an_arg_error),
        cmocka_unit_test(negative_sizes_are_arg_errors),
        cmocka_unit_test(small_leading_dimensions_are_arg_errors),
        cmocka_unit_test(null_pointers_with_data_are_arg_errors),
        cmocka_unit_test(empty_problems_accept_null_pointers),
        cmocka_unit_test(extents_that_overflow_are_overflow_errors),
        cmocka_unit_test(output_overlapping_an_input_is_an_alias_error),
        cmocka_unit_test(dgemm_reports_its_own_name),
        cmocka_unit_test(last_error_is_per_thread_and_kept_until_next_failure),
    };
    return nbt_run(tests);
}
