/* 2-D transpose of 4-byte elements: dst[i * ldd + j] = src[j * lds + i],
 * 0 <= i < m, 0 <= j < n (src row i is read down column i of the source).
 *
 * Tile: 8x8 in registers (8 unaligned loads, unpack/shuffle/permute2f128,
 * 8 unaligned stores). Cache blocking: 64x64 blocks, so a block's 64 source
 * rows and 64 destination rows (16 KiB each) stay in L1/L2 while every
 * 64-byte line is used whole. Edges (m or n not a multiple of 8): scalar.
 * ISA: AVX2 (only AVX shuffles are needed). Bit moves only: exact, NaN
 * payloads included. Other element sizes go through the driver's generic
 * element loop.
 */
#include <assert.h>
#include <string.h>

#include "reduce-avx2.h"

static inline void tile8x8(const float *s, int64_t lds, float *d, int64_t ldd) {
    const __m256 r0 = _mm256_loadu_ps(s + 0 * lds), r1 = _mm256_loadu_ps(s + 1 * lds);
    const __m256 r2 = _mm256_loadu_ps(s + 2 * lds), r3 = _mm256_loadu_ps(s + 3 * lds);
    const __m256 r4 = _mm256_loadu_ps(s + 4 * lds), r5 = _mm256_loadu_ps(s + 5 * lds);
    const __m256 r6 = _mm256_loadu_ps(s + 6 * lds), r7 = _mm256_loadu_ps(s + 7 * lds);
    const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    _mm256_storeu_ps(d + 0 * ldd, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(d + 1 * ldd, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(d + 2 * ldd, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(d + 3 * ldd, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(d + 4 * ldd, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(d + 5 * ldd, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(d + 6 * ldd, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(d + 7 * ldd, _mm256_permute2f128_ps(u3, u7, 0x31));
}

void nb_x32_transpose_ukernel_8x8__avx2(int64_t m, int64_t n, const void *src, int64_t lds,
                                        void *dst, int64_t ldd) {
    assert(m >= 0 && n >= 0);
    /* float loads/stores and shuffles move bits unchanged (no arithmetic). */
    const float *s = src;
    float *d = dst;
    const int64_t B = 64;
    for (int64_t i0 = 0; i0 < m; i0 += B) {
        const int64_t i1 = i0 + B < m ? i0 + B : m;
        for (int64_t j0 = 0; j0 < n; j0 += B) {
            const int64_t j1 = j0 + B < n ? j0 + B : n;
            int64_t i = i0;
            for (; i + 8 <= i1; i += 8) {
                int64_t j = j0;
                for (; j + 8 <= j1; j += 8) tile8x8(s + j * lds + i, lds, d + i * ldd + j, ldd);
                for (; j < j1; j++)
                    for (int64_t k = 0; k < 8; k++) memcpy(d + (i + k) * ldd + j, s + j * lds + i + k, 4);
            }
            for (; i < i1; i++)
                for (int64_t j = j0; j < j1; j++) memcpy(d + i * ldd + j, s + j * lds + i, 4);
        }
    }
}
