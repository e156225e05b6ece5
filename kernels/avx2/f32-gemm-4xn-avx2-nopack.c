/* f32 GEMM, few rows, no packing (small-M path), AVX2+FMA.
 *
 * C[0:m,0:n] = alpha * op(A)[0:m,0:k] * B[0:k,0:n] + beta * C for one KC
 * block, m <= 4, n <= NB_ROWS_N, reading op(A)[i,p] at a[i*rs_a + p*cs_a]
 * and B[p,j] at b[p*ldb + j] in place: a GEMV-like call (M = 1, 4096x4096)
 * streams B once, row after row, at memory bandwidth instead of packing it.
 *
 * Accumulators live in a stack tile (m x n floats, L1-resident) rather than
 * registers, so that B is walked along whole rows (4 rows at a time: 4
 * sequential streams the hardware prefetcher follows; 6 at a time when m == 1,
 * see rows_body1). The element order is
 * the packed kernel's exactly: acc starts at +0, one FMA per k in k order,
 * then nb_avx2_gemm_epilogue, so a row computed here has the same bits as
 * the same row computed inside a batch by the 6x16 kernel (gemm_driver.h).
 * The column tail uses masked loads of B (no read past the row) and a scalar
 * epilogue that rounds like the vector one.
 */
#include <assert.h>
#include <string.h>

#include "gemm-avx2.h"
#include "ukernel.h"

#define NB_ROWS_M 4
#define NB_ROWS_N 1024

static inline __attribute__((always_inline))
void rows_body(const size_t M, size_t n, size_t k, const float *a, ptrdiff_t rs_a, ptrdiff_t cs_a,
               const float *b, ptrdiff_t ldb, float *acc) {
    const size_t nv = n & ~(size_t)7;
    const __m256i tail = nb_avx2_lane_mask(n - nv);
    size_t p = 0;
    for (; p + 4 <= k; p += 4) {
        __m256 av[NB_ROWS_M][4];
        for (size_t i = 0; i < M; i++)
            for (size_t q = 0; q < 4; q++)
                av[i][q] = _mm256_broadcast_ss(a + (ptrdiff_t)i * rs_a + (ptrdiff_t)(p + q) * cs_a);
        const float *b0 = b + (ptrdiff_t)p * ldb, *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb;
        for (size_t j = 0; j < n; j += 8) {   /* j < nv: full vector; j == nv: tail */
            __m256 x0, x1, x2, x3;
            if (j < nv) {
                x0 = _mm256_loadu_ps(b0 + j); x1 = _mm256_loadu_ps(b1 + j);
                x2 = _mm256_loadu_ps(b2 + j); x3 = _mm256_loadu_ps(b3 + j);
            } else {
                x0 = _mm256_maskload_ps(b0 + j, tail); x1 = _mm256_maskload_ps(b1 + j, tail);
                x2 = _mm256_maskload_ps(b2 + j, tail); x3 = _mm256_maskload_ps(b3 + j, tail);
            }
            for (size_t i = 0; i < M; i++) {
                float *ac = acc + i * NB_ROWS_N + j;
                __m256 s = _mm256_load_ps(ac);
                s = _mm256_fmadd_ps(av[i][0], x0, s);
                s = _mm256_fmadd_ps(av[i][1], x1, s);
                s = _mm256_fmadd_ps(av[i][2], x2, s);
                s = _mm256_fmadd_ps(av[i][3], x3, s);
                _mm256_store_ps(ac, s);
            }
        }
    }
    for (; p < k; p++) {
        __m256 av[NB_ROWS_M];
        for (size_t i = 0; i < M; i++)
            av[i] = _mm256_broadcast_ss(a + (ptrdiff_t)i * rs_a + (ptrdiff_t)p * cs_a);
        const float *b0 = b + (ptrdiff_t)p * ldb;
        for (size_t j = 0; j < n; j += 8) {
            const __m256 x0 = j < nv ? _mm256_loadu_ps(b0 + j) : _mm256_maskload_ps(b0 + j, tail);
            for (size_t i = 0; i < M; i++) {
                float *ac = acc + i * NB_ROWS_N + j;
                _mm256_store_ps(ac, _mm256_fmadd_ps(av[i], x0, _mm256_load_ps(ac)));
            }
        }
    }
}

/* M = 1 (a GEMV-like call): the accumulator row is loaded and stored once
 * per R rows of B, with the R FMAs applied in k order to the register copy:
 * the same per-element chain as one FMA per row, so the same bits. Measured
 * (1x4096x4096, whole rows of B per call, B bytes/s, read probe ~45 GB/s):
 * R = 1: ~29, 4: ~31-35, 5-7: ~37.5-38, 8: ~36, 10: ~34.5, 12: ~33, 16: ~33
 * (spills the broadcasts). R = 6 divides KC = 384. Software prefetch (rows
 * ahead, or along the row 128-1024 floats ahead) and a 2x column unroll did
 * not help. */
static inline __attribute__((always_inline))
void rows_step1(const int R, size_t n, size_t nv, __m256i tail, const float *ap, ptrdiff_t cs_a,
                const float *b0, ptrdiff_t ldb, float *acc) {
    __m256 av[8];
    for (int q = 0; q < R; q++) av[q] = _mm256_broadcast_ss(ap + (ptrdiff_t)q * cs_a);
    for (size_t j = 0; j < nv; j += 8) {
        __m256 s = _mm256_load_ps(acc + j);
        for (int q = 0; q < R; q++)
            s = _mm256_fmadd_ps(av[q], _mm256_loadu_ps(b0 + (ptrdiff_t)q * ldb + j), s);
        _mm256_store_ps(acc + j, s);
    }
    if (nv < n) {   /* masked loads: nothing past the end of a B row is read */
        __m256 s = _mm256_load_ps(acc + nv);
        for (int q = 0; q < R; q++)
            s = _mm256_fmadd_ps(av[q], _mm256_maskload_ps(b0 + (ptrdiff_t)q * ldb + nv, tail), s);
        _mm256_store_ps(acc + nv, s);
    }
}

static void rows_body1(size_t n, size_t k, const float *a, ptrdiff_t cs_a,
                       const float *b, ptrdiff_t ldb, float *acc) {
    const size_t nv = n & ~(size_t)7;
    const __m256i tail = nb_avx2_lane_mask(n - nv);
    size_t p = 0;
    for (; p + 6 <= k; p += 6)
        rows_step1(6, n, nv, tail, a + (ptrdiff_t)p * cs_a, cs_a, b + (ptrdiff_t)p * ldb, ldb, acc);
    for (; p + 4 <= k; p += 4)
        rows_step1(4, n, nv, tail, a + (ptrdiff_t)p * cs_a, cs_a, b + (ptrdiff_t)p * ldb, ldb, acc);
    for (; p < k; p++)
        rows_step1(1, n, nv, tail, a + (ptrdiff_t)p * cs_a, cs_a, b + (ptrdiff_t)p * ldb, ldb, acc);
}

void nb_f32_gemm_ukernel_4xn__avx2_nopack(size_t m, size_t n, size_t k,
                                          const float *restrict a, ptrdiff_t rs_a, ptrdiff_t cs_a,
                                          const float *restrict b, ptrdiff_t ldb,
                                          float *restrict c, ptrdiff_t ldc, float alpha, float beta) {
    assert(m >= 1 && m <= NB_ROWS_M && n >= 1 && n <= (m == 1 ? NB_ROWS_M * NB_ROWS_N : NB_ROWS_N) && k >= 1);
    _Alignas(64) float acc[NB_ROWS_M * NB_ROWS_N];
    const size_t nr8 = (n + 7) & ~(size_t)7;
    for (size_t i = 0; i < m; i++) memset(acc + i * NB_ROWS_N, 0, nr8 * sizeof(float));
    /* Constant row counts let the compiler keep the broadcasts in registers. */
    switch (m) {
    case 1: rows_body1(n, k, a, cs_a, b, ldb, acc); break;
    case 2: rows_body(2, n, k, a, rs_a, cs_a, b, ldb, acc); break;
    case 3: rows_body(3, n, k, a, rs_a, cs_a, b, ldb, acc); break;
    default: rows_body(4, n, k, a, rs_a, cs_a, b, ldb, acc); break;
    }
    const __m256 valpha = _mm256_set1_ps(alpha), vbeta = _mm256_set1_ps(beta);
    const int read_c = beta != 0.0f;
    const size_t nv = n & ~(size_t)7;
    for (size_t i = 0; i < m; i++) {
        float *ci = c + (ptrdiff_t)i * ldc;
        const float *ai = acc + i * NB_ROWS_N;
        for (size_t j = 0; j < nv; j += 8)
            _mm256_storeu_ps(ci + j, nb_avx2_gemm_epilogue(_mm256_load_ps(ai + j), valpha, vbeta, ci + j, read_c));
        for (size_t j = nv; j < n; j++)
            ci[j] = nb_avx2_gemm_epilogue1(ai[j], alpha, beta, ci + j, read_c);
    }
}
