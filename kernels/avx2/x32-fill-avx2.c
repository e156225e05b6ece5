/* Broadcast store of a 4-byte pattern: dst[0..n) = value (a strided copy
 * whose source has stride 0). ISA: AVX2, 32 elements per iteration,
 * unaligned stores; tail: masked store (no over-write). Exact.
 */
#include <assert.h>

#include "reduce-avx2.h"

void nb_x32_fill_ukernel__avx2(int64_t n, uint32_t value, void *dst) {
    assert(n >= 0);
    char *d = dst;
    const __m256i v = _mm256_set1_epi32((int)value);
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        _mm256_storeu_si256((__m256i *)(d + 4 * i), v);
        _mm256_storeu_si256((__m256i *)(d + 4 * i + 32), v);
        _mm256_storeu_si256((__m256i *)(d + 4 * i + 64), v);
        _mm256_storeu_si256((__m256i *)(d + 4 * i + 96), v);
    }
    for (; i + 8 <= n; i += 8) _mm256_storeu_si256((__m256i *)(d + 4 * i), v);
    if (i < n) _mm256_maskstore_epi32((int *)(d + 4 * i), nb_avx2_lane_mask(n - i), v);
}
