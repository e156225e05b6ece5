/* Short-row reduction micro-kernel: out[r] = op over x[r * ldx + c],
 * 0 <= c < n, for 0 <= r < rows; op 0 = sum, 1 = max, 2 = min; n >= 1
 * (n <= NB_RROWS_MAX_N = 64: a reduction over a small last dimension).
 *
 * 16 rows at once: a 16x16 tile (16 rows x 16 columns) is loaded and
 * transposed in registers (nb_avx512_tile16x16), so each vector holds one
 * column of the 16 rows, and the columns are combined vertically. ISA:
 * AVX-512F/DQ/VL. Tails: masked loads (columns >= n and rows >= rows are
 * never read), masked store of out. Order (fixed by n): within a tile the
 * k valid column vectors are combined pairwise (v0+v1, v2+v3, ... then
 * again), tiles are added left to right. Accuracy: a row takes at most
 * 4 + (ceil(n/16) - 1) <= 7 roundings for n <= 64, inside the driver's 16.
 * max/min: exact, with the NaN and signed-zero rules of reduce-avx512.h.
 */
#include <assert.h>

#include "reduce-avx512.h"

static inline __m512 combine(int op, __m512 a, __m512 b) {
    return op == 0 ? _mm512_add_ps(a, b) : op == 1 ? nb_avx512_max_nan(a, b) : nb_avx512_min_nan(a, b);
}

static inline void rrows(const int op, int64_t rows, int64_t n, const float *x, int64_t ldx, float *out) {
    for (int64_t r0 = 0; r0 < rows; r0 += 16) {
        const int64_t nr = rows - r0 < 16 ? rows - r0 : 16;
        __m512 acc = _mm512_setzero_ps();
        for (int64_t c0 = 0; c0 < n; c0 += 16) {
            const int64_t k = n - c0 < 16 ? n - c0 : 16;
            __m512 v[16];
            nb_avx512_tile16x16(x + r0 * ldx + c0, ldx, nr, k, v);
            /* v[c]: column c0 + c of the 16 rows; combine v[0..k) pairwise. */
            int64_t m = k;
            while (m > 1) {
                for (int64_t i = 0; i < m / 2; i++) v[i] = combine(op, v[2 * i], v[2 * i + 1]);
                if (m & 1) v[m / 2] = v[m - 1];
                m = (m + 1) / 2;
            }
            acc = c0 == 0 ? v[0] : combine(op, acc, v[0]);
        }
        _mm512_mask_storeu_ps(out + r0, nb_avx512_mask(nr), acc);
    }
}

void nb_f32_rrows_ukernel__avx512_16x16(int op, int64_t rows, int64_t n, const float *x, int64_t ldx,
                                        float *out) {
    assert(n >= 1 && rows >= 0 && op >= 0 && op <= 2);
    /* Constant op per instantiation, so combine() folds to one sequence. */
    if (op == 0) rrows(0, rows, n, x, ldx, out);
    else if (op == 1) rrows(1, rows, n, x, ldx, out);
    else rrows(2, rows, n, x, ldx, out);
}
