/* Column micro-kernels, four rows a pass (src/ukernel.h, nb_f32_rcol4_ft):
 * acc[j] = op(op(op(op(acc[j], x[0][j]), x[1][j]), x[2][j]), x[3][j]), the
 * operations and order of four one-row calls (same bits as raddcol /
 * rmaxcol / rmincol), with one accumulator round trip per four rows and
 * four sequential row streams in flight instead of one (the AVX-512
 * twin's reason: one stream did not reach the core's read bandwidth on
 * Zen 4). ISA: AVX2, 16 columns an iteration (8 row loads, 2 accumulator
 * loads, 2 stores); no software prefetch (four streams are what the
 * hardware prefetchers follow best). Tail: 8 at a time, then masked loads
 * and plain partial stores.
 */
#include <assert.h>

#include "reduce-avx2.h"

#define NB_COL4_AVX2(OP)                                                                    \
    const float *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3];                            \
    int64_t j = 0;                                                                          \
    for (; j + 16 <= n; j += 16) {                                                          \
        __m256 s0 = _mm256_loadu_ps(acc + j), s1 = _mm256_loadu_ps(acc + j + 8);            \
        s0 = OP(s0, _mm256_loadu_ps(x0 + j));                                               \
        s1 = OP(s1, _mm256_loadu_ps(x0 + j + 8));                                           \
        s0 = OP(s0, _mm256_loadu_ps(x1 + j));                                               \
        s1 = OP(s1, _mm256_loadu_ps(x1 + j + 8));                                           \
        s0 = OP(s0, _mm256_loadu_ps(x2 + j));                                               \
        s1 = OP(s1, _mm256_loadu_ps(x2 + j + 8));                                           \
        s0 = OP(s0, _mm256_loadu_ps(x3 + j));                                               \
        s1 = OP(s1, _mm256_loadu_ps(x3 + j + 8));                                           \
        _mm256_storeu_ps(acc + j, s0);                                                      \
        _mm256_storeu_ps(acc + j + 8, s1);                                                  \
    }                                                                                       \
    for (; j < n; j += 8) {                                                                 \
        const __m256i mk = nb_avx2_lane_mask(n - j < 8 ? n - j : 8);                        \
        __m256 s = _mm256_maskload_ps(acc + j, mk);                                         \
        s = OP(s, _mm256_maskload_ps(x0 + j, mk));                                          \
        s = OP(s, _mm256_maskload_ps(x1 + j, mk));                                          \
        s = OP(s, _mm256_maskload_ps(x2 + j, mk));                                          \
        s = OP(s, _mm256_maskload_ps(x3 + j, mk));                                          \
        nb_avx2_maskstore_first(acc + j, mk, s);                                            \
    }

void nb_f32_raddcol4_ukernel__avx2_u16(int64_t n, const float *const *x, float *acc) {
    assert(n >= 0);
    NB_COL4_AVX2(_mm256_add_ps)
}

void nb_f32_rmaxcol4_ukernel__avx2_u16(int64_t n, const float *const *x, float *acc) {
    assert(n >= 0);
    NB_COL4_AVX2(nb_avx2_max_nan)
}

void nb_f32_rmincol4_ukernel__avx2_u16(int64_t n, const float *const *x, float *acc) {
    assert(n >= 0);
    NB_COL4_AVX2(nb_avx2_min_nan)
}
