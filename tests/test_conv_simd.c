/* Differential tests of every SIMD table's sconv2d_* slots against the
 * reference slots and the double-precision direct definition
 * (tests/conv_oracle.c).
 *
 * For each usable SIMD table (nb_kernels_for(AVX2/NEON) whose conv slots
 * differ from the reference; skip() when none), the slots are called
 * directly (they receive validated, non-empty shapes, as from
 * src/api_conv.c). Per output element with L terms in its sum:
 *   |simd - exact| <= (gamma_f(L + 2) + gamma_d(L + 2)) sum |terms|
 *   |simd - ref|   <= 2 gamma_f(L + 2) sum |terms|   (both errors add up)
 * Integer data (sums exact in float) must match the reference bit for bit.
 * Buffers are guarded (a PROT_NONE page right after the end or right
 * before the start), start 0..7 floats past the allocation (sentinels in
 * between), and outputs are NaN-filled first: every element must be
 * written. The SIMD path must also give the same bits for 1, 2 and 3
 * threads, and for an image alone or in a batch (forward, backward-data).
 * Shapes include ones whose column matrix is cut into several blocks, with
 * block starts in the middle of an output row.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conv_oracle.h"
#include "harness.h"
#include "kernels_table.h"
#include "ref.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#define SENTINEL (-7777.0f)

/* ---- tables under test ---- */

static int simd_tables(const struct nb_kernels *out[NB_ISA_COUNT]) {
    int n = 0;
    for (int isa = NB_ISA_REF + 1; isa < NB_ISA_COUNT; isa++) {
        const struct nb_kernels *t = nb_kernels_for((nb_isa)isa);
        if (t && (t->sconv2d_forward != nb_kernels_ref.sconv2d_forward ||
                  t->sconv2d_backward_data != nb_kernels_ref.sconv2d_backward_data ||
                  t->sconv2d_backward_filter != nb_kernels_ref.sconv2d_backward_filter))
            out[n++] = t;
    }
    return n;
}

#define FOR_EACH_SIMD_TABLE(t)                                                  \
    const struct nb_kernels *tabs_[NB_ISA_COUNT];                                          \
    const int ntabs_ = simd_tables(tabs_);                                      \
    if (ntabs_ == 0) skip();                                                    \
    for (int ti_ = 0; ti_ < ntabs_; ti_++)                                      \
        for (const struct nb_kernels *t = tabs_[ti_]; t; t = NULL)

/* ---- guarded, offset buffers ---- */

typedef struct {
    float *base, *p;
    int64_t n;
    int off;
} gbuf;

static gbuf gb_alloc(int64_t n) {
    gbuf b = {NULL, NULL, n, (int)nbt_range(0, 7)};
    b.base = nbt_alloc_guarded((size_t)(n + b.off) * sizeof(float), (int)nbt_range(0, 1));
    assert_non_null(b.base);
    for (int i = 0; i < b.off; i++) b.base[i] = SENTINEL;
    b.p = b.base + b.off;
    return b;
}

static void gb_free(gbuf *b) {
    for (int i = 0; i < b->off; i++) assert_true(b->base[i] == SENTINEL);
    nbt_free_guarded(b->base);
}

static void fill(float *p, int64_t n, int int_data) {
    if (int_data) nbt_fill_int(p, n, 3);
    else nbt_fill_uniform(p, n, -1, 1);
}

static void fill_nan(float *p, int64_t n) {
    for (int64_t i = 0; i < n; i++) p[i] = NAN;
}

static double *to_double(const float *p, int64_t n) {
    double *d = malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
    assert_non_null(d);
    for (int64_t i = 0; i < n; i++) d[i] = p[i];
    return d;
}

static int qemu(void) {
    const char *e = getenv("NABLA_QEMU");
    return e && *e && strcmp(e, "0") != 0;
}

/* simd against the oracle, and against ref; bit-exact vs ref for integers. */
static void check_pair(const char *what, const nb_conv2d_desc *d, int64_t count, const float *simd,
                       const float *ref, const double *exact, const double *mag, int64_t terms,
                       int int_data) {
    if (int_data) {
        for (int64_t i = 0; i < count; i++)
            if (memcmp(&simd[i], &ref[i], sizeof(float)) != 0)
                fail_msg("%s[%lld]: simd %.9g != ref %.9g with integer data", what, (long long)i,
                         (double)simd[i], (double)ref[i]);
        return;
    }
    const double gf = oc_gamma(terms + 2, ldexp(1.0, -24));
    double *got = to_double(simd, count);
    oc_check(what, d, count, got, exact, mag, gf + oc_gamma(terms + 2, ldexp(1.0, -53)));
    for (int64_t i = 0; i < count; i++) {
        const double diff = fabs((double)simd[i] - (double)ref[i]);
        if (!(diff <= 2 * gf * mag[i]))
            fail_msg("%s[%lld]: simd %.9g vs ref %.9g differ by %.3g > %.3g", what, (long long)i,
                     (double)simd[i], (double)ref[i], diff, 2 * gf * mag[i]);
    }
    free(got);
}

/* All three directions of one desc on table t against ref and the oracle. */
static void run_case(const struct nb_kernels *t, const nb_conv2d_desc *d, int with_bias,
                     int with_dbias, int int_data) {
    const int64_t nx = oc_numel_x(d), nw = oc_numel_w(d), ny = oc_numel_y(d), nk = d->k;
    gbuf x = gb_alloc(nx), w = gb_alloc(nw), bias = gb_alloc(nk), dy = gb_alloc(ny);
    gbuf y = gb_alloc(ny), dx = gb_alloc(nx), dw = gb_alloc(nw), dbias = gb_alloc(nk);
    float *ry = malloc((size_t)ny * 4), *rdx = malloc((size_t)nx * 4), *rdw = malloc((size_t)nw * 4);
    float *rdb = malloc((size_t)nk * 4);
    assert_non_null(ry); assert_non_null(rdx); assert_non_null(rdw); assert_non_null(rdb);
    fill(x.p, nx, int_data); fill(w.p, nw, int_data); fill(bias.p, nk, int_data); fill(dy.p, ny, int_data);
    fill_nan(y.p, ny); fill_nan(dx.p, nx); fill_nan(dw.p, nw); fill_nan(dbias.p, nk);

    double *xd = to_double(x.p, nx), *wd = to_double(w.p, nw), *bd = to_double(bias.p, nk);
    double *dyd = to_double(dy.p, ny);
    const int64_t most = (nx > nw ? (nx > ny ? nx : ny) : (nw > ny ? nw : ny)) + nk + 1;
    double *exact = malloc((size_t)most * sizeof(double)), *mag = malloc((size_t)most * sizeof(double));
    assert_non_null(exact); assert_non_null(mag);
    const float *b = with_bias ? bias.p : NULL;

    assert_int_equal(t->sconv2d_forward(d, x.p, w.p, b, y.p), NB_OK);
    assert_int_equal(nb_kernels_ref.sconv2d_forward(d, x.p, w.p, b, ry), NB_OK);
    int64_t terms = oc_forward(d, xd, wd, with_bias ? bd : NULL, exact, mag);
    /* Winograd (its transforms round integers too): its bound, not the bits. */
    oc_winograd_widen(d, 0, xd, wd, with_bias ? bd : NULL, terms, mag);
    check_pair("y", d, ny, y.p, ry, exact, mag, terms, int_data && !oc_winograd_eligible(d, 0));

    assert_int_equal(t->sconv2d_backward_data(d, dy.p, w.p, dx.p), NB_OK);
    assert_int_equal(nb_kernels_ref.sconv2d_backward_data(d, dy.p, w.p, rdx), NB_OK);
    terms = oc_backward_data(d, dyd, wd, exact, mag);
    oc_winograd_widen(d, 1, dyd, wd, NULL, terms, mag);
    check_pair("dx", d, nx, dx.p, rdx, exact, mag, terms, int_data && !oc_winograd_eligible(d, 1));

    float *db = with_dbias ? dbias.p : NULL;
    assert_int_equal(t->sconv2d_backward_filter(d, x.p, dy.p, dw.p, db), NB_OK);
    assert_int_equal(nb_kernels_ref.sconv2d_backward_filter(d, x.p, dy.p, rdw, with_dbias ? rdb : NULL), NB_OK);
    terms = oc_backward_filter(d, xd, dyd, exact, mag);
    oc_winograd_widen(d, 2, xd, dyd, NULL, terms, mag);
    check_pair("dw", d, nw, dw.p, rdw, exact, mag, terms, int_data && !oc_winograd_eligible(d, 2));
    if (with_dbias) {
        terms = oc_backward_bias(d, dyd, exact, mag);
        check_pair("dbias", d, nk, dbias.p, rdb, exact, mag, terms, int_data);
    } else {
        for (int64_t i = 0; i < nk; i++) assert_true(isnan(dbias.p[i]));   /* untouched */
    }

    free(xd); free(wd); free(bd); free(dyd); free(exact); free(mag);
    free(ry); free(rdx); free(rdw); free(rdb);
    gb_free(&x); gb_free(&w); gb_free(&bias); gb_free(&dy);
    gb_free(&y); gb_free(&dx); gb_free(&dw); gb_free(&dbias);
}

static int non_empty(const nb_conv2d_desc *d) {
    return d->n > 0 && d->c > 0 && d->h > 0 && d->w > 0 && d->k > 0;
}

/* Shapes of this suite beyond the shared list: the 1x1 stride-1 no-padding
   path (no im2col), 1x1 with stride or padding (im2col), and layers wide
   enough (C R S in the hundreds) that the forward and backward-data column
   matrices are cut into blocks starting mid-row (stride 1 and 2, dilation,
   groups 2, depthwise), and the edges of the implicit-im2col forward path. */
static const nb_conv2d_desc *extra_shapes(int *count) {
    //                       n   c   h   w   k  r  s sh sw ph pw dh dw g
    static const nb_conv2d_desc s[] = {
        {3, 5, 7, 9, 4, 1, 1, 1, 1, 0, 0, 1, 1, 1},     /* pointwise */
        {1, 6, 5, 3, 4, 1, 1, 1, 1, 0, 0, 1, 1, 2},     /* pointwise, groups 2 */
        {2, 4, 9, 8, 3, 1, 1, 2, 2, 0, 0, 1, 1, 1},     /* 1x1 stride 2 */
        {1, 3, 6, 7, 5, 1, 1, 1, 1, 2, 1, 1, 1, 1},     /* 1x1 padded */
        {2, 64, 30, 29, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1},  /* L = 576: several blocks */
        {1, 48, 33, 31, 6, 5, 5, 2, 2, 2, 2, 1, 1, 1},  /* L = 1200, stride 2 */
        {1, 40, 27, 35, 4, 3, 3, 1, 2, 2, 3, 2, 2, 2},  /* dilation 2, groups 2 */
        {2, 16, 40, 41, 16, 7, 7, 2, 2, 3, 3, 1, 1, 16},/* depthwise 7x7 s2 */
        {1, 3, 37, 41, 7, 7, 7, 2, 2, 3, 3, 1, 1, 1},   /* stem-like 7x7 s2 p3 */
        /* the direct path (few channels, output rows of whole 16-pixel
           groups): 11 filters (8-row tiles: 8 + 3), stride 1 and 2,
           padding past the kernel */
        {2, 3, 40, 63, 11, 7, 7, 2, 2, 3, 3, 1, 1, 1},  /* Q = 32 */
        {1, 2, 9, 16, 9, 3, 5, 1, 1, 1, 2, 1, 1, 1},    /* Q = 16, stride 1 */
        {1, 4, 5, 25, 8, 3, 3, 2, 2, 4, 4, 1, 1, 1},    /* Q = 16, padding 4 */
        {1, 3, 12, 33, 8, 3, 3, 2, 2, 0, 0, 1, 1, 1},   /* Q = 16, no padding */
        {2, 3, 100, 96, 9, 7, 7, 2, 2, 3, 3, 1, 1, 1},  /* Q = 48: 50 chunks, 4 bands of rows */
        {1, 2, 4, 3, 3, 5, 5, 1, 1, 4, 4, 1, 1, 1},     /* input smaller than kernel */
        {1, 7, 23, 17, 5, 3, 3, 3, 1, 6, 7, 1, 3, 1},   /* large padding, stride 3 x 1 */
        {1, 50, 19, 23, 5, 3, 3, 1, 1, 2, 2, 2, 2, 1},  /* "same" with dilation 2, 2 blocks */
        {2, 24, 13, 11, 6, 5, 5, 1, 1, 2, 2, 1, 1, 2},  /* "same" 5x5, groups 2 */
        {1, 9, 6, 5, 4, 3, 5, 1, 1, 1, 2, 1, 1, 1},     /* "same", input rows shorter than taps */
        /* The forward pass's implicit im2col (stride_w 1, >= 4 channels a
           group): filter rows past MC, taps past 2 KC blocks, panels that
           wrap to the next output row with Q != W (gathered lanes), rows of
           pure padding, stride_h != stride_w, dilation, groups, a single
           partial panel, a one-column image. */
        {1, 8, 9, 10, 200, 3, 3, 1, 1, 1, 1, 1, 1, 1},  /* kg 200 > MC */
        {1, 48, 6, 7, 400, 3, 3, 1, 1, 1, 1, 1, 1, 1},  /* filter block > L2 share, MC loop */
        {1, 96, 11, 13, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1}, /* L 864: 3 KC blocks */
        {2, 16, 19, 23, 13, 3, 3, 1, 1, 0, 0, 1, 1, 1}, /* "valid": Q != W */
        {1, 8, 20, 17, 10, 3, 3, 2, 1, 1, 1, 1, 1, 1},  /* stride 2 x 1 */
        {1, 12, 15, 16, 9, 3, 2, 1, 1, 2, 1, 2, 3, 1},  /* dilation 2 x 3 */
        {2, 32, 9, 11, 48, 3, 3, 1, 1, 1, 1, 1, 1, 4},  /* groups 4, cg 8 */
        {1, 8, 3, 4, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1},     /* 12 pixels: one partial panel */
        {1, 5, 6, 7, 6, 3, 3, 1, 1, 3, 3, 1, 1, 1},     /* padding 3: all-zero rows */
        {1, 4, 17, 1, 5, 3, 1, 1, 1, 1, 0, 1, 1, 1},    /* one column */
        /* ... and with stride_w 2 (>= 16 channels a group): pairs loaded
           and the even elements kept, runs over two output rows, the
           last row of the image against the guard page. */
        {1, 16, 64, 70, 12, 3, 3, 2, 2, 1, 1, 1, 1, 1}, /* Q 35: split runs */
        {2, 32, 20, 45, 10, 1, 1, 2, 2, 0, 0, 1, 1, 1}, /* 1x1 stride 2 */
        {1, 16, 9, 40, 8, 3, 3, 1, 2, 0, 0, 1, 1, 1},   /* stride 1 x 2, no padding */
        {1, 16, 7, 33, 6, 1, 3, 1, 2, 0, 0, 1, 1, 1},   /* last lane at the image's end */
    };
    *count = (int)(sizeof s / sizeof s[0]);
    return s;
}

/* ---- tests ---- */

static void simd_matches_reference_and_oracle_on_named_shapes(void **state) {
    (void)state;
    FOR_EACH_SIMD_TABLE(t) {
        for (int i = 0; i < oc_shape_count; i++) {
            if (!non_empty(&oc_shapes[i])) continue;
            run_case(t, &oc_shapes[i], 1, 1, 0);
            run_case(t, &oc_shapes[i], 0, 0, 0);
        }
        int n;
        const nb_conv2d_desc *s = extra_shapes(&n);
        for (int i = 0; i < n; i++) run_case(t, &s[i], (int)nbt_range(0, 1), (int)nbt_range(0, 1), 0);
    }
}

static void simd_matches_reference_and_oracle_on_random_shapes(void **state) {
    (void)state;
    FOR_EACH_SIMD_TABLE(t) {
        for (int i = 0; i < (qemu() ? 30 : 150); i++) {
            nb_conv2d_desc d = oc_random_desc();
            if (d.n == 0) d.n = 1 + (int64_t)nbt_range(0, 2);
            run_case(t, &d, (int)nbt_range(0, 1), (int)nbt_range(0, 1), 0);
        }
    }
}

static void integer_data_is_bit_exact_against_the_reference(void **state) {
    (void)state;
    FOR_EACH_SIMD_TABLE(t) {
        for (int i = 0; i < oc_shape_count; i++)
            if (non_empty(&oc_shapes[i])) run_case(t, &oc_shapes[i], 1, 1, 1);
        int n;
        const nb_conv2d_desc *s = extra_shapes(&n);
        for (int i = 0; i < n; i++) run_case(t, &s[i], 1, 1, 1);
        for (int i = 0; i < 20; i++) {
            nb_conv2d_desc d = oc_random_desc();
            if (d.n == 0) d.n = 2;
            run_case(t, &d, 1, 1, 1);
        }
    }
}

/* All outputs of the three directions of one desc on table t. */
typedef struct { float *y, *dx, *dw, *db; } outputs;

static outputs run_all(const struct nb_kernels *t, const nb_conv2d_desc *d, const float *x,
                       const float *w, const float *b, const float *dy) {
    const int64_t nx = oc_numel_x(d), nw = oc_numel_w(d), ny = oc_numel_y(d);
    outputs o = {malloc((size_t)ny * 4), malloc((size_t)nx * 4), malloc((size_t)nw * 4),
                 malloc((size_t)d->k * 4)};
    assert_non_null(o.y); assert_non_null(o.dx); assert_non_null(o.dw); assert_non_null(o.db);
    assert_int_equal(t->sconv2d_forward(d, x, w, b, o.y), NB_OK);
    assert_int_equal(t->sconv2d_backward_data(d, dy, w, o.dx), NB_OK);
    assert_int_equal(t->sconv2d_backward_filter(d, x, dy, o.dw, o.db), NB_OK);
    return o;
}

static void free_outputs(outputs o) { free(o.y); free(o.dx); free(o.dw); free(o.db); }

/* Uniform x, w, bias and dy for the three directions of d. */
typedef struct { float *x, *w, *b, *dy; } conv_inputs;
static conv_inputs make_inputs(const nb_conv2d_desc *d) {
    const int64_t nx = oc_numel_x(d), nw = oc_numel_w(d), ny = oc_numel_y(d);
    conv_inputs in = {malloc((size_t)nx * 4), malloc((size_t)nw * 4), malloc((size_t)d->k * 4),
                      malloc((size_t)ny * 4)};
    assert_non_null(in.x); assert_non_null(in.w); assert_non_null(in.b); assert_non_null(in.dy);
    nbt_fill_uniform(in.x, nx, -1, 1); nbt_fill_uniform(in.w, nw, -1, 1);
    nbt_fill_uniform(in.b, d->k, -1, 1); nbt_fill_uniform(in.dy, ny, -1, 1);
    return in;
}
static void free_inputs(conv_inputs in) { free(in.x); free(in.w); free(in.b); free(in.dy); }

/* Shapes big enough that the driver threads (over tasks or inside the
   GEMM), with n = 1 (too few tasks) and n = 3, 4 (tasks), and groups. */
static const nb_conv2d_desc thread_shapes[] = {
    //  n   c   h   w   k  r  s sh sw ph pw dh dw g
    {1, 64, 30, 29, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1},
    {3, 32, 20, 21, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1},
    {4, 48, 17, 19, 32, 5, 5, 2, 1, 2, 2, 1, 1, 2},
    {3, 24, 15, 16, 24, 1, 1, 1, 1, 0, 0, 1, 1, 1},
    {2, 32, 24, 24, 32, 3, 3, 1, 1, 1, 1, 1, 1, 32},
    {1, 64, 5, 6, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1},    /* one pixel block: filter rows split */
    {2, 48, 9, 10, 400, 3, 3, 1, 1, 1, 1, 1, 1, 1},  /* filter block > the L2 share */
    {2, 64, 21, 23, 48, 3, 3, 2, 2, 1, 1, 1, 1, 1},  /* stride 2 */
    {4, 32, 6, 6, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1},    /* few pixels an image, many in the batch */
    /* backward-filter's two forms: 130 filters (plain: more than the
       in-place-A limit of 128), 70 (transposed); padding past the kernel,
       odd sizes, several KC blocks */
    {1, 16, 41, 29, 130, 3, 3, 1, 1, 4, 4, 1, 1, 1},
    {2, 5, 37, 35, 70, 3, 3, 2, 2, 1, 1, 1, 1, 1},
    {1, 3, 64, 64, 16, 7, 7, 2, 2, 3, 3, 1, 1, 1},   /* direct forward: 64 chunks of 48 pixels */
    /* backward-data with the threads splitting the channels
       (conv_bwd_data_sliced.c): one image or three, stride 2, channels
       not a multiple of the threads, groups with padding past the
       kernel, and 1152 taps (filters transposed, blocks from mid-row) */
    {1, 64, 33, 30, 40, 3, 3, 2, 2, 1, 1, 1, 1, 1},
    {1, 50, 19, 23, 20, 5, 5, 2, 2, 3, 3, 1, 1, 1},
    {3, 96, 15, 17, 32, 3, 3, 2, 2, 4, 4, 1, 1, 2},
    {1, 128, 40, 30, 24, 3, 3, 2, 2, 1, 1, 1, 1, 1},
    /* depthwise (src/conv_depthwise.c): multiplier 2 stride 2, "same" 3x3
       over 144 channels, 5x5 dilation 2 with padding past the kernel */
    {3, 17, 13, 31, 34, 3, 3, 2, 2, 1, 1, 1, 1, 17},
    {2, 144, 9, 16, 144, 3, 3, 1, 1, 1, 1, 1, 1, 144},
    {1, 40, 23, 33, 40, 5, 5, 1, 1, 6, 6, 2, 2, 40},
};

/* A depthwise desc (groups == c): channels, sizes around the vector widths
   and small primes, stride 1..3, padding 0 to past the kernel, dilation 1
   or 2, multiplier 1 or 2. */
static nb_conv2d_desc random_depthwise(void) {
    static const int64_t chans[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 144};
    static const int64_t sizes[] = {1, 2, 3, 5, 7, 8, 9, 13, 16, 17, 31, 33};
    for (;;) {
        const int64_t c = chans[nbt_range(0, 9)], m = nbt_range(1, 2);
        const int64_t r = nbt_range(0, 1) ? 3 : nbt_range(1, 5), sk = nbt_range(0, 1) ? 3 : nbt_range(1, 5);
        nb_conv2d_desc d = {nbt_range(1, 2), c, sizes[nbt_range(0, 11)], sizes[nbt_range(0, 11)], c * m,
                            r, sk, nbt_range(1, 3), nbt_range(1, 3), nbt_range(0, r + 1),
                            nbt_range(0, sk + 1), nbt_range(1, 2), nbt_range(1, 2), c};
        if (c == 144) d.h = d.w = 9;   /* keep the big one quick */
        int64_t P, Q;
        if (nb_conv2d_out_shape(&d, &P, &Q) == NB_OK) return d;
    }
}

/* 3x3 stride 1 (the rolling-window kernels, and backward-data's forward
   pass over dy): widths around the 16- and 64-column strips, padding 0 to
   past the kernel, multiplier 1 or 2 (2: backward-data accumulates). */
static nb_conv2d_desc random_depthwise_3x3(void) {
    static const int64_t widths[] = {1, 2, 15, 16, 17, 47, 49, 63, 64, 65, 80, 97};
    static const int64_t heights[] = {1, 2, 3, 5, 7, 13};
    for (;;) {
        const int64_t c = nbt_range(1, 5), pad = nbt_range(0, 4);
        nb_conv2d_desc d = {nbt_range(1, 2), c, heights[nbt_range(0, 5)], widths[nbt_range(0, 11)],
                            c * nbt_range(1, 2), 3, 3, 1, 1, pad, nbt_range(0, 1) ? pad : nbt_range(0, 4),
                            1, 1, c};
        int64_t P, Q;
        if (nb_conv2d_out_shape(&d, &P, &Q) == NB_OK) return d;
    }
}

static void depthwise_matches_reference_and_oracle(void **state) {
    (void)state;
    FOR_EACH_SIMD_TABLE(t) {
        for (int i = 0; i < (qemu() ? 40 : 200); i++) {
            const nb_conv2d_desc d = i % 2 ? random_depthwise_3x3() : random_depthwise();
            run_case(t, &d, (int)nbt_range(0, 1), (int)nbt_range(0, 1), i % 5 == 4);
        }
    }
}

/* NaN and +-Inf in x (forward, backward-filter) and dy (backward-data,
   backward-filter) reach the same outputs as in the reference: the same
   NaN positions, and the same infinities elsewhere. */
static void classes_match(const char *what, const float *a, const float *b, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (isnan(a[i]) != isnan(b[i]) || (!isnan(a[i]) && isinf(a[i]) != isinf(b[i])) ||
            (isinf(a[i]) && (a[i] > 0) != (b[i] > 0)))
            fail_msg("%s[%lld]: simd %g, ref %g", what, (long long)i, (double)a[i], (double)b[i]);
}

static void depthwise_nan_and_inf_reach_what_they_reach_in_the_reference(void **state) {
    (void)state;
    FOR_EACH_SIMD_TABLE(t) {
        for (int i = 0; i < 30; i++) {
            const nb_conv2d_desc d = random_depthwise();
            const int64_t nx = oc_numel_x(&d), nw = oc_numel_w(&d), ny = oc_numel_y(&d);
            conv_inputs in = make_inputs(&d);
            for (int k = 0; k < 3; k++) {
                const float v = k == 0 ? NAN : k == 1 ? INFINITY : -INFINITY;
                in.x[nbt_range(0, nx - 1)] = v;
                in.dy[nbt_range(0, ny - 1)] = v;
            }
            const outputs o = run_all(t, &d, in.x, in.w, in.b, in.dy);
            const outputs r = run_all(&nb_kernels_ref, &d, in.x, in.w, in.b, in.dy);
            classes_match("y", o.y, r.y, ny);
            classes_match("dx", o.dx, r.dx, nx);
            classes_match("dw", o.dw, r.dw, nw);
            free_outputs(o); free_outputs(r);
            free_inputs(in);
        }
    }
}

static void thread_count_does_not_change_the_bits(void **state) {
    (void)state;
    FOR_EACH_SIMD_TABLE(t) {
        for (size_t i = 0; i < sizeof thread_shapes / sizeof thread_shapes[0]; i++) {
            const nb_conv2d_desc *d = &thread_shapes[i];
            const int64_t nx = oc_numel_x(d), nw = oc_numel_w(d), ny = oc_numel_y(d);
            conv_inputs in = make_inputs(d);
            const float *x = in.x, *w = in.w, *b = in.b, *dy = in.dy;
            nb_set_num_threads(1);
            const outputs one = run_all(t, d, x, w, b, dy);
            for (int nt = 2; nt <= 3; nt++) {
                nb_set_num_threads(nt);
                const outputs o = run_all(t, d, x, w, b, dy);
                assert_memory_equal(o.y, one.y, (size_t)ny * 4);
                assert_memory_equal(o.dx, one.dx, (size_t)nx * 4);
                assert_memory_equal(o.dw, one.dw, (size_t)nw * 4);
                assert_memory_equal(o.db, one.db, (size_t)d->k * 4);
                free_outputs(o);
            }
            nb_set_num_threads(0);
            free_outputs(one);
            free_inputs(in);
        }
    }
}

/* AVX-512's GEMM keeps AVX2's KC and per-element chains, its convolution
   runs the packed paths (implicit im2col, Winograd) on a 16-wide tile like
   AVX2's, and its depthwise and Winograd kernels follow their contracts'
   operation order (kernels/avx512/config-avx512.c): all three passes give
   the AVX2 bits. Skipped where the CPU lacks either ISA. */
static void avx512_gives_the_avx2_bits(void **state) {
    (void)state;
    const struct nb_kernels *a2 = nb_kernels_for(NB_ISA_AVX2), *a5 = nb_kernels_for(NB_ISA_AVX512);
    if (!a2 || !a5) {
        printf("# avx512 vs avx2: skipped, this CPU lacks %s\n", a2 ? "AVX-512" : "AVX2");
        skip();
        return;
    }
    for (size_t i = 0; i < sizeof thread_shapes / sizeof thread_shapes[0]; i++) {
        const nb_conv2d_desc *d = &thread_shapes[i];
        const int64_t nx = oc_numel_x(d), nw = oc_numel_w(d), ny = oc_numel_y(d);
        conv_inputs in = make_inputs(d);
        const float *x = in.x, *w = in.w, *b = in.b, *dy = in.dy;
        const outputs o2 = run_all(a2, d, x, w, b, dy), o5 = run_all(a5, d, x, w, b, dy);
        assert_memory_equal(o5.y, o2.y, (size_t)ny * 4);
        assert_memory_equal(o5.dx, o2.dx, (size_t)nx * 4);
        assert_memory_equal(o5.dw, o2.dw, (size_t)nw * 4);
        assert_memory_equal(o5.db, o2.db, (size_t)d->k * 4);
        free_outputs(o2); free_outputs(o5); free_inputs(in);
    }
}

/* Forward and backward-data of image i alone give the bits it gets inside
   the batch, whatever threads the batch used. */
static void one_image_alone_gives_the_bits_it_gets_in_a_batch(void **state) {
    (void)state;
    FOR_EACH_SIMD_TABLE(t) {
        for (size_t i = 0; i < sizeof thread_shapes / sizeof thread_shapes[0]; i++) {
            const nb_conv2d_desc *d = &thread_shapes[i];
            nb_conv2d_desc one = *d;
            one.n = 1;
            const int64_t nx = oc_numel_x(d), nw = oc_numel_w(d), ny = oc_numel_y(d);
            const int64_t ix = nx / d->n, iy = ny / d->n;
            float *x = malloc((size_t)nx * 4), *w = malloc((size_t)nw * 4);
            float *b = malloc((size_t)d->k * 4), *dy = malloc((size_t)ny * 4);
            float *y = malloc((size_t)ny * 4), *dx = malloc((size_t)nx * 4);
            float *y1 = malloc((size_t)iy * 4), *dx1 = malloc((size_t)ix * 4);
            nbt_fill_uniform(x, nx, -1, 1); nbt_fill_uniform(w, nw, -1, 1);
            nbt_fill_uniform(b, d->k, -1, 1); nbt_fill_uniform(dy, ny, -1, 1);
            nb_set_num_threads((int)nbt_range(1, 3));
            assert_int_equal(t->sconv2d_forward(d, x, w, b, y), NB_OK);
            assert_int_equal(t->sconv2d_backward_data(d, dy, w, dx), NB_OK);
            nb_set_num_threads((int)nbt_range(1, 3));
            for (int64_t n = 0; n < d->n; n++) {
                assert_int_equal(t->sconv2d_forward(&one, x + n * ix, w, b, y1), NB_OK);
                assert_memory_equal(y1, y + n * iy, (size_t)iy * 4);
                assert_int_equal(t->sconv2d_backward_data(&one, dy + n * iy, w, dx1), NB_OK);
                assert_memory_equal(dx1, dx + n * ix, (size_t)ix * 4);
            }
            nb_set_num_threads(0);
            free(x); free(w); free(b); free(dy); free(y); free(dx); free(y1); free(dx1);
        }
    }
}

/* DESIGN.md: a call from inside a caller's parallel region runs on one
   thread. Two threads of the caller run different convolutions (different
   GEMM shapes and counts, so no synchronisation inside the library may
   pair them up) and must get the results of a call outside any region. An
   alarm turns a deadlock into a failure. */
static void calls_from_inside_a_parallel_region_give_the_same_bits(void **state) {
    (void)state;
    FOR_EACH_SIMD_TABLE(t) {
        const nb_conv2d_desc d[2] = {thread_shapes[0], thread_shapes[2]};
        float *x[2], *w[2], *b[2], *dy[2];
        outputs want[2], got[2];
        for (int i = 0; i < 2; i++) {
            const int64_t nx = oc_numel_x(&d[i]), nw = oc_numel_w(&d[i]), ny = oc_numel_y(&d[i]);
            x[i] = malloc((size_t)nx * 4); w[i] = malloc((size_t)nw * 4);
            b[i] = malloc((size_t)d[i].k * 4); dy[i] = malloc((size_t)ny * 4);
            assert_non_null(x[i]); assert_non_null(w[i]); assert_non_null(b[i]); assert_non_null(dy[i]);
            nbt_fill_uniform(x[i], nx, -1, 1); nbt_fill_uniform(w[i], nw, -1, 1);
            nbt_fill_uniform(b[i], d[i].k, -1, 1); nbt_fill_uniform(dy[i], ny, -1, 1);
            want[i] = run_all(t, &d[i], x[i], w[i], b[i], dy[i]);
        }
        alarm(120);
        nb_set_num_threads(2);
#pragma omp parallel num_threads(2)
        {
#ifdef _OPENMP
            const int i = omp_get_thread_num();
#else
            const int i = 0;
#endif
            if (i < 2) got[i] = run_all(t, &d[i], x[i], w[i], b[i], dy[i]);
        }
        nb_set_num_threads(0);
        alarm(0);
#ifndef _OPENMP
        got[1] = run_all(t, &d[1], x[1], w[1], b[1], dy[1]);
#endif
        for (int i = 0; i < 2; i++) {
            const int64_t nx = oc_numel_x(&d[i]), nw = oc_numel_w(&d[i]), ny = oc_numel_y(&d[i]);
            assert_memory_equal(got[i].y, want[i].y, (size_t)ny * 4);
            assert_memory_equal(got[i].dx, want[i].dx, (size_t)nx * 4);
            assert_memory_equal(got[i].dw, want[i].dw, (size_t)nw * 4);
            assert_memory_equal(got[i].db, want[i].db, (size_t)d[i].k * 4);
            free_outputs(got[i]); free_outputs(want[i]);
            free(x[i]); free(w[i]); free(b[i]); free(dy[i]);
        }
    }
}

/* nb_free_buffers() between calls: the next calls allocate their working
   memory again and give the same bits (under ASan, a kept pointer to a
   freed block would be a use after free). */
static void freeing_the_kept_buffers_between_calls_gives_the_same_bits(void **state) {
    (void)state;
    FOR_EACH_SIMD_TABLE(t) {
        for (size_t i = 0; i < sizeof thread_shapes / sizeof thread_shapes[0]; i++) {
            const nb_conv2d_desc *d = &thread_shapes[i];
            const int64_t nx = oc_numel_x(d), nw = oc_numel_w(d), ny = oc_numel_y(d);
            conv_inputs in = make_inputs(d);
            const float *x = in.x, *w = in.w, *b = in.b, *dy = in.dy;
            const outputs kept = run_all(t, d, x, w, b, dy);
            nb_free_buffers();
            const outputs fresh = run_all(t, d, x, w, b, dy);
            nb_free_buffers();
            nb_free_buffers();   /* twice: nothing kept is fine */
            assert_memory_equal(fresh.y, kept.y, (size_t)ny * 4);
            assert_memory_equal(fresh.dx, kept.dx, (size_t)nx * 4);
            assert_memory_equal(fresh.dw, kept.dw, (size_t)nw * 4);
            assert_memory_equal(fresh.db, kept.db, (size_t)d->k * 4);
            free_outputs(kept); free_outputs(fresh);
            free_inputs(in);
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(simd_matches_reference_and_oracle_on_named_shapes),
        cmocka_unit_test(simd_matches_reference_and_oracle_on_random_shapes),
        cmocka_unit_test(integer_data_is_bit_exact_against_the_reference),
        cmocka_unit_test(depthwise_matches_reference_and_oracle),
        cmocka_unit_test(depthwise_nan_and_inf_reach_what_they_reach_in_the_reference),
        cmocka_unit_test(thread_count_does_not_change_the_bits),
        cmocka_unit_test(avx512_gives_the_avx2_bits),
        cmocka_unit_test(one_image_alone_gives_the_bits_it_gets_in_a_batch),
        cmocka_unit_test(calls_from_inside_a_parallel_region_give_the_same_bits),
        cmocka_unit_test(freeing_the_kept_buffers_between_calls_gives_the_same_bits),
    };
    return nbt_run(tests);
}
