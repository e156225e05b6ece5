/* The AVX-512 configuration's double row sum (cfg->conv.rowsum, the bias
 * gradient's per-plane sum) in pieces, so that a kernel that already walks
 * a dy plane can take the sum along in its own loop with the same bits
 * (the depthwise backward-filter, dwconv3x3-avx512.h).
 *
 * Bits: the AVX2 configuration's sum (config-avx2.c), in its own form:
 * eight 4-lane double accumulators (ymm), 32 floats a step in order, then
 * whole 8-float groups into a[0] and a[1], the same pairwise combination,
 * lanes and scalar tail. (Four zmm accumulators, one 512-bit vcvtps2pd
 * per 8 floats, were slower on Zen 4 inside the depthwise backward-filter
 * loop: c144 56x56 planes streamed, the sum's steps between the blocks,
 * 0.74 against 0.655 us a plane, 0.62 without the sum; session 15.)
 *
 * Why in pieces: on Zen 4 the widenings and double adds run on the FP
 * add/convert pipes and took 22 % of the c144 56x56 depthwise
 * backward-filter as a pass of their own; inside the filter loop they
 * share the cycles of its FMAs, which use the other pipes.
 */
#ifndef NB_ROWSUM_F64_AVX512_H
#define NB_ROWSUM_F64_AVX512_H

#include <immintrin.h>
#include <stdint.h>

typedef struct {
    __m256d a[8];
} nb_rs64;

static inline __attribute__((always_inline)) nb_rs64 nb_rs64_zero(void) {
    nb_rs64 s;
    for (int j = 0; j < 8; j++) s.a[j] = _mm256_setzero_pd();
    return s;
}

/* x[0 .. 32) into the accumulators (one step of the main loop). */
static inline __attribute__((always_inline)) void nb_rs64_step32(nb_rs64 *s, const float *x) {
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++) s->a[j] = _mm256_add_pd(s->a[j], _mm256_cvtps_pd(_mm_loadu_ps(x + 4 * j)));
}

/* The sum of x[0 .. n) whose first i floats (a multiple of 32, every whole
   32-float step: i + 32 > n) are in s. */
static inline __attribute__((always_inline)) double nb_rs64_finish(nb_rs64 s, int64_t i, int64_t n,
                                                                  const float *x) {
    for (; i + 8 <= n; i += 8) {
        s.a[0] = _mm256_add_pd(s.a[0], _mm256_cvtps_pd(_mm_loadu_ps(x + i)));
        s.a[1] = _mm256_add_pd(s.a[1], _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4)));
    }
    /* AVX2's ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) */
    const __m256d t = _mm256_add_pd(_mm256_add_pd(_mm256_add_pd(s.a[0], s.a[1]), _mm256_add_pd(s.a[2], s.a[3])),
                                    _mm256_add_pd(_mm256_add_pd(s.a[4], s.a[5]), _mm256_add_pd(s.a[6], s.a[7])));
    double lanes[4];
    _mm256_storeu_pd(lanes, t);
    double acc = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
    for (; i < n; i++) acc += (double)x[i];
    return acc;
}

/* The whole sum (cfg->conv.rowsum). */
static inline double nb_rs64_sum(int64_t n, const float *x) {
    nb_rs64 s = nb_rs64_zero();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) nb_rs64_step32(&s, x + i);
    return nb_rs64_finish(s, i, n, x);
}

#endif
