/* Depthwise 3x3 forward, stride 1 and dilation 1, AVX-512, in row bands
 * (contract and numerics: src/ukernel_dwconv.h; included by
 * f32-dwconv-avx512.c only, after dwconv3x3-avx512.h for nb_dw3_range).
 *
 * The AVX2 forward's form (kernels/avx2/dwconv3x3-fwd-avx2.h): a pass
 * takes NR output rows (3, the last pass 1 or 2) across the whole width in
 * blocks of 16 columns, left to right; a block loads each of its NR + 2
 * input rows once (3 shifted loads, k-masked at the edges, where masked
 * lanes read 0 and never fault) and feeds every output row that reads it:
 * 15 loads for 27 FMAs, the 9 weights in registers. Each output row gets
 * its taps in (r, s) order: the contract's chain, the same bits.
 * Against the rolling window over strips of 4 + 3 blocks
 * (dwconv3x3-avx512.h), x and y are each one sequential stream; there the
 * first strip, which pulls the plane from L3, took 3/4 of the layer's time
 * for 4/7 of its blocks (c32 112x112).
 */
#ifndef NB_DWCONV3X3_FWD_AVX512_H
#define NB_DWCONV3X3_FWD_AVX512_H

#include <immintrin.h>

#include "ukernel.h"

/* Blocks with masks kept per plane (wider planes build the rest per band). */
#define NB_DW3B_MAXB 16

typedef struct {
    const nb_dw_plane *g;
    int64_t nblk;
    int accumulate;
    __mmask16 mx[NB_DW3B_MAXB][3];   /* x lanes of block b, tap column s */
    __mmask16 my[NB_DW3B_MAXB];      /* y lanes (q < Q) */
} nb_dw3b_plane;

/* The masks of the block at qb: x lanes with 0 <= q + s - pad_w < W and
   q < Q, y lanes with q < Q. */
static inline void nb_dw3b_masks(const nb_dw_plane *g, int64_t qb, __mmask16 *mx, __mmask16 *my) {
    const int64_t qend = g->q - qb;
    *my = nb_dw3_range(0, qend);
    for (int s = 0; s < 3; s++) {
        const int64_t off = s - g->pad_w, hi = g->w - off - qb;
        mx[s] = nb_dw3_range(-(qb + off), hi < qend ? hi : qend);
    }
}

/* The block at qb of the band's NR output rows (rows[i]: input row i,
   offset by -pad_w; ys[j]: output row j). */
static inline __attribute__((always_inline)) void
nb_dw3b_block(const float *const *rows, float *const *ys, int64_t qb, const __m512 *w, __m512 bias,
              int accumulate, const int NR, const __mmask16 *mx, __mmask16 my) {
    __m512 acc[3];
    _Pragma("GCC unroll 3") for (int j = 0; j < NR; j++)
        acc[j] = accumulate ? _mm512_maskz_loadu_ps(my, ys[j] + qb) : bias;
    _Pragma("GCC unroll 5") for (int i = 0; i < NR + 2; i++) {
        _Pragma("GCC unroll 3") for (int s = 0; s < 3; s++) {
            const __m512 xv = _mm512_maskz_loadu_ps(mx[s], rows[i] + qb + s);
            _Pragma("GCC unroll 3") for (int j = 0; j < NR; j++)
                if (i - j >= 0 && i - j <= 2) acc[j] = _mm512_fmadd_ps(xv, w[3 * (i - j) + s], acc[j]);
        }
    }
    _Pragma("GCC unroll 3") for (int j = 0; j < NR; j++) _mm512_mask_storeu_ps(ys[j] + qb, my, acc[j]);
}

static inline __attribute__((always_inline)) void
nb_dw3b_band(const nb_dw3b_plane *pl, const float *x, const float *zero, const __m512 *wm,
             __m512 bias, float *y, int64_t p, const int NR) {
    const nb_dw_plane *g = pl->g;
    const float *rows[5];
    float *ys[3];
    __m512 w[9];
    _Pragma("GCC unroll 9") for (int t = 0; t < 9; t++) w[t] = wm[t];
    nb_dw_band_rows(g, x, zero, y, p, NR, rows, ys);
    const int64_t nk = pl->nblk < NB_DW3B_MAXB ? pl->nblk : NB_DW3B_MAXB;
    for (int64_t b = 0; b < nk; b++)
        nb_dw3b_block(rows, ys, 16 * b, w, bias, pl->accumulate, NR, pl->mx[b], pl->my[b]);
    for (int64_t b = nk; b < pl->nblk; b++) {
        __mmask16 mx[3], my;
        nb_dw3b_masks(g, 16 * b, mx, &my);
        nb_dw3b_block(rows, ys, 16 * b, w, bias, pl->accumulate, NR, mx, my);
    }
}

static void nb_dw3b_band3(const nb_dw3b_plane *pl, const float *x, const float *zero,
                          const __m512 *w, __m512 bias, float *y, int64_t p) {
    nb_dw3b_band(pl, x, zero, w, bias, y, p, 3);
}
static void nb_dw3b_band2(const nb_dw3b_plane *pl, const float *x, const float *zero,
                          const __m512 *w, __m512 bias, float *y, int64_t p) {
    nb_dw3b_band(pl, x, zero, w, bias, y, p, 2);
}
static void nb_dw3b_band1(const nb_dw3b_plane *pl, const float *x, const float *zero,
                          const __m512 *w, __m512 bias, float *y, int64_t p) {
    nb_dw3b_band(pl, x, zero, w, bias, y, p, 1);
}

static void nb_dw3b_fwd(const nb_dw_plane *g, const float *x, const float *w, float bias,
                        int accumulate, const float *zero, float *y) {
    if (g->p <= 0) return;
    nb_dw3b_plane pl = {.g = g, .nblk = (g->q + 15) / 16, .accumulate = accumulate};
    for (int64_t b = 0; b < pl.nblk && b < NB_DW3B_MAXB; b++)
        nb_dw3b_masks(g, 16 * b, pl.mx[b], &pl.my[b]);
    __m512 wv[9];
    for (int t = 0; t < 9; t++) wv[t] = _mm512_set1_ps(w[t]);
    const __m512 bv = _mm512_set1_ps(bias);
    int64_t p = 0;
    for (; p + 3 <= g->p; p += 3) nb_dw3b_band3(&pl, x, zero, wv, bv, y, p);
    if (g->p - p == 2) nb_dw3b_band2(&pl, x, zero, wv, bv, y, p);
    else if (g->p - p == 1) nb_dw3b_band1(&pl, x, zero, wv, bv, y, p);
}

#endif
