/* The 3x3 stride-2 pad-1 backward-data tile, broadcast orientation (contract:
 * src/ukernel_convbdata.h). ISA: AVX2 + FMA.
 *
 * Register plan: 8 channels (one ymm) x 6 j x 2 column phases = 12
 * accumulators, 3 filter vectors (s = 0, 1, 2) and one broadcast: all 16
 * ymm registers. Per filter k and tap row, 7 broadcasts of dy[j0 .. j0 + 6]
 * and 3 vector loads for 18 FMAs; the 12 results of a channel are 12
 * contiguous dx pixels, written through an 8 x 8 transpose and a 4-wide
 * one. The same FMA chains as the AVX-512 tile: the same bits.
 */
#include <assert.h>
#include <stdint.h>

#include <immintrin.h>

#include "ukernel_convbdata.h"

#define MJ 6

static inline __attribute__((always_inline)) void tap_row(const float *d, const float *w, size_t nj,
                                                          size_t ne, __m256 *acc) {
    const __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8), w2 = _mm256_loadu_ps(w + 16);
#pragma GCC unroll 7
    for (int e = 0; e <= MJ; e++) {
        if ((size_t)e >= ne) break;
        const __m256 b = _mm256_broadcast_ss(d + e);
        if (e < MJ && (size_t)e < nj) {
            acc[2 * e] = _mm256_fmadd_ps(w1, b, acc[2 * e]);
            acc[2 * e + 1] = _mm256_fmadd_ps(w2, b, acc[2 * e + 1]);
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
    const size_t ne = edge ? nj : nj + 1;
    if (nj == MJ) {   /* full tiles: the j loop unrolled with constant bounds */
        if (nr == 2) {
            if (edge)
                tile(2, kn, dyr, dyk, wr, wk, MJ, MJ, dx, ldc, ncol, nch);
            else
                tile(2, kn, dyr, dyk, wr, wk, MJ, MJ + 1, dx, ldc, ncol, nch);
        } else {
            if (edge)
                tile(1, kn, dyr, dyk, wr, wk, MJ, MJ, dx, ldc, ncol, nch);
            else
                tile(1, kn, dyr, dyk, wr, wk, MJ, MJ + 1, dx, ldc, ncol, nch);
        }
    } else if (nr == 2) {
        tile(2, kn, dyr, dyk, wr, wk, nj, ne, dx, ldc, ncol, nch);
    } else {
        tile(1, kn, dyr, dyk, wr, wk, nj, ne, dx, ldc, ncol, nch);
    }
}
