/* Direct convolution tile for layers with few input channels (the 7x7
 * stride-2 stem: 3 channels, 147 taps), the AVX2 twin of
 * f32-conv-direct-avx512.c: up to 8 filters x up to 3 groups of 16 output
 * pixels, the image read in place through a tap offset table (contract:
 * nb_conv_direct_ft in src/ukernel_convdirect.h). ISA: AVX2 + FMA.
 *
 * Register plan: 16 ymm do not hold 8 x 6 accumulators, so the tile runs as
 * sub-tiles of 4 filters x up to 3 units of 8 pixels (unit u is half u % 2
 * of group u / 2): 12 accumulators, 3 image loads (unit u at
 * base[u / 2] + 8 (u % 2) + toff[t]) and 4 broadcasts per 12 FMAs, plus one
 * register for the broadcast. The tap loop runs once per sub-tile (up to
 * 2 x 2 of them); the filters and the image rows it reads stay in L1.
 * Each output is acc = 0, acc = fma(w, x, acc) over the taps in order, then
 * acc + bias (one rounding) when bias is given: the AVX-512 tile's bits.
 *
 * Zen 4 (session 13): llvm-mca -mcpu=znver4 gives the tap loop 6.0 cycles
 * for its 12 FMAs (FMA-bound, no spills, no masked loads or stores: Q is a
 * multiple of 16). Kernel alone on the stem, best of 20: ~115 GFLOP/s of
 * ~117 with the output prefetch below. Measured and not kept: all tap
 * offsets 64-byte aligned (no line-split loads) and all filter tiles'
 * weights in L1 gave no gain beyond the noise (< 1 %).
 */
#include <assert.h>
#include <stdint.h>

#include <immintrin.h>

#include "ukernel.h"

/* Filters [f0, f0 + 4) (rows < m stored) x U units starting at unit u0. */
static inline __attribute__((always_inline)) void subtile(const int U, size_t m, size_t f0,
                                                          size_t u0, size_t taps,
                                                          const int32_t *toff, const float *wp,
                                                          const float *const *base, float *y,
                                                          ptrdiff_t ldy, const float *bias) {
    __m256 acc[4][3];
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++)
#pragma GCC unroll 3
        for (int u = 0; u < 3; u++) acc[i][u] = _mm256_setzero_ps();
    const float *b[3];
#pragma GCC unroll 3
    for (int u = 0; u < 3; u++) {
        const size_t uu = u0 + (size_t)(u < U ? u : 0);
        b[u] = base[uu / 2] + 8 * (uu % 2);
    }
    /* The sub-tile's output lines, fetched now: the tap loop hides their
       miss (y is written once; the stem's 3.2 MB is in L3 or memory). Zen 4,
       stem, kernel alone (best of 20): 2.25 -> 2.055 ms. */
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        if (f0 + (size_t)i >= m) break;
#pragma GCC unroll 3
        for (int u = 0; u < U; u++)
            _mm_prefetch((const char *)(y + (f0 + (size_t)i) * ldy + 8 * (u0 + (size_t)u)), _MM_HINT_T0);
    }
    const float *w = wp + f0;
    for (size_t t = 0; t < taps; t++, w += 8) {
        const int32_t o = toff[t];
        const __m256 x0 = _mm256_loadu_ps(b[0] + o);
        const __m256 x1 = U > 1 ? _mm256_loadu_ps(b[1] + o) : x0;
        const __m256 x2 = U > 2 ? _mm256_loadu_ps(b[2] + o) : x0;
#pragma GCC unroll 4
        for (int i = 0; i < 4; i++) {
            const __m256 a = _mm256_broadcast_ss(w + i);
            acc[i][0] = _mm256_fmadd_ps(a, x0, acc[i][0]);
            if (U > 1) acc[i][1] = _mm256_fmadd_ps(a, x1, acc[i][1]);
            if (U > 2) acc[i][2] = _mm256_fmadd_ps(a, x2, acc[i][2]);
        }
    }
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        if (f0 + (size_t)i >= m) break;
        const __m256 bv = bias ? _mm256_broadcast_ss(bias + f0 + i) : _mm256_setzero_ps();
#pragma GCC unroll 3
        for (int u = 0; u < U; u++) {
            const __m256 v = bias ? _mm256_add_ps(acc[i][u], bv) : acc[i][u];
            _mm256_storeu_ps(y + (f0 + (size_t)i) * ldy + 8 * (u0 + (size_t)u), v);
        }
    }
}

void nb_f32_conv_direct_ukernel_8x48__avx2(size_t m, size_t groups, size_t taps,
                                           const int32_t *toff, const float *wp,
                                           const float *const *base, float *y, ptrdiff_t ldy,
                                           const float *bias) {
    assert(m >= 1 && m <= 8 && groups >= 1 && groups <= 3 && taps >= 1);
    const size_t units = 2 * groups;   /* 2, 4 or 6: chunks of 3, or 2 + 2, or 2 */
    for (size_t f0 = 0; f0 < m; f0 += 4) {
        if (units == 6) {
            subtile(3, m, f0, 0, taps, toff, wp, base, y, ldy, bias);
            subtile(3, m, f0, 3, taps, toff, wp, base, y, ldy, bias);
        } else if (units == 4) {
            subtile(2, m, f0, 0, taps, toff, wp, base, y, ldy, bias);
            subtile(2, m, f0, 2, taps, toff, wp, base, y, ldy, bias);
        } else {
            subtile(2, m, f0, 0, taps, toff, wp, base, y, ldy, bias);
        }
    }
}
