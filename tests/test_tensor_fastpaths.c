/* The tensor layer's shortcuts past the kernel ABI give the ABI's bits:
 * nb_sum of a small dense float32 tensor over every dim (one rrows
 * micro-kernel call, src/tensor/reduce.c) equals nb_sreduce on the same
 * data, for every size up to the shortcut's limit and beyond it, in 1-D
 * and 2-D and 3-D shapes, with NaN and Inf among the values; and the
 * autograd of such a sum still works. */
#include <math.h>
#include <string.h>

#include "harness.h"

static void check_sum(int ndim, const int64_t *shape) {
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= shape[d];
    float x[200];
    nbt_fill_uniform(x, n, -3.0f, 3.0f);
    if (n > 5 && nbt_range(0, 3) == 0) x[nbt_range(0, n - 1)] = nbt_range(0, 1) ? NAN : INFINITY;
    nb_tensor *t = nb_tensor_new(x, NB_FLOAT32, ndim, shape);
    nb_tensor *s = nb_sum(t, 0, NULL, false);
    assert_non_null(s);
    int64_t st[3];
    for (int d = ndim - 1, k = 1; d >= 0; d--) { st[d] = k; k *= (int)shape[d]; }
    float want = 0;
    const int64_t ys[3] = {0, 0, 0};   /* the output: every dim reduced to 1 */
    const nb_status rs = nb_sreduce(NB_REDUCE_SUM, ndim, shape, x, st, ((uint64_t)1 << ndim) - 1, &want, ys);
    if (rs != NB_OK) fail_msg("nb_sreduce: %s", nb_last_error());
    const float got = *(const float *)nb_tensor_data(s);
    if (!(memcmp(&got, &want, sizeof got) == 0 || (got != got && want != want)))
        fail_msg("sum of %lld elements (%d dims): %a, nb_sreduce gives %a", (long long)n, ndim, (double)got,
                 (double)want);
    nb_tensor_release(s);
    nb_tensor_release(t);
}

static void small_sums_give_the_kernel_abi_bits(void **state) {
    (void)state;
    for (int64_t n = 1; n <= 130; n++) {
        check_sum(1, (int64_t[]){n});
        if (n % 2 == 0) check_sum(2, (int64_t[]){2, n / 2});
        if (n % 6 == 0) check_sum(3, (int64_t[]){3, 2, n / 6});
    }
}

static void the_small_sum_still_records_its_gradient(void **state) {
    (void)state;
    nb_tensor *t = nb_ones(1, (int64_t[]){4}, NB_FLOAT32);
    assert_int_equal(nb_tensor_requires_grad_(t, true), NB_OK);
    nb_tensor *s = nb_sum(t, 0, NULL, false);
    assert_int_equal(nb_backward(s, NULL, false), NB_OK);
    const float *g = nb_tensor_data(nb_tensor_grad(t));
    for (int i = 0; i < 4; i++) assert_true(g[i] == 1.0f);
    assert_true(*(const float *)nb_tensor_data(s) == 4.0f);
    nb_tensor_release(s);
    nb_tensor_release(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(small_sums_give_the_kernel_abi_bits),
        cmocka_unit_test(the_small_sum_still_records_its_gradient),
    };
    return nbt_run(tests);
}
