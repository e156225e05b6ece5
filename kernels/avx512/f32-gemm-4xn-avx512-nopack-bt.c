/* f32 GEMM, few rows, B transposed, no packing (small-M path), AVX-512F.
 *
 * C[0:m,0:n] = alpha * op(A) * B^T + beta * C for the whole K, m <= 4, with
 * B stored N x K (b[j*ldb + p]) and op(A)[i,p] at a[i*rs_a + p*cs_a]: x W^T
 * of a linear layer for a small batch. B is streamed once, 16 rows at a
 * time, instead of being packed.
 *
 * Sixteen columns of C are one zmm: 16 rows of B x 16 k are loaded and
 * transposed in registers (nb_avx512_tile16x16_lines for whole tiles: one
 * 512-bit load per row; nb_avx512_tile16x16 with masks at the edges;
 * reduce-avx512.h), so lane
 * j of vector s holds op(B)[p + s, j]; each accumulator lane then receives
 * one FMA per k in k order. Register plan: 16 transposed B vectors, m
 * accumulators, the broadcasts of A from memory. K is cut into the
 * driver's KC blocks inside the kernel (so B is read along whole rows),
 * with the packed kernel's epilogue per block: the same per-element
 * sequence, hence the same bits as the packed path (src/gemm_driver.h).
 * k tails and missing rows of B (n not a multiple of 16) are masked loads
 * (nothing past a row or past the last row is read); C is stored under the
 * column mask.
 *
 * Tried and not kept (session 9, 1x4096x4096): prefetching the next 16 rows
 * of B (one 256 KiB run when ldb == K) in memory order, 1 KiB per tile into
 * L2, during the current block, with one call per thread so every block but
 * the first has its rows fetched ahead: 2.9 -> 3.5-3.7 ms (T1, T2, one or
 * two blocks ahead, with or without the per-row prefetch). The likely cause
 * is that software prefetches hold L1 fill buffers as demand misses do, so
 * they cut the misses in flight instead of adding to them. A caller that
 * reuses B should pack it once (nb_sgemm_pack_b): the prepacked GEMV reads
 * it as one run per KC block at the machine's read bandwidth.
 *
 * Session 12 (Zen 4, 1 MiB L2, 8-way 32 KiB L1): the whole tiles now load
 * each row's line once (nb_avx512_tile16x16_lines) instead of four 128-bit
 * inserts per line: with ldb = 4096 the 16 rows share one L1 set and the
 * line was evicted between its reads (7.9 -> 9.9 GFLOP/s at 1x4096x4096,
 * XNNPACK 10.4-10.9 in the same runs). The L1 prefetches (each row 512 B
 * ahead, and the next 16 rows' first lines) became T1 prefetches 2 KiB
 * ahead (NB_BT_PF_BYTES).
 */
#include <assert.h>

#include "gemm-avx512.h"
#include "reduce-avx512.h"

/* Each row of B is prefetched 2 KiB ahead with the T1 hint, once per line
   (session 12, Zen 4, harness alternating with the read probe over the same
   64 MiB): T1 at 1 or 2 KiB ran at 113-117 % of the probe on a loaded
   machine and 73-83 % on a quiet one, no prefetch at 103-106 % and 68-72 %;
   the T0 hint (into L1, where the 16 rows share one set) at 512 B 95-99 %,
   at 1 or 2 KiB 71-78 %; NTA at 4 KiB 77 %. */
#define NB_BT_PF_BYTES 2048

static inline __attribute__((always_inline))
void bt_fma(const size_t M, size_t kk, const float *a, ptrdiff_t rs_a, ptrdiff_t cs_a, const __m512 t[16],
            __m512 acc[4]) {
    for (size_t s = 0; s < kk; s++)
        for (size_t i = 0; i < M; i++)
            acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(a[(ptrdiff_t)i * rs_a + (ptrdiff_t)s * cs_a]), t[s], acc[i]);
}

static inline __attribute__((always_inline))
void bt_block(const size_t M, size_t n, size_t K, size_t kc, const float *a, ptrdiff_t rs_a,
              ptrdiff_t cs_a, const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc, float alpha,
              float beta) {
    const __m512 valpha = _mm512_set1_ps(alpha);
    const __mmask16 cols = nb_avx512_gemm_mask(n);
    for (size_t p0 = 0; p0 < K; p0 += kc) {
        const size_t pe = p0 + kc < K ? p0 + kc : K;
        const float bp = p0 == 0 ? beta : 1.0f;
        __m512 acc[4];
        for (size_t i = 0; i < M; i++) acc[i] = _mm512_setzero_ps();
        size_t p = p0;
        /* Whole tiles: one 512-bit load per row of B (reduce-avx512.h). */
        if (n == 16) {
            for (; p + 16 <= pe; p += 16) {
                /* Integer addresses: past the last row a prefetch is
                   harmless, a pointer would not be. */
                const uintptr_t pf = (uintptr_t)(b + p) + NB_BT_PF_BYTES;
                for (size_t q = 0; q < 16; q++)
                    _mm_prefetch((const char *)(pf + q * (uintptr_t)ldb * sizeof(float)), _MM_HINT_T1);
                __m512 t[16];
                nb_avx512_tile16x16_lines(b + p, ldb, t);
                bt_fma(M, 16, a + (ptrdiff_t)p * cs_a, rs_a, cs_a, t, acc);
            }
        }
        for (; p < pe; p += 16) {
            const size_t kk = pe - p < 16 ? pe - p : 16;
            __m512 t[16];
            nb_avx512_tile16x16(b + p, ldb, (int64_t)n, (int64_t)kk, t);
            bt_fma(M, kk, a + (ptrdiff_t)p * cs_a, rs_a, cs_a, t, acc);
        }
        const __m512 vbeta = _mm512_set1_ps(bp);
        const int mode = nb_avx512_epilogue_mode(alpha, bp);
        for (size_t i = 0; i < M; i++)
            nb_avx512_gemm_store(mode, acc[i], valpha, vbeta, cols, c + (ptrdiff_t)i * ldc);
    }
}

void nb_f32_gemm_ukernel_4xn__avx512_nopack_bt(size_t m, size_t n, size_t K, size_t kc,
                                               const float *restrict a, ptrdiff_t rs_a, ptrdiff_t cs_a,
                                               const float *restrict b, ptrdiff_t ldb,
                                               float *restrict c, ptrdiff_t ldc, float alpha, float beta) {
    assert(m >= 1 && m <= 4 && n >= 1 && K >= 1 && kc >= 1);
    for (size_t j = 0; j < n; j += 16) {
        const size_t nj = n - j < 16 ? n - j : 16;
        const float *bj = b + (ptrdiff_t)j * ldb;
        float *cj = c + j;
        /* Constant row counts keep the accumulators in registers; the
           GEMV's full 16-row blocks get constant n too (no per-step row
           checks). */
        if (nj == 16 && m == 1)
            bt_block(1, 16, K, kc, a, rs_a, cs_a, bj, ldb, cj, ldc, alpha, beta);
        else switch (m) {
        case 1: bt_block(1, nj, K, kc, a, rs_a, cs_a, bj, ldb, cj, ldc, alpha, beta); break;
        case 2: bt_block(2, nj, K, kc, a, rs_a, cs_a, bj, ldb, cj, ldc, alpha, beta); break;
        case 3: bt_block(3, nj, K, kc, a, rs_a, cs_a, bj, ldb, cj, ldc, alpha, beta); break;
        default: bt_block(4, nj, K, kc, a, rs_a, cs_a, bj, ldb, cj, ldc, alpha, beta); break;
        }
    }
}
