/* Column micro-kernels: acc[j] = acc[j] + x[j], max(acc[j], x[j]),
 * min(acc[j], x[j]), 0 <= j < n, both contiguous (the driver streams the
 * rows of a block through them into an L1-resident accumulator strip).
 *
 * ISA: AVX-512F/DQ, 64 floats an iteration: the four row vectors are loaded
 * before the accumulator read-modify-writes (the AVX2 kernel measured this
 * order faster than interleaving). Tail: masked loads and stores. One
 * operation per element per call: sums round like the plain-C twin; max /
 * min are exact with the NaN and signed-zero rules of reduce-avx512.h
 * (vrangeps, vcmpps and a masked vaddps: 3 uops a vector, where the vmaxps
 * form took 5 and ran at half raddcol's speed in L1).
 *
 * No software prefetch (session 12, Zen 4): the two prefetches per 128
 * bytes 8 KiB ahead (reduce-avx512.h) cost colsum 4096x4096 a quarter of
 * its speed there: in a harness alternating with the read probe over the
 * same 64 MiB, 70-76 % of the probe with them (8, 4, 2 or 1 KiB ahead
 * alike), 82-94 % without. The 16 KiB accumulator strip shares the 32 KiB
 * L1 with the lines prefetched ahead, and the hardware prefetchers keep the
 * one sequential stream of a column sum fed on their own.
 */
#include <assert.h>

#include "reduce-avx512.h"

#define NB_COL_BODY(OP)                                                                     \
    int64_t j = 0;                                                                          \
    for (; j + 64 <= n; j += 64) {                                                          \
        const __m512 x0 = nb_avx512_in_reg(_mm512_loadu_ps(x + j));                         \
        const __m512 x1 = nb_avx512_in_reg(_mm512_loadu_ps(x + j + 16));                    \
        const __m512 x2 = nb_avx512_in_reg(_mm512_loadu_ps(x + j + 32));                    \
        const __m512 x3 = nb_avx512_in_reg(_mm512_loadu_ps(x + j + 48));                    \
        _mm512_storeu_ps(acc + j, OP(_mm512_loadu_ps(acc + j), x0));                        \
        _mm512_storeu_ps(acc + j + 16, OP(_mm512_loadu_ps(acc + j + 16), x1));              \
        _mm512_storeu_ps(acc + j + 32, OP(_mm512_loadu_ps(acc + j + 32), x2));              \
        _mm512_storeu_ps(acc + j + 48, OP(_mm512_loadu_ps(acc + j + 48), x3));              \
    }                                                                                       \
    for (; j < n; j += 16) {                                                                \
        const __mmask16 k = nb_avx512_mask(n - j);                                          \
        _mm512_mask_storeu_ps(acc + j, k, OP(_mm512_maskz_loadu_ps(k, acc + j),             \
                                             _mm512_maskz_loadu_ps(k, x + j)));             \
    }

void nb_f32_raddcol_ukernel__avx512_u64(int64_t n, const float *x, float *acc) {
    assert(n >= 0);
    NB_COL_BODY(_mm512_add_ps)
}

void nb_f32_rmaxcol_ukernel__avx512_u64(int64_t n, const float *x, float *acc) {
    assert(n >= 0);
    NB_COL_BODY(nb_avx512_max_nan)
}

void nb_f32_rmincol_ukernel__avx512_u64(int64_t n, const float *x, float *acc) {
    assert(n >= 0);
    NB_COL_BODY(nb_avx512_min_nan)
}

/* Four rows a pass (nb_f32_rcol4_ft): each accumulator vector is loaded
 * once, takes the four rows' vectors in row order (the same operations as
 * four one-row calls, so the same bits) and is stored once. 32 columns an
 * iteration: 8 row loads, 2 accumulator loads, 2 stores. Why: a column sum
 * of long rows streams one row at a time, and one sequential stream does
 * not reach the core's read bandwidth on Zen 4, where four do (a harness
 * over 4096 x 4096 floats on the loaded machine, 3 runs: one row at a time
 * 45-60 % of a single-stream read loop, four rows 111-113 %). */
/* Row vectors pinned in registers (the max / min forms read each operand
   three times, see nb_avx512_in_reg). */
#define NB_COL4_LD(p) nb_avx512_in_reg(_mm512_loadu_ps(p))
#define NB_COL4_BODY(OP)                                                                    \
    const float *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3];                            \
    int64_t j = 0;                                                                          \
    for (; j + 32 <= n; j += 32) {                                                          \
        __m512 s0 = _mm512_loadu_ps(acc + j), s1 = _mm512_loadu_ps(acc + j + 16);           \
        s0 = OP(s0, NB_COL4_LD(x0 + j));                                               \
        s1 = OP(s1, NB_COL4_LD(x0 + j + 16));                                          \
        s0 = OP(s0, NB_COL4_LD(x1 + j));                                               \
        s1 = OP(s1, NB_COL4_LD(x1 + j + 16));                                          \
        s0 = OP(s0, NB_COL4_LD(x2 + j));                                               \
        s1 = OP(s1, NB_COL4_LD(x2 + j + 16));                                          \
        s0 = OP(s0, NB_COL4_LD(x3 + j));                                               \
        s1 = OP(s1, NB_COL4_LD(x3 + j + 16));                                          \
        _mm512_storeu_ps(acc + j, s0);                                                      \
        _mm512_storeu_ps(acc + j + 16, s1);                                                 \
    }                                                                                       \
    for (; j < n; j += 16) {                                                                \
        const __mmask16 k = nb_avx512_mask(n - j);                                          \
        __m512 s = _mm512_maskz_loadu_ps(k, acc + j);                                       \
        s = OP(s, _mm512_maskz_loadu_ps(k, x0 + j));                                        \
        s = OP(s, _mm512_maskz_loadu_ps(k, x1 + j));                                        \
        s = OP(s, _mm512_maskz_loadu_ps(k, x2 + j));                                        \
        s = OP(s, _mm512_maskz_loadu_ps(k, x3 + j));                                        \
        _mm512_mask_storeu_ps(acc + j, k, s);                                               \
    }

void nb_f32_raddcol4_ukernel__avx512_u32(int64_t n, const float *const *x, float *acc) {
    assert(n >= 0);
    NB_COL4_BODY(_mm512_add_ps)
}

void nb_f32_rmaxcol4_ukernel__avx512_u32(int64_t n, const float *const *x, float *acc) {
    assert(n >= 0);
    NB_COL4_BODY(nb_avx512_max_nan)
}

void nb_f32_rmincol4_ukernel__avx512_u32(int64_t n, const float *const *x, float *acc) {
    assert(n >= 0);
    NB_COL4_BODY(nb_avx512_min_nan)
}
