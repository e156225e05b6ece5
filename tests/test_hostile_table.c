/* A NULL/hostile-argument table for every public function of
 * include/nabla/tensor.h, autograd.h and nn.h: NULL tensors, modules,
 * optimisers and pointers, bad dtypes, dims, axes, sizes and counts. Each
 * call runs in a forked child (tests/hostile_table.h): it must return the
 * error value its header promises with nb_last_error() naming it, never
 * crash or hang. The list of functions the table must cover is generated
 * from the headers at build time (scripts/check_exports.py --emit-names),
 * so a new function without a hostile call fails the last test. */
#include <math.h>

#include "hostile_table.h"
#include "hostile_names.h"

#define S(...) (int64_t[]){__VA_ARGS__}
#define BADT ((nb_dtype)99)

static nb_tensor *F, *F3, *I, *L, *Y, *X4, *W4, *E;   /* fixtures, made before the children fork */
static nb_module *M, *M2;
static nb_optimizer *O;

static void make_fixtures(void) {
    F = nb_zeros(2, S(2, 3), NB_FLOAT32);               /* a float32 [2, 3] */
    F3 = nb_zeros(3, S(2, 3, 4), NB_FLOAT32);
    I = nb_zeros(1, S(2), NB_INT64);                    /* int64 [2] */
    L = nb_ones(2, S(2, 3), NB_FLOAT32);                /* a leaf that requires grad */
    nb_tensor_requires_grad_(L, true);
    Y = nb_mul_scalar(L, 2.0);                          /* a non-leaf, non-scalar */
    X4 = nb_zeros(4, S(1, 2, 5, 5), NB_FLOAT32);        /* NCHW */
    W4 = nb_zeros(4, S(3, 2, 3, 3), NB_FLOAT32);        /* OIHW */
    nb_tensor *one = nb_zeros(1, S(1), NB_FLOAT32);
    E = nb_expand(one, 1, S(4));                        /* overlapping elements */
    nb_tensor_release(one);
    M = nb_linear_new(3, 2, true, NULL);
    M2 = nb_relu_new();
    nb_tensor *p[2] = {nb_module_weight(M), nb_module_bias(M)};
    O = nb_sgd_new(2, p, 0.1, 0.9, 0.0);
    assert_true(F && F3 && I && L && Y && X4 && W4 && E && M && M2 && O);
}

static void creation_and_properties(void) {
    float buf[6] = {0};
    double d;
    HA0(nb_last_status);
    HA(nb_dtype_name, BADT);
    if (h_child("nb_dtype_size", "BADT")) h_answer("nb_dtype_size", "BADT", nb_dtype_size(BADT) == 0);
    HN(nb_tensor_new, NULL, NB_FLOAT32, 1, S(3));
    HN(nb_tensor_new, buf, NB_FLOAT32, 1, NULL);
    HN(nb_tensor_new, buf, NB_FLOAT32, -1, S(3));
    HN(nb_tensor_new, buf, NB_FLOAT32, 9, S(1, 1, 1, 1, 1, 1, 1, 1, 1));
    HN(nb_tensor_new, buf, NB_FLOAT32, 1, S(-3));
    HN(nb_tensor_new, buf, BADT, 1, S(3));
    HN(nb_tensor_wrap, NULL, NB_FLOAT32, 1, S(3), NULL, NULL, NULL);
    HN(nb_tensor_wrap, buf, NB_FLOAT32, 1, NULL, NULL, NULL, NULL);
    HN(nb_tensor_wrap, buf, BADT, 1, S(3), NULL, NULL, NULL);
    HN(nb_tensor_wrap, buf, NB_FLOAT32, 2, S(2, 3), S(INT64_MAX, 1), NULL, NULL);
    HN(nb_empty, 1, NULL, NB_FLOAT32);
    HN(nb_empty, -1, S(3), NB_FLOAT32);
    HN(nb_empty, 1, S(-1), NB_FLOAT32);
    HN(nb_empty, 2, S(INT64_MAX, 4), NB_FLOAT32);
    HN(nb_zeros, 1, NULL, NB_FLOAT32);
    HN(nb_zeros, 1, S(3), BADT);
    HN(nb_ones, 1, NULL, NB_FLOAT32);
    HN(nb_ones, 1, S(-2), NB_FLOAT32);
    HN(nb_full, 1, NULL, NB_FLOAT32, 1.0);
    HN(nb_full, 1, S(3), BADT, 1.0);
    HN(nb_scalar, 1.0, BADT);
    HN(nb_zeros_like, NULL);
    HN(nb_ones_like, NULL);
    HN(nb_arange, 0, 10, 0, NB_FLOAT32);
    HN(nb_arange, 0, INFINITY, 1, NB_FLOAT32);
    HN(nb_arange, 0, NAN, 1, NB_FLOAT32);
    HN(nb_arange, 0, 1e30, 1e-30, NB_FLOAT32);
    HN(nb_arange, 0, 10, 1, BADT);
    HV(nb_manual_seed, 0);
    HA(nb_generator_new, 0);
    HV(nb_generator_free, NULL);
    HN(nb_rand, 1, NULL, NB_FLOAT32, NULL);
    HN(nb_rand, 1, S(3), NB_INT64, NULL);
    HN(nb_randn, -1, S(3), NB_FLOAT32, NULL);
    HN(nb_randn, 1, S(3), BADT, NULL);
    HN(nb_tensor_retain, NULL);
    HV(nb_tensor_release, NULL);
    HA0(nb_tensor_live_count);
    HA0(nb_buffer_cache_bytes);
    HV(nb_set_buffer_cache_limit, (size_t)-1);   /* "no cap": stays a cap, not the unset mark */
    HV(nb_set_buffer_cache_limit, 0);
    if (h_child("nb_tensor_dtype", "NULL")) h_minus1("nb_tensor_dtype", "NULL", (int)nb_tensor_dtype(NULL));
    HM(nb_tensor_ndim, NULL);
    HN(nb_tensor_shape, NULL);
    HN(nb_tensor_strides, NULL);
    HM(nb_tensor_size, NULL, 0);
    HM(nb_tensor_size, F, 2);
    HM(nb_tensor_size, F, -3);
    HM(nb_tensor_stride, NULL, 0);
    HM(nb_tensor_stride, F, 7);
    HM(nb_tensor_offset, NULL);
    HM(nb_tensor_numel, NULL);
    HF(nb_tensor_is_contiguous, NULL);
    HF(nb_tensor_shares_storage, NULL, F);
    HF(nb_tensor_shares_storage, F, NULL);
    HN(nb_tensor_data, NULL);
    HS(nb_tensor_get, NULL, S(0, 0), &d);
    HS(nb_tensor_get, F, NULL, &d);
    HS(nb_tensor_get, F, S(0, 0), NULL);
    HS(nb_tensor_get, F, S(2, 0), &d);
    HS(nb_tensor_get, F, S(0, -4), &d);
    HS(nb_tensor_set, NULL, S(0, 0), 1.0);
    HS(nb_tensor_set, F, NULL, 1.0);
    HS(nb_tensor_set, F, S(0, 3), 1.0);
    HS(nb_tensor_item, NULL, &d);
    HS(nb_tensor_item, F, &d);
    HS(nb_tensor_item, F, NULL);
    HS(nb_tensor_read, NULL, buf);
    HS(nb_tensor_read, F, NULL);
    HV(nb_tensor_print, NULL, "x");
    HV(nb_tensor_print, F, NULL);
}

static void views_and_copies(void) {
    HN(nb_view, NULL, 1, S(6));
    HN(nb_view, F, 1, NULL);
    HN(nb_view, F, -1, S(6));
    HN(nb_view, F, 1, S(7));
    HN(nb_view, F, 2, S(-1, -1));
    HN(nb_view, F, 2, S(0, -1));
    HN(nb_reshape, NULL, 1, S(6));
    HN(nb_reshape, F, 1, NULL);
    HN(nb_reshape, F, 2, S(4, -1));
    HN(nb_reshape, F, 9, S(1, 1, 1, 1, 1, 1, 1, 6, 1));
    HN(nb_flatten, NULL);
    HN(nb_permute, NULL, (int[]){0, 1});
    HN(nb_permute, F, NULL);
    HN(nb_permute, F, ((int[]){0, 0}));
    HN(nb_permute, F, ((int[]){0, 2}));
    HN(nb_transpose, NULL, 0, 1);
    HN(nb_transpose, F, 0, 2);
    HN(nb_transpose, F, -3, 0);
    HN(nb_t, NULL);
    HN(nb_t, F3);
    HN(nb_squeeze, NULL, 0);
    HN(nb_squeeze, F, 2);
    HN(nb_squeeze_all, NULL);
    HN(nb_unsqueeze, NULL, 0);
    HN(nb_unsqueeze, F, 4);
    HN(nb_unsqueeze, F, -4);
    HN(nb_expand, NULL, 2, S(2, 3));
    HN(nb_expand, F, 2, NULL);
    HN(nb_expand, F, 2, S(5, 3));
    HN(nb_expand, F, 1, S(3));
    HN(nb_expand, F, 2, S(2, -2));
    HN(nb_narrow, NULL, 0, 0, 1);
    HN(nb_narrow, F, 0, 1, 5);
    HN(nb_narrow, F, 0, 0, -1);
    HN(nb_narrow, F, 2, 0, 1);
    HN(nb_narrow, F, 1, INT64_MAX, INT64_MAX);
    HN(nb_slice, NULL, 0, 0, 1, 1);
    HN(nb_slice, F, 0, 0, 2, 0);
    HN(nb_slice, F, 0, 0, 2, -1);
    HN(nb_slice, F, 5, 0, 2, 1);
    HN(nb_select, NULL, 0, 0);
    HN(nb_select, F, 0, 2);
    HN(nb_select, F, 0, INT64_MIN);
    HN(nb_select, F, 3, 0);
    HN(nb_contiguous, NULL);
    HN(nb_clone, NULL);
    HN(nb_repeat, NULL, 2, S(1, 1));
    HN(nb_repeat, F, 2, NULL);
    HN(nb_repeat, F, 1, S(2));
    HN(nb_repeat, F, 2, S(-1, 1));
    HN(nb_repeat, F, 2, S(INT64_MAX, 2));
    HN(nb_stack, 0, NULL, 0);
    HN(nb_stack, 2, NULL, 0);
    HN(nb_stack, -1, (nb_tensor *[]){F}, 0);
    HN(nb_stack, 2, ((nb_tensor *[]){F, NULL}), 0);
    HN(nb_stack, 2, ((nb_tensor *[]){F, F3}), 0);
    HN(nb_stack, 1, (nb_tensor *[]){F}, 4);
    HN(nb_cat, 0, NULL, 0);
    HN(nb_cat, 2, NULL, 0);
    HN(nb_cat, 2, ((nb_tensor *[]){NULL, F}), 0);
    HN(nb_cat, 2, ((nb_tensor *[]){F, F3}), 0);
    HN(nb_cat, 1, (nb_tensor *[]){F}, -3);
    HN(nb_to_dtype, NULL, NB_FLOAT64);
    HN(nb_to_dtype, F, BADT);
}

/* Every binary op: NULL either side, shapes that do not broadcast. */
#define BINARY(fn) do { HN(fn, NULL, F); HN(fn, F, NULL); HN(fn, F, F3); } while (0)
#define UNARY(fn) HN(fn, NULL)
#define INPLACE(fn) do { HS(fn, NULL, F); HS(fn, F, NULL); HS(fn, F, F3); HS(fn, E, F); HS(fn, L, L); } while (0)
#define REDUCE(fn) do { \
    HN(fn, NULL, 0, NULL, false); HN(fn, F, 1, NULL, false); HN(fn, F, 1, (int[]){2}, false); \
    HN(fn, F, 2, ((int[]){0, 0}), false); HN(fn, F, -1, (int[]){0}, false); \
    HN(fn, F, 9, ((int[]){0, 1, 0, 1, 0, 1, 0, 1, 0}), false); } while (0)

static void elementwise_reductions_matmul(void) {
    BINARY(nb_add); BINARY(nb_sub); BINARY(nb_mul); BINARY(nb_div); BINARY(nb_pow);
    HN(nb_add_scalar, NULL, 1.0);
    HN(nb_sub_scalar, NULL, 1.0);
    HN(nb_mul_scalar, NULL, 1.0);
    HN(nb_div_scalar, NULL, 1.0);
    HN(nb_pow_scalar, NULL, 2.0);
    UNARY(nb_neg); UNARY(nb_exp); UNARY(nb_log); UNARY(nb_tanh); UNARY(nb_sigmoid); UNARY(nb_relu);
    UNARY(nb_gelu);
    INPLACE(nb_add_); INPLACE(nb_sub_); INPLACE(nb_mul_); INPLACE(nb_div_);
    HS(nb_add_scalar_, NULL, 1.0);
    HS(nb_add_scalar_, E, 1.0);
    HS(nb_mul_scalar_, NULL, 1.0);
    HS(nb_mul_scalar_, L, 2.0);
    HS(nb_fill_, NULL, 1.0);
    HS(nb_fill_, E, 1.0);
    HS(nb_zero_, NULL);
    HS(nb_zero_, L);
    HS(nb_copy_, NULL, F);
    HS(nb_copy_, F, NULL);
    HS(nb_copy_, F, F3);
    HS(nb_copy_, E, F);
    REDUCE(nb_sum); REDUCE(nb_mean); REDUCE(nb_max); REDUCE(nb_min);
    HN(nb_mean, I, 0, NULL, false);
    HN(nb_max, nb_zeros(1, S(0), NB_FLOAT32), 0, NULL, false);
    HN(nb_sum_all, NULL);
    HN(nb_mean_all, NULL);
    HN(nb_argmax, NULL, 0, false);
    HN(nb_argmax, F, 2, false);
    HN(nb_argmax, F, -3, false);
    HN(nb_matmul, NULL, F);
    HN(nb_matmul, F, NULL);
    HN(nb_matmul, F, F);
    HN(nb_matmul, F3, nb_zeros(3, S(3, 4, 2), NB_FLOAT32));
}

static void autograd(void) {
    HS(nb_tensor_requires_grad_, NULL, true);
    HS(nb_tensor_requires_grad_, I, true);
    HS(nb_tensor_requires_grad_, Y, true);
    HF(nb_tensor_requires_grad, NULL);
    HF(nb_tensor_is_leaf, NULL);
    HN(nb_tensor_grad, NULL);
    HS(nb_tensor_set_grad, NULL, F);
    HS(nb_tensor_set_grad, L, F3);
    HS(nb_tensor_set_grad, L, nb_zeros(2, S(2, 3), NB_FLOAT64));
    HS(nb_tensor_zero_grad, NULL);
    HN(nb_tensor_grad_fn_name, NULL);
    HN(nb_detach, NULL);
    HS(nb_backward, NULL, NULL, false);
    HS(nb_backward, F, NULL, false);
    HS(nb_backward, Y, NULL, false);
    HS(nb_backward, Y, F3, false);
    HS(nb_backward, Y, I, false);
    HV0(nb_no_grad_enter);
    HV0(nb_no_grad_exit);   /* without an enter */
    HA0(nb_is_grad_enabled);
}

static void nn_functional(void) {
    HN(nb_linear, NULL, F, NULL);
    HN(nb_linear, F, NULL, NULL);
    HN(nb_linear, F, F3, NULL);
    HN(nb_linear, F, F, F3);
    HN(nb_softmax, NULL, 0);
    HN(nb_softmax, F, 2);
    HN(nb_softmax, I, 0);
    HN(nb_log_softmax, NULL, 0);
    HN(nb_log_softmax, F, -3);
    HN(nb_mse_loss, NULL, F);
    HN(nb_mse_loss, F, NULL);
    HN(nb_mse_loss, F, F3);
    HN(nb_nll_loss, NULL, I);
    HN(nb_nll_loss, F, NULL);
    HN(nb_nll_loss, F, F);
    HN(nb_nll_loss, F, nb_zeros(1, S(3), NB_INT64));
    HN(nb_nll_loss, F, nb_full(1, S(2), NB_INT64, 3.0));   /* class 3 of 3 */
    HN(nb_cross_entropy, NULL, I);
    HN(nb_cross_entropy, F, NULL);
    HN(nb_cross_entropy, F, nb_full(1, S(2), NB_INT64, -1.0));
    HA0(nb_conv2d_defaults);
    const nb_conv2d_params p = nb_conv2d_defaults();
    nb_conv2d_params bad = p;
    bad.stride_h = 0;
    HN(nb_conv2d, NULL, W4, NULL, &p);
    HN(nb_conv2d, X4, NULL, NULL, &p);
    HN(nb_conv2d, F, W4, NULL, &p);
    HN(nb_conv2d, X4, nb_zeros(4, S(3, 4, 3, 3), NB_FLOAT32), NULL, &p);
    HN(nb_conv2d, X4, W4, F, &p);
    HN(nb_conv2d, X4, W4, NULL, &bad);
    HN(nb_max_pool2d, NULL, 2, 2, 0, 0, 0, 0);
    HN(nb_max_pool2d, X4, 0, 2, 0, 0, 0, 0);
    HN(nb_max_pool2d, X4, 2, 2, -1, 0, 0, 0);
    HN(nb_max_pool2d, X4, 9, 9, 1, 1, 0, 0);
    HN(nb_max_pool2d, X4, 2, 2, 1, 1, -1, 0);
    HN(nb_max_pool2d, F, 1, 1, 1, 1, 0, 0);
    HN(nb_avg_pool2d, NULL, 2, 2, 0, 0, 0, 0);
    HN(nb_avg_pool2d, X4, 2, -2, 0, 0, 0, 0);
    HN(nb_avg_pool2d, X4, 2, 2, 1, 1, 5, 5);
    HN(nb_avg_pool2d, X4, INT64_MAX, 2, 1, 1, 0, 0);
}

static void nn_modules_and_optimisers(void) {
    nb_tensor *out[4];
    HN(nb_module_new, NULL, NULL);
    HN(nb_module_new, (&(nb_module_vtable){"NoForward", NULL, NULL}), NULL);
    HN(nb_module_impl, NULL);
    HN(nb_module_name, NULL);
    HS(nb_module_add_parameter, NULL, F);
    HS(nb_module_add_parameter, M, NULL);
    HS(nb_module_add_child, NULL, M2);
    HS(nb_module_add_child, M, NULL);
    HS(nb_module_add_child, M, M);
    HN(nb_module_forward, NULL, F);
    HN(nb_module_forward, M, NULL);
    HN(nb_module_forward, M, F3);
    HM(nb_module_parameters, NULL, out, 4);
    HM(nb_module_parameters, M, out, -1);
    HM(nb_module_num_children, NULL);
    HN(nb_module_child, NULL, 0);
    HN(nb_module_child, M, 0);
    HN(nb_module_child, M, -1);
    HV(nb_module_zero_grad, NULL);
    HV(nb_module_free, NULL);
    HN(nb_linear_new, -1, 2, true, NULL);
    HN(nb_linear_new, 2, -1, true, NULL);
    HN(nb_linear_new, INT64_MAX, INT64_MAX, false, NULL);
    const nb_conv2d_params p = nb_conv2d_defaults();
    HA(nb_conv2d_new, 2, 3, 3, 3, NULL, true, NULL);   /* NULL params: the defaults */
    HN(nb_conv2d_new, 2, 3, 3, 3, (&(nb_conv2d_params){1, 1, 0, 0, 1, 1, 0}), true, NULL);
    HN(nb_conv2d_new, -2, 3, 3, 3, &p, true, NULL);
    HN(nb_conv2d_new, 2, 3, 0, 3, &p, true, NULL);
    HN(nb_conv2d_new, 3, 4, 3, 3, (&(nb_conv2d_params){1, 1, 0, 0, 1, 1, 2}), false, NULL);
    HA0(nb_relu_new);
    HA0(nb_flatten_new);
    HN(nb_sequential_new, -1, NULL);
    HN(nb_sequential_new, 2, NULL);
    HN(nb_sequential_new, 2, ((nb_module *[]){M2, NULL}));
    HN(nb_sequential_new, 2, ((nb_module *[]){M2, M2}));
    HN(nb_module_weight, NULL);
    HA(nb_module_weight, M2);   /* a ReLU has none: NULL, not an error */
    HN(nb_module_bias, NULL);
    HN(nb_sgd_new, 1, NULL, 0.1, 0.0, 0.0);
    HN(nb_sgd_new, -1, &F, 0.1, 0.0, 0.0);
    HN(nb_sgd_new, 1, (nb_tensor *[]){NULL}, 0.1, 0.0, 0.0);
    HN(nb_sgd_new, 1, &L, -0.1, 0.0, 0.0);
    HN(nb_sgd_new, 1, &L, NAN, 0.0, 0.0);
    HN(nb_sgd_new, 1, &L, 0.1, -1.0, 0.0);
    HN(nb_sgd_new, 1, &I, 0.1, 0.0, 0.0);
    HN(nb_adam_new, 1, NULL, 0.1, 0.9, 0.999, 1e-8, 0.0);
    HN(nb_adam_new, 1, (nb_tensor *[]){NULL}, 0.1, 0.9, 0.999, 1e-8, 0.0);
    HN(nb_adam_new, 1, &L, 0.1, 1.5, 0.999, 1e-8, 0.0);
    HN(nb_adam_new, 1, &L, 0.1, 0.9, -0.5, 1e-8, 0.0);
    HN(nb_adam_new, 1, &L, 0.1, 0.9, 0.999, -1.0, 0.0);
    HS(nb_optimizer_step, NULL);
    HV(nb_optimizer_zero_grad, NULL);
    HV(nb_optimizer_free, NULL);
}

static void tensor_header_hostile_calls(void **s) {
    (void)s;
    creation_and_properties();
    views_and_copies();
    elementwise_reductions_matmul();
}
static void autograd_header_hostile_calls(void **s) { (void)s; autograd(); }
#include "hostile_nn_modules.h"
static void nn_header_hostile_calls(void **s) {
    (void)s;
    nn_functional();
    nn_modules_and_optimisers();
    issue12_hostile_calls();
}

/* Runs the groups, then: no call failed, and every public function of the
   three headers was called at least once. */
static void every_public_function_takes_hostile_arguments_without_crashing(void **s) {
    tensor_header_hostile_calls(s);
    autograd_header_hostile_calls(s);
    nn_header_hostile_calls(s);
    int missing = 0;
    for (size_t i = 0; i < sizeof nb_public_names / sizeof nb_public_names[0]; i++)
        if (!h_was_called(nb_public_names[i])) {
            fprintf(stderr, "MISSING: %s has no hostile call in tests/test_hostile_table.c\n", nb_public_names[i]);
            missing++;
        }
    printf("# %d hostile calls over %d functions (%zu public in tensor.h, autograd.h, nn.h); "
           "%d failed, %d functions missing\n", h_calls, h_ncalled,
           sizeof nb_public_names / sizeof nb_public_names[0], h_failures, missing);
    if (h_failures || missing) fail_msg("%d hostile call(s) failed, %d function(s) missing (see above)", h_failures, missing);
}

static void free_fixtures(void) {
    nb_optimizer_free(O);
    nb_module_free(M);
    nb_module_free(M2);
    nb_tensor *const ts[] = {F, F3, I, L, Y, X4, W4, E};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) nb_tensor_release(ts[i]);
}

int main(void) {
    make_fixtures();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_public_function_takes_hostile_arguments_without_crashing),
    };
    const int failures = nbt_run(tests);
    free_fixtures();
    return failures;
}
