/* Implicit im2col, 32 output pixels a panel (the 14x32 GEMM tile's NR):
 * the forward convolution's B micro-panels packed straight from the image
 * (contract: nb_conv_pack_b_fn in src/ukernel.h, with the wide layout of
 * nb_conv_desc.pack_b_im2col_wide: panel p's two 16-pixel halves read plan
 * panels 2p and 2p + 1). Exact (a copy). ISA: AVX-512F/DQ.
 *
 * Panel by panel, row by row: each packed row is 32 floats, two aligned
 * 512-bit stores, one per 16-lane half (one plan entry), loaded as half()
 * says: two masked loads (stride 1) or four and a permute keeping the even
 * floats (stride 2), one masked gather for GATHER rows. The channel
 * advances every RS rows, so a panel's 2 RS plan entries stay in L1 while
 * its KC rows are written. Measured (3x3 stride 2 c128 56x56 forward, one
 * thread): this packer is ~16 % of the pass, most of it waiting on the
 * image's loads (a software prefetch of the rows 8 ahead did not help).
 */
#include <stdint.h>

#include <immintrin.h>

#include "ukernel.h"

_Static_assert(NB_TAP_KINDS == 5, "a new plan kind needs a case here");
_Static_assert(NB_CONV_PLAN_LANES == 16, "a half panel is one plan entry of 16 lanes");

/* xc + off as an address, without forming an out-of-bounds pointer in C
   (off may be negative in a CONTIG row whose first lanes are padding). */
static inline const float *at(const float *xc, int32_t off) {
    return (const float *)((uintptr_t)xc + (uintptr_t)((intptr_t)off * (intptr_t)sizeof(float)));
}

/* One half, branch-free for every kind but GATHER (the kinds of
   consecutive rows vary with r, s and the panel, and a switch over them
   mispredicted often enough to cost most of this kernel's time): lanes
   with mask and not split read the run at base, lanes with split the run
   at base2; FULL, CONTIG and ZERO are the cases split == 0 (ZERO:
   mask == 0, nothing is read). Masked-off lanes are neither read nor
   faulted on and load as +0.0, so OR merges the runs. */
static inline __m512 half(const nb_conv_tap *e, const float *xc, int step2) {
    const __m512i vm = _mm512_loadu_si512((const void *)e->mask);
    const __m512i vs = _mm512_loadu_si512((const void *)e->split);
    if (e->kind == NB_TAP_GATHER)
        return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), _mm512_movepi32_mask(vm),
                                        _mm512_loadu_si512((const void *)e->off), xc, 4);
    const __m512i first = _mm512_andnot_si512(vs, vm);
    if (!step2)
        return _mm512_or_ps(_mm512_maskz_loadu_ps(_mm512_movepi32_mask(first), at(xc, e->base)),
                            _mm512_maskz_loadu_ps(_mm512_movepi32_mask(vs), at(xc, e->base2)));
    /* Stride 2: lane i reads float 2i of 32; a lane's int32 mask read as
       two int16 gives bits 2i and 2i + 1, and the odd ones are dropped (the
       float after the last lane may be past the image). */
    const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __mmask32 k1 = _mm512_movepi16_mask(first) & 0x55555555u;
    const __mmask32 k2 = _mm512_movepi16_mask(vs) & 0x55555555u;
    const __m512 lo = _mm512_or_ps(_mm512_maskz_loadu_ps((__mmask16)k1, at(xc, e->base)),
                                   _mm512_maskz_loadu_ps((__mmask16)k2, at(xc, e->base2)));
    const __m512 hi = _mm512_or_ps(_mm512_maskz_loadu_ps((__mmask16)(k1 >> 16), at(xc, e->base + 16)),
                                   _mm512_maskz_loadu_ps((__mmask16)(k2 >> 16), at(xc, e->base2 + 16)));
    return _mm512_permutex2var_ps(lo, evens, hi);
}

void nb_f32_packb_im2col_ukernel_32__avx512(const nb_conv_tap *plan, int64_t rs, int64_t l0,
                                            int64_t kc, int64_t panels, const float *x,
                                            int64_t hw, float *dst) {
    /* A plan has one stride (stride_w) throughout. */
    const int step2 = panels > 0 && rs > 0 && plan[0].step == 2;
    for (int64_t p = 0; p < panels; p++) {
        const nb_conv_tap *pl0 = plan + 2 * p * rs, *pl1 = pl0 + rs;
        int64_t t = l0 % rs;
        const float *xc = x + (l0 / rs) * hw;
        float *o = dst + p * kc * 32;
        for (int64_t l = 0; l < kc; l++, o += 32) {
            _mm512_store_ps(o, half(pl0 + t, xc, step2));
            _mm512_store_ps(o + 16, half(pl1 + t, xc, step2));
            if (++t == rs) {
                t = 0;
                xc += hw;
            }
        }
    }
}
