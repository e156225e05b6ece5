/* Gradient checks: for every differentiable op, the analytic gradient from
 * nb_backward agrees with central finite differences in float64
 * (eps = 1e-6, |analytic - numeric| <= 1e-7 + 1e-5 |numeric|), on random
 * values, with broadcasting and with non-contiguous (permuted, sliced,
 * expanded) operands. The oracle is the forward op itself, evaluated twice
 * per input element: a backward rule that disagrees with its forward fails. */
#include <stdlib.h>

#include "tensor_util.h"

#define F64 NB_FLOAT64

/* Temporaries created by an op under test, released after each evaluation. */
static nb_tensor *kept[256];
static int nkept;
static nb_tensor *K(nb_tensor *t) {
    if (!t) fail_msg("op failed: %s", nb_last_error());
    assert_true(nkept < 256);
    kept[nkept++] = t;
    return t;
}
static void release_kept(void) {
    while (nkept > 0) nb_tensor_release(kept[--nkept]);
}

typedef nb_tensor *(*op_fn)(nb_tensor **x);

/* <f(x), r> as a double. */
static double dot(op_fn f, nb_tensor **x, const double *r, int64_t n) {
    nb_no_grad_enter();
    nb_tensor *y = f(x);
    int64_t m = nb_tensor_numel(y);
    assert_int_equal(m, n);
    double *v = malloc(sizeof(double) * (size_t)(m ? m : 1));
    assert_int_equal(nb_tensor_read(y, v), NB_OK);
    double s = 0;
    for (int64_t i = 0; i < m; i++) s += v[i] * r[i];
    free(v);
    release_kept();
    nb_no_grad_exit();
    return s;
}

static void gradcheck(op_fn f, int n, nb_tensor **x) {
    const double eps = 1e-6, atol = 1e-7, rtol = 1e-5;
    for (int i = 0; i < n; i++) {
        if (nb_tensor_requires_grad(x[i])) nb_tensor_set_grad(x[i], NULL);
    }
    nb_tensor *y = f(x);
    assert_int_equal(nb_tensor_dtype(y), F64);
    assert_true(nb_tensor_requires_grad(y));
    nb_tensor *r = tu_rand(F64, nb_tensor_ndim(y), nb_tensor_shape(y), -1, 1);
    if (nb_backward(y, r, false) != NB_OK) fail_msg("backward: %s", nb_last_error());
    release_kept();
    const double *rv = nb_tensor_data(r);
    int64_t rn = nb_tensor_numel(r);
    int checked = 0;
    for (int i = 0; i < n; i++) {
        if (!nb_tensor_requires_grad(x[i])) continue;
        assert_true(nb_tensor_is_contiguous(x[i]));
        double *p = nb_tensor_data(x[i]);
        nb_tensor *g = nb_tensor_grad(x[i]);
        for (int64_t k = 0; k < nb_tensor_numel(x[i]); k++) {
            double old = p[k];
            p[k] = old + eps;
            double lp = dot(f, x, rv, rn);
            p[k] = old - eps;
            double lm = dot(f, x, rv, rn);
            p[k] = old;
            double num = (lp - lm) / (2 * eps);
            double ana = g ? ((double *)nb_tensor_data(g))[k] : 0.0;
            if (g) assert_true(nb_tensor_is_contiguous(g));
            if (!(fabs(ana - num) <= atol + rtol * fabs(num)))
                fail_msg("input %d element %lld: analytic %.12g, numeric %.12g", i, (long long)k, ana, num);
            checked++;
        }
    }
    assert_true(checked > 0);
    nb_tensor_release(r);
}

static nb_tensor *leaf(nb_tensor *t) {
    assert_int_equal(nb_tensor_requires_grad_(t, true), NB_OK);
    return t;
}
#define LEAF(lo, hi, ...) leaf(RAND(F64, lo, hi, __VA_ARGS__))

static void run(op_fn f, int n, nb_tensor **x) {
    gradcheck(f, n, x);
    for (int i = 0; i < n; i++) nb_tensor_release(x[i]);
}
#define RUN(f, ...) do { nb_tensor *xs_[] = {__VA_ARGS__}; run(f, (int)(sizeof xs_ / sizeof xs_[0]), xs_); } while (0)

static const int P021[] = {0, 2, 1}, P10[] = {1, 0}, P102[] = {1, 0, 2};

/* ---- elementwise binary, with broadcasting and strided operands ---- */

static nb_tensor *f_add(nb_tensor **x) { return K(nb_add(x[0], K(nb_permute(x[1], P10)))); }
static nb_tensor *f_sub(nb_tensor **x) { return K(nb_sub(K(nb_slice(x[0], 1, 1, 7, 2)), x[1])); }
static nb_tensor *f_mul(nb_tensor **x) { return K(nb_mul(x[0], K(nb_permute(x[1], P10)))); }
static nb_tensor *f_div(nb_tensor **x) { return K(nb_div(x[0], x[1])); }
static nb_tensor *f_pow(nb_tensor **x) { return K(nb_pow(x[0], x[1])); }

/* a [3, 1, 4] op b^T with b [4, 5]: broadcast to [3, 5, 4]; b is permuted. */
static void add_broadcasts_and_permuted(void **s) { (void)s; RUN(f_add, LEAF(-1, 1, 3, 1, 4), LEAF(-1, 1, 4, 5)); }
static void sub_of_a_stepped_slice(void **s) { (void)s; RUN(f_sub, LEAF(-1, 1, 2, 7), LEAF(-1, 1, 1, 3)); }
static void mul_broadcasts_and_permuted(void **s) { (void)s; RUN(f_mul, LEAF(-1, 1, 2, 1, 3), LEAF(-1, 1, 3, 4)); }
static void div_broadcasts(void **s) { (void)s; RUN(f_div, LEAF(-1, 1, 2, 3), LEAF(0.5, 2, 3)); }
static void pow_of_tensor_exponent(void **s) { (void)s; RUN(f_pow, LEAF(0.5, 2, 2, 3), LEAF(-1.5, 1.5, 2, 1)); }

/* Random shapes: an output shape of 1..3 dims of sizes 1..4; each operand
   keeps a random suffix of it with random dims set to 1 (broadcast), and is
   stored transposed (a permuted view) when it has 2+ dims. */
static int rand_op;
static nb_tensor *f_rand_binary(nb_tensor **x) {
    nb_tensor *a = nb_tensor_ndim(x[0]) >= 2 ? K(nb_transpose(x[0], 0, -1)) : x[0];
    nb_tensor *b = nb_tensor_ndim(x[1]) >= 2 ? K(nb_transpose(x[1], 0, -1)) : x[1];
    switch (rand_op) {
    case 0: return K(nb_add(a, b));
    case 1: return K(nb_sub(a, b));
    case 2: return K(nb_mul(a, b));
    case 3: return K(nb_div(a, b));
    default: return K(nb_pow(a, b));
    }
}
static int rand_dims[NB_MAX_DIMS], rand_ndims;
static bool rand_keep;
static nb_tensor *f_rand_reduce(nb_tensor **x) {
    nb_tensor *a = nb_tensor_ndim(x[0]) >= 2 ? K(nb_transpose(x[0], 0, -1)) : x[0];
    switch (rand_op) {
    case 0: return K(nb_sum(a, rand_ndims, rand_dims, rand_keep));
    case 1: return K(nb_mean(a, rand_ndims, rand_dims, rand_keep));
    default: return K(nb_max(a, rand_ndims, rand_dims, rand_keep));
    }
}
/* Operand shape (as stored: the first and last dims swapped back). */
static nb_tensor *rand_operand(int n, const int64_t *out, double lo, double hi) {
    int k = (int)nbt_range(0, n);                  /* keep the last k dims */
    int64_t sh[NB_MAX_DIMS];
    for (int i = 0; i < k; i++) sh[i] = nbt_range(0, 2) == 0 ? 1 : out[n - k + i];
    if (k >= 2) { int64_t t = sh[0]; sh[0] = sh[k - 1]; sh[k - 1] = t; }
    return leaf(tu_rand(F64, k, sh, lo, hi));
}
static void binary_ops_on_random_broadcast_shapes(void **s) {
    (void)s;
    for (int trial = 0; trial < 25; trial++) {
        int n = (int)nbt_range(1, 3);
        int64_t out[NB_MAX_DIMS];
        for (int i = 0; i < n; i++) out[i] = nbt_range(1, 4);
        rand_op = trial % 5;
        bool positive = rand_op >= 3;          /* div by and pow of values away from 0 */
        nb_tensor *a = rand_operand(n, out, positive ? 0.5 : -1, positive ? 2 : 1);
        nb_tensor *b = rand_operand(n, out, positive ? 0.5 : -1, positive ? 2 : 1);
        RUN(f_rand_binary, a, b);
    }
}
static void reductions_on_random_shapes_and_dims(void **s) {
    (void)s;
    for (int trial = 0; trial < 24; trial++) {
        int n = (int)nbt_range(1, 4);
        int64_t sh[NB_MAX_DIMS];
        for (int i = 0; i < n; i++) sh[i] = nbt_range(1, 4);
        rand_op = trial % 3;
        rand_keep = nbt_range(0, 1);
        rand_ndims = 0;
        for (int d = 0; d < n; d++)
            if (nbt_range(0, 1)) rand_dims[rand_ndims++] = nbt_range(0, 1) ? d : d - n;
        RUN(f_rand_reduce, leaf(tu_rand(F64, n, sh, -1, 1)));
    }
}

/* ---- scalar variants ---- */

static nb_tensor *f_scalars(nb_tensor **x) {
    nb_tensor *a = K(nb_add_scalar(x[0], 0.5)), *b = K(nb_mul_scalar(a, -1.5)), *c = K(nb_sub_scalar(b, 2));
    return K(nb_div_scalar(c, 3));
}
static nb_tensor *f_pow_scalar(nb_tensor **x) { return K(nb_pow_scalar(x[0], 2.5)); }
static nb_tensor *f_neg(nb_tensor **x) { return K(nb_neg(K(nb_transpose(x[0], 0, 1)))); }
static void scalar_ops_chain(void **s) { (void)s; RUN(f_scalars, LEAF(-1, 1, 3, 4)); }
static void pow_scalar(void **s) { (void)s; RUN(f_pow_scalar, LEAF(0.2, 2, 5)); }
static void neg_of_transposed(void **s) { (void)s; RUN(f_neg, LEAF(-1, 1, 3, 2)); }

/* ---- unary, on permuted inputs ---- */

#define UNARY_CASE(name, op, lo, hi)                                                   \
    static nb_tensor *f_##name(nb_tensor **x) { return K(op(K(nb_permute(x[0], P021)))); } \
    static void name##_of_permuted(void **s) { (void)s; RUN(f_##name, LEAF(lo, hi, 2, 3, 4)); }
UNARY_CASE(exp, nb_exp, -2, 2)
UNARY_CASE(log, nb_log, 0.1, 3)
UNARY_CASE(tanh, nb_tanh, -2, 2)
UNARY_CASE(sigmoid, nb_sigmoid, -3, 3)
UNARY_CASE(relu, nb_relu, -1, 1)
UNARY_CASE(gelu, nb_gelu, -3, 3)

/* ---- views and copies ---- */

static nb_tensor *f_reshape_view(nb_tensor **x) { return K(nb_mul(K(nb_reshape(x[0], 2, SHAPE(-1, 6))), K(nb_reshape(x[0], 2, SHAPE(-1, 6))))); }
static nb_tensor *f_reshape_copy(nb_tensor **x) { return K(nb_exp(K(nb_reshape(K(nb_permute(x[0], P102)), 1, SHAPE(-1))))); }
static nb_tensor *f_view(nb_tensor **x) { return K(nb_tanh(K(nb_view(x[0], 3, SHAPE(3, 2, 2))))); }
static nb_tensor *f_squeeze(nb_tensor **x) {
    nb_tensor *a = K(nb_unsqueeze(K(nb_squeeze(x[0], 1)), 0));
    return K(nb_mul(a, K(nb_squeeze_all(x[0]))));
}
static nb_tensor *f_t(nb_tensor **x) { return K(nb_mul(K(nb_t(x[0])), K(nb_t(x[0])))); }
static nb_tensor *f_expand(nb_tensor **x) { return K(nb_mul(K(nb_expand(x[0], 3, SHAPE(2, 3, -1))), x[1])); }
static nb_tensor *f_narrow_select(nb_tensor **x) {
    nb_tensor *a = K(nb_narrow(x[0], 0, 1, 2)), *b = K(nb_select(x[0], 0, -1));
    return K(nb_add(K(nb_mul(a, a)), K(nb_exp(b))));
}
static nb_tensor *f_slice_step(nb_tensor **x) { return K(nb_sigmoid(K(nb_slice(K(nb_slice(x[0], 0, 0, 5, 2)), 1, -3, 100, 2)))); }
static nb_tensor *f_contiguous_clone(nb_tensor **x) {
    nb_tensor *c = K(nb_contiguous(K(nb_permute(x[0], P10))));
    return K(nb_mul(c, K(nb_clone(c))));
}
static nb_tensor *f_repeat(nb_tensor **x) { return K(nb_mul(K(nb_repeat(x[0], 3, SHAPE(2, 3, 2))), x[1])); }
static nb_tensor *f_cat(nb_tensor **x) {
    nb_tensor *ts[3] = {x[0], K(nb_exp(x[1])), x[0]};
    return K(nb_tanh(K(nb_cat(3, ts, 1))));
}
static nb_tensor *f_stack(nb_tensor **x) {
    nb_tensor *ts[2] = {x[0], K(nb_mul(x[1], x[1]))};
    return K(nb_sigmoid(K(nb_stack(2, ts, 1))));
}
static nb_tensor *f_flatten(nb_tensor **x) { return K(nb_exp(K(nb_flatten(K(nb_transpose(x[0], 0, 2)))))); }
static nb_tensor *f_to_dtype(nb_tensor **x) { return K(nb_to_dtype(K(nb_mul(x[0], x[0])), NB_FLOAT64)); }

static void reshape_as_view(void **s) { (void)s; RUN(f_reshape_view, LEAF(-1, 1, 2, 2, 3)); }
static void reshape_as_copy(void **s) { (void)s; RUN(f_reshape_copy, LEAF(-1, 1, 2, 3, 2)); }
static void view(void **s) { (void)s; RUN(f_view, LEAF(-1, 1, 4, 3)); }
static void squeeze_unsqueeze(void **s) { (void)s; RUN(f_squeeze, LEAF(-1, 1, 3, 1, 4)); }
static void t_of_matrix(void **s) { (void)s; RUN(f_t, LEAF(-1, 1, 3, 4)); }
static void expand(void **s) { (void)s; RUN(f_expand, LEAF(-1, 1, 3, 1), LEAF(-1, 1, 2, 3, 4)); }
static void narrow_and_select(void **s) { (void)s; RUN(f_narrow_select, LEAF(-1, 1, 4, 2)); }
static void slice_with_steps(void **s) { (void)s; RUN(f_slice_step, LEAF(-1, 1, 5, 7)); }
static void contiguous_and_clone(void **s) { (void)s; RUN(f_contiguous_clone, LEAF(-1, 1, 3, 4)); }
static void repeat(void **s) { (void)s; RUN(f_repeat, LEAF(-1, 1, 2, 3), LEAF(-1, 1, 2, 6, 6)); }
static void cat_same_tensor_twice(void **s) { (void)s; RUN(f_cat, LEAF(-1, 1, 2, 3), LEAF(-1, 1, 2, 2)); }
static void stack(void **s) { (void)s; RUN(f_stack, LEAF(-1, 1, 2, 3), LEAF(-1, 1, 2, 3)); }
static void flatten_of_transposed(void **s) { (void)s; RUN(f_flatten, LEAF(-1, 1, 2, 3, 2)); }
static void to_dtype_same_dtype(void **s) { (void)s; RUN(f_to_dtype, LEAF(-1, 1, 3)); }

/* ---- reductions ---- */

static const int D1[] = {1}, D02[] = {0, -1};
static nb_tensor *f_sum_dims(nb_tensor **x) { return K(nb_sum(K(nb_permute(x[0], P021)), 2, D02, false)); }
static nb_tensor *f_sum_keep(nb_tensor **x) { return K(nb_mul(K(nb_sum(x[0], 1, D1, true)), x[0])); }
static nb_tensor *f_sum_all(nb_tensor **x) { return K(nb_sum_all(K(nb_exp(x[0])))); }
static nb_tensor *f_mean_dims(nb_tensor **x) { return K(nb_mean(x[0], 1, D1, false)); }
static nb_tensor *f_mean_all(nb_tensor **x) { return K(nb_mean_all(K(nb_mul(x[0], x[0])))); }
static nb_tensor *f_max_dims(nb_tensor **x) { return K(nb_max(K(nb_permute(x[0], P021)), 1, D1, true)); }
static nb_tensor *f_min_all(nb_tensor **x) { return K(nb_min(x[0], 0, NULL, false)); }
static void sum_over_dims_of_permuted(void **s) { (void)s; RUN(f_sum_dims, LEAF(-1, 1, 2, 3, 4)); }
static void sum_keepdim(void **s) { (void)s; RUN(f_sum_keep, LEAF(-1, 1, 3, 4)); }
static void sum_all(void **s) { (void)s; RUN(f_sum_all, LEAF(-1, 1, 3, 4)); }
static void mean_over_dim(void **s) { (void)s; RUN(f_mean_dims, LEAF(-1, 1, 3, 4)); }
static void mean_all(void **s) { (void)s; RUN(f_mean_all, LEAF(-1, 1, 2, 5)); }
static void max_over_dim_keepdim(void **s) { (void)s; RUN(f_max_dims, LEAF(-1, 1, 2, 3, 4)); }
static void min_all(void **s) { (void)s; RUN(f_min_all, LEAF(-1, 1, 3, 4)); }

/* ---- matmul, linear ---- */

static nb_tensor *f_mm(nb_tensor **x) { return K(nb_matmul(x[0], x[1])); }
static nb_tensor *f_mm_t(nb_tensor **x) { return K(nb_matmul(K(nb_t(x[0])), K(nb_t(x[1])))); }
static nb_tensor *f_mm_strided(nb_tensor **x) { return K(nb_matmul(K(nb_slice(x[0], 1, 0, 6, 2)), x[1])); }
static nb_tensor *f_linear(nb_tensor **x) { return K(nb_linear(x[0], x[1], x[2])); }
static void matmul_2d(void **s) { (void)s; RUN(f_mm, LEAF(-1, 1, 3, 4), LEAF(-1, 1, 4, 5)); }
static void matmul_transposed_operands(void **s) { (void)s; RUN(f_mm_t, LEAF(-1, 1, 4, 3), LEAF(-1, 1, 2, 4)); }
static void matmul_column_stepped_operand(void **s) { (void)s; RUN(f_mm_strided, LEAF(-1, 1, 3, 6), LEAF(-1, 1, 3, 2)); }
static void matmul_batched_broadcast(void **s) { (void)s; RUN(f_mm, LEAF(-1, 1, 2, 1, 3, 4), LEAF(-1, 1, 3, 4, 2)); }
static void matmul_vector_cases(void **s) {
    (void)s;
    RUN(f_mm, LEAF(-1, 1, 4), LEAF(-1, 1, 4));
    RUN(f_mm, LEAF(-1, 1, 3, 4), LEAF(-1, 1, 4));
    RUN(f_mm, LEAF(-1, 1, 4), LEAF(-1, 1, 2, 4, 3));
}
static void linear(void **s) { (void)s; RUN(f_linear, LEAF(-1, 1, 5, 3), LEAF(-1, 1, 4, 3), LEAF(-1, 1, 4)); }

/* ---- softmax, losses ---- */

static nb_tensor *f_softmax0(nb_tensor **x) { return K(nb_softmax(x[0], 0)); }
static nb_tensor *f_softmax_last(nb_tensor **x) { return K(nb_softmax(K(nb_permute(x[0], P10)), -1)); }
static nb_tensor *f_log_softmax(nb_tensor **x) { return K(nb_log_softmax(x[0], 1)); }
static nb_tensor *f_mse(nb_tensor **x) { return K(nb_mse_loss(x[0], x[1])); }
static nb_tensor *targets;
static nb_tensor *f_ce(nb_tensor **x) { return K(nb_cross_entropy(x[0], targets)); }
static nb_tensor *f_nll(nb_tensor **x) { return K(nb_nll_loss(K(nb_log_softmax(x[0], 1)), targets)); }
static void softmax_dim0(void **s) { (void)s; RUN(f_softmax0, LEAF(-2, 2, 3, 4)); }
static void softmax_last_dim_of_transposed(void **s) { (void)s; RUN(f_softmax_last, LEAF(-2, 2, 3, 4)); }
static void log_softmax(void **s) { (void)s; RUN(f_log_softmax, LEAF(-2, 2, 2, 5, 3)); }
static void mse_loss(void **s) { (void)s; RUN(f_mse, LEAF(-1, 1, 3, 4), LEAF(-1, 1, 3, 4)); }
static void cross_entropy_and_nll(void **s) {
    (void)s;
    targets = nb_tensor_new((int64_t[]){2, 0, 4, 4}, NB_INT64, 1, SHAPE(4));
    RUN(f_ce, LEAF(-2, 2, 4, 5));
    RUN(f_nll, LEAF(-2, 2, 4, 5));
    nb_tensor_release(targets);
}

/* ---- convolution (NCHW x OIHW) ---- */

static nb_conv2d_params conv_p;
static nb_tensor *f_conv(nb_tensor **x) { return K(nb_conv2d(x[0], x[1], x[2], &conv_p)); }
static nb_tensor *f_conv_nobias_permuted(nb_tensor **x) {
    return K(nb_conv2d(K(nb_permute(x[0], (int[]){0, 1, 3, 2})), x[1], NULL, &conv_p));
}
static void conv2d_with_bias(void **s) {
    (void)s;
    conv_p = nb_conv2d_defaults();
    RUN(f_conv, LEAF(-1, 1, 2, 3, 5, 4), LEAF(-1, 1, 2, 3, 3, 2), LEAF(-1, 1, 2));
}
static void conv2d_strided_padded_dilated_grouped(void **s) {
    (void)s;
    conv_p = (nb_conv2d_params){2, 1, 1, 2, 1, 2, 2};
    RUN(f_conv_nobias_permuted, LEAF(-1, 1, 1, 4, 5, 6), LEAF(-1, 1, 4, 2, 3, 2));
}

/* ---- pooling ---- */

static nb_tensor *f_maxpool(nb_tensor **x) { return K(nb_max_pool2d(x[0], 2, 2, 2, 1, 1, 0)); }
static nb_tensor *f_avgpool(nb_tensor **x) { return K(nb_avg_pool2d(K(nb_permute(x[0], (int[]){0, 1, 3, 2})), 3, 2, 1, 2, 1, 1)); }
static void max_pool2d(void **s) { (void)s; RUN(f_maxpool, LEAF(-1, 1, 2, 2, 5, 4)); }
static void avg_pool2d_of_permuted(void **s) { (void)s; RUN(f_avgpool, LEAF(-1, 1, 1, 2, 4, 5)); }

/* ---- in place on non-leaf tensors ---- */

static nb_tensor *f_add_(nb_tensor **x) {
    nb_tensor *y = K(nb_mul_scalar(x[0], 2));
    if (nb_add_(y, x[1]) || nb_sub_(y, x[1]) || nb_add_(y, x[1])) fail_msg("%s", nb_last_error());
    return K(nb_mul(y, y));
}
static nb_tensor *f_mul_(nb_tensor **x) {
    nb_tensor *y = K(nb_mul_scalar(x[0], 2));   /* saves no output: may be modified */
    nb_tensor *c = x[1];   /* a constant: does not require grad */
    if (nb_mul_(y, c) || nb_div_(y, c) || nb_mul_(y, c) || nb_mul_scalar_(y, 3) || nb_add_scalar_(y, 1))
        fail_msg("%s", nb_last_error());
    return K(nb_mul(y, y));
}
static nb_tensor *f_copy_(nb_tensor **x) {
    nb_tensor *y = K(nb_mul(x[0], x[0]));
    nb_tensor *z = K(nb_zeros(2, SHAPE(2, 3), F64));
    if (nb_copy_(z, x[1])) fail_msg("%s", nb_last_error());
    return K(nb_add(z, y));
}
static void inplace_add_sub_on_non_leaf(void **s) { (void)s; RUN(f_add_, LEAF(-1, 1, 2, 3), LEAF(-1, 1, 3)); }
static void inplace_mul_div_by_constant(void **s) { (void)s; RUN(f_mul_, LEAF(-1, 1, 2, 3), RAND(F64, 0.5, 2, 3)); }
static void copy_into_fresh_tensor(void **s) { (void)s; RUN(f_copy_, LEAF(-1, 1, 2, 3), LEAF(-1, 1, 3)); }

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(add_broadcasts_and_permuted),
        cmocka_unit_test(sub_of_a_stepped_slice),
        cmocka_unit_test(mul_broadcasts_and_permuted),
        cmocka_unit_test(div_broadcasts),
        cmocka_unit_test(pow_of_tensor_exponent),
        cmocka_unit_test(binary_ops_on_random_broadcast_shapes),
        cmocka_unit_test(reductions_on_random_shapes_and_dims),
        cmocka_unit_test(scalar_ops_chain),
        cmocka_unit_test(pow_scalar),
        cmocka_unit_test(neg_of_transposed),
        cmocka_unit_test(exp_of_permuted),
        cmocka_unit_test(log_of_permuted),
        cmocka_unit_test(tanh_of_permuted),
        cmocka_unit_test(sigmoid_of_permuted),
        cmocka_unit_test(relu_of_permuted),
        cmocka_unit_test(gelu_of_permuted),
        cmocka_unit_test(reshape_as_view),
        cmocka_unit_test(reshape_as_copy),
        cmocka_unit_test(view),
        cmocka_unit_test(squeeze_unsqueeze),
        cmocka_unit_test(t_of_matrix),
        cmocka_unit_test(expand),
        cmocka_unit_test(narrow_and_select),
        cmocka_unit_test(slice_with_steps),
        cmocka_unit_test(contiguous_and_clone),
        cmocka_unit_test(repeat),
        cmocka_unit_test(cat_same_tensor_twice),
        cmocka_unit_test(stack),
        cmocka_unit_test(flatten_of_transposed),
        cmocka_unit_test(to_dtype_same_dtype),
        cmocka_unit_test(sum_over_dims_of_permuted),
        cmocka_unit_test(sum_keepdim),
        cmocka_unit_test(sum_all),
        cmocka_unit_test(mean_over_dim),
        cmocka_unit_test(mean_all),
        cmocka_unit_test(max_over_dim_keepdim),
        cmocka_unit_test(min_all),
        cmocka_unit_test(matmul_2d),
        cmocka_unit_test(matmul_transposed_operands),
        cmocka_unit_test(matmul_column_stepped_operand),
        cmocka_unit_test(matmul_batched_broadcast),
        cmocka_unit_test(matmul_vector_cases),
        cmocka_unit_test(linear),
        cmocka_unit_test(softmax_dim0),
        cmocka_unit_test(softmax_last_dim_of_transposed),
        cmocka_unit_test(log_softmax),
        cmocka_unit_test(mse_loss),
        cmocka_unit_test(cross_entropy_and_nll),
        cmocka_unit_test(conv2d_with_bias),
        cmocka_unit_test(conv2d_strided_padded_dilated_grouped),
        cmocka_unit_test(max_pool2d),
        cmocka_unit_test(avg_pool2d_of_permuted),
        cmocka_unit_test(inplace_add_sub_on_non_leaf),
        cmocka_unit_test(inplace_mul_div_by_constant),
        cmocka_unit_test(copy_into_fresh_tensor),
    };
    return nbt_run(tests);
}
