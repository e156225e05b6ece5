/* f32 GEMM micro-kernel, 14x32 tile, AVX-512F, that packs B as it goes:
 * op(B) = B row-major (element (p, j) at b[p*ldb + j]) is read in place
 * under the column masks, as by the direct tile, and each k's 32 columns
 * are also stored to bpk as group p of the packed B micro-panel (k groups
 * of 32 floats, columns >= n zero: the packer's panel, bit for bit). A is
 * a packed micro-panel (lda == 0) or read in place (lda != 0, as the
 * A-in-place tile). The packed tile's loop (gemm-14x32-avx512.h): same
 * FMA order and epilogue, hence the same bits.
 *
 * Why: the driver runs it on the first row panel of each B panel instead
 * of packing the B block first (gemm_driver.c), so the copy rides in the
 * slack of an FMA-bound loop (2 stores a k against 28 FMA cycles) instead
 * of a separate pass over B that the FMAs wait for.
 */
#include <assert.h>

#include "gemm-14x32-avx512.h"

void nb_f32_gemm_ukernel_14x32__avx512_packb(size_t m, size_t n, size_t k, const float *restrict a,
                                             ptrdiff_t lda, const float *restrict b, ptrdiff_t ldb,
                                             float *restrict bpk, float *restrict c, ptrdiff_t ldc,
                                             float alpha, float beta) {
    assert(m >= 1 && m <= 14 && n >= 1 && n <= 32 && k >= 1);
    assert(((uintptr_t)bpk & 63) == 0);
    if (lda == 0) {
#define NB_BODY(M) nb_avx512_14x32_body(M, 3, n, k, a, 0, b, ldb, c, ldc, alpha, beta, bpk)
        NB_AVX512_14_CASES(m, NB_BODY)
#undef NB_BODY
    } else {
#define NB_BODY(M) nb_avx512_14x32_body(M, 4, n, k, a, lda, b, ldb, c, ldc, alpha, beta, bpk)
        NB_AVX512_14_CASES(m, NB_BODY)
#undef NB_BODY
    }
}
