/* f32 GEMM, few rows, no packing (small-M path), AVX-512F.
 *
 * C[0:m,0:n] = alpha * op(A)[0:m,0:k] * B[0:k,0:n] + beta * C for one KC
 * block, m <= 4, n <= NB_ROWS_N (4 NB_ROWS_N when m == 1), reading
 * op(A)[i,p] at a[i*rs_a + p*cs_a] and B[p,j] at b[p*ldb + j] in place: a
 * GEMV-like call streams B once, row after row, instead of packing it.
 *
 * Accumulators live in a stack tile (m x n floats, L1-resident) rather than
 * registers, so B is walked along whole rows (4 at a time: 4 sequential
 * streams the hardware prefetcher follows; R at a time when m == 1, see
 * rows_body1). Register plan per 16 columns: 4 B vectors, m accumulator
 * vectors loaded, 4 m FMAs, m stores; the 4 m broadcasts of A stay in
 * registers across the row. The element order is the 14x16 tile's exactly:
 * acc from +0, one FMA per k in k order, then the contract's epilogue, so a
 * row computed here has the bits it gets inside a batch (gemm_driver.h).
 * The column tail is one masked vector (no read past a row of B, nothing
 * written past n in C).
 */
#include <assert.h>
#include <string.h>

#include "gemm-avx512.h"

#define NB_ROWS_M 4
#define NB_ROWS_N 1024

static inline __attribute__((always_inline))
void rows_body(const size_t M, size_t n, size_t k, const float *a, ptrdiff_t rs_a, ptrdiff_t cs_a,
               const float *b, ptrdiff_t ldb, float *acc) {
    size_t p = 0;
    for (; p + 4 <= k; p += 4) {
        __m512 av[NB_ROWS_M][4];
        for (size_t i = 0; i < M; i++)
            for (size_t q = 0; q < 4; q++)
                av[i][q] = _mm512_set1_ps(a[(ptrdiff_t)i * rs_a + (ptrdiff_t)(p + q) * cs_a]);
        const float *b0 = b + (ptrdiff_t)p * ldb, *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb;
        for (size_t j = 0; j < n; j += 16) {
            const __mmask16 t = nb_avx512_gemm_mask(n - j);
            const __m512 x0 = _mm512_maskz_loadu_ps(t, b0 + j), x1 = _mm512_maskz_loadu_ps(t, b1 + j);
            const __m512 x2 = _mm512_maskz_loadu_ps(t, b2 + j), x3 = _mm512_maskz_loadu_ps(t, b3 + j);
            for (size_t i = 0; i < M; i++) {
                float *ac = acc + i * NB_ROWS_N + j;
                __m512 s = _mm512_load_ps(ac);
                s = _mm512_fmadd_ps(av[i][0], x0, s);
                s = _mm512_fmadd_ps(av[i][1], x1, s);
                s = _mm512_fmadd_ps(av[i][2], x2, s);
                s = _mm512_fmadd_ps(av[i][3], x3, s);
                _mm512_store_ps(ac, s);
            }
        }
    }
    for (; p < k; p++) {
        __m512 av[NB_ROWS_M];
        for (size_t i = 0; i < M; i++) av[i] = _mm512_set1_ps(a[(ptrdiff_t)i * rs_a + (ptrdiff_t)p * cs_a]);
        const float *b0 = b + (ptrdiff_t)p * ldb;
        for (size_t j = 0; j < n; j += 16) {
            const __m512 x0 = _mm512_maskz_loadu_ps(nb_avx512_gemm_mask(n - j), b0 + j);
            for (size_t i = 0; i < M; i++) {
                float *ac = acc + i * NB_ROWS_N + j;
                _mm512_store_ps(ac, _mm512_fmadd_ps(av[i], x0, _mm512_load_ps(ac)));
            }
        }
    }
}

/* M = 1 (a GEMV-like call): the accumulator row is loaded and stored once
 * per R rows of B, with the R FMAs applied in k order to the register copy
 * (the same per-element chain as one FMA per row, so the same bits): R
 * sequential B streams and one accumulator round trip per R FMAs.
 * PF: also prefetch the same columns of the next R rows (the next pass),
 * so 2 R streams are in flight instead of R; the call is bound by how many
 * lines one core keeps in flight, and each row restarts the hardware
 * prefetcher at every 4 KiB page. Measured (1 thread, 1x4096x4096 through
 * this kernel, best of 25, two interleaved rounds): 12.96 / 13.66 ->
 * 13.42 / 14.14 GFLOP/s; prefetching 2 KiB ahead in the same rows gained
 * 1 %, 8 rows a pass 0-2 %. */
static inline __attribute__((always_inline))
void rows_step1(const int R, const int PF, size_t n, const float *ap, ptrdiff_t cs_a,
                const float *b0, ptrdiff_t ldb, float *acc) {
    __m512 av[8];
    for (int q = 0; q < R; q++) av[q] = _mm512_set1_ps(ap[(ptrdiff_t)q * cs_a]);
    const size_t nv = n & ~(size_t)15;
    for (size_t j = 0; j < nv; j += 16) {
        __m512 s = _mm512_load_ps(acc + j);
        if (PF)
            for (int q = 0; q < R; q++)
                _mm_prefetch((const char *)(b0 + (ptrdiff_t)(q + R) * ldb + j), _MM_HINT_T0);
        for (int q = 0; q < R; q++)
            s = _mm512_fmadd_ps(av[q], _mm512_loadu_ps(b0 + (ptrdiff_t)q * ldb + j), s);
        _mm512_store_ps(acc + j, s);
    }
    if (nv < n) {
        const __mmask16 t = nb_avx512_gemm_mask(n - nv);
        __m512 s = _mm512_load_ps(acc + nv);
        for (int q = 0; q < R; q++)
            s = _mm512_fmadd_ps(av[q], _mm512_maskz_loadu_ps(t, b0 + (ptrdiff_t)q * ldb + nv), s);
        _mm512_store_ps(acc + nv, s);
    }
}

/* Rows of B per pass when m == 1; divides KC = 384. Tried and not kept
   (session 16, Zen 4, GEMV 1x4096x4096 [K, N], 1 thread): one row a pass
   without prefetching (a single sequential stream of B): 1.79x slower
   (6.23 vs 3.49 ms): ~22 cycles a cache line lost in the core, not in
   memory; the cause was not found. */
#define NB_R1 6

static void rows_body1(size_t n, size_t k, const float *a, ptrdiff_t cs_a, const float *b,
                       ptrdiff_t ldb, float *acc) {
    size_t p = 0;
    /* Prefetch the next pass's rows only while they are inside this block. */
    for (; p + 2 * NB_R1 <= k; p += NB_R1)
        rows_step1(NB_R1, 1, n, a + (ptrdiff_t)p * cs_a, cs_a, b + (ptrdiff_t)p * ldb, ldb, acc);
    for (; p + NB_R1 <= k; p += NB_R1)
        rows_step1(NB_R1, 0, n, a + (ptrdiff_t)p * cs_a, cs_a, b + (ptrdiff_t)p * ldb, ldb, acc);
    for (; p + 4 <= k; p += 4)
        rows_step1(4, 0, n, a + (ptrdiff_t)p * cs_a, cs_a, b + (ptrdiff_t)p * ldb, ldb, acc);
    for (; p < k; p++)
        rows_step1(1, 0, n, a + (ptrdiff_t)p * cs_a, cs_a, b + (ptrdiff_t)p * ldb, ldb, acc);
}

void nb_f32_gemm_ukernel_4xn__avx512_nopack(size_t m, size_t n, size_t k,
                                            const float *restrict a, ptrdiff_t rs_a, ptrdiff_t cs_a,
                                            const float *restrict b, ptrdiff_t ldb,
                                            float *restrict c, ptrdiff_t ldc, float alpha, float beta) {
    assert(m >= 1 && m <= NB_ROWS_M && n >= 1 && n <= (m == 1 ? NB_ROWS_M * NB_ROWS_N : NB_ROWS_N) && k >= 1);
    _Alignas(64) float acc[NB_ROWS_M * NB_ROWS_N];
    const size_t n16 = (n + 15) & ~(size_t)15;
    for (size_t i = 0; i < m; i++) memset(acc + i * NB_ROWS_N, 0, n16 * sizeof(float));
    /* Constant row counts let the compiler keep the broadcasts in registers. */
    switch (m) {
    case 1: rows_body1(n, k, a, cs_a, b, ldb, acc); break;
    case 2: rows_body(2, n, k, a, rs_a, cs_a, b, ldb, acc); break;
    case 3: rows_body(3, n, k, a, rs_a, cs_a, b, ldb, acc); break;
    default: rows_body(4, n, k, a, rs_a, cs_a, b, ldb, acc); break;
    }
    const __m512 valpha = _mm512_set1_ps(alpha), vbeta = _mm512_set1_ps(beta);
    const int mode = nb_avx512_epilogue_mode(alpha, beta);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j += 16)
            nb_avx512_gemm_store(mode, _mm512_load_ps(acc + i * NB_ROWS_N + j), valpha, vbeta,
                                 nb_avx512_gemm_mask(n - j), c + (ptrdiff_t)i * ldc + j);
}
