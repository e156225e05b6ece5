/* Direct convolution tile in the broadcast orientation (contract:
 * nb_conv_bcast_ft, src/ukernel_convbcast.h): 14 output pixels of one
 * output row x 32 filters (2 zmm), 28 accumulators. ISA: AVX-512F.
 *
 * Per tap: the tap's 32 packed filter values (2 loads) and one broadcast
 * of the image per pixel (14 broadcasts, at compile-time displacements
 * i sw from the tap's column): 16 loads per 28 FMAs, like the 14x32 GEMM
 * tile, with no im2col and no B panel packed, and the stride costs
 * nothing (the pixels' columns step by sw in the displacements). The
 * accumulators hold [pixel][filter]; the tile goes through a stack
 * buffer to y's [filter][pixel] rows at the end (~450 scalar moves
 * against 28 x taps FMAs).
 */
#include <assert.h>
#include <stdint.h>

#include <immintrin.h>

#include "ukernel.h"

#define MP 14
#define NV 2            /* zmm of filters */
#define NF (16 * NV)
#define SPAN_MAX 64
#ifndef NB_BCAST_EMBED
#define NB_BCAST_EMBED 1
#endif     /* floats of a row's copy in edge tiles */

static const float zeros[SPAN_MAX] __attribute__((aligned(64)));

static inline __attribute__((always_inline)) void tile(const int SW, const int EDGE, size_t kn,
                                                       size_t mp, size_t rows, size_t S,
                                                       const float *const *rowp, ptrdiff_t col0,
                                                       size_t dw, size_t W, int skip_null,
                                                       const float *wp, float *y, ptrdiff_t ldy,
                                                       const float *bias) {
    __m512 acc[MP][NV];
#pragma GCC unroll 14
    for (int i = 0; i < MP; i++)
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) acc[i][v] = _mm512_setzero_ps();
    float buf[SPAN_MAX] __attribute__((aligned(64)));
    __mmask16 m[SPAN_MAX / 16] = {0, 0, 0, 0};
    int chunks = 0;
    if (EDGE) {
        const ptrdiff_t span = (MP - 1) * SW + (ptrdiff_t)((S - 1) * dw) + 1;
        chunks = (int)((span + 15) / 16);
        for (int j = 0; j < chunks; j++) {
            unsigned bits = 0;
            for (int l = 0; l < 16; l++) {
                const ptrdiff_t col = col0 + 16 * j + l;
                if (col >= 0 && col < (ptrdiff_t)W && 16 * j + l < span) bits |= 1u << l;
            }
            m[j] = (__mmask16)bits;
        }
    }
    for (size_t t = 0; t < rows; t++) {
        const float *row = rowp[t];
        const float *b;
        if (!row) {
            if (skip_null) {
                wp += S * NF;
                continue;
            }
            b = zeros;
        } else if (EDGE) {
            /* In-image columns of the span, zeros elsewhere (the masked
               lanes are not read: no fault past the image). */
            const float *src = row + col0;
            for (int j = 0; j < chunks; j++)
                _mm512_store_ps(buf + 16 * j, _mm512_maskz_loadu_ps(m[j], src + 16 * j));
            b = buf;
        } else {
            b = row + col0;
        }
        for (size_t s = 0; s < S; s++) {
            __m512 w[NV];
#pragma GCC unroll 2
            for (int v = 0; v < NV; v++) w[v] = _mm512_load_ps(wp + 16 * v);
#if NB_BCAST_EMBED
#pragma GCC unroll 14
            for (int i = 0; i < MP; i++)
                __asm__("vfmadd231ps %c[off](%[b])%{1to16%}, %[w0], %[a0]\n\t"
                        "vfmadd231ps %c[off](%[b])%{1to16%}, %[w1], %[a1]"
                        : [a0] "+v"(acc[i][0]), [a1] "+v"(acc[i][1])
                        : [w0] "v"(w[0]), [w1] "v"(w[1]), [b] "r"(b), [off] "i"(4 * i * SW));
#else
#pragma GCC unroll 14
            for (int i = 0; i < MP; i++) {
                const __m512 a = _mm512_set1_ps(b[i * SW]);
#pragma GCC unroll 2
                for (int v = 0; v < NV; v++) acc[i][v] = _mm512_fmadd_ps(a, w[v], acc[i][v]);
            }
#endif
            wp += NF;
            b += dw;
        }
    }
    float out[MP * NF] __attribute__((aligned(64)));
#pragma GCC unroll 14
    for (int i = 0; i < MP; i++)
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) _mm512_store_ps(out + i * NF + 16 * v, acc[i][v]);
    for (size_t k = 0; k < kn; k++) {
        float *yk = y + (ptrdiff_t)k * ldy;
        if (bias) {
            const float bk = bias[k];
            for (size_t i = 0; i < mp; i++) yk[i] = out[i * NF + k] + bk;
        } else {
            for (size_t i = 0; i < mp; i++) yk[i] = out[i * NF + k];
        }
    }
}

void nb_f32_conv_bcast_ukernel_14x32__avx512(size_t kn, size_t mp, size_t rows, size_t S,
                                             const float *const *rowp, ptrdiff_t col0, size_t sw,
                                             size_t dw, size_t W, int edge, int skip_null,
                                             const float *wp, float *y, ptrdiff_t ldy,
                                             const float *bias) {
    assert(kn >= 1 && kn <= NF && mp >= 1 && mp <= MP && S >= 1 && (sw == 1 || sw == 2));
    assert(!edge || (MP - 1) * sw + (S - 1) * dw + 1 <= SPAN_MAX);
    if (sw == 2) {
        if (edge)
            tile(2, 1, kn, mp, rows, S, rowp, col0, dw, W, skip_null, wp, y, ldy, bias);
        else
            tile(2, 0, kn, mp, rows, S, rowp, col0, dw, W, skip_null, wp, y, ldy, bias);
    } else {
        if (edge)
            tile(1, 1, kn, mp, rows, S, rowp, col0, dw, W, skip_null, wp, y, ldy, bias);
        else
            tile(1, 0, kn, mp, rows, S, rowp, col0, dw, W, skip_null, wp, y, ldy, bias);
    }
}
