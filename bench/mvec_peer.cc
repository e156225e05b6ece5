// glibc libmvec peers of the elementwise benchmarks, at one vector width.
// Compiled twice (bench/meson.build): with -mavx2 -mfma as nbb_mvec_avx2
// (the 8-lane `_ZGVdN8v_*` entry points) and with -mavx512f as
// nbb_mvec_avx512 (the 16-lane `_ZGVeN16v_*` ones). Called only after a CPU
// check. sigmoid and gelu have no libmvec entry: they are the same formulas
// as nabla's (ref/unary.c) with libmvec's expf / erff inside.
// fn: 0 exp, 1 log, 2 tanh, 3 sigmoid, 4 gelu. n must be a multiple of the
// width (the benchmark uses 1M).
#include <immintrin.h>
#include <cstddef>

#if defined(NBB_MVEC_512)
typedef __m512 V;
#define W 16
#define MV(f) _ZGVeN16v_##f
#define LOAD _mm512_loadu_ps
#define STORE _mm512_storeu_ps
#define SET1 _mm512_set1_ps
#define ADD _mm512_add_ps
#define MUL _mm512_mul_ps
#define DIV _mm512_div_ps
#define NEG_ABS(v) _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(v), _mm512_set1_epi32(INT32_MIN)))
#define SEL_NONNEG(x, a, b) _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GE_OQ), b, a)
#define ENTRY nbb_mvec_avx512
#else
typedef __m256 V;
#define W 8
#define MV(f) _ZGVdN8v_##f
#define LOAD _mm256_loadu_ps
#define STORE _mm256_storeu_ps
#define SET1 _mm256_set1_ps
#define ADD _mm256_add_ps
#define MUL _mm256_mul_ps
#define DIV _mm256_div_ps
#define NEG_ABS(v) _mm256_or_ps(v, _mm256_set1_ps(-0.0f))
#define SEL_NONNEG(x, a, b) _mm256_blendv_ps(b, a, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ))
#define ENTRY nbb_mvec_avx2
#endif

#include <cstdint>

extern "C" {
V MV(expf)(V);
V MV(logf)(V);
V MV(tanhf)(V);
V MV(erff)(V);
}

namespace {

inline V sigmoid(V x) {
    const V e = MV(expf)(NEG_ABS(x));                  // exp(-|x|)
    return DIV(SEL_NONNEG(x, SET1(1.0f), e), ADD(SET1(1.0f), e));
}

inline V gelu(V x) {
    const V e = MV(erff)(MUL(x, SET1(0.70710678118654752440f)));
    return MUL(MUL(SET1(0.5f), x), ADD(SET1(1.0f), e));
}

template <class F> void loop(size_t n, const float *x, float *y, F f) {
    for (size_t i = 0; i + W <= n; i += W) STORE(y + i, f(LOAD(x + i)));
}

}  // namespace

void ENTRY(int fn, size_t n, const float *x, float *y) {
    switch (fn) {
    case 0: loop(n, x, y, [](V v) { return MV(expf)(v); }); break;
    case 1: loop(n, x, y, [](V v) { return MV(logf)(v); }); break;
    case 2: loop(n, x, y, [](V v) { return MV(tanhf)(v); }); break;
    case 3: loop(n, x, y, sigmoid); break;
    case 4: loop(n, x, y, gelu); break;
    default: break;
    }
}
