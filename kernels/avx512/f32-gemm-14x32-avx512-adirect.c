/* f32 GEMM micro-kernel, 14x32 tile, AVX-512F, A read in place (not
 * packed): the packed tile's loop (gemm-14x32-avx512.h, same FMA order and
 * epilogue, hence the same bits) with op(A) = A stored row-major, element
 * (r, p) at a[r*lda + p]; b is a packed 32-column B micro-panel.
 *
 * Used by the driver when packing A would not pay for itself: few column
 * panels reuse each A block (64^3: 2 panels; the 3136x64x576 im2col GEMM:
 * 2), where the 14-row A packer's gathers cost more than they save. Each k
 * reads one float of each of the m rows (m sequential streams, L1/L2
 * resident within a KC block). Rows r >= m are never read.
 */
#include <assert.h>

#include "gemm-14x32-avx512.h"

void nb_f32_gemm_ukernel_14x32__avx512_adirect(size_t m, size_t n, size_t k, const float *restrict a,
                                               ptrdiff_t lda, const float *restrict b,
                                               float *restrict c, ptrdiff_t ldc, float alpha,
                                               float beta) {
    assert(m >= 1 && m <= 14 && n >= 1 && n <= 32 && k >= 1);
    assert(((uintptr_t)b & 63) == 0);
#define NB_BODY(M) nb_avx512_14x32_body(M, 1, n, k, a, lda, b, 32, c, ldc, alpha, beta, NULL)
    NB_AVX512_14_CASES(m, NB_BODY)
#undef NB_BODY
}
