/* Implicit im2col, 32 output pixels a panel (the 14x32 GEMM tile's NR):
 * the forward convolution's B micro-panels packed straight from the image
 * (contract: nb_conv_pack_b_fn in src/ukernel.h, with the wide layout of
 * nb_conv_desc.pack_b_im2col_wide: panel p's two 16-pixel halves read plan
 * panels 2p and 2p + 1). Exact (a copy). ISA: AVX-512F/DQ.
 *
 * Panel by panel, tap by tap, then channel by channel: each packed row is
 * 32 floats, two aligned 512-bit stores, one per 16-lane half (one plan
 * entry). A tap's two plan entries are decoded once (masks, kind) and
 * applied to every channel of the KC block (its rows are RS apart): where
 * both halves are FULL (the interior) a row is two plain loads (stride 1)
 * or four and two permutes keeping the even floats (stride 2); otherwise
 * masked loads (two runs merged with OR) or a masked gather.
 * Measured (3x3 stride 2 c128 56x56 forward, one thread): row by row,
 * decoding the plan entry and issuing every masked load for each row (a
 * switch over the kinds mispredicted), this packer was ~13-16 % of the
 * pass (a software prefetch of the rows 8 ahead did not help then); tap
 * by tap ~7 %. Dead end: prefetching (T1) each FULL row's next-panel
 * floats (64 further) while the GEMM runs: 7.0 -> 6.7 %, noise.
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

/* One half's loads, decoded once per (panel, tap) and applied to each
   channel: the rows of one tap are RS apart in the panel. */
typedef struct {
    int full, gather;
    int32_t base, base2;
    __mmask32 k1, k2;   /* step 1: the low 16 bits; step 2: bits 2i of lo:hi */
    __m512i off;
} half_plan;

static inline half_plan decode(const nb_conv_tap *e, int step2) {
    half_plan h;
    const __m512i vm = _mm512_loadu_si512((const void *)e->mask);
    const __m512i vs = _mm512_loadu_si512((const void *)e->split);
    const __m512i first = _mm512_andnot_si512(vs, vm);
    h.full = e->kind == NB_TAP_FULL;
    h.gather = e->kind == NB_TAP_GATHER;
    h.base = e->base;
    h.base2 = e->base2;
    h.off = _mm512_loadu_si512((const void *)e->off);
    if (h.gather) {
        h.k1 = _mm512_movepi32_mask(vm);
        h.k2 = 0;
    } else if (!step2) {
        h.k1 = _mm512_movepi32_mask(first);
        h.k2 = _mm512_movepi32_mask(vs);
    } else {
        h.k1 = _mm512_movepi16_mask(first) & 0x55555555u;
        h.k2 = _mm512_movepi16_mask(vs) & 0x55555555u;
    }
    return h;
}

static inline __m512 apply(const half_plan *h, const float *xc, int step2) {
    const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    if (h->full) {
        if (!step2) return _mm512_loadu_ps(xc + h->base);
        return _mm512_permutex2var_ps(_mm512_loadu_ps(xc + h->base), evens,
                                      _mm512_loadu_ps(xc + h->base + 16));
    }
    if (h->gather)
        return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), (__mmask16)h->k1, h->off, xc, 4);
    if (!step2)
        return _mm512_or_ps(_mm512_maskz_loadu_ps((__mmask16)h->k1, at(xc, h->base)),
                            _mm512_maskz_loadu_ps((__mmask16)h->k2, at(xc, h->base2)));
    const __m512 lo = _mm512_or_ps(_mm512_maskz_loadu_ps((__mmask16)h->k1, at(xc, h->base)),
                                   _mm512_maskz_loadu_ps((__mmask16)h->k2, at(xc, h->base2)));
    const __m512 hi = _mm512_or_ps(_mm512_maskz_loadu_ps((__mmask16)(h->k1 >> 16), at(xc, h->base + 16)),
                                   _mm512_maskz_loadu_ps((__mmask16)(h->k2 >> 16), at(xc, h->base2 + 16)));
    return _mm512_permutex2var_ps(lo, evens, hi);
}

/* The rows of one tap of one panel: n rows, one a channel (x advancing by
   hw), RS rows apart in the panel. Both halves FULL (the interior: most
   rows) and the same stride are the loops the compiler specialises. */
static inline __attribute__((always_inline))
void tap_rows(const half_plan *h0, const half_plan *h1, int step2, int64_t n, const float *xc,
              int64_t hw, float *o, int64_t ostep) {
    if (h0->full && h1->full) {
        const int32_t b0 = h0->base, b1 = h1->base;
        const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        if (step2) {
            for (int64_t i = 0; i < n; i++, xc += hw, o += ostep) {
                _mm512_store_ps(o, _mm512_permutex2var_ps(_mm512_loadu_ps(xc + b0), evens,
                                                          _mm512_loadu_ps(xc + b0 + 16)));
                _mm512_store_ps(o + 16, _mm512_permutex2var_ps(_mm512_loadu_ps(xc + b1), evens,
                                                               _mm512_loadu_ps(xc + b1 + 16)));
            }
        } else {
            for (int64_t i = 0; i < n; i++, xc += hw, o += ostep) {
                _mm512_store_ps(o, _mm512_loadu_ps(xc + b0));
                _mm512_store_ps(o + 16, _mm512_loadu_ps(xc + b1));
            }
        }
        return;
    }
    for (int64_t i = 0; i < n; i++, xc += hw, o += ostep) {
        _mm512_store_ps(o, apply(h0, xc, step2));
        _mm512_store_ps(o + 16, apply(h1, xc, step2));
    }
}

void nb_f32_packb_im2col_ukernel_32__avx512(const nb_conv_tap *plan, int64_t rs, int64_t l0,
                                            int64_t kc, int64_t panels, const float *x,
                                            int64_t hw, float *dst) {
    /* A plan has one stride (stride_w) throughout. */
    const int step2 = panels > 0 && rs > 0 && plan[0].step == 2;
    const int64_t t0 = l0 % rs;
    for (int64_t p = 0; p < panels; p++) {
        const nb_conv_tap *pl0 = plan + 2 * p * rs, *pl1 = pl0 + rs;
        float *op = dst + p * kc * 32;
        /* Row i of the block is tap (t0 + i) mod rs of channel (l0 + i) / rs:
           tap by tap, its rows i, i + rs, ... */
        for (int64_t i = 0; i < rs && i < kc; i++) {
            const int64_t tap = (t0 + i) % rs;
            const half_plan h0 = decode(pl0 + tap, step2), h1 = decode(pl1 + tap, step2);
            const int64_t n = (kc - i + rs - 1) / rs;
            const float *xc = x + (l0 + i) / rs * hw;
            if (step2)
                tap_rows(&h0, &h1, 1, n, xc, hw, op + i * 32, rs * 32);
            else
                tap_rows(&h0, &h1, 0, n, xc, hw, op + i * 32, rs * 32);
        }
    }
}
