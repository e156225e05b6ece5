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
    /* Named accumulators (GCC keeps an array of them on the stack). */
    float32x4_t a0 = vld1q_f32(acc), a1 = vld1q_f32(acc + 4), a2 = vld1q_f32(acc + 8);
    float32x4_t a3 = vld1q_f32(acc + 12), a4 = vld1q_f32(acc + 16), a5 = vld1q_f32(acc + 20);
    float32x4_t a6 = vld1q_f32(acc + 24), a7 = vld1q_f32(acc + 28);
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = vaddq_f32(a0, vld1q_f32(x + i));
        a1 = vaddq_f32(a1, vld1q_f32(x + i + 4));
        a2 = vaddq_f32(a2, vld1q_f32(x + i + 8));
        a3 = vaddq_f32(a3, vld1q_f32(x + i + 12));
        a4 = vaddq_f32(a4, vld1q_f32(x + i + 16));
        a5 = vaddq_f32(a5, vld1q_f32(x + i + 20));
        a6 = vaddq_f32(a6, vld1q_f32(x + i + 24));
        a7 = vaddq_f32(a7, vld1q_f32(x + i + 28));
    }
    vst1q_f32(acc, a0);
    vst1q_f32(acc + 4, a1);
    vst1q_f32(acc + 8, a2);
    vst1q_f32(acc + 12, a3);
    vst1q_f32(acc + 16, a4);
    vst1q_f32(acc + 20, a5);
    vst1q_f32(acc + 24, a6);
    vst1q_f32(acc + 28, a7);
    /* Tail (< 32 elements, once per call): straight on acc; the remainder
       starts at a multiple of 32, so its element k goes to acc[k]. */
    for (float *a = acc; i < n; i += 4, a += 4) {
        const int64_t r = n - i;
        const float32x4_t t = r >= 4 ? vld1q_f32(x + i) : nb_neon_load_partial(x + i, r, vdupq_n_f32(0.0f));
        vst1q_f32(a, vaddq_f32(vld1q_f32(a), t));
    }
}
