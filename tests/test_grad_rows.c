/* The tanh and sigmoid gradient rules run as one elementwise row each
 * (NB_BIN_TANH_GRAD, NB_BIN_SIGMOID_GRAD: the active ISA's micro-kernel for
 * float32, plain C for float64) and give, bit for bit, what the composition
 * of tensor ops they replaced gave: g * (1 - y*y) and g * (y * (1 - y)),
 * rounded after each operation in that order. Checked with a dense
 * incoming gradient and with the broadcast one of a sum (a stride-0 scalar
 * row), on inputs with +-0, +-Inf, NaN and subnormals, on sizes around the
 * vector widths and one large enough to be split across threads (1 thread
 * against 2 and 3, bit for bit). */
#include <stdlib.h>

#include "tensor_util.h"

static const double specials[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 1e-40, -3e-39, 1.0, -1.0, 0.5};
#define NSPECIAL (sizeof specials / sizeof specials[0])

static nb_tensor *rand_input(nb_dtype dt, int64_t n) {
    nb_tensor *t = tu_rand(dt, 1, &n, -3.0, 3.0);
    for (int64_t i = 0; i < n; i++)
        if ((nbt_next() & 7) == 0) {
            const double v = specials[nbt_next() % NSPECIAL];
            if (dt == NB_FLOAT32) ((float *)nb_tensor_data(t))[i] = (float)v;
            else ((double *)nb_tensor_data(t))[i] = v;
        }
    return t;
}

static double at(const nb_tensor *t, int64_t i) {
    return nb_tensor_dtype(t) == NB_FLOAT32 ? (double)((const float *)nb_tensor_data(t))[i]
                                            : ((const double *)nb_tensor_data(t))[i];
}

/* The composed rule in the tensor's precision, one rounding per operation. */
static double composed(int sigmoid, nb_dtype dt, double g, double y) {
    if (dt == NB_FLOAT32) {
        const float gf = (float)g, yf = (float)y;
        return sigmoid ? (double)(gf * (yf * (1.0f - yf))) : (double)(gf * (1.0f - yf * yf));
    }
    return sigmoid ? g * (y * (1.0 - y)) : g * (1.0 - y * y);
}

static int same_bits(double a, double b) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    return memcmp(&a, &b, sizeof a) == 0;
}

/* x.grad after backward of f(x) with gradient g (NULL: of sum(f(x))). */
static nb_tensor *grad_of(int sigmoid, nb_tensor *x, nb_tensor *g, nb_tensor **y_out) {
    assert_int_equal(nb_tensor_requires_grad_(x, true), NB_OK);
    nb_tensor_set_grad(x, NULL);
    nb_tensor *y = sigmoid ? nb_sigmoid(x) : nb_tanh(x);
    assert_non_null(y);
    if (g) {
        assert_int_equal(nb_backward(y, g, false), NB_OK);
    } else {
        nb_tensor *s = nb_sum(y, 0, NULL, false);
        assert_non_null(s);
        assert_int_equal(nb_backward(s, NULL, false), NB_OK);
        nb_tensor_release(s);
    }
    *y_out = y;
    nb_tensor *gx = nb_tensor_grad(x);
    assert_non_null(gx);
    return nb_tensor_retain(gx);
}

static void check(int sigmoid, nb_dtype dt, int64_t n, int dense_g) {
    nb_tensor *x = rand_input(dt, n);
    nb_tensor *g = dense_g ? rand_input(dt, n) : NULL, *y = NULL;
    nb_tensor *gx = grad_of(sigmoid, x, g, &y);
    for (int64_t i = 0; i < n; i++) {
        const double want = composed(sigmoid, dt, g ? at(g, i) : 1.0, at(y, i));
        if (!same_bits(at(gx, i), want)) {
            print_error("%s %s n=%lld: grad[%lld] = %a, want %a (y = %a)\n", sigmoid ? "sigmoid" : "tanh",
                        nb_dtype_name(dt), (long long)n, (long long)i, at(gx, i), want, at(y, i));
            fail();
        }
    }
    nb_tensor_release(gx);
    nb_tensor_release(y);
    nb_tensor_release(g);
    nb_tensor_release(x);
}

static void gradients_equal_the_composed_rule_bit_for_bit(void **state) {
    (void)state;
    static const int64_t sizes[] = {0, 1, 7, 8, 9, 15, 16, 17, 33, 1023};
    for (int sigmoid = 0; sigmoid <= 1; sigmoid++)
        for (int d = 0; d < 2; d++)
            for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
                for (int dense = 0; dense <= 1; dense++)
                    check(sigmoid, d ? NB_FLOAT64 : NB_FLOAT32, sizes[k], dense);
}

static void large_gradients_are_thread_count_invariant(void **state) {
    (void)state;
    const int64_t n = 300007;
    const int saved = nb_get_num_threads();
    for (int sigmoid = 0; sigmoid <= 1; sigmoid++) {
        nb_tensor *x = rand_input(NB_FLOAT32, n), *g = rand_input(NB_FLOAT32, n), *y, *ref = NULL;
        for (int t = 1; t <= 3; t++) {
            nb_set_num_threads(t);
            nb_tensor *gx = grad_of(sigmoid, x, g, &y);
            nb_tensor_release(y);
            if (!ref) ref = gx;
            else {
                assert_memory_equal(nb_tensor_data(gx), nb_tensor_data(ref), (size_t)n * sizeof(float));
                nb_tensor_release(gx);
            }
        }
        check(sigmoid, NB_FLOAT32, n, 1);
        nb_tensor_release(ref);
        nb_tensor_release(g);
        nb_tensor_release(x);
    }
    nb_set_num_threads(saved);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gradients_equal_the_composed_rule_bit_for_bit),
        cmocka_unit_test(large_gradients_are_thread_count_invariant),
    };
    return nbt_run(tests);
}
