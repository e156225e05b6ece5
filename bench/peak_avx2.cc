// The machine's single-core FMA peak: 12 independent chains of 256-bit FMAs
// in named registers, enough to cover the FMA latency (4 cycles) on both FMA
// pipes of Zen/Haswell. Compiled with -mavx2 -mfma; only called after a CPU
// feature check. The chains start from distinct values: with 1 + 1e-7 i,
// several starts rounded to the same float and the compiler merged those
// chains (10 FMAs per iteration instead of 12, a peak overstated by 20%).
#include <immintrin.h>
#include <cstdint>

double nbb_fma_peak_avx2(int64_t iters) {
#define NBB_CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define NBB_INIT(i) __m256 acc##i = _mm256_set1_ps(1.0f + 1e-2f * (float)(i));
#define NBB_STEP(i) acc##i = _mm256_fmadd_ps(acc##i, a, b);
#define NBB_SUM(i) s = _mm256_add_ps(s, acc##i);
    NBB_CHAINS(NBB_INIT)
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (int64_t it = 0; it < iters; it++) {
        NBB_CHAINS(NBB_STEP)
    }
    __m256 s = _mm256_setzero_ps();
    NBB_CHAINS(NBB_SUM)
    float out[8];
    _mm256_storeu_ps(out, s);
    return (double)out[0];
#undef NBB_CHAINS
#undef NBB_INIT
#undef NBB_STEP
#undef NBB_SUM
}

// One core's read bandwidth: 8 independent 256-bit add chains over the
// buffer, so neither the adds nor the loop limit it, only the memory system.
float nbb_read_avx2(const float *p, size_t n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p + i));
        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(p + i + 8));
        a2 = _mm256_add_ps(a2, _mm256_loadu_ps(p + i + 16));
        a3 = _mm256_add_ps(a3, _mm256_loadu_ps(p + i + 24));
        a4 = _mm256_add_ps(a4, _mm256_loadu_ps(p + i + 32));
        a5 = _mm256_add_ps(a5, _mm256_loadu_ps(p + i + 40));
        a6 = _mm256_add_ps(a6, _mm256_loadu_ps(p + i + 48));
        a7 = _mm256_add_ps(a7, _mm256_loadu_ps(p + i + 56));
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                             _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    float out[8];
    _mm256_storeu_ps(out, s);
    float t = out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
    for (; i < n; i++) t += p[i];
    return t;
}
