/* Direct convolution tile in the broadcast orientation (contract:
 * nb_conv_bcast_ft, src/ukernel_convbcast.h): 6 output pixels of one
 * output row x 16 filters (2 ymm), 12 accumulators. ISA: AVX2+FMA.
 *
 * Per tap: the tap's 16 packed filter values (2 loads) and one broadcast
 * of the image per pixel (vbroadcastss from memory, a load, at
 * compile-time displacements i sw from the tap's column): 8 loads per 12
 * FMAs; 12 independent chains cover 2 FMA pipes x 4 cycles; 15 of the 16
 * ymm registers. 16 filters (not 24 in 3 ymm with 4 pixels) so that 64 or
 * 128 filters leave no lane empty. Same chains as the AVX-512 tile (one
 * FMA a tap in (c, r, s) order, then the bias): the same bits.
 */
#include <assert.h>
#include <stdint.h>

#include <immintrin.h>

#include "ukernel.h"

#define MP 6
#define NV 2            /* ymm of filters */
#define NF (8 * NV)
#define SPAN_MAX 64     /* floats of a tile's row span (the pad copy's width) */

static const float zeros[SPAN_MAX] __attribute__((aligned(64)));

static inline __attribute__((always_inline)) void tile(const int M, const int SW, size_t kn, size_t mp,
                                                       size_t C, size_t R, size_t S,
                                                       const float *const *row0, ptrdiff_t ldc,
                                                       ptrdiff_t col0, size_t dw, int skip_null,
                                                       const float *wp, float *y, ptrdiff_t ldy,
                                                       const float *bias, const float *const *pf,
                                                       ptrdiff_t pf_ldc, ptrdiff_t pf_off) {
    __m256 acc[MP][NV];
#pragma GCC unroll 6
    for (int i = 0; i < M; i++)
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) acc[i][v] = _mm256_setzero_ps();
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
        for (size_t s = 0; s < S; s++) {
            __m256 w[NV];
#pragma GCC unroll 2
            for (int v = 0; v < NV; v++) w[v] = _mm256_loadu_ps(wp + 8 * v);
#pragma GCC unroll 6
            for (int i = 0; i < M; i++) {
                const __m256 a = _mm256_broadcast_ss(b + i * SW);
#pragma GCC unroll 2
                for (int v = 0; v < NV; v++) acc[i][v] = _mm256_fmadd_ps(a, w[v], acc[i][v]);
            }
            wp += NF;
            b += dw;
        }
    }
    float out[MP * NF] __attribute__((aligned(32)));
#pragma GCC unroll 6
    for (int i = 0; i < M; i++)
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) _mm256_store_ps(out + i * NF + 8 * v, acc[i][v]);
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

__attribute__((aligned(64))) void nb_f32_conv_bcast_ukernel_6x16__avx2(size_t kn, size_t mp, size_t C, size_t R, size_t S,
                                          const float *const *row0, ptrdiff_t ldc, ptrdiff_t col0,
                                          size_t sw, size_t dw, int skip_null, const float *wp, float *y,
                                          ptrdiff_t ldy, const float *bias, const float *const *pf,
                                          ptrdiff_t pf_ldc, ptrdiff_t pf_off) {
    assert(kn >= 1 && kn <= NF && mp >= 1 && mp <= MP && S >= 1 && (sw == 1 || sw == 2));
    /* col0 >= 0 (lead_pad 0): a first tile read from the image (col0 -1,
       pixel 0's first tap a zero, as the AVX-512 tile does) ran the c128
       layer slower here (Zen 4, noisy: 2.75 -> 3.05 ms): the tile's 13
       columns from the image span two lines a row (768 lines, more than
       L1 for the 8 filter blocks), the padded copy one. */
    assert((MP - 1) * sw + (S - 1) * dw + 1 <= SPAN_MAX && col0 >= 0);
    /* A tail of at most 4 pixels (28-wide rows: 6, 6, 6, 6, 4) runs 4
       pixels' FMAs, not 6 (8 chains still cover the 2 FMA pipes' latency). */
    if (sw == 2) {
        if (mp <= 4)
            tile(4, 2, kn, mp, C, R, S, row0, ldc, col0, dw, skip_null, wp, y, ldy, bias, pf,
                 pf_ldc, pf_off);
        else
            tile(6, 2, kn, mp, C, R, S, row0, ldc, col0, dw, skip_null, wp, y, ldy, bias, pf,
                 pf_ldc, pf_off);
    } else {
        if (mp <= 4)
            tile(4, 1, kn, mp, C, R, S, row0, ldc, col0, dw, skip_null, wp, y, ldy, bias, pf,
                 pf_ldc, pf_off);
        else
            tile(6, 1, kn, mp, C, R, S, row0, ldc, col0, dw, skip_null, wp, y, ldy, bias, pf,
                 pf_ldc, pf_off);
    }
}

void nb_f32_conv_bcast_pad__avx2(size_t C, size_t R, const float *const *row0, ptrdiff_t ldc,
        ptrdiff_t col0, size_t span, size_t W, float *dst, size_t ld) {
    assert(span <= SPAN_MAX && ld % 16 == 0);
    const int chunks = (int)((span + 7) / 8);
    __m256i m[SPAN_MAX / 8];
    for (int j = 0; j < chunks; j++) {
        int32_t lane[8];
        for (int l = 0; l < 8; l++) {
            const ptrdiff_t col = col0 + 8 * j + l;
            lane[l] = col >= 0 && col < (ptrdiff_t)W && (size_t)(8 * j + l) < span ? -1 : 0;
        }
        m[j] = _mm256_loadu_si256((const __m256i *)lane);
    }
    for (size_t c = 0; c < C; c++)
        for (size_t r = 0; r < R; r++) {
            if (!row0[r]) continue;   /* the tile never reads a NULL row's copy */
            float *o = dst + (c * R + r) * ld;
            /* Masked lanes are not read: no fault past the image. */
            const float *src = row0[r] + (ptrdiff_t)c * ldc + col0;
            for (int j = 0; j < chunks; j++)
                _mm256_storeu_ps(o + 8 * j, _mm256_maskload_ps(src + 8 * j, m[j]));
        }
}
