/* nb_ssoftmax (softmax and log_softmax by rows): every backend table this
 * CPU runs against a double-precision oracle within the derived bound; SIMD
 * against ref; PyTorch's special-value rules; tails, misalignment, leading
 * dimensions, in place; the public entry point and thread invariance.
 *
 * The oracle and its derived bound: softmax_oracle.h.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "kernels_table.h"
#include "softmax_oracle.h"

static int in_qemu(void) { return getenv("NABLA_QEMU") != NULL; }

static int tables(const struct nb_kernels *out[NB_ISA_COUNT]) {
    int k = 0;
    for (int isa = NB_ISA_REF; isa < NB_ISA_COUNT; isa++)
        if (nb_kernels_for((nb_isa)isa)) out[k++] = nb_kernels_for((nb_isa)isa);
    return k;
}

/* ---- tests ---- */

static void the_oracle_check_rejects_wrong_results(void **state) {
    (void)state;
    const float x[3] = {1.0f, 2.0f, 3.0f};
    double ex[3], tol[3];
    so_oracle_row(0, 3, x, ex, tol);
    for (int j = 0; j < 3; j++) assert_true(tol[j] < 1e-6 * ex[j]);
    so_oracle_row(1, 3, x, ex, tol);
    for (int j = 0; j < 3; j++) assert_true(tol[j] < 1e-6 * fabs(ex[j]));
    const float row[2] = {1.0f, INFINITY};
    so_oracle_row(0, 2, row, ex, tol);
    assert_true(isnan(ex[0]) && isnan(ex[1]));
}

static void every_backend_meets_the_bound_on_random_rows(void **state) {
    (void)state;
    const struct nb_kernels *t[NB_ISA_COUNT];
    const int nt = tables(t);
    static const int64_t colss[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 97, 1009};
    static const float ranges[] = {1.0f, 10.0f, 100.0f};
    for (size_t c = 0; c < sizeof colss / sizeof colss[0]; c++)
        for (int log = 0; log < 2; log++) {
            const int64_t cols = colss[c], rows = nbt_range(1, 5);
            const int64_t ldx = cols + nbt_range(0, 1) * nbt_range(1, 9);
            const int64_t ldy = cols + nbt_range(0, 1) * nbt_range(1, 9);
            const float r = ranges[nbt_range(0, 2)];
            float *x = malloc((size_t)(rows * ldx) * sizeof(float));
            float *y = malloc((size_t)(rows * ldy) * sizeof(float));
            float *y0 = malloc((size_t)(rows * ldy) * sizeof(float));
            assert_non_null(x); assert_non_null(y); assert_non_null(y0);
            nbt_fill_uniform(x, rows * ldx, -r, r);
            nbt_fill_uniform(y0, rows * ldy, -5, 5);
            for (int k = 0; k < nt; k++) {
                memcpy(y, y0, (size_t)(rows * ldy) * sizeof(float));
                assert_int_equal(t[k]->ssoftmax(log, rows, cols, x, ldx, y, ldy), NB_OK);
                so_check(nb_isa_name(t[k]->isa), log, rows, cols, x, ldx, y, ldy);
                /* the padding columns of y are never written */
                for (int64_t i = 0; i < rows; i++)
                    for (int64_t j = cols; j < ldy; j++)
                        assert_true(y[i * ldy + j] == y0[i * ldy + j]);
            }
            free(x); free(y); free(y0);
        }
}

/* PyTorch's rules, row by row: NaN anywhere -> all NaN; +inf -> all NaN;
   all -inf -> all NaN; -inf among finite values -> 0 / -inf there; huge
   finite values do not overflow; one column -> 1 / 0; equal values ->
   exactly uniform. */
static void special_rows_follow_pytorch(void **state) {
    (void)state;
    const struct nb_kernels *t[NB_ISA_COUNT];
    const int nt = tables(t);
    enum { C = 11, R = 8 };
    float x[R][C], y[R][C];
    for (int j = 0; j < C; j++) {
        x[0][j] = (float)j;                   x[0][5] = NAN;
        x[1][j] = (float)j;                   x[1][9] = INFINITY;
        x[2][j] = -INFINITY;
        x[3][j] = j % 3 ? -INFINITY : 2.0f;
        x[4][j] = j % 2 ? FLT_MAX : -FLT_MAX;
        x[5][j] = 1e30f * (float)(j - 5);
        x[6][j] = 0.25f;
        x[7][j] = (float)j * 30.0f - 200.0f;
    }
    for (int k = 0; k < nt; k++)
        for (int log = 0; log < 2; log++) {
            assert_int_equal(t[k]->ssoftmax(log, R, C, &x[0][0], C, &y[0][0], C), NB_OK);
            so_check(nb_isa_name(t[k]->isa), log, R, C, &x[0][0], C, &y[0][0], C);
            for (int j = 0; j < C; j++) {
                assert_true(isnan(y[0][j]) && isnan(y[1][j]) && isnan(y[2][j]));
                if (j % 3) assert_true(log ? y[3][j] == -INFINITY : y[3][j] == 0.0f);
                else       assert_true(log ? fabsf(y[3][j] - logf(0.25f)) < 1e-6f
                                           : y[3][j] == 0.25f);
                assert_true(isfinite(y[4][j]) || (log && j % 2 == 0 && y[4][j] == -INFINITY));
                assert_true(log ? fabsf(y[6][j] + logf((float)C)) < 1e-6f
                                : y[6][j] == (float)(1.0 / C));
            }
            const float one = 5.0f;
            float out = -1.0f;
            assert_int_equal(t[k]->ssoftmax(log, 1, 1, &one, 1, &out, 1), NB_OK);
            assert_true(out == (log ? 0.0f : 1.0f));
        }
}

static void simd_matches_reference_within_the_sum_of_bounds(void **state) {
    (void)state;
    const struct nb_kernels *t[NB_ISA_COUNT];
    const int nt = tables(t);
    const struct nb_kernels *ref = nb_kernels_for(NB_ISA_REF);
    enum { R = 7, C = 523 };
    static float x[R * C], yr[R * C], ys[R * C];
    static double ex[C], tol[C];
    nbt_fill_uniform(x, R * C, -30, 30);
    for (int k = 0; k < nt; k++) {
        if (t[k]->isa == NB_ISA_REF) continue;
        for (int log = 0; log < 2; log++) {
            assert_int_equal(ref->ssoftmax(log, R, C, x, C, yr, C), NB_OK);
            assert_int_equal(t[k]->ssoftmax(log, R, C, x, C, ys, C), NB_OK);
            for (int i = 0; i < R; i++) {
                so_oracle_row(log, C, x + i * C, ex, tol);
                for (int j = 0; j < C; j++)
                    if (!(fabs((double)ys[i * C + j] - yr[i * C + j]) <= 2 * tol[j]))
                        fail_msg("%s vs ref, log=%d [%d,%d]: %a vs %a", nb_isa_name(t[k]->isa),
                                 log, i, j, ys[i * C + j], yr[i * C + j]);
            }
        }
    }
}

static void tails_and_misalignment_never_touch_memory_outside(void **state) {
    (void)state;
    const struct nb_kernels *t[NB_ISA_COUNT];
    const int nt = tables(t);
    static const int64_t colss[] = {1, 2, 5, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 33};
    for (size_t c = 0; c < sizeof colss / sizeof colss[0]; c++)
        for (int off = 0; off < 8; off++)
            for (int before = 0; before < 2; before++) {
                const int64_t cols = colss[c], rows = 3, n = rows * cols;
                const size_t bytes = (size_t)(n + off) * sizeof(float);
                float *xb = nbt_alloc_guarded(bytes, before), *yb = nbt_alloc_guarded(bytes, before);
                assert_non_null(xb); assert_non_null(yb);
                float *x = xb + off, *y = yb + off;
                nbt_fill_uniform(x, n, -20, 20);
                for (int k = 0; k < nt; k++)
                    for (int log = 0; log < 2; log++) {
                        for (int i = 0; i < off; i++) yb[i] = -7.0f;
                        assert_int_equal(t[k]->ssoftmax(log, rows, cols, x, cols, y, cols), NB_OK);
                        so_check(nb_isa_name(t[k]->isa), log, rows, cols, x, cols, y, cols);
                        for (int i = 0; i < off; i++) assert_true(yb[i] == -7.0f);
                    }
                nbt_free_guarded(xb); nbt_free_guarded(yb);
            }
}

static void in_place_gives_the_same_bits_as_out_of_place(void **state) {
    (void)state;
    const struct nb_kernels *t[NB_ISA_COUNT];
    const int nt = tables(t);
    enum { R = 5, C = 37, LD = 40 };
    float x[R * LD], y[R * LD], z[R * LD];
    for (int k = 0; k < nt; k++)
        for (int log = 0; log < 2; log++) {
            nbt_fill_uniform(x, R * LD, -10, 10);
            memcpy(z, x, sizeof x);
            assert_int_equal(t[k]->ssoftmax(log, R, C, x, LD, y, LD), NB_OK);
            assert_int_equal(t[k]->ssoftmax(log, R, C, z, LD, z, LD), NB_OK);
            for (int i = 0; i < R; i++)
                for (int j = 0; j < C; j++) assert_true(nbt_same_value(y[i * LD + j], z[i * LD + j]));
        }
}

/* One very long row (sums in double keep the bound small), then many rows
   through the public entry point on 1 and 2 threads: same bits. */
static void public_entry_point_long_row_and_thread_count_invariance(void **state) {
    (void)state;
    const int64_t n = in_qemu() ? 100003 : 1000003;
    float *x = nbt_alloc_guarded((size_t)n * sizeof(float), 0);
    float *y1 = nbt_alloc_guarded((size_t)n * sizeof(float), 0);
    float *y2 = nbt_alloc_guarded((size_t)n * sizeof(float), 1);
    assert_non_null(x); assert_non_null(y1); assert_non_null(y2);
    nbt_fill_uniform(x, n, -8, 8);
    const int saved = nb_get_num_threads();
    for (int log = 0; log < 2; log++) {
        assert_int_equal(nb_ssoftmax(log, 1, n, x, n, y1, n), NB_OK);
        so_check(nb_isa_name(nb_isa_active()), log, 1, n, x, n, y1, n);
        const int64_t rows = 997, cols = n / rows;
        nb_set_num_threads(1);
        assert_int_equal(nb_ssoftmax(log, rows, cols, x, cols, y1, cols), NB_OK);
        nb_set_num_threads(2);
        assert_int_equal(nb_ssoftmax(log, rows, cols, x, cols, y2, cols), NB_OK);
        assert_memory_equal(y1, y2, (size_t)(rows * cols) * sizeof(float));
        so_check(nb_isa_name(nb_isa_active()), log, rows, cols, x, cols, y1, cols);
    }
    nb_set_num_threads(saved);
    nbt_free_guarded(x); nbt_free_guarded(y1); nbt_free_guarded(y2);
}

static void zero_columns_write_nothing(void **state) {
    (void)state;
    float y[4] = {1, 2, 3, 4};
    const float x[4] = {0};
    assert_int_equal(nb_ssoftmax(0, 4, 0, x, 1, y, 1), NB_OK);
    assert_true(y[0] == 1 && y[1] == 2 && y[2] == 3 && y[3] == 4);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_oracle_check_rejects_wrong_results),
        cmocka_unit_test(every_backend_meets_the_bound_on_random_rows),
        cmocka_unit_test(special_rows_follow_pytorch),
        cmocka_unit_test(simd_matches_reference_within_the_sum_of_bounds),
        cmocka_unit_test(tails_and_misalignment_never_touch_memory_outside),
        cmocka_unit_test(in_place_gives_the_same_bits_as_out_of_place),
        cmocka_unit_test(public_entry_point_long_row_and_thread_count_invariance),
        cmocka_unit_test(zero_columns_write_nothing),
    };
    return nbt_run(tests);
}
