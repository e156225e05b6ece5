/* The core's 512-bit FMA peak, for `nabla bench`'s "% of peak": 24
 * independent chains of zmm FMAs (enough for 2 pipes x 4 cycles of latency
 * and more), 24 x 16 x 2 = 768 flops an iteration. */
#include <immintrin.h>

#include "ukernel.h"

float nb_f32_fmapeak_ukernel__avx512(int64_t iters) {
#define NB_CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) \
    X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23)
#define NB_INIT(i) __m512 acc##i = _mm512_set1_ps(1.0f + 1e-2f * (float)(i));
#define NB_STEP(i) acc##i = _mm512_fmadd_ps(acc##i, a, b);
#define NB_SUM(i) s = _mm512_add_ps(s, acc##i);
    NB_CHAINS(NB_INIT)
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (int64_t it = 0; it < iters; it++) {
        NB_CHAINS(NB_STEP)
    }
    __m512 s = _mm512_setzero_ps();
    NB_CHAINS(NB_SUM)
    return _mm_cvtss_f32(_mm512_castps512_ps128(s));
}
