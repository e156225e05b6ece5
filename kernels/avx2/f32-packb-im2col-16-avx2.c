/* Implicit im2col: the forward convolution's B micro-panels (16 output
 * pixels wide, the 6x16 GEMM kernel's NR) packed straight from the image
 * (contract: nb_conv_pack_b_fn in src/conv_driver.h). Exact (a copy).
 *
 * Panel by panel, row by row: each packed row is 16 floats written with two
 * aligned stores, read as the plan entry of its (panel, r, s) says (the
 * loads below for stride_w 1; with stride_w 2 each half-row loads 16
 * floats, masked on their even elements, and keeps the even ones):
 *   FULL    two unaligned loads (the interior of the image: most rows);
 *   CONTIG  two masked loads (a row next to the padding, or the pixels of
 *           the last partial panel); masked-off lanes are neither read nor
 *           faulted on and load as 0;
 *   SPLIT   four masked loads, two per run (the panel's pixels wrap to the
 *           next output row and the input rows are not back to back:
 *           Q != W), merged with OR (masked-off lanes load +0.0);
 *   GATHER  two masked gathers (anything else: a panel over three output
 *           rows, Q < 16);
 *   ZERO    two stores of zeros.
 * The channel advances every RS rows, so one panel's RS plan entries
 * (RS x 224 bytes) stay in L1 while its KC rows are written.
 */
#include <stdint.h>

#include <immintrin.h>

#include "conv-avx2.h"

_Static_assert(NB_TAP_KINDS == 5, "a new plan kind needs a case here");

/* xc + off as an address, without forming an out-of-bounds pointer in C
   (off may be negative in a CONTIG row whose first lanes are padding). */
static inline const float *at(const float *xc, int32_t off) {
    return (const float *)((uintptr_t)xc + (uintptr_t)((intptr_t)off * (intptr_t)sizeof(float)));
}

static inline __m256i mask8(const int32_t *m) { return _mm256_load_si256((const __m256i *)m); }

/* ---- stride 2: lane i reads x_c[base + 2 i] ---- */

/* 8 lanes, lane i = x_c[off + 2 i] where m (lane mask) is set, else 0: two
   masked loads of 8 floats whose even positions carry the lane masks (the
   odd elements are never read). */
static inline __m256 load8_step2(const float *xc, int32_t off, __m256i m) {
    const __m256i even = _mm256_setr_epi32(-1, 0, -1, 0, -1, 0, -1, 0);
    const __m256i lo = _mm256_and_si256(_mm256_permutevar8x32_epi32(m, _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3)), even);
    const __m256i hi = _mm256_and_si256(_mm256_permutevar8x32_epi32(m, _mm256_setr_epi32(4, 4, 5, 5, 6, 6, 7, 7)), even);
    return nb_avx2_evens(_mm256_maskload_ps(at(xc, off), lo), _mm256_maskload_ps(at(xc, off + 8), hi));
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
            switch (e->kind + (e->step - 1) * NB_TAP_KINDS) {
            case NB_TAP_FULL:
                v0 = _mm256_loadu_ps(at(xc, e->base));
                v1 = _mm256_loadu_ps(at(xc, e->base + 8));
                break;
            case NB_TAP_CONTIG:
                v0 = _mm256_maskload_ps(at(xc, e->base), mask8(e->mask));
                v1 = _mm256_maskload_ps(at(xc, e->base + 8), mask8(e->mask + 8));
                break;
            case NB_TAP_SPLIT: {
                /* Two masked loads per half, one per run; masked-off lanes
                   load +0.0, so OR merges them. */
                const __m256i s0 = mask8(e->split), s1 = mask8(e->split + 8);
                v0 = _mm256_or_ps(_mm256_maskload_ps(at(xc, e->base), _mm256_andnot_si256(s0, mask8(e->mask))),
                                  _mm256_maskload_ps(at(xc, e->base2), s0));
                v1 = _mm256_or_ps(_mm256_maskload_ps(at(xc, e->base + 8), _mm256_andnot_si256(s1, mask8(e->mask + 8))),
                                  _mm256_maskload_ps(at(xc, e->base2 + 8), s1));
                break;
            }
            case NB_TAP_FULL + NB_TAP_KINDS:
                /* x_c[base .. base + 31] is inside the channel (FULL). */
                v0 = nb_avx2_evens(_mm256_loadu_ps(at(xc, e->base)), _mm256_loadu_ps(at(xc, e->base + 8)));
                v1 = nb_avx2_evens(_mm256_loadu_ps(at(xc, e->base + 16)), _mm256_loadu_ps(at(xc, e->base + 24)));
                break;
            case NB_TAP_CONTIG + NB_TAP_KINDS:
                v0 = load8_step2(xc, e->base, mask8(e->mask));
                v1 = load8_step2(xc, e->base + 16, mask8(e->mask + 8));
                break;
            case NB_TAP_SPLIT + NB_TAP_KINDS: {
                const __m256i s0 = mask8(e->split), s1 = mask8(e->split + 8);
                v0 = _mm256_or_ps(load8_step2(xc, e->base, _mm256_andnot_si256(s0, mask8(e->mask))),
                                  load8_step2(xc, e->base2, s0));
                v1 = _mm256_or_ps(load8_step2(xc, e->base + 16, _mm256_andnot_si256(s1, mask8(e->mask + 8))),
                                  load8_step2(xc, e->base2 + 16, s1));
                break;
            }
            case NB_TAP_ZERO:
            case NB_TAP_ZERO + NB_TAP_KINDS:
                break;
            default:   /* GATHER, and any kind without a faster case: off and mask are always filled */
                v0 = _mm256_mask_i32gather_ps(zero, xc, mask8(e->off), _mm256_load_ps((const float *)e->mask), 4);
                v1 = _mm256_mask_i32gather_ps(zero, xc, mask8(e->off + 8),
                                              _mm256_load_ps((const float *)(e->mask + 8)), 4);
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
