/* Short-row reduction micro-kernel: out[r] = op over x[r * ldx + c],
 * 0 <= c < n, for 0 <= r < rows; op 0 = sum, 1 = max, 2 = min; n >= 1.
 *
 * For many short rows (n <= 64: a sum over a small last dim) a kernel call
 * and a 32-lane tree per row cost more than the row itself. Here 4 rows (one
 * NEON vector of outputs) are reduced at once: a 4x8 tile (4 rows x 8
 * columns) is loaded and turned by two in-register 4x4 transposes into 8
 * vectors, each holding one column of the 4 rows, which are combined
 * vertically. ISA: AArch64 NEON. Tails: columns >= n and rows >= rows are
 * never read (lane loads, zero vectors), the last 1..3 outputs are stored
 * lane by lane.
 * Order (fixed by n, the same as the AVX2 8x8 kernel's, so the same bits):
 * within an 8-column tile the k valid column vectors are combined pairwise
 * (v0+v1, v2+v3, ... then again), tiles are added left to right.
 * Accuracy: a row takes at most 3 + (ceil(n/8) - 1) <= 10 roundings for
 * n <= 64, inside the driver's bound (src/reduce_driver.c). max/min: exact,
 * with the NaN and signed-zero rules of FMAX/FMIN (reduce-neon.h).
 */
#include <assert.h>

#include "reduce-neon.h"

static inline float32x4_t combine(int op, float32x4_t a, float32x4_t b) {
    return op == 0 ? vaddq_f32(a, b) : op == 1 ? vmaxq_f32(a, b) : vminq_f32(a, b);
}

/* Columns [0, k) of one row (k in 1..8) into lo (0..3) and hi (4..7);
   lanes past k are +0 and never combined. */
static inline void load_row8(const float *p, int64_t k, float32x4_t *lo, float32x4_t *hi) {
    const float32x4_t z = vdupq_n_f32(0.0f);
    if (k == 8) {
        *lo = vld1q_f32(p);
        *hi = vld1q_f32(p + 4);
    } else if (k >= 4) {
        *lo = vld1q_f32(p);
        *hi = k > 4 ? nb_neon_load_partial(p + 4, k - 4, z) : z;
    } else {
        *lo = nb_neon_load_partial(p, k, z);
        *hi = z;
    }
}

/* Loads the 4 x k tile at p (rows ldx apart; rows >= nr are zero) and
   transposes it into columns v[0..8). */
static inline void load_tile(const float *p, int64_t ldx, int64_t nr, int64_t k, float32x4_t v[8]) {
    for (int i = 0; i < 4; i++) {
        if (i < nr) load_row8(p + i * ldx, k, &v[i], &v[4 + i]);
        else v[i] = v[4 + i] = vdupq_n_f32(0.0f);
    }
    nb_neon_transpose4x4(v);
    nb_neon_transpose4x4(v + 4);
}

/* A partial tile (k < 8 columns): the pairwise loop over a runtime count,
   in its own function so that the full tiles' columns stay in registers
   (a runtime-indexed array lives on the stack). */
static float32x4_t tail_tile(int op, const float *p, int64_t ldx, int64_t nr, int64_t k) {
    float32x4_t v[8];
    load_tile(p, ldx, nr, k, v);
    int64_t m = k;
    while (m > 1) {
        for (int64_t i = 0; i < m / 2; i++) v[i] = combine(op, v[2 * i], v[2 * i + 1]);
        if (m & 1) v[m / 2] = v[m - 1];
        m = (m + 1) / 2;
    }
    return v[0];
}

static inline void rrows(int op, int64_t rows, int64_t n, const float *x, int64_t ldx, float *out) {
    for (int64_t r0 = 0; r0 < rows; r0 += 4) {
        const int64_t nr = rows - r0 < 4 ? rows - r0 : 4;
        const float *p = x + r0 * ldx;
        float32x4_t acc = vdupq_n_f32(0.0f);
        int64_t c0 = 0;
        for (; c0 + 8 <= n; c0 += 8) {
            float32x4_t v[8];   /* v[c]: column c0 + c of the 4 rows */
            load_tile(p + c0, ldx, nr, 8, v);
            /* The pairwise order of the loop in tail_tile for k = 8. */
            const float32x4_t t = combine(op, combine(op, combine(op, v[0], v[1]), combine(op, v[2], v[3])),
                                          combine(op, combine(op, v[4], v[5]), combine(op, v[6], v[7])));
            acc = c0 == 0 ? t : combine(op, acc, t);
        }
        if (c0 < n) {
            const float32x4_t t = tail_tile(op, p + c0, ldx, nr, n - c0);
            acc = c0 == 0 ? t : combine(op, acc, t);
        }
        if (nr == 4) vst1q_f32(out + r0, acc);
        else nb_neon_store_partial(out + r0, nr, acc);
    }
}

void nb_f32_rrows_ukernel__neon_4x8(int op, int64_t rows, int64_t n, const float *x, int64_t ldx,
                                   float *out) {
    assert(n >= 1 && rows >= 0 && op >= 0 && op <= 2);
    /* Constant op per instantiation, so combine() folds to one instruction. */
    if (op == 0) rrows(0, rows, n, x, ldx, out);
    else if (op == 1) rrows(1, rows, n, x, ldx, out);
    else rrows(2, rows, n, x, ldx, out);
}
