/* f32 GEMM micro-kernels, 14x16 and 16x16 tiles, AVX-512F.
 *
 * C[0:m,0:n] = alpha * A * B + beta * C for one KC block (contract in
 * src/ukernel.h): a is a packed A micro-panel (k groups of MR floats, MR 14
 * or 16), b a packed B micro-panel (k groups of 16 floats, the AVX2 B
 * packer's layout), C row-major with row stride ldc, any alignment.
 * m <= MR, n <= 16.
 *
 * Register plan (32 ZMM): MR accumulators (one zmm of 16 columns per row),
 * one zmm for B at step k; A[r,k] is broadcast straight from memory into
 * each FMA (vfmadd231ps with a {1to16} operand). 14 or 16 independent
 * chains cover the FMA latency on two 512-bit pipes (4 cycles x 2 = 8
 * needed). Per k: 1 load of B + MR broadcast-FMAs, so 1.07 (1.06) loads
 * per FMA: within 2-3 load ports at 2 FMAs a cycle. The B micro-panel
 * (KC = 384: 24 KiB) stays in L1 across the row panels of an A block, as
 * in the AVX2 6x16.
 *
 * The 16-row tile is the Winograd filter panels' (src/conv_winograd.c,
 * fused): 16 filters fill the filter transform's 16 lanes and its stores
 * are whole aligned 64-byte lines, where 14-float groups straddle lines
 * and need 19 panels for 256 filters instead of 16.
 *
 * Numerics: each accumulator lane is one element's FMA chain in k order
 * from +0, and the epilogue is the contract's (alpha acc, then
 * fma(beta, c, .), specialised where it gives the same bits), so the bits
 * equal the AVX2 tile's and the plain-C twin's, and both tiles give an
 * element the same bits.
 *
 * Edge tiles: rows >= m of the packed A are zero (computed, never stored);
 * columns >= n are masked off in the loads and stores of C, which is never
 * touched outside [0:m, 0:n].
 */
#include <immintrin.h>

#include "ukernel.h"

static inline __attribute__((always_inline)) __m512 epilogue(int mode, __m512 acc, __m512 valpha,
                                                             __m512 vbeta, __mmask16 k,
                                                             const float *c) {
    switch (mode) {
    case 0:  return acc;                                             /* alpha 1, beta 0 */
    case 1:  return _mm512_mul_ps(valpha, acc);                      /* beta 0 */
    case 2:  return _mm512_add_ps(_mm512_maskz_loadu_ps(k, c), acc); /* alpha 1, beta 1 */
    default: return _mm512_fmadd_ps(vbeta, _mm512_maskz_loadu_ps(k, c), _mm512_mul_ps(valpha, acc));
    }
}

/* Rows 14 and 15 exist only when MR is 16 (a constant once inlined). */
#define NB_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) \
    X(14) X(15)

static inline __attribute__((always_inline)) void
tile_x16(const size_t MR, size_t m, size_t n, size_t k, const float *restrict a,
         const float *restrict b, float *restrict c, ptrdiff_t ldc, float alpha, float beta) {
    /* Named accumulators, not an array: they stay in zmm registers. */
#define NB_ZERO(r) __m512 c##r = _mm512_setzero_ps();
    NB_ROWS(NB_ZERO)
#undef NB_ZERO
    for (size_t r = 0; r < m; r++) _mm_prefetch((const char *)(c + (ptrdiff_t)r * ldc), _MM_HINT_T0);
#pragma GCC unroll 4
    for (size_t p = 0; p < k; p++) {
        const __m512 vb = _mm512_load_ps(b);
#define NB_FMA(r) if ((r) < MR) c##r = _mm512_fmadd_ps(_mm512_set1_ps(a[r]), vb, c##r);
        NB_ROWS(NB_FMA)
#undef NB_FMA
        a += MR;
        b += 16;
    }
    const __mmask16 mask = (__mmask16)(n >= 16 ? 0xffffu : (1u << n) - 1u);
    const __m512 valpha = _mm512_set1_ps(alpha), vbeta = _mm512_set1_ps(beta);
    const int mode = beta == 0.0f ? (alpha == 1.0f ? 0 : 1) : (alpha == 1.0f && beta == 1.0f ? 2 : 3);
#define NB_STORE(r)                                                                       \
    if ((r) < MR && (r) < m)                                                              \
        _mm512_mask_storeu_ps(c + (r) * ldc, mask,                                        \
                              epilogue(MODE, c##r, valpha, vbeta, mask, c + (r) * ldc));
    switch (mode) {
#define MODE 0
    case 0: NB_ROWS(NB_STORE) break;
#undef MODE
#define MODE 1
    case 1: NB_ROWS(NB_STORE) break;
#undef MODE
#define MODE 2
    case 2: NB_ROWS(NB_STORE) break;
#undef MODE
#define MODE 3
    default: NB_ROWS(NB_STORE) break;
#undef MODE
    }
#undef NB_STORE
}

void nb_f32_gemm_ukernel_14x16__avx512(size_t m, size_t n, size_t k, const float *restrict a,
                                       const float *restrict b, float *restrict c, ptrdiff_t ldc,
                                       float alpha, float beta) {
    tile_x16(14, m, n, k, a, b, c, ldc, alpha, beta);
}

void nb_f32_gemm_ukernel_16x16__avx512(size_t m, size_t n, size_t k, const float *restrict a,
                                       const float *restrict b, float *restrict c, ptrdiff_t ldc,
                                       float alpha, float beta) {
    tile_x16(16, m, n, k, a, b, c, ldc, alpha, beta);
}
