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
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels_table.h"
#include "reduce_driver.h"
#include "strided_view.h"

static int qemu_scale(void) { return getenv("NABLA_QEMU") ? 8 : 1; }

static double gamma_k(double k) {
    const double u = ldexp(1.0, -24);
    return k * u / (1.0 - k * u);
}

static double sum_bound_k(int64_t m) {
    int lg = 0;
    while (((int64_t)1 << lg) < m) lg++;
    return 133.0 + lg;
}

static float pick(float r, float v, int is_max) {
    if (isnan(r)) return r;
    if (isnan(v)) return v;
    if (r == v) {
        if (r != 0) return r;
        return (is_max ? !signbit(v) : signbit(v)) ? v : r;
    }
    return (is_max ? v > r : v < r) ? v : r;
}

/* Same value and same sign of zero, or both NaN. */
static int same_bits(float a, float b) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    return a == b && signbit(a) == signbit(b);
}

typedef struct {
    nb_reduce_op op;
    int ndim;
    int64_t shape[NB_MAX_DIMS], yshape[NB_MAX_DIMS];
    uint64_t mask;
    nbt_view x, y;
    int64_t nx, ny, m;
} rcase;

typedef enum { FILL_UNIFORM, FILL_SPECIAL } fill_kind;

static void case_make(rcase *c, nb_reduce_op op, int ndim, const int64_t *shape, uint64_t mask,
                      int xflags, fill_kind fill) {
    memset(c, 0, sizeof *c);
    c->op = op;
    c->ndim = ndim;
    c->mask = mask;
    c->nx = c->ny = c->m = 1;
    for (int i = 0; i < ndim; i++) {
        c->shape[i] = shape[i];
        c->yshape[i] = (mask >> i & 1) ? 1 : shape[i];
        c->nx *= shape[i];
        c->ny *= c->yshape[i];
        if (mask >> i & 1) c->m *= shape[i];
    }
    nbt_view_make(&c->x, ndim, shape, sizeof(float), xflags);
    nbt_view_make(&c->y, ndim, c->yshape, sizeof(float), NBT_ALLOW_NEG | NBT_ALLOW_PAD);
    /* y strides on reduced axes are ignored: make them garbage. */
    for (int i = 0; i < ndim; i++)
        if (mask >> i & 1) c->y.strides[i] = nbt_range(-1000000, 1000000);
    nbt_view_alloc(&c->x);
    nbt_view_alloc(&c->y);
    float *xb = (float *)c->x.buf;
    const int64_t nxb = (int64_t)(c->x.bytes / sizeof(float));
    if (fill == FILL_UNIFORM) {
        nbt_fill_uniform(xb, nxb, -1, 1);
    } else {
        static const float specials[] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1e-40f, -1e-40f,
                                         1.0f, -1.0f, 3.5f, FLT_MAX, -FLT_MAX};
        for (int64_t i = 0; i < nxb; i++)
            xb[i] = nbt_range(0, 3) ? nbt_uniform(-2, 2)
                                    : specials[nbt_range(0, (int64_t)(sizeof specials / sizeof *specials) - 1)];
    }
}

static void case_free(rcase *c) {
    nbt_view_free(&c->x);
    nbt_view_free(&c->y);
}

static nb_status case_run(const rcase *c, const struct nb_kernels *table) {
    const float *x = (const float *)c->x.base;
    float *y = (float *)c->y.base;
    if (table) return table->sreduce(c->op, c->ndim, c->shape, x, c->x.strides, c->mask, y, c->y.strides);
    return nb_sreduce(c->op, c->ndim, c->shape, x, c->x.strides, c->mask, y, c->y.strides);
}

/* y offset of output multi-index idx (reduced entries are 0). */
static int64_t y_off(const rcase *c, const int64_t *idx) {
    int64_t o = 0;
    for (int i = 0; i < c->ndim; i++)
        if (!(c->mask >> i & 1)) o += idx[i] * c->y.strides[i];
    return o;
}

static const char *op_name(nb_reduce_op op) {
    static const char *n[] = {"sum", "mean", "max", "min"};
    return n[op];
}

/* Runs the case and checks every output against the oracle, and that the
   bytes of y outside its elements are untouched. */
static void case_check(rcase *c, const struct nb_kernels *table) {
    char *ysave = malloc(c->y.bytes);
    assert_non_null(ysave);
    memcpy(ysave, c->y.buf, c->y.bytes);
    const int64_t ny = c->ny > 0 ? c->ny : 1;
    double *sum = calloc((size_t)ny, sizeof(double)), *mag = calloc((size_t)ny, sizeof(double));
    float *ext = calloc((size_t)ny, sizeof(float));
    char *seen = calloc((size_t)ny, 1);
    assert_non_null(sum); assert_non_null(mag); assert_non_null(ext); assert_non_null(seen);
    const float *x = (const float *)c->x.base;
    const int is_max = c->op == NB_REDUCE_MAX;
    int64_t idx[NB_MAX_DIMS];
    for (int64_t k = 0; k < c->nx; k++) {
        nbt_unravel(c->ndim, c->shape, k, idx);
        int64_t yi = 0;
        for (int i = 0; i < c->ndim; i++) yi = yi * c->yshape[i] + ((c->mask >> i & 1) ? 0 : idx[i]);
        const float v = x[nbt_view_off(&c->x, idx)];
        sum[yi] += v;
        mag[yi] += fabs((double)v);
        ext[yi] = seen[yi] ? pick(ext[yi], v, is_max) : v;
        seen[yi] = 1;
    }
    const nb_status st = case_run(c, table);
    if (c->m == 0 && c->ny > 0 && (c->op == NB_REDUCE_MAX || c->op == NB_REDUCE_MIN)) {
        assert_int_equal(st, NB_ERR_SHAPE);
        assert_memory_equal(ysave, c->y.buf, c->y.bytes);
        goto done;
    }
    assert_int_equal(st, NB_OK);
    const double K = sum_bound_k(c->m), u = ldexp(1.0, -24);
    char *written = calloc(c->y.bytes, 1);
    assert_non_null(written);
    const float *y = (const float *)c->y.base;
    for (int64_t o = 0; o < c->ny; o++) {
        nbt_unravel(c->ndim, c->yshape, o, idx);
        const int64_t off = y_off(c, idx);
        memset(written + (((const char *)(y + off)) - c->y.buf), 1, sizeof(float));
        const float got = y[off];
        if (c->op == NB_REDUCE_MAX || c->op == NB_REDUCE_MIN) {
            if (!same_bits(got, ext[o]))
                fail_msg("%s output %lld: got %a want %a (m=%lld ndim=%d mask=0x%llx)", op_name(c->op),
                         (long long)o, got, ext[o], (long long)c->m, c->ndim, (unsigned long long)c->mask);
            continue;
        }
        if (c->m == 0) {
            if (c->op == NB_REDUCE_SUM) assert_true(got == 0.0f);
            else assert_true(isnan(got));
            continue;
        }
        /* 2^-150: the final rounding to float is absolute, not relative,
           when the result is subnormal (half the smallest subnormal). */
        double want = sum[o], tol = gamma_k(K) * mag[o] + ldexp(1.0, -150);
        if (c->op == NB_REDUCE_MEAN) {
            want /= (double)c->m;
            tol = tol / (double)c->m + u * fabs(want) + ldexp(1.0, -150);
        }
        if (!isfinite(want) || !isfinite(mag[o])) {
            /* Inf/NaN inputs: the class must match unless float overflowed. */
            if (isnan(want)) assert_true(isnan(got));
            else if (isinf(want) && isinf(mag[o]) && !isnan(got)) assert_true(got == (float)want);
            continue;
        }
        /* Float partial sums may overflow to Inf once sum|x| exceeds FLT_MAX
           (the reference accumulates in double and does not): no bound. */
        if (mag[o] > FLT_MAX * (1.0 - u)) continue;
        if (!(fabs((double)got - want) <= tol))
            fail_msg("%s output %lld: got %.9g want %.9g bound %.3g (m=%lld ndim=%d mask=0x%llx)",
                     op_name(c->op), (long long)o, got, want, tol, (long long)c->m, c->ndim,
                     (unsigned long long)c->mask);
    }
    for (size_t b = 0; b < c->y.bytes; b++)
        if (!written[b] && c->y.buf[b] != ysave[b]) fail_msg("byte %zu of y outside the view was written", b);
    free(written);
done:
    free(ysave); free(sum); free(mag); free(ext); free(seen);
}

static void check_one(nb_reduce_op op, int ndim, const int64_t *shape, uint64_t mask, int xflags,
                      fill_kind fill, const struct nb_kernels *table) {
    rcase c;
    case_make(&c, op, ndim, shape, mask, xflags, fill);
    case_check(&c, table);
    case_free(&c);
}

static const int64_t edge_sizes[] = {0, 1, 2, 3, 5, 7, 8, 9, 13, 31, 32, 33, 64, 97};
#define NEDGE ((int)(sizeof edge_sizes / sizeof edge_sizes[0]))

static void random_shape(int ndim, int64_t *shape, int64_t max_numel) {
    for (;;) {
        int64_t n = 1;
        for (int i = 0; i < ndim; i++) {
            shape[i] = nbt_range(0, 4) ? edge_sizes[nbt_range(1, NEDGE - 1)] : nbt_range(0, 1);
            if (ndim > 4 && shape[i] > 5) shape[i] = nbt_range(1, 5);
            n *= shape[i] ? shape[i] : 1;
        }
        if (n <= max_numel) return;
    }
}

static const int ALL_X = NBT_ALLOW_ZERO | NBT_ALLOW_NEG | NBT_ALLOW_PAD;

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

/* ---- SIMD table vs the reference table ---- */

static const struct nb_kernels *simd_table(void) {
    const struct nb_kernels *t = nb_kernels_for(NB_ISA_AVX2);
    if (!t) t = nb_kernels_for(NB_ISA_NEON);
    return t;
}

static void simd_table_matches_reference_bit_for_bit_on_max_min(void **state) {
    (void)state;
    const struct nb_kernels *t = simd_table();
    if (!t) skip();
    for (int r = 0; r < 300 / qemu_scale(); r++) {
        const int ndim = (int)nbt_range(1, NB_MAX_DIMS);
        int64_t shape[NB_MAX_DIMS];
        random_shape(ndim, shape, 30000);
        const uint64_t mask = nbt_next() & ((1ull << ndim) - 1);
        rcase c;
        case_make(&c, (nb_reduce_op)nbt_range(2, 3), ndim, shape, mask, ALL_X,
                  nbt_range(0, 1) ? FILL_SPECIAL : FILL_UNIFORM);
        if (c.m == 0 || c.ny == 0) { case_free(&c); continue; }
        assert_int_equal(case_run(&c, &nb_kernels_ref), NB_OK);
        char *ref = malloc(c.y.bytes);
        memcpy(ref, c.y.buf, c.y.bytes);
        memset(c.y.buf, 0x5a, c.y.bytes);
        assert_int_equal(case_run(&c, t), NB_OK);
        int64_t idx[NB_MAX_DIMS];
        for (int64_t o = 0; o < c.ny; o++) {
            nbt_unravel(ndim, c.yshape, o, idx);
            const int64_t off = y_off(&c, idx) * 4 + (c.y.base - c.y.buf);
            float a, b;
            memcpy(&a, ref + off, 4);
            memcpy(&b, c.y.buf + off, 4);
            if (!same_bits(a, b)) fail_msg("output %lld: simd %a ref %a", (long long)o, b, a);
        }
        free(ref);
        case_free(&c);
    }
}

static void simd_table_sums_stay_within_the_bound(void **state) {
    (void)state;
    const struct nb_kernels *t = simd_table();
    if (!t) skip();
    for (int r = 0; r < 200 / qemu_scale(); r++) {
        const int ndim = (int)nbt_range(1, NB_MAX_DIMS);
        int64_t shape[NB_MAX_DIMS];
        random_shape(ndim, shape, 30000);
        const uint64_t mask = nbt_next() & ((1ull << ndim) - 1);
        check_one((nb_reduce_op)nbt_range(0, 1), ndim, shape, mask, ALL_X, FILL_UNIFORM, t);
    }
    const int64_t big[1] = {3000017 / qemu_scale()};
    check_one(NB_REDUCE_SUM, 1, big, 1, 0, FILL_UNIFORM, t);
}

/* Gives x explicit strides (a fixed path, not a random layout). */
static void case_restride_x(rcase *c, const int64_t *xs) {
    nbt_view_free(&c->x);
    c->x.lo = c->x.hi = 0;
    for (int i = 0; i < c->ndim; i++) {
        c->x.strides[i] = xs[i];
        const int64_t s = (c->shape[i] - 1) * xs[i];
        if (s < 0) c->x.lo += s; else c->x.hi += s;
    }
    nbt_view_alloc(&c->x);
}

/* Every path of the SIMD table (contiguous rows of every tail length,
   strided rows, column strips, short rows, grouped rows) on inputs where
   the max/min rules decide: all elements +-0 (a tie everywhere, random
   signs), +-0 with one NaN somewhere, values mixed with +-0 and NaN, and
   +-0 among values that lose to zero.
   FMAX/FMIN (NEON) and the fixed-up vmaxps (AVX2) must give the oracle's
   bits: NaN wins, -0 < +0. */
static void simd_max_min_zero_ties_and_nans_on_every_path(void **state) {
    (void)state;
    const struct nb_kernels *t = simd_table();
    if (!t) skip();
    static const int64_t big[] = {100, 1000, 4097};
    for (int64_t k = 1; k <= 73; k++) {
        const int64_t n = k <= 70 ? k : big[k - 71];
        const struct { int ndim; int64_t shape[2], xs[2]; uint64_t mask; } paths[] = {
            {1, {n, 0}, {1, 0}, 1},               /* one contiguous row */
            {1, {n, 0}, {3, 0}, 1},               /* one strided row */
            {2, {5, n}, {n, 1}, 1},               /* columns (row path when n < 8) */
            {2, {9, n}, {n + 1, 1}, 2},           /* short rows, grouped rows when n > 64 */
            {2, {n, 2}, {1, n}, 1},               /* strided rows, several outputs */
        };
        for (size_t pi = 0; pi < sizeof paths / sizeof *paths; pi++)
            for (int mode = 0; mode < 4; mode++)
                for (int op = NB_REDUCE_MAX; op <= NB_REDUCE_MIN; op++) {
                    rcase c;
                    case_make(&c, (nb_reduce_op)op, paths[pi].ndim, paths[pi].shape, paths[pi].mask, 0,
                              FILL_UNIFORM);
                    case_restride_x(&c, paths[pi].xs);
                    float *xb = (float *)c.x.buf;
                    const int64_t nxb = (int64_t)(c.x.bytes / sizeof(float));
                    for (int64_t i = 0; i < nxb; i++) {
                        const float z = nbt_range(0, 1) ? 0.0f : -0.0f;
                        xb[i] = mode == 2 && nbt_range(0, 2) == 0 ? nbt_uniform(-1, 1) : z;
                        /* mode 3: the result is a zero, every other value on
                           the losing side of it (AVX2's fast pass must defer). */
                        if (mode == 3 && nbt_range(0, 2) == 0)
                            xb[i] = op == NB_REDUCE_MAX ? -nbt_uniform(0.5, 1) : nbt_uniform(0.5, 1);
                        if (mode == 2 && nbt_range(0, 40) == 0) xb[i] = NAN;
                    }
                    if (mode == 1) xb[nbt_range(0, nxb - 1)] = NAN;
                    case_check(&c, t);
                    case_free(&c);
                }
    }
}

/* The summation order documented in src/reduce_driver.c for one contiguous
   row of n elements, emulated here in float: n <= NB_RROWS_MAX_N through
   the short-row kernels (8-column tiles, pairwise inside a tile, tiles left
   to right); longer rows in segments of NB_RSUM_BLOCK elements, each summed
   into NB_RSUM_LANES lanes (element i -> lane i mod 32), lanes combined by
   halving, segments by a binary-counter cascade. */
static float documented_row_sum(const float *x, int64_t n) {
    if (n <= NB_RROWS_MAX_N) {
        float acc = 0.0f;
        for (int64_t c0 = 0; c0 < n; c0 += 8) {
            const int64_t k = n - c0 < 8 ? n - c0 : 8;
            float v[8];
            for (int64_t c = 0; c < k; c++) v[c] = x[c0 + c];
            for (int64_t m = k; m > 1; m = (m + 1) / 2) {
                for (int64_t i = 0; i < m / 2; i++) v[i] = v[2 * i] + v[2 * i + 1];
                if (m & 1) v[m / 2] = v[m - 1];
            }
            acc = c0 == 0 ? v[0] : acc + v[0];
        }
        return acc;
    }
    float stack[64];
    int64_t cnt[64];
    int sp = 0;
    for (int64_t c0 = 0; c0 < n; c0 += NB_RSUM_BLOCK) {
        const int64_t len = n - c0 < NB_RSUM_BLOCK ? n - c0 : NB_RSUM_BLOCK;
        float lane[NB_RSUM_LANES] = {0};
        for (int64_t i = 0; i < len; i++) lane[i % NB_RSUM_LANES] += x[c0 + i];
        for (int w = NB_RSUM_LANES / 2; w >= 1; w /= 2)
            for (int i = 0; i < w; i++) lane[i] += lane[i + w];
        stack[sp] = lane[0];
        cnt[sp++] = 1;
        while (sp >= 2 && cnt[sp - 1] == cnt[sp - 2]) {
            stack[sp - 2] += stack[sp - 1];
            cnt[sp - 2] *= 2;
            sp--;
        }
    }
    while (sp >= 2) { stack[sp - 2] += stack[sp - 1]; sp--; }
    return stack[0];
}

/* Every SIMD table sums a contiguous row in exactly the documented order
   (so AVX2 and NEON give the same bits, and the driver's bound is the one
   derived for that order): 1-D sums and 3 rows at once (row path split
   over outputs), at every tail length around the lanes and the segments. */
static void simd_table_row_sums_follow_the_documented_order_bit_for_bit(void **state) {
    (void)state;
    const struct nb_kernels *t = simd_table();
    if (!t) skip();
    static const int64_t lens[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 66, 95,
                                   96, 97, 127, 128, 129, 1000, 4095, 4096, 4097, 8193, 12289, 100003};
    for (size_t li = 0; li < sizeof lens / sizeof *lens; li++) {
        const int64_t n = lens[li];
        const int64_t off = nbt_range(0, 7);
        float *x = nbt_alloc_guarded((size_t)(3 * n + off) * sizeof(float), (int)nbt_range(0, 1));
        assert_non_null(x);
        /* Spread exponents: uniform(-1, 1) values alone are multiples of
           2^-23, whose short sums are exact in any order. */
        for (int64_t i = 0; i < 3 * n + off; i++) x[i] = ldexpf(nbt_uniform(-1, 1), (int)nbt_range(-12, 12));
        float y[3];
        const int64_t sh1[1] = {n}, st1[1] = {1}, ys1[1] = {1};
        assert_int_equal(t->sreduce(NB_REDUCE_SUM, 1, sh1, x + off, st1, 1, y, ys1), NB_OK);
        const float want = documented_row_sum(x + off, n);
        if (memcmp(&y[0], &want, 4) != 0) fail_msg("n=%lld: got %a want %a", (long long)n, y[0], want);
        const int64_t sh2[2] = {3, n}, st2[2] = {n, 1}, ys2[2] = {1, 0};
        assert_int_equal(t->sreduce(NB_REDUCE_SUM, 2, sh2, x + off, st2, 2, y, ys2), NB_OK);
        for (int r = 0; r < 3; r++) {
            const float w = documented_row_sum(x + off + r * n, n);
            if (memcmp(&y[r], &w, 4) != 0) fail_msg("n=%lld row %d: got %a want %a", (long long)n, r, y[r], w);
        }
        nbt_free_guarded(x);
    }
}

/* ---- threads ---- */

static void thread_count_does_not_change_the_bits(void **state) {
    (void)state;
    const int64_t s = qemu_scale();
    const struct { int ndim; int64_t shape[3]; uint64_t mask; } cases[] = {
        {1, {2000003 / s}, 1},          /* one output, split over segments */
        {2, {700 / s, 1500}, 2},         /* row sums, split over outputs */
        {2, {1500 / s, 700}, 1},         /* column sums, split over strips */
        {3, {3, 400000 / s, 2}, 2},      /* few outputs, strided rows */
        {3, {40, 300 / s, 50}, 5},       /* outer and inner reduced */
        {2, {300000 / s, 10}, 2},        /* short rows, many outputs */
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++)
        for (int op = 0; op < 4; op++) {
            rcase c;
            case_make(&c, (nb_reduce_op)op, cases[k].ndim, cases[k].shape, cases[k].mask,
                      NBT_ALLOW_PAD | NBT_ALLOW_NEG, FILL_UNIFORM);
            char *first = NULL;
            for (int nt = 1; nt <= 3; nt++) {
                nb_set_num_threads(nt);
                memset(c.y.buf, 0, c.y.bytes);
                assert_int_equal(case_run(&c, NULL), NB_OK);
                if (!first) {
                    first = malloc(c.y.bytes);
                    memcpy(first, c.y.buf, c.y.bytes);
                } else if (memcmp(first, c.y.buf, c.y.bytes) != 0) {
                    fail_msg("case %zu op %d: %d threads differ from 1 thread", k, op, nt);
                }
            }
            nb_set_num_threads(0);
            free(first);
            case_free(&c);
        }
}

/* ---- float64 twin ---- */

static void dreduce_matches_double_loop_within_pairwise_bound(void **state) {
    (void)state;
    for (int r = 0; r < 100; r++) {
        const int64_t rows = nbt_range(1, 40), cols = nbt_range(1, 300);
        double *x = malloc((size_t)(rows * cols) * sizeof(double)), y[300];
        nbt_fill_uniform_d(x, rows * cols, -1, 1);
        const int64_t sh[2] = {rows, cols}, st[2] = {cols, 1}, ys[2] = {0, 1};
        for (int op = 0; op < 4; op++) {
            assert_int_equal(nb_dreduce((nb_reduce_op)op, 2, sh, x, st, 1, y, ys), NB_OK);
            for (int64_t j = 0; j < cols; j++) {
                double s = 0, mag = 0, e = x[j];
                for (int64_t i = 0; i < rows; i++) {
                    const double v = x[i * cols + j];
                    s += v;
                    mag += fabs(v);
                    e = op == NB_REDUCE_MAX ? (v > e ? v : e) : (v < e ? v : e);
                }
                if (op >= NB_REDUCE_MAX) { assert_true(y[j] == e); continue; }
                if (op == NB_REDUCE_MEAN) { s /= (double)rows; mag /= (double)rows; }
                assert_true(fabs(y[j] - s) <= 1e-15 * (double)(rows + 8) * (mag + 1e-300));
            }
        }
        free(x);
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
        cmocka_unit_test(simd_table_matches_reference_bit_for_bit_on_max_min),
        cmocka_unit_test(simd_table_sums_stay_within_the_bound),
        cmocka_unit_test(simd_max_min_zero_ties_and_nans_on_every_path),
        cmocka_unit_test(simd_table_row_sums_follow_the_documented_order_bit_for_bit),
        cmocka_unit_test(thread_count_does_not_change_the_bits),
        cmocka_unit_test(dreduce_matches_double_loop_within_pairwise_bound),
    };
    return nbt_run(tests);
}
