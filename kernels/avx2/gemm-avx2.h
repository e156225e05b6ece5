/* static inline helpers shared by the AVX2 GEMM kernels (AVX2+FMA TUs only).
 *
 * The epilogue lives here once so that the packed 6x16 tile, its edge tiles
 * and the no-pack small-M kernel round identically (gemm_driver.h):
 *   beta == 0:  c = alpha*acc                 (C not read)
 *   otherwise:  c = fma(beta, c, alpha*acc)
 */
#ifndef NB_GEMM_AVX2_H
#define NB_GEMM_AVX2_H

#include <immintrin.h>

#include "mask-avx2.h"
#include "transpose-avx2.h"
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline __m256 nb_avx2_gemm_epilogue(__m256 acc, __m256 valpha, __m256 vbeta,
                                           const float *c, int read_c) {
    const __m256 t = _mm256_mul_ps(valpha, acc);
    return read_c ? _mm256_fmadd_ps(vbeta, _mm256_loadu_ps(c), t) : t;
}

/* The same epilogue, specialised (callers switch on nb_avx2_epilogue_mode
   once per tile). Same bits: 1*acc == acc exactly, and fma(1, c, t) is the
   correctly rounded c + t. */
enum { NB_EPI_STORE, NB_EPI_SCALE, NB_EPI_ADD, NB_EPI_GENERAL };
static inline int nb_avx2_epilogue_mode(float alpha, float beta) {
    if (beta == 0.0f) return alpha == 1.0f ? NB_EPI_STORE : NB_EPI_SCALE;
    return alpha == 1.0f && beta == 1.0f ? NB_EPI_ADD : NB_EPI_GENERAL;
}
static inline __attribute__((always_inline))
__m256 nb_avx2_gemm_epilogue_mode(int mode, __m256 acc, __m256 valpha, __m256 vbeta, const float *c) {
    switch (mode) {
    case NB_EPI_STORE: return acc;
    case NB_EPI_SCALE: return _mm256_mul_ps(valpha, acc);
    case NB_EPI_ADD:   return _mm256_add_ps(_mm256_loadu_ps(c), acc);
    default:           return _mm256_fmadd_ps(vbeta, _mm256_loadu_ps(c), _mm256_mul_ps(valpha, acc));
    }
}

/* One lane of the same: alpha*acc rounds like _mm256_mul_ps and fmaf like
   _mm256_fmadd_ps (both correctly rounded IEEE operations). */
static inline float nb_avx2_gemm_epilogue1(float acc, float alpha, float beta,
                                           const float *c, int read_c) {
    const float t = alpha * acc;
    return read_c ? fmaf(beta, *c, t) : t;
}




/* The epilogue of a 6x16 tile held in 12 accumulators (row r in cr0, cr1),
 * shared by the packed and the direct-A kernels. Tiles 16 columns wide go
 * straight to C, rows 0..m-1 only; narrower edge tiles (n < 16) run the
 * epilogue on a stack copy of the valid part of C (loaded only when
 * beta != 0) and copy only that part back, so C is never read or written
 * outside [0:m, 0:n]. */
static inline __attribute__((always_inline))
void nb_avx2_store_6x16(size_t m, size_t n, float *c, ptrdiff_t ldc, float alpha, float beta,
                        __m256 c00, __m256 c01, __m256 c10, __m256 c11, __m256 c20, __m256 c21,
                        __m256 c30, __m256 c31, __m256 c40, __m256 c41, __m256 c50, __m256 c51) {
    const __m256 valpha = _mm256_set1_ps(alpha), vbeta = _mm256_set1_ps(beta);
    const int read_c = beta != 0.0f;
    /* Full-width tiles (n == 16, the only edge of most problems: M % 6 rows)
       store straight to C, row by row up to m; narrower ones go through a
       stack tile. */
    const int full_width = n == 16;
    _Alignas(32) float tile[6 * 16];
    float *out = c;
    ptrdiff_t ldo = ldc;
    if (!full_width) {
        out = tile;
        ldo = 16;
        memset(tile, 0, sizeof tile);
        if (read_c)
            for (size_t r = 0; r < m; r++) memcpy(tile + r * 16, c + (ptrdiff_t)r * ldc, n * sizeof(float));
    }
    /* In the stack tile every row is computed (branch-free; rows beyond m
       hold padding results that are never copied out); on C only rows < m. */
    const size_t rows = full_width ? m : 6;
#define NB_ROW(mode, r, lo, hi)                                                                  \
    if ((r) < rows) {                                                                            \
        _mm256_storeu_ps(out + (r) * ldo, nb_avx2_gemm_epilogue_mode(mode, lo, valpha, vbeta, out + (r) * ldo)); \
        _mm256_storeu_ps(out + (r) * ldo + 8, nb_avx2_gemm_epilogue_mode(mode, hi, valpha, vbeta, out + (r) * ldo + 8)); \
    }
#define NB_TILE(mode)                                                                         \
    NB_ROW(mode, 0, c00, c01) NB_ROW(mode, 1, c10, c11) NB_ROW(mode, 2, c20, c21)              \
    NB_ROW(mode, 3, c30, c31) NB_ROW(mode, 4, c40, c41) NB_ROW(mode, 5, c50, c51)
    switch (nb_avx2_epilogue_mode(alpha, beta)) {
    case NB_EPI_STORE: NB_TILE(NB_EPI_STORE) break;
    case NB_EPI_SCALE: NB_TILE(NB_EPI_SCALE) break;
    case NB_EPI_ADD:   NB_TILE(NB_EPI_ADD) break;
    default:           NB_TILE(NB_EPI_GENERAL) break;
    }
    if (!full_width)
        for (size_t r = 0; r < m; r++) memcpy(c + (ptrdiff_t)r * ldc, tile + r * 16, n * sizeof(float));
#undef NB_TILE
#undef NB_ROW
}

#endif
