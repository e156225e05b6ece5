/* f32 GEMM micro-kernel, 6x64 tile, AVX-512F, A and B both read in place
 * (nothing packed), for the small GEMMs whose B sits in L1 (64^3: B is
 * 16 KiB; gemm_driver.c picks it where N is a multiple of 64 and K x N is
 * at most direct_wide_max_kn).
 *
 * Why a second unpacked tile beside the 14x32 one: per k the 14x32 tile
 * loads 2 B vectors and broadcasts 14 A elements from 14 rows reached
 * through 4 base pointers and scaled indices, 16 loads for 28 FMAs
 * (0.57 a FMA). This tile loads 4 B vectors (one 256-byte row of the
 * tile's B) and broadcasts 6 A elements, 10 loads for 24 FMAs (0.42), from
 * 6 plain row pointers. Measured on the kernel loops alone (1 thread,
 * thread CPU time, best of 40, 4 rounds, strides not known at compile
 * time), against the 14x32 unpacked tile: 64^3 1.08-1.11x (181 against
 * 166 GFLOP/s), 128^3 1.03-1.06x.
 *
 * Register plan (32 zmm): 24 accumulators (row r: c[r][0..3], 16 columns
 * each), 4 B vectors, 1 broadcast of A[r, p]. 24 independent FMA chains
 * cover 2 FMA pipes x 4 cycles of latency three times over; the 4-row edge
 * tile (64 = 10 x 6 + 4) still has 16.
 *
 * Operands: op(A) = A row-major, element (r, p) at a[r*lda + p] (rows >= m
 * never read); op(B) = B row-major, element (p, j) at b[p*ldb + j], loaded
 * under the 4 column masks (columns >= n never read, their lanes zero).
 *
 * Numerics: each accumulator lane is one element's FMA chain in k order
 * from +0, then the contract's epilogue (gemm-avx512.h): the bits of the
 * 14x32 tiles and of the packed path (src/gemm_driver.h).
 */
#include <assert.h>

#include "gemm-avx512.h"

static inline __attribute__((always_inline))
void body6x64(const int M, const int FULL, size_t n, size_t k, const float *a, ptrdiff_t lda,
              const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc, float alpha, float beta) {
    __m512 acc[6][4];
    __mmask16 km[4];
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++)
        km[q] = nb_avx512_gemm_mask(n > (size_t)(16 * q) ? n - (size_t)(16 * q) : 0);
#pragma GCC unroll 6
    for (int r = 0; r < M; r++) {
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++) acc[r][q] = _mm512_setzero_ps();
        _mm_prefetch((const char *)(c + (ptrdiff_t)r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + (ptrdiff_t)r * ldc + 32), _MM_HINT_T0);
    }
    const float *ar[6];
#pragma GCC unroll 6
    for (int r = 0; r < 6; r++) ar[r] = a + (ptrdiff_t)(r < M ? r : 0) * lda;
    for (size_t p = 0; p < k; p++) {
        __m512 bv[4];
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++)
            bv[q] = FULL ? _mm512_loadu_ps(b + 16 * q) : _mm512_maskz_loadu_ps(km[q], b + 16 * q);
#pragma GCC unroll 6
        for (int r = 0; r < M; r++) {
            const __m512 x = _mm512_set1_ps(ar[r][p]);
#pragma GCC unroll 4
            for (int q = 0; q < 4; q++) acc[r][q] = _mm512_fmadd_ps(x, bv[q], acc[r][q]);
        }
        b += ldb;
    }
    const __m512 valpha = _mm512_set1_ps(alpha), vbeta = _mm512_set1_ps(beta);
    const int mode = nb_avx512_epilogue_mode(alpha, beta);
#pragma GCC unroll 6
    for (int r = 0; r < M; r++)
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++)
            nb_avx512_gemm_store(mode, acc[r][q], valpha, vbeta, km[q],
                                 c + (ptrdiff_t)r * ldc + 16 * q);
}

void nb_f32_gemm_ukernel_6x64__avx512_direct(size_t m, size_t n, size_t k, const float *restrict a,
                                             ptrdiff_t lda, const float *restrict b, ptrdiff_t ldb,
                                             float *restrict c, ptrdiff_t ldc, float alpha,
                                             float beta) {
    assert(m >= 1 && m <= 6 && n >= 1 && n <= 64 && k >= 1);
    /* Constant row counts keep the accumulators in registers; full-width
       tiles (the driver's only ones) load B unmasked: with the masks GCC
       spills a B vector to the stack every k (0.79x the 14x32 tile). */
#define NB_BODY(M) (n == 64 ? body6x64(M, 1, n, k, a, lda, b, ldb, c, ldc, alpha, beta) \
                            : body6x64(M, 0, n, k, a, lda, b, ldb, c, ldc, alpha, beta))
    switch (m) {
    case 1: NB_BODY(1); break;
    case 2: NB_BODY(2); break;
    case 3: NB_BODY(3); break;
    case 4: NB_BODY(4); break;
    case 5: NB_BODY(5); break;
    default: NB_BODY(6); break;
    }
#undef NB_BODY
}
