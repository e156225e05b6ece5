/* Every row of SEMANTICS.md (PyTorch semantics of the tensor layer) as a
 * test: what copies and what shares storage, reshape/view rules, in-place
 * refusals, empty reductions, NaN propagation, dtype rules. */
#include <stdlib.h>

#include "tensor_util.h"

#define F32 NB_FLOAT32
#define F64 NB_FLOAT64
#define I64 NB_INT64

static int64_t live0;
static int setup(void **s) { (void)s; live0 = nb_tensor_live_count(); return 0; }
/* Every test releases what it made: the live-tensor counter is back. */
static int teardown(void **s) {
    (void)s;
    assert_int_equal(nb_tensor_live_count(), live0);
    return 0;
}
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

static nb_tensor *arange_f32(int ndim, const int64_t *shape) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    nb_tensor *a = nb_arange(0, (double)n, 1, F32);
    nb_tensor *r = nb_reshape(a, ndim, shape);
    nb_tensor_release(a);
    assert_non_null(r);
    return r;
}
#define ARANGE(...) arange_f32(NDIM(__VA_ARGS__), SHAPE(__VA_ARGS__))

/* ---- construction: torch.tensor copies, torch.as_tensor shares ---- */

static void tensor_new_copies_the_user_buffer(void **s) {
    (void)s;
    float buf[6] = {1, 2, 3, 4, 5, 6};
    nb_tensor *t = nb_tensor_new(buf, F32, 2, SHAPE(2, 3));
    buf[4] = 100;
    assert_true(AT(t, 1, 1) == 5);
    assert_ptr_not_equal(nb_tensor_data(t), buf);
    nb_tensor_release(t);
}

static int freed_calls;
static void *freed_ptr;
static void on_free(void *data, void *user) { freed_calls++; freed_ptr = data; assert_ptr_equal(user, &freed_calls); }

static void tensor_wrap_shares_the_buffer_and_frees_it_once_after_the_last_view(void **s) {
    (void)s;
    freed_calls = 0;
    double *buf = malloc(6 * sizeof(double));
    for (int i = 0; i < 6; i++) buf[i] = i;
    nb_tensor *t = nb_tensor_wrap(buf, F64, 2, SHAPE(2, 3), NULL, on_free, &freed_calls);
    assert_ptr_equal(nb_tensor_data(t), buf);
    buf[4] = 42;
    assert_true(AT(t, 1, 1) == 42);                 /* the buffer is the tensor */
    nb_tensor *v = nb_transpose(t, 0, 1);
    nb_tensor_release(t);
    assert_int_equal(freed_calls, 0);               /* the view keeps the buffer alive */
    assert_true(AT(v, 1, 1) == 42);
    nb_tensor_release(v);
    assert_int_equal(freed_calls, 1);
    assert_ptr_equal(freed_ptr, buf);
    free(buf);
}

static void tensor_wrap_without_callback_borrows(void **s) {
    (void)s;
    int64_t labels[3] = {2, 0, 1};
    nb_tensor *t = nb_tensor_wrap(labels, I64, 1, SHAPE(3), NULL, NULL, NULL);
    assert_int_equal(nb_tensor_dtype(t), I64);
    assert_true(AT(t, 0) == 2);
    nb_tensor_release(t);                             /* must not free the stack array */
    assert_int_equal(labels[0], 2);
}

static void creation_functions_fill_as_pytorch(void **s) {
    (void)s;
    nb_tensor *z = nb_zeros(2, SHAPE(2, 2), F64), *o = nb_ones(1, SHAPE(3), I64), *f = nb_full(1, SHAPE(2), F32, 2.5);
    nb_tensor *a = nb_arange(1, 2, 0.25, F64), *e = nb_empty(1, SHAPE(0), F32);
    assert_true(AT(z, 1, 1) == 0 && AT(o, 2) == 1 && AT(f, 1) == 2.5);
    ASSERT_SHAPE(a, 4);
    assert_true(AT(a, 3) == 1.75);
    assert_int_equal(nb_tensor_numel(e), 0);
    nb_tensor *sc = nb_scalar(3, F32);
    assert_int_equal(nb_tensor_ndim(sc), 0);
    assert_true(tu_item(sc) == 3);
    nb_tensor_release(z); nb_tensor_release(o); nb_tensor_release(f); nb_tensor_release(a);
    nb_tensor_release(e); nb_tensor_release(sc);
}

static void seeded_generators_repeat_their_sequence(void **s) {
    (void)s;
    nb_manual_seed(7);
    nb_tensor *a = nb_randn(1, SHAPE(50), F32, NULL);
    nb_manual_seed(7);
    nb_tensor *b = nb_randn(1, SHAPE(50), F32, NULL);
    nb_generator *g = nb_generator_new(7), *h = nb_generator_new(7);
    nb_tensor *c = nb_rand(1, SHAPE(1000), F64, g), *d = nb_rand(1, SHAPE(1000), F64, h);
    assert_memory_equal(nb_tensor_data(a), nb_tensor_data(b), 50 * sizeof(float));
    assert_memory_equal(nb_tensor_data(c), nb_tensor_data(d), 1000 * sizeof(double));
    double mean = 0;
    for (int i = 0; i < 1000; i++) {
        double v = AT(c, i);
        assert_true(v >= 0 && v < 1);
        mean += v / 1000;
    }
    assert_true(fabs(mean - 0.5) < 0.05);
    nb_generator_free(g); nb_generator_free(h);
    nb_tensor_release(a); nb_tensor_release(b); nb_tensor_release(c); nb_tensor_release(d);
}

static void rand_of_integer_dtype_is_a_dtype_error(void **s) {
    (void)s;
    assert_null(nb_rand(1, SHAPE(3), I64, NULL));
    tu_failed_with(NB_ERR_DTYPE, "nb_rand", "int64");
}

/* ---- views share storage, copies do not ---- */

static void views_share_storage(void **s) {
    (void)s;
    nb_tensor *x = ARANGE(2, 3, 4), *sel = nb_select(x, 2, 0);
    nb_tensor *v[] = {
        nb_transpose(x, 0, 2), nb_permute(x, (int[]){2, 0, 1}), nb_narrow(x, 1, 1, 2),
        nb_slice(x, 2, 0, 4, 2), nb_select(x, 0, 1), nb_unsqueeze(x, 1), nb_squeeze(x, 0),
        nb_expand(sel, 3, SHAPE(5, 2, 3)), nb_reshape(x, 2, SHAPE(6, -1)),
        nb_view(x, 1, SHAPE(24)), nb_detach(x), nb_contiguous(x), nb_flatten(x),
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        assert_non_null(v[i]);
        assert_true(nb_tensor_shares_storage(x, v[i]));
    }
    ASSERT_SHAPE(v[7], 5, 2, 3);
    assert_int_equal(nb_tensor_stride(v[7], 0), 0);     /* expand: stride 0 on the new dim */
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) nb_tensor_release(v[i]);
    nb_tensor_release(sel);
    nb_tensor_release(x);
}

static void copies_do_not_share_storage(void **s) {
    (void)s;
    nb_tensor *x = ARANGE(2, 3), *xt = nb_t(x);
    nb_tensor *two[2] = {x, x};
    nb_tensor *c[] = {nb_repeat(x, 2, SHAPE(2, 1)), nb_stack(2, two, 0), nb_cat(2, two, 1),
                      nb_contiguous(xt), nb_clone(x), nb_reshape(xt, 1, SHAPE(-1)), nb_to_dtype(x, F64)};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        assert_non_null(c[i]);
        assert_false(nb_tensor_shares_storage(x, c[i]));
    }
    ASSERT_SHAPE(c[0], 4, 3);
    ASSERT_SHAPE(c[1], 2, 2, 3);
    ASSERT_SHAPE(c[2], 2, 6);
    assert_true(nb_tensor_is_contiguous(c[3]));
    assert_true(AT(c[3], 2, 1) == 5);                 /* x^T [2][1] = x[1][2] */
    assert_true(AT(c[5], 1) == 3);                    /* reshape of x^T reads x^T's order */
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) nb_tensor_release(c[i]);
    nb_tensor_release(xt);
    nb_tensor_release(x);
}

static void writes_through_a_view_are_visible_in_the_base_and_other_views(void **s) {
    (void)s;
    nb_tensor *x = nb_zeros(2, SHAPE(3, 4), F32);
    nb_tensor *col = nb_select(x, 1, 2), *xt = nb_t(x);
    assert_int_equal(nb_fill_(col, 7), NB_OK);
    assert_int_equal(nb_tensor_set(xt, SHAPE(0, 1), 5), NB_OK);
    assert_true(AT(x, 0, 2) == 7 && AT(x, 2, 2) == 7 && AT(x, 0, 1) == 0);
    assert_true(AT(x, 1, 0) == 5);
    assert_true(AT(xt, 2, 1) == 7);
    nb_tensor *row = nb_narrow(x, 0, 1, 1), *one = nb_ones(1, SHAPE(4), F32);
    assert_int_equal(nb_add_(row, one), NB_OK);
    assert_true(AT(x, 1, 0) == 6 && AT(x, 1, 2) == 8 && AT(col, 1) == 8);
    nb_tensor_release(col); nb_tensor_release(xt); nb_tensor_release(row); nb_tensor_release(one);
    nb_tensor_release(x);
}

static void contiguous_returns_the_same_tensor_when_already_contiguous(void **s) {
    (void)s;
    nb_tensor *x = ARANGE(3, 4), *c = nb_contiguous(x);
    assert_ptr_equal(c, x);
    nb_tensor_release(c);
    nb_tensor *xt = nb_t(x), *d = nb_contiguous(xt);
    assert_ptr_not_equal(d, xt);
    assert_false(nb_tensor_shares_storage(d, xt));
    assert_true(nb_tensor_is_contiguous(d) && !nb_tensor_is_contiguous(xt));
    nb_tensor_release(d); nb_tensor_release(xt); nb_tensor_release(x);
}

/* ---- reshape / view ---- */

static void reshape_infers_one_minus_one(void **s) {
    (void)s;
    nb_tensor *x = ARANGE(2, 3, 4), *r = nb_reshape(x, 3, SHAPE(4, -1, 2));
    ASSERT_SHAPE(r, 4, 3, 2);
    assert_true(nb_tensor_shares_storage(x, r));
    assert_true(AT(r, 3, 2, 1) == 23);
    nb_tensor_release(r); nb_tensor_release(x);
}

static void reshape_with_two_minus_ones_is_a_shape_error(void **s) {
    (void)s;
    nb_tensor *x = ARANGE(2, 3, 4);
    assert_null(nb_reshape(x, 2, SHAPE(-1, -1)));
    tu_failed_with(NB_ERR_SHAPE, "nb_reshape", "only one dimension can be inferred");
    nb_tensor_release(x);
}

static void reshape_with_a_size_mismatch_is_a_shape_error(void **s) {
    (void)s;
    nb_tensor *x = ARANGE(2, 3);
    assert_null(nb_reshape(x, 2, SHAPE(4, 2)));
    tu_failed_with(NB_ERR_SHAPE, "nb_reshape", "[4, 2] is invalid for input of size 6");
    assert_null(nb_reshape(x, 2, SHAPE(4, -1)));
    tu_error_mentions("nb_reshape", "invalid");
    nb_tensor_release(x);
}

/* The view-or-copy decision follows the strides (PyTorch's computeStride),
   not just "is contiguous". */
static void reshape_views_when_strides_allow_and_copies_otherwise(void **s) {
    (void)s;
    nb_tensor *x = ARANGE(4, 6);
    nb_tensor *cols = nb_narrow(x, 1, 0, 3);            /* [4, 3], strides [6, 1]: not contiguous */
    assert_false(nb_tensor_is_contiguous(cols));
    nb_tensor *a = nb_reshape(cols, 3, SHAPE(2, 2, 3));  /* splits dim 0 only: a view */
    assert_true(nb_tensor_shares_storage(a, x));
    assert_int_equal(nb_tensor_stride(a, 0), 12);
    nb_tensor *b = nb_reshape(cols, 1, SHAPE(12));        /* merges dims with a gap: a copy */
    assert_false(nb_tensor_shares_storage(b, x));
    assert_true(AT(b, 4) == 7);                           /* cols[1][1] = x[1][1] */
    nb_tensor *ev = nb_slice(x, 1, 0, 6, 2), *f = nb_reshape(ev, 1, SHAPE(12));
    assert_true(nb_tensor_shares_storage(f, x));          /* [4, 3] strides [6, 2] is uniformly strided */
    assert_int_equal(nb_tensor_stride(f, 0), 2);
    nb_tensor_release(ev); nb_tensor_release(f);
    nb_tensor *xt = nb_t(x), *c = nb_reshape(xt, 3, SHAPE(6, 1, 4));   /* inserting size-1 dims: a view */
    assert_true(nb_tensor_shares_storage(c, x));
    nb_tensor_release(a); nb_tensor_release(b); nb_tensor_release(c); nb_tensor_release(xt);
    nb_tensor_release(cols); nb_tensor_release(x);
}

static void view_of_a_non_viewable_tensor_is_an_error_naming_reshape(void **s) {
    (void)s;
    nb_tensor *x = ARANGE(3, 4), *xt = nb_t(x);
    assert_null(nb_view(xt, 1, SHAPE(12)));
    tu_failed_with(NB_ERR_SHAPE, "nb_view", "nb_reshape");
    nb_tensor *v = nb_view(x, 2, SHAPE(2, -1));
    assert_true(nb_tensor_shares_storage(v, x));
    nb_tensor_release(v); nb_tensor_release(xt); nb_tensor_release(x);
}

static void permute_needs_a_permutation(void **s) {
    (void)s;
    nb_tensor *x = ARANGE(2, 3, 4);
    assert_null(nb_permute(x, (int[]){0, 0, 1}));
    tu_failed_with(NB_ERR_ARG, "nb_permute", "permutation");
    assert_null(nb_permute(x, (int[]){0, 1, 3}));
    tu_error_mentions("nb_permute", "out of range");
    nb_tensor *p = nb_permute(x, (int[]){2, 0, -2});
    ASSERT_SHAPE(p, 4, 2, 3);
    assert_true(AT(p, 3, 1, 2) == AT(x, 1, 2, 3));
    nb_tensor_release(p); nb_tensor_release(x);
}

static void stack_needs_equal_shapes(void **s) {
    (void)s;
    nb_tensor *a = ARANGE(2, 3), *b = ARANGE(3, 2);
    nb_tensor *ts[2] = {a, b};
    assert_null(nb_stack(2, ts, 0));
    tu_failed_with(NB_ERR_SHAPE, "nb_stack", "[3, 2]");
    nb_tensor *u[2] = {a, a}, *st = nb_stack(2, u, -1);
    ASSERT_SHAPE(st, 2, 3, 2);
    assert_true(AT(st, 1, 2, 1) == 5);
    nb_tensor_release(st); nb_tensor_release(a); nb_tensor_release(b);
}

static void squeeze_and_unsqueeze_are_views_with_the_right_shapes(void **s) {
    (void)s;
    nb_tensor *x = ARANGE(1, 3, 1), *a = nb_squeeze_all(x), *b = nb_squeeze(x, 1), *c = nb_unsqueeze(x, -1);
    ASSERT_SHAPE(a, 3);
    ASSERT_SHAPE(b, 1, 3, 1);                              /* dim 1 is not size 1: unchanged */
    ASSERT_SHAPE(c, 1, 3, 1, 1);
    assert_true(nb_tensor_shares_storage(a, x) && nb_tensor_shares_storage(c, x));
    nb_tensor_release(a); nb_tensor_release(b); nb_tensor_release(c); nb_tensor_release(x);
}

static void slice_with_step_and_negative_bounds(void **s) {
    (void)s;
    nb_tensor *x = ARANGE(10), *v = nb_slice(x, 0, -7, 100, 3);   /* x[-7::3] = 3, 6, 9 */
    ASSERT_SHAPE(v, 3);
    assert_true(AT(v, 0) == 3 && AT(v, 2) == 9);
    assert_int_equal(nb_tensor_stride(v, 0), 3);
    assert_null(nb_slice(x, 0, 0, 5, 0));
    tu_error_mentions("nb_slice", "step");
    nb_tensor_release(v); nb_tensor_release(x);
}

/* ---- in-place refusals ---- */

static void in_place_write_into_an_expanded_tensor_is_refused(void **s) {
    (void)s;
    nb_tensor *x = ARANGE(3, 1), *e = nb_expand(x, 2, SHAPE(3, 4)), *one = nb_ones(0, NULL, F32);
    assert_int_equal(nb_add_(e, one), NB_ERR_ALIAS);
    tu_error_mentions("nb_add_", "single memory location");
    assert_int_equal(nb_fill_(e, 1), NB_ERR_ALIAS);
    assert_int_equal(nb_tensor_set(e, SHAPE(0, 0), 1), NB_ERR_ALIAS);
    assert_true(AT(x, 1, 0) == 1 && AT(x, 2, 0) == 2);      /* nothing written */
    nb_tensor *c = nb_clone(e);                              /* the documented way out */
    assert_int_equal(nb_add_(c, one), NB_OK);
    nb_tensor_release(c); nb_tensor_release(e); nb_tensor_release(x); nb_tensor_release(one);
}

static void in_place_integer_tensor_with_float_result_is_a_dtype_error(void **s) {
    (void)s;
    nb_tensor *x = nb_ones(1, SHAPE(3), I64), *h = nb_full(1, SHAPE(3), F32, 0.5);
    assert_int_equal(nb_add_(x, h), NB_ERR_DTYPE);
    tu_error_mentions("nb_add_", "int64");
    assert_true(AT(x, 0) == 1);
    nb_tensor_release(x); nb_tensor_release(h);
}

/* ---- reductions ---- */

static void mean_of_an_integer_tensor_is_a_dtype_error_naming_op_and_dtype(void **s) {
    (void)s;
    nb_tensor *x = nb_ones(1, SHAPE(4), I64);
    assert_null(nb_mean_all(x));
    tu_failed_with(NB_ERR_DTYPE, "nb_mean", "int64");
    assert_null(nb_mean(x, 1, (int[]){0}, false));
    tu_failed_with(NB_ERR_DTYPE, "nb_mean", "int64");
    nb_tensor *sm = nb_sum_all(x);                      /* sum of int64 is fine and stays int64 */
    assert_int_equal(nb_tensor_dtype(sm), I64);
    assert_true(tu_item(sm) == 4);
    nb_tensor_release(sm); nb_tensor_release(x);
}

static void sum_of_empty_is_zero_mean_is_nan_max_is_an_error(void **s) {
    (void)s;
    nb_tensor *e = nb_empty(2, SHAPE(0, 3), F32);
    nb_tensor *sm = nb_sum_all(e), *mn = nb_mean_all(e), *s0 = nb_sum(e, 1, (int[]){0}, false);
    assert_true(tu_item(sm) == 0);
    assert_true(isnan(tu_item(mn)));
    ASSERT_SHAPE(s0, 3);
    assert_true(AT(s0, 2) == 0);
    assert_null(nb_max(e, 0, NULL, false));
    tu_failed_with(NB_ERR_SHAPE, "nb_max", "size 0");
    assert_null(nb_min(e, 1, (int[]){0}, false));
    tu_error_mentions("nb_min", "size 0");
    nb_tensor *m1 = nb_max(e, 1, (int[]){1}, false);  /* reducing a non-empty dim of an empty tensor */
    ASSERT_SHAPE(m1, 0);
    nb_tensor_release(m1); nb_tensor_release(sm); nb_tensor_release(mn); nb_tensor_release(s0);
    nb_tensor_release(e);
}

static void max_min_and_relu_propagate_nan(void **s) {
    (void)s;
    nb_tensor *x = nb_tensor_new((float[]){1, NAN, 3, -2}, F32, 1, SHAPE(4));
    nb_tensor *mx = nb_max(x, 0, NULL, false), *mn = nb_min(x, 0, NULL, false), *r = nb_relu(x);
    nb_tensor *am = nb_argmax(x, 0, false);
    assert_true(isnan(tu_item(mx)) && isnan(tu_item(mn)));
    assert_true(isnan(AT(r, 1)) && AT(r, 3) == 0 && AT(r, 2) == 3);
    assert_true(tu_item(am) == 1);                     /* NaN is the maximum, as in torch.argmax */
    nb_tensor_release(x); nb_tensor_release(mx); nb_tensor_release(mn); nb_tensor_release(r);
    nb_tensor_release(am);
}

static void reductions_over_dims_with_keepdim(void **s) {
    (void)s;
    nb_tensor *x = ARANGE(2, 3, 4);
    nb_tensor *a = nb_sum(x, 2, (int[]){0, 2}, false), *b = nb_mean(x, 1, (int[]){-1}, true);
    nb_tensor *c = nb_max(x, 1, (int[]){1}, false), *d = nb_argmax(x, 1, true);
    ASSERT_SHAPE(a, 3);
    assert_true(AT(a, 1) == (4 + 5 + 6 + 7) + (16 + 17 + 18 + 19));
    ASSERT_SHAPE(b, 2, 3, 1);
    assert_true(AT(b, 1, 2, 0) == 21.5);
    ASSERT_SHAPE(c, 2, 4);
    assert_true(AT(c, 1, 3) == 23);
    ASSERT_SHAPE(d, 2, 1, 4);
    assert_int_equal(nb_tensor_dtype(d), I64);
    assert_true(AT(d, 0, 0, 0) == 2);
    assert_null(nb_sum(x, 2, (int[]){1, -2}, false));
    tu_error_mentions("nb_sum", "twice");
    nb_tensor_release(a); nb_tensor_release(b); nb_tensor_release(c); nb_tensor_release(d);
    nb_tensor_release(x);
}

/* ---- broadcasting and dtypes ---- */

static void broadcast_mismatch_names_both_shapes(void **s) {
    (void)s;
    nb_tensor *a = ARANGE(2, 3), *b = ARANGE(4);
    assert_null(nb_add(a, b));
    tu_failed_with(NB_ERR_SHAPE, "nb_add", "shapes [2, 3] and [4] cannot be broadcast");
    nb_tensor_release(a); nb_tensor_release(b);
}

static void binary_ops_promote_dtypes_as_pytorch(void **s) {
    (void)s;
    nb_tensor *f = nb_ones(1, SHAPE(2), F32), *d = nb_ones(1, SHAPE(2), F64), *i = nb_full(1, SHAPE(2), I64, 3);
    nb_tensor *d0 = nb_scalar(2, F64), *i0 = nb_scalar(2, I64);
    struct { nb_tensor *r; nb_dtype want; } cases[] = {
        {nb_add(f, d), F64}, {nb_mul(i, f), F32}, {nb_add(i, i), I64}, {nb_div(i, i), F32},
        {nb_mul(f, d0), F32},            /* a 0-dim tensor of the same category does not promote */
        {nb_mul(i, d0), F64},            /* ... of a higher category does */
        {nb_add(f, i0), F32}, {nb_add_scalar(i, 1), I64}, {nb_add_scalar(i, 0.5), F32},
        {nb_exp(i), F32},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        assert_non_null(cases[k].r);
        if (nb_tensor_dtype(cases[k].r) != cases[k].want) fail_msg("case %zu: got %s", k, nb_dtype_name(nb_tensor_dtype(cases[k].r)));
        nb_tensor_release(cases[k].r);
    }
    nb_tensor *two = nb_full(1, SHAPE(2), I64, 2), *q = nb_div(i, two);
    assert_true(AT(q, 0) == 1.5);                      /* true division */
    nb_tensor_release(q); nb_tensor_release(two);
    nb_tensor_release(f); nb_tensor_release(d); nb_tensor_release(i); nb_tensor_release(d0); nb_tensor_release(i0);
}

static void matmul_of_mixed_dtypes_is_a_dtype_error(void **s) {
    (void)s;
    nb_tensor *a = nb_ones(2, SHAPE(2, 2), F32), *b = nb_ones(2, SHAPE(2, 2), F64);
    assert_null(nb_matmul(a, b));
    tu_failed_with(NB_ERR_DTYPE, "nb_matmul", "float64");
    nb_tensor_release(a); nb_tensor_release(b);
}

static void element_access_checks_indices(void **s) {
    (void)s;
    nb_tensor *x = ARANGE(2, 3);
    double v;
    assert_int_equal(nb_tensor_get(x, SHAPE(-1, -1), &v), NB_OK);
    assert_true(v == 5);
    assert_int_equal(nb_tensor_get(x, SHAPE(2, 0), &v), NB_ERR_ARG);
    tu_error_mentions("nb_tensor_get", "out of range");
    assert_int_equal(nb_tensor_item(x, &v), NB_ERR_SHAPE);
    nb_tensor_release(x);
}

/* ---- errors: NULL, a status, and a message naming the function ---- */

static void bad_arguments_return_null_with_a_message_naming_the_function(void **s) {
    (void)s;
    nb_tensor *x = ARANGE(2, 3), *i = nb_ones(1, SHAPE(3), I64);
    assert_null(nb_empty(9, SHAPE(1, 1, 1, 1, 1, 1, 1, 1, 1), F32));
    tu_failed_with(NB_ERR_ARG, "nb_empty", "ndim");
    assert_null(nb_zeros(2, SHAPE(2, -1), F32));
    tu_failed_with(NB_ERR_ARG, "nb_zeros", "negative");
    assert_null(nb_ones(1, SHAPE(2), (nb_dtype)7));
    tu_failed_with(NB_ERR_DTYPE, "nb_ones", "dtype");
    assert_null(nb_full(2, SHAPE(INT64_MAX / 2, 4), F32, 0));
    tu_failed_with(NB_ERR_OVERFLOW, "nb_full", "overflow");
    assert_null(nb_add(x, NULL));
    tu_failed_with(NB_ERR_ARG, "nb_add", "b is NULL");
    assert_null(nb_transpose(x, 0, 2));
    tu_failed_with(NB_ERR_ARG, "nb_transpose", "dim 2");
    assert_null(nb_narrow(x, 1, 2, 2));
    tu_failed_with(NB_ERR_ARG, "nb_narrow", "exceeds");
    assert_null(nb_select(x, 0, 2));
    tu_failed_with(NB_ERR_ARG, "nb_select", "out of range");
    assert_null(nb_expand(x, 2, SHAPE(4, 3)));
    tu_failed_with(NB_ERR_SHAPE, "nb_expand", "cannot be expanded");
    nb_tensor *xi[2] = {x, i};
    assert_null(nb_cat(2, xi, 0));
    tu_failed_with(NB_ERR_DTYPE, "nb_cat", "int64");
    assert_null(nb_matmul(x, x));
    tu_failed_with(NB_ERR_SHAPE, "nb_matmul", "[2, 3] and [2, 3]");
    assert_null(nb_arange(0, 1, 0, F32));
    tu_failed_with(NB_ERR_ARG, "nb_arange", "step");
    assert_null(nb_repeat(x, 1, SHAPE(2)));
    tu_failed_with(NB_ERR_SHAPE, "nb_repeat", "repeats");
    assert_null(nb_tensor_new(NULL, F32, 1, SHAPE(3)));
    tu_failed_with(NB_ERR_ARG, "nb_tensor_new", "NULL");
    nb_tensor *w = nb_ones(4, SHAPE(2, 4, 3, 3), F32), *img = nb_ones(4, SHAPE(1, 3, 5, 5), F32);
    assert_null(nb_conv2d(img, w, NULL, NULL));
    tu_failed_with(NB_ERR_SHAPE, "nb_conv2d", "input channels");
    assert_null(nb_max_pool2d(img, 7, 7, 0, 0, 0, 0));
    tu_failed_with(NB_ERR_SHAPE, "nb_max_pool2d", "does not fit");
    assert_null(nb_sgd_new(1, &x, -1, 0, 0));
    tu_failed_with(NB_ERR_ARG, "nb_sgd_new", "lr");
    nb_tensor_release(w); nb_tensor_release(img);
    nb_tensor_release(x); nb_tensor_release(i);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        T(tensor_new_copies_the_user_buffer),
        T(tensor_wrap_shares_the_buffer_and_frees_it_once_after_the_last_view),
        T(tensor_wrap_without_callback_borrows),
        T(creation_functions_fill_as_pytorch),
        T(seeded_generators_repeat_their_sequence),
        T(rand_of_integer_dtype_is_a_dtype_error),
        T(views_share_storage),
        T(copies_do_not_share_storage),
        T(writes_through_a_view_are_visible_in_the_base_and_other_views),
        T(contiguous_returns_the_same_tensor_when_already_contiguous),
        T(reshape_infers_one_minus_one),
        T(reshape_with_two_minus_ones_is_a_shape_error),
        T(reshape_with_a_size_mismatch_is_a_shape_error),
        T(reshape_views_when_strides_allow_and_copies_otherwise),
        T(view_of_a_non_viewable_tensor_is_an_error_naming_reshape),
        T(permute_needs_a_permutation),
        T(stack_needs_equal_shapes),
        T(squeeze_and_unsqueeze_are_views_with_the_right_shapes),
        T(slice_with_step_and_negative_bounds),
        T(in_place_write_into_an_expanded_tensor_is_refused),
        T(in_place_integer_tensor_with_float_result_is_a_dtype_error),
        T(mean_of_an_integer_tensor_is_a_dtype_error_naming_op_and_dtype),
        T(sum_of_empty_is_zero_mean_is_nan_max_is_an_error),
        T(max_min_and_relu_propagate_nan),
        T(reductions_over_dims_with_keepdim),
        T(broadcast_mismatch_names_both_shapes),
        T(binary_ops_promote_dtypes_as_pytorch),
        T(matmul_of_mixed_dtypes_is_a_dtype_error),
        T(element_access_checks_indices),
        T(bad_arguments_return_null_with_a_message_naming_the_function),
    };
    return nbt_run(tests);
}
