/* Implicit im2col: the forward convolution's B micro-panels (16 output
 * pixels wide, the 6x16 GEMM kernel's NR) packed straight from the image
 * (contract: nb_conv_pack_b_fn in src/conv_driver.h). Exact (a copy).
 *
 * Panel by panel, tap by tap, then the channels of the KC block (a tap's
 * rows are RS apart: the kind is decided once a tap, not once a row, which
 * cut the 3x3 stride-2 c128 forward's packing time; see the A/B in git log):
 * each packed row is 16 floats written with two
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

/* The n rows of tap e in one panel: one a channel (x advancing by hw), RS
   rows (ostep floats) apart in the panel. The kind is decided once per
   tap, not per row. */
static void tap_rows(const nb_conv_tap *e, int64_t n, const float *xc, int64_t hw, float *o,
                     int64_t ostep) {
    const __m256 zero = _mm256_setzero_ps();
    const int32_t b = e->base, b2 = e->base2;
    switch (e->kind + (e->step - 1) * NB_TAP_KINDS) {
    case NB_TAP_FULL:
        for (int64_t i = 0; i < n; i++, xc += hw, o += ostep) {
            _mm256_store_ps(o, _mm256_loadu_ps(xc + b));
            _mm256_store_ps(o + 8, _mm256_loadu_ps(xc + b + 8));
        }
        return;
    case NB_TAP_CONTIG: {
        const __m256i m0 = mask8(e->mask), m1 = mask8(e->mask + 8);
        for (int64_t i = 0; i < n; i++, xc += hw, o += ostep) {
            _mm256_store_ps(o, _mm256_maskload_ps(at(xc, b), m0));
            _mm256_store_ps(o + 8, _mm256_maskload_ps(at(xc, b + 8), m1));
        }
        return;
    }
    case NB_TAP_SPLIT: {
        /* Two masked loads per half, one per run; masked-off lanes load
           +0.0, so OR merges them. */
        const __m256i s0 = mask8(e->split), s1 = mask8(e->split + 8);
        const __m256i f0 = _mm256_andnot_si256(s0, mask8(e->mask));
        const __m256i f1 = _mm256_andnot_si256(s1, mask8(e->mask + 8));
        for (int64_t i = 0; i < n; i++, xc += hw, o += ostep) {
            _mm256_store_ps(o, _mm256_or_ps(_mm256_maskload_ps(at(xc, b), f0),
                                            _mm256_maskload_ps(at(xc, b2), s0)));
            _mm256_store_ps(o + 8, _mm256_or_ps(_mm256_maskload_ps(at(xc, b + 8), f1),
                                                _mm256_maskload_ps(at(xc, b2 + 8), s1)));
        }
        return;
    }
    case NB_TAP_FULL + NB_TAP_KINDS:
        /* x_c[base .. base + 31] is inside the channel (FULL). */
        for (int64_t i = 0; i < n; i++, xc += hw, o += ostep) {
            _mm256_store_ps(o, nb_avx2_evens(_mm256_loadu_ps(xc + b), _mm256_loadu_ps(xc + b + 8)));
            _mm256_store_ps(o + 8, nb_avx2_evens(_mm256_loadu_ps(xc + b + 16), _mm256_loadu_ps(xc + b + 24)));
        }
        return;
    case NB_TAP_CONTIG + NB_TAP_KINDS: {
        const __m256i m0 = mask8(e->mask), m1 = mask8(e->mask + 8);
        for (int64_t i = 0; i < n; i++, xc += hw, o += ostep) {
            _mm256_store_ps(o, load8_step2(xc, b, m0));
            _mm256_store_ps(o + 8, load8_step2(xc, b + 16, m1));
        }
        return;
    }
    case NB_TAP_SPLIT + NB_TAP_KINDS: {
        const __m256i s0 = mask8(e->split), s1 = mask8(e->split + 8);
        const __m256i f0 = _mm256_andnot_si256(s0, mask8(e->mask));
        const __m256i f1 = _mm256_andnot_si256(s1, mask8(e->mask + 8));
        for (int64_t i = 0; i < n; i++, xc += hw, o += ostep) {
            _mm256_store_ps(o, _mm256_or_ps(load8_step2(xc, b, f0), load8_step2(xc, b2, s0)));
            _mm256_store_ps(o + 8, _mm256_or_ps(load8_step2(xc, b + 16, f1), load8_step2(xc, b2 + 16, s1)));
        }
        return;
    }
    case NB_TAP_ZERO:
    case NB_TAP_ZERO + NB_TAP_KINDS:
        for (int64_t i = 0; i < n; i++, o += ostep) {
            _mm256_store_ps(o, zero);
            _mm256_store_ps(o + 8, zero);
        }
        return;
    default: {   /* GATHER, and any kind without a faster case: off and mask are always filled */
        const __m256i i0 = mask8(e->off), i1 = mask8(e->off + 8);
        const __m256 g0 = _mm256_load_ps((const float *)e->mask), g1 = _mm256_load_ps((const float *)(e->mask + 8));
        for (int64_t i = 0; i < n; i++, xc += hw, o += ostep) {
            _mm256_store_ps(o, _mm256_mask_i32gather_ps(zero, xc, i0, g0, 4));
            _mm256_store_ps(o + 8, _mm256_mask_i32gather_ps(zero, xc, i1, g1, 4));
        }
        return;
    }
    }
}

void nb_f32_packb_im2col_ukernel_16__avx2(const nb_conv_tap *plan, int64_t rs, int64_t l0,
                                          int64_t kc, int64_t panels, const float *x, int64_t hw,
                                          float *dst) {
    const int64_t t0 = rs > 0 ? l0 % rs : 0;
    for (int64_t p = 0; p < panels; p++) {
        const nb_conv_tap *pl = plan + p * rs;
        float *op = dst + p * kc * 16;
        /* Row i of the block is tap (t0 + i) mod rs of channel (l0 + i) / rs:
           tap by tap, its rows i, i + rs, ... */
        for (int64_t i = 0; i < rs && i < kc; i++)
            tap_rows(pl + (t0 + i) % rs, (kc - i + rs - 1) / rs, x + (l0 + i) / rs * hw, hw,
                     op + i * 16, rs * 16);
    }
}
