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

/* One row (a whole small tensor's sum): the same pairwise order inside
   each 16-column tile, on the lanes of one vector instead of a transposed
   tile (the 16x16 transpose was most of a 4-element sum's 100 ns). Each
   step combines lanes 2i and 2i+1 into lane i for i < m/2; lane m/2 of an
   odd m takes lane m-1 unchanged (a masked combine: adding 0 would turn
   -0 into +0). */
static inline float rrow_one(const int op, int64_t n, const float *x) {
    const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 14, 14, 14, 14, 14, 14, 14, 14);
    const __m512i od = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 15, 15, 15, 15, 15, 15, 15, 15);
    __m512 acc = _mm512_setzero_ps();
    for (int64_t c0 = 0; c0 < n; c0 += 16) {
        const int64_t k = n - c0 < 16 ? n - c0 : 16;
        __m512 v = _mm512_maskz_loadu_ps(nb_avx512_mask(k), x + c0);
        for (int64_t m = k; m > 1; m = (m + 1) / 2) {
            const __m512 e = _mm512_permutexvar_ps(ev, v), o = _mm512_permutexvar_ps(od, v);
            v = _mm512_mask_mov_ps(e, nb_avx512_mask(m / 2), combine(op, e, o));
        }
        acc = c0 == 0 ? v : combine(op, acc, v);
    }
    return _mm512_cvtss_f32(acc);
}

static inline void rrows(const int op, int64_t rows, int64_t n, const float *x, int64_t ldx, float *out) {
    if (rows == 1) {
        out[0] = rrow_one(op, n, x);
        return;
    }
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
