/* Double-precision oracle of the softmax suites (header-only, static):
 * exact values and the derived error bound per element, PyTorch's rules for
 * special rows. Written from the definition, not from the kernels.
 *
 * Bound (u = 2^-24; m = row max; d_j = x_j - m <= 0 exact; p_j the exact
 * softmax; b_e = the largest exp bound of any backend: 1.7 ULP, nabla's own
 * x86 exp (kernels/avx2/vmath-avx2.h; glibc's expf and SLEEF u10: 1 ULP)):
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
#ifndef NB_TEST_SOFTMAX_ORACLE_H
#define NB_TEST_SOFTMAX_ORACLE_H

#include <math.h>
#include <stdlib.h>

#include "harness.h"

#define SO_U 0x1p-24
#define SO_BE 1.7

/* Oracle for one row: exact[j] and the allowed |y_j - exact[j]|. A row with
   NaN, +inf, or all -inf: every exact[j] is NaN (PyTorch's result). */
static inline void so_oracle_row(int take_log, int64_t n, const float *x, double *exact, double *tol) {
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
        if (d != -INFINITY) sigma += exp(d) / s * (SO_U * fabs(d) + 2 * SO_BE * SO_U);
    }
    sigma += (double)n * 0x1p-52;
    const double L = log(s);
    for (int64_t j = 0; j < n; j++) {
        const double d = (double)x[j] - m;
        const double r = d == -INFINITY ? 0 : SO_U * fabs(d) + 2 * SO_BE * SO_U;
        if (take_log) {
            exact[j] = d - L;
            tol[j] = isinf(d) ? 0
                              : SO_U * fabs(exact[j]) + sigma +
                                    0x1p-51 * (fabs(m) + fabs(L) + fabs(exact[j]));
        } else {
            exact[j] = exp(d) / s;
            tol[j] = (r + sigma + SO_U) * exact[j] + (SO_BE + 1) * 0x1p-149;
        }
        tol[j] *= 1 + 0x1p-20;
    }
}

/* Checks rows x cols of y (leading dimension ldy) against the oracle. */
static inline void so_check(const char *who, int log, int64_t rows, int64_t cols, const float *x,
                            int64_t ldx, const float *y, int64_t ldy) {
    double *ex = malloc((size_t)(cols ? cols : 1) * sizeof(double));
    double *tol = malloc((size_t)(cols ? cols : 1) * sizeof(double));
    assert_non_null(ex); assert_non_null(tol);
    for (int64_t i = 0; i < rows; i++) {
        so_oracle_row(log, cols, x + i * ldx, ex, tol);
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

#endif
