/* Depthwise 3x3 forward, stride 1 and dilation 1, AVX2+FMA (contract and
 * numerics: src/ukernel_dwconv.h; included by f32-dwconv-avx2.c only,
 * after dwconv3x3-avx2.h for the mask helpers).
 *
 * Row bands across the whole width: a pass takes NR output rows (3, the
 * last pass 1 or 2) and runs along them in blocks of 8 columns, left to
 * right. A block loads each of its NR + 2 input rows once (3 shifted
 * loads) and feeds every output row that reads it: 15 loads for 27 FMAs
 * at NR = 3. All 9 weights stay in registers (9 ymm + NR accumulators +
 * the x load: 13 of the 16). Each output row still gets its taps in
 * (r, s) order (input row i is tap row i - j of output row j): the
 * contract's chain, the same bits as before and as the plain-C twin.
 *
 * Why this form (session 11) and not the rolling window over strips of
 * 4 + 3 blocks that it replaces:
 *  - the rolling window held 3 output rows x 4 blocks = 12 accumulators,
 *    so only 2 of the 9 weights fitted and 7 of 9 FMAs had a memory
 *    operand (10 loads per 9 FMAs), and its fully unrolled strips were
 *    code the size of several KiB per strip width and mask pattern;
 *  - a strip read only its columns of each row (128 of 224 bytes at
 *    W = 56) and the next strip came back for the rest: the plane was
 *    not one sequential stream. Here x and y are each read / written
 *    front to back, band after band, and plane after plane in NCHW, the
 *    pattern the hardware prefetchers follow without help; no software
 *    prefetch of the next plane is needed.
 * Edge blocks (those reaching the padding or passing Q) load under masks
 * (vmaskmovps: masked lanes read 0 and never fault) built once a plane,
 * and only the tap columns that need one: at padding 1 the left block
 * masks its s = 0 loads and the right block its s = 2 loads (with every
 * load masked, the 2 edge blocks of a 56-wide row took 53 % of the
 * kernel's time); a block past Q also masks its y.
 * Measured (session 11, 1 thread, AVX2, alternating runs beside the
 * rolling window, CPU-time medians under load): one 56x56 plane in L1
 * 0.93 -> 0.76-0.81 us; layers c144 56x56 forward 0.146 -> 0.135 ms and
 * backward-data 0.147 -> 0.134 ms, c32 112x112 within 1-3 %.
 * Tried and dropped: two full blocks a step (6 chains; no gain, the OoO
 * window already overlaps the steps), storing each block after the next
 * one's loads (against 4K aliasing of x and y: no gain), pairing each
 * edge block with a full block (GCC's code for it was 40 % slower), a
 * write prefetch of the output 6 rows ahead (no change).
 */
#ifndef NB_DWCONV3X3_FWD_AVX2_H
#define NB_DWCONV3X3_FWD_AVX2_H

#include <immintrin.h>

#include "mask-avx2.h"
#include "ukernel.h"

/* Edge blocks with masks built once a plane (more, with wide padding or a
   narrow plane, build theirs per pass). */
#define NB_DW3F_MAXM 8

typedef struct {
    const nb_dw_plane *g;
    int64_t nblk, jl, jr;            /* blocks [jl, jr) are full (jl == jr: none) */
    int accumulate;
    int nm;                          /* edge blocks with stored masks: the first nm, in order */
    unsigned kind[NB_DW3F_MAXM];     /* bit s: tap column s reaches past the row; 8: y past Q */
    __m256i mx[NB_DW3F_MAXM][3];     /* x lanes of tap column s */
    __m256i my[NB_DW3F_MAXM];        /* y lanes (q < Q) */
} nb_dw3f_plane;

/* The block of 8 columns at qb of the band's NR output rows: rows[i] is
   input row i of the band (offset by -pad_w), ys[j] output row j. Tap
   column s loads under mask mx[s] where bit s of MS is set, y under my if
   MY. The FMAs go input row by input row, tap column by tap column: NR
   independent chains, and the OoO window overlaps the next blocks'. */
static inline __attribute__((always_inline)) void
nb_dw3f_block(const float *const *rows, float *const *ys, int64_t qb, const __m256 *w, __m256 bias,
              int accumulate, const int NR, const unsigned MS, const int MY, const __m256i *mx,
              __m256i my) {
    __m256 acc[3];
    _Pragma("GCC unroll 3") for (int j = 0; j < NR; j++)
        acc[j] = !accumulate ? bias
                 : MY        ? _mm256_maskload_ps(ys[j] + qb, my)
                             : _mm256_loadu_ps(ys[j] + qb);
    _Pragma("GCC unroll 5") for (int i = 0; i < NR + 2; i++) {
        _Pragma("GCC unroll 3") for (int s = 0; s < 3; s++) {
            const float *xp = rows[i] + qb + s;
            const __m256 xv = (MS >> s) & 1 ? _mm256_maskload_ps(xp, mx[s]) : _mm256_loadu_ps(xp);
            _Pragma("GCC unroll 3") for (int j = 0; j < NR; j++)
                if (i - j >= 0 && i - j <= 2) acc[j] = _mm256_fmadd_ps(xv, w[3 * (i - j) + s], acc[j]);
        }
    }
    _Pragma("GCC unroll 3") for (int j = 0; j < NR; j++) {
        if (MY) nb_avx2_maskstore_first(ys[j] + qb, my, acc[j]);
        else _mm256_storeu_ps(ys[j] + qb, acc[j]);
    }
}

/* The masks of the block at qb into mx, my. */
static inline void nb_dw3f_masks(const nb_dw_plane *g, int64_t qb, __m256i *mx, __m256i *my) {
    *my = nb_dw3a_range(0, g->q - qb);
    for (int s = 0; s < 3; s++) mx[s] = nb_dw3a_xmask(g, qb, s - g->pad_w);
}

/* Edge block qb of the given kind: the usual edges (padding 1: one tap
   column masked) get their own code. */
static inline __attribute__((always_inline)) void
nb_dw3f_edge(const float *const *rows, float *const *ys, int64_t qb, const __m256 *w, __m256 bias,
             int accumulate, const int NR, unsigned kind, const __m256i *mx, __m256i my) {
    switch (kind) {
    case 1: nb_dw3f_block(rows, ys, qb, w, bias, accumulate, NR, 1, 0, mx, my); break;
    case 4: nb_dw3f_block(rows, ys, qb, w, bias, accumulate, NR, 4, 0, mx, my); break;
    case 8 | 4: nb_dw3f_block(rows, ys, qb, w, bias, accumulate, NR, 4, 1, mx, my); break;
    default: nb_dw3f_block(rows, ys, qb, w, bias, accumulate, NR, 7, 1, mx, my);
    }
}

/* Output rows p .. p + NR - 1, every block, left to right: the edge
   blocks before the full run [jl, jr), the run, the edge blocks after it
   (those past the NB_DW3F_MAXM stored masks build theirs here). */
static inline __attribute__((always_inline)) void
nb_dw3f_band(const nb_dw3f_plane *pl, const float *x, const float *zero, const __m256 *wm,
             __m256 bias, float *y, int64_t p, const int NR) {
    const nb_dw_plane *g = pl->g;
    const float *rows[5];
    float *ys[3];
    __m256 w[9];
    _Pragma("GCC unroll 9") for (int t = 0; t < 9; t++) w[t] = wm[t];
    nb_dw_band_rows(g, x, zero, y, p, NR, rows, ys);
    const int acc = pl->accumulate;
    int m = 0;
    for (int64_t b = 0; b < pl->nblk; b++) {
        if (b == pl->jl && pl->jl < pl->jr) {
            for (; b < pl->jr; b++)
                nb_dw3f_block(rows, ys, 8 * b, w, bias, acc, NR, 0, 0, NULL, _mm256_setzero_si256());
            b--;
            continue;
        }
        if (m < pl->nm) {
            nb_dw3f_edge(rows, ys, 8 * b, w, bias, acc, NR, pl->kind[m], pl->mx[m], pl->my[m]);
            m++;
            continue;
        }
        __m256i mx[3], my;
        nb_dw3f_masks(g, 8 * b, mx, &my);
        nb_dw3f_block(rows, ys, 8 * b, w, bias, acc, NR, 7, 1, mx, my);
    }
}

static void nb_dw3f_band3(const nb_dw3f_plane *pl, const float *x, const float *zero,
                          const __m256 *w, __m256 bias, float *y, int64_t p) {
    nb_dw3f_band(pl, x, zero, w, bias, y, p, 3);
}
static void nb_dw3f_band2(const nb_dw3f_plane *pl, const float *x, const float *zero,
                          const __m256 *w, __m256 bias, float *y, int64_t p) {
    nb_dw3f_band(pl, x, zero, w, bias, y, p, 2);
}
static void nb_dw3f_band1(const nb_dw3f_plane *pl, const float *x, const float *zero,
                          const __m256 *w, __m256 bias, float *y, int64_t p) {
    nb_dw3f_band(pl, x, zero, w, bias, y, p, 1);
}

static void nb_dw3f_fwd(const nb_dw_plane *g, const float *x, const float *w, float bias,
                        int accumulate, const float *zero, float *y) {
    if (g->p <= 0) return;
    nb_dw3f_plane pl = {.g = g, .nblk = (g->q + 7) / 8, .accumulate = accumulate};
    /* full: 8 b >= q_lo and 8 b + 8 <= q_hi */
    pl.jl = (g->q_lo + 7) / 8;
    pl.jr = g->q_hi / 8;
    if (pl.jl > pl.nblk) pl.jl = pl.nblk;
    if (pl.jr < pl.jl) pl.jr = pl.jl;
    for (int64_t b = 0; b < pl.nblk && pl.nm < NB_DW3F_MAXM; b++) {
        if (b >= pl.jl && b < pl.jr) continue;
        unsigned kind = g->q - 8 * b < 8 ? 8u : 0u;
        for (int s = 0; s < 3; s++) {
            const int64_t c0 = 8 * b + s - g->pad_w;   /* x column of lane 0 */
            kind |= c0 >= 0 && c0 + 8 <= g->w ? 0u : 1u << s;
        }
        pl.kind[pl.nm] = kind;
        nb_dw3f_masks(g, 8 * b, pl.mx[pl.nm], &pl.my[pl.nm]);
        pl.nm++;
    }
    __m256 wv[9];
    for (int t = 0; t < 9; t++) wv[t] = _mm256_set1_ps(w[t]);
    const __m256 bv = _mm256_set1_ps(bias);
    int64_t p = 0;
    for (; p + 3 <= g->p; p += 3) nb_dw3f_band3(&pl, x, zero, wv, bv, y, p);
    if (g->p - p == 2) nb_dw3f_band2(&pl, x, zero, wv, bv, y, p);
    else if (g->p - p == 1) nb_dw3f_band1(&pl, x, zero, wv, bv, y, p);
}

#endif
