/* f32 GEMM micro-kernel, 4x24 tile, AVX2+FMA, A read in place (not
 * packed), B a packed 24-column micro-panel (k groups of 24 floats).
 *
 * Why: backward-filter of a 1x1 layer with 17..24 filters a group
 * (c144 56x56 k24) computes dwT (channels x filters) = x dy^T with x read
 * in place as A (src/conv_bwd_filter_narrow.c). The 6x16 tile takes 24
 * filters as a full panel and one of 8 columns: a quarter of its FMAs go
 * to empty lanes (0.78x oneDNN). Here all 24 columns are filters.
 *
 * Register plan (16 ymm): 12 accumulators (row r: columns 0-7, 8-15,
 * 16-23), 3 B vectors, 1 broadcast of A[r,p]. Per k: 3 B loads + M
 * broadcasts for 3 M FMAs (7 loads per 12 FMAs at M = 4); 12 independent
 * chains cover 2 FMA pipes x 4 cycles of latency (8 needed). M (rows) is a
 * compile-time constant (switch on m): edge tiles run 3 M FMAs a k, and
 * rows >= m are never read.
 *
 * Numerics: each accumulator lane is one element's FMA chain in k order
 * from +0, then the contract's epilogue (gemm-avx2.h, the mode-specialised
 * form): the bits of the 6x16 tiles. Columns >= n are neither read nor
 * written in C (masked loads and stores).
 */
#include <assert.h>

#include "gemm-avx2.h"
#include "ukernel.h"

static inline __attribute__((always_inline))
void store_row(int mode, __m256 acc, __m256 valpha, __m256 vbeta, size_t n, float *c) {
    if (n >= 8) {
        _mm256_storeu_ps(c, nb_avx2_gemm_epilogue_mode(mode, acc, valpha, vbeta, c));
        return;
    }
    /* a partial group: C read (when the mode reads it) under the lane mask,
       written in 4-, 2- and 1-float pieces (vmaskmovps to memory is
       microcoded on Zen 4, ~12 cycles) */
    const __m256i mk = nb_avx2_lane_mask((int64_t)n);
    _Alignas(32) float t[8];
    _mm256_store_ps(t, _mm256_maskload_ps(c, mk));
    const __m256 o = nb_avx2_gemm_epilogue_mode(mode, acc, valpha, vbeta, t);
    nb_avx2_store_first(c, o, (int64_t)n);   /* plain stores: vmaskmovps is microcoded on AMD */
}

/* Named accumulators (cR0, cR1, cR2 for row R), not an array: GCC kept an
   array of them in memory, storing 8 of the 12 to the stack every k. Rows
   R >= M are compiled out (M is a constant). */
#define NB_ROWS4(X) X(0) X(1) X(2) X(3)

static inline __attribute__((always_inline))
void body_4x24(const int M, size_t n, size_t k, const float *a, ptrdiff_t lda, const float *b,
               float *c, ptrdiff_t ldc, float alpha, float beta) {
#define NB_ZERO(r) __m256 c##r##0 = _mm256_setzero_ps(), c##r##1 = c##r##0, c##r##2 = c##r##0;
    NB_ROWS4(NB_ZERO)
#undef NB_ZERO
    for (int r = 0; r < M; r++) _mm_prefetch((const char *)(c + (ptrdiff_t)r * ldc), _MM_HINT_T0);
    const float *row[4];
    for (int r = 0; r < 4; r++) row[r] = a + (ptrdiff_t)(r < M ? r : 0) * lda;
#pragma GCC unroll 2
    for (size_t p = 0; p < k; p++) {
        const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8), b2 = _mm256_load_ps(b + 16);
#define NB_FMA(r)                                                   \
        if ((r) < M) {                                              \
            const __m256 ar = _mm256_broadcast_ss(row[r] + p);      \
            c##r##0 = _mm256_fmadd_ps(ar, b0, c##r##0);             \
            c##r##1 = _mm256_fmadd_ps(ar, b1, c##r##1);             \
            c##r##2 = _mm256_fmadd_ps(ar, b2, c##r##2);             \
        }
        NB_ROWS4(NB_FMA)
#undef NB_FMA
        b += 24;
    }
    const __m256 valpha = _mm256_set1_ps(alpha), vbeta = _mm256_set1_ps(beta);
    const int mode = nb_avx2_epilogue_mode(alpha, beta);
#define NB_STORE(r)                                                                        \
    if ((r) < M) {                                                                         \
        float *cr = c + (ptrdiff_t)(r) * ldc;                                              \
        store_row(mode, c##r##0, valpha, vbeta, n, cr);                                    \
        if (n > 8) store_row(mode, c##r##1, valpha, vbeta, n - 8, cr + 8);                 \
        if (n > 16) store_row(mode, c##r##2, valpha, vbeta, n - 16, cr + 16);              \
    }
    NB_ROWS4(NB_STORE)
#undef NB_STORE
}

void nb_f32_gemm_ukernel_4x24__avx2_adirect(size_t m, size_t n, size_t k, const float *restrict a,
                                            ptrdiff_t lda, const float *restrict b,
                                            float *restrict c, ptrdiff_t ldc, float alpha, float beta) {
    assert(m >= 1 && m <= 4 && n >= 1 && n <= 24 && k >= 1);
    assert(((uintptr_t)b & 31) == 0);
    switch (m) {
    case 1:  body_4x24(1, n, k, a, lda, b, c, ldc, alpha, beta); break;
    case 2:  body_4x24(2, n, k, a, lda, b, c, ldc, alpha, beta); break;
    case 3:  body_4x24(3, n, k, a, lda, b, c, ldc, alpha, beta); break;
    default: body_4x24(4, n, k, a, lda, b, c, ldc, alpha, beta); break;
    }
}
