/* Bad input to nb_copy_strided: a status, a message naming the function and
 * the argument, and dst left untouched; and the documented overlap policy. */
#include <string.h>

#include "harness.h"
#include "nd_iter.h"

static float S[64], D[64], D0[64];
static const int64_t SH[2] = {4, 8}, ST[2] = {8, 1};

static void reset(void) {
    for (int i = 0; i < 64; i++) { S[i] = (float)i; D[i] = D0[i] = -1.0f - (float)i; }
}

static void expect_error(nb_status got, nb_status want, const char *arg) {
    assert_int_equal(got, want);
    assert_non_null(strstr(nb_last_error(), "nb_copy_strided"));
    if (!strstr(nb_last_error(), arg)) fail_msg("message \"%s\" lacks \"%s\"", nb_last_error(), arg);
    assert_memory_equal(D, D0, sizeof D);
}

static void zero_element_size_is_an_arg_error(void **state) {
    (void)state; reset();
    expect_error(nb_copy_strided(0, 2, SH, S, ST, D, ST), NB_ERR_ARG, "elem_size");
}

static void ndim_out_of_range_is_an_arg_error(void **state) {
    (void)state; reset();
    expect_error(nb_copy_strided(4, -1, SH, S, ST, D, ST), NB_ERR_ARG, "ndim");
    expect_error(nb_copy_strided(4, NB_MAX_DIMS + 1, SH, S, ST, D, ST), NB_ERR_ARG, "ndim");
}

static void null_shape_or_strides_are_arg_errors(void **state) {
    (void)state; reset();
    expect_error(nb_copy_strided(4, 2, NULL, S, ST, D, ST), NB_ERR_ARG, "shape");
    expect_error(nb_copy_strided(4, 2, SH, S, NULL, D, ST), NB_ERR_ARG, "src_strides");
    expect_error(nb_copy_strided(4, 2, SH, S, ST, D, NULL), NB_ERR_ARG, "dst_strides");
}

static void null_data_pointers_are_arg_errors(void **state) {
    (void)state; reset();
    expect_error(nb_copy_strided(4, 2, SH, NULL, ST, D, ST), NB_ERR_ARG, "src is NULL");
    assert_int_equal(nb_copy_strided(4, 2, SH, S, ST, NULL, ST), NB_ERR_ARG);
    assert_non_null(strstr(nb_last_error(), "dst is NULL"));
}

static void negative_shape_is_an_arg_error(void **state) {
    (void)state; reset();
    const int64_t sh[2] = {-4, 8};
    expect_error(nb_copy_strided(4, 2, sh, S, ST, D, ST), NB_ERR_ARG, "shape[0]");
}

static void zero_dst_stride_on_a_dim_of_size_above_one_is_an_arg_error(void **state) {
    (void)state; reset();
    const int64_t ds[2] = {8, 0};
    expect_error(nb_copy_strided(4, 2, SH, S, ST, D, ds), NB_ERR_ARG, "dst_strides[1]");
    /* ...fine on a dim of size 1, and src may have stride 0 anywhere. */
    const int64_t sh[2] = {4, 1}, ss[2] = {0, 0};
    assert_int_equal(nb_copy_strided(4, 2, sh, S, ss, D, ds), NB_OK);
    for (int i = 0; i < 4; i++) assert_true(D[8 * i] == S[0]);
}

static void overflowing_counts_and_extents_are_overflow_errors(void **state) {
    (void)state; reset();
    const int64_t big[3] = {INT64_MAX / 2, 4, 4}, st3[3] = {16, 4, 1};
    expect_error(nb_copy_strided(4, 3, big, S, st3, D, st3), NB_ERR_OVERFLOW, "element count");
    const int64_t huge[2] = {INT64_MAX / 3, 1};
    expect_error(nb_copy_strided(4, 2, SH, S, huge, D, ST), NB_ERR_OVERFLOW, "extent of src");
    expect_error(nb_copy_strided(4, 2, SH, S, ST, D, huge), NB_ERR_OVERFLOW, "extent of dst");
    /* Element offsets fit, byte offsets do not. */
    const int64_t sh1[1] = {2}, st1[1] = {INT64_MAX / 8};
    expect_error(nb_copy_strided(16, 1, sh1, S, st1, D, ST + 1), NB_ERR_OVERFLOW, "extent of src");
}

static void dst_overlapping_a_dense_src_is_an_alias_error(void **state) {
    (void)state; reset();
    expect_error(nb_copy_strided(4, 2, SH, D + 1, ST, D, ST), NB_ERR_ALIAS, "dst overlaps src");
    /* Transposed view of the same dense buffer: same range, dense. */
    const int64_t sh[2] = {8, 8}, tr[2] = {1, 8}, rm[2] = {8, 1};
    expect_error(nb_copy_strided(4, 2, sh, D, tr, D, rm), NB_ERR_ALIAS, "dst overlaps src");
}

static void same_start_address_with_different_strides_is_an_alias_error(void **state) {
    (void)state; reset();
    const int64_t sh[1] = {8}, s2[1] = {2}, s3[1] = {3};
    expect_error(nb_copy_strided(4, 1, sh, D, s2, D, s3), NB_ERR_ALIAS, "dst overlaps src");
}

static void identical_views_are_a_no_op(void **state) {
    (void)state; reset();
    assert_int_equal(nb_copy_strided(4, 2, SH, D, ST, D, ST), NB_OK);
    assert_memory_equal(D, D0, sizeof D);
    /* Strides of size-1 dims do not matter for identity. */
    const int64_t sh[2] = {1, 8}, a[2] = {5, 1}, b[2] = {99, 1};
    assert_int_equal(nb_copy_strided(4, 2, sh, D, a, D, b), NB_OK);
}

static void interleaved_views_with_holes_are_allowed_and_correct(void **state) {
    (void)state; reset();
    /* src = even elements, dst = odd elements of D: no element shared. */
    const int64_t sh[1] = {16}, st[1] = {2};
    assert_int_equal(nb_copy_strided(4, 1, sh, D, st, D + 1, st), NB_OK);
    for (int i = 0; i < 16; i++) {
        assert_true(D[2 * i + 1] == D0[2 * i]);
        assert_true(D[2 * i] == D0[2 * i]);
    }
}

static void empty_copies_accept_null_pointers(void **state) {
    (void)state;
    const int64_t sh[2] = {0, 8};
    assert_int_equal(nb_copy_strided(4, 2, sh, NULL, ST, NULL, ST), NB_OK);
}

static void zero_dim_copy_moves_one_element(void **state) {
    (void)state; reset();
    assert_int_equal(nb_copy_strided(4, 0, NULL, S + 3, NULL, D, NULL), NB_OK);
    assert_true(D[0] == S[3]);
    assert_true(D[1] == D0[1]);
}

/* "Dense" is the header's definition: the view covers its range of
   offsets without holes, whether or not its elements overlap each other. */
static void a_view_is_dense_when_it_covers_its_range_without_holes(void **state) {
    (void)state;
    const int64_t sh22[2] = {2, 2}, sh33[2] = {3, 3}, sh2[1] = {2}, sh23[2] = {2, 3};
    assert_true(nb_view_dense(2, sh22, (const int64_t[]){1, 1}));     /* 0 1 1 2 */
    assert_true(nb_view_dense(2, sh33, (const int64_t[]){1, 1}));     /* 0..4 */
    assert_true(nb_view_dense(2, sh33, (const int64_t[]){2, 1}));     /* 0..6, overlapping */
    assert_true(nb_view_dense(2, sh22, (const int64_t[]){-1, 1}));    /* -1..1 */
    assert_true(nb_view_dense(2, sh23, (const int64_t[]){1, 2}));     /* transposed */
    assert_true(nb_view_dense(2, sh23, (const int64_t[]){0, 1}));     /* broadcast */
    assert_false(nb_view_dense(1, sh2, (const int64_t[]){2}));        /* 0 2 */
    assert_false(nb_view_dense(2, sh22, (const int64_t[]){1, 3}));    /* 0 1 3 4 */
    assert_false(nb_view_dense(2, sh33, (const int64_t[]){3, 2}));    /* 0 2 3 4 5 ... */
}

/* The reproducer: src = {D[0], D[1]; D[1], D[2]} (strides 1, 1)
   covers D[0..2] without holes, so a dst that meets that range overlaps it. */
static void dst_overlapping_a_self_overlapping_dense_src_is_an_alias_error(void **state) {
    (void)state; reset();
    const int64_t sh[2] = {2, 2}, s11[2] = {1, 1}, holes[2] = {4, 2};   /* holes: 0 2 4 6 */
    expect_error(nb_copy_strided(4, 2, sh, D, s11, D + 1, holes), NB_ERR_ALIAS, "dst overlaps src");
    expect_error(nb_copy_strided(4, 2, sh, D + 2, holes, D, s11), NB_ERR_ALIAS, "dst overlaps src");
}

/* Two views with holes whose extreme elements meet: src's last element
   D[6] is dst's first. */
static void views_with_holes_sharing_an_extreme_element_are_an_alias_error(void **state) {
    (void)state; reset();
    const int64_t sh4[1] = {4}, s2[1] = {2}, s3[1] = {3};
    expect_error(nb_copy_strided(4, 1, sh4, D, s2, D + 6, s3), NB_ERR_ALIAS, "dst overlaps src");
}

static void a_self_overlapping_src_disjoint_from_dst_is_copied(void **state) {
    (void)state; reset();
    const int64_t sh[2] = {2, 2}, s11[2] = {1, 1}, rm[2] = {2, 1};
    assert_int_equal(nb_copy_strided(4, 2, sh, D, s11, D + 3, rm), NB_OK);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) assert_true(D[3 + 2 * i + j] == D0[i + j]);
    assert_true(D[2] == D0[2] && D[7] == D0[7]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(zero_element_size_is_an_arg_error),
        cmocka_unit_test(ndim_out_of_range_is_an_arg_error),
        cmocka_unit_test(null_shape_or_strides_are_arg_errors),
        cmocka_unit_test(null_data_pointers_are_arg_errors),
        cmocka_unit_test(negative_shape_is_an_arg_error),
        cmocka_unit_test(zero_dst_stride_on_a_dim_of_size_above_one_is_an_arg_error),
        cmocka_unit_test(overflowing_counts_and_extents_are_overflow_errors),
        cmocka_unit_test(dst_overlapping_a_dense_src_is_an_alias_error),
        cmocka_unit_test(same_start_address_with_different_strides_is_an_alias_error),
        cmocka_unit_test(identical_views_are_a_no_op),
        cmocka_unit_test(interleaved_views_with_holes_are_allowed_and_correct),
        cmocka_unit_test(empty_copies_accept_null_pointers),
        cmocka_unit_test(a_view_is_dense_when_it_covers_its_range_without_holes),
        cmocka_unit_test(dst_overlapping_a_self_overlapping_dense_src_is_an_alias_error),
        cmocka_unit_test(a_self_overlapping_src_disjoint_from_dst_is_copied),
        cmocka_unit_test(views_with_holes_sharing_an_extreme_element_are_an_alias_error),
        cmocka_unit_test(zero_dim_copy_moves_one_element),
    };
    return nbt_run(tests);
}
