/* What the float reduction suites share (tests/test_reduce.c, the oracle
 * and the rules on every table; tests/test_reduce_simd.c, the SIMD tables
 * against the reference, their documented order, threads and the float64
 * twin): cases over strided views, the double-precision oracle and its
 * bound. */
#ifndef NBT_REDUCE_CASE_H
#define NBT_REDUCE_CASE_H

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels_table.h"
#include "reduce_driver.h"
#include "strided_view.h"

static inline int qemu_scale(void) { return getenv("NABLA_QEMU") ? 8 : 1; }

static inline double gamma_k(double k) {
    const double u = ldexp(1.0, -24);
    return k * u / (1.0 - k * u);
}

static inline double sum_bound_k(int64_t m) {
    int lg = 0;
    while (((int64_t)1 << lg) < m) lg++;
    return 133.0 + lg;
}

static inline float pick(float r, float v, int is_max) {
    if (isnan(r)) return r;
    if (isnan(v)) return v;
    if (r == v) {
        if (r != 0) return r;
        return (is_max ? !signbit(v) : signbit(v)) ? v : r;
    }
    return (is_max ? v > r : v < r) ? v : r;
}

/* Same value and same sign of zero, or both NaN. */
static inline int same_bits(float a, float b) {
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

static inline void case_make(rcase *c, nb_reduce_op op, int ndim, const int64_t *shape, uint64_t mask,
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

static inline void case_free(rcase *c) {
    nbt_view_free(&c->x);
    nbt_view_free(&c->y);
}

static inline nb_status case_run(const rcase *c, const struct nb_kernels *table) {
    const float *x = (const float *)c->x.base;
    float *y = (float *)c->y.base;
    if (table) return table->sreduce(c->op, c->ndim, c->shape, x, c->x.strides, c->mask, y, c->y.strides);
    return nb_sreduce(c->op, c->ndim, c->shape, x, c->x.strides, c->mask, y, c->y.strides);
}

/* y offset of output multi-index idx (reduced entries are 0). */
static inline int64_t y_off(const rcase *c, const int64_t *idx) {
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
static inline void case_check(rcase *c, const struct nb_kernels *table) {
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

static inline void check_one(nb_reduce_op op, int ndim, const int64_t *shape, uint64_t mask, int xflags,
                      fill_kind fill, const struct nb_kernels *table) {
    rcase c;
    case_make(&c, op, ndim, shape, mask, xflags, fill);
    case_check(&c, table);
    case_free(&c);
}

static const int64_t edge_sizes[] __attribute__((unused)) = {0, 1, 2, 3, 5, 7, 8, 9, 13, 31, 32, 33, 64, 97};
#define NEDGE ((int)(sizeof edge_sizes / sizeof edge_sizes[0]))

static inline void random_shape(int ndim, int64_t *shape, int64_t max_numel) {
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

static const int ALL_X __attribute__((unused)) = NBT_ALLOW_ZERO | NBT_ALLOW_NEG | NBT_ALLOW_PAD;

#endif
