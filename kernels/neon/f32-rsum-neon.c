/* Row-sum micro-kernel: acc[i % 32] += x[i * incx], 0 <= i < n.
 *
 * Layout: x strided by incx (any sign, 0 allowed); acc: 32 floats, caller
 * owned, so a segment can span several rows. Eight 4-lane accumulators (the
 * same 32 lanes as the AVX2 kernel's four 8-lane ones), so element i of the
 * call always goes to lane i mod 32: the driver's error bound counts on it
 * (a lane never receives more than ceil(n/32) elements), and since every
 * lane sees the same additions in the same order as on AVX2, NEON and AVX2
 * sums are bit-identical. ISA: AArch64 NEON. Tail: vector k of the
 * remainder (< 32) takes its elements 4k..4k+3, the last partial vector is
 * built lane by lane with +0.0 in the missing lanes (no over-read); a + (+0)
 * is a bit for bit (the lanes start at +0 and so are never -0). incx != 1:
 * scalar loop with the same lane assignment. Accuracy: plain float
 * additions, one rounding each; see src/reduce_driver.c for the bound of
 * the whole reduction.
 */
#include <assert.h>

#include "reduce-neon.h"

void nb_f32_rsum_ukernel__neon_u32(int64_t n, const float *x, int64_t incx, float *acc) {
    assert(n >= 0 && acc != NULL);
    if (incx != 1) {
        for (int64_t i = 0; i < n; i++) acc[i & 31] += x[i * incx];
        return;
    }
    float32x4_t a[8];
    for (int k = 0; k < 8; k++) a[k] = vld1q_f32(acc + 4 * k);
    int64_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int k = 0; k < 8; k++) a[k] = vaddq_f32(a[k], vld1q_f32(x + i + 4 * k));
    for (int k = 0; k < 8 && i < n; k++, i += 4) {
        const int64_t r = n - i;
        const float32x4_t t = r >= 4 ? vld1q_f32(x + i) : nb_neon_load_partial(x + i, r, vdupq_n_f32(0.0f));
        a[k] = vaddq_f32(a[k], t);
    }
    for (int k = 0; k < 8; k++) vst1q_f32(acc + 4 * k, a[k]);
}
