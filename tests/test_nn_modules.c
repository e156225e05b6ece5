/* Modules of issue 12: shapes, parameter counts and state_dict names
 * against PyTorch's numbers for the same layers (printed by PyTorch 1.13
 * for the same nn.Sequential: they are facts about the layer formulas),
 * train/eval mode, Dropout, pooling/activation/loss modules, and
 * BatchNorm2d: forward and running statistics against a double oracle
 * written here, backward by finite differences and against float64. */
#include <stdlib.h>

#include "nn_gradcheck.h"
#include "nn_models.h"

#define F32 NB_FLOAT32
#define F64 NB_FLOAT64

#define T(f) cmocka_unit_test_setup_teardown(f, tu_live_setup, tu_live_teardown)

static void fashion_cnn_has_pytorchs_parameter_count_names_and_output_shape(void **s) {
    (void)s;
    nb_generator *g = nb_generator_new(1);
    nb_module *m = nbt_fashion_cnn(g);
    nb_tensor *p[16];
    assert_int_equal(nb_module_parameters(m, p, 16), 12);
    int64_t total = 0;
    for (int i = 0; i < 12; i++) total += nb_tensor_numel(p[i]);
    assert_int_equal(total, 421834);   /* sum(p.numel() for p in m.parameters()) */
    static const struct { const char *name; int ndim; int64_t shape[4]; } want[] = {
        {"0.weight", 4, {32, 1, 3, 3}}, {"0.bias", 1, {32}}, {"1.weight", 1, {32}}, {"1.bias", 1, {32}},
        {"1.running_mean", 1, {32}}, {"1.running_var", 1, {32}}, {"1.num_batches_tracked", 0, {0}},
        {"4.weight", 4, {64, 32, 3, 3}}, {"4.bias", 1, {64}}, {"5.weight", 1, {64}}, {"5.bias", 1, {64}},
        {"5.running_mean", 1, {64}}, {"5.running_var", 1, {64}}, {"5.num_batches_tracked", 0, {0}},
        {"9.weight", 2, {128, 3136}}, {"9.bias", 1, {128}}, {"12.weight", 2, {10, 128}}, {"12.bias", 1, {10}}};
    nb_named_tensor sd[32];
    assert_int_equal(nb_module_state_dict(m, sd, 32), 18);
    for (int i = 0; i < 18; i++) {
        assert_string_equal(sd[i].name, want[i].name);
        tu_assert_shape(sd[i].tensor, want[i].ndim, want[i].shape);
    }
    assert_int_equal(nb_tensor_dtype(sd[6].tensor), NB_INT64);
    assert_int_equal(nb_module_named_buffers(m, sd, 32), 6);
    assert_string_equal(sd[2].name, "1.num_batches_tracked");
    assert_string_equal(sd[3].name, "5.running_mean");
    assert_int_equal(nb_module_named_parameters(m, sd, 32), 12);
    assert_string_equal(sd[11].name, "12.bias");
    nb_tensor *x = RAND(F32, 0, 1, 2, 1, 28, 28), *y = nb_module_forward(m, x);
    ASSERT_SHAPE(y, 2, 10);
    nb_tensor_release(x); nb_tensor_release(y);
    nb_module_free(m);
    nb_generator_free(g);
}

static void nested_children_get_dotted_names_and_names_are_checked(void **s) {
    (void)s;
    nb_module *features = nb_sequential_new(2, (nb_module *[]){nb_linear_new(4, 3, true, NULL), nb_relu_new()});
    nb_module *root = nb_sequential_new(0, NULL), *head = nb_linear_new(3, 2, false, NULL);
    assert_int_equal(nb_module_add_child_named(root, "features", features), NB_OK);
    assert_int_equal(nb_module_add_child_named(root, "head", head), NB_OK);
    nb_named_tensor sd[8];
    assert_int_equal(nb_module_named_parameters(root, sd, 8), 3);
    assert_string_equal(sd[0].name, "features.0.weight");
    assert_string_equal(sd[1].name, "features.0.bias");
    assert_string_equal(sd[2].name, "head.weight");
    assert_string_equal(nb_module_child_name(root, 1), "head");
    nb_module *r = nb_relu_new();
    assert_int_equal(nb_module_add_child_named(root, "head", r), NB_ERR_ARG);
    tu_error_mentions("nb_module_add_child_named", "child of the module has this name");
    assert_int_equal(nb_module_add_child_named(root, "a.b", r), NB_ERR_ARG);
    assert_int_equal(nb_module_add_child_named(root, "", r), NB_ERR_ARG);
    nb_tensor *t = nb_zeros(1, SHAPE(2), F32);
    assert_int_equal(nb_module_add_buffer(head, "weight", t), NB_ERR_ARG);   /* a parameter has it */
    assert_int_equal(nb_module_add_buffer(head, "scale", t), NB_OK);
    assert_ptr_equal(nb_module_buffer(head, "scale"), t);
    assert_null(nb_module_buffer(head, "nope"));
    assert_int_equal(nb_module_state_dict(root, sd, 8), 4);
    assert_string_equal(sd[3].name, "head.scale");
    nb_tensor_release(t);
    nb_module_free(r);
    nb_module_free(root);
}

static void train_and_eval_reach_every_descendant(void **s) {
    (void)s;
    nb_module *inner = nb_sequential_new(1, (nb_module *[]){nb_dropout_new(0.5, 1)});
    nb_module *m = nb_sequential_new(2, (nb_module *[]){nb_relu_new(), inner});
    assert_true(nb_module_is_training(m) && nb_module_is_training(nb_module_child(inner, 0)));
    assert_int_equal(nb_module_train(m, false), NB_OK);
    assert_false(nb_module_is_training(m));
    assert_false(nb_module_is_training(nb_module_child(inner, 0)));
    assert_int_equal(nb_module_train(inner, true), NB_OK);   /* a subtree only */
    assert_true(nb_module_is_training(nb_module_child(inner, 0)));
    assert_false(nb_module_is_training(m));
    nb_module_free(m);
}

static void dropout_zeroes_about_p_scales_the_rest_and_is_the_identity_in_eval(void **s) {
    (void)s;
    nb_module *d = nb_dropout_new(0.25, 99), *d2 = nb_dropout_new(0.25, 99);
    nb_tensor *x = nb_full(1, SHAPE(20000), F32, 3);
    nb_tensor_requires_grad_(x, true);
    nb_tensor *y = nb_module_forward(d, x), *y2 = nb_module_forward(d2, x);
    int zeros = 0;
    for (int64_t i = 0; i < 20000; i++) {
        const float v = ((float *)nb_tensor_data(y))[i];
        assert_true(v == 0 || v == 4.0f);   /* 3 / (1 - 0.25) */
        zeros += v == 0;
    }
    assert_true(zeros > 4700 && zeros < 5300);   /* 5000 expected, sigma 61 */
    assert_memory_equal(nb_tensor_data(y), nb_tensor_data(y2), 20000 * sizeof(float));   /* same seed */
    nb_tensor *l = nb_sum_all(y);
    assert_int_equal(nb_backward(l, NULL, false), NB_OK);
    for (int64_t i = 0; i < 20000; i += 97)
        assert_true(AT(nb_tensor_grad(x), i) == (AT(y, i) == 0 ? 0 : (double)(float)(1 / 0.75)));
    nb_module_train(d, false);
    nb_tensor *e = nb_module_forward(d, x);
    assert_ptr_equal(e, x);
    nb_tensor_release(e); nb_tensor_release(l); nb_tensor_release(y); nb_tensor_release(y2); nb_tensor_release(x);
    nb_module_free(d); nb_module_free(d2);
}

static void pool_and_activation_modules_equal_their_functions(void **s) {
    (void)s;
    nb_tensor *x = RAND(F32, -2, 2, 2, 3, 7, 6);
    nb_module *mods[5] = {nb_max_pool2d_new(3, 2, 2, 0, 1, 1), nb_avg_pool2d_new(2, 2, 0, 0, 0, 0), nb_gelu_new(),
                          nb_tanh_new(), nb_sigmoid_new()};
    nb_tensor *want[5] = {nb_max_pool2d(x, 3, 2, 2, 2, 1, 1), nb_avg_pool2d(x, 2, 2, 2, 2, 0, 0), nb_gelu(x),
                          nb_tanh(x), nb_sigmoid(x)};
    ASSERT_SHAPE(want[0], 2, 3, 4, 4);   /* floor((7 + 2 - 3) / 2) + 1, floor((6 + 2 - 2) / 2) + 1 */
    static const char *names[5] = {"MaxPool2d", "AvgPool2d", "GELU", "Tanh", "Sigmoid"};
    for (int i = 0; i < 5; i++) {
        nb_tensor *y = nb_module_forward(mods[i], x);
        assert_string_equal(nb_module_name(mods[i]), names[i]);
        tu_assert_shape(y, nb_tensor_ndim(want[i]), nb_tensor_shape(want[i]));
        assert_memory_equal(nb_tensor_data(y), nb_tensor_data(want[i]), (size_t)nb_tensor_numel(y) * sizeof(float));
        nb_tensor_release(y); nb_tensor_release(want[i]);
        nb_module_free(mods[i]);
    }
    assert_null(nb_max_pool2d_new(2, 2, 0, 0, 2, 0));   /* padding above kernel / 2 */
    tu_failed_with(NB_ERR_ARG, "nb_max_pool2d_new", "padding");
    nb_tensor_release(x);
}

static void loss_modules_take_two_inputs_and_refuse_one(void **s) {
    (void)s;
    nb_module *ce = nb_cross_entropy_loss_new(NB_IGNORE_INDEX, NB_REDUCTION_SUM), *mse = nb_mse_loss_new(NB_REDUCTION_MEAN);
    nb_tensor *x = RAND(F32, -1, 1, 4, 5), *t = nb_tensor_new((int64_t[]){1, -100, 4, 0}, NB_INT64, 1, SHAPE(4));
    nb_tensor *a = nb_module_forward2(ce, x, t), *b = nb_cross_entropy_ex(x, t, -100, NB_REDUCTION_SUM);
    assert_true(tu_item(a) == tu_item(b));
    nb_tensor *c = nb_module_forward2(mse, x, x);
    assert_true(tu_item(c) == 0);
    assert_null(nb_module_forward(ce, x));
    tu_failed_with(NB_ERR_ARG, "nb_module_forward", "two inputs");
    nb_module *lin = nb_linear_new(5, 2, true, NULL);
    assert_null(nb_module_forward2(lin, x, x));
    tu_failed_with(NB_ERR_ARG, "nb_module_forward2", "one input");
    assert_string_equal(nb_module_name(ce), "CrossEntropyLoss");
    nb_tensor_release(x); nb_tensor_release(t); nb_tensor_release(a); nb_tensor_release(b); nb_tensor_release(c);
    nb_module_free(ce); nb_module_free(mse); nb_module_free(lin);
}

static void linear_and_conv_init_is_kaiming_uniform_a_sqrt5_and_reproducible(void **s) {
    (void)s;
    /* kaiming_uniform_(a=sqrt(5)): bound = sqrt(6 / ((1 + 5) fan_in)) = 1 / sqrt(fan_in);
       the bias: uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)). fan_in = 8 * 3 * 3. */
    nb_generator *g1 = nb_generator_new(5), *g2 = nb_generator_new(5);
    nb_module *a = nb_conv2d_new(8, 64, 3, 3, NULL, true, g1), *b = nb_conv2d_new(8, 64, 3, 3, NULL, true, g2);
    const double bound = 1 / sqrt(72.0);
    const float *w = nb_tensor_data(nb_module_weight(a));
    double mx = 0, sq = 0;
    for (int i = 0; i < 64 * 72; i++) { mx = fmax(mx, fabs(w[i])); sq += (double)w[i] * w[i]; }
    assert_true(mx <= bound && mx > 0.98 * bound);
    assert_true(fabs(sq / (64 * 72) - bound * bound / 3) < 0.05 * bound * bound / 3);   /* uniform's variance */
    for (int i = 0; i < 64; i++) assert_true(fabs(AT(nb_module_bias(a), i)) <= bound);
    assert_memory_equal(w, nb_tensor_data(nb_module_weight(b)), 64 * 72 * sizeof(float));
    nb_module_free(a); nb_module_free(b);
    nb_generator_free(g1); nb_generator_free(g2);
}

/* ---- BatchNorm2d ---- */

/* The oracle: per-channel mean / biased variance of x in double. */
static void bn_oracle_stats(const nb_tensor *x, int64_t c, double *mean, double *var) {
    const int64_t *sh = nb_tensor_shape(x);
    double s = 0, q = 0, M = (double)(sh[0] * sh[2] * sh[3]);
    for (int64_t n = 0; n < sh[0]; n++)
        for (int64_t h = 0; h < sh[2]; h++)
            for (int64_t w = 0; w < sh[3]; w++) s += AT(x, n, c, h, w);
    *mean = s / M;
    for (int64_t n = 0; n < sh[0]; n++)
        for (int64_t h = 0; h < sh[2]; h++)
            for (int64_t w = 0; w < sh[3]; w++) q += (AT(x, n, c, h, w) - *mean) * (AT(x, n, c, h, w) - *mean);
    *var = q / M;
}

static void batchnorm2d_training_step_matches_hand_computed_values(void **s) {
    (void)s;
    nb_module *bn = nb_batch_norm2d_new(3, 1e-5, 0.1, true);
    nb_no_grad_enter();
    for (int c = 0; c < 3; c++) {   /* weight 1 + c / 2, bias c - 1 */
        nb_tensor_set(nb_module_weight(bn), SHAPE(c), 1 + c / 2.0);
        nb_tensor_set(nb_module_bias(bn), SHAPE(c), c - 1.0);
    }
    nb_no_grad_exit();
    nb_tensor *x = RAND(F32, -3, 5, 4, 3, 5, 2), *y = nb_module_forward(bn, x);
    const double M = 4 * 5 * 2;
    for (int c = 0; c < 3; c++) {
        double mean, var;
        bn_oracle_stats(x, c, &mean, &var);
        for (int n = 0; n < 4; n++)
            for (int h = 0; h < 5; h++)
                for (int w = 0; w < 2; w++) {
                    const double want = (AT(x, n, c, h, w) - mean) / sqrt(var + 1e-5) * (1 + c / 2.0) + (c - 1.0);
                    assert_true(fabs(AT(y, n, c, h, w) - want) < 1e-5);
                }
        /* running stats from (0, 1): momentum 0.1, unbiased variance */
        assert_true(fabs(AT(nb_module_buffer(bn, "running_mean"), c) - 0.1 * mean) < 1e-6);
        assert_true(fabs(AT(nb_module_buffer(bn, "running_var"), c) - (0.9 + 0.1 * var * M / (M - 1))) < 1e-6);
    }
    assert_true(tu_item(nb_module_buffer(bn, "num_batches_tracked")) == 1);
    /* eval: the running statistics, and no update */
    nb_module_train(bn, false);
    nb_tensor *e = nb_module_forward(bn, x);
    for (int c = 0; c < 3; c++) {
        const double rm = AT(nb_module_buffer(bn, "running_mean"), c), rv = AT(nb_module_buffer(bn, "running_var"), c);
        const double want = (AT(x, 1, c, 2, 1) - rm) / sqrt(rv + 1e-5) * (1 + c / 2.0) + (c - 1.0);
        assert_true(fabs(AT(e, 1, c, 2, 1) - want) < 1e-5);
    }
    assert_true(tu_item(nb_module_buffer(bn, "num_batches_tracked")) == 1);
    nb_tensor_release(x); nb_tensor_release(y); nb_tensor_release(e);
    nb_module_free(bn);
}

typedef struct { nb_tensor *w, *b, *rm, *rv, *x; bool training; int which; } bn_ctx;
/* f(v) = batch_norm with v in the place of x, weight or bias. */
static nb_tensor *bn_of(void *c, nb_tensor *v) {
    bn_ctx *k = c;
    nb_tensor *x = k->which == 0 ? v : k->x, *w = k->which == 1 ? v : k->w, *b = k->which == 2 ? v : k->b;
    return nb_batch_norm(x, k->training ? NULL : k->rm, k->training ? NULL : k->rv, w, b, k->training, 0.1, 1e-5);
}

static void batch_norm_backward_passes_finite_differences_in_train_and_eval(void **s) {
    (void)s;
    bn_ctx k = {RAND(F64, 0.5, 1.5, 3), RAND(F64, -1, 1, 3), RAND(F64, -1, 1, 3), RAND(F64, 0.5, 2, 3),
                RAND(F64, -2, 2, 2, 3, 3, 2), true, 0};
    nb_tensor *ts[3] = {k.x, k.w, k.b};
    for (int mode = 0; mode < 2; mode++)
        for (int which = 0; which < 3; which++) {
            k.training = mode == 0;
            k.which = which;
            nb_tensor_requires_grad_(ts[which], true);
            ngc_check(bn_of, &k, ts[which], 1e-7, 1e-5);
            nb_tensor_requires_grad_(ts[which], false);
        }
    nb_tensor_release(k.w); nb_tensor_release(k.b); nb_tensor_release(k.rm); nb_tensor_release(k.rv); nb_tensor_release(k.x);
}

/* float32 gradients against the same computation in float64 (itself
   checked by finite differences above). */
static void batch_norm_float32_gradients_match_the_float64_oracle(void **s) {
    (void)s;
    nb_tensor *x64 = RAND(F64, -2, 2, 8, 4, 6, 6), *w64 = RAND(F64, 0.5, 1.5, 4), *b64 = RAND(F64, -1, 1, 4);
    nb_tensor *x32 = nb_to_dtype(x64, F32), *w32 = nb_to_dtype(w64, F32), *b32 = nb_to_dtype(b64, F32);
    nb_tensor *g64 = RAND(F64, -1, 1, 8, 4, 6, 6), *g32 = nb_to_dtype(g64, F32);
    nb_tensor *leaves[2][3] = {{x64, w64, b64}, {x32, w32, b32}};
    for (int d = 0; d < 2; d++) {
        for (int i = 0; i < 3; i++) nb_tensor_requires_grad_(leaves[d][i], true);
        nb_tensor *y = nb_batch_norm(leaves[d][0], NULL, NULL, leaves[d][1], leaves[d][2], true, 0.1, 1e-5);
        assert_int_equal(nb_backward(y, d ? g32 : g64, false), NB_OK);
        nb_tensor_release(y);
    }
    for (int i = 0; i < 3; i++) {
        const nb_tensor *a = nb_tensor_grad(leaves[0][i]), *b = nb_tensor_grad(leaves[1][i]);
        for (int64_t j = 0; j < nb_tensor_numel(a); j++) {
            const double want = ((const double *)nb_tensor_data(a))[j], got = ((const float *)nb_tensor_data(b))[j];
            if (!(fabs(got - want) <= 1e-5 + 1e-4 * fabs(want))) fail_msg("input %d element %lld: %g vs %g", i, (long long)j, got, want);
        }
    }
    nb_tensor *all[] = {x64, w64, b64, x32, w32, b32, g64, g32};
    for (int i = 0; i < 8; i++) nb_tensor_release(all[i]);
}

static void batch_norm_refuses_one_value_per_channel_in_training_and_eval_without_stats(void **s) {
    (void)s;
    nb_tensor *x = RAND(F32, -1, 1, 1, 3, 1, 1);
    assert_null(nb_batch_norm(x, NULL, NULL, NULL, NULL, true, 0.1, 1e-5));
    tu_failed_with(NB_ERR_SHAPE, "nb_batch_norm", "more than 1 value per channel");
    assert_null(nb_batch_norm(x, NULL, NULL, NULL, NULL, false, 0.1, 1e-5));
    tu_failed_with(NB_ERR_ARG, "nb_batch_norm", "running_mean");
    nb_module *bn = nb_batch_norm2d_new(4, 1e-5, 0.1, false);   /* 3 channels given 4 */
    nb_tensor *x2 = RAND(F32, -1, 1, 2, 3, 2, 2);
    assert_null(nb_module_forward(bn, x2));
    tu_failed_with(NB_ERR_SHAPE, "nb_batch_norm", "running_mean");
    assert_int_equal(nb_module_parameters(bn, NULL, 0), 0);   /* affine false */
    nb_tensor_release(x); nb_tensor_release(x2);
    nb_module_free(bn);
}

/* Conv-BN-ReLU-MaxPool-Flatten-Dropout-Linear trained with AdamW and a
   cosine schedule on a synthetic task (the class is the quadrant holding
   the brightest pixel): the loss falls, eval mode is deterministic, and no
   tensor outlives the run. */
static void a_small_cnn_with_batchnorm_and_dropout_learns_with_adamw(void **s) {
    (void)s;
    nb_generator *g = nb_generator_new(11);
    nb_conv2d_params p = nb_conv2d_defaults();
    p.pad_h = p.pad_w = 1;
    nb_module *m = nb_sequential_new(7, (nb_module *[]){nb_conv2d_new(1, 4, 3, 3, &p, true, g),
                                                        nb_batch_norm2d_new(4, 1e-5, 0.1, true), nb_relu_new(),
                                                        nb_max_pool2d_new(2, 2, 0, 0, 0, 0), nb_flatten_new(),
                                                        nb_dropout_new(0.1, 5), nb_linear_new(4 * 4 * 4, 4, true, g)});
    nb_module *ce = nb_cross_entropy_loss_new(NB_IGNORE_INDEX, NB_REDUCTION_MEAN);
    nb_tensor *params[8];
    const int np = nb_module_parameters(m, params, 8);
    nb_optimizer *o = nb_adamw_new(np, params, 0.02, 0.9, 0.999, 1e-8, 0.01);
    nb_lr_scheduler *sc = nb_cosine_lr_new(o, 60, 0.001);
    nb_tensor *x = nb_rand(4, SHAPE(32, 1, 8, 8), NB_FLOAT32, g), *y = nb_empty(1, SHAPE(32), NB_INT64);
    for (int i = 0; i < 32; i++) {   /* a bright pixel in quadrant i % 4 */
        const int q = i % 4, r = (q / 2) * 4 + 1 + i % 3, c = (q % 2) * 4 + 2 - i % 2;
        nb_tensor_set(x, SHAPE(i, 0, r, c), 4.0);
        nb_tensor_set(y, SHAPE(i), q);
    }
    double first = 0, last = 0;
    for (int step = 0; step < 60; step++) {
        nb_optimizer_zero_grad(o);
        nb_tensor *logits = nb_module_forward(m, x), *loss = nb_module_forward2(ce, logits, y);
        assert_non_null(loss);
        if (step == 0) first = tu_item(loss);
        last = tu_item(loss);
        assert_int_equal(nb_backward(loss, NULL, false), NB_OK);
        assert_int_equal(nb_optimizer_step(o), NB_OK);
        assert_int_equal(nb_lr_scheduler_step(sc), NB_OK);
        nb_tensor_release(logits);
        nb_tensor_release(loss);
    }
    assert_true(last < 0.3 * first);
    nb_module_train(m, false);
    nb_tensor *a = nb_module_forward(m, x), *b = nb_module_forward(m, x);
    assert_memory_equal(nb_tensor_data(a), nb_tensor_data(b), 32 * 4 * sizeof(float));   /* no dropout, fixed stats */
    nb_tensor *pred = nb_argmax(a, 1, false);
    int right = 0;
    for (int i = 0; i < 32; i++) right += AT(pred, i) == AT(y, i);
    assert_true(right >= 28);
    nb_tensor_release(a); nb_tensor_release(b); nb_tensor_release(pred); nb_tensor_release(x); nb_tensor_release(y);
    nb_lr_scheduler_free(sc);
    nb_optimizer_free(o);
    nb_module_free(ce);
    nb_module_free(m);
    nb_generator_free(g);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        T(fashion_cnn_has_pytorchs_parameter_count_names_and_output_shape),
        T(nested_children_get_dotted_names_and_names_are_checked),
        T(train_and_eval_reach_every_descendant),
        T(dropout_zeroes_about_p_scales_the_rest_and_is_the_identity_in_eval),
        T(pool_and_activation_modules_equal_their_functions),
        T(loss_modules_take_two_inputs_and_refuse_one),
        T(linear_and_conv_init_is_kaiming_uniform_a_sqrt5_and_reproducible),
        T(batchnorm2d_training_step_matches_hand_computed_values),
        T(batch_norm_backward_passes_finite_differences_in_train_and_eval),
        T(batch_norm_float32_gradients_match_the_float64_oracle),
        T(batch_norm_refuses_one_value_per_channel_in_training_and_eval_without_stats),
        T(a_small_cnn_with_batchnorm_and_dropout_learns_with_adamw),
    };
    return nbt_run(tests);
}
