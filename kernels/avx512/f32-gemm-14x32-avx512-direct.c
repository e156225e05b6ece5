/* f32 GEMM micro-kernel, 14x32 tile, AVX-512F, A and B both read in place
 * (nothing packed): the packed tile's loop (gemm-14x32-avx512.h, same FMA
 * order and epilogue, hence the same bits) with op(A) = A row-major,
 * element (r, p) at a[r*lda + p], and op(B) = B row-major, element (p, j)
 * at b[p*ldb + j]; a row of the tile's 32 columns is loaded under the
 * column masks, so columns >= n are never read.
 *
 * Used by the driver for the small problems the A-in-place tile already
 * takes (N <= adirect_max_n, A and B not transposed) when B is small
 * enough to stay in L2 (gemm_driver.c): packing B there is a copy that no
 * later reuse repays (a 64^3 GEMM spent ~8 % of its time in the B packer).
 */
#include <assert.h>

#include "gemm-14x32-avx512.h"

void nb_f32_gemm_ukernel_14x32__avx512_direct(size_t m, size_t n, size_t k, const float *restrict a,
                                              ptrdiff_t lda, const float *restrict b, ptrdiff_t ldb,
                                              float *restrict c, ptrdiff_t ldc, float alpha,
                                              float beta) {
    assert(m >= 1 && m <= 14 && n >= 1 && n <= 32 && k >= 1);
#define NB_BODY(M) nb_avx512_14x32_body(M, 2, n, k, a, lda, b, ldb, c, ldc, alpha, beta, NULL)
    NB_AVX512_14_CASES(m, NB_BODY)
#undef NB_BODY
}
