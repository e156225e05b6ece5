/* The 3x3 stride-2 pad-1 backward-data tile, broadcast orientation (contract:
 * src/ukernel_convbdata.h). ISA: AVX2 + FMA.
 *
 * Register plan: 8 channels (one ymm) x 6 j x 2 column phases = 12
 * accumulators, 3 filter vectors (s = 0, 1, 2) and one broadcast: all 16
 * ymm registers. Per filter k and tap row, 7 broadcasts of dy[j0 .. j0 + 6]
 * and 3 vector loads for 18 FMAs; the 12 results of a channel are 12
 * contiguous dx pixels, written through an 8 x 8 transpose and a 4-wide
 * one. The same FMA chains as the AVX-512 tile: the same bits.
 * The broadcasts as vpbroadcastd (integer domain; the same bits)
 * against vbroadcastss, which llvm-mca -mcpu=znver4 places on the FMA
 * pipes: 2.438 -> 2.357 ms, 2.731 -> 2.294, 2.426 -> 2.487 (three
 * 3-round A/Bs, c128 56x56, a noisy hour): a small gain at best.
 * Dead end (session 15, Zen 4): 5 j with all three filter vectors in
 * registers (10 accumulators, no memory operand; llvm-mca -mcpu=znver4
 * put its loop at 93 % of the FMA bound, this one's at 81 %): measured
 * 2.77 vs 2.38 ms on c128 56x56 (3 alternated rounds).
 */
#include <assert.h>
#include <stdint.h>

#include <immintrin.h>

#include "ukernel.h"

#define MJ 6

/* acc + b w2 with w2 read from memory by the FMA: 12 accumulators, w0,
   w1 and the broadcast leave one register free (with w2 in a register as
   well, gcc 12 spilled two accumulators: 3.04 ms vs 2.4 for the phase
   path on the c128 layer). The product is commutative and the FMA exact:
   the bits of fmadd(w2, b, acc). */
static inline __attribute__((always_inline)) __m256 fma_mem(__m256 b, const float *w2, __m256 acc) {
    __asm__("vfmadd231ps %[m], %[b], %[acc]"
            : [acc] "+x"(acc)
            : [b] "x"(b), [m] "m"(*(const float(*)[8])w2));
    return acc;
}

static inline __attribute__((always_inline)) void tap_row(const float *d, const float *w, size_t nj,
                                                          size_t ne, __m256 *acc) {
    const __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8);
#pragma GCC unroll 7
    for (int e = 0; e <= MJ; e++) {
        if ((size_t)e >= ne) break;
        int32_t bits;
        __builtin_memcpy(&bits, d + e, sizeof bits);
        const __m256 b = _mm256_castsi256_ps(_mm256_set1_epi32(bits));
        if (e < MJ && (size_t)e < nj) {
            acc[2 * e] = _mm256_fmadd_ps(w1, b, acc[2 * e]);
            acc[2 * e + 1] = fma_mem(b, w + 16, acc[2 * e + 1]);
        }
        if (e >= 1) acc[2 * e - 1] = _mm256_fmadd_ps(w0, b, acc[2 * e - 1]);
    }
}

/* r[i] lane j -> r[j] lane i. */
static inline __attribute__((always_inline)) void transpose8(__m256 *r) {
    __m256 t[8], s[8];
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
        s[4 * h] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0x44);
        s[4 * h + 1] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0xEE);
        s[4 * h + 2] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0x44);
        s[4 * h + 3] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0xEE);
    }
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
        r[c] = _mm256_permute2f128_ps(s[c], s[4 + c], 0x20);
        r[4 + c] = _mm256_permute2f128_ps(s[c], s[4 + c], 0x31);
    }
}

static inline __attribute__((always_inline)) __m256i lanes_below(size_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

static inline __attribute__((always_inline)) void tile(const int NR, size_t kn, const float *const *dyr,
                                                       ptrdiff_t dyk, const float *const *wr,
                                                       ptrdiff_t wk, size_t nj, size_t ne, float *dx,
                                                       ptrdiff_t ldc, size_t ncol, size_t nch) {
    __m256 acc[2 * MJ];
#pragma GCC unroll 12
    for (int i = 0; i < 2 * MJ; i++) acc[i] = _mm256_setzero_ps();
    const float *d0 = dyr[0], *d1 = dyr[NR - 1], *w0 = wr[0], *w1 = wr[NR - 1];
    for (size_t k = 0; k < kn; k++) {
        tap_row(d0, w0, nj, ne, acc);
        if (NR > 1) tap_row(d1, w1, nj, ne, acc);
        d0 += dyk;
        d1 += dyk;
        w0 += wk;
        w1 += wk;
    }
    __m256 lo[8], hi[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
        lo[i] = acc[i];
        hi[i] = i + 8 < 2 * MJ ? acc[i + 8] : _mm256_setzero_ps();
    }
    transpose8(lo);
    transpose8(hi);
    const __m256i mlo = lanes_below(ncol), mhi = lanes_below(ncol > 8 ? ncol - 8 : 0);
#pragma GCC unroll 8
    for (int c = 0; c < 8; c++) {
        if ((size_t)c >= nch) break;
        if (ncol >= 8)
            _mm256_storeu_ps(dx + c * ldc, lo[c]);
        else
            _mm256_maskstore_ps(dx + c * ldc, mlo, lo[c]);
        if (ncol > 8) _mm256_maskstore_ps(dx + c * ldc + 8, mhi, hi[c]);
    }
}

void nb_f32_conv_bdata_s2_ukernel_8x6__avx2(size_t kn, size_t nr, const float *const *dyr,
                                            ptrdiff_t dyk, const float *const *wr, ptrdiff_t wk,
                                            size_t nj, int edge, float *dx, ptrdiff_t ldc,
                                            size_t ncol, size_t nch) {
    assert(nr >= 1 && nr <= 2 && nj >= 1 && nj <= MJ && ncol <= 2 * nj && nch >= 1 && nch <= 8);
    /* every nj with constant bounds (a runtime nj branched in the j loop:
       the remainder tile of a 28-wide dy row took ~1/4 of the time) */
#define NB_BDATA_CASE(NJ)                                                          \
    case NJ:                                                                       \
        if (nr == 2 && edge)                                                       \
            tile(2, kn, dyr, dyk, wr, wk, NJ, NJ, dx, ldc, ncol, nch);             \
        else if (nr == 2)                                                          \
            tile(2, kn, dyr, dyk, wr, wk, NJ, NJ + 1, dx, ldc, ncol, nch);         \
        else if (edge)                                                             \
            tile(1, kn, dyr, dyk, wr, wk, NJ, NJ, dx, ldc, ncol, nch);             \
        else                                                                       \
            tile(1, kn, dyr, dyk, wr, wk, NJ, NJ + 1, dx, ldc, ncol, nch);         \
        break;
    switch (nj) {
        NB_BDATA_CASE(1)
        NB_BDATA_CASE(2)
        NB_BDATA_CASE(3)
        NB_BDATA_CASE(4)
        NB_BDATA_CASE(5)
        default:
        NB_BDATA_CASE(6)
    }
#undef NB_BDATA_CASE
}

/* 8 channel rows: taps 0..7 through the tile's 8 x 8 transpose, tap 8 a
   float at a time. */
void nb_f32_conv_bdata_s2_pack_8__avx2(size_t nc, const float *src, float *dst) {
    assert(nc >= 1 && nc <= 8);
    __m256 r[8];
#pragma GCC unroll 8
    for (int c = 0; c < 8; c++) r[c] = (size_t)c < nc ? _mm256_loadu_ps(src + 9 * c) : _mm256_setzero_ps();
    transpose8(r);
#pragma GCC unroll 8
    for (int t = 0; t < 8; t++) _mm256_storeu_ps(dst + 8 * t, r[t]);
#pragma GCC unroll 8
    for (int c = 0; c < 8; c++) dst[64 + c] = (size_t)c < nc ? src[9 * c + 8] : 0.0f;
}
