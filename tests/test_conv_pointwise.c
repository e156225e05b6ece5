/* The pointwise (1x1, stride 1, no padding) forward and backward-data path
 * of src/conv_pointwise.c, on every SIMD table whose configuration has it
 * (AVX-512's 8x48 tile, AVX2's 4x24; on the others these shapes run the
 * SGEMM, and the tests check that just the same):
 *   - against the reference and the double-precision oracle (the GEMM bound
 *     gamma(L + 2) sum |terms|), and bit for bit against the reference with
 *     integer data, on shapes at the tile edges: output rows (M = kg
 *     forward, cg backward-data) below the tile's 8 (left to the SGEMM), at
 *     8, 9, 16, 17, 24 and not multiples of 8, pixel counts around
 *     multiples of 16 and NR = 48 and odd, odd channel counts, sums over
 *     two and three KC blocks (the bias then comes with the first), groups,
 *     short sums whose row tiles run spans of several tiles (the last
 *     span and tile partial), the first row tile's block copy (long sums,
 *     and K = 64 / 256 with the input over PW_COPY_MAX_IN), several pixel blocks a task (the tile itself, streamed stores
 *     included: test_pwconv_ukernels.c);
 *   - the same bits for 1, 2 and 3 threads, and for an image alone as in
 *     its batch;
 *   - the AVX2 bits on AVX-512 (same KC blocks, same per-element chains:
 *     the path must keep the SGEMM's contract, gemm_driver.h);
 *   - NaN and Inf in x reach the outputs they reach in the reference.
 * The buffers are exactly sized (malloc) and the outputs NaN-filled first:
 * every element must be written.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv_oracle.h"
#include "harness.h"
#include "kernels_table.h"
#include "ref.h"

//                         n    c   h   w    k  r  s sh sw ph pw dh dw g
static const nb_conv2d_desc shapes[] = {
    {2,   5,  7,  9,  33, 1, 1, 1, 1, 0, 0, 1, 1, 1},  /* M 33: 3 row panels, 63 pixels */
    {1,  17,  4,  8,  42, 1, 1, 1, 1, 0, 0, 1, 1, 1},  /* M 3 MR, 32 pixels: one full panel */
    {1,  33,  3, 11,  43, 1, 1, 1, 1, 0, 0, 1, 1, 1},  /* 33 pixels: a 1-column panel */
    {3,  45,  5,  7,  40, 1, 1, 1, 1, 0, 0, 1, 1, 1},  /* bwd-data M = cg 45 */
    {1, 400,  5,  7,  40, 1, 1, 1, 1, 0, 0, 1, 1, 1},  /* L 400: two KC blocks */
    {1,  37,  9,  9, 800, 1, 1, 1, 1, 0, 0, 1, 1, 1},  /* bwd-data L 800: three KC blocks */
    {2,  70,  6, 11,  80, 1, 1, 1, 1, 0, 0, 1, 1, 2},  /* groups 2: cg 35, kg 40 */
    {1, 300, 20, 23,  47, 1, 1, 1, 1, 0, 0, 1, 1, 1},  /* 460 pixels: several pixel blocks */
    {2,  64,  1,  1, 129, 1, 1, 1, 1, 0, 0, 1, 1, 1},  /* one pixel */
    {1, 129, 31,  1,  36, 1, 1, 1, 1, 0, 0, 1, 1, 3},  /* groups 3, one column */
    {2,  20,  5, 13,  17, 1, 1, 1, 1, 0, 0, 1, 1, 1},  /* M 17 (fwd), 20 (bwd-data) */
    {1,  16,  6,  6,  16, 1, 1, 1, 1, 0, 0, 1, 1, 1},  /* M 16: two tiles */
    {1, 170,  4,  9, 200, 1, 1, 1, 1, 0, 0, 1, 1, 1},  /* M 200 / 170 > MC 168 */
    {2,  13,  7,  7,   8, 1, 1, 1, 1, 0, 0, 1, 1, 1},  /* M 8: one tile; 49 pixels: 48 + 1 */
    {1,   9,  1, 47,   9, 1, 1, 1, 1, 0, 0, 1, 1, 1},  /* M 9: a 1-row tile; 47 pixels */
    {1,  24,  3, 32,   7, 1, 1, 1, 1, 0, 0, 1, 1, 1},  /* M 7: SGEMM (fwd); 96 pixels = 2 NR */
    {1, 144,  5, 19,  24, 1, 1, 1, 1, 0, 0, 1, 1, 1},  /* k 24 / c 144; 95 pixels */
    {3,  48,  1, 17,  16, 1, 1, 1, 1, 0, 0, 1, 1, 2},  /* groups 2: cg 24, kg 8; 17 pixels */
    {1,   3,  5,  5,   5, 1, 1, 1, 1, 0, 0, 1, 1, 1},  /* AVX2's 4-row tile: M 5 / 3; 25 pixels */
    {2,   4,  1, 23,   3, 1, 1, 1, 1, 0, 0, 1, 1, 1},  /* M 3 / 4; 23 pixels (NR 24 - 1) */
    {2,  24, 30, 37,  40, 1, 1, 1, 1, 0, 0, 1, 1, 1},  /* short sums: spans of tiles, 1110 pixels */
    {1,  16,  9, 61,  64, 1, 1, 1, 1, 0, 0, 1, 1, 1},  /* K 16 / 64: spans, 549 pixels */
    {1,  64, 129, 129, 64, 1, 1, 1, 1, 0, 0, 1, 1, 1}, /* K 64, M 64, input over 1 Mi floats:
                                                          the mid-length block copy; 16641 pixels */
    {1, 256, 64, 65, 64, 1, 1, 1, 1, 0, 0, 1, 1, 1},   /* K 256, input over 1 Mi floats: the
                                                          mid-length copy at its longest */
};
#define NSHAPES ((int)(sizeof shapes / sizeof shapes[0]))

static int simd_tables(const struct nb_kernels *out[NB_ISA_COUNT]) {
    int n = 0;
    for (int isa = NB_ISA_REF + 1; isa < NB_ISA_COUNT; isa++) {
        const struct nb_kernels *t = nb_kernels_for((nb_isa)isa);
        if (t && t->sconv2d_forward != nb_kernels_ref.sconv2d_forward) out[n++] = t;
    }
    return n;
}

static double *to_double(const float *p, int64_t n) {
    double *d = malloc((size_t)n * sizeof(double));
    assert_non_null(d);
    for (int64_t i = 0; i < n; i++) d[i] = p[i];
    return d;
}

static void fill_nan(float *p, int64_t n) {
    for (int64_t i = 0; i < n; i++) p[i] = NAN;
}

static void same_bits(const char *what, const nb_conv2d_desc *d, const float *a, const float *b,
                      int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof *a) != 0)
            fail_msg("%s c%lld k%lld g%lld [%lld]: %.9g != %.9g", what, (long long)d->c,
                     (long long)d->k, (long long)d->groups, (long long)i, (double)a[i], (double)b[i]);
}

/* got within gamma(terms + 2) mag of the oracle and within twice that of ref. */
static void check(const char *what, const nb_conv2d_desc *d, int64_t n, const float *got,
                  const float *ref, const double *exact, const double *mag, int64_t terms) {
    const double gf = oc_gamma(terms + 2, ldexp(1.0, -24));
    double *g = to_double(got, n);
    oc_check(what, d, n, g, exact, mag, gf + oc_gamma(terms + 2, ldexp(1.0, -53)));
    for (int64_t i = 0; i < n; i++)
        if (!(fabs((double)got[i] - (double)ref[i]) <= 2 * gf * mag[i]))
            fail_msg("%s[%lld]: %.9g vs ref %.9g", what, (long long)i, (double)got[i], (double)ref[i]);
    free(g);
}

typedef struct { float *x, *w, *b, *dy; } inputs;

static inputs make_inputs(const nb_conv2d_desc *d, int int_data) {
    inputs in = {nbt_alloc_floats(oc_numel_x(d)), nbt_alloc_floats(oc_numel_w(d)), nbt_alloc_floats(d->k), nbt_alloc_floats(oc_numel_y(d))};
    if (int_data) {
        nbt_fill_int(in.x, oc_numel_x(d), 3); nbt_fill_int(in.w, oc_numel_w(d), 3);
        nbt_fill_int(in.b, d->k, 3); nbt_fill_int(in.dy, oc_numel_y(d), 3);
    } else {
        nbt_fill_uniform(in.x, oc_numel_x(d), -1, 1); nbt_fill_uniform(in.w, oc_numel_w(d), -1, 1);
        nbt_fill_uniform(in.b, d->k, -1, 1); nbt_fill_uniform(in.dy, oc_numel_y(d), -1, 1);
    }
    return in;
}

static void free_inputs(inputs in) { free(in.x); free(in.w); free(in.b); free(in.dy); }

/* y (with bias when b) and dx of table t, NaN-filled first. */
typedef struct { float *y, *dx; } outputs;

static outputs run(const struct nb_kernels *t, const nb_conv2d_desc *d, const inputs *in,
                   const float *b) {
    outputs o = {nbt_alloc_floats(oc_numel_y(d)), nbt_alloc_floats(oc_numel_x(d))};
    fill_nan(o.y, oc_numel_y(d));
    fill_nan(o.dx, oc_numel_x(d));
    assert_int_equal(t->sconv2d_forward(d, in->x, in->w, b, o.y), NB_OK);
    assert_int_equal(t->sconv2d_backward_data(d, in->dy, in->w, o.dx), NB_OK);
    return o;
}

static void free_outputs(outputs o) { free(o.y); free(o.dx); }

static void one_case(const struct nb_kernels *t, const nb_conv2d_desc *d, int with_bias, int int_data) {
    const int64_t nx = oc_numel_x(d), ny = oc_numel_y(d);
    inputs in = make_inputs(d, int_data);
    const float *b = with_bias ? in.b : NULL;
    outputs o = run(t, d, &in, b), r = run(&nb_kernels_ref, d, &in, b);
    if (int_data) {
        same_bits("y vs ref (integers)", d, o.y, r.y, ny);
        same_bits("dx vs ref (integers)", d, o.dx, r.dx, nx);
    } else {
        const int64_t most = nx > ny ? nx : ny;
        double *exact = malloc((size_t)most * sizeof(double)), *mag = malloc((size_t)most * sizeof(double));
        double *xd = to_double(in.x, nx), *wd = to_double(in.w, oc_numel_w(d));
        double *bd = to_double(in.b, d->k), *dyd = to_double(in.dy, ny);
        assert_non_null(exact); assert_non_null(mag);
        int64_t terms = oc_forward(d, xd, wd, with_bias ? bd : NULL, exact, mag);
        check("y", d, ny, o.y, r.y, exact, mag, terms);
        terms = oc_backward_data(d, dyd, wd, exact, mag);
        check("dx", d, nx, o.dx, r.dx, exact, mag, terms);
        free(exact); free(mag); free(xd); free(wd); free(bd); free(dyd);
    }
    free_outputs(o); free_outputs(r); free_inputs(in);
}

/* Runs one check on every SIMD table and every shape; skip() without one. */
static void for_each_table_and_shape(void (*check)(const struct nb_kernels *t, const nb_conv2d_desc *d)) {
    const struct nb_kernels *tabs[NB_ISA_COUNT];
    const int nt = simd_tables(tabs);
    if (!nt) skip();
    for (int ti = 0; ti < nt; ti++)
        for (int i = 0; i < NSHAPES; i++) check(tabs[ti], &shapes[i]);
}

/* Uniform and integer data, with and without bias. */
static void four_cases(const struct nb_kernels *t, const nb_conv2d_desc *d) {
    for (int v = 0; v < 4; v++) one_case(t, d, v & 1, v >> 1);
}

static void matches_reference_and_oracle(void **state) {
    (void)state;
    for_each_table_and_shape(four_cases);
}

/* 1, 2 and 3 threads give the same bits, and so does each image alone. */
static void bits_case(const struct nb_kernels *t, const nb_conv2d_desc *d) {
    nb_conv2d_desc one = *d;
    one.n = 1;
    const int64_t ix = oc_numel_x(d) / d->n, iy = oc_numel_y(d) / d->n;
    inputs in = make_inputs(d, 0);
    nb_set_num_threads(1);
    outputs base = run(t, d, &in, in.b);
    for (int th = 2; th <= 3; th++) {
        nb_set_num_threads(th);
        outputs o = run(t, d, &in, in.b);
        same_bits("y, threads", d, o.y, base.y, oc_numel_y(d));
        same_bits("dx, threads", d, o.dx, base.dx, oc_numel_x(d));
        free_outputs(o);
    }
    for (int64_t n = 0; n < d->n; n++) {
        nb_set_num_threads((int)nbt_range(1, 3));
        inputs in1 = {in.x + n * ix, in.w, in.b, in.dy + n * iy};
        outputs o = run(t, &one, &in1, in.b);
        same_bits("y, image alone", d, o.y, base.y + n * iy, iy);
        same_bits("dx, image alone", d, o.dx, base.dx + n * ix, ix);
        free_outputs(o);
    }
    nb_set_num_threads(0);
    free_outputs(base);
    free_inputs(in);
}

static void thread_count_and_batch_do_not_change_the_bits(void **state) {
    (void)state;
    for_each_table_and_shape(bits_case);
}

static void avx512_gives_the_avx2_bits(void **state) {
    (void)state;
    const struct nb_kernels *a2 = nb_kernels_for(NB_ISA_AVX2), *a5 = nb_kernels_for(NB_ISA_AVX512);
    if (!a2 || !a5) skip();
    for (int i = 0; i < NSHAPES; i++) {
        const nb_conv2d_desc *d = &shapes[i];
        inputs in = make_inputs(d, 0);
        for (int wb = 0; wb < 2; wb++) {
            outputs o2 = run(a2, d, &in, wb ? in.b : NULL), o5 = run(a5, d, &in, wb ? in.b : NULL);
            same_bits("y avx512 vs avx2", d, o5.y, o2.y, oc_numel_y(d));
            same_bits("dx avx512 vs avx2", d, o5.dx, o2.dx, oc_numel_x(d));
            free_outputs(o2); free_outputs(o5);
        }
        free_inputs(in);
    }
}

/* Non-finite values: an output is NaN / +-Inf exactly where the
   reference's is (the class, not the NaN payload). */
static void same_class(const char *what, const float *got, const float *ref, int64_t n) {
    for (int64_t j = 0; j < n; j++)
        if (isnan(got[j]) != isnan(ref[j]) || (isinf(ref[j]) && got[j] != ref[j]))
            fail_msg("%s[%lld] = %g, ref %g", what, (long long)j, (double)got[j], (double)ref[j]);
}

static void nonfinite_case(const struct nb_kernels *t, const nb_conv2d_desc *d) {
    inputs in = make_inputs(d, 0);
    in.x[nbt_range(0, oc_numel_x(d) - 1)] = NAN;
    in.x[nbt_range(0, oc_numel_x(d) - 1)] = INFINITY;
    in.dy[nbt_range(0, oc_numel_y(d) - 1)] = -INFINITY;
    outputs o = run(t, d, &in, in.b), r = run(&nb_kernels_ref, d, &in, in.b);
    same_class("y", o.y, r.y, oc_numel_y(d));
    same_class("dx", o.dx, r.dx, oc_numel_x(d));
    free_outputs(o); free_outputs(r); free_inputs(in);
}

static void nan_and_inf_reach_what_they_reach_in_the_reference(void **state) {
    (void)state;
    for_each_table_and_shape(nonfinite_case);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matches_reference_and_oracle),
        cmocka_unit_test(thread_count_and_batch_do_not_change_the_bits),
        cmocka_unit_test(avx512_gives_the_avx2_bits),
        cmocka_unit_test(nan_and_inf_reach_what_they_reach_in_the_reference),
    };
    return nbt_run(tests);
}
