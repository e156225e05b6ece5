/* Short-row reduction micro-kernel: out[r] = op over x[r * ldx + c],
 * 0 <= c < n, for 0 <= r < rows; op 0 = sum, 1 = max, 2 = min; n >= 1.
 *
 * For many short rows (n <= 64: a sum over a small last dim) a kernel call
 * and a 32-lane tree per row cost more than the row itself. Here 8 rows are
 * reduced at once: an 8x8 tile (8 rows x 8 columns) is loaded and
 * transposed in registers, so each vector holds one column of the 8 rows,
 * and the columns are combined vertically. ISA: AVX2. Tails: masked loads
 * (columns >= n and rows >= rows are never read), masked store of out.
 * Order (fixed by n): within a tile the k valid column vectors are combined
 * pairwise (v0+v1, v2+v3, ... then again), tiles are added left to right.
 * Accuracy: a row takes at most 3 + (ceil(n/8) - 1) <= 10 roundings for
 * n <= 64, inside the driver's bound (src/reduce_driver.c). max/min: exact,
 * with the NaN and signed-zero rules of reduce-avx2.h.
 */
#include <assert.h>

#include "reduce-avx2.h"

static inline __m256 combine(int op, __m256 a, __m256 b) {
    return op == 0 ? _mm256_add_ps(a, b) : op == 1 ? nb_avx2_max_nan(a, b) : nb_avx2_min_nan(a, b);
}

static inline void rrows(int op, int64_t rows, int64_t n, const float *x, int64_t ldx, float *out) {
    for (int64_t r0 = 0; r0 < rows; r0 += 8) {
        const int64_t nr = rows - r0 < 8 ? rows - r0 : 8;
        __m256 acc = _mm256_setzero_ps();
        for (int64_t c0 = 0; c0 < n; c0 += 8) {
            const int64_t k = n - c0 < 8 ? n - c0 : 8;
            const __m256i mk = nb_avx2_lane_mask(k);
            __m256 v[8];
            for (int i = 0; i < 8; i++) {
                const float *p = x + (r0 + i) * ldx + c0;
                v[i] = i >= nr ? _mm256_setzero_ps() : k == 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mk);
            }
            nb_avx2_transpose8x8(v);
            /* v[c]: column c0 + c of the 8 rows; combine v[0..k) pairwise. */
            int64_t m = k;
            while (m > 1) {
                for (int64_t i = 0; i < m / 2; i++) v[i] = combine(op, v[2 * i], v[2 * i + 1]);
                if (m & 1) v[m / 2] = v[m - 1];
                m = (m + 1) / 2;
            }
            acc = c0 == 0 ? v[0] : combine(op, acc, v[0]);
        }
        if (nr == 8) _mm256_storeu_ps(out + r0, acc);
        else nb_avx2_maskstore_first(out + r0, nb_avx2_lane_mask(nr), acc);
    }
}

void nb_f32_rrows_ukernel__avx2_8x8(int op, int64_t rows, int64_t n, const float *x, int64_t ldx,
                                   float *out) {
    assert(n >= 1 && rows >= 0 && op >= 0 && op <= 2);
    /* Constant op per instantiation, so combine() folds to one sequence. */
    if (op == 0) rrows(0, rows, n, x, ldx, out);
    else if (op == 1) rrows(1, rows, n, x, ldx, out);
    else rrows(2, rows, n, x, ldx, out);
}
