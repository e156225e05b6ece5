/* Direct convolution tile for layers with few input channels (the 7x7
 * stride-2 stem: 3 channels, 147 taps): up to 8 filters x up to 3 groups of
 * 16 output pixels, the image read in place through a tap offset table
 * (contract: nb_conv_direct_ft in src/ukernel.h). ISA: AVX-512F.
 *
 * Register plan: 8 x 3 zmm accumulators (rows = filters, columns = 16-pixel
 * groups), per tap 3 unaligned image loads (group g at base[g] + toff[t])
 * and 8 broadcasts of the packed filters (wp[t * 8 + i]): 11 loads per 24
 * FMAs (the 14x32 GEMM tile needs 16 per 28), no B panel packed, and 64
 * filters are 8 tiles with no unused row (14-row tiles waste 6 of 70).
 * Each output is acc = 0, acc = fma(w, x, acc) over the taps in order, then
 * acc + bias (one rounding) when bias is given.
 */
#include <assert.h>
#include <stdint.h>

#include <immintrin.h>

#include "ukernel.h"

static inline __attribute__((always_inline)) void tile(const int G, size_t m, size_t taps,
                                                       const int32_t *toff, const float *wp,
                                                       const float *const *base, float *y,
                                                       ptrdiff_t ldy, const float *bias) {
    __m512 acc[8][3];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++)
#pragma GCC unroll 3
        for (int g = 0; g < 3; g++) acc[i][g] = _mm512_setzero_ps();
    /* The tile's output lines, fetched now: the tap loop hides their miss
       (y is written once; the stem's 3.2 MB is in L3 or memory). Zen 4,
       stem, kernel alone (best of 20): 2.12 -> 2.075 ms. */
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
        if ((size_t)i >= m) break;
#pragma GCC unroll 3
        for (int g = 0; g < G; g++) _mm_prefetch((const char *)(y + i * ldy + 16 * g), _MM_HINT_T0);
    }
    const float *b0 = base[0], *b1 = base[G > 1 ? 1 : 0], *b2 = base[G > 2 ? 2 : 0];
    for (size_t t = 0; t < taps; t++) {
        const int32_t o = toff[t];
        const __m512 x0 = _mm512_loadu_ps(b0 + o);
        const __m512 x1 = G > 1 ? _mm512_loadu_ps(b1 + o) : x0;
        const __m512 x2 = G > 2 ? _mm512_loadu_ps(b2 + o) : x0;
        const float *w = wp + t * 8;
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++) {
            const __m512 a = _mm512_set1_ps(w[i]);
            acc[i][0] = _mm512_fmadd_ps(a, x0, acc[i][0]);
            if (G > 1) acc[i][1] = _mm512_fmadd_ps(a, x1, acc[i][1]);
            if (G > 2) acc[i][2] = _mm512_fmadd_ps(a, x2, acc[i][2]);
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
        if ((size_t)i >= m) break;
        const __m512 b = bias ? _mm512_set1_ps(bias[i]) : _mm512_setzero_ps();
#pragma GCC unroll 3
        for (int g = 0; g < G; g++) {
            const __m512 v = bias ? _mm512_add_ps(acc[i][g], b) : acc[i][g];
            _mm512_storeu_ps(y + i * ldy + 16 * g, v);
        }
    }
}

void nb_f32_conv_direct_ukernel_8x48__avx512(size_t m, size_t groups, size_t taps,
                                             const int32_t *toff, const float *wp,
                                             const float *const *base, float *y, ptrdiff_t ldy,
                                             const float *bias) {
    assert(m >= 1 && m <= 8 && groups >= 1 && groups <= 3 && taps >= 1);
    if (groups == 3)
        tile(3, m, taps, toff, wp, base, y, ldy, bias);
    else if (groups == 2)
        tile(2, m, taps, toff, wp, base, y, ldy, bias);
    else
        tile(1, m, taps, toff, wp, base, y, ldy, bias);
}
