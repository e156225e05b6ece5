/* PyTorch semantics of issue 12, item 1: nll_loss / cross_entropy with
 * ignore_index and reduction (against a double-precision oracle written
 * here, and finite differences), mse_loss reductions, flatten(start, end),
 * randint, randperm, and the in-place scalar ops sub_ / div_ (and a float
 * scalar refused in place on an int64 tensor, as PyTorch). */
#include <stdlib.h>

#include "nn_gradcheck.h"

#define F32 NB_FLOAT32
#define F64 NB_FLOAT64

#define T(f) cmocka_unit_test_setup_teardown(f, tu_live_setup, tu_live_teardown)

static nb_tensor *labels(int n, const int64_t *v) { return nb_tensor_new(v, NB_INT64, 1, (int64_t[]){n}); }

/* -log_softmax(x[i])[t] in double, the oracle. */
static double ce_row(const nb_tensor *x, int64_t i, int64_t C, int64_t t) {
    double m = -INFINITY, s = 0;
    for (int64_t c = 0; c < C; c++) m = fmax(m, AT(x, i, c));
    for (int64_t c = 0; c < C; c++) s += exp(AT(x, i, c) - m);
    return -(AT(x, i, t) - m - log(s));
}

static void cross_entropy_skips_ignored_targets_in_each_reduction(void **s) {
    (void)s;
    nb_tensor *x = RAND(F32, -3, 3, 5, 4);
    const int64_t tv[5] = {1, -100, 3, 0, -100};
    nb_tensor *t = labels(5, tv);
    double sum = 0;
    for (int i = 0; i < 5; i++) sum += tv[i] == -100 ? 0 : ce_row(x, i, 4, tv[i]);
    nb_tensor *mean = nb_cross_entropy(x, t), *tot = nb_cross_entropy_ex(x, t, -100, NB_REDUCTION_SUM);
    nb_tensor *each = nb_cross_entropy_ex(x, t, -100, NB_REDUCTION_NONE);
    assert_true(fabs(tu_item(mean) - sum / 3) < 1e-5);   /* the mean over the 3 kept targets */
    assert_true(fabs(tu_item(tot) - sum) < 1e-5);
    ASSERT_SHAPE(each, 5);
    for (int i = 0; i < 5; i++)
        assert_true(fabs(AT(each, i) - (tv[i] == -100 ? 0 : ce_row(x, i, 4, tv[i]))) < 1e-5);
    nb_tensor *l = nb_nll_loss(x, t);   /* nll of raw values: -x[i, t] averaged over kept rows */
    assert_true(fabs(tu_item(l) + (AT(x, 0, 1) + AT(x, 2, 3) + AT(x, 3, 0)) / 3) < 1e-6);
    nb_tensor_release(x); nb_tensor_release(t); nb_tensor_release(mean); nb_tensor_release(tot);
    nb_tensor_release(each); nb_tensor_release(l);
}

static void cross_entropy_of_all_ignored_targets_is_nan_with_zero_gradient(void **s) {
    (void)s;
    nb_tensor *x = RAND(F32, -1, 1, 3, 4);
    nb_tensor_requires_grad_(x, true);
    nb_tensor *t = labels(3, (int64_t[]){-100, -100, -100});
    nb_tensor *l = nb_cross_entropy(x, t), *sum = nb_cross_entropy_ex(x, t, -100, NB_REDUCTION_SUM);
    assert_true(isnan(tu_item(l)));
    assert_true(tu_item(sum) == 0);
    assert_int_equal(nb_backward(l, NULL, false), NB_OK);
    for (int i = 0; i < 3; i++)
        for (int c = 0; c < 4; c++) assert_true(AT(nb_tensor_grad(x), i, c) == 0);
    nb_tensor_release(x); nb_tensor_release(t); nb_tensor_release(l); nb_tensor_release(sum);
}

static void a_custom_ignore_index_is_skipped_and_minus_100_is_then_out_of_range(void **s) {
    (void)s;
    nb_tensor *x = RAND(F32, -1, 1, 2, 3), *t = labels(2, (int64_t[]){7, 2});
    nb_tensor *l = nb_nll_loss_ex(x, t, 7, NB_REDUCTION_MEAN);
    assert_true(fabs(tu_item(l) + AT(x, 1, 2)) < 1e-7);
    nb_tensor *u = labels(2, (int64_t[]){-100, 2});
    assert_null(nb_nll_loss_ex(x, u, 7, NB_REDUCTION_MEAN));
    tu_failed_with(NB_ERR_ARG, "nb_nll_loss_ex", "out of range");
    nb_tensor_release(x); nb_tensor_release(t); nb_tensor_release(l); nb_tensor_release(u);
}

/* The gradient of cross_entropy with ignored rows: (softmax - onehot) / kept
   on kept rows, 0 on ignored ones, for each reduction (none weighted by g). */
static void cross_entropy_gradient_matches_softmax_minus_onehot_on_kept_rows(void **s) {
    (void)s;
    nb_tensor *x = RAND(F64, -2, 2, 4, 3);
    nb_tensor_requires_grad_(x, true);
    const int64_t tv[4] = {2, -100, 0, 1};
    nb_tensor *t = labels(4, tv);
    for (int red = 0; red < 3; red++) {
        nb_tensor *l = nb_cross_entropy_ex(x, t, -100, (nb_reduction)red);
        nb_tensor *g = red == NB_REDUCTION_NONE ? RAND(F64, -1, 1, 4) : NULL;
        assert_int_equal(nb_backward(l, g, false), NB_OK);
        for (int i = 0; i < 4; i++) {
            double m = -INFINITY, z = 0;
            for (int c = 0; c < 3; c++) m = fmax(m, AT(x, i, c));
            for (int c = 0; c < 3; c++) z += exp(AT(x, i, c) - m);
            const double w = tv[i] == -100 ? 0 : red == NB_REDUCTION_MEAN ? 1.0 / 3 : red == NB_REDUCTION_SUM ? 1 : AT(g, i);
            for (int c = 0; c < 3; c++) {
                const double want = w * (exp(AT(x, i, c) - m) / z - (c == tv[i]));
                assert_true(fabs(AT(nb_tensor_grad(x), i, c) - want) < 1e-12);
            }
        }
        nb_tensor_set_grad(x, NULL);
        nb_tensor_release(l); nb_tensor_release(g);
    }
    nb_tensor_release(x); nb_tensor_release(t);
}

/* [N, C, d] inputs (per-pixel classes) through finite differences. */
typedef struct { nb_tensor *t; } ce_ctx;
static nb_tensor *ce_spatial(void *c, nb_tensor *x) {
    return nb_cross_entropy_ex(x, ((ce_ctx *)c)->t, 1, NB_REDUCTION_MEAN);
}
static void cross_entropy_on_n_c_d_inputs_passes_a_finite_difference_check(void **s) {
    (void)s;
    nb_tensor *x = RAND(F64, -1, 1, 2, 3, 4);
    nb_tensor_requires_grad_(x, true);
    ce_ctx c = {nb_tensor_new((int64_t[]){0, 1, 2, 2, 1, 0, 0, 2}, NB_INT64, 2, (int64_t[]){2, 4})};
    nb_tensor *l = ce_spatial(&c, x);
    /* ignore_index 1 here: 6 of the 8 positions are kept */
    double sum = 0;
    const int64_t *tv = nb_tensor_data(c.t);
    for (int n = 0; n < 2; n++)
        for (int k = 0; k < 4; k++) {
            const int64_t tt = tv[n * 4 + k];
            if (tt == 1) continue;
            double m = -INFINITY, z = 0;
            for (int cc = 0; cc < 3; cc++) m = fmax(m, AT(x, n, cc, k));
            for (int cc = 0; cc < 3; cc++) z += exp(AT(x, n, cc, k) - m);
            sum += -(AT(x, n, tt, k) - m - log(z));
        }
    if (!(fabs(tu_item(l) - sum / 6) < 1e-12)) fail_msg("loss %.17g, oracle %.17g", tu_item(l), sum / 6);
    nb_tensor_release(l);
    ngc_check(ce_spatial, &c, x, 1e-8, 1e-6);
    nb_tensor_release(x); nb_tensor_release(c.t);
}

static void mse_loss_reductions_are_mean_sum_and_none(void **s) {
    (void)s;
    nb_tensor *a = RAND(F32, -1, 1, 2, 3), *b = RAND(F32, -1, 1, 2, 3);
    double sum = 0;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++) sum += (AT(a, i, j) - AT(b, i, j)) * (AT(a, i, j) - AT(b, i, j));
    nb_tensor *m = nb_mse_loss(a, b), *su = nb_mse_loss_ex(a, b, NB_REDUCTION_SUM), *no = nb_mse_loss_ex(a, b, NB_REDUCTION_NONE);
    assert_true(fabs(tu_item(m) - sum / 6) < 1e-6);
    assert_true(fabs(tu_item(su) - sum) < 1e-5);
    ASSERT_SHAPE(no, 2, 3);
    nb_tensor_release(a); nb_tensor_release(b); nb_tensor_release(m); nb_tensor_release(su); nb_tensor_release(no);
}

static void flatten_dims_merges_the_inclusive_range_as_a_view(void **s) {
    (void)s;
    nb_tensor *x = nb_zeros(4, SHAPE(2, 3, 4, 5), F32);
    nb_tensor *a = nb_flatten_dims(x, 1, -1), *b = nb_flatten_dims(x, 0, 2), *c = nb_flatten_dims(x, -2, -2);
    ASSERT_SHAPE(a, 2, 60);
    ASSERT_SHAPE(b, 24, 5);
    ASSERT_SHAPE(c, 2, 3, 4, 5);
    assert_true(nb_tensor_shares_storage(a, x));
    nb_tensor *z = nb_zeros(3, SHAPE(2, 0, 3), F32), *zf = nb_flatten_dims(z, 1, 2);
    ASSERT_SHAPE(zf, 2, 0);
    nb_tensor *sc = nb_scalar(3, F32), *sf = nb_flatten_dims(sc, 0, -1);
    ASSERT_SHAPE(sf, 1);
    assert_null(nb_flatten_dims(x, 2, 1));
    tu_failed_with(NB_ERR_ARG, "nb_flatten_dims", "comes after");
    nb_tensor *t = nb_transpose(x, 0, 1), *tf = nb_flatten_dims(t, 0, 1);   /* not viewable: a copy */
    ASSERT_SHAPE(tf, 6, 4, 5);
    nb_tensor *xs[] = {x, a, b, c, z, zf, sc, sf, t, tf};
    for (int i = 0; i < 10; i++) nb_tensor_release(xs[i]);
}

static void randint_is_int64_in_range_reproducible_and_covers_every_value(void **s) {
    (void)s;
    nb_generator *g1 = nb_generator_new(42), *g2 = nb_generator_new(42);
    nb_tensor *a = nb_randint(-3, 4, 1, SHAPE(7000), g1), *b = nb_randint(-3, 4, 1, SHAPE(7000), g2);
    assert_int_equal(nb_tensor_dtype(a), NB_INT64);
    int count[7] = {0};
    const int64_t *av = nb_tensor_data(a);
    for (int i = 0; i < 7000; i++) {
        assert_true(av[i] >= -3 && av[i] < 4);
        count[av[i] + 3]++;
    }
    for (int k = 0; k < 7; k++) assert_true(count[k] > 850 && count[k] < 1150);   /* 1000 expected, > 5 sigma */
    assert_memory_equal(av, nb_tensor_data(b), 7000 * sizeof(int64_t));
    nb_tensor *big = nb_randint(INT64_MIN, INT64_MAX, 1, SHAPE(16), g1);   /* the widest range */
    assert_non_null(big);
    nb_tensor_release(a); nb_tensor_release(b); nb_tensor_release(big);
    nb_generator_free(g1); nb_generator_free(g2);
}

static void sub_and_div_by_a_scalar_in_place_keep_the_tensor_and_record_grad(void **s) {
    (void)s;
    nb_tensor *x = nb_full(1, SHAPE(3), F32, 6), *y = x;
    assert_int_equal(nb_sub_scalar_(x, 1.5), NB_OK);
    assert_int_equal(nb_div_scalar_(x, 2), NB_OK);
    assert_ptr_equal(x, y);
    assert_true(AT(x, 2) == 2.25);
    nb_tensor *i = nb_full(1, SHAPE(2), NB_INT64, 5);
    assert_int_equal(nb_sub_scalar_(i, 2), NB_OK);
    assert_true(AT(i, 0) == 3);
    assert_int_not_equal(nb_div_scalar_(i, 2), NB_OK);   /* as PyTorch: Float can't be cast to Long */
    nb_tensor *w = nb_full(1, SHAPE(3), F32, 1);
    nb_tensor_requires_grad_(w, true);
    nb_tensor *h = nb_mul_scalar(w, 3);
    assert_int_equal(nb_div_scalar_(h, 4), NB_OK);
    assert_int_equal(nb_sub_scalar_(h, 1), NB_OK);
    nb_tensor *l = nb_sum_all(h);
    assert_int_equal(nb_backward(l, NULL, false), NB_OK);
    assert_true(AT(nb_tensor_grad(w), 0) == 0.75);
    nb_tensor_release(x); nb_tensor_release(i); nb_tensor_release(w); nb_tensor_release(h); nb_tensor_release(l);
}

static void randperm_is_a_reproducible_permutation(void **s) {
    (void)s;
    nb_generator *g1 = nb_generator_new(3), *g2 = nb_generator_new(3);
    nb_tensor *a = nb_randperm(1000, g1), *b = nb_randperm(1000, g2), *e = nb_randperm(0, g1);
    ASSERT_SHAPE(a, 1000);
    ASSERT_SHAPE(e, 0);
    char seen[1000] = {0};
    int fixed = 0;
    const int64_t *av = nb_tensor_data(a);
    for (int i = 0; i < 1000; i++) {
        assert_true(av[i] >= 0 && av[i] < 1000 && !seen[av[i]]);
        seen[av[i]] = 1;
        fixed += av[i] == i;
    }
    assert_true(fixed < 10);   /* about 1 expected for a random permutation */
    assert_memory_equal(av, nb_tensor_data(b), 1000 * sizeof(int64_t));
    nb_tensor_release(a); nb_tensor_release(b); nb_tensor_release(e);
    nb_generator_free(g1); nb_generator_free(g2);
}

static void a_float_scalar_in_place_on_int64_is_refused_as_pytorch(void **s) {
    (void)s;
    nb_tensor *i = nb_full(1, SHAPE(3), NB_INT64, 5);
    assert_int_equal(nb_mul_scalar_(i, 2.5), NB_ERR_DTYPE);
    tu_failed_with(NB_ERR_DTYPE, "nb_mul_scalar_", "can't be cast");
    assert_int_equal(nb_add_scalar_(i, 0.5), NB_ERR_DTYPE);
    assert_true(AT(i, 0) == 5);   /* unchanged */
    assert_int_equal(nb_mul_scalar_(i, 2), NB_OK);   /* an integral scalar is fine */
    assert_true(AT(i, 2) == 10);
    nb_tensor_release(i);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        T(cross_entropy_skips_ignored_targets_in_each_reduction),
        T(cross_entropy_of_all_ignored_targets_is_nan_with_zero_gradient),
        T(a_custom_ignore_index_is_skipped_and_minus_100_is_then_out_of_range),
        T(cross_entropy_gradient_matches_softmax_minus_onehot_on_kept_rows),
        T(cross_entropy_on_n_c_d_inputs_passes_a_finite_difference_check),
        T(mse_loss_reductions_are_mean_sum_and_none),
        T(flatten_dims_merges_the_inclusive_range_as_a_view),
        T(randint_is_int64_in_range_reproducible_and_covers_every_value),
        T(sub_and_div_by_a_scalar_in_place_keep_the_tensor_and_record_grad),
        T(randperm_is_a_reproducible_permutation),
        T(a_float_scalar_in_place_on_int64_is_refused_as_pytorch),
    };
    return nbt_run(tests);
}
