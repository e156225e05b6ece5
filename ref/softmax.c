/* Reference row-wise softmax and log_softmax.
 *
 * For each row: m = max_j x[j] (NaN ignored here, see below);
 *   softmax:     e_j = expf(fl(x_j - m)), S = sum_j e_j in double,
 *                y_j = fl(e_j / S) (the division in double, one rounding);
 *   log_softmax: S as above, c = m + log(S) in double,
 *                y_j = fl(x_j - c) (the subtraction in double, one rounding).
 * The SIMD kernels follow the same steps (with SLEEF's expf), so they differ
 * from this only by exp's error.
 *
 * Special values come out as PyTorch's, from the arithmetic itself: a NaN
 * anywhere in a row makes S NaN, hence the whole row NaN; a row with +inf
 * has m = +inf and inf - inf = NaN, so the row is NaN; a row of all -inf has
 * -inf - (-inf) = NaN, so the row is NaN; -inf next to finite values gives
 * softmax 0 and log_softmax -inf. (Which element is the max when a NaN is
 * present therefore does not matter.)
 * In place (y == x, ldy == ldx) is allowed: softmax reads row i fully in the
 * max pass before it writes it; log_softmax reads x_j just before writing y_j.
 */
#include <math.h>

#include "ref.h"

static float row_max(int64_t n, const float *x) {
    float m = x[0];
    for (int64_t j = 1; j < n; j++)
        if (x[j] > m) m = x[j];
    return m;
}

static void softmax_row(int64_t n, const float *x, float *y) {
    const float m = row_max(n, x);
    double s = 0.0;
    for (int64_t j = 0; j < n; j++) {
        const float e = expf(x[j] - m);
        y[j] = e;
        s += e;
    }
    for (int64_t j = 0; j < n; j++) y[j] = (float)((double)y[j] / s);
}

static void log_softmax_row(int64_t n, const float *x, float *y) {
    const float m = row_max(n, x);
    double s = 0.0;
    for (int64_t j = 0; j < n; j++) s += expf(x[j] - m);
    const double c = (double)m + log(s);
    for (int64_t j = 0; j < n; j++) y[j] = (float)((double)x[j] - c);
}

nb_status nb_ref_ssoftmax(int log, int64_t rows, int64_t cols,
                          const float *x, int64_t ldx, float *y, int64_t ldy) {
    if (cols == 0) return NB_OK;
    for (int64_t i = 0; i < rows; i++) {
        if (log) log_softmax_row(cols, x + i * ldx, y + i * ldy);
        else     softmax_row(cols, x + i * ldx, y + i * ldy);
    }
    return NB_OK;
}
