/* f32 GEMM micro-kernel, 14x32 tile, AVX-512F: the configured AVX-512
 * tile (config-avx512.c has the measurements against the 14x16, which
 * stays in the registry for comparison).
 *
 * C[0:m,0:n] = alpha * A * B + beta * C for one KC block (contract in
 * src/ukernel.h): a is a packed A micro-panel (k groups of 14 floats, the 14x16 tile's A packer),
 * b a packed B micro-panel (k groups of 32 floats), m <= 14, n <= 32.
 *
 * Register plan (32 zmm): 28 accumulators (row r: c<r>l columns 0..15,
 * c<r>h 16..31), two B vectors; A[r,k] is broadcast from memory into the
 * FMAs. Per k: 2 B loads + 14 broadcast loads for 28 FMAs (0.57 loads a
 * FMA, against 1.07 for the 14x16, whose 15 loads per 14 FMAs exceed two
 * 512-bit loads a cycle at two FMAs a cycle), 28 chains to cover 2 pipes
 * x 4 cycles.
 *
 * Numerics: each accumulator lane is one element's FMA chain in k order
 * from +0, then the contract's epilogue: the bits of the 14x16 tile.
 * Edge tiles: rows >= m of the packed A are zero (computed, never stored);
 * columns >= n are masked off in the loads and stores of C.
 */
#include <immintrin.h>

#include "gemm-avx512.h"

#define NB_MR 14
#define NB_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13)

void nb_f32_gemm_ukernel_14x32__avx512(size_t m, size_t n, size_t k, const float *restrict a,
                                       const float *restrict b, float *restrict c, ptrdiff_t ldc,
                                       float alpha, float beta) {
#define NB_ZERO(r) __m512 c##r##l = _mm512_setzero_ps(), c##r##h = _mm512_setzero_ps();
    NB_ROWS(NB_ZERO)
#undef NB_ZERO
    for (size_t r = 0; r < m; r++) {
        _mm_prefetch((const char *)(c + (ptrdiff_t)r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + (ptrdiff_t)r * ldc + 16), _MM_HINT_T0);
    }
#pragma GCC unroll 2
    for (size_t p = 0; p < k; p++) {
        const __m512 bl = _mm512_load_ps(b), bh = _mm512_load_ps(b + 16);
#define NB_FMA(r)                                                \
    {                                                            \
        const __m512 ar = _mm512_set1_ps(a[r]);                  \
        c##r##l = _mm512_fmadd_ps(ar, bl, c##r##l);              \
        c##r##h = _mm512_fmadd_ps(ar, bh, c##r##h);              \
    }
        NB_ROWS(NB_FMA)
#undef NB_FMA
        a += NB_MR;
        b += 32;
    }
    const __mmask16 kl = nb_avx512_gemm_mask(n), kh = nb_avx512_gemm_mask(n > 16 ? n - 16 : 0);
    const __m512 valpha = _mm512_set1_ps(alpha), vbeta = _mm512_set1_ps(beta);
    const int mode = nb_avx512_epilogue_mode(alpha, beta);
#define NB_STORE(r)                                                                     \
    if ((r) < m) {                                                                      \
        nb_avx512_gemm_store(MODE, c##r##l, valpha, vbeta, kl, c + (r) * ldc);          \
        nb_avx512_gemm_store(MODE, c##r##h, valpha, vbeta, kh, c + (r) * ldc + 16);     \
    }
    switch (mode) {
#define MODE NB_EPI512_STORE
    case NB_EPI512_STORE: NB_ROWS(NB_STORE) break;
#undef MODE
#define MODE NB_EPI512_SCALE
    case NB_EPI512_SCALE: NB_ROWS(NB_STORE) break;
#undef MODE
#define MODE NB_EPI512_ADD
    case NB_EPI512_ADD: NB_ROWS(NB_STORE) break;
#undef MODE
#define MODE NB_EPI512_GENERAL
    default: NB_ROWS(NB_STORE) break;
#undef MODE
    }
#undef NB_STORE
}
