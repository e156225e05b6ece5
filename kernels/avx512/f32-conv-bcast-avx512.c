/* Direct convolution tile in the broadcast orientation (contract:
 * nb_conv_bcast_ft, src/ukernel_convbcast.h): 14 output pixels of one
 * output row x 32 filters (2 zmm), 28 accumulators. ISA: AVX-512F.
 *
 * Per tap: the tap's 32 packed filter values (2 loads) and the image
 * value of each pixel broadcast into its two FMAs (embedded {1to16}
 * operands at compile-time displacements i sw from the tap's column):
 * no im2col, no B panel packed, and the stride costs nothing (the
 * pixels' columns step by sw in the displacements). Zen 4, the tile
 * alone over 384 rows of 3 taps (weights from L2): 115 GFLOP/s, 98.6 %
 * of the FMA peak. Edge tiles read rows padded by the pad function
 * (the driver pads a row's edge spans once for all filter blocks): the
 * first version copied each row's span inside the tile (masked loads
 * to a stack buffer, then broadcasts from it): 98 GFLOP/s. The
 * accumulators hold [pixel][filter]; a 16x16 transpose in registers per
 * half turns them into y's [filter][pixel] rows at the end.
 */
#include <assert.h>
#include <stdint.h>

#include <immintrin.h>

#include "transpose-avx512.h"
#include "ukernel.h"

#define MP 14
#define NV 2            /* zmm of filters */
#define NF (16 * NV)
#define SPAN_MAX 64     /* floats of a tile's row span (the pad copy's width) */

static const float zeros[SPAN_MAX] __attribute__((aligned(64)));

static inline __attribute__((always_inline)) void tile(const int SW, size_t kn, size_t mp,
                                                       size_t C, size_t R, size_t S,
                                                       const float *const *row0, ptrdiff_t ldc,
                                                       ptrdiff_t col0, size_t dw, int skip_null,
                                                       const float *wp, float *y, ptrdiff_t ldy,
                                                       const float *bias, const float *const *pf,
                                                       ptrdiff_t pf_ldc, ptrdiff_t pf_off) {
    __m512 acc[MP][NV];
#pragma GCC unroll 14
    for (int i = 0; i < MP; i++)
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) acc[i][v] = _mm512_setzero_ps();
    size_t t = 0;   /* tap row c R + r */
    for (size_t c = 0; c < C; c++)
    for (size_t r = 0; r < R; r++, t++) {
        if (pf && pf[r]) _mm_prefetch((const char *)(pf[r] + (ptrdiff_t)c * pf_ldc + pf_off), _MM_HINT_T0);
        /* The tile's output lines (y is written once: its lines come from
           L3 or memory), one filter's a tap row, spread over the taps. */
        if (t < kn) {
            _mm_prefetch((const char *)(y + (ptrdiff_t)t * ldy), _MM_HINT_T0);
            _mm_prefetch((const char *)(y + (ptrdiff_t)t * ldy + mp - 1), _MM_HINT_T0);
        }
        const float *row = row0[r];
        const float *b;
        if (!row) {
            if (skip_null) {
                wp += S * NF;
                continue;
            }
            b = zeros;
        } else {
            b = row + (ptrdiff_t)c * ldc + col0;
        }
        /* col0 -1: pixel 0's first tap is the padding (a zero, not read). */
        const float *first = col0 < 0 ? zeros : b;
        for (size_t s = 0; s < S; s++) {
            const float *p0 = s == 0 ? first : b;
            __m512 w[NV];
#pragma GCC unroll 2
            for (int v = 0; v < NV; v++) w[v] = _mm512_loadu_ps(wp + 16 * v);
            /* The broadcasts embedded in the FMAs (two per image value):
               written with the intrinsics, GCC loads each value once with
               vbroadcastss and feeds both FMAs, which ran the c128 layer
               1.07x slower on Zen 4 (the zmm broadcast takes an FP pipe
               slot beside the 28 FMAs; the embedded one only the load). */
            __asm__("vfmadd231ps %[x]%{1to16%}, %[w0], %[a0]\n\t"
                    "vfmadd231ps %[x]%{1to16%}, %[w1], %[a1]"
                    : [a0] "+v"(acc[0][0]), [a1] "+v"(acc[0][1])
                    : [w0] "v"(w[0]), [w1] "v"(w[1]), [x] "m"(p0[0]));
#pragma GCC unroll 13
            for (int i = 1; i < MP; i++)
                /* The value as an "m" operand (not base + an "i" offset,
                   which is no constant at -O0): at -O2 GCC still writes
                   it as base + displacement. */
                __asm__("vfmadd231ps %[x]%{1to16%}, %[w0], %[a0]\n\t"
                        "vfmadd231ps %[x]%{1to16%}, %[w1], %[a1]"
                        : [a0] "+v"(acc[i][0]), [a1] "+v"(acc[i][1])
                        : [w0] "v"(w[0]), [w1] "v"(w[1]), [x] "m"(b[i * SW]));
            wp += NF;
            b += dw;
        }
    }
    /* [pixel][filter] to y's [filter][pixel] rows: each 16-filter half
       transposed in registers (64 shuffles), then one masked store of mp
       pixels per filter. */
    const __mmask16 mmask = (__mmask16)((1u << mp) - 1);
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) {
        if ((size_t)(16 * v) >= kn) break;
        __m512 r[16];
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++) r[i] = i < MP ? acc[i][v] : _mm512_setzero_ps();
        nb_avx512_transpose16x16(r);
        for (int k = 0; k < 16 && (size_t)(16 * v + k) < kn; k++) {
            const size_t kk = (size_t)(16 * v + k);
            const __m512 o = bias ? _mm512_add_ps(r[k], _mm512_set1_ps(bias[kk])) : r[k];
            _mm512_mask_storeu_ps(y + (ptrdiff_t)kk * ldy, mmask, o);
        }
    }
}

void nb_f32_conv_bcast_ukernel_14x32__avx512(size_t kn, size_t mp, size_t C, size_t R, size_t S,
                                             const float *const *row0, ptrdiff_t ldc, ptrdiff_t col0,
                                             size_t sw, size_t dw, int skip_null, const float *wp, float *y,
                                             ptrdiff_t ldy, const float *bias, const float *const *pf,
                                             ptrdiff_t pf_ldc, ptrdiff_t pf_off) {
    assert(kn >= 1 && kn <= NF && mp >= 1 && mp <= MP && S >= 1 && (sw == 1 || sw == 2));
    assert((MP - 1) * sw + (S - 1) * dw + 1 <= SPAN_MAX && col0 >= -1);
    if (sw == 2)
        tile(2, kn, mp, C, R, S, row0, ldc, col0, dw, skip_null, wp, y, ldy, bias, pf,
                 pf_ldc, pf_off);
    else
        tile(1, kn, mp, C, R, S, row0, ldc, col0, dw, skip_null, wp, y, ldy, bias, pf,
                 pf_ldc, pf_off);
}

void nb_f32_conv_bcast_pad__avx512(size_t C, size_t R, const float *const *row0, ptrdiff_t ldc,
        ptrdiff_t col0, size_t span, size_t W, float *dst, size_t ld) {
    assert(span <= SPAN_MAX && ld % 16 == 0);
    const int chunks = (int)((span + 15) / 16);
    __mmask16 m[SPAN_MAX / 16];
    for (int j = 0; j < chunks; j++) {
        unsigned bits = 0;
        for (int l = 0; l < 16; l++) {
            const ptrdiff_t col = col0 + 16 * j + l;
            if (col >= 0 && col < (ptrdiff_t)W && (size_t)(16 * j + l) < span) bits |= 1u << l;
        }
        m[j] = (__mmask16)bits;
    }
    for (size_t c = 0; c < C; c++)
        for (size_t r = 0; r < R; r++) {
            if (!row0[r]) continue;   /* the tile never reads a NULL row's copy */
            float *o = dst + (c * R + r) * ld;
            /* Masked lanes are not read: no fault past the image. */
            const float *src = row0[r] + (ptrdiff_t)c * ldc + col0;
            for (int j = 0; j < chunks; j++)
                _mm512_storeu_ps(o + 16 * j, _mm512_maskz_loadu_ps(m[j], src + 16 * j));
        }
}
