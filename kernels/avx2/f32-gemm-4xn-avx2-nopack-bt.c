/* f32 GEMM, few rows, B transposed, no packing (small-M path), AVX2+FMA.
 *
 * C[0:m,0:n] = alpha * op(A) * B^T + beta * C for the whole K, m <= 4, with
 * B stored N x K (row j of B is column j of op(B); b[j*ldb + p]) and op(A)[i,p]
 * at a[i*rs_a + p*cs_a]. This is x W^T of a linear layer (PyTorch stores W
 * as out x in) for a small batch: B is streamed once, 8 rows at a time
 * (8 sequential streams), instead of being packed.
 *
 * Eight columns of C are one vector: 8 rows of B x 8 k are loaded and
 * transposed in registers (nb_avx2_transpose8x8, transpose-avx2.h), so lane j of vector p holds
 * op(B)[p, j]; each accumulator lane then receives one FMA per k in k order.
 * K is cut into the driver's KC blocks inside the kernel (so B is read along
 * whole rows), with the packed kernel's epilogue per block: the same
 * per-element sequence, hence the same bits as the packed path
 * (src/gemm_driver.h). k tails use masked loads (no read past a row of B),
 * missing rows of B (n not a multiple of 8) are zero vectors and never
 * loaded, and the column tail of C takes the scalar twin of the epilogue.
 */
#include <assert.h>

#include "gemm-avx2.h"
#include "ukernel.h"

/* JB blocks of 8 columns at once. Each accumulator receives 8 dependent
   FMAs per 8 k, so more blocks would hide more FMA latency, but 8 JB rows
   of B then stream in parallel: measured, JB = 2 or 4 ran at half the
   bandwidth of JB = 1 for 1024 x 1024 and larger B (too many streams for
   the prefetchers), and won only on small, cache-resident B. JB = 1. */
static inline __attribute__((always_inline))
void bt_block(const size_t M, const size_t JB, size_t n, size_t K, size_t kc, const float *a,
              ptrdiff_t rs_a, ptrdiff_t cs_a, const float *b, ptrdiff_t ldb, float *c,
              ptrdiff_t ldc, float alpha, float beta) {
    const float *brow[4][8];
    for (size_t jb = 0; jb < JB; jb++)
        for (size_t q = 0; q < 8; q++)
            brow[jb][q] = jb * 8 + q < n ? b + (ptrdiff_t)(jb * 8 + q) * ldb : NULL;
    const __m256 valpha = _mm256_set1_ps(alpha);
    for (size_t p0 = 0; p0 < K; p0 += kc) {
        const size_t pe = p0 + kc < K ? p0 + kc : K;
        const float bp = p0 == 0 ? beta : 1.0f;
        __m256 acc[4][4];
        for (size_t jb = 0; jb < JB; jb++)
            for (size_t i = 0; i < M; i++) acc[jb][i] = _mm256_setzero_ps();
        for (size_t p = p0; p < pe; p += 8) {
            const size_t kk = pe - p < 8 ? pe - p : 8;
            const __m256i mask = nb_avx2_lane_mask(kk);
            /* One block at a time (8 live vectors for the transpose); the
               FMA chains of different blocks are independent, so the
               out-of-order core overlaps them. */
            for (size_t jb = 0; jb < JB; jb++) {
                __m256 t[8];
                /* Fetch each of the 8 rows of B 1 KiB ahead, once per line
                   (measured: +15% at 4096 x 4096 over the hardware
                   prefetchers alone). */
                if ((p & 15) == 0)
                    for (size_t q = 0; q < 8; q++)
                        if (brow[jb][q]) _mm_prefetch((const char *)(brow[jb][q] + p + 256), _MM_HINT_T0);
                for (size_t q = 0; q < 8; q++)
                    t[q] = !brow[jb][q] ? _mm256_setzero_ps()
                         : kk == 8 ? _mm256_loadu_ps(brow[jb][q] + p)
                                   : _mm256_maskload_ps(brow[jb][q] + p, mask);
                nb_avx2_transpose8x8(t);
                for (size_t s = 0; s < kk; s++)
                    for (size_t i = 0; i < M; i++)
                        acc[jb][i] = _mm256_fmadd_ps(
                            _mm256_broadcast_ss(a + (ptrdiff_t)i * rs_a + (ptrdiff_t)(p + s) * cs_a),
                            t[s], acc[jb][i]);
            }
        }
        const __m256 vbeta = _mm256_set1_ps(bp);
        const int mode = nb_avx2_epilogue_mode(alpha, bp);
        for (size_t jb = 0; jb < JB && jb * 8 < n; jb++) {
            const size_t nn = n - jb * 8 < 8 ? n - jb * 8 : 8;
            for (size_t i = 0; i < M; i++) {
                float *ci = c + (ptrdiff_t)i * ldc + jb * 8;
                if (nn == 8) {
                    _mm256_storeu_ps(ci, nb_avx2_gemm_epilogue_mode(mode, acc[jb][i], valpha, vbeta, ci));
                } else {
                    _Alignas(32) float lanes[8];
                    _mm256_store_ps(lanes, acc[jb][i]);
                    for (size_t j = 0; j < nn; j++)
                        ci[j] = nb_avx2_gemm_epilogue1(lanes[j], alpha, bp, ci + j, bp != 0.0f);
                }
            }
        }
    }
}

void nb_f32_gemm_ukernel_4xn__avx2_nopack_bt(size_t m, size_t n, size_t K, size_t kc,
                                             const float *restrict a, ptrdiff_t rs_a, ptrdiff_t cs_a,
                                             const float *restrict b, ptrdiff_t ldb,
                                             float *restrict c, ptrdiff_t ldc, float alpha, float beta) {
    assert(m >= 1 && m <= 4 && n >= 1 && K >= 1 && kc >= 1);
    const size_t w = 8;   /* JB = 1 */   /* columns per step: JB = 4 or 2 */
    for (size_t j = 0; j < n; j += w) {
        const size_t nj = n - j < w ? n - j : w;
        const float *bj = b + (ptrdiff_t)j * ldb;
        float *cj = c + j;
        /* Constant row and block counts keep the accumulators in registers. */
        switch (m) {
        case 1: bt_block(1, 1, nj, K, kc, a, rs_a, cs_a, bj, ldb, cj, ldc, alpha, beta); break;
        case 2: bt_block(2, 1, nj, K, kc, a, rs_a, cs_a, bj, ldb, cj, ldc, alpha, beta); break;
        case 3: bt_block(3, 1, nj, K, kc, a, rs_a, cs_a, bj, ldb, cj, ldc, alpha, beta); break;
        default: bt_block(4, 1, nj, K, kc, a, rs_a, cs_a, bj, ldb, cj, ldc, alpha, beta); break;
        }
    }
}
