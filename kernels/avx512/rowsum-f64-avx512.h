/* The AVX-512 configuration's double row sum (cfg->conv.rowsum, the bias
 * gradient's per-plane sum) in pieces, so that a kernel that already walks
 * a dy plane can take the sum along in its own loop with the same bits
 * (the depthwise backward-filter, dwconv3x3-avx512.h).
 *
 * Bits: the AVX2 configuration's sum (config-avx2.c): eight 4-lane double
 * accumulators, here as four zmm (zmm j = AVX2's a[2 j] in lanes 0-3 and
 * a[2 j + 1] in lanes 4-7: 8 floats widened by one vcvtps2pd land exactly
 * there), 32 floats a step in order, then whole 8-float groups into
 * a[0], the same pairwise combination, lanes and scalar tail. One
 * widening per 8 floats instead of 2 (+ an extract).
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
    __m512d a0, a1, a2, a3;
} nb_rs64;

static inline __attribute__((always_inline)) nb_rs64 nb_rs64_zero(void) {
    const __m512d z = _mm512_setzero_pd();
    return (nb_rs64){z, z, z, z};
}

/* x[0 .. 32) into the accumulators (one step of the main loop). */
static inline __attribute__((always_inline)) void nb_rs64_step32(nb_rs64 *s, const float *x) {
    s->a0 = _mm512_add_pd(s->a0, _mm512_cvtps_pd(_mm256_loadu_ps(x)));
    s->a1 = _mm512_add_pd(s->a1, _mm512_cvtps_pd(_mm256_loadu_ps(x + 8)));
    s->a2 = _mm512_add_pd(s->a2, _mm512_cvtps_pd(_mm256_loadu_ps(x + 16)));
    s->a3 = _mm512_add_pd(s->a3, _mm512_cvtps_pd(_mm256_loadu_ps(x + 24)));
}

/* The sum of x[0 .. n) whose first i floats (a multiple of 32, every whole
   32-float step: i + 32 > n) are in s. */
static inline __attribute__((always_inline)) double nb_rs64_finish(nb_rs64 s, int64_t i, int64_t n,
                                                                  const float *x) {
    for (; i + 8 <= n; i += 8) s.a0 = _mm512_add_pd(s.a0, _mm512_cvtps_pd(_mm256_loadu_ps(x + i)));
    /* AVX2's ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)), pair by pair */
    const __m512d a[4] = {s.a0, s.a1, s.a2, s.a3};
    __m256d h[8];
    for (int j = 0; j < 4; j++) {
        h[2 * j] = _mm512_castpd512_pd256(a[j]);
        h[2 * j + 1] = _mm512_extractf64x4_pd(a[j], 1);
    }
    const __m256d t = _mm256_add_pd(_mm256_add_pd(_mm256_add_pd(h[0], h[1]), _mm256_add_pd(h[2], h[3])),
                                    _mm256_add_pd(_mm256_add_pd(h[4], h[5]), _mm256_add_pd(h[6], h[7])));
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
