/* nb_ssoftmax (softmax and log_softmax by rows): every backend table this
 * CPU runs against a double-precision oracle within the derived bound; SIMD
 * against ref; PyTorch's special-value rules; tails, misalignment, leading
 * dimensions, in place; the public entry point and thread invariance.
 *
 * Bound (u = 2^-24; m = row max; d_j = x_j - m <= 0 exact; p_j the exact
 * softmax; b_e = 1 ULP for both expf (glibc measured 0.502) and SLEEF u10):
 *   e_j = exp(fl(x_j - m)): the subtraction's rounding (<= u|d_j|) moves exp
 *     by a factor exp(u|d_j|), and exp adds b_e ulp (<= 2 b_e u), so
 *     r_j = u|d_j| + 2 b_e u is e_j's relative error (0 when d_j = -inf);
 *   S = sum e_j (in double): relative error sigma <= sum_j p_j r_j + n 2^-52;
 *   softmax: y_i = fl(e_i / S): |y_i - p_i| <= (r_i + sigma + u) p_i, plus
 *     (b_e + 1) 2^-149 absolute when e_i or y_i is subnormal;
 *   log_softmax: y_i = fl(x_i - (m + log S)), the subtraction in double:
 *     |y_i - (d_i - log S_exact)| <= u|y_i| + sigma + 2^-51 (|m| + |log S| + |y_i|).
 * Each bound gets a factor 1 + 2^-20 for the O(u^2) terms. The u|d_j| term
 * is inherent to float inputs (PyTorch's kernels have it too): a row spread
 * over [-100, 0] allows ~100u on its smallest entries.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "kernels_table.h"

#define U 0x1p-24
#define BE 1.0

static int in_qemu(void) { return getenv("NABLA_QEMU") != NULL; }

static int tables(const struct nb_kernels *out[3]) {
    int k = 0;
    for (int isa = NB_ISA_REF; isa <= NB_ISA_NEON; isa++)
        if (nb_kernels_for((nb_isa)isa)) out[k++] = nb_kernels_for((nb_isa)isa);
    return k;
}

/* Oracle for one row: exact[j] and the allowed |y_j - exact[j]|. A row with
   NaN, +inf, or all -inf: every exact[j] is NaN (PyTorch's result). */
static void oracle_row(int take_log, int64_t n, const float *x, double *exact, double *tol) {
    double m = -INFINITY;
    int nan_row = 0;
    for (int64_t j = 0; j < n; j++) {
        if (isnan(x[j]) || x[j] == INFINITY) nan_row = 1;
        if (x[j] > m) m = x[j];
    }
    if (m == -INFINITY) nan_row = 1;
    if (nan_row) {
        for (int64_t j = 0; j < n; j++) exact[j] = NAN, tol[j] = 0;
        return;
    }
    double s = 0, sigma = 0;
    for (int64_t j = 0; j < n; j++) s += exp((double)x[j] - m);
    for (int64_t j = 0; j < n; j++) {
        const double d = (double)x[j] - m;
        if (d != -INFINITY) sigma += exp(d) / s * (U * fabs(d) + 2 * BE * U);
    }
    sigma += (double)n * 0x1p-52;
    const double L = log(s);
    for (int64_t j = 0; j < n; j++) {
        const double d = (double)x[j] - m;
        const double r = d == -INFINITY ? 0 : U * fabs(d) + 2 * BE * U;
        if (take_log) {
            exact[j] = d - L;
            tol[j] = isinf(d) ? 0
                              : U * fabs(exact[j]) + sigma +
                                    0x1p-51 * (fabs(m) + fabs(L) + fabs(exact[j]));
        } else {
            exact[j] = exp(d) / s;
            tol[j] = (r + sigma + U) * exact[j] + (BE + 1) * 0x1p-149;
        }
        tol[j] *= 1 + 0x1p-20;
    }
}

/* Checks rows x cols of y (leading dimension ldy) against the oracle. */
static void check(const char *who, int log, int64_t rows, int64_t cols, const float *x,
                  int64_t ldx, const float *y, int64_t ldy) {
    double *ex = malloc((size_t)(cols ? cols : 1) * sizeof(double));
    double *tol = malloc((size_t)(cols ? cols : 1) * sizeof(double));
    assert_non_null(ex); assert_non_null(tol);
    for (int64_t i = 0; i < rows; i++) {
        oracle_row(log, cols, x + i * ldx, ex, tol);
        for (int64_t j = 0; j < cols; j++) {
            const float got = y[i * ldy + j];
            /* +-inf stands for +-2^128 (the float after FLT_MAX), and exact
               values beyond it are clamped there: a log_softmax of -FLT_MAX
               next to FLT_MAX is below -FLT_MAX and correctly -inf. */
            const double lim = 0x1p128;
            const double g = isinf(got) ? copysign(lim, got) : got;
            const double e = fmax(-lim, fmin(lim, ex[j]));
            const int ok = isnan(ex[j]) ? isnan(got)
                           : isinf(ex[j]) ? got == ex[j]
                                          : !isnan(got) && fabs(g - e) <= tol[j];
            if (!ok)
                fail_msg("%s %s: row %lld col %lld of %lld x %lld: x = %a, got %.9g, exact "
                         "%.17g, bound %.3g", who, log ? "log_softmax" : "softmax",
                         (long long)i, (long long)j, (long long)rows, (long long)cols,
                         x[i * ldx + j], got, ex[j], tol[j]);
        }
    }
    free(ex); free(tol);
}

/* ---- tests ---- */

static void the_oracle_check_rejects_wrong_results(void **state) {
    (void)state;
    const float x[3] = {1.0f, 2.0f, 3.0f};
    double ex[3], tol[3];
    oracle_row(0, 3, x, ex, tol);
    for (int j = 0; j < 3; j++) assert_true(tol[j] < 1e-6 * ex[j]);
    oracle_row(1, 3, x, ex, tol);
    for (int j = 0; j < 3; j++) assert_true(tol[j] < 1e-6 * fabs(ex[j]));
    const float row[2] = {1.0f, INFINITY};
    oracle_row(0, 2, row, ex, tol);
    assert_true(isnan(ex[0]) && isnan(ex[1]));
}

static void every_backend_meets_the_bound_on_random_rows(void **state) {
    (void)state;
    const struct nb_kernels *t[3];
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
                check(nb_isa_name(t[k]->isa), log, rows, cols, x, ldx, y, ldy);
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
    const struct nb_kernels *t[3];
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
            check(nb_isa_name(t[k]->isa), log, R, C, &x[0][0], C, &y[0][0], C);
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
    const struct nb_kernels *t[3];
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
                oracle_row(log, C, x + i * C, ex, tol);
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
    const struct nb_kernels *t[3];
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
                        check(nb_isa_name(t[k]->isa), log, rows, cols, x, cols, y, cols);
                        for (int i = 0; i < off; i++) assert_true(yb[i] == -7.0f);
                    }
                nbt_free_guarded(xb); nbt_free_guarded(yb);
            }
}

static void in_place_gives_the_same_bits_as_out_of_place(void **state) {
    (void)state;
    const struct nb_kernels *t[3];
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
        check(nb_isa_name(nb_isa_active()), log, 1, n, x, n, y1, n);
        const int64_t rows = 997, cols = n / rows;
        nb_set_num_threads(1);
        assert_int_equal(nb_ssoftmax(log, rows, cols, x, cols, y1, cols), NB_OK);
        nb_set_num_threads(2);
        assert_int_equal(nb_ssoftmax(log, rows, cols, x, cols, y2, cols), NB_OK);
        assert_memory_equal(y1, y2, (size_t)(rows * cols) * sizeof(float));
        check(nb_isa_name(nb_isa_active()), log, rows, cols, x, cols, y1, cols);
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
