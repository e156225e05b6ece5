/* The reference im2col / col2im helpers (ref/im2col.c), which the SIMD
 * convolutions mirror and are compared against bit for bit:
 * - im2col equals its definition exactly (pure data movement, padding 0);
 * - col2im adds into x (it does not overwrite) and equals the direct
 *   "sum over the taps that read this position" definition exactly on
 *   integer data;
 * - col2im is the adjoint of im2col: <im2col(x), c> == <x, col2im(c)>.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conv_oracle.h"
#include "harness.h"
#include "ref.h"

static int64_t col_rows(const nb_conv2d_desc *d, int64_t channels) { return channels * d->r * d->s; }

/* x[c, ih, iw] of the tap (r, s) at output (p, q), or 0 in the padding. */
static float tap(const nb_conv2d_desc *d, const float *x, int64_t c, int64_t r, int64_t s,
                 int64_t p, int64_t q) {
    const int64_t ih = p * d->stride_h - d->pad_h + r * d->dilation_h;
    const int64_t iw = q * d->stride_w - d->pad_w + s * d->dilation_w;
    if (ih < 0 || ih >= d->h || iw < 0 || iw >= d->w) return 0.0f;
    return x[(c * d->h + ih) * d->w + iw];
}

static void im2col_case(const nb_conv2d_desc *d, int64_t channels) {
    int64_t P, Q;
    oc_out_shape(d, &P, &Q);
    const int64_t nx = channels * d->h * d->w, ncol = col_rows(d, channels) * P * Q;
    float *x = nbt_alloc_guarded((size_t)nx * sizeof(float), 0);
    float *col = nbt_alloc_guarded((size_t)ncol * sizeof(float), 0);
    nbt_fill_uniform(x, nx, -1, 1);
    for (int64_t i = 0; i < ncol; i++) col[i] = NAN;
    nb_ref_sim2col(d, channels, P, Q, x, col);
    for (int64_t c = 0; c < channels; c++)
        for (int64_t r = 0; r < d->r; r++)
            for (int64_t s = 0; s < d->s; s++)
                for (int64_t p = 0; p < P; p++)
                    for (int64_t q = 0; q < Q; q++) {
                        const float want = tap(d, x, c, r, s, p, q);
                        const float got = col[(((c * d->r + r) * d->s + s) * P + p) * Q + q];
                        assert_true(nbt_same_value(got, want));
                    }
    nbt_free_guarded(x);
    nbt_free_guarded(col);
}

static void im2col_equals_its_definition(void **state) {
    (void)state;
    for (int i = 0; i < oc_shape_count; i++)
        im2col_case(&oc_shapes[i], oc_shapes[i].c / oc_shapes[i].groups);
    for (int i = 0; i < 50; i++) {
        nb_conv2d_desc d = oc_random_desc();
        im2col_case(&d, nbt_range(1, 3));
    }
}

static void col2im_case(const nb_conv2d_desc *d, int64_t channels) {
    int64_t P, Q;
    oc_out_shape(d, &P, &Q);
    const int64_t nx = channels * d->h * d->w, ncol = col_rows(d, channels) * P * Q;
    float *x = nbt_alloc_guarded((size_t)nx * sizeof(float), 0);
    float *x0 = malloc((size_t)nx * sizeof(float));
    float *col = nbt_alloc_guarded((size_t)ncol * sizeof(float), 1);
    nbt_fill_int(x, nx, 8);
    nbt_fill_int(col, ncol, 8);
    memcpy(x0, x, (size_t)nx * sizeof(float));
    nb_ref_scol2im(d, channels, P, Q, col, x);
    for (int64_t c = 0; c < channels; c++)
        for (int64_t h = 0; h < d->h; h++)
            for (int64_t w = 0; w < d->w; w++) {
                double want = x0[(c * d->h + h) * d->w + w];   /* added to, not overwritten */
                for (int64_t r = 0; r < d->r; r++)
                    for (int64_t s = 0; s < d->s; s++)
                        for (int64_t p = 0; p < P; p++)
                            for (int64_t q = 0; q < Q; q++)
                                if (p * d->stride_h - d->pad_h + r * d->dilation_h == h &&
                                    q * d->stride_w - d->pad_w + s * d->dilation_w == w)
                                    want += col[(((c * d->r + r) * d->s + s) * P + p) * Q + q];
                assert_true((double)x[(c * d->h + h) * d->w + w] == want);
            }
    nbt_free_guarded(x);
    nbt_free_guarded(col);
    free(x0);
}

static void col2im_adds_every_tap_into_the_position_it_reads(void **state) {
    (void)state;
    for (int i = 0; i < oc_shape_count; i++)
        col2im_case(&oc_shapes[i], oc_shapes[i].c / oc_shapes[i].groups);
    for (int i = 0; i < 50; i++) {
        nb_conv2d_desc d = oc_random_desc();
        col2im_case(&d, nbt_range(1, 3));
    }
}

static void col2im_is_the_adjoint_of_im2col(void **state) {
    (void)state;
    for (int i = 0; i < 50; i++) {
        nb_conv2d_desc d = oc_random_desc();
        const int64_t channels = nbt_range(1, 3);
        int64_t P, Q;
        oc_out_shape(&d, &P, &Q);
        const int64_t nx = channels * d.h * d.w, ncol = col_rows(&d, channels) * P * Q;
        double *x = malloc((size_t)nx * sizeof(double)), *dx = calloc((size_t)nx, sizeof(double));
        double *c = malloc((size_t)ncol * sizeof(double)), *col = malloc((size_t)ncol * sizeof(double));
        nbt_fill_uniform_d(x, nx, -1, 1);
        nbt_fill_uniform_d(c, ncol, -1, 1);
        nb_ref_dim2col(&d, channels, P, Q, x, col);
        nb_ref_dcol2im(&d, channels, P, Q, c, dx);
        double a = 0, b = 0, m = 0;
        for (int64_t j = 0; j < ncol; j++) { a += col[j] * c[j]; m += fabs(col[j] * c[j]); }
        for (int64_t j = 0; j < nx; j++) b += x[j] * dx[j];
        assert_true(fabs(a - b) <= 1e-13 * (m + 1e-300));
        free(x); free(dx); free(c); free(col);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(im2col_equals_its_definition),
        cmocka_unit_test(col2im_adds_every_tap_into_the_position_it_reads),
        cmocka_unit_test(col2im_is_the_adjoint_of_im2col),
    };
    return nbt_run(tests);
}
