/* Row-sum micro-kernel: acc[i % 32] += x[i * incx], 0 <= i < n.
 *
 * Layout: x strided by incx (any sign, 0 allowed); acc: 32 floats, caller
 * owned, so a segment can span several rows. Four 8-lane accumulators, so
 * element i of the call always goes to lane i mod 32 (the driver's error
 * bound counts on it: a lane never receives more than ceil(n/32) elements).
 * ISA: AVX2. Tail: masked loads (no over-read). incx != 1: scalar loop with
 * the same lane assignment. Accuracy: plain float additions, one rounding
 * each; see src/reduce_driver.c for the bound of the whole reduction.
 */
#include <assert.h>

#include "reduce-avx2.h"

void nb_f32_rsum_ukernel__avx2_u32(int64_t n, const float *x, int64_t incx, float *acc) {
    assert(n >= 0 && acc != NULL);
    if (incx != 1) {
        for (int64_t i = 0; i < n; i++) acc[i & 31] += x[i * incx];
        return;
    }
    __m256 a0 = _mm256_loadu_ps(acc), a1 = _mm256_loadu_ps(acc + 8);
    __m256 a2 = _mm256_loadu_ps(acc + 16), a3 = _mm256_loadu_ps(acc + 24);
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        nb_avx2_prefetch_ahead(x + i);
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(x + i));
        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(x + i + 8));
        a2 = _mm256_add_ps(a2, _mm256_loadu_ps(x + i + 16));
        a3 = _mm256_add_ps(a3, _mm256_loadu_ps(x + i + 24));
    }
    /* Tail (< 32): vector k takes elements 8k..8k+7 of the remainder, so the
       lane mapping i mod 32 still holds; masked-off lanes load +0.0, and
       a + (+0) = a bit for bit (except -0 + +0 = +0, a value-preserving change). */
    __m256 *acc_k[4] = {&a0, &a1, &a2, &a3};
    for (int k = 0; k < 4 && i < n; k++, i += 8) {
        const int64_t r = n - i;
        const __m256 t = r >= 8 ? _mm256_loadu_ps(x + i) : _mm256_maskload_ps(x + i, nb_avx2_lane_mask(r));
        *acc_k[k] = _mm256_add_ps(*acc_k[k], t);
    }
    _mm256_storeu_ps(acc, a0);
    _mm256_storeu_ps(acc + 8, a1);
    _mm256_storeu_ps(acc + 16, a2);
    _mm256_storeu_ps(acc + 24, a3);
}
