/* Helpers shared by the tensor/autograd/nn suites (header-only, static). */
#ifndef NB_TEST_TENSOR_UTIL_H
#define NB_TEST_TENSOR_UTIL_H

#include <math.h>
#include <string.h>

#include "harness.h"

#define SHAPE(...) (int64_t[]){__VA_ARGS__}
#define NDIM(...) ((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))
/* A tensor of the given dtype and shape, values uniform in [lo, hi] from the
   test seed. */
static inline nb_tensor *tu_rand(nb_dtype dt, int ndim, const int64_t *shape, double lo, double hi) {
    nb_tensor *t = nb_empty(ndim, shape, dt);
    assert_non_null(t);
    int64_t n = nb_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) {
        double v = lo + (hi - lo) * (double)(nbt_next() >> 11) * 0x1.0p-53;
        if (dt == NB_FLOAT32) ((float *)nb_tensor_data(t))[i] = (float)v;
        else if (dt == NB_FLOAT64) ((double *)nb_tensor_data(t))[i] = v;
        else ((int64_t *)nb_tensor_data(t))[i] = (int64_t)floor(v);
    }
    return t;
}
#define RAND(dt, lo, hi, ...) tu_rand(dt, NDIM(__VA_ARGS__), SHAPE(__VA_ARGS__), lo, hi)

/* Element at a full index, as double. */
static inline double tu_at(const nb_tensor *t, const int64_t *idx) {
    double v = NAN;
    assert_int_equal(nb_tensor_get(t, idx, &v), NB_OK);
    return v;
}
#define AT(t, ...) tu_at(t, SHAPE(__VA_ARGS__))

static inline double tu_item(const nb_tensor *t) {
    double v = NAN;
    assert_int_equal(nb_tensor_item(t, &v), NB_OK);
    return v;
}

/* Next index in row-major order; false after the last. */
static inline int tu_next_index(int ndim, const int64_t *shape, int64_t *idx) {
    for (int d = ndim - 1; d >= 0; d--) {
        if (++idx[d] < shape[d]) return 1;
        idx[d] = 0;
    }
    return 0;
}

static inline void tu_assert_shape(const nb_tensor *t, int ndim, const int64_t *shape) {
    assert_int_equal(nb_tensor_ndim(t), ndim);
    for (int i = 0; i < ndim; i++) assert_int_equal(nb_tensor_shape(t)[i], shape[i]);
}
#define ASSERT_SHAPE(t, ...) tu_assert_shape(t, NDIM(__VA_ARGS__), SHAPE(__VA_ARGS__))
#define ASSERT_SHAPE0(t) assert_int_equal(nb_tensor_ndim(t), 0)

/* The last failure had status st, named fn and contained what. */
static inline void tu_failed_with(nb_status st, const char *fn, const char *what) {
    assert_int_equal(nb_last_status(), st);
    const char *e = nb_last_error();
    if (!strstr(e, fn) || (what && !strstr(e, what))) {
        print_error("last error \"%s\" does not mention \"%s\" / \"%s\"\n", e, fn, what ? what : "");
        fail();
    }
}
/* The last error names fn and contains what. */
static inline void tu_error_mentions(const char *fn, const char *what) {
    const char *e = nb_last_error();
    if (!strstr(e, fn) || (what && !strstr(e, what))) {
        print_error("last error \"%s\" does not mention \"%s\" / \"%s\"\n", e, fn, what ? what : "");
        fail();
    }
}

/* Setup / teardown that fail a test which leaves a tensor alive:
   cmocka_unit_test_setup_teardown(f, tu_live_setup, tu_live_teardown). */
static inline int64_t *tu_live0(void) {
    static int64_t live0;
    return &live0;
}
static inline int tu_live_setup(void **s) {
    (void)s;
    *tu_live0() = nb_tensor_live_count();
    return 0;
}
static inline int tu_live_teardown(void **s) {
    (void)s;
    assert_int_equal(nb_tensor_live_count(), *tu_live0());
    return 0;
}

#endif
