/* f32 GEMM micro-kernel, 14x32 tile, AVX-512F: the configured AVX-512
 * tile (config-avx512.c has the measurements against the 14x16, which
 * stays in the registry for comparison).
 *
 * C[0:m,0:n] = alpha * A * B + beta * C for one KC block (contract in
 * src/ukernel.h): a is a packed A micro-panel (k groups of 14 floats, the
 * 14x16 tile's A packer), b a packed B micro-panel (k groups of 32 floats),
 * m <= 14, n <= 32. The loop, register plan and numerics are in
 * gemm-14x32-avx512.h; an edge tile of m < 14 rows runs the m-row
 * instantiation (the zero rows of the packed A are not computed).
 */
#include "gemm-14x32-avx512.h"

void nb_f32_gemm_ukernel_14x32__avx512(size_t m, size_t n, size_t k, const float *restrict a,
                                       const float *restrict b, float *restrict c, ptrdiff_t ldc,
                                       float alpha, float beta) {
#define NB_BODY(M) nb_avx512_14x32_body(M, 0, n, k, a, 0, b, 32, c, ldc, alpha, beta, NULL)
    NB_AVX512_14_CASES(m, NB_BODY)
#undef NB_BODY
}
