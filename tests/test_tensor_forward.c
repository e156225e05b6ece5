/* float32 forward results of the tensor ops: against a double-precision
 * oracle computed here, and the reference backend against the SIMD one in the
 * same process (nb_isa_set), on non-contiguous inputs of odd sizes. */
#include <stdlib.h>

#include "tensor_util.h"

#define F32 NB_FLOAT32

/* Tolerance: float32 elementwise results within a few ulps of the exact
   value, sums within the blocked-summation bound; a loose common bound. */
static void assert_close_to(const nb_tensor *y, const double *want, double rtol, double atol) {
    int64_t n = nb_tensor_numel(y), idx[NB_MAX_DIMS] = {0};
    for (int64_t k = 0; k < n; k++, tu_next_index(nb_tensor_ndim(y), nb_tensor_shape(y), idx)) {
        double got = tu_at(y, idx);
        if (isnan(want[k]) && isnan(got)) continue;
        if (!(fabs(got - want[k]) <= atol + rtol * fabs(want[k])))
            fail_msg("element %lld: got %.9g, want %.9g", (long long)k, got, want[k]);
    }
}

/* Values of t in row-major order, as doubles. */
static double *values(const nb_tensor *t) {
    int64_t n = nb_tensor_numel(t), idx[NB_MAX_DIMS] = {0};
    double *v = malloc(sizeof(double) * (size_t)(n ? n : 1));
    for (int64_t k = 0; k < n; k++, tu_next_index(nb_tensor_ndim(t), nb_tensor_shape(t), idx)) v[k] = tu_at(t, idx);
    return v;
}

typedef nb_tensor *(*op1)(nb_tensor *);
typedef double (*ref1)(double);
static double d_sigmoid(double v) { return 1 / (1 + exp(-v)); }
static double d_gelu(double v) { return 0.5 * v * (1 + erf(v / sqrt(2.0))); }
static double d_relu(double v) { return v > 0 ? v : 0; }

/* The ISAs to compare: the reference and, when present, the SIMD one. */
static int isas(nb_isa *out) {
    int n = 0;
    out[n++] = NB_ISA_REF;
    if (nb_isa_supported(NB_ISA_AVX2)) out[n++] = NB_ISA_AVX2;
    if (nb_isa_supported(NB_ISA_NEON)) out[n++] = NB_ISA_NEON;
    return n;
}

static void unary_ops_match_libm_on_every_isa(void **s) {
    (void)s;
    /* gelu: 1 + erf cancels for x < 0, so its bound is absolute, about |x| u
       (see tests/test_unary.c); the others are relative. */
    struct { op1 f; ref1 r; double lo, hi, atol; } cases[] = {
        {nb_exp, exp, -10, 10, 0}, {nb_log, log, 0.01, 100, 0}, {nb_tanh, tanh, -5, 5, 0},
        {nb_sigmoid, d_sigmoid, -10, 10, 0}, {nb_gelu, d_gelu, -5, 5, 5 * 6e-8 * 2}, {nb_relu, d_relu, -1, 1, 0},
    };
    nb_isa list[3];
    int ni = isas(list);
    nb_isa before = nb_isa_active();
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        nb_tensor *base = RAND(F32, cases[c].lo, cases[c].hi, 37, 19);
        nb_tensor *x = nb_t(base);                      /* non-contiguous input */
        double *xv = values(x);
        int64_t n = nb_tensor_numel(x);
        double *want = malloc(sizeof(double) * (size_t)n);
        for (int64_t k = 0; k < n; k++) want[k] = cases[c].r((double)(float)xv[k]);
        nb_tensor *first = NULL;
        for (int i = 0; i < ni; i++) {
            assert_int_equal(nb_isa_set(list[i]), NB_OK);
            nb_tensor *y = cases[c].f(x);
            assert_non_null(y);
            assert_close_to(y, want, 4e-6, cases[c].atol);
            if (!first) first = y;
            else {
                double *fv = values(first);
                assert_close_to(y, fv, 8e-6, 2 * cases[c].atol);     /* ref vs SIMD */
                free(fv);
                nb_tensor_release(y);
            }
        }
        nb_tensor_release(first);
        free(xv); free(want);
        nb_tensor_release(x); nb_tensor_release(base);
    }
    nb_isa_set(before);
}

static void reductions_match_a_double_oracle_on_every_isa(void **s) {
    (void)s;
    nb_isa list[3];
    int ni = isas(list);
    nb_isa before = nb_isa_active();
    nb_tensor *base = RAND(F32, -1, 1, 5, 33, 17);
    nb_tensor *x = nb_permute(base, (int[]){2, 0, 1});        /* [17, 5, 33] */
    double sum[17] = {0}, mx[17], mean[17];
    for (int64_t i = 0; i < 17; i++) {
        mx[i] = -INFINITY;
        for (int64_t j = 0; j < 5; j++)
            for (int64_t k = 0; k < 33; k++) {
                double v = AT(x, i, j, k);
                sum[i] += v;
                mx[i] = v > mx[i] ? v : mx[i];
            }
        mean[i] = sum[i] / 165;
    }
    for (int i = 0; i < ni; i++) {
        assert_int_equal(nb_isa_set(list[i]), NB_OK);
        int dims[2] = {1, 2};
        nb_tensor *a = nb_sum(x, 2, dims, false), *b = nb_mean(x, 2, dims, false), *c = nb_max(x, 2, dims, false);
        assert_close_to(a, sum, 1e-5, 1e-5);
        assert_close_to(b, mean, 1e-5, 1e-7);
        assert_close_to(c, mx, 0, 0);
        nb_tensor_release(a); nb_tensor_release(b); nb_tensor_release(c);
    }
    nb_isa_set(before);
    nb_tensor_release(x); nb_tensor_release(base);
}

static void softmax_and_matmul_match_a_double_oracle_on_every_isa(void **s) {
    (void)s;
    nb_isa list[3];
    int ni = isas(list);
    nb_isa before = nb_isa_active();
    nb_tensor *a = RAND(F32, -2, 2, 7, 13), *bb = RAND(F32, -2, 2, 11, 13), *b = nb_t(bb);   /* b: [13, 11] transposed view */
    double mm[7 * 11], sm[7 * 13], lsm[7 * 13];
    for (int i = 0; i < 7; i++) {
        for (int j = 0; j < 11; j++) {
            double acc = 0;
            for (int k = 0; k < 13; k++) acc += AT(a, i, k) * AT(b, k, j);
            mm[i * 11 + j] = acc;
        }
        double m = -INFINITY, z = 0;
        for (int k = 0; k < 13; k++) m = fmax(m, AT(a, i, k));
        for (int k = 0; k < 13; k++) z += exp(AT(a, i, k) - m);
        for (int k = 0; k < 13; k++) {
            sm[i * 13 + k] = exp(AT(a, i, k) - m) / z;
            lsm[i * 13 + k] = AT(a, i, k) - m - log(z);
        }
    }
    for (int i = 0; i < ni; i++) {
        assert_int_equal(nb_isa_set(list[i]), NB_OK);
        nb_tensor *y = nb_matmul(a, b), *p = nb_softmax(a, -1), *lp = nb_log_softmax(a, 1);
        assert_close_to(y, mm, 1e-5, 1e-5);
        assert_close_to(p, sm, 1e-5, 1e-7);
        assert_close_to(lp, lsm, 1e-5, 1e-6);
        nb_tensor_release(y); nb_tensor_release(p); nb_tensor_release(lp);
    }
    nb_isa_set(before);
    nb_tensor_release(a); nb_tensor_release(b); nb_tensor_release(bb);
}

/* NCHW activations, OIHW filters: y[n][k][p][q] = b[k] + sum_{c,r,s} x[n][c][p+r][q+s] w[k][c][r][s]. */
static void conv2d_uses_nchw_and_oihw_layouts(void **s) {
    (void)s;
    nb_tensor *x = RAND(F32, -1, 1, 2, 3, 6, 5), *w = RAND(F32, -1, 1, 4, 3, 3, 2), *b = RAND(F32, -1, 1, 4);
    nb_conv2d_params p = nb_conv2d_defaults();
    nb_tensor *y = nb_conv2d(x, w, b, &p);
    ASSERT_SHAPE(y, 2, 4, 4, 4);
    double want[2 * 4 * 4 * 4];
    int o = 0;
    for (int n = 0; n < 2; n++)
        for (int k = 0; k < 4; k++)
            for (int pp = 0; pp < 4; pp++)
                for (int q = 0; q < 4; q++) {
                    double acc = AT(b, k);
                    for (int c = 0; c < 3; c++)
                        for (int r = 0; r < 3; r++)
                            for (int t = 0; t < 2; t++) acc += AT(x, n, c, pp + r, q + t) * AT(w, k, c, r, t);
                    want[o++] = acc;
                }
    assert_close_to(y, want, 1e-5, 1e-5);
    nb_tensor_release(x); nb_tensor_release(w); nb_tensor_release(b); nb_tensor_release(y);
}

static void pooling_forward_values(void **s) {
    (void)s;
    nb_tensor *x = nb_arange(0, 16, 1, F32), *x4 = nb_reshape(x, 4, SHAPE(1, 1, 4, 4));
    nb_tensor *m = nb_max_pool2d(x4, 2, 2, 0, 0, 0, 0), *a = nb_avg_pool2d(x4, 2, 2, 0, 0, 0, 0);
    ASSERT_SHAPE(m, 1, 1, 2, 2);
    assert_true(AT(m, 0, 0, 0, 0) == 5 && AT(m, 0, 0, 1, 1) == 15);
    assert_true(AT(a, 0, 0, 0, 1) == 4.5);               /* (2 + 3 + 6 + 7) / 4 */
    nb_tensor_release(x); nb_tensor_release(x4); nb_tensor_release(m); nb_tensor_release(a);
}

static void cross_entropy_matches_log_sum_exp(void **s) {
    (void)s;
    nb_tensor *logits = nb_tensor_new((float[]){1, 2, 3, 0.5f, 0.5f, -1}, F32, 2, SHAPE(2, 3));
    nb_tensor *t = nb_tensor_new((int64_t[]){2, 0}, NB_INT64, 1, SHAPE(2));
    nb_tensor *l = nb_cross_entropy(logits, t);
    double l0 = log(exp(1.0) + exp(2.0) + exp(3.0)) - 3, l1 = log(2 * exp(0.5) + exp(-1.0)) - 0.5;
    assert_true(fabs(tu_item(l) - (l0 + l1) / 2) < 1e-6);
    nb_tensor *bad = nb_tensor_new((int64_t[]){3, 0}, NB_INT64, 1, SHAPE(2));
    assert_null(nb_cross_entropy(logits, bad));
    tu_error_mentions("nb_cross_entropy", "out of range");
    nb_tensor *ft = nb_zeros(1, SHAPE(2), F32);
    assert_null(nb_cross_entropy(logits, ft));
    tu_failed_with(NB_ERR_DTYPE, "nb_cross_entropy", "int64");
    nb_tensor_release(logits); nb_tensor_release(t); nb_tensor_release(l); nb_tensor_release(bad); nb_tensor_release(ft);
}

static void mse_loss_value(void **s) {
    (void)s;
    nb_tensor *a = nb_tensor_new((float[]){1, 2, 3}, F32, 1, SHAPE(3)), *b = nb_zeros(1, SHAPE(3), F32);
    nb_tensor *l = nb_mse_loss(a, b);
    assert_true(fabs(tu_item(l) - 14.0 / 3) < 1e-6);
    nb_tensor_release(a); nb_tensor_release(b); nb_tensor_release(l);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unary_ops_match_libm_on_every_isa),
        cmocka_unit_test(reductions_match_a_double_oracle_on_every_isa),
        cmocka_unit_test(softmax_and_matmul_match_a_double_oracle_on_every_isa),
        cmocka_unit_test(conv2d_uses_nchw_and_oihw_layouts),
        cmocka_unit_test(pooling_forward_values),
        cmocka_unit_test(cross_entropy_matches_log_sum_exp),
        cmocka_unit_test(mse_loss_value),
    };
    return nbt_run(tests);
}
