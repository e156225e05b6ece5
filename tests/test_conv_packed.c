/* Prepacked convolution weights (nb_sconv2d_pack_weights and the packed
 * calls, src/api_conv_packed.c) against the unpacked entry points:
 *   - the same bits, forward and backward-data, on Winograd shapes (tile
 *     edges, padding past the kernel, backward-data with pad > 2), GEMM
 *     shapes (strided, 1x1, grouped, depthwise) and empty ones, for
 *     NABLA_CONV_ALGO auto / winograd / gemm, 1 to 3 threads, and a batch
 *     other than the packed one;
 *   - a pack made under one NABLA_CONV_ALGO and called under another;
 *   - the pack keeps its own copy of w; NaN and Inf in the input;
 *   - the errors: NULL arguments, unknown direction bits, a desc that
 *     differs from the packed one, an unpacked direction, aliasing.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conv_oracle.h"
#include "harness.h"

static float *filled(int64_t n, float lo, float hi) {
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    assert_non_null(p);
    nbt_fill_uniform(p, n, lo, hi);
    return p;
}

static void same_bits(const char *what, const float *a, const float *b, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof *a) != 0)
            fail_msg("%s: [%lld] packed %.9g != unpacked %.9g", what, (long long)i, (double)a[i],
                     (double)b[i]);
}

/* One desc, both directions: the packed calls (pack made with batch pn)
   against the unpacked ones, bit for bit. nan: a NaN and an Inf in the
   input. */
static void packed_equals_unpacked(const nb_conv2d_desc *d, int64_t pn, int nan) {
    const int64_t nx = oc_numel_x(d), nw = oc_numel_w(d), ny = oc_numel_y(d);
    float *x = filled(nx, -1, 1), *w = filled(nw, -1, 1), *b = filled(d->k, -1, 1);
    float *dy = filled(ny, -1, 1);
    float *y0 = filled(ny, 0, 0), *y1 = filled(ny, 0, 0), *dx0 = filled(nx, 0, 0), *dx1 = filled(nx, 0, 0);
    if (nan && nx > 2 && ny > 2) {
        x[nx / 2] = NAN;
        x[nx / 3] = INFINITY;
        dy[ny / 2] = -INFINITY;
    }
    nb_conv2d_desc pd = *d;
    pd.n = pn;
    nb_conv2d_packed *p = NULL;
    assert_int_equal(nb_sconv2d_pack_weights(&pd, w, NB_CONV_PACK_FORWARD | NB_CONV_PACK_BACKWARD_DATA, &p), NB_OK);
    assert_non_null(p);
    assert_true(nb_conv2d_packed_floats(p) >= nw);
    float *w_orig = malloc((size_t)(nw > 0 ? nw : 1) * sizeof *w);
    assert_non_null(w_orig);
    memcpy(w_orig, w, (size_t)nw * sizeof *w);
    for (int64_t i = 0; i < nw; i++) w[i] = 7.0f;   /* the pack holds its own copy */
    for (int nt = 1; nt <= 3; nt++) {
        nb_set_num_threads(nt);
        assert_int_equal(nb_sconv2d_forward(d, x, w_orig, b, y0), NB_OK);
        assert_int_equal(nb_sconv2d_forward_packed(d, x, p, b, y1), NB_OK);
        same_bits("forward", y1, y0, ny);
        assert_int_equal(nb_sconv2d_forward_packed(d, x, p, NULL, y1), NB_OK);
        assert_int_equal(nb_sconv2d_forward(d, x, w_orig, NULL, y0), NB_OK);
        same_bits("forward, no bias", y1, y0, ny);
        assert_int_equal(nb_sconv2d_backward_data(d, dy, w_orig, dx0), NB_OK);
        assert_int_equal(nb_sconv2d_backward_data_packed(d, dy, p, dx1), NB_OK);
        same_bits("backward-data", dx1, dx0, nx);
    }
    nb_set_num_threads(0);
    nb_conv2d_packed_free(p);
    free(x); free(w); free(w_orig); free(b); free(dy); free(y0); free(y1); free(dx0); free(dx1);
}

static nb_conv2d_desc shapes[] = {
    /* n  c   h   w   k  r  s sh sw ph pw dh dw g */
    {2, 64, 28, 28, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1},
    {1, 17, 13, 11, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1},
    {3, 16, 9, 7, 33, 3, 3, 1, 1, 2, 0, 1, 1, 1},
    {1, 19, 5, 6, 16, 3, 3, 1, 1, 4, 3, 1, 1, 1},   /* pad > 2: bwd-data on GEMM */
    {2, 3, 17, 17, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1},   /* few channels: auto says GEMM */
    {1, 24, 15, 15, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1}, /* strided */
    {2, 32, 9, 9, 48, 1, 1, 1, 1, 0, 0, 1, 1, 1},   /* 1x1 */
    {1, 32, 11, 10, 32, 3, 3, 1, 1, 1, 1, 1, 1, 4}, /* grouped */
    {1, 24, 12, 12, 24, 3, 3, 1, 1, 1, 1, 1, 1, 24}, /* depthwise */
    {1, 20, 10, 10, 20, 3, 3, 1, 1, 2, 2, 2, 2, 1}, /* dilated */
    {1, 400, 7, 9, 30, 3, 3, 1, 1, 1, 1, 1, 1, 1},  /* several KC blocks (fused at n 1) */
    {2, 0, 6, 6, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1},     /* c == 0 */
    {1, 8, 6, 6, 0, 3, 3, 1, 1, 1, 1, 1, 1, 1},     /* k == 0 */
};

/* Under emulation (NABLA_QEMU, scripts/test.sh) the two large shapes
   shrink, keeping what they test: Winograd tiles past one block, and a
   reduction of several KC blocks (L = 9 c > 2 KC). */
static void shrink_for_emulation(void) {
    if (getenv("NABLA_QEMU")) {
        shapes[0].h = shapes[0].w = 14;
        shapes[10].c = 100;
    }
}

static void same_bits_as_the_unpacked_calls(void **state) {
    (void)state;
    static const char *const algos[] = {"auto", "winograd", "gemm"};
    for (int a = 0; a < 3; a++) {
        setenv("NABLA_CONV_ALGO", algos[a], 1);
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
            packed_equals_unpacked(&shapes[s], shapes[s].n, 0);
            packed_equals_unpacked(&shapes[s], shapes[s].n + 2, 0);   /* another batch */
        }
    }
    unsetenv("NABLA_CONV_ALGO");
}

static void nan_and_inf_as_unpacked(void **state) {
    (void)state;
    setenv("NABLA_CONV_ALGO", "winograd", 1);
    packed_equals_unpacked(&shapes[0], 2, 1);
    packed_equals_unpacked(&shapes[1], 1, 1);
    unsetenv("NABLA_CONV_ALGO");
}

/* Packed under one algorithm, called under another: the call's choice, its
   bits (the filters transformed in the call where the pack has none). */
static void algorithm_changed_after_packing(void **state) {
    (void)state;
    const nb_conv2d_desc *d = &shapes[0];
    const int64_t nx = oc_numel_x(d), nw = oc_numel_w(d), ny = oc_numel_y(d);
    float *x = filled(nx, -1, 1), *w = filled(nw, -1, 1), *y0 = filled(ny, 0, 0), *y1 = filled(ny, 0, 0);
    static const char *const pairs[][2] = {{"gemm", "winograd"}, {"winograd", "gemm"}, {"gemm", "auto"}};
    for (int i = 0; i < 3; i++) {
        nb_conv2d_packed *p = NULL;
        setenv("NABLA_CONV_ALGO", pairs[i][0], 1);
        assert_int_equal(nb_sconv2d_pack_weights(d, w, NB_CONV_PACK_FORWARD, &p), NB_OK);
        setenv("NABLA_CONV_ALGO", pairs[i][1], 1);
        assert_int_equal(nb_sconv2d_forward_packed(d, x, p, NULL, y1), NB_OK);
        assert_int_equal(nb_sconv2d_forward(d, x, w, NULL, y0), NB_OK);
        same_bits(pairs[i][1], y1, y0, ny);
        nb_conv2d_packed_free(p);
    }
    unsetenv("NABLA_CONV_ALGO");
    free(x); free(w); free(y0); free(y1);
}

static void errors_name_the_function_and_argument(void **state) {
    (void)state;
    const nb_conv2d_desc d = {1, 4, 6, 6, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1};
    float *x = filled(oc_numel_x(&d), -1, 1), *w = filled(oc_numel_w(&d), -1, 1);
    float *y = filled(oc_numel_y(&d), 0, 0);
    nb_conv2d_packed *p = (nb_conv2d_packed *)&d, *const sentinel = p;
    const char *pk = "nb_sconv2d_pack_weights";
    nbt_expect_error(nb_sconv2d_pack_weights(NULL, w, 1, &p), NB_ERR_ARG, pk, "desc");
    nbt_expect_error(nb_sconv2d_pack_weights(&d, NULL, 1, &p), NB_ERR_ARG, pk, "w");
    nbt_expect_error(nb_sconv2d_pack_weights(&d, w, 1, NULL), NB_ERR_ARG, pk, "packed");
    nbt_expect_error(nb_sconv2d_pack_weights(&d, w, 0, &p), NB_ERR_ARG, pk, "directions");
    nbt_expect_error(nb_sconv2d_pack_weights(&d, w, 4, &p), NB_ERR_ARG, pk, "directions");
    nb_conv2d_desc bad = d;
    bad.stride_h = 0;
    nbt_expect_error(nb_sconv2d_pack_weights(&bad, w, 1, &p), NB_ERR_SHAPE, pk, "stride_h");
    assert_ptr_equal(p, sentinel);   /* untouched on failure */
    assert_int_equal(nb_sconv2d_pack_weights(&d, w, NB_CONV_PACK_FORWARD, &p), NB_OK);
    const char *fw = "nb_sconv2d_forward_packed", *bw = "nb_sconv2d_backward_data_packed";
    nbt_expect_error(nb_sconv2d_forward_packed(&d, x, NULL, NULL, y), NB_ERR_ARG, fw, "packed");
    nbt_expect_error(nb_sconv2d_forward_packed(NULL, x, p, NULL, y), NB_ERR_ARG, fw, "desc");
    nbt_expect_error(nb_sconv2d_forward_packed(&d, NULL, p, NULL, y), NB_ERR_ARG, fw, "x");
    nbt_expect_error(nb_sconv2d_forward_packed(&d, x, p, NULL, x), NB_ERR_ALIAS, fw, "overlaps");
    static const char *const fields[] = {"c", "h", "w", "k", "pad_h", "pad_w", "groups"};
    for (int i = 0; i < 7; i++) {
        bad = d;
        int64_t *f[] = {&bad.c, &bad.h, &bad.w, &bad.k, &bad.pad_h, &bad.pad_w, &bad.groups};
        *f[i] = i == 6 ? 2 : *f[i] + 2;   /* still a valid desc */
        nbt_expect_error(nb_sconv2d_forward_packed(&bad, x, p, NULL, y), NB_ERR_SHAPE, fw, fields[i]);
    }
    nbt_expect_error(nb_sconv2d_backward_data_packed(&d, y, p, x), NB_ERR_ARG, bw,
                     "NB_CONV_PACK_BACKWARD_DATA");
    bad = d;
    bad.n = 3;   /* any batch: the weights do not depend on it */
    float *x3 = filled(oc_numel_x(&bad), -1, 1), *y3 = filled(oc_numel_y(&bad), 0, 0);
    assert_int_equal(nb_sconv2d_forward_packed(&bad, x3, p, NULL, y3), NB_OK);
    bad.n = 0;
    assert_int_equal(nb_sconv2d_forward_packed(&bad, NULL, p, NULL, NULL), NB_OK);
    nb_conv2d_packed_free(p);
    nb_conv2d_packed_free(NULL);
    assert_int_equal(nb_conv2d_packed_floats(NULL), 0);
    free(x); free(w); free(y); free(x3); free(y3);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_bits_as_the_unpacked_calls),
        cmocka_unit_test(nan_and_inf_as_unpacked),
        cmocka_unit_test(algorithm_changed_after_packing),
        cmocka_unit_test(errors_name_the_function_and_argument),
    };
    shrink_for_emulation();
    return nbt_run(tests);
}
