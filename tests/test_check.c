/* Shadow mode (NABLA_CHECK=1, set by tests/meson.build for this program):
 * calls through the public API are re-run on the reference and counted,
 * results are unchanged, and agreeing backends show no violation. Skipped
 * when the active ISA is the reference (nothing to shadow). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"

static void expect_checked(nb_check_slot s, long calls_before) {
    long calls, violations;
    double worst;
    nb_check_stats(s, &calls, &violations, &worst);
    assert_int_equal(calls, calls_before + 1);
    assert_int_equal(violations, 0);
    assert_true(worst <= 1.0);
}

static long calls_of(nb_check_slot s) {
    long calls, violations;
    double worst;
    nb_check_stats(s, &calls, &violations, &worst);
    return calls;
}

static void sgemm_is_shadowed_and_its_result_kept(void **state) {
    (void)state;
    if (nb_isa_active() == NB_ISA_REF) skip();
    enum { M = 37, N = 29, K = 71 };
    float *A = malloc(M * K * sizeof(float)), *B = malloc(K * N * sizeof(float));
    float *C = malloc(M * N * sizeof(float)), *D = malloc(M * N * sizeof(float));
    nbt_fill_uniform(A, M * K, -1, 1);
    nbt_fill_uniform(B, K * N, -1, 1);
    const long before = calls_of(NB_CHECK_SGEMM);
    assert_int_equal(nb_sgemm(0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N), NB_OK);
    expect_checked(NB_CHECK_SGEMM, before);
    /* the result is the backend's own: same bits as a direct table call */
    assert_int_equal(nb_kernels_active_unchecked()->sgemm(0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, D, N), NB_OK);
    assert_memory_equal(C, D, M * N * sizeof(float));
    free(A); free(B); free(C); free(D);
}

static void reductions_copies_and_elementwise_are_shadowed(void **state) {
    (void)state;
    if (nb_isa_active() == NB_ISA_REF) skip();
    enum { R = 33, Cn = 65 };
    float *x = malloc(R * Cn * sizeof(float)), *y = malloc(R * Cn * sizeof(float));
    nbt_fill_uniform(x, R * Cn, -3, 3);
    int64_t shape[2] = {R, Cn}, xs[2] = {Cn, 1}, ys[2] = {1, 1}, ts[2] = {1, R};

    long before = calls_of(NB_CHECK_REDUCE);
    assert_int_equal(nb_sreduce(NB_REDUCE_SUM, 2, shape, x, xs, 1u, y, ys), NB_OK);
    expect_checked(NB_CHECK_REDUCE, before);

    before = calls_of(NB_CHECK_COPY);
    assert_int_equal(nb_copy_strided(sizeof(float), 2, shape, x, xs, y, ts), NB_OK);
    expect_checked(NB_CHECK_COPY, before);

    before = calls_of(NB_CHECK_UNARY);
    assert_int_equal(nb_sunary(NB_UNARY_TANH, R * Cn, x, y), NB_OK);
    expect_checked(NB_CHECK_UNARY, before);

    before = calls_of(NB_CHECK_SOFTMAX);
    assert_int_equal(nb_ssoftmax(0, R, Cn, x, Cn, y, Cn), NB_OK);
    expect_checked(NB_CHECK_SOFTMAX, before);
    free(x); free(y);
}

static void conv2d_passes_are_shadowed(void **state) {
    (void)state;
    if (nb_isa_active() == NB_ISA_REF) skip();
    nb_conv2d_desc d = {.n = 2, .c = 5, .h = 9, .w = 11, .k = 7, .r = 3, .s = 3, .stride_h = 1,
                        .stride_w = 2, .pad_h = 1, .pad_w = 1, .dilation_h = 1, .dilation_w = 1,
                        .groups = 1};
    int64_t p, q;
    assert_int_equal(nb_conv2d_out_shape(&d, &p, &q), NB_OK);
    const int64_t xn = d.n * d.c * d.h * d.w, wn = d.k * d.c * d.r * d.s, yn = d.n * d.k * p * q;
    float *x = malloc(xn * sizeof(float)), *w = malloc(wn * sizeof(float));
    float *b = malloc(d.k * sizeof(float)), *y = malloc(yn * sizeof(float));
    nbt_fill_uniform(x, xn, -1, 1);
    nbt_fill_uniform(w, wn, -1, 1);
    nbt_fill_uniform(b, d.k, -1, 1);
    long before = calls_of(NB_CHECK_CONV_FWD);
    assert_int_equal(nb_sconv2d_forward(&d, x, w, b, y), NB_OK);
    expect_checked(NB_CHECK_CONV_FWD, before);
    before = calls_of(NB_CHECK_CONV_BWD_DATA);
    assert_int_equal(nb_sconv2d_backward_data(&d, y, w, x), NB_OK);
    expect_checked(NB_CHECK_CONV_BWD_DATA, before);
    before = calls_of(NB_CHECK_CONV_BWD_FILTER);
    assert_int_equal(nb_sconv2d_backward_filter(&d, x, y, w, b), NB_OK);
    expect_checked(NB_CHECK_CONV_BWD_FILTER, before);
    free(x); free(w); free(b); free(y);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sgemm_is_shadowed_and_its_result_kept),
        cmocka_unit_test(reductions_copies_and_elementwise_are_shadowed),
        cmocka_unit_test(conv2d_passes_are_shadowed),
    };
    return nbt_run(tests);
}
