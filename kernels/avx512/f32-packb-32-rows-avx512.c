/* f32 packing of op(B) into 32-column micro-panels, row by row, AVX-512F
 * (contract: nb_gemm_pack_b_ft in src/ukernel.h; the same panels as
 * nb_f32_packb_ukernel_32__avx512, another order of reads).
 *
 * Why another order: the panel packer fills one panel at a time, so for
 * B stored K x N it reads 128 bytes of each of k rows, then the next 128
 * bytes of each row, and so on: k streams at once, more than the L2
 * streamer follows, and each row a separate page. A pointwise (1x1)
 * convolution reads its image that way (rows of H W pixels, one per
 * channel), straight from memory. Here trans == 0 walks B row by row: row
 * p of the block is read from left to right in full (one stream, which the
 * prefetchers follow) and each 32 floats go to their panel's group p.
 * The destination (k x n floats) is sized by the caller to stay in L2.
 * The AVX-512 SGEMM packs its B blocks with it too (config-avx512.c).
 *
 * trans == 1 (B stored N x K) has no such problem and is left to the
 * SGEMM's packer.
 */
#include <assert.h>

#include "gemm-avx512.h"

#define NR 32

void nb_f32_packb_ukernel_32__avx512_rows(int trans, size_t k, size_t n, const float *b,
                                          ptrdiff_t ldb, float *dst) {
    assert(((uintptr_t)dst & 63) == 0);
    if (trans) {
        nb_f32_packb_ukernel_32__avx512(trans, k, n, b, ldb, dst);
        return;
    }
    const size_t full = n / NR, tail = n % NR;
    const size_t pstride = k * NR;   /* floats from one panel to the next */
    const __mmask16 m0 = nb_avx512_gemm_mask(tail), m1 = nb_avx512_gemm_mask(tail > 16 ? tail - 16 : 0);
    for (size_t p = 0; p < k; p++, b += ldb) {
        float *d = dst + p * NR;
        /* Full panels: 32 floats of the row into group p of each. */
        for (size_t j = 0; j < full; j++, d += pstride) {
            _mm512_store_ps(d, _mm512_loadu_ps(b + j * NR));
            _mm512_store_ps(d + 16, _mm512_loadu_ps(b + j * NR + 16));
        }
        if (tail) {   /* the partial last panel: masked loads, zeros past n */
            _mm512_store_ps(d, _mm512_maskz_loadu_ps(m0, b + full * NR));
            _mm512_store_ps(d + 16, _mm512_maskz_loadu_ps(m1, b + full * NR + 16));
        }
    }
}
