/* nb_sreduce / nb_dreduce against double-precision oracles, the SIMD table
 * against the reference table, and thread-count independence.
 *
 * Oracle: a scatter loop over every element of x (not the gather order of
 * the backends) accumulating the exact-ish sum in double, sum|x|, and
 * max/min under the documented rules (NaN wins; -0 < +0).
 * Sum bound (src/reduce_driver.c, derived there):
 *     |sum - exact| <= gamma(K) sum|x|,  K = 133 + ceil(log2 m),
 * mean: that divided by m, plus one rounding u |mean|. The reference
 * (double accumulation) is far inside it; max/min are compared bit for bit
 * (NaN by class).
 */
#include "reduce_case.h"

static void every_op_matches_double_oracle_on_random_views(void **state) {
    (void)state;
    for (int r = 0; r < 300 / qemu_scale(); r++) {
        const int ndim = (int)nbt_range(0, NB_MAX_DIMS);
        int64_t shape[NB_MAX_DIMS];
        random_shape(ndim, shape, 20000);
        const uint64_t mask = ndim ? nbt_next() & ((1ull << ndim) - 1) : 0;
        check_one((nb_reduce_op)nbt_range(0, 3), ndim, shape, mask, ALL_X, FILL_UNIFORM, NULL);
    }
}

static void every_axes_mask_pattern_for_small_ndim(void **state) {
    (void)state;
    for (int ndim = 1; ndim <= 4; ndim++)
        for (uint64_t mask = 0; mask < (1ull << ndim); mask++)
            for (int op = 0; op < 4; op++) {
                int64_t shape[NB_MAX_DIMS];
                for (int i = 0; i < ndim; i++) shape[i] = edge_sizes[nbt_range(1, 10)];
                check_one((nb_reduce_op)op, ndim, shape, mask, ALL_X, FILL_UNIFORM, NULL);
            }
}

static void contiguous_rows_and_columns_of_edge_lengths(void **state) {
    (void)state;
    static const int64_t lens[] = {1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65,
                                   1023, 1024, 1025, 4095, 4096, 4097, 8193};
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++)
        for (int op = 0; op < 4; op++) {
            const int64_t one[1] = {lens[i]};
            check_one((nb_reduce_op)op, 1, one, 1, 0, FILL_UNIFORM, NULL);
            const int64_t rows[2] = {3, lens[i]}, cols[2] = {lens[i] < 200 ? lens[i] : 129, 37};
            check_one((nb_reduce_op)op, 2, rows, 2, 0, FILL_UNIFORM, NULL);   /* row reductions */
            check_one((nb_reduce_op)op, 2, cols, 1, 0, FILL_UNIFORM, NULL);   /* column reductions */
            const int64_t wide[2] = {5, lens[i] + 16};
            check_one((nb_reduce_op)op, 2, wide, 1, 0, FILL_UNIFORM, NULL);
        }
}

/* Many outputs of one short contiguous row each (the SIMD short-row path:
   8 rows per in-register transpose): every length up to past 64, row
   counts around 8, padded rows, special values. */
static void short_rows_of_every_length(void **state) {
    (void)state;
    for (int64_t n = 1; n <= 66; n++)
        for (int op = 0; op < 4; op++) {
            const int64_t rows = nbt_range(1, 19);
            const int64_t shape[2] = {rows, n};
            check_one((nb_reduce_op)op, 2, shape, 2, NBT_ALLOW_PAD, (n & 1) ? FILL_SPECIAL : FILL_UNIFORM, NULL);
            const int64_t shape3[3] = {3, rows, n};
            check_one((nb_reduce_op)op, 3, shape3, 4, NBT_ALLOW_PAD | NBT_ALLOW_NEG, FILL_UNIFORM, NULL);
        }
}

static void large_sums_stay_within_the_blocked_bound(void **state) {
    (void)state;
    const int64_t n = 1000003 / qemu_scale();
    const int64_t one[1] = {n}, sq[2] = {1000 / qemu_scale(), 1009};
    for (int op = 0; op < 4; op++) {
        check_one((nb_reduce_op)op, 1, one, 1, 0, FILL_UNIFORM, NULL);
        check_one((nb_reduce_op)op, 2, sq, 1, 0, FILL_UNIFORM, NULL);
        check_one((nb_reduce_op)op, 2, sq, 2, 0, FILL_UNIFORM, NULL);
        check_one((nb_reduce_op)op, 2, sq, 3, NBT_ALLOW_NEG, FILL_UNIFORM, NULL);
    }
}

static void nan_inf_signed_zero_and_denormal_inputs_follow_the_rules(void **state) {
    (void)state;
    for (int r = 0; r < 200 / qemu_scale(); r++) {
        const int ndim = (int)nbt_range(1, 4);
        int64_t shape[NB_MAX_DIMS];
        random_shape(ndim, shape, 5000);
        const uint64_t mask = nbt_next() & ((1ull << ndim) - 1);
        check_one((nb_reduce_op)nbt_range(0, 3), ndim, shape, mask, ALL_X, FILL_SPECIAL, NULL);
    }
}

/* A single NaN anywhere (every position of rows up to 70, in the row and the
   column paths) makes max and min NaN. */
static void max_min_propagate_a_nan_from_any_position(void **state) {
    (void)state;
    for (int64_t n = 1; n <= 70; n++)
        for (int64_t p = 0; p < n; p++)
            for (int op = NB_REDUCE_MAX; op <= NB_REDUCE_MIN; op++) {
                float x[2 * 70];
                for (int64_t i = 0; i < 2 * n; i++) x[i] = (float)(i % 5) - 2.0f;
                x[p] = NAN;                 /* row 0, column p */
                float y[70];
                const int64_t sh1[1] = {n}, st1[1] = {1}, ys1[1] = {1};
                assert_int_equal(nb_sreduce((nb_reduce_op)op, 1, sh1, x, st1, 1, y, ys1), NB_OK);
                assert_true(isnan(y[0]));
                const int64_t sh2[2] = {2, n}, st2[2] = {n, 1}, ys2[2] = {0, 1};
                assert_int_equal(nb_sreduce((nb_reduce_op)op, 2, sh2, x, st2, 1, y, ys2), NB_OK);
                for (int64_t j = 0; j < n; j++) assert_true(isnan(y[j]) == (j == p));
            }
}

static void signed_zero_ties_are_ordered_minus_zero_below_plus_zero(void **state) {
    (void)state;
    for (int64_t n = 2; n <= 40; n++)
        for (int rep = 0; rep < 4; rep++) {
            float x[40];
            int pos = 0, neg = 0;
            for (int64_t i = 0; i < n; i++) {
                x[i] = nbt_range(0, 1) ? 0.0f : -0.0f;
                if (signbit(x[i])) neg = 1; else pos = 1;
            }
            if (rep == 0) for (int64_t i = 0; i < n; i++) x[i] = -0.0f, neg = 1, pos = 0;
            float y;
            const int64_t sh[1] = {n}, st[1] = {1}, ys[1] = {1};
            assert_int_equal(nb_sreduce(NB_REDUCE_MAX, 1, sh, x, st, 1, &y, ys), NB_OK);
            assert_true(y == 0 && !!signbit(y) == !pos);
            assert_int_equal(nb_sreduce(NB_REDUCE_MIN, 1, sh, x, st, 1, &y, ys), NB_OK);
            assert_true(y == 0 && !!signbit(y) == neg);
        }
}

static void all_equal_values_reduce_to_that_value(void **state) {
    (void)state;
    const int64_t n = 100003;
    float *x = nbt_alloc_guarded((size_t)n * sizeof(float), 0);
    for (int64_t i = 0; i < n; i++) x[i] = 0.75f;
    float y;
    const int64_t sh[1] = {n}, st[1] = {1}, ys[1] = {1};
    for (int op = NB_REDUCE_MEAN; op <= NB_REDUCE_MIN; op++) {
        assert_int_equal(nb_sreduce((nb_reduce_op)op, 1, sh, x, st, 1, &y, ys), NB_OK);
        /* 0.75 * n is exact in float partial sums of <= 2^24 / 0.75 terms per block. */
        assert_true(y == 0.75f);
    }
    nbt_free_guarded(x);
}

static void empty_reduced_set_gives_zero_sum_and_nan_mean(void **state) {
    (void)state;
    float y[3] = {7, 7, 7};
    const int64_t sh[2] = {3, 0}, st[2] = {0, 1}, ys[2] = {1, 1};
    assert_int_equal(nb_sreduce(NB_REDUCE_SUM, 2, sh, NULL, st, 2, y, ys), NB_OK);
    for (int i = 0; i < 3; i++) assert_true(y[i] == 0.0f && !signbit(y[i]));
    assert_int_equal(nb_sreduce(NB_REDUCE_MEAN, 2, sh, NULL, st, 2, y, ys), NB_OK);
    for (int i = 0; i < 3; i++) assert_true(isnan(y[i]));
    /* No outputs: nothing to do, even for max. */
    const int64_t sh2[2] = {0, 5};
    assert_int_equal(nb_sreduce(NB_REDUCE_MAX, 2, sh2, NULL, st, 2, NULL, ys), NB_OK);
}

static void zero_dim_reduction_is_the_element(void **state) {
    (void)state;
    float x = -2.5f, y = 0;
    for (int op = 0; op < 4; op++) {
        assert_int_equal(nb_sreduce((nb_reduce_op)op, 0, NULL, &x, NULL, 0, &y, NULL), NB_OK);
        assert_true(y == -2.5f);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_op_matches_double_oracle_on_random_views),
        cmocka_unit_test(every_axes_mask_pattern_for_small_ndim),
        cmocka_unit_test(contiguous_rows_and_columns_of_edge_lengths),
        cmocka_unit_test(short_rows_of_every_length),
        cmocka_unit_test(large_sums_stay_within_the_blocked_bound),
        cmocka_unit_test(nan_inf_signed_zero_and_denormal_inputs_follow_the_rules),
        cmocka_unit_test(max_min_propagate_a_nan_from_any_position),
        cmocka_unit_test(signed_zero_ties_are_ordered_minus_zero_below_plus_zero),
        cmocka_unit_test(all_equal_values_reduce_to_that_value),
        cmocka_unit_test(empty_reduced_set_gives_zero_sum_and_nan_mean),
        cmocka_unit_test(zero_dim_reduction_is_the_element),
    };
    return nbt_run(tests);
}
