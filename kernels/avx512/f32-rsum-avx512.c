/* Row-sum micro-kernel: acc[i % 32] += x[i * incx], 0 <= i < n.
 *
 * Layout: x strided by incx (any sign, 0 allowed); acc: 32 floats, caller
 * owned. Two 16-lane accumulators (lanes 0..15 and 16..31), so element i
 * of the call always goes to lane i mod 32, in i order: the same lane
 * sums, in the same order, as the AVX2 kernel's four 8-lane ones (same
 * bits). Two add chains of 4 cycles retire 32 floats per 4 cycles, above
 * one core's memory read rate. ISA: AVX-512F. Tail: two masked loads (no
 * over-read; masked-off lanes read +0.0, and a + (+0) keeps a's value).
 * incx != 1: scalar loop with the same lane assignment.
 */
#include <assert.h>

#include "reduce-avx512.h"

void nb_f32_rsum_ukernel__avx512_u32(int64_t n, const float *x, int64_t incx, float *acc) {
    assert(n >= 0 && acc != NULL);
    if (incx != 1) {
        for (int64_t i = 0; i < n; i++) acc[i & 31] += x[i * incx];
        return;
    }
    __m512 a0 = _mm512_loadu_ps(acc), a1 = _mm512_loadu_ps(acc + 16);
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm512_add_ps(a0, _mm512_loadu_ps(x + i));
        a1 = _mm512_add_ps(a1, _mm512_loadu_ps(x + i + 16));
    }
    if (i < n) {
        a0 = _mm512_add_ps(a0, _mm512_maskz_loadu_ps(nb_avx512_mask(n - i), x + i));
        a1 = _mm512_add_ps(a1, _mm512_maskz_loadu_ps(nb_avx512_mask(n - i - 16), x + i + 16));
    }
    _mm512_storeu_ps(acc, a0);
    _mm512_storeu_ps(acc + 16, a1);
}
