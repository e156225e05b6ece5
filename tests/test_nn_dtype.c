/* nb_module_to_dtype (PyTorch's module.double() / .float()): the same
 * tensor objects with converted values, integer buffers left alone, grads
 * following their parameters, the float64 model computing what the
 * float32 one does to float32's precision, optimisers built afterwards
 * stepping in float64, and bad arguments refused with the model unchanged. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_models.h"

#define T(f) cmocka_unit_test_setup_teardown(f, tu_live_setup, tu_live_teardown)

static nb_module *model(uint64_t seed) { return nbt_small_bn_model(seed); }

static double flat(const nb_tensor *t, int64_t i) {
    nb_tensor *c = nb_contiguous((nb_tensor *)t);
    assert_non_null(c);
    const double v = nb_tensor_dtype(c) == NB_FLOAT32 ? ((const float *)nb_tensor_data(c))[i]
                     : nb_tensor_dtype(c) == NB_FLOAT64 ? ((const double *)nb_tensor_data(c))[i]
                                                        : (double)((const int64_t *)nb_tensor_data(c))[i];
    nb_tensor_release(c);
    return v;
}

/* Every entry of a state dict as doubles, and its dtypes. */
static double *values(const nb_module *m, nb_dtype *dts, nb_tensor **ptrs, int *count) {
    nb_named_tensor sd[16];
    const int n = nb_module_state_dict(m, sd, 16);
    assert_true(n > 0 && n <= 16);
    int64_t total = 0;
    for (int i = 0; i < n; i++) total += nb_tensor_numel(sd[i].tensor);
    double *v = malloc((size_t)total * sizeof *v), *p = v;
    for (int i = 0; i < n; i++) {
        dts[i] = nb_tensor_dtype(sd[i].tensor);
        ptrs[i] = sd[i].tensor;
        for (int64_t j = 0; j < nb_tensor_numel(sd[i].tensor); j++) *p++ = flat(sd[i].tensor, j);
    }
    *count = n;
    return v;
}

static void converts_in_place_and_back(void **state) {
    (void)state;
    nb_module *m = model(3);
    nb_tensor *x = RAND(NB_FLOAT32, -1, 1, 4, 1, 4, 4), *y = nb_module_forward(m, x);   /* moves the buffers */
    nb_tensor_release(y);
    nb_dtype d0[16], d1[16], d2[16];
    nb_tensor *p0[16], *p1[16], *p2[16];
    int n0, n1, n2;
    double *v0 = values(m, d0, p0, &n0);
    assert_int_equal(nb_module_to_dtype(m, NB_FLOAT64), NB_OK);
    double *v1 = values(m, d1, p1, &n1);
    assert_int_equal(n0, n1);
    for (int i = 0; i < n0; i++) {
        assert_ptr_equal(p0[i], p1[i]);   /* the same objects */
        assert_int_equal(d1[i], d0[i] == NB_INT64 ? NB_INT64 : NB_FLOAT64);
    }
    int64_t total = 0;
    for (int i = 0; i < n0; i++) total += nb_tensor_numel(p0[i]);
    for (int64_t j = 0; j < total; j++) assert_true(v0[j] == v1[j]);   /* float32 -> float64 is exact */
    assert_int_equal(nb_module_to_dtype(m, NB_FLOAT32), NB_OK);   /* and back, bit for bit */
    double *v2 = values(m, d2, p2, &n2);
    for (int i = 0; i < n0; i++) assert_int_equal(d2[i], d0[i]);
    for (int64_t j = 0; j < total; j++) assert_true(v0[j] == v2[j]);
    free(v0);
    free(v1);
    free(v2);
    nb_tensor_release(x);
    nb_module_free(m);
}

/* The float64 model against the float32 one from the same weights: the
   same function to float32's precision, computed in float64 (a sum of
   float64 products of float32 values is closer to the float32 model's
   exact result than float32's own rounding). */
static void float64_model_computes_the_same_function(void **state) {
    (void)state;
    nb_module *a = model(5), *b = model(5);
    assert_int_equal(nb_module_to_dtype(b, NB_FLOAT64), NB_OK);
    nb_tensor *x = RAND(NB_FLOAT32, -2, 2, 6, 1, 4, 4), *xd = nb_to_dtype(x, NB_FLOAT64);
    nb_tensor *ya = nb_module_forward(a, x), *yb = nb_module_forward(b, xd);
    assert_non_null(ya);
    assert_non_null(yb);
    assert_int_equal(nb_tensor_dtype(yb), NB_FLOAT64);
    for (int64_t i = 0; i < nb_tensor_numel(ya); i++) {
        const double u = flat(ya, i), v = flat(yb, i);
        assert_true(fabs(u - v) <= 1e-5 * (1 + fabs(v)));
    }
    nb_tensor *xs[] = {x, xd, ya, yb};
    for (int i = 0; i < 4; i++) nb_tensor_release(xs[i]);
    nb_module_free(a);
    nb_module_free(b);
}

/* Grads follow their parameter, and SGD built afterwards steps in float64:
   p' = p - lr g, checked in double against the values read before. */
static void grads_convert_and_sgd_steps_in_float64(void **state) {
    (void)state;
    nb_module *m = model(9);
    nb_tensor *x = RAND(NB_FLOAT32, -1, 1, 2, 1, 4, 4), *y = nb_module_forward(m, x), *s = nb_sum_all(y);
    assert_int_equal(nb_backward(s, NULL, false), NB_OK);
    nb_tensor *params[8];
    const int np = nb_module_parameters(m, params, 8);
    assert_true(np > 0 && np <= 8);
    assert_int_equal(nb_module_to_dtype(m, NB_FLOAT64), NB_OK);
    for (int i = 0; i < np; i++) {
        assert_int_equal(nb_tensor_dtype(params[i]), NB_FLOAT64);
        assert_int_equal(nb_tensor_dtype(nb_tensor_grad(params[i])), NB_FLOAT64);
    }
    nb_tensor *w = params[np - 2];   /* the Linear's weight */
    const int64_t n = nb_tensor_numel(w);
    double *before = malloc((size_t)n * sizeof *before), *g = malloc((size_t)n * sizeof *g);
    for (int64_t j = 0; j < n; j++) {
        before[j] = flat(w, j);
        g[j] = flat(nb_tensor_grad(w), j);
    }
    nb_optimizer *opt = nb_sgd_new(np, params, 0.125, 0.0, 0.0);
    assert_non_null(opt);
    assert_int_equal(nb_optimizer_step(opt), NB_OK);
    for (int64_t j = 0; j < n; j++) assert_true(flat(w, j) == before[j] - 0.125 * g[j]);
    free(before);
    free(g);
    nb_optimizer_free(opt);
    nb_tensor_release(x);
    nb_tensor_release(y);
    nb_tensor_release(s);
    nb_module_free(m);
}

static void bad_arguments_leave_the_model_unchanged(void **state) {
    (void)state;
    assert_int_equal(nb_module_to_dtype(NULL, NB_FLOAT64), NB_ERR_ARG);
    assert_non_null(strstr(nb_last_error(), "nb_module_to_dtype"));
    nb_module *m = model(11);
    nb_dtype d0[16], d1[16];
    nb_tensor *p0[16], *p1[16];
    int n0, n1;
    double *v0 = values(m, d0, p0, &n0);
    assert_int_equal(nb_module_to_dtype(m, NB_INT64), NB_ERR_DTYPE);
    assert_non_null(strstr(nb_last_error(), "nb_module_to_dtype"));
    assert_non_null(strstr(nb_last_error(), "dtype"));
    double *v1 = values(m, d1, p1, &n1);
    assert_int_equal(n0, n1);
    int64_t total = 0;
    for (int i = 0; i < n0; i++) {
        assert_int_equal(d0[i], d1[i]);
        total += nb_tensor_numel(p0[i]);
    }
    for (int64_t j = 0; j < total; j++) assert_true(v0[j] == v1[j]);
    free(v0);
    free(v1);
    nb_module_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        T(converts_in_place_and_back),
        T(float64_model_computes_the_same_function),
        T(grads_convert_and_sgd_steps_in_float64),
        T(bad_arguments_leave_the_model_unchanged),
    };
    return nbt_run(tests);
}
