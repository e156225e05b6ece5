/* Backward-data of strided layers by stride phases (src/conv_bwd_data_phase.c):
 * each phase of dx a stride-1 forward convolution of dy on the implicit
 * path, the phases interleaved into dx.
 *
 * The shapes are ones the phase path takes by itself (>= 32 channels a
 * group both ways, enough pixels a phase): stride 2 with odd and even
 * sizes (the last phase row or column shorter), 5x5 and 4x4 windows,
 * padding past the kernel (negative phase padding), strides 2 x 1, 1 x 2
 * and 3 (nine phases, some of one tap), groups, filter counts that leave
 * partial MR-row tiles. On every SIMD table: dx against the reference and
 * the double-precision oracle within the bound (bit for bit with integer
 * data, whose sums are exact), the same bits on 1, 2 and 3 threads, and an
 * image alone gets the bits it gets in a batch. NaN-filled outputs: every
 * element must be written.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv_oracle.h"
#include "gemm_diff.h"   /* the SIMD tables under test (FOR_EACH_SIMD_TABLE) */
#include "ref.h"

static const nb_conv2d_desc shapes[] = {
    //  n   c   h   w   k  r  s sh sw ph pw dh dw g
    {1, 32, 17, 19, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1},   /* odd: shorter last phase row, column */
    {2, 48, 20, 16, 40, 3, 3, 2, 2, 1, 1, 1, 1, 1},   /* batch, even sizes */
    {1, 32, 23, 21, 36, 5, 5, 2, 2, 2, 2, 1, 1, 1},   /* 5x5: phases of 3x3, 3x2, 2x3, 2x2 */
    {1, 40, 18, 21, 32, 3, 3, 2, 2, 4, 4, 1, 1, 1},   /* padding past the kernel */
    {1, 64, 30, 30, 33, 4, 4, 2, 2, 1, 1, 1, 1, 1},   /* 4x4: every phase 2x2 */
    {1, 32, 16, 33, 32, 3, 3, 1, 2, 1, 1, 1, 1, 1},   /* stride 1 x 2 */
    {1, 32, 33, 16, 32, 3, 3, 2, 1, 1, 1, 1, 1, 1},   /* stride 2 x 1 */
    {1, 32, 25, 26, 32, 3, 3, 3, 3, 1, 1, 1, 1, 1},   /* stride 3: 9 phases of 1 to 1x1 taps */
    {2, 64, 17, 18, 64, 3, 3, 2, 2, 1, 1, 1, 1, 2},   /* groups 2 */
    {1, 45, 15, 15, 128, 3, 3, 2, 2, 0, 0, 1, 1, 1},  /* 45 rows: partial tiles; no padding */
    {3, 32, 28, 28, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1},   /* the bench layer's shape, small */
};
#define NSHAPES ((int)(sizeof shapes / sizeof shapes[0]))

static float *alloc_f(int64_t n) {
    float *p = malloc((size_t)n * sizeof(float));
    assert_non_null(p);
    return p;
}

static float *nan_filled(int64_t n) {
    float *p = alloc_f(n);
    for (int64_t i = 0; i < n; i++) p[i] = NAN;
    return p;
}

/* dx of table t against the reference and the oracle. */
static void check_phases(const struct nb_kernels *t, const nb_conv2d_desc *d, int int_data) {
    const int64_t nx = oc_numel_x(d), nw = oc_numel_w(d), ny = oc_numel_y(d);
    float *w = alloc_f(nw), *dy = alloc_f(ny), *dx = nan_filled(nx), *rdx = nan_filled(nx);
    if (int_data) {
        nbt_fill_int(w, nw, 3);
        nbt_fill_int(dy, ny, 3);
    } else {
        nbt_fill_uniform(w, nw, -1, 1);
        nbt_fill_uniform(dy, ny, -1, 1);
    }
    assert_int_equal(t->sconv2d_backward_data(d, dy, w, dx), NB_OK);
    assert_int_equal(nb_kernels_ref.sconv2d_backward_data(d, dy, w, rdx), NB_OK);
    if (int_data) {
        assert_memory_equal(dx, rdx, (size_t)nx * sizeof(float));
    } else {
        double *dyd = malloc((size_t)ny * sizeof(double)), *wd = malloc((size_t)nw * sizeof(double));
        double *exact = malloc((size_t)nx * sizeof(double)), *mag = malloc((size_t)nx * sizeof(double));
        double *got = malloc((size_t)nx * sizeof(double));
        assert_non_null(dyd); assert_non_null(wd); assert_non_null(exact); assert_non_null(mag);
        assert_non_null(got);
        for (int64_t i = 0; i < ny; i++) dyd[i] = dy[i];
        for (int64_t i = 0; i < nw; i++) wd[i] = w[i];
        for (int64_t i = 0; i < nx; i++) got[i] = dx[i];
        const int64_t terms = oc_backward_data(d, dyd, wd, exact, mag);
        const double gf = oc_gamma(terms + 2, ldexp(1.0, -24));
        oc_check("dx", d, nx, got, exact, mag, gf + oc_gamma(terms + 2, ldexp(1.0, -53)));
        for (int64_t i = 0; i < nx; i++) {
            const double diff = fabs((double)dx[i] - (double)rdx[i]);
            if (!(diff <= 2 * gf * mag[i]))
                fail_msg("dx[%lld]: simd %.9g vs ref %.9g differ by %.3g > %.3g", (long long)i,
                         (double)dx[i], (double)rdx[i], diff, 2 * gf * mag[i]);
        }
        free(dyd); free(wd); free(exact); free(mag); free(got);
    }
    free(w); free(dy); free(dx); free(rdx);
}

static void phases_match_reference_and_oracle(void **state) {
    (void)state;
    FOR_EACH_SIMD_TABLE(t) {
        for (int i = 0; i < NSHAPES; i++) check_phases(t, &shapes[i], 0);
    }
}

static void phases_are_bit_exact_with_integer_data(void **state) {
    (void)state;
    FOR_EACH_SIMD_TABLE(t) {
        for (int i = 0; i < NSHAPES; i++) check_phases(t, &shapes[i], 1);
    }
}

static void thread_count_does_not_change_the_bits(void **state) {
    (void)state;
    FOR_EACH_SIMD_TABLE(t) {
        for (int i = 0; i < NSHAPES; i++) {
            const nb_conv2d_desc *d = &shapes[i];
            const int64_t nx = oc_numel_x(d), nw = oc_numel_w(d), ny = oc_numel_y(d);
            float *w = alloc_f(nw), *dy = alloc_f(ny), *one = nan_filled(nx), *dx = nan_filled(nx);
            nbt_fill_uniform(w, nw, -1, 1);
            nbt_fill_uniform(dy, ny, -1, 1);
            nb_set_num_threads(1);
            assert_int_equal(t->sconv2d_backward_data(d, dy, w, one), NB_OK);
            for (int nt = 2; nt <= 3; nt++) {
                nb_set_num_threads(nt);
                assert_int_equal(t->sconv2d_backward_data(d, dy, w, dx), NB_OK);
                assert_memory_equal(dx, one, (size_t)nx * sizeof(float));
            }
            nb_set_num_threads(0);
            free(w); free(dy); free(one); free(dx);
        }
    }
}

static void one_image_alone_gives_the_bits_it_gets_in_a_batch(void **state) {
    (void)state;
    FOR_EACH_SIMD_TABLE(t) {
        for (int i = 0; i < NSHAPES; i++) {
            nb_conv2d_desc d = shapes[i];
            d.n = 3;
            nb_conv2d_desc one = d;
            one.n = 1;
            const int64_t nx = oc_numel_x(&d), nw = oc_numel_w(&d), ny = oc_numel_y(&d);
            const int64_t ix = nx / d.n, iy = ny / d.n;
            float *w = alloc_f(nw), *dy = alloc_f(ny), *dx = nan_filled(nx), *dx1 = nan_filled(ix);
            nbt_fill_uniform(w, nw, -1, 1);
            nbt_fill_uniform(dy, ny, -1, 1);
            nb_set_num_threads((int)nbt_range(1, 3));
            assert_int_equal(t->sconv2d_backward_data(&d, dy, w, dx), NB_OK);
            nb_set_num_threads((int)nbt_range(1, 3));
            for (int64_t n = 0; n < d.n; n++) {
                assert_int_equal(t->sconv2d_backward_data(&one, dy + n * iy, w, dx1), NB_OK);
                assert_memory_equal(dx1, dx + n * ix, (size_t)ix * sizeof(float));
            }
            nb_set_num_threads(0);
            free(w); free(dy); free(dx); free(dx1);
        }
    }
}

/* Both ISAs run the phases on the implicit path with the same KC and
   per-element FMA chains: the same bits (as the rest of the conv suite). */
static void avx512_gives_the_avx2_bits(void **state) {
    (void)state;
    const struct nb_kernels *a2 = nb_kernels_for(NB_ISA_AVX2), *a5 = nb_kernels_for(NB_ISA_AVX512);
    if (!a2 || !a5) {
        skip();
        return;
    }
    for (int i = 0; i < NSHAPES; i++) {
        const nb_conv2d_desc *d = &shapes[i];
        const int64_t nx = oc_numel_x(d), nw = oc_numel_w(d), ny = oc_numel_y(d);
        float *w = alloc_f(nw), *dy = alloc_f(ny), *d2 = nan_filled(nx), *d5 = nan_filled(nx);
        nbt_fill_uniform(w, nw, -1, 1);
        nbt_fill_uniform(dy, ny, -1, 1);
        assert_int_equal(a2->sconv2d_backward_data(d, dy, w, d2), NB_OK);
        assert_int_equal(a5->sconv2d_backward_data(d, dy, w, d5), NB_OK);
        assert_memory_equal(d5, d2, (size_t)nx * sizeof(float));
        free(w); free(dy); free(d2); free(d5);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(phases_match_reference_and_oracle),
        cmocka_unit_test(phases_are_bit_exact_with_integer_data),
        cmocka_unit_test(thread_count_does_not_change_the_bits),
        cmocka_unit_test(one_image_alone_gives_the_bits_it_gets_in_a_batch),
        cmocka_unit_test(avx512_gives_the_avx2_bits),
    };
    return nbt_run(tests);
}
