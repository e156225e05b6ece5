/* Implicit im2col: the forward convolution's B micro-panels (16 output
 * pixels wide, the 6x16 GEMM kernel's NR) packed straight from the image
 * (contract: nb_conv_pack_b_fn in src/conv_driver.h). Exact (a copy).
 *
 * Panel by panel, row by row: each packed row is 16 floats written with two
 * aligned stores, read as the plan entry of its (panel, r, s) says:
 *   FULL    two unaligned loads (the interior of the image: most rows);
 *   CONTIG  two masked loads (a row next to the padding, or the pixels of
 *           the last partial panel); masked-off lanes are neither read nor
 *           faulted on and load as 0;
 *   GATHER  two masked gathers (the panel's pixels wrap to the next output
 *           row and the input rows are not back to back: Q != W);
 *   ZERO    two stores of zeros.
 * The channel advances every RS rows, so one panel's RS plan entries
 * (RS x 160 bytes) stay in L1 while its KC rows are written.
 */
#include <stdint.h>

#include <immintrin.h>

#include "conv-avx2.h"

/* xc + off as an address, without forming an out-of-bounds pointer in C
   (off may be negative in a CONTIG row whose first lanes are padding). */
static inline const float *at(const float *xc, int32_t off) {
    return (const float *)((uintptr_t)xc + (uintptr_t)((intptr_t)off * (intptr_t)sizeof(float)));
}

void nb_f32_packb_im2col_ukernel_16__avx2(const nb_conv_tap *plan, int64_t rs, int64_t l0,
                                          int64_t kc, int64_t panels, const float *x, int64_t hw,
                                          float *dst) {
    const __m256 zero = _mm256_setzero_ps();
    for (int64_t p = 0; p < panels; p++) {
        const nb_conv_tap *pl = plan + p * rs;
        int64_t t = l0 % rs;
        const float *xc = x + (l0 / rs) * hw;
        float *o = dst + p * kc * 16;
        for (int64_t l = 0; l < kc; l++, o += 16) {
            const nb_conv_tap *e = pl + t;
            __m256 v0 = zero, v1 = zero;
            switch (e->kind) {
            case NB_TAP_FULL:
                v0 = _mm256_loadu_ps(at(xc, e->base));
                v1 = _mm256_loadu_ps(at(xc, e->base + 8));
                break;
            case NB_TAP_CONTIG:
                v0 = _mm256_maskload_ps(at(xc, e->base), _mm256_load_si256((const __m256i *)e->mask));
                v1 = _mm256_maskload_ps(at(xc, e->base + 8),
                                        _mm256_load_si256((const __m256i *)(e->mask + 8)));
                break;
            case NB_TAP_GATHER:
                v0 = _mm256_mask_i32gather_ps(zero, xc, _mm256_load_si256((const __m256i *)e->off),
                                              _mm256_load_ps((const float *)e->mask), 4);
                v1 = _mm256_mask_i32gather_ps(zero, xc, _mm256_load_si256((const __m256i *)(e->off + 8)),
                                              _mm256_load_ps((const float *)(e->mask + 8)), 4);
                break;
            default:
                break;
            }
            _mm256_store_ps(o, v0);
            _mm256_store_ps(o + 8, v1);
            if (++t == rs) {
                t = 0;
                xc += hw;
            }
        }
    }
}
