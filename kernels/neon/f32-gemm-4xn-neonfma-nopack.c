/* f32 GEMM, few rows, no packing (small-M path), AArch64 Advanced SIMD + FMA.
 *
 * C[0:m,0:n] = alpha * op(A)[0:m,0:k] * B[0:k,0:n] + beta * C for one KC
 * block, m <= 4, n <= NB_ROWS_N, reading op(A)[i,p] at a[i*rs_a + p*cs_a]
 * and B[p,j] at b[p*ldb + j] in place: a GEMV-like call (M = 1, 4096x4096)
 * streams B once, row after row, at memory bandwidth instead of packing it.
 *
 * Accumulators live in a stack tile (m x n floats, 16 KiB at most: L1
 * resident) rather than registers, so that B is walked along whole rows,
 * 4 rows at a time (4 sequential streams the hardware prefetcher follows).
 * The 4 A values of a row for those 4 k sit in one register and are used by
 * lane (FMLA by element); GCC 12 hoists them into 16 broadcast registers
 * instead, which still fits: the m = 4 inner loop is 4 B loads, 4 tile
 * loads, 16 FMLA and 4 tile stores per 4 columns, no spill.
 *
 * The element order is the packed kernel's exactly: acc starts at +0, one
 * FMA per k in k order, then nb_neon_gemm_epilogue, so a row computed here
 * has the same bits as the same row computed inside a batch by the 8x12
 * kernel (gemm_driver.h). The column tail (n % 4) is scalar: fmaf is the same
 * fused operation as FMLA, so the bits do not depend on the column either;
 * nothing past the last column of a B row is read.
 */
#include <assert.h>
#include <string.h>

#include "gemm-neon.h"
#include "ukernel.h"

#define NB_ROWS_M 4
#define NB_ROWS_N 1024

static inline __attribute__((always_inline))
void rows_body(const size_t M, size_t n, size_t k, const float *a, ptrdiff_t rs_a, ptrdiff_t cs_a,
               const float *b, ptrdiff_t ldb, float *acc) {
    const size_t nv = n & ~(size_t)3;
#define NB_A(i, p) a[(ptrdiff_t)(i) * rs_a + (ptrdiff_t)(p) * cs_a]
    size_t p = 0;
    for (; p + 4 <= k; p += 4) {
        float32x4_t av[NB_ROWS_M];
        for (size_t i = 0; i < M; i++) {
            const float t[4] = {NB_A(i, p), NB_A(i, p + 1), NB_A(i, p + 2), NB_A(i, p + 3)};
            av[i] = vld1q_f32(t);
        }
        const float *b0 = b + (ptrdiff_t)p * ldb, *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb;
        for (size_t j = 0; j < nv; j += 4) {
            const float32x4_t x0 = vld1q_f32(b0 + j), x1 = vld1q_f32(b1 + j);
            const float32x4_t x2 = vld1q_f32(b2 + j), x3 = vld1q_f32(b3 + j);
            for (size_t i = 0; i < M; i++) {
                float *ac = acc + i * NB_ROWS_N + j;
                float32x4_t s = vld1q_f32(ac);
                s = vfmaq_laneq_f32(s, x0, av[i], 0);
                s = vfmaq_laneq_f32(s, x1, av[i], 1);
                s = vfmaq_laneq_f32(s, x2, av[i], 2);
                s = vfmaq_laneq_f32(s, x3, av[i], 3);
                vst1q_f32(ac, s);
            }
        }
        for (size_t j = nv; j < n; j++)
            for (size_t i = 0; i < M; i++) {
                float s = acc[i * NB_ROWS_N + j];
                s = fmaf(NB_A(i, p), b0[j], s);
                s = fmaf(NB_A(i, p + 1), b1[j], s);
                s = fmaf(NB_A(i, p + 2), b2[j], s);
                s = fmaf(NB_A(i, p + 3), b3[j], s);
                acc[i * NB_ROWS_N + j] = s;
            }
    }
    for (; p < k; p++) {
        float32x4_t av[NB_ROWS_M];
        for (size_t i = 0; i < M; i++) av[i] = vdupq_n_f32(NB_A(i, p));
        const float *b0 = b + (ptrdiff_t)p * ldb;
        for (size_t j = 0; j < nv; j += 4) {
            const float32x4_t x0 = vld1q_f32(b0 + j);
            for (size_t i = 0; i < M; i++) {
                float *ac = acc + i * NB_ROWS_N + j;
                vst1q_f32(ac, vfmaq_f32(vld1q_f32(ac), x0, av[i]));
            }
        }
        for (size_t j = nv; j < n; j++)
            for (size_t i = 0; i < M; i++)
                acc[i * NB_ROWS_N + j] = fmaf(NB_A(i, p), b0[j], acc[i * NB_ROWS_N + j]);
    }
#undef NB_A
}

void nb_f32_gemm_ukernel_4xn__neonfma_nopack(size_t m, size_t n, size_t k,
                                             const float *restrict a, ptrdiff_t rs_a, ptrdiff_t cs_a,
                                             const float *restrict b, ptrdiff_t ldb,
                                             float *restrict c, ptrdiff_t ldc, float alpha, float beta) {
    assert(m >= 1 && m <= NB_ROWS_M && n >= 1 && n <= NB_ROWS_N && k >= 1);
    _Alignas(64) float acc[NB_ROWS_M * NB_ROWS_N];
    for (size_t i = 0; i < m; i++) memset(acc + i * NB_ROWS_N, 0, n * sizeof(float));
    /* Constant row counts let the compiler keep the A registers live. */
    switch (m) {
    case 1: rows_body(1, n, k, a, rs_a, cs_a, b, ldb, acc); break;
    case 2: rows_body(2, n, k, a, rs_a, cs_a, b, ldb, acc); break;
    case 3: rows_body(3, n, k, a, rs_a, cs_a, b, ldb, acc); break;
    default: rows_body(4, n, k, a, rs_a, cs_a, b, ldb, acc); break;
    }
    const float32x4_t valpha = vdupq_n_f32(alpha), vbeta = vdupq_n_f32(beta);
    const int read_c = beta != 0.0f;
    const size_t nv = n & ~(size_t)3;
    for (size_t i = 0; i < m; i++) {
        float *ci = c + (ptrdiff_t)i * ldc;
        const float *ai = acc + i * NB_ROWS_N;
        for (size_t j = 0; j < nv; j += 4)
            vst1q_f32(ci + j, nb_neon_gemm_epilogue(vld1q_f32(ai + j), valpha, vbeta, ci + j, read_c));
        for (size_t j = nv; j < n; j++)
            ci[j] = nb_neon_gemm_epilogue1(ai[j], alpha, beta, ci + j, read_c);
    }
}
