/* The 3x3 stride-2 pad-1 backward-data tile, broadcast orientation (contract:
 * src/ukernel_convbdata.h). ISA: AVX-512F.
 *
 * Register plan: 16 channels (one zmm) x 14 j x 2 column phases = 28
 * accumulators; per filter k and tap row, 3 filter vectors (s = 0, 1, 2)
 * and dy[j0 .. j0 + 14] (one row, stride 1) for 42 FMAs: each dy scalar
 * feeds three outputs (2j - 1 by s = 0, 2j by s = 1, 2j + 1 by s = 2),
 * broadcast by each FMA's memory operand ({1to16}, inline asm: gcc keeps
 * a broadcast register otherwise). 31 zmm, no spill. No dy packing, no
 * scratch: the 28 results of a channel are 28 contiguous dx pixels,
 * written through two 16 x 16 transposes.
 * Measured (Zen 4, c128 56x56, 1 thread, 3 alternated rounds): with
 * separate vbroadcastss (one accumulator spilled in the 2-tap-row loop)
 * 2.139 ms, with the embedded broadcasts 2.094 (llvm-mca -mcpu=znver4
 * puts the broadcasts on the FMA pipes: 54.6 cycles a 42-FMA loop vs 42).
 */
#include <assert.h>
#include <stdint.h>

#include <immintrin.h>

#include "transpose-avx512.h"
#include "ukernel.h"

#define MJ 14

/* acc + w d[0], the scalar broadcast by the FMA's memory operand
   ({1to16}): no separate broadcast op. The product is commutative and the
   FMA exact: the bits of fmadd(w, set1(d[0]), acc). */
static inline __attribute__((always_inline)) __m512 fma_bcast(__m512 w, const float *d, __m512 acc) {
    __asm__("vfmadd231ps %[m]%{1to16%}, %[w], %[acc]" : [acc] "+v"(acc) : [w] "v"(w), [m] "m"(*d));
    return acc;
}

/* One tap row of one filter: dy[0 .. ne) (ne <= nj + 1) into the outputs
   of j < nj (the contract's order within a tap row). */
static inline __attribute__((always_inline)) void tap_row(const float *d, const float *w, size_t nj,
                                                          size_t ne, __m512 *acc) {
    const __m512 w0 = _mm512_loadu_ps(w), w1 = _mm512_loadu_ps(w + 16), w2 = _mm512_loadu_ps(w + 32);
#pragma GCC unroll 15
    for (int e = 0; e <= MJ; e++) {
        if ((size_t)e >= ne) break;
        if (e < MJ && (size_t)e < nj) {
            acc[2 * e] = fma_bcast(w1, d + e, acc[2 * e]);
            acc[2 * e + 1] = fma_bcast(w2, d + e, acc[2 * e + 1]);
        }
        if (e >= 1) acc[2 * e - 1] = fma_bcast(w0, d + e, acc[2 * e - 1]);
    }
}

static inline __attribute__((always_inline)) void tile(const int NR, size_t kn, const float *const *dyr,
                                                       ptrdiff_t dyk, const float *const *wr,
                                                       ptrdiff_t wk, size_t nj, size_t ne, float *dx,
                                                       ptrdiff_t ldc, size_t ncol, size_t nch) {
    __m512 acc[2 * MJ];
#pragma GCC unroll 28
    for (int i = 0; i < 2 * MJ; i++) acc[i] = _mm512_setzero_ps();
    const float *d0 = dyr[0], *d1 = dyr[NR - 1], *w0 = wr[0], *w1 = wr[NR - 1];
    for (size_t k = 0; k < kn; k++) {
        tap_row(d0, w0, nj, ne, acc);
        if (NR > 1) tap_row(d1, w1, nj, ne, acc);
        d0 += dyk;
        d1 += dyk;
        w0 += wk;
        w1 += wk;
    }
    __m512 lo[16], hi[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) {
        lo[i] = acc[i];
        hi[i] = i + 16 < 2 * MJ ? acc[i + 16] : _mm512_setzero_ps();
    }
    nb_avx512_transpose16x16(lo);
    nb_avx512_transpose16x16(hi);
    const __mmask16 mlo = (__mmask16)(ncol >= 16 ? 0xFFFF : (1u << ncol) - 1);
    const __mmask16 mhi = (__mmask16)(ncol <= 16 ? 0 : (1u << (ncol - 16)) - 1);
#pragma GCC unroll 16
    for (int c = 0; c < 16; c++) {
        if ((size_t)c >= nch) break;
        _mm512_mask_storeu_ps(dx + c * ldc, mlo, lo[c]);
        _mm512_mask_storeu_ps(dx + c * ldc + 16, mhi, hi[c]);
    }
}

void nb_f32_conv_bdata_s2_ukernel_16x14__avx512(size_t kn, size_t nr, const float *const *dyr,
                                                ptrdiff_t dyk, const float *const *wr, ptrdiff_t wk,
                                                size_t nj, int edge, float *dx, ptrdiff_t ldc,
                                                size_t ncol, size_t nch) {
    assert(nr >= 1 && nr <= 2 && nj >= 1 && nj <= MJ && ncol <= 2 * nj && nch >= 1 && nch <= 16);
    /* the driver's tiles are ceil(Q / 14) of nearly equal width: 7 to 14
       j from Q = 7 on, each with constant bounds; narrower (Q < 7) at run
       time */
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
        NB_BDATA_CASE(7)
        NB_BDATA_CASE(8)
        NB_BDATA_CASE(9)
        NB_BDATA_CASE(10)
        NB_BDATA_CASE(11)
        NB_BDATA_CASE(12)
        NB_BDATA_CASE(13)
        NB_BDATA_CASE(14)
        default: {
            const size_t ne = edge ? nj : nj + 1;
            if (nr == 2)
                tile(2, kn, dyr, dyk, wr, wk, nj, ne, dx, ldc, ncol, nch);
            else
                tile(1, kn, dyr, dyk, wr, wk, nj, ne, dx, ldc, ncol, nch);
        }
    }
#undef NB_BDATA_CASE
}

/* 16 channel rows of 9 taps (masked loads: no read past the run) through
   the tile's 16 x 16 transpose; the first 9 rows out. */
void nb_f32_conv_bdata_s2_pack_16__avx512(size_t nc, const float *src, float *dst) {
    assert(nc >= 1 && nc <= 16);
    __m512 r[16];
#pragma GCC unroll 16
    for (int c = 0; c < 16; c++)
        r[c] = (size_t)c < nc ? _mm512_maskz_loadu_ps((__mmask16)0x1FF, src + 9 * c) : _mm512_setzero_ps();
    nb_avx512_transpose16x16(r);
#pragma GCC unroll 9
    for (int t = 0; t < 9; t++) _mm512_storeu_ps(dst + 16 * t, r[t]);
}
