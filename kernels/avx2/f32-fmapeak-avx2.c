/* The core's 256-bit FMA peak, for `nabla bench`'s "% of peak": 12
 * independent chains of FMAs in registers (enough for 2 pipes x 4 cycles of
 * latency), 12 x 8 x 2 = 192 flops an iteration. Distinct starting values
 * keep the compiler from merging chains. Returns a value of the chains so
 * none is dead. */
#include <immintrin.h>

#include "ukernel.h"

float nb_f32_fmapeak_ukernel__avx2(int64_t iters) {
#define NB_CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define NB_INIT(i) __m256 acc##i = _mm256_set1_ps(1.0f + 1e-2f * (float)(i));
#define NB_STEP(i) acc##i = _mm256_fmadd_ps(acc##i, a, b);
#define NB_SUM(i) s = _mm256_add_ps(s, acc##i);
    NB_CHAINS(NB_INIT)
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (int64_t it = 0; it < iters; it++) {
        NB_CHAINS(NB_STEP)
    }
    __m256 s = _mm256_setzero_ps();
    NB_CHAINS(NB_SUM)
    return _mm_cvtss_f32(_mm256_castps256_ps128(s));
}
