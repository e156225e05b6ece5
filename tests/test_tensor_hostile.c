/* Hostile arguments to the tensor layer: NULL tensors given to the property
 * accessors, and shapes whose element count or byte size does not fit
 * int64. Each is an error value plus a message naming the function, never a
 * crash or a tensor whose numel has wrapped around. */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "tensor_util.h"

static void expect_error(nb_status st, const char *fn) {
    assert_int_equal(nb_last_status(), st);
    assert_non_null(strstr(nb_last_error(), fn));
}

/* A fresh, unrelated error first, so each check sees its own call's. */
static void clear_error(void) { assert_null(nb_zeros(-1, NULL, NB_FLOAT32)); }

static void accessors_of_a_null_tensor_return_error_values(void **s) {
    (void)s;
    clear_error();
    assert_int_equal(nb_tensor_ndim(NULL), -1);
    expect_error(NB_ERR_ARG, "nb_tensor_ndim");
    clear_error();
    assert_int_equal(nb_tensor_numel(NULL), -1);
    expect_error(NB_ERR_ARG, "nb_tensor_numel");
    clear_error();
    assert_int_equal(nb_tensor_size(NULL, 0), -1);
    expect_error(NB_ERR_ARG, "nb_tensor_size");
    clear_error();
    assert_int_equal(nb_tensor_stride(NULL, 0), -1);
    expect_error(NB_ERR_ARG, "nb_tensor_stride");
    clear_error();
    assert_int_equal(nb_tensor_offset(NULL), -1);
    expect_error(NB_ERR_ARG, "nb_tensor_offset");
    clear_error();
    assert_int_equal(nb_dtype_size(nb_tensor_dtype(NULL)), 0);   /* not a dtype */
    expect_error(NB_ERR_ARG, "nb_tensor_dtype");
    clear_error();
    assert_null(nb_tensor_data(NULL));
    expect_error(NB_ERR_ARG, "nb_tensor_data");
    clear_error();
    assert_false(nb_tensor_is_contiguous(NULL));
    expect_error(NB_ERR_ARG, "nb_tensor_is_contiguous");
    clear_error();
    assert_null(nb_tensor_shape(NULL));
    expect_error(NB_ERR_ARG, "nb_tensor_shape");
    clear_error();
    assert_null(nb_tensor_strides(NULL));
    expect_error(NB_ERR_ARG, "nb_tensor_strides");
}

/* The reproducer: 3 x 6148914691236517206 = 2^64 + 2 elements. */
static void expand_refuses_an_element_count_that_overflows(void **s) {
    (void)s;
    nb_tensor *t = nb_zeros(2, SHAPE(1, 1), NB_FLOAT32);
    assert_null(nb_expand(t, 2, SHAPE(3, 6148914691236517206LL)));
    expect_error(NB_ERR_OVERFLOW, "nb_expand");
    assert_null(nb_expand(t, 3, SHAPE(INT64_MAX, 2, -1)));
    expect_error(NB_ERR_OVERFLOW, "nb_expand");
    nb_tensor_release(t);
}

/* 2^62 float32 elements: the count fits, 2^64 bytes do not. */
static void expand_refuses_a_byte_size_that_overflows(void **s) {
    (void)s;
    nb_tensor *t = nb_zeros(1, SHAPE(1), NB_FLOAT32);
    assert_null(nb_expand(t, 2, SHAPE(INT64_C(1) << 61, 2)));
    expect_error(NB_ERR_OVERFLOW, "nb_expand");
    /* 2^60 float32 elements (2^62 bytes) fit: a view of one element. */
    nb_tensor *v = nb_expand(t, 2, SHAPE(INT64_C(1) << 59, 2));
    assert_non_null(v);
    assert_int_equal(nb_tensor_numel(v), INT64_C(1) << 60);
    nb_tensor_release(v);
    nb_tensor_release(t);
}

/* Eight views of 2^60 elements each: the concatenated size is 2^63. */
static void cat_refuses_a_size_that_overflows(void **s) {
    (void)s;
    nb_tensor *one = nb_zeros(1, SHAPE(1), NB_FLOAT32);
    nb_tensor *big = nb_expand(one, 1, SHAPE(INT64_C(1) << 60));
    assert_non_null(big);
    nb_tensor *ts[8] = {big, big, big, big, big, big, big, big};
    assert_null(nb_cat(8, ts, 0));
    expect_error(NB_ERR_OVERFLOW, "nb_cat");
    nb_tensor_release(big);
    nb_tensor_release(one);
}

/* An empty tensor repeated 2^31 x 2^31 times has no element to copy: the
   answer is immediate (not 2^62 empty tile copies). */
static void repeat_of_an_empty_tensor_returns_at_once(void **s) {
    (void)s;
    nb_tensor *t = nb_zeros(1, SHAPE(0), NB_FLOAT32);
    alarm(20);   /* a hang fails the test program instead of the whole suite's timeout */
    nb_tensor *r = nb_repeat(t, 3, SHAPE(INT64_C(1) << 31, INT64_C(1) << 31, 1));
    alarm(0);
    assert_non_null(r);
    assert_int_equal(nb_tensor_numel(r), 0);
    assert_int_equal(nb_tensor_size(r, 0), INT64_C(1) << 31);
    assert_int_equal(nb_tensor_size(r, 2), 0);
    nb_tensor_release(r);
    nb_tensor_release(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accessors_of_a_null_tensor_return_error_values),
        cmocka_unit_test(expand_refuses_an_element_count_that_overflows),
        cmocka_unit_test(expand_refuses_a_byte_size_that_overflows),
        cmocka_unit_test(cat_refuses_a_size_that_overflows),
        cmocka_unit_test(repeat_of_an_empty_tensor_returns_at_once),
    };
    return nbt_run(tests);
}
