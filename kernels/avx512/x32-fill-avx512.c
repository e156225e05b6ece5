/* Broadcast store of a 4-byte pattern: dst[0..n) = value (a strided copy
 * whose source has stride 0). ISA: AVX-512F, 64 elements (four zmm, one
 * cache line each) per iteration, unaligned stores; tail: masked stores
 * (no over-write). Exact.
 */
#include <assert.h>

#include "reduce-avx512.h"

void nb_x32_fill_ukernel__avx512(int64_t n, uint32_t value, void *dst) {
    assert(n >= 0);
    float *d = dst;   /* moved as bits: no arithmetic touches them */
    const __m512i v = _mm512_set1_epi32((int)value);
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        _mm512_storeu_si512(d + i, v);
        _mm512_storeu_si512(d + i + 16, v);
        _mm512_storeu_si512(d + i + 32, v);
        _mm512_storeu_si512(d + i + 48, v);
    }
    for (; i < n; i += 16) _mm512_mask_storeu_epi32(d + i, nb_avx512_mask(n - i), v);
}
