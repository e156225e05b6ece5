/* Legal views with strides at the edge of int64: a stride on a size-1 dim
 * is never applied to a pointer, and neither is any stride of an empty x,
 * so they may be anything. The odometers must not form offsets past the
 * elements they visit (signed overflow: undefined behaviour, which the
 * sanitizer build, -Db_sanitize=undefined with halt_on_error, turns into a
 * failure). Each case runs through the public entry point (the active ISA)
 * and straight on the reference table. */
#include <math.h>
#include <string.h>

#include "harness.h"
#include "kernels_table.h"

typedef nb_status (*copy_fn)(size_t, int, const int64_t *, const void *, const int64_t *, void *,
                             const int64_t *);
typedef nb_status (*reduce_fn)(nb_reduce_op, int, const int64_t *, const float *, const int64_t *,
                               uint64_t, float *, const int64_t *);

/* src[i][0] for a 4 x 1 view whose size-1 dim has stride INT64_MAX (or
   INT64_MIN): dst = src[0..3]. */
static void copy_with(copy_fn copy) {
    static const int64_t extremes[] = {INT64_MAX, INT64_MIN, INT64_MAX / 3};
    const float src[4] = {1, 2, 3, 4};
    const int64_t shape[3] = {4, 1, 1}, ds[3] = {1, 1, 1};
    for (int e = 0; e < 3; e++) {
        float dst[4] = {0, 0, 0, 0};
        const int64_t ss[3] = {1, extremes[e], -(extremes[e] / 2)};
        assert_int_equal(copy(4, 3, shape, src, ss, dst, ds), NB_OK);
        assert_memory_equal(dst, src, sizeof dst);
    }
}

static void copy_with_an_extreme_stride_on_a_size_1_dim_is_exact(void **state) {
    (void)state;
    copy_with(nb_copy_strided);
    copy_with(nb_kernels_ref.copy_strided);
}

/* x is 3 x 0 (empty) with extreme strides: sums are 0, means NaN. */
static void reduce_with(reduce_fn reduce) {
    static const int64_t extremes[] = {INT64_MAX, INT64_MIN, INT64_MAX / 3};
    const float dummy = 0;
    const int64_t shape[2] = {3, 0}, ys[2] = {1, 0};
    for (int e = 0; e < 3; e++) {
        const int64_t xs[2] = {extremes[e], -(extremes[e] / 2)};
        float y[3] = {-1, -1, -1};
        assert_int_equal(reduce(NB_REDUCE_SUM, 2, shape, &dummy, xs, 2, y, ys), NB_OK);
        for (int i = 0; i < 3; i++) assert_true(y[i] == 0.0f && !signbit(y[i]));
        assert_int_equal(reduce(NB_REDUCE_MEAN, 2, shape, &dummy, xs, 2, y, ys), NB_OK);
        for (int i = 0; i < 3; i++) assert_true(isnan(y[i]));
        /* And a size-1 kept dim with an extreme stride over a real x. */
        const float x[4] = {1, 2, 3, 4};
        const int64_t x2[3] = {extremes[e], 1, extremes[e]}, y2[3] = {extremes[e], 0, 1};
        float out = -1;
        const int64_t shape2[3] = {1, 4, 1};
        assert_int_equal(reduce(NB_REDUCE_SUM, 3, shape2, x, x2, 2, &out, y2), NB_OK);
        assert_true(out == 10.0f);
    }
}

static void reduce_of_an_empty_x_with_extreme_strides_is_exact(void **state) {
    (void)state;
    reduce_with(nb_sreduce);
    reduce_with(nb_kernels_ref.sreduce);
}

/* An empty reduction (m == 0) writes the empty sum into each output; y
   with an extreme stride on a size-1 dim after a negative one: the SIMD
   driver's walk once stepped past its last output into -7 + INT64_MIN
   (signed overflow; found by tests/fuzz/fuzz_abi). */
static void empty_sum_into_y_with_an_extreme_stride_on_a_size_1_dim_is_exact(void **s) {
    (void)s;
    float y[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    const int64_t shape[3] = {2, 1, 0}, xs[3] = {0, 0, 1}, ys[3] = {-7, INT64_MIN, 0};
    assert_int_equal(nb_sreduce(NB_REDUCE_SUM, 3, shape, NULL, xs, 4, y + 7, ys), NB_OK);
    const float want[8] = {0, 2, 3, 4, 5, 6, 7, 0};
    assert_memory_equal(y, want, sizeof y);
}

/* A view whose last element sits at offset INT64_MAX: its span does not
   fit, so the call is refused, and the extent check must not compute
   INT64_MAX + 1 on the way (signed overflow; found by tests/fuzz/fuzz_abi). */
static void a_view_ending_at_offset_int64_max_is_refused_without_overflow(void **s) {
    (void)s;
    const float x[1] = {1};
    float y[2] = {5, 6}, dst[2] = {7, 8};
    const int64_t shape[1] = {2}, xs[1] = {INT64_MAX}, ys[1] = {1};
    assert_int_not_equal(nb_sreduce(NB_REDUCE_SUM, 1, shape, x, xs, 0, y, ys), NB_OK);
    assert_true(y[0] == 5 && y[1] == 6);
    assert_int_not_equal(nb_copy_strided(4, 1, shape, x, xs, dst, ys), NB_OK);
    assert_true(dst[0] == 7 && dst[1] == 8);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(copy_with_an_extreme_stride_on_a_size_1_dim_is_exact),
        cmocka_unit_test(reduce_of_an_empty_x_with_extreme_strides_is_exact),
        cmocka_unit_test(a_view_ending_at_offset_int64_max_is_refused_without_overflow),
        cmocka_unit_test(empty_sum_into_y_with_an_extreme_stride_on_a_size_1_dim_is_exact),
    };
    return nbt_run(tests);
}
