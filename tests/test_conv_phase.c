/* Backward-data of strided layers by stride phases (src/conv_bwd_data_phase.c):
 * each phase of dx a stride-1 forward convolution of dy on the implicit
 * path, the phases interleaved into dx; and its 3x3 stride-2 padding-1
 * layers by the broadcast-orientation tile (bdata_s2, every ISA's tile
 * the same FMA chains), which this suite also runs with
 * NABLA_CONV_PATH=implicit (tests/meson.build: conv_phase_implicit) so
 * that those shapes go through the phases as well.
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
 * element must be written. NaN and Inf in dy and in w land where the
 * reference puts them.
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
    /* 3x3 stride 2 padding 1 (the broadcast-orientation tile): dy rows of
       Q = 28 (two full AVX-512 tiles, 4 AVX2 tiles + 4), 14, 7, 29 and
       15 (remainders of every kind), 1 and 2; H and W odd and even (the
       last dx row / column without its dy row / column + 1); channel
       blocks cut short (17, 20, 40 a group); groups; K 1. */
    {1, 32, 56, 56, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1},   /* Q 28, even: right and bottom edges */
    {2, 17, 27, 27, 24, 3, 3, 2, 2, 1, 1, 1, 1, 1},   /* Q 14, odd sizes, 1 channel past 16 */
    {1, 40, 13, 14, 20, 3, 3, 2, 2, 1, 1, 1, 1, 1},   /* Q 7, 40 = 16 + 16 + 8 channels */
    {1, 20, 9, 58, 8, 3, 3, 2, 2, 1, 1, 1, 1, 1},     /* Q 29: a tile of 1 j */
    {1, 16, 30, 29, 33, 3, 3, 2, 2, 1, 1, 1, 1, 1},   /* Q 15, W odd */
    {2, 48, 2, 3, 16, 3, 3, 2, 2, 1, 1, 1, 1, 2},     /* P 1, Q 2, groups 2 (24 a group) */
    {1, 16, 1, 1, 1, 3, 3, 2, 2, 1, 1, 1, 1, 1},      /* 1x1 image, one filter */
    {1, 16, 4, 2, 5, 3, 3, 2, 2, 1, 1, 1, 1, 1},      /* P 2, Q 1 */
};
#define NSHAPES ((int)(sizeof shapes / sizeof shapes[0]))

/* dx of table t against the reference and the oracle. */
static void check_phases(const struct nb_kernels *t, const nb_conv2d_desc *d, int int_data) {
    const int64_t nx = oc_numel_x(d), nw = oc_numel_w(d), ny = oc_numel_y(d);
    float *w = nbt_alloc_floats(nw), *dy = nbt_alloc_floats(ny), *dx = nbt_nan_floats(nx), *rdx = nbt_nan_floats(nx);
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
            float *w = nbt_alloc_floats(nw), *dy = nbt_alloc_floats(ny), *one = nbt_nan_floats(nx), *dx = nbt_nan_floats(nx);
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
            float *w = nbt_alloc_floats(nw), *dy = nbt_alloc_floats(ny), *dx = nbt_nan_floats(nx), *dx1 = nbt_nan_floats(ix);
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
        float *w = nbt_alloc_floats(nw), *dy = nbt_alloc_floats(ny), *d2 = nbt_nan_floats(nx), *d5 = nbt_nan_floats(nx);
        nbt_fill_uniform(w, nw, -1, 1);
        nbt_fill_uniform(dy, ny, -1, 1);
        assert_int_equal(a2->sconv2d_backward_data(d, dy, w, d2), NB_OK);
        assert_int_equal(a5->sconv2d_backward_data(d, dy, w, d5), NB_OK);
        assert_memory_equal(d5, d2, (size_t)nx * sizeof(float));
        free(w); free(dy); free(d2); free(d5);
    }
}

/* NaN and Inf in dy and in w propagate as in the reference: the
   reference's col2im never forms the products whose dy pixel is past dy's
   edge (dx's last row or column when H or W is even takes no tap-row-0 /
   tap-column-0 term), so a NaN filter there leaves those dx elements
   finite, and a NaN or Inf dy pixel reaches every dx element it feeds,
   zero weights included. Integer data: the finite elements are exact. */
static void nan_and_inf_propagate_as_in_the_reference(void **state) {
    (void)state;
    static const nb_conv2d_desc nshapes[] = {
        {1, 32, 56, 56, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1},
        {1, 17, 27, 28, 8, 3, 3, 2, 2, 1, 1, 1, 1, 1},
        {2, 16, 14, 13, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1},
        {1, 32, 17, 19, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1},
        {1, 32, 23, 22, 36, 5, 5, 2, 2, 2, 2, 1, 1, 1},   /* the phase path */
    };
    FOR_EACH_SIMD_TABLE(t) {
        for (int i = 0; i < (int)(sizeof nshapes / sizeof nshapes[0]); i++) {
            const nb_conv2d_desc *d = &nshapes[i];
            const int64_t nx = oc_numel_x(d), nw = oc_numel_w(d), ny = oc_numel_y(d);
            for (int which = 0; which < 4; which++) {
                float *w = nbt_alloc_floats(nw), *dy = nbt_alloc_floats(ny), *dx = nbt_nan_floats(nx), *rdx = nbt_nan_floats(nx);
                nbt_fill_int(w, nw, 3);
                nbt_fill_int(dy, ny, 3);
                const int64_t cg = d->c / d->groups, RS = d->r * d->s, S = d->s;
                if (which == 0) {
                    /* tap (0, 0) of filter 1, channel 3: the taps past dy's
                       right and bottom edges */
                    w[(1 * cg + 3) * RS + 0] = NAN;
                    w[(0 * cg + 1) * RS + 0] = INFINITY;
                } else if (which == 1) {
                    for (int64_t k = 0; k < d->k; k++) w[(k * cg + 2) * RS + S] = NAN;   /* tap (1, 0) */
                    w[(0 * cg + 5) * RS + 2 * S] = -INFINITY;                           /* tap (2, 0) */
                } else if (which == 2) {
                    dy[ny - 1] = NAN;                          /* last pixel of the last filter */
                    dy[(int64_t)nbt_range(0, ny - 1)] = INFINITY;
                } else {
                    for (int64_t k = 0; k < nw; k++) w[k] = 0.0f;   /* 0 * Inf = NaN */
                    dy[0] = -INFINITY;
                    dy[ny / 2] = NAN;
                }
                assert_int_equal(t->sconv2d_backward_data(d, dy, w, dx), NB_OK);
                assert_int_equal(nb_kernels_ref.sconv2d_backward_data(d, dy, w, rdx), NB_OK);
                for (int64_t e = 0; e < nx; e++) {
                    if (isnan(rdx[e]) && isnan(dx[e])) continue;
                    if (dx[e] != rdx[e])
                        fail_msg("shape %d case %d dx[%lld]: simd %.9g vs ref %.9g", i, which,
                                 (long long)e, (double)dx[e], (double)rdx[e]);
                }
                free(w); free(dy); free(dx); free(rdx);
            }
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(phases_match_reference_and_oracle),
        cmocka_unit_test(phases_are_bit_exact_with_integer_data),
        cmocka_unit_test(thread_count_does_not_change_the_bits),
        cmocka_unit_test(one_image_alone_gives_the_bits_it_gets_in_a_batch),
        cmocka_unit_test(avx512_gives_the_avx2_bits),
        cmocka_unit_test(nan_and_inf_propagate_as_in_the_reference),
    };
    return nbt_run(tests);
}
