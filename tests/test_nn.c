/* The module layer and the optimisers: parameters and children, forward of
 * Linear / Conv2d / Sequential against the functional ops, SGD and Adam
 * updates against their formulas, and a training loop that learns and
 * leaves no tensor behind. */
#include <stdlib.h>
#include <string.h>

#include "tensor_util.h"

#define F32 NB_FLOAT32
#define F64 NB_FLOAT64

static int64_t live0;
static int setup(void **s) { (void)s; live0 = nb_tensor_live_count(); return 0; }
static int teardown(void **s) {
    (void)s;
    assert_int_equal(nb_tensor_live_count(), live0);
    return 0;
}
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

static void linear_module_has_weight_and_bias_with_pytorch_shapes_and_init(void **s) {
    (void)s;
    nb_generator *g = nb_generator_new(1);
    nb_module *m = nb_linear_new(16, 3, true, g);
    assert_string_equal(nb_module_name(m), "Linear");
    nb_tensor *p[4];
    assert_int_equal(nb_module_parameters(m, p, 4), 2);
    ASSERT_SHAPE(p[0], 3, 16);
    ASSERT_SHAPE(p[1], 3);
    assert_true(nb_tensor_requires_grad(p[0]) && nb_tensor_is_leaf(p[0]));
    for (int64_t i = 0; i < 48; i++) assert_true(fabs(((float *)nb_tensor_data(p[0]))[i]) <= 0.25);   /* 1/sqrt(16) */
    nb_module *nob = nb_linear_new(4, 2, false, g);
    assert_int_equal(nb_module_parameters(nob, NULL, 0), 1);
    nb_module_free(m);
    nb_module_free(nob);
    nb_generator_free(g);
}

static void linear_forward_is_x_times_w_transposed_plus_b(void **s) {
    (void)s;
    nb_module *m = nb_linear_new(3, 2, true, NULL);
    nb_tensor *x = RAND(F32, -1, 1, 4, 3), *y = nb_module_forward(m, x);
    nb_tensor *w = nb_module_weight(m), *b = nb_module_bias(m);
    ASSERT_SHAPE(y, 4, 2);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 2; j++) {
            double acc = AT(b, j);
            for (int k = 0; k < 3; k++) acc += AT(x, i, k) * AT(w, j, k);
            assert_true(fabs(AT(y, i, j) - acc) < 1e-5);
        }
    nb_tensor_release(x); nb_tensor_release(y);
    nb_module_free(m);
}

static void sequential_holds_children_and_lists_their_parameters_depth_first(void **s) {
    (void)s;
    nb_module *l1 = nb_linear_new(3, 4, true, NULL), *l2 = nb_linear_new(4, 2, true, NULL);
    nb_module *net = nb_sequential_new(3, (nb_module *[]){l1, nb_relu_new(), l2});
    assert_int_equal(nb_module_num_children(net), 3);
    assert_ptr_equal(nb_module_child(net, 2), l2);
    nb_tensor *p[8];
    assert_int_equal(nb_module_parameters(net, p, 8), 4);
    assert_ptr_equal(p[0], nb_module_weight(l1));
    assert_ptr_equal(p[3], nb_module_bias(l2));
    nb_tensor *x = RAND(F32, -1, 1, 5, 3), *y = nb_module_forward(net, x);
    nb_tensor *h = nb_linear(x, p[0], p[1]), *r = nb_relu(h), *want = nb_linear(r, p[2], p[3]);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 2; j++) assert_true(AT(y, i, j) == AT(want, i, j));
    nb_tensor_release(x); nb_tensor_release(y); nb_tensor_release(h); nb_tensor_release(r); nb_tensor_release(want);
    nb_module_free(net);
}

/* A user-defined module through the vtable: y = x * scale. */
typedef struct { double factor; } scale_impl;
static nb_tensor *scale_forward(nb_module *m, nb_tensor *x) {
    nb_tensor *p;
    nb_module_parameters(m, &p, 1);
    nb_tensor *y = nb_mul(x, p), *z = nb_mul_scalar(y, ((scale_impl *)nb_module_impl(m))->factor);
    nb_tensor_release(y);
    return z;
}
static const nb_module_vtable scale_vt = {"Scale", scale_forward, free};

static void user_modules_plug_into_the_same_interface(void **s) {
    (void)s;
    scale_impl *impl = malloc(sizeof *impl);
    impl->factor = 2;
    nb_module *m = nb_module_new(&scale_vt, impl);
    nb_tensor *p = nb_full(1, SHAPE(3), F32, 1.5);
    nb_tensor_requires_grad_(p, true);
    assert_int_equal(nb_module_add_parameter(m, p), NB_OK);
    nb_tensor_release(p);                                    /* the module holds it */
    nb_module *net = nb_sequential_new(2, (nb_module *[]){m, nb_relu_new()});
    nb_tensor *x = nb_ones(1, SHAPE(3), F32), *y = nb_module_forward(net, x);
    assert_true(AT(y, 1) == 3);
    nb_tensor *l = nb_sum_all(y);
    assert_int_equal(nb_backward(l, NULL, false), NB_OK);
    nb_tensor *pp;
    nb_module_parameters(net, &pp, 1);
    assert_true(AT(nb_tensor_grad(pp), 0) == 2);
    nb_module_zero_grad(net);
    assert_null(nb_tensor_grad(pp));
    nb_tensor_release(x); nb_tensor_release(y); nb_tensor_release(l);
    nb_module_free(net);
}

static void conv2d_module_matches_functional_conv(void **s) {
    (void)s;
    nb_conv2d_params p = nb_conv2d_defaults();
    p.pad_h = p.pad_w = 1;
    nb_module *m = nb_conv2d_new(2, 3, 3, 3, &p, true, NULL);
    ASSERT_SHAPE(nb_module_weight(m), 3, 2, 3, 3);              /* OIHW */
    nb_tensor *x = RAND(F32, -1, 1, 1, 2, 5, 5), *y = nb_module_forward(m, x);
    nb_tensor *want = nb_conv2d(x, nb_module_weight(m), nb_module_bias(m), &p);
    ASSERT_SHAPE(y, 1, 3, 5, 5);
    assert_memory_equal(nb_tensor_data(y), nb_tensor_data(want), 75 * sizeof(float));
    nb_tensor_release(x); nb_tensor_release(y); nb_tensor_release(want);
    nb_module_free(m);
}

/* Two SGD steps with momentum m and weight decay wd from fixed gradients:
   d = g + wd p; buf = d (first step), buf = m buf + d; p -= lr buf. */
static void sgd_with_momentum_and_weight_decay_follows_torch_optim(void **s) {
    (void)s;
    nb_tensor *p = nb_tensor_new((double[]){1.0, -2.0}, F64, 1, SHAPE(2));
    nb_tensor_requires_grad_(p, true);
    nb_optimizer *opt = nb_sgd_new(1, &p, 0.1, 0.9, 0.01);
    double pv[2] = {1.0, -2.0}, buf[2] = {0, 0}, g[2] = {0.5, 0.25};
    for (int step = 0; step < 2; step++) {
        nb_tensor *gt = nb_tensor_new(g, F64, 1, SHAPE(2));
        nb_tensor_set_grad(p, gt);
        nb_tensor_release(gt);
        assert_int_equal(nb_optimizer_step(opt), NB_OK);
        for (int i = 0; i < 2; i++) {
            double d = g[i] + 0.01 * pv[i];
            buf[i] = step == 0 ? d : 0.9 * buf[i] + d;
            pv[i] -= 0.1 * buf[i];
            assert_true(fabs(AT(p, i) - pv[i]) < 1e-15);
        }
    }
    nb_optimizer_zero_grad(opt);
    assert_null(nb_tensor_grad(p));
    assert_int_equal(nb_optimizer_step(opt), NB_OK);           /* no grad: skipped */
    assert_true(fabs(AT(p, 0) - pv[0]) < 1e-15);
    nb_optimizer_free(opt);
    nb_tensor_release(p);
}

static void adam_first_step_moves_each_parameter_by_about_lr(void **s) {
    (void)s;
    nb_tensor *p = nb_tensor_new((double[]){1.0, -2.0, 3.0}, F64, 1, SHAPE(3));
    nb_tensor_requires_grad_(p, true);
    nb_optimizer *opt = nb_adam_new(1, &p, 0.01, 0.9, 0.999, 1e-8, 0);
    nb_tensor *g = nb_tensor_new((double[]){0.5, -4.0, 1e-3}, F64, 1, SHAPE(3));
    nb_tensor_set_grad(p, g);
    assert_int_equal(nb_optimizer_step(opt), NB_OK);
    /* m_hat = g, v_hat = g^2: the step is lr g / (|g| + eps) */
    assert_true(fabs(AT(p, 0) - (1.0 - 0.01 * 0.5 / (0.5 + 1e-8))) < 1e-12);
    assert_true(fabs(AT(p, 1) - (-2.0 + 0.01 * 4.0 / (4.0 + 1e-8))) < 1e-12);
    assert_true(fabs(AT(p, 2) - (3.0 - 0.01 * 1e-3 / (1e-3 + 1e-8))) < 1e-12);
    nb_optimizer_free(opt);
    nb_tensor_release(g);
    nb_tensor_release(p);
}

/* Fit y = 2 x0 - 3 x1 + 0.5 with a Linear(2, 1) and SGD; the loss falls by
   orders of magnitude, and after freeing the model, the optimiser and the
   data, the live-tensor counter is back where it started. */
static void training_loop_learns_and_leaks_nothing(void **s) {
    (void)s;
    nb_generator *g = nb_generator_new(42);
    nb_tensor *x = nb_randn(2, SHAPE(64, 2), F32, g);
    nb_tensor *w_true = nb_tensor_new((float[]){2, -3}, F32, 2, SHAPE(2, 1));
    nb_tensor *xw = nb_matmul(x, w_true), *y = nb_add_scalar(xw, 0.5);
    nb_tensor_release(xw);
    nb_tensor_release(w_true);
    nb_module *model = nb_linear_new(2, 1, true, g);
    nb_tensor *params[2];
    nb_module_parameters(model, params, 2);
    nb_optimizer *opt = nb_sgd_new(2, params, 0.1, 0.9, 0);
    double first = 0, last = 0;
    const int64_t at_start = nb_tensor_live_count();
    for (int step = 0; step < 200; step++) {
        nb_optimizer_zero_grad(opt);
        nb_tensor *pred = nb_module_forward(model, x);
        nb_tensor *loss = nb_mse_loss(pred, y);
        assert_int_equal(nb_backward(loss, NULL, false), NB_OK);
        assert_int_equal(nb_optimizer_step(opt), NB_OK);
        if (step == 0) first = tu_item(loss);
        last = tu_item(loss);
        nb_tensor_release(pred);
        nb_tensor_release(loss);
        /* Nothing of the step's graph remains: only the 2 grads and the 2
           momentum buffers exist beyond what was there before the loop. */
        assert_int_equal(nb_tensor_live_count(), at_start + 4);
    }
    assert_true(last < first * 1e-6);
    assert_true(fabs(AT(params[0], 0, 0) - 2) < 1e-2 && fabs(AT(params[1], 0) - 0.5) < 1e-2);
    nb_optimizer_free(opt);
    nb_module_free(model);
    nb_tensor_release(x);
    nb_tensor_release(y);
    nb_generator_free(g);
}

/* A small classifier: conv -> relu -> pool -> flatten -> linear, trained
   with cross-entropy and Adam, then freed: no tensor left. */
static void cnn_training_step_leaks_nothing(void **s) {
    (void)s;
    nb_generator *g = nb_generator_new(3);
    nb_conv2d_params p = nb_conv2d_defaults();
    p.pad_h = p.pad_w = 1;
    nb_module *conv = nb_conv2d_new(1, 4, 3, 3, &p, true, g);
    nb_module *net = nb_sequential_new(4, (nb_module *[]){conv, nb_relu_new(), nb_flatten_new(), nb_linear_new(4 * 6 * 6, 3, true, g)});
    nb_tensor *params[8];
    int np = nb_module_parameters(net, params, 8);
    assert_int_equal(np, 4);
    nb_optimizer *opt = nb_adam_new(np, params, 1e-2, 0.9, 0.999, 1e-8, 1e-4);
    nb_tensor *x = nb_randn(4, SHAPE(8, 1, 6, 6), F32, g);
    nb_tensor *t = nb_tensor_new((int64_t[]){0, 1, 2, 0, 1, 2, 0, 1}, NB_INT64, 1, SHAPE(8));
    double first = 0, last = 0;
    for (int step = 0; step < 30; step++) {
        nb_optimizer_zero_grad(opt);
        nb_tensor *logits = nb_module_forward(net, x);
        assert_non_null(logits);
        nb_tensor *pooled = nb_max_pool2d(x, 2, 2, 0, 0, 0, 0);   /* exercised alongside */
        nb_tensor *loss = nb_cross_entropy(logits, t);
        assert_int_equal(nb_backward(loss, NULL, false), NB_OK);
        assert_int_equal(nb_optimizer_step(opt), NB_OK);
        if (step == 0) first = tu_item(loss);
        last = tu_item(loss);
        nb_tensor_release(logits); nb_tensor_release(pooled); nb_tensor_release(loss);
    }
    assert_true(last < first * 0.5);
    nb_optimizer_free(opt);
    nb_module_free(net);
    nb_tensor_release(x);
    nb_tensor_release(t);
    nb_generator_free(g);
}

/* ---- ownership: a module has at most one parent and the tree has no cycle ---- */

static void expect_refused(nb_status st, const char *fn, const char *arg) {
    assert_int_not_equal(st, NB_OK);
    assert_non_null(strstr(nb_last_error(), fn));
    assert_non_null(strstr(nb_last_error(), arg));
}

static void add_child_refuses_the_module_itself(void **s) {
    (void)s;
    nb_module *m = nb_relu_new();
    expect_refused(nb_module_add_child(m, m), "nb_module_add_child", "child");
    assert_int_equal(nb_module_num_children(m), 0);
    nb_module_free(m);   /* returns: no cycle to recurse through */
}

static void add_child_refuses_a_module_that_already_has_a_parent(void **s) {
    (void)s;
    nb_module *a = nb_sequential_new(0, NULL), *b = nb_sequential_new(0, NULL), *c = nb_relu_new();
    assert_int_equal(nb_module_add_child(a, c), NB_OK);
    expect_refused(nb_module_add_child(b, c), "nb_module_add_child", "parent");
    expect_refused(nb_module_add_child(a, c), "nb_module_add_child", "parent");
    assert_int_equal(nb_module_num_children(a), 1);
    assert_int_equal(nb_module_num_children(b), 0);
    nb_module_free(a);   /* frees c once */
    nb_module_free(b);
}

static void add_child_refuses_an_ancestor(void **s) {
    (void)s;
    nb_module *a = nb_sequential_new(0, NULL), *b = nb_sequential_new(0, NULL), *c = nb_sequential_new(0, NULL);
    assert_int_equal(nb_module_add_child(a, b), NB_OK);
    assert_int_equal(nb_module_add_child(b, c), NB_OK);
    expect_refused(nb_module_add_child(c, a), "nb_module_add_child", "ancestor");
    expect_refused(nb_module_add_child(c, b), "nb_module_add_child", "parent");
    assert_int_equal(nb_module_num_children(c), 0);
    nb_module_free(a);
}

static void sequential_refuses_a_module_listed_twice_and_leaves_it_to_the_caller(void **s) {
    (void)s;
    nb_module *r = nb_linear_new(2, 2, true, NULL);
    assert_null(nb_sequential_new(2, (nb_module *[]){r, r}));
    assert_non_null(strstr(nb_last_error(), "nb_sequential_new"));
    assert_non_null(strstr(nb_last_error(), "module 1"));
    /* Still the caller's, with no parent: it can be adopted once, freed once. */
    nb_module *net = nb_sequential_new(1, (nb_module *[]){r});
    assert_non_null(net);
    assert_ptr_equal(nb_module_child(net, 0), r);
    nb_module_free(net);
}

static void sequential_refuses_a_module_that_has_a_parent_and_changes_nothing(void **s) {
    (void)s;
    nb_module *r = nb_relu_new(), *l = nb_linear_new(2, 2, false, NULL);
    nb_module *owner = nb_sequential_new(1, (nb_module *[]){r});
    assert_null(nb_sequential_new(2, (nb_module *[]){l, r}));
    assert_non_null(strstr(nb_last_error(), "module 1"));
    assert_int_equal(nb_module_num_children(owner), 1);
    /* l was not adopted by the refused call. */
    nb_module *net = nb_sequential_new(1, (nb_module *[]){l});
    assert_non_null(net);
    nb_module_free(net);
    nb_module_free(owner);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        T(linear_module_has_weight_and_bias_with_pytorch_shapes_and_init),
        T(linear_forward_is_x_times_w_transposed_plus_b),
        T(sequential_holds_children_and_lists_their_parameters_depth_first),
        T(user_modules_plug_into_the_same_interface),
        T(conv2d_module_matches_functional_conv),
        T(sgd_with_momentum_and_weight_decay_follows_torch_optim),
        T(adam_first_step_moves_each_parameter_by_about_lr),
        T(training_loop_learns_and_leaks_nothing),
        T(cnn_training_step_leaks_nothing),
        T(add_child_refuses_the_module_itself),
        T(add_child_refuses_a_module_that_already_has_a_parent),
        T(add_child_refuses_an_ancestor),
        T(sequential_refuses_a_module_listed_twice_and_leaves_it_to_the_caller),
        T(sequential_refuses_a_module_that_has_a_parent_and_changes_nothing),
    };
    return nbt_run(tests);
}
