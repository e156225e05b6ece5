/* Autograd semantics (SEMANTICS.md): graph recording, accumulation,
 * retain_graph, version counter, leaf in-place refusal, no-grad scopes,
 * detach, and that nothing of a graph outlives its output. */
#include <omp.h>
#include <stdlib.h>

#include "tensor_util.h"

#define F32 NB_FLOAT32
#define F64 NB_FLOAT64

static int64_t live0;
static int setup(void **s) { (void)s; live0 = nb_tensor_live_count(); return 0; }
static int teardown(void **s) {
    (void)s;
    assert_true(nb_is_grad_enabled());
    assert_int_equal(nb_tensor_live_count(), live0);
    return 0;
}
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

static nb_tensor *param(double *v, int n) {
    nb_tensor *t = nb_tensor_new(v, F64, 1, SHAPE(n));
    assert_int_equal(nb_tensor_requires_grad_(t, true), NB_OK);
    return t;
}

static void ops_on_tensors_requiring_grad_record_a_node(void **s) {
    (void)s;
    nb_tensor *x = param((double[]){1, 2}, 2), *c = nb_ones(1, SHAPE(2), F64);
    nb_tensor *y = nb_mul(x, c), *z = nb_add(c, c);
    assert_true(nb_tensor_requires_grad(y) && !nb_tensor_is_leaf(y));
    assert_string_equal(nb_tensor_grad_fn_name(y), "nb_mul");
    assert_false(nb_tensor_requires_grad(z));          /* no input requires grad: no node */
    assert_null(nb_tensor_grad_fn_name(z));
    assert_true(nb_tensor_is_leaf(x));
    nb_tensor_release(x); nb_tensor_release(c); nb_tensor_release(y); nb_tensor_release(z);
}

static void requires_grad_is_o1_and_only_for_float_leaves(void **s) {
    (void)s;
    nb_tensor *x = nb_ones(1, SHAPE(3), F32);
    void *p = nb_tensor_data(x);
    assert_int_equal(nb_tensor_requires_grad_(x, true), NB_OK);
    assert_ptr_equal(nb_tensor_data(x), p);
    nb_tensor *y = nb_exp(x);
    assert_int_equal(nb_tensor_requires_grad_(y, false), NB_ERR_STATE);
    tu_error_mentions("nb_tensor_requires_grad_", "not a leaf");
    nb_tensor *i = nb_ones(1, SHAPE(3), NB_INT64);
    assert_int_equal(nb_tensor_requires_grad_(i, true), NB_ERR_DTYPE);
    tu_error_mentions("nb_tensor_requires_grad_", "int64");
    nb_tensor_release(x); nb_tensor_release(y); nb_tensor_release(i);
}

/* y = sum(relu(w * x + b)): hand-derived gradients. */
static void backward_of_a_scalar_fills_leaf_grads(void **s) {
    (void)s;
    nb_tensor *w = param((double[]){2, -1, 3}, 3), *b = param((double[]){0.5, 0.5, -10}, 3);
    nb_tensor *x = nb_tensor_new((double[]){1, 2, 3}, F64, 1, SHAPE(3));
    nb_tensor *wx = nb_mul(w, x), *z = nb_add(wx, b), *r = nb_relu(z), *y = nb_sum_all(r);
    assert_int_equal(nb_backward(y, NULL, false), NB_OK);
    /* z = [2.5, -1.5, -1]: only the first unit is active */
    assert_true(AT(nb_tensor_grad(w), 0) == 1 && AT(nb_tensor_grad(w), 1) == 0 && AT(nb_tensor_grad(w), 2) == 0);
    assert_true(AT(nb_tensor_grad(b), 0) == 1 && AT(nb_tensor_grad(b), 2) == 0);
    assert_null(nb_tensor_grad(x));
    nb_tensor *ts[] = {w, b, x, wx, z, r, y};
    for (int i = 0; i < 7; i++) nb_tensor_release(ts[i]);
}

/* PyTorch's relu backward is threshold_backward(grad, relu(x), 0): zero
   where the output is <= 0, the gradient elsewhere, so at a NaN input
   (NaN <= 0 is false) the gradient passes. Both dtypes (float32 runs the
   ISA's relu-grad micro-kernel, float64 the plain loop), longer than a
   vector so the SIMD body and tail both see a NaN. */
static void relu_gradient_passes_through_a_nan_input(void **s) {
    (void)s;
    const nb_dtype dts[] = {F32, F64};
    for (int d = 0; d < 2; d++) {
        double v[37];
        for (int i = 0; i < 37; i++) v[i] = i % 3 == 0 ? NAN : i % 3 == 1 ? -1.0 - i : 0.5 + i;
        nb_tensor *x64 = nb_tensor_new(v, F64, 1, SHAPE(37));
        nb_tensor *x = nb_to_dtype(x64, dts[d]);
        assert_int_equal(nb_tensor_requires_grad_(x, true), NB_OK);
        nb_tensor *r = nb_relu(x), *y = nb_sum_all(r);
        assert_int_equal(nb_backward(y, NULL, false), NB_OK);
        for (int i = 0; i < 37; i++) {
            const double want = i % 3 == 1 ? 0.0 : 1.0;   /* NaN: passes; negative: 0; positive: 1 */
            if (AT(nb_tensor_grad(x), i) != want)
                fail_msg("dtype %d: x.grad[%d] = %g for x = %g, want %g", (int)dts[d], i,
                         AT(nb_tensor_grad(x), i), v[i], want);
        }
        nb_tensor *ts[] = {x64, x, r, y};
        for (int i = 0; i < 4; i++) nb_tensor_release(ts[i]);
    }
}

/* The relu rule writes into its incoming gradient when nobody else sees
   it (nb__grad_writable): the result must not change, and a gradient
   that other rules or the caller still hold must stay intact. Here
   l = sum(relu(x) * c + relu(x)): the add hands one gradient to both
   branches (shared: not written); the mul's fresh c * g is written in
   place; a gradient the caller passes to nb_backward stays as it was. */
static void relu_gradient_in_place_only_where_unshared(void **s) {
    (void)s;
    double v[21], cv[21];
    for (int i = 0; i < 21; i++) { v[i] = i % 4 == 0 ? NAN : i % 2 ? -1.0 - i : 0.25 * i; cv[i] = 3.0 + i; }
    nb_tensor *x64 = nb_tensor_new(v, F64, 1, SHAPE(21)), *c64 = nb_tensor_new(cv, F64, 1, SHAPE(21));
    nb_tensor *x = nb_to_dtype(x64, F32), *c = nb_to_dtype(c64, F32);
    assert_int_equal(nb_tensor_requires_grad_(x, true), NB_OK);
    nb_tensor *r1 = nb_relu(x), *m = nb_mul(r1, c), *r2 = nb_relu(x), *a = nb_add(m, r2), *l = nb_sum_all(a);
    assert_int_equal(nb_backward(l, NULL, false), NB_OK);
    for (int i = 0; i < 21; i++) {
        const double want = i % 2 && i % 4 ? 0.0 : cv[i] + 1.0;   /* NaN and positive: c + 1 */
        if (AT(nb_tensor_grad(x), i) != want)
            fail_msg("x.grad[%d] = %g for x = %g, want %g", i, AT(nb_tensor_grad(x), i), v[i], want);
    }
    /* a caller's gradient into relu directly: read, never written */
    nb_tensor *x2 = nb_to_dtype(x64, F32), *g = nb_to_dtype(c64, F32);
    assert_int_equal(nb_tensor_requires_grad_(x2, true), NB_OK);
    nb_tensor *r3 = nb_relu(x2);
    assert_int_equal(nb_backward(r3, g, false), NB_OK);
    for (int i = 0; i < 21; i++) {
        if (AT(g, i) != cv[i]) fail_msg("the caller's gradient changed at %d: %g, was %g", i, AT(g, i), cv[i]);
        const double want = i % 2 && i % 4 ? 0.0 : cv[i];
        if (AT(nb_tensor_grad(x2), i) != want) fail_msg("x2.grad[%d] = %g, want %g", i, AT(nb_tensor_grad(x2), i), want);
    }
    nb_tensor *ts[] = {x64, c64, x, c, r1, m, r2, a, l, x2, g, r3};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) nb_tensor_release(ts[i]);
}

static void broadcast_backward_sums_to_the_input_shape(void **s) {
    (void)s;
    nb_tensor *a = param((double[]){1, 2, 3}, 3), *b = nb_ones(2, SHAPE(4, 3), F64);
    nb_tensor *y = nb_add(a, b), *l = nb_sum_all(y);
    assert_int_equal(nb_backward(l, NULL, false), NB_OK);
    ASSERT_SHAPE(nb_tensor_grad(a), 3);
    assert_true(AT(nb_tensor_grad(a), 2) == 4);
    nb_tensor_release(a); nb_tensor_release(b); nb_tensor_release(y); nb_tensor_release(l);
}

static void gradients_accumulate_across_backward_calls_until_zeroed(void **s) {
    (void)s;
    nb_tensor *x = param((double[]){3}, 1);
    for (int k = 1; k <= 3; k++) {
        nb_tensor *y = nb_mul(x, x), *l = nb_sum_all(y);
        assert_int_equal(nb_backward(l, NULL, false), NB_OK);
        assert_true(AT(nb_tensor_grad(x), 0) == 6.0 * k);
        nb_tensor_release(y); nb_tensor_release(l);
    }
    assert_int_equal(nb_tensor_zero_grad(x), NB_OK);
    assert_true(AT(nb_tensor_grad(x), 0) == 0);
    assert_int_equal(nb_tensor_set_grad(x, NULL), NB_OK);
    assert_null(nb_tensor_grad(x));
    nb_tensor_release(x);
}

static void backward_of_a_non_scalar_needs_an_explicit_gradient(void **s) {
    (void)s;
    nb_tensor *x = param((double[]){1, 2}, 2), *y = nb_mul_scalar(x, 3);
    assert_int_equal(nb_backward(y, NULL, false), NB_ERR_SHAPE);
    tu_error_mentions("nb_backward", "scalar outputs");
    nb_tensor *bad = nb_ones(1, SHAPE(3), F64), *g = nb_tensor_new((double[]){1, 10}, F64, 1, SHAPE(2));
    assert_int_equal(nb_backward(y, bad, false), NB_ERR_SHAPE);
    tu_error_mentions("nb_backward", "[3]");
    assert_null(nb_tensor_grad(x));                    /* nothing written by the failures */
    assert_int_equal(nb_backward(y, g, false), NB_OK);
    assert_true(AT(nb_tensor_grad(x), 0) == 3 && AT(nb_tensor_grad(x), 1) == 30);
    nb_tensor_release(x); nb_tensor_release(y); nb_tensor_release(bad); nb_tensor_release(g);
}

static void backward_of_a_tensor_without_grad_is_a_state_error(void **s) {
    (void)s;
    nb_tensor *x = nb_ones(0, NULL, F32);
    assert_int_equal(nb_backward(x, NULL, false), NB_ERR_STATE);
    tu_error_mentions("nb_backward", "does not require grad");
    nb_tensor_release(x);
}

static void second_backward_without_retain_graph_is_a_state_error(void **s) {
    (void)s;
    nb_tensor *x = param((double[]){2}, 1), *y = nb_mul(x, x), *l = nb_sum_all(y);
    assert_int_equal(nb_backward(l, NULL, false), NB_OK);
    assert_int_equal(nb_backward(l, NULL, false), NB_ERR_STATE);
    tu_error_mentions("nb_backward", "second time");
    tu_error_mentions("nb_backward", "retain_graph");
    assert_true(AT(nb_tensor_grad(x), 0) == 4);        /* the failed call wrote nothing */
    nb_tensor_release(x); nb_tensor_release(y); nb_tensor_release(l);
}

static void a_graph_that_saved_nothing_can_be_walked_twice(void **s) {
    (void)s;
    nb_tensor *x = param((double[]){2}, 1), *y = nb_add(x, x), *l = nb_sum_all(y);
    assert_int_equal(nb_backward(l, NULL, false), NB_OK);
    assert_int_equal(nb_backward(l, NULL, false), NB_OK);   /* as torch: nothing was freed */
    assert_true(AT(nb_tensor_grad(x), 0) == 4);
    nb_tensor_release(x); nb_tensor_release(y); nb_tensor_release(l);
}

static void retain_graph_allows_a_second_backward(void **s) {
    (void)s;
    nb_tensor *x = param((double[]){2}, 1), *y = nb_mul(x, x), *l = nb_sum_all(y);
    assert_int_equal(nb_backward(l, NULL, true), NB_OK);
    assert_int_equal(nb_backward(l, NULL, false), NB_OK);
    assert_true(AT(nb_tensor_grad(x), 0) == 8);
    nb_tensor_release(x); nb_tensor_release(y); nb_tensor_release(l);
}

static void modifying_a_saved_tensor_in_place_is_caught_at_backward(void **s) {
    (void)s;
    nb_tensor *w = param((double[]){1, 2}, 2), *x = nb_tensor_new((double[]){3, 4}, F64, 1, SHAPE(2));
    nb_tensor *y = nb_mul(w, x), *l = nb_sum_all(y);         /* mul saved x */
    assert_int_equal(nb_mul_scalar_(x, 2), NB_OK);           /* allowed: x does not require grad */
    assert_int_equal(nb_backward(l, NULL, false), NB_ERR_STATE);
    tu_error_mentions("nb_backward", "nb_mul");
    tu_error_mentions("nb_backward", "in-place");
    assert_null(nb_tensor_grad(w));
    nb_tensor_release(w); nb_tensor_release(x); nb_tensor_release(y); nb_tensor_release(l);
}

/* The counter belongs to the storage: a write through a view or a detached
   alias is seen too, and so is a write to an op's saved output. */
/* mul saves only the operand the needed gradient reads (as PyTorch): a
   change to the other one is fine. */
static void only_the_operands_a_gradient_needs_are_saved(void **s) {
    (void)s;
    nb_tensor *w = param((double[]){1, 2}, 2), *x = nb_tensor_new((double[]){3, 4}, F64, 1, SHAPE(2));
    nb_tensor *y = nb_mul(w, x), *l = nb_sum_all(y);           /* dl/dw = x: x saved, w not */
    nb_no_grad_enter();
    assert_int_equal(nb_add_scalar_(w, 10), NB_OK);
    nb_no_grad_exit();
    assert_int_equal(nb_backward(l, NULL, false), NB_OK);
    assert_true(AT(nb_tensor_grad(w), 1) == 4);
    nb_tensor_release(w); nb_tensor_release(x); nb_tensor_release(y); nb_tensor_release(l);
}

static void version_counter_is_shared_by_views_and_detached_aliases(void **s) {
    (void)s;
    nb_tensor *x = param((double[]){0.1, 0.2, 0.3}, 3);
    nb_tensor *y = nb_exp(x), *l = nb_sum_all(y);            /* exp saved its output y */
    nb_tensor *d = nb_detach(y), *v = nb_narrow(d, 0, 1, 1);
    assert_int_equal(nb_fill_(v, 0), NB_OK);
    assert_int_equal(nb_backward(l, NULL, false), NB_ERR_STATE);
    tu_error_mentions("nb_backward", "nb_exp");
    nb_tensor_release(x); nb_tensor_release(y); nb_tensor_release(l); nb_tensor_release(d); nb_tensor_release(v);
}

static void in_place_on_a_leaf_requiring_grad_is_refused_outside_no_grad(void **s) {
    (void)s;
    nb_tensor *w = param((double[]){1, 2}, 2), *one = nb_ones(1, SHAPE(2), F64);
    assert_int_equal(nb_add_(w, one), NB_ERR_STATE);
    tu_error_mentions("nb_add_", "leaf");
    assert_int_equal(nb_tensor_set(w, SHAPE(0), 5), NB_ERR_STATE);
    assert_true(AT(w, 0) == 1);
    nb_no_grad_enter();
    assert_int_equal(nb_add_(w, one), NB_OK);               /* the optimiser's way */
    nb_no_grad_exit();
    assert_true(AT(w, 0) == 2);
    assert_true(nb_tensor_is_leaf(w));
    nb_tensor_release(w); nb_tensor_release(one);
}

static void no_grad_builds_no_graph_and_nests(void **s) {
    (void)s;
    nb_tensor *x = param((double[]){1, 2}, 2);
    assert_true(nb_is_grad_enabled());
    nb_no_grad_enter();
    nb_no_grad_enter();
    nb_tensor *a = nb_mul(x, x);
    nb_no_grad_exit();
    assert_false(nb_is_grad_enabled());                      /* the outer scope is still active */
    nb_tensor *b = nb_exp(x);
    nb_no_grad_exit();
    assert_true(nb_is_grad_enabled());                       /* restored */
    nb_tensor *c = nb_exp(x);
    assert_false(nb_tensor_requires_grad(a));
    assert_false(nb_tensor_requires_grad(b));
    assert_null(nb_tensor_grad_fn_name(a));
    assert_true(nb_tensor_requires_grad(c));
    nb_tensor_release(x); nb_tensor_release(a); nb_tensor_release(b); nb_tensor_release(c);
}

static void grad_mode_is_per_thread(void **s) {
    (void)s;
    /* qemu-aarch64 on the CI host hangs in thread creation (even a bare
       pthread_create), so the emulated run skips this one. */
    if (getenv("NABLA_QEMU")) skip();
    nb_no_grad_enter();
    int other = -1, threads = 0;
    /* OpenMP, as the library's own threads: a worker never entered no-grad. */
#pragma omp parallel num_threads(2)
    {
#pragma omp critical
        threads++;
        if (omp_get_thread_num() == 1) other = nb_is_grad_enabled();
    }
    assert_false(nb_is_grad_enabled());
    nb_no_grad_exit();
    if (threads == 2) assert_int_equal(other, 1);            /* another thread is not affected */
}

static void detach_shares_storage_and_cuts_the_graph(void **s) {
    (void)s;
    nb_tensor *x = param((double[]){1, 2}, 2), *y = nb_mul_scalar(x, 3);
    nb_tensor *d = nb_detach(y);
    assert_true(nb_tensor_shares_storage(d, y));
    assert_ptr_equal(nb_tensor_data(d), nb_tensor_data(y));
    assert_false(nb_tensor_requires_grad(d));
    assert_true(nb_tensor_is_leaf(d));
    nb_tensor *z = nb_mul(d, x), *l = nb_sum_all(z);
    assert_int_equal(nb_backward(l, NULL, false), NB_OK);
    assert_true(AT(nb_tensor_grad(x), 1) == 6);              /* d is a constant 3x: dl/dx = d */
    nb_tensor_release(x); nb_tensor_release(y); nb_tensor_release(d); nb_tensor_release(z); nb_tensor_release(l);
}

static void in_place_on_a_non_leaf_rebases_its_history(void **s) {
    (void)s;
    nb_tensor *x = param((double[]){1, 2}, 2), *b = param((double[]){5, 5}, 2);
    nb_tensor *y = nb_mul_scalar(x, 2);
    assert_int_equal(nb_add_(y, b), NB_OK);
    assert_string_equal(nb_tensor_grad_fn_name(y), "nb_add_");
    nb_tensor *l = nb_sum_all(y);
    assert_int_equal(nb_backward(l, NULL, false), NB_OK);
    assert_true(AT(nb_tensor_grad(x), 0) == 2 && AT(nb_tensor_grad(b), 1) == 1);
    nb_tensor_release(x); nb_tensor_release(b); nb_tensor_release(y); nb_tensor_release(l);
}

static void in_place_on_a_view_of_a_tensor_requiring_grad_is_refused(void **s) {
    (void)s;
    nb_tensor *x = param((double[]){1, 2}, 2), *y = nb_mul_scalar(x, 2), *v = nb_narrow(y, 0, 0, 1);
    assert_int_equal(nb_add_scalar_(v, 1), NB_ERR_UNSUPPORTED);
    tu_error_mentions("nb_add_scalar_", "view");
    nb_tensor_release(x); nb_tensor_release(y); nb_tensor_release(v);
}

static void writing_a_grad_requiring_value_into_a_plain_view_is_refused(void **s) {
    (void)s;
    nb_tensor *w = param((double[]){1, 2}, 2), *buf = nb_zeros(2, SHAPE(2, 2), F64), *row = nb_select(buf, 0, 0);
    assert_int_equal(nb_copy_(row, w), NB_ERR_UNSUPPORTED);   /* buf would not know its row has history */
    tu_error_mentions("nb_copy_", "nb_stack");
    assert_int_equal(nb_add_(row, w), NB_ERR_UNSUPPORTED);
    assert_true(AT(buf, 0, 1) == 0);
    nb_tensor *ws[2] = {w, w}, *st = nb_stack(2, ws, 0);         /* the supported way */
    assert_true(nb_tensor_requires_grad(st));
    nb_tensor_release(st);
    nb_tensor_release(w); nb_tensor_release(buf); nb_tensor_release(row);
}

static void setting_an_element_of_a_non_leaf_requiring_grad_is_refused(void **s) {
    (void)s;
    nb_tensor *x = param((double[]){1, 2}, 2), *y = nb_mul_scalar(x, 2);
    assert_int_equal(nb_tensor_set(y, SHAPE(0), 7), NB_ERR_UNSUPPORTED);
    tu_error_mentions("nb_tensor_set", "nb_mul_scalar");
    assert_true(AT(y, 0) == 2);
    nb_tensor_release(x); nb_tensor_release(y);
}

/* Gradients flow back through dtype conversions and promotion, and arrive
   in each leaf's own dtype. */
static void gradients_cross_dtype_conversions(void **s) {
    (void)s;
    nb_tensor *x = param((double[]){1.5, -2}, 2);
    nb_tensor *f = nb_ones(1, SHAPE(2), F32);
    nb_tensor_requires_grad_(f, true);
    nb_tensor *x32 = nb_to_dtype(x, F32), *y = nb_mul(x32, x32);      /* float32 */
    nb_tensor *z = nb_mul(y, f), *w = nb_mul(z, x), *l = nb_sum_all(w);   /* float32 * float64 -> float64 */
    assert_int_equal(nb_tensor_dtype(w), F64);
    assert_int_equal(nb_backward(l, NULL, false), NB_OK);
    assert_int_equal(nb_tensor_dtype(nb_tensor_grad(x)), F64);
    assert_int_equal(nb_tensor_dtype(nb_tensor_grad(f)), F32);
    assert_true(fabs(AT(nb_tensor_grad(x), 0) - 3 * 1.5 * 1.5) < 1e-5);   /* d(x^3)/dx */
    assert_true(fabs(AT(nb_tensor_grad(f), 1) - (-8)) < 1e-5);
    nb_tensor *ts[] = {x, f, x32, y, z, w, l};
    for (int i = 0; i < 7; i++) nb_tensor_release(ts[i]);
}

static void a_shared_subgraph_receives_the_sum_of_its_uses(void **s) {
    (void)s;
    nb_tensor *x = param((double[]){3}, 1);
    nb_tensor *h = nb_mul(x, x), *a = nb_exp(h), *b = nb_mul_scalar(h, 2), *c = nb_add(a, b), *l = nb_sum_all(c);
    assert_int_equal(nb_backward(l, NULL, false), NB_OK);
    double want = (exp(9.0) + 2) * 6;
    assert_true(fabs(AT(nb_tensor_grad(x), 0) - want) <= 1e-12 * want);
    nb_tensor *ts[] = {x, h, a, b, c, l};
    for (int i = 0; i < 6; i++) nb_tensor_release(ts[i]);
}

static void a_long_chain_releases_without_deep_recursion(void **s) {
    (void)s;
    nb_tensor *x = param((double[]){1}, 1), *h = nb_tensor_retain(x);
    const int n = getenv("NABLA_QEMU") ? 20000 : 200000;
    for (int i = 0; i < n; i++) {
        nb_tensor *n = nb_add_scalar(h, 0.0);
        nb_tensor_release(h);
        h = n;
    }
    nb_tensor_release(h);                                     /* frees n nodes iteratively */
    nb_tensor_release(x);
}

static void graph_is_freed_with_its_output(void **s) {
    (void)s;
    int64_t before = nb_tensor_live_count();
    nb_tensor *x = param((double[]){1, 2, 3}, 3);
    nb_tensor *y = nb_exp(x), *z = nb_mul(y, x), *l = nb_sum_all(z);
    nb_tensor_release(y);
    nb_tensor_release(z);
    assert_int_equal(nb_backward(l, NULL, false), NB_OK);
    nb_tensor_release(l);
    assert_int_equal(nb_tensor_live_count(), before + 2);     /* x and x.grad */
    nb_tensor_release(x);
    assert_int_equal(nb_tensor_live_count(), before);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        T(ops_on_tensors_requiring_grad_record_a_node),
        T(requires_grad_is_o1_and_only_for_float_leaves),
        T(backward_of_a_scalar_fills_leaf_grads),
        T(relu_gradient_passes_through_a_nan_input),
        T(relu_gradient_in_place_only_where_unshared),
        T(broadcast_backward_sums_to_the_input_shape),
        T(gradients_accumulate_across_backward_calls_until_zeroed),
        T(backward_of_a_non_scalar_needs_an_explicit_gradient),
        T(backward_of_a_tensor_without_grad_is_a_state_error),
        T(second_backward_without_retain_graph_is_a_state_error),
        T(a_graph_that_saved_nothing_can_be_walked_twice),
        T(retain_graph_allows_a_second_backward),
        T(modifying_a_saved_tensor_in_place_is_caught_at_backward),
        T(only_the_operands_a_gradient_needs_are_saved),
        T(version_counter_is_shared_by_views_and_detached_aliases),
        T(in_place_on_a_leaf_requiring_grad_is_refused_outside_no_grad),
        T(no_grad_builds_no_graph_and_nests),
        T(grad_mode_is_per_thread),
        T(detach_shares_storage_and_cuts_the_graph),
        T(in_place_on_a_non_leaf_rebases_its_history),
        T(in_place_on_a_view_of_a_tensor_requiring_grad_is_refused),
        T(writing_a_grad_requiring_value_into_a_plain_view_is_refused),
        T(setting_an_element_of_a_non_leaf_requiring_grad_is_refused),
        T(gradients_cross_dtype_conversions),
        T(a_shared_subgraph_receives_the_sum_of_its_uses),
        T(a_long_chain_releases_without_deep_recursion),
        T(graph_is_freed_with_its_output),
    };
    return nbt_run(tests);
}
