/* nb_linear's orientation choice (src/nn/functional.c): a batch smaller
 * than the layer, or a layer narrower than a GEMM column panel, is
 * computed as (W x^T)^T. These tests pin what the choice must not change:
 *   - y, dx, dW and db have the bits of the composition
 *     nb_add(nb_matmul(x, nb_t(w)), b) and its backward, on both sides of
 *     the choice (shapes that swap and shapes that do not);
 *   - a row run alone (M = 1, never swapped) has the bits it has inside a
 *     batch that swaps (DESIGN.md: same bits for any batch size);
 *   - y is contiguous, and within DESIGN.md's GEMM bound of a double loop
 *     (so the test fails if both paths were wrong the same way);
 *   - NaN and Inf in x reach only their own row.
 * The training-step benchmark row is steps/nabla/mlp_784_256_10_b128. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tensor_util.h"

#define F32 NB_FLOAT32
#define T(f) cmocka_unit_test_setup_teardown(f, tu_live_setup, tu_live_teardown)

/* M x K batch, N x K weight: swapped shapes (M >= 64, M < N or N < 32,
   M*N*K >= 2^18) and unswapped ones next to each boundary. */
static const int64_t shapes[][3] = {
    {128, 784, 256}, {128, 256, 10}, {64, 37, 130}, {97, 170, 31}, {65, 33, 200}, {64, 64, 65},
    {63, 37, 130}, {128, 31, 128}, {70, 190, 32}, {64, 128, 10}, {1, 784, 256}, {5, 3, 2}};

static bool same_bits(const nb_tensor *a, const nb_tensor *b) {
    const int64_t n = nb_tensor_numel(a);
    assert_int_equal(n, nb_tensor_numel(b));
    assert_true(nb_tensor_is_contiguous(a) && nb_tensor_is_contiguous(b));
    return memcmp(nb_tensor_data(a), nb_tensor_data(b), (size_t)n * sizeof(float)) == 0;
}

static nb_tensor *leaf(nb_tensor *t) {
    assert_int_equal(nb_tensor_requires_grad_(t, true), NB_OK);
    return t;
}

/* sum(y * r): a loss whose gradient dL/dy is r, so dW and db see every row. */
static nb_tensor *loss_of(nb_tensor *y, nb_tensor *r) {
    nb_tensor *p = nb_mul(y, r), *l = p ? nb_sum(p, 0, NULL, false) : NULL;
    nb_tensor_release(p);
    assert_non_null(l);
    return l;
}

/* Runs y = f(x, w, b) and backward; returns y, sets the three grads. */
static nb_tensor *run(bool composed, nb_tensor *x, nb_tensor *w, nb_tensor *b, nb_tensor *r, nb_tensor *g[3]) {
    nb_tensor *y;
    if (composed) {
        nb_tensor *wt = nb_t(w), *mm = nb_matmul(x, wt);
        y = nb_add(mm, b);
        nb_tensor_release(wt); nb_tensor_release(mm);
    } else {
        y = nb_linear(x, w, b);
    }
    assert_non_null(y);
    nb_tensor *l = loss_of(y, r);
    nb_tensor *in[3] = {x, w, b};
    for (int i = 0; i < 3; i++) nb_tensor_set_grad(in[i], NULL);
    assert_int_equal(nb_backward(l, NULL, false), NB_OK);
    for (int i = 0; i < 3; i++) {
        g[i] = nb_tensor_retain(nb_tensor_grad(in[i]));
        assert_non_null(g[i]);
    }
    nb_tensor_release(l);
    return y;
}

static void linear_has_the_bits_of_matmul_plus_bias_forward_and_backward(void **s) {
    (void)s;
    for (size_t c = 0; c < sizeof shapes / sizeof shapes[0]; c++) {
        const int64_t M = shapes[c][0], K = shapes[c][1], N = shapes[c][2];
        nb_tensor *x = leaf(RAND(F32, -1, 1, M, K)), *w = leaf(RAND(F32, -1, 1, N, K));
        nb_tensor *b = leaf(RAND(F32, -1, 1, N)), *r = RAND(F32, -1, 1, M, N);
        nb_tensor *g1[3], *g2[3];
        nb_tensor *y1 = run(false, x, w, b, r, g1), *y2 = run(true, x, w, b, r, g2);
        if (!same_bits(y1, y2)) fail_msg("y differs from matmul + b at M=%lld K=%lld N=%lld", (long long)M, (long long)K, (long long)N);
        const char *name[3] = {"dx", "dW", "db"};
        for (int i = 0; i < 3; i++) {
            if (!same_bits(g1[i], g2[i]))
                fail_msg("%s differs at M=%lld K=%lld N=%lld", name[i], (long long)M, (long long)K, (long long)N);
            nb_tensor_release(g1[i]); nb_tensor_release(g2[i]);
        }
        /* Against a double loop, DESIGN.md's bound gamma(K + 1) (|x||w| + |b|). */
        const float *px = nb_tensor_data(x), *pw = nb_tensor_data(w), *pb = nb_tensor_data(b), *py = nb_tensor_data(y1);
        const double u = ldexp(1.0, -24), gam = (K + 1) * u / (1 - (K + 1) * u);
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double e = pb[j], mag = fabs(pb[j]);
                for (int64_t k = 0; k < K; k++) {
                    e += (double)px[i * K + k] * pw[j * K + k];
                    mag += fabs((double)px[i * K + k] * pw[j * K + k]);
                }
                if (fabs(py[i * N + j] - e) > gam * mag)
                    fail_msg("y[%lld,%lld] = %g, exact %g (M=%lld K=%lld N=%lld)", (long long)i, (long long)j,
                             (double)py[i * N + j], e, (long long)M, (long long)K, (long long)N);
            }
        nb_tensor_release(y1); nb_tensor_release(y2);
        nb_tensor_release(x); nb_tensor_release(w); nb_tensor_release(b); nb_tensor_release(r);
    }
}

/* Row i of a batch that takes the swapped GEMM equals nb_linear of row i
   alone (M = 1: the unswapped path), bit for bit; NaN / Inf in one row of x
   stay in that row. */
static void a_row_alone_has_its_bits_in_a_swapped_batch(void **s) {
    (void)s;
    const int64_t M = 128, K = 300, N = 256;
    nb_tensor *x = RAND(F32, -1, 1, M, K), *w = RAND(F32, -1, 1, N, K), *b = RAND(F32, -1, 1, N);
    float *px = nb_tensor_data(x);
    px[5 * K + 7] = NAN;
    px[9 * K + 0] = INFINITY;
    nb_tensor *y = nb_linear(x, w, b);
    assert_non_null(y);
    assert_true(nb_tensor_is_contiguous(y));
    const float *py = nb_tensor_data(y);
    for (int64_t i = 0; i < M; i++) {
        nb_tensor *xi = nb_narrow(x, 0, i, 1), *yi = xi ? nb_linear(xi, w, b) : NULL;
        assert_non_null(yi);
        if (memcmp(nb_tensor_data(yi), py + i * N, (size_t)N * sizeof(float)) != 0)
            fail_msg("row %lld alone differs from its batch result", (long long)i);
        for (int64_t j = 0; j < N; j++) {
            const float v = py[i * N + j];
            if (i == 5) assert_true(isnan(v));
            else if (i != 9) assert_true(isfinite(v));
        }
        nb_tensor_release(xi); nb_tensor_release(yi);
    }
    nb_tensor_release(x); nb_tensor_release(w); nb_tensor_release(b); nb_tensor_release(y);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        T(linear_has_the_bits_of_matmul_plus_bias_forward_and_backward),
        T(a_row_alone_has_its_bits_in_a_swapped_batch),
    };
    return nbt_run(tests);
}
