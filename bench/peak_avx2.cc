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
