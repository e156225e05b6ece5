/* Backward-filter's bit-level promises on every SIMD table (the error
 * bounds against the reference and the oracle are tests/test_conv_simd.c's):
 *   - every dw element has the bits of one SGEMM per image over the column
 *     matrix of the path the shape takes (src/conv_bwd_filter.c,
 *     src/conv_bwd_filter_rows.c, and the few-channel direct path
 *     src/conv_direct_bwf.c, which builds no column matrix);
 *   - the same bits for 1, 2 and 3 threads, with groups and batches that
 *     split the padded-rows and narrow 1x1 paths' units unevenly;
 *   - Inf and NaN in x where the padded-rows path multiplies them by the
 *     zero dy of its padding pixels reach what they reach in the reference.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv_oracle.h"
#include "harness.h"
#include "kernels_table.h"
#include "ref.h"
#include "ukernel.h"

#define FOR_EACH_SIMD_TABLE(t)                                                        \
    int ran_ = 0;                                                                     \
    for (int isa_ = NB_ISA_REF + 1; isa_ < NB_ISA_COUNT; isa_++)                      \
        for (const struct nb_kernels *t = nb_kernels_for((nb_isa)isa_);               \
             t && t->sconv2d_backward_filter != nb_kernels_ref.sconv2d_backward_filter && \
             (ran_ = 1);                                                              \
             t = NULL)

typedef struct { float *x, *dy; } conv_inputs;

static conv_inputs make_inputs(const nb_conv2d_desc *d) {
    const int64_t nx = oc_numel_x(d), ny = oc_numel_y(d);
    conv_inputs in = {malloc((size_t)nx * 4), malloc((size_t)ny * 4)};
    assert_non_null(in.x); assert_non_null(in.dy);
    nbt_fill_uniform(in.x, nx, -1, 1); nbt_fill_uniform(in.dy, ny, -1, 1);
    return in;
}

static void free_inputs(conv_inputs in) { free(in.x); free(in.dy); }

static float *backward_filter(const struct nb_kernels *t, const nb_conv2d_desc *d, conv_inputs in) {
    float *dw = malloc((size_t)oc_numel_w(d) * 4);
    assert_non_null(dw);
    assert_int_equal(t->sconv2d_backward_filter(d, in.x, in.dy, dw, NULL), NB_OK);
    return dw;
}

/* The row width of backward-filter's padded-rows path (src/conv_bwd_filter_rows.c)
   for d, or 0 where the shape takes a column-matrix path (the path's rule:
   stride 1 or 2, not pointwise, >= 16 channels a group, >= 768 pixels in the
   padded-row numbering over the batch; stride 2 both ways: rows of the
   phase planes, ceil((W + 2 pw) / 2) wide). */
static int64_t rows_width(const nb_conv2d_desc *d, int64_t P, int64_t Q) {
    const int pointwise = d->r == 1 && d->s == 1 && d->pad_h == 0 && d->pad_w == 0;
    if (d->stride_h != d->stride_w || d->stride_h > 2 || pointwise || d->c / d->groups < 16) return 0;
    const int64_t Wp = d->stride_w == 2 ? (d->w + 2 * d->pad_w + 1) / 2
                                        : d->w + d->pad_w > Q ? d->w + d->pad_w : Q;
    return d->n * ((P - 1) * Wp + Q) >= 768 ? Wp : 0;
}

/* Backward-filter gives, for every dw element, the bits of one SGEMM per
   image (dw (+)= dy col^T, beta 0 for the first image) over its column
   matrix: the im2col one (the column-matrix paths cut it into blocks of a
   multiple of KC pixels), or on the padded-rows path the column matrix in
   its pixel numbering, j = p Wp + q, with zero columns (and zero dy) at
   q >= Q. */
static void backward_filter_gives_the_bits_of_one_gemm_per_image(void **state) {
    (void)state;
    static const nb_conv2d_desc shapes[] = {
        //  n   c    h    w   k  r  s sh sw ph pw dh dw g
        {2, 3, 70, 67, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1},     /* PQ 4690: 13 KC blocks */
        {1, 3, 96, 90, 16, 7, 7, 2, 2, 3, 3, 1, 1, 1},    /* the stem's shape, smaller */
        {2, 16, 45, 43, 16, 1, 1, 1, 1, 0, 0, 1, 1, 1},   /* pointwise: x read in place */
        {3, 58, 17, 29, 26, 1, 1, 1, 1, 0, 0, 1, 1, 2},   /* pointwise, <= 16 filters a group (narrow): 29-channel groups */
        {1, 32, 40, 41, 16, 1, 1, 1, 1, 0, 0, 1, 1, 1},   /* narrow: 5 KC blocks */
        {2, 24, 19, 21, 17, 1, 1, 1, 1, 0, 0, 1, 1, 1},   /* 17 filters: the 4x24 tile (AVX2, AVX-512) */
        {2, 30, 23, 25, 24, 1, 1, 1, 1, 0, 0, 1, 1, 1},   /* 24 filters, 30 channels: 4-row panels and an edge */
        {1, 20, 30, 30, 32, 1, 1, 1, 1, 0, 0, 1, 1, 1},   /* 32 filters: the SGEMM's tile, narrow loop */
        {2, 40, 30, 31, 48, 1, 1, 1, 1, 0, 0, 1, 1, 1},   /* 1x1, 48 filters: transposed, rows split over the threads */
        {2, 24, 30, 31, 144, 1, 1, 1, 1, 0, 0, 1, 1, 1},  /* 1x1, 144 filters: plain, filters split over the threads */
        {1, 64, 31, 37, 20, 3, 3, 1, 1, 1, 1, 1, 1, 2},   /* groups, L 288: padded rows */
        {3, 5, 29, 31, 7, 5, 3, 1, 2, 2, 1, 2, 1, 1},     /* stride, dilation */
        {2, 16, 20, 23, 40, 3, 5, 1, 1, 4, 2, 2, 1, 1},   /* padded rows: padding past the kernel, dilation */
        {3, 17, 40, 9, 33, 2, 4, 1, 1, 0, 3, 1, 1, 1},    /* padded rows: odd taps, Q = W + pad */
        {3, 16, 40, 37, 24, 3, 3, 2, 2, 1, 1, 1, 1, 1},   /* padded rows, stride 2: odd width */
        {6, 32, 30, 28, 34, 5, 4, 2, 2, 0, 2, 2, 1, 2},   /* stride 2: dilation, groups, no row padding */
        {2, 32, 40, 40, 40, 3, 3, 2, 2, 1, 1, 1, 1, 1},   /* padded rows, stride 2: chunks of channel panels */
        {1, 16, 80, 80, 40, 3, 3, 2, 2, 2, 2, 2, 2, 1},   /* stride 2 in place: dilation, 5 KC blocks */
        {3, 32, 30, 33, 36, 3, 3, 2, 2, 1, 1, 1, 1, 2},   /* stride 2 in place: groups, a narrow filter edge */
        {3, 16, 33, 35, 24, 3, 3, 2, 2, 2, 0, 1, 1, 1},   /* stride 2: no column padding, odd width */
        {3, 18, 30, 31, 32, 5, 5, 2, 2, 1, 3, 1, 1, 1},   /* stride 2: column padding 3, a 4-channel panel */
        {1, 32, 36, 36, 24, 3, 2, 1, 1, 1, 1, 1, 1, 1},   /* padded rows, stride 1: chunks */
        /* few channels (AVX-512's direct path, src/conv_direct_bwf.c): */
        {3, 3, 37, 41, 70, 7, 7, 2, 2, 3, 3, 1, 1, 1},    /* 2 KC blocks a row apart, 64 + 6 filters */
        {2, 2, 30, 29, 17, 5, 5, 3, 1, 6, 4, 1, 1, 1},    /* stride 3 x 1, padding past the kernel */
        {1, 4, 50, 47, 16, 3, 9, 1, 2, 1, 4, 1, 1, 1},    /* 9 taps a row: 7 + 2 */
        {2, 1, 64, 64, 8, 7, 7, 2, 2, 3, 3, 1, 1, 1},     /* one channel */
    };
    FOR_EACH_SIMD_TABLE(t) {
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
            const nb_conv2d_desc *d = &shapes[i];
            int64_t P, Q;
            assert_int_equal(nb_conv2d_out_shape(d, &P, &Q), NB_OK);
            const int64_t G = d->groups, cg = d->c / G, kg = d->k / G, L = cg * d->r * d->s;
            const int64_t PQ = P * Q, HW = d->h * d->w, nw = oc_numel_w(d);
            const int64_t Wp = rows_width(d, P, Q), Ke = Wp ? (P - 1) * Wp + Q : PQ;
            conv_inputs in = make_inputs(d);
            float *col = malloc((size_t)(L * PQ) * 4), *want = malloc((size_t)nw * 4);
            float *colx = calloc((size_t)(L * Ke), 4), *dyx = calloc((size_t)(kg * Ke), 4);
            assert_true(col && want && colx && dyx);
            for (int64_t g = 0; g < G; g++)
                for (int64_t n = 0; n < d->n; n++) {
                    const float *dyg = in.dy + (n * d->k + g * kg) * PQ;
                    nb_ref_sim2col(d, cg, P, Q, in.x + (n * d->c + g * cg) * HW, col);
                    for (int64_t j = 0; j < PQ; j++) {   /* pixel j in the path's numbering */
                        const int64_t jx = Wp ? j / Q * Wp + j % Q : j;
                        for (int64_t l = 0; l < L; l++) colx[l * Ke + jx] = col[l * PQ + j];
                        for (int64_t k = 0; k < kg; k++) dyx[k * Ke + jx] = dyg[k * PQ + j];
                    }
                    assert_int_equal(t->sgemm(0, 1, kg, L, Ke, 1.0f, dyx, Ke, colx, Ke,
                                              n == 0 ? 0.0f : 1.0f, want + g * kg * L, L), NB_OK);
                }
            float *got = backward_filter(t, d, in);
            for (int64_t j = 0; j < nw; j++)
                if (memcmp(&got[j], &want[j], 4) != 0)
                    fail_msg("%s shape %zu: dw[%lld] = %.9g, one GEMM per image gives %.9g",
                             nb_isa_name(t->isa), i, (long long)j, got[j], want[j]);
            free(col); free(colx); free(dyx); free(want); free(got); free_inputs(in);
        }
    }
    if (!ran_) skip();
}

/* Backward-filter's padded-rows path multiplies the padding pixels' zero
   dy by image values: an infinity in x there would be NaN. Inf and NaN in
   the last column (which the padding pixels of the row above read), and in
   dy, reach what they reach in the reference. */
/* Fails at the first dw element that is NaN where the reference's is not
   (or the other way round), or that differs from it where either is
   infinite. */
static void expect_nonfinite_as_reference(const struct nb_kernels *t, int k, int64_t nw, const float *got,
                                          const float *want) {
    for (int64_t i = 0; i < nw; i++)
        if (isnan(got[i]) != isnan(want[i]) || (!isnan(got[i]) && got[i] != want[i] && (isinf(got[i]) || isinf(want[i]))))
            fail_msg("%s case %d: dw[%lld] = %g, reference %g", nb_isa_name(t->isa), k, (long long)i,
                     (double)got[i], (double)want[i]);
}

static void padded_rows_nan_and_inf_reach_what_they_reach_in_the_reference(void **state) {
    (void)state;
    //                       n   c   h   w   k  r  s sh sw ph pw dh dw g
    const nb_conv2d_desc d = {2, 16, 14, 40, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1};
    const int64_t nw = oc_numel_w(&d), ny = oc_numel_y(&d);
    FOR_EACH_SIMD_TABLE(t) {
        for (int k = 0; k < 4; k++) {
            conv_inputs in = make_inputs(&d);
            const float v = k == 0 ? NAN : k == 1 ? INFINITY : -INFINITY;
            if (k < 3) in.x[(1 * 16 + 5) * 14 * 40 + 6 * 40 + 39] = v;   /* image 1, channel 5, row 6 */
            else in.dy[nbt_range(0, ny - 1)] = INFINITY;
            float *got = backward_filter(t, &d, in), *want = backward_filter(&nb_kernels_ref, &d, in);
            expect_nonfinite_as_reference(t, k, nw, got, want);
            free(got); free(want); free_inputs(in);
        }
    }
    if (!ran_) skip();
}

/* Stride 2, where the strided-rows tile (nb_conv_desc.bwf_rows) reads x in
   place and leaves out the taps in the zero padding: Inf and NaN in dy at
   the corner pixels (whose padded taps the reference multiplies by them:
   NaN there) and in x's border reach what they reach in the reference. */
static void stride2_rows_nan_and_inf_reach_what_they_reach_in_the_reference(void **state) {
    (void)state;
    //                       n   c   h   w   k  r  s sh sw ph pw dh dw g
    const nb_conv2d_desc d = {6, 16, 20, 23, 40, 3, 3, 2, 2, 1, 1, 1, 1, 1};   /* Ke 129: 6 images reach the rows path */
    const int64_t nw = oc_numel_w(&d), P = 10, Q = 12, HW = 20 * 23;
    FOR_EACH_SIMD_TABLE(t) {
        for (int k = 0; k < 6; k++) {
            conv_inputs in = make_inputs(&d);
            const float v = k % 3 == 0 ? NAN : k % 3 == 1 ? INFINITY : -INFINITY;
            if (k < 3) in.dy[7 * P * Q + (k == 2 ? P * Q - 1 : 0)] = v;   /* filter 7, pixel (0, 0) or the last */
            else in.x[5 * HW + (k == 5 ? HW - 1 : 22)] = v;               /* channel 5, the last column */
            float *got = backward_filter(t, &d, in), *want = backward_filter(&nb_kernels_ref, &d, in);
            expect_nonfinite_as_reference(t, k, nw, got, want);
            free(got); free(want); free_inputs(in);
        }
    }
    if (!ran_) skip();
}

/* 1, 2 and 3 threads give the bits of 1 (padded rows: units split over
   the members, groups, images; column-matrix paths: the stem, stride 2). */
static void thread_count_does_not_change_the_bits(void **state) {
    (void)state;
    static const nb_conv2d_desc shapes[] = {
        //  n   c    h    w   k  r  s sh sw ph pw dh dw g
        {2, 64, 23, 25, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1},   /* Winograd */
        {2, 64, 23, 25, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1},
        /* padded rows (3x2, stride 2): */
        {2, 32, 23, 25, 64, 3, 2, 1, 1, 1, 1, 1, 1, 1},   /* filter panels split: dy outweighs the planes */
        {2, 64, 23, 25, 48, 3, 2, 1, 1, 1, 1, 1, 1, 1},   /* units split: the planes outweigh dy */
        {1, 128, 56, 56, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1},  /* stride 2, units by channels: panels of 14 and 2 */
        {3, 96, 11, 13, 40, 3, 3, 1, 1, 1, 1, 1, 1, 2},
        {1, 40, 33, 31, 70, 5, 3, 1, 1, 2, 1, 1, 2, 1},
        {2, 32, 30, 30, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1},
        {2, 32, 40, 40, 40, 3, 3, 2, 2, 1, 1, 1, 1, 1},   /* padded rows in chunks of channel panels */
        {2, 3, 40, 40, 16, 7, 7, 2, 2, 3, 3, 1, 1, 1},
        {1, 3, 100, 96, 70, 7, 7, 2, 2, 3, 3, 1, 1, 1},   /* few channels: 7 KC blocks over the threads */
        {2, 40, 30, 31, 16, 1, 1, 1, 1, 0, 0, 1, 1, 1},   /* narrow 1x1: 3 channel panels */
        {2, 84, 20, 20, 24, 1, 1, 1, 1, 0, 0, 1, 1, 3},   /* narrow 1x1: groups */
        {2, 40, 30, 31, 48, 1, 1, 1, 1, 0, 0, 1, 1, 1},   /* 1x1 transposed: the taps split in parts */
        {2, 24, 30, 31, 144, 1, 1, 1, 1, 0, 0, 1, 1, 1},  /* 1x1 plain: the filters split in parts */
    };
    FOR_EACH_SIMD_TABLE(t) {
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
            const nb_conv2d_desc *d = &shapes[i];
            conv_inputs in = make_inputs(d);
            nb_set_num_threads(1);
            float *one = backward_filter(t, d, in);
            for (int nt = 2; nt <= 3; nt++) {
                nb_set_num_threads(nt);
                float *got = backward_filter(t, d, in);
                assert_memory_equal(got, one, (size_t)oc_numel_w(d) * 4);
                free(got);
            }
            nb_set_num_threads(0);
            free(one); free_inputs(in);
        }
    }
    if (!ran_) skip();
}

/* dbias[k] is the sum over the images, in order, of each dy row's sum in a
   double: with small integers in dy every sum is exact, so on every path
   (the column-matrix path's per-image and batched forms, which take the
   row sums while dy is hot, the narrow, padded-rows, direct and Winograd
   paths) and for 1, 2 and 3 threads dbias is the exact sum, and its bits
   do not depend on the thread count. */
static void dbias_is_the_sum_of_dy_over_images_and_pixels(void **state) {
    (void)state;
    static const nb_conv2d_desc shapes[] = {
        //  n   c    h    w   k  r  s sh sw ph pw dh dw g
        {2, 16, 20, 22, 40, 1, 1, 1, 1, 0, 0, 1, 1, 1},    /* 1x1, 40 filters: column matrix, transposed */
        {3, 8, 19, 21, 136, 1, 1, 1, 1, 0, 0, 1, 1, 1},   /* 1x1, 136 filters: column matrix, plain */
        {2, 8, 30, 30, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1},    /* 8 channels: column blocks of im2col */
        {5, 8, 6, 6, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1},      /* small images: batched */
        {3, 12, 7, 5, 18, 3, 3, 1, 1, 1, 1, 1, 1, 2},     /* batched, groups */
        {2, 40, 30, 31, 16, 1, 1, 1, 1, 0, 0, 1, 1, 1},   /* narrow */
        {2, 32, 30, 30, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1},   /* padded rows */
        {1, 3, 100, 96, 70, 7, 7, 2, 2, 3, 3, 1, 1, 1},   /* direct */
        {1, 32, 32, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1},   /* Winograd */
    };
    FOR_EACH_SIMD_TABLE(t) {
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
            const nb_conv2d_desc *d = &shapes[i];
            conv_inputs in = make_inputs(d);
            const int64_t ny = oc_numel_y(d), PQ = ny / (d->n * d->k);
            for (int64_t j = 0; j < ny; j++) in.dy[j] = (float)((j * 7919 + i) % 17) - 8.0f;
            float *want = malloc((size_t)d->k * 4), *one = malloc((size_t)d->k * 4);
            float *dw = malloc((size_t)oc_numel_w(d) * 4);
            assert_true(want && one && dw);
            for (int64_t k = 0; k < d->k; k++) {
                double acc = 0;
                for (int64_t n = 0; n < d->n; n++)
                    for (int64_t j = 0; j < PQ; j++) acc += in.dy[(n * d->k + k) * PQ + j];
                want[k] = (float)acc;
            }
            for (int nt = 1; nt <= 3; nt++) {
                float *got = nt == 1 ? one : malloc((size_t)d->k * 4);
                assert_non_null(got);
                nb_set_num_threads(nt);
                assert_int_equal(t->sconv2d_backward_filter(d, in.x, in.dy, dw, got), NB_OK);
                for (int64_t k = 0; k < d->k; k++)
                    if (got[k] != want[k])
                        fail_msg("%s shape %zu, %d threads: dbias[%lld] = %.9g, the sum is %.9g",
                                 nb_isa_name(t->isa), i, nt, (long long)k, got[k], want[k]);
                if (nt > 1) {
                    assert_memory_equal(got, one, (size_t)d->k * 4);
                    free(got);
                }
            }
            nb_set_num_threads(0);
            free(want); free(one); free(dw); free_inputs(in);
        }
    }
    if (!ran_) skip();
}

/* dbias has, on every path and thread count, the bits of the ISA's own
   row sum (conv.rowsum) of each dy plane added over the images in order in
   a double (a path that takes the sums along its own walk over dy must
   keep them). dy spans 60 binades here and each plane's halves cancel, so
   a step out of order or lost shows (checked session 15: the final lane
   tree reordered, or one 32-float step dropped, fails). */
static void dbias_has_the_bits_of_the_isas_row_sums(void **state) {
    (void)state;
    static const nb_conv2d_desc shapes[] = {
        //  n   c    h    w   k  r  s sh sw ph pw dh dw g
        {2, 3, 101, 97, 70, 7, 7, 2, 2, 3, 3, 1, 1, 1},   /* direct: PQ 2499, a scalar tail */
        {1, 3, 96, 93, 64, 7, 7, 2, 2, 3, 3, 1, 1, 1},    /* direct: PQ 2256, two 8-float groups */
        {2, 32, 30, 30, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1},   /* padded rows */
        {2, 16, 20, 22, 40, 1, 1, 1, 1, 0, 0, 1, 1, 1},   /* 1x1 */
        {2, 24, 29, 37, 24, 3, 3, 1, 1, 1, 1, 1, 1, 24},  /* depthwise 3x3: the sum inside the filter walk */
    };
    FOR_EACH_SIMD_TABLE(t) {
        const nb_ukernel_config *cfg = nb_ukernels_for(t->isa);
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
            const nb_conv2d_desc *d = &shapes[i];
            conv_inputs in = make_inputs(d);
            const int64_t ny = oc_numel_y(d), PQ = ny / (d->n * d->k);
            /* exponents over 2^-30 .. 2^30, and each plane's second half
               the negated first: the sum is what the double adds lost on
               the way, so the order of the adds shows in the bits */
            for (int64_t j = 0; j < ny; j++)
                in.dy[j] = ldexpf(in.dy[j], (int)((j * 2654435761u) % 61) - 30);
            for (int64_t pl = 0; pl < d->n * d->k; pl++)
                for (int64_t j = 0; j < PQ / 2; j++) in.dy[pl * PQ + PQ / 2 + j] = -in.dy[pl * PQ + j];
            float *want = malloc((size_t)d->k * 4), *got = malloc((size_t)d->k * 4);
            float *dw = malloc((size_t)oc_numel_w(d) * 4);
            assert_true(want && got && dw);
            for (int64_t k = 0; k < d->k; k++) {
                double acc = 0;
                for (int64_t n = 0; n < d->n; n++) acc += cfg->conv.rowsum(PQ, in.dy + (n * d->k + k) * PQ);
                want[k] = (float)acc;
            }
            for (int nt = 1; nt <= 2; nt++) {
                nb_set_num_threads(nt);
                assert_int_equal(t->sconv2d_backward_filter(d, in.x, in.dy, dw, got), NB_OK);
                for (int64_t k = 0; k < d->k; k++)
                    if (memcmp(&got[k], &want[k], 4) != 0)
                        fail_msg("%s shape %zu, %d threads: dbias[%lld] = %.9g, the row sums give %.9g",
                                 nb_isa_name(t->isa), i, nt, (long long)k, got[k], want[k]);
            }
            nb_set_num_threads(0);
            free(want); free(got); free(dw); free_inputs(in);
        }
    }
    if (!ran_) skip();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(backward_filter_gives_the_bits_of_one_gemm_per_image),
        cmocka_unit_test(padded_rows_nan_and_inf_reach_what_they_reach_in_the_reference),
        cmocka_unit_test(stride2_rows_nan_and_inf_reach_what_they_reach_in_the_reference),
        cmocka_unit_test(thread_count_does_not_change_the_bits),
        cmocka_unit_test(dbias_is_the_sum_of_dy_over_images_and_pixels),
        cmocka_unit_test(dbias_has_the_bits_of_the_isas_row_sums),
    };
    return nbt_run(tests);
}
