// The machine's single-core 512-bit FMA peak: 24 independent chains of zmm
// FMAs in named registers, enough to cover the FMA latency (4 cycles) on two
// 512-bit FMA pipes (Zen 5, Xeon) and more than one (Zen 4). Compiled with
// -mavx512f; only called after a CPU feature check. Distinct starting
// values keep the compiler from merging chains (see peak_avx2.cc).
#include <immintrin.h>
#include <cstdint>

double nbb_fma_peak_avx512(int64_t iters) {
#define NBB_CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) \
    X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23)
#define NBB_INIT(i) __m512 acc##i = _mm512_set1_ps(1.0f + 1e-2f * (float)(i));
#define NBB_STEP(i) acc##i = _mm512_fmadd_ps(acc##i, a, b);
#define NBB_SUM(i) s = _mm512_add_ps(s, acc##i);
    NBB_CHAINS(NBB_INIT)
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (int64_t it = 0; it < iters; it++) {
        NBB_CHAINS(NBB_STEP)
    }
    __m512 s = _mm512_setzero_ps();
    NBB_CHAINS(NBB_SUM)
    float out[16];
    _mm512_storeu_ps(out, s);
    return (double)out[0];
#undef NBB_CHAINS
#undef NBB_INIT
#undef NBB_STEP
#undef NBB_SUM
}
