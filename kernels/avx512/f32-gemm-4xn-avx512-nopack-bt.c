/* f32 GEMM, few rows, B transposed, no packing (small-M path), AVX-512F.
 *
 * C[0:m,0:n] = alpha * op(A) * B^T + beta * C for the whole K, m <= 4, with
 * B stored N x K (b[j*ldb + p]) and op(A)[i,p] at a[i*rs_a + p*cs_a]: x W^T
 * of a linear layer for a small batch. B is streamed once, 16 rows at a
 * time, instead of being packed.
 *
 * Sixteen columns of C are one zmm: 16 rows of B x 16 k are loaded and
 * transposed in registers (nb_avx512_tile16x16, reduce-avx512.h), so lane
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
 */
#include <assert.h>

#include "gemm-avx512.h"
#include "reduce-avx512.h"

/* How far ahead (in floats) each row of B is prefetched into L1: 512 B, 8
   lines. The L2 streamer runs ahead of each row's 4 KiB page on its own; a
   software prefetch that lands in L2 holds an L1 fill buffer for an L2 hit
   only, one that misses L2 holds it for the whole L3/DRAM trip and takes it
   from the demand loads (see the session 9 note above). 1 KiB ahead likely
   reached past the streamer's lead more often: at 1x4096x4096, 8 lines ran
   3 % faster than 16, and 3-4 % faster than 4 or 12, in interleaved runs. */
#define NB_BT_PF 128

static inline __attribute__((always_inline))
void bt_block(const size_t M, size_t n, size_t nnext, size_t K, size_t kc, const float *a, ptrdiff_t rs_a,
              ptrdiff_t cs_a, const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc, float alpha,
              float beta) {
    const __m512 valpha = _mm512_set1_ps(alpha);
    const __mmask16 cols = nb_avx512_gemm_mask(n);
    for (size_t p0 = 0; p0 < K; p0 += kc) {
        const size_t pe = p0 + kc < K ? p0 + kc : K;
        const float bp = p0 == 0 ? beta : 1.0f;
        __m512 acc[4];
        for (size_t i = 0; i < M; i++) acc[i] = _mm512_setzero_ps();
        for (size_t p = p0; p < pe; p += 16) {
            const size_t kk = pe - p < 16 ? pe - p : 16;
            /* Each of the 16 rows of B, NB_BT_PF floats ahead, once per
               line (the AVX2 kernel measured +15% at 4096 x 4096 over the
               hardware prefetchers alone). Past the end of the rows, the
               starts of the next block's nnext rows instead: that block
               then starts on lines already in flight, not on 16 cold
               misses (no other prefetch would cover its first lines). */
            if (p + NB_BT_PF >= K && nnext > 0) {
                for (size_t q = 0; q < nnext; q++)
                    _mm_prefetch((const char *)(b + (ptrdiff_t)(q + 16) * ldb + (p + NB_BT_PF - K)), _MM_HINT_T0);
            } else {
                for (size_t q = 0; q < n; q++)
                    _mm_prefetch((const char *)(b + (ptrdiff_t)q * ldb + p + NB_BT_PF), _MM_HINT_T0);
            }
            __m512 t[16];
            nb_avx512_tile16x16(b + p, ldb, (int64_t)n, (int64_t)kk, t);
            for (size_t s = 0; s < kk; s++)
                for (size_t i = 0; i < M; i++)
                    acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(a[(ptrdiff_t)i * rs_a + (ptrdiff_t)(p + s) * cs_a]),
                                             t[s], acc[i]);
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
           GEMV's full 16-row blocks get constant n too (the full tile and
           an unrolled prefetch loop, no per-step row checks). */
        const size_t nnext = n - j - nj < 16 ? n - j - nj : 16;
        if (nj == 16 && m == 1)
            bt_block(1, 16, nnext, K, kc, a, rs_a, cs_a, bj, ldb, cj, ldc, alpha, beta);
        else switch (m) {
        case 1: bt_block(1, nj, 0, K, kc, a, rs_a, cs_a, bj, ldb, cj, ldc, alpha, beta); break;
        case 2: bt_block(2, nj, 0, K, kc, a, rs_a, cs_a, bj, ldb, cj, ldc, alpha, beta); break;
        case 3: bt_block(3, nj, 0, K, kc, a, rs_a, cs_a, bj, ldb, cj, ldc, alpha, beta); break;
        default: bt_block(4, nj, 0, K, kc, a, rs_a, cs_a, bj, ldb, cj, ldc, alpha, beta); break;
        }
    }
}
