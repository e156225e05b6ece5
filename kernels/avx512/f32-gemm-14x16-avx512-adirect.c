/* f32 GEMM micro-kernel, 14x16 tile, AVX-512F, A read in place (not
 * packed): the 14x16 packed tile (f32-gemm-14x16-avx512.c) with op(A) = A
 * stored row-major, element (r, p) at a[r*lda + p]; b is a packed
 * 16-column B micro-panel (the AVX2 B packer's layout, conv_gemm's).
 *
 * Why: backward-filter of a 1x1 layer with few filters (c32 112x112 k16)
 * runs dwT (channels x filters) = x dy^T with x read in place as A; the
 * 14x32 A-in-place tile spends half of its FMAs on the 16 empty columns of
 * a 16-filter panel. Here every lane of the one B vector is a filter.
 *
 * Register plan (32 zmm): M accumulators (row r: columns 0..15), one B
 * vector; A[r,p] is broadcast from memory straight into the FMA. Per k:
 * 1 B load + M broadcasts for M FMAs (the broadcasts are load-port uops:
 * 15 loads for 7 cycles of FMAs at M = 14, within 3 load ports). M
 * independent chains (14 cover 2 FMA pipes x 4 cycles of latency; the
 * caller's 4-row edge of a 32-channel layer has 4, latency-bound but
 * short). M is a compile-time constant (switch on m), so edge tiles run M
 * FMAs a k, not 14.
 *
 * Rows are reached as in the 14x32 tile (gemm-14x32-avx512.h,
 * NB_A14_BASE): 4 row pointers and one byte stride L = 4 lda, so the loop
 * needs 7 general registers. Rows >= m are never read.
 *
 * Numerics: each accumulator lane is one element's FMA chain in k order
 * from +0, then the contract's epilogue (gemm-avx512.h): the bits of the
 * 14x16 and 14x32 packed tiles.
 */
#include <assert.h>

#include "gemm-14x32-avx512.h"

static inline __attribute__((always_inline))
void body_14x16(const int M, size_t n, size_t k, const float *a, ptrdiff_t lda, const float *b,
                float *c, ptrdiff_t ldc, float alpha, float beta) {
    __m512 acc[14];
    for (int r = 0; r < M; r++) acc[r] = _mm512_setzero_ps();
    for (int r = 0; r < M; r++) _mm_prefetch((const char *)(c + (ptrdiff_t)r * ldc), _MM_HINT_T0);
    const ptrdiff_t L = lda * (ptrdiff_t)sizeof(float);
    const char *base[11] = {0};
    for (int r = 0; r < 11; r++) base[r] = (const char *)(a + (ptrdiff_t)(r < M ? r : 0) * lda);
#pragma GCC unroll 4
    for (size_t p = 0; p < k; p++) {
        const __m512 vb = _mm512_load_ps(b);
#pragma GCC unroll 14
        for (int r = 0; r < M; r++) {
            const __m512 ar = _mm512_set1_ps(*(const float *)(base[NB_A14_BASE(r)] +
                                                              (r - NB_A14_BASE(r)) * L));
            acc[r] = _mm512_fmadd_ps(ar, vb, acc[r]);
        }
        base[0] += sizeof(float);
        base[3] += sizeof(float);
        base[5] += sizeof(float);
        base[10] += sizeof(float);
        b += 16;
    }
    const __m512 valpha = _mm512_set1_ps(alpha), vbeta = _mm512_set1_ps(beta);
    const int mode = nb_avx512_epilogue_mode(alpha, beta);
    const __mmask16 kl = nb_avx512_gemm_mask(n);
#pragma GCC unroll 14
    for (int r = 0; r < M; r++) nb_avx512_gemm_store(mode, acc[r], valpha, vbeta, kl, c + (ptrdiff_t)r * ldc);
}

void nb_f32_gemm_ukernel_14x16__avx512_adirect(size_t m, size_t n, size_t k, const float *restrict a,
                                               ptrdiff_t lda, const float *restrict b,
                                               float *restrict c, ptrdiff_t ldc, float alpha,
                                               float beta) {
    assert(m >= 1 && m <= 14 && n >= 1 && n <= 16 && k >= 1);
    assert(((uintptr_t)b & 63) == 0);
#define NB_BODY(M) body_14x16(M, n, k, a, lda, b, c, ldc, alpha, beta)
    NB_AVX512_14_CASES(m, NB_BODY)
#undef NB_BODY
}
