/* Depthwise 3x3, stride 1, dilation 1, AVX-512: forward and backward-filter
 * of one NCHW plane as a rolling window over the input rows (contract and
 * numerics: src/ukernel_dwconv.h; included by f32-dwconv-avx512.c only).
 *
 * Why a rolling window: a tap is one load of a shifted input row and one
 * FMA, so computing each output row from its 3 input rows costs a load per
 * FMA, and most of those 64-byte loads straddle two cache lines (the taps
 * sit at -1, 0, +1 floats): the load ports, not the FMA pipes, set the
 * pace. Here each input row is loaded once (3 shifted vectors a 16-column
 * block) and feeds the 3 output rows that read it: 3 loads per 9 FMAs.
 *
 * Forward, step k reads input row ih = k - pad_h (the zero row outside the
 * plane) and adds its taps r = 0, 1, 2 to output rows k, k - 1, k - 2:
 * each output row still gets its taps in (r, s) order, the contract's
 * chain. Row k - 2 is then complete, is stored, and its registers start
 * row k + 1. Register plan (NB blocks of 16 columns, NB <= 4): 3 rows x NB
 * accumulators + 9 broadcast weights + 3 loads <= 24 zmm; the three rows
 * rotate through the three accumulator sets by unrolling the steps by 3.
 *
 * Backward-filter, the same steps: input row k meets dy rows k - r for the
 * taps of row r; the 9 tap sums stay in 9 zmm (16 lanes = q mod 16 each) for
 * the whole plane, and every tap still takes its dy rows in order and, in
 * a row, its 16-column blocks in order: the contract's lanes. 3 x loads +
 * 3 dy loads per 9 FMAs.
 *
 * Borders: every x load is masked by the per-plane lane-mask table (lanes
 * whose column is in the padding, or past Q, read 0 and are not touched;
 * masked-off lanes never fault), so border columns are vectors too.
 */
#ifndef NB_DWCONV3X3_AVX512_H
#define NB_DWCONV3X3_AVX512_H

#include <immintrin.h>

#include "ukernel.h"

/* The 3 x NB (block, tap column) masks of the strip of blocks from b0:
   copied from the plane's table mt (nb_dw3_masks below) */
typedef struct {
    __mmask16 x[4][3];   /* x loads of block b, tap column s */
    __mmask16 y[4];      /* output / dy lanes of block b (q < Q) */
} nb_dw3_strip;

static inline __mmask16 nb_dw3_range(int64_t lo, int64_t hi) {
    lo = lo < 0 ? 0 : lo;
    hi = hi > 16 ? 16 : hi;
    return hi <= lo ? (__mmask16)0 : (__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
}

/* Masks of the blocks [q0, q0 + 16 NB): x lanes with 0 <= q + s - pad_w < W
   and q < Q, y lanes with q < Q. */
static inline void nb_dw3_strip_masks(const nb_dw_plane *g, int64_t q0, int nb, nb_dw3_strip *m) {
    for (int b = 0; b < 4; b++) {
        const int64_t qb = q0 + 16 * b, qend = g->q - qb;
        m->y[b] = b < nb ? nb_dw3_range(0, qend) : 0;
        for (int s = 0; s < 3; s++) {
            const int64_t off = s - g->pad_w;   /* iw = q + off */
            const int64_t hi = g->w - off - qb;
            m->x[b][s] = b < nb ? nb_dw3_range(-(qb + off), hi < qend ? hi : qend) : 0;
        }
    }
}

/* A load of block b under its mask when the block is in the mask set MB
   (a constant: interior blocks take plain loads, no mask register). */
static inline __attribute__((always_inline)) __m512 nb_dw3_ld(const unsigned MB, int b, __mmask16 m,
                                                              const float *p) {
    return (MB >> b) & 1 ? _mm512_maskz_loadu_ps(m, p) : _mm512_loadu_ps(p);
}

/* ---- forward ---- */

/* The state of one strip of NB <= 4 blocks at column q0. a[j] holds the
   rows of the current step: a[0] row k, a[1] row k - 1, a[2] row k - 2. */
typedef struct {
    const nb_dw_plane *g;
    const float *x, *zero;
    float *y;
    float bias;
    int accumulate;
    int64_t q0;
    nb_dw3_strip m;
    __m512 w[9];
    __m512 a[3][4];
} nb_dw3_fs;

/* The loop-invariant scalars of a strip, in locals (stores through y
   could otherwise alias the state and force reloads). */
typedef struct {
    const float *x, *zero;
    float *y;
    int64_t h, w, p, q, pad_h, xq0, yq0;   /* x column of block 0's tap 0, y column */
    float bias;
    int accumulate;
} nb_dw3_fv;

/* Keeps v in a register: the compiler would rather fold a load into each
   of its 3 FMAs (3 loads instead of 1). */
#define NB_DW3_REG(v) __asm__("" : "+v"(v))

/* The start of output row p (bias, or y when accumulating). */
static inline __attribute__((always_inline)) void
nb_dw3_fwd_start(const nb_dw3_fv *v, const __mmask16 *my, const int NB, int64_t p, __m512 *a) {
    const float *yr = v->y + p * v->q + v->yq0;
    for (int b = 0; b < NB; b++)
        a[b] = v->accumulate ? _mm512_maskz_loadu_ps(my[b], yr + 16 * b) : _mm512_set1_ps(v->bias);
}

/* Step k: the 3 shifted loads of input row k - pad_h for each block, then
   its taps r = 0 (a0: row k), 1 (a1: row k - 1), 2 (a2: row k - 2) where
   use0..2 say the row exists. Row k - 2 is then complete and stored, and
   the rows move down a register set (moves, no arithmetic), a0 starting
   row k + 1. */
static inline __attribute__((always_inline)) void
nb_dw3_fwd_k(const nb_dw3_fv *v, int64_t k, const int NB, const unsigned MB, int use0, int use1,
             int use2, const __m512 *w, __mmask16 (*mx)[3], const __mmask16 *my, __m512 *a0,
             __m512 *a1, __m512 *a2) {
    const int64_t ih = k - v->pad_h;
    const float *row = (ih >= 0 && ih < v->h ? v->x + ih * v->w : v->zero) + v->xq0;
    for (int b = 0; b < NB; b++) {
        __m512 xs[3];
        for (int s = 0; s < 3; s++) {
            xs[s] = nb_dw3_ld(MB, b, mx[b][s], row + 16 * b + s);
            NB_DW3_REG(xs[s]);
        }
        if (use0)
            for (int s = 0; s < 3; s++) a0[b] = _mm512_fmadd_ps(xs[s], w[s], a0[b]);
        if (use1)
            for (int s = 0; s < 3; s++) a1[b] = _mm512_fmadd_ps(xs[s], w[3 + s], a1[b]);
        if (use2)
            for (int s = 0; s < 3; s++) a2[b] = _mm512_fmadd_ps(xs[s], w[6 + s], a2[b]);
    }
    if (use2) {
        float *yr = v->y + (k - 2) * v->q + v->yq0;
        for (int b = 0; b < NB; b++) {
            if ((MB >> b) & 1) _mm512_mask_storeu_ps(yr + 16 * b, my[b], a2[b]);
            else _mm512_storeu_ps(yr + 16 * b, a2[b]);
        }
    }
    for (int b = 0; b < NB; b++) {
        a2[b] = a1[b];
        a1[b] = a0[b];
    }
    if (k + 1 < v->p) nb_dw3_fwd_start(v, my, NB, k + 1, a0);
}

/* Steps [k0, k1) with the weights, masks and accumulators in locals
   (registers): steady (2 <= k < P, every row there, no tests) or not (the
   first and last two steps: the tests of nb_dw3_fwd_k). */
static inline __attribute__((always_inline)) void
nb_dw3_fwd_run(nb_dw3_fs *st, int64_t k0, int64_t k1, const int NB, const unsigned MB,
               const int steady) {
    const nb_dw_plane *g = st->g;
    const nb_dw3_fv v = {st->x, st->zero, st->y, g->h, g->w, g->p, g->q, g->pad_h,
                         st->q0 - g->pad_w, st->q0, st->bias, st->accumulate};
    const int64_t P = v.p;
    __m512 w[9], a0[4], a1[4], a2[4];
    __mmask16 mx[4][3], my[4];
    for (int t = 0; t < 9; t++) w[t] = st->w[t];
    for (int b = 0; b < NB; b++) {
        a0[b] = st->a[0][b];
        a1[b] = st->a[1][b];
        a2[b] = st->a[2][b];
        my[b] = st->m.y[b];
        for (int s = 0; s < 3; s++) mx[b][s] = st->m.x[b][s];
    }
    for (int64_t k = k0; k < k1; k++) {
        if (steady) nb_dw3_fwd_k(&v, k, NB, MB, 1, 1, 1, w, mx, my, a0, a1, a2);
        else nb_dw3_fwd_k(&v, k, NB, MB, k < P, k >= 1 && k <= P, k >= 2, w, mx, my, a0, a1, a2);
    }
    for (int b = 0; b < NB; b++) {
        st->a[0][b] = a0[b];
        st->a[1][b] = a1[b];
        st->a[2][b] = a2[b];
    }
}

/* The steady steps [k0, k1) (2 <= k < P: all three rows there), written
   out with named registers so that nothing spills: three accumulator sets
   U, V, Z of NB blocks rotate roles every step (row k, k - 1, k - 2), so
   the loop is unrolled by 3 and nothing moves. Register plan (NB = 4):
   12 accumulators + 9 weights + 3 loads + the bias = 25 zmm; the masks of
   the masked blocks (MB) in mask registers. */
#define NB_DW3_X(b, s) nb_dw3_ld(MB, b, mx##b##s, row + 16 * b + s)
#define NB_DW3_FMA(A, b, w) A##b = _mm512_fmadd_ps(x##b, w, A##b)
/* tap column s of every block: NB loads, then 3 NB independent FMAs (the
   three rows' chains 3 NB FMAs apart, so their latency is hidden) */
#define NB_DW3_COL(s, A0, A1, A2, wa, wb, wc)                                                      \
    do {                                                                                           \
        __m512 x0, x1, x2, x3;                                                                     \
        if (NB > 0) { x0 = NB_DW3_X(0, s); NB_DW3_REG(x0); }                                         \
        if (NB > 1) { x1 = NB_DW3_X(1, s); NB_DW3_REG(x1); }                                         \
        if (NB > 2) { x2 = NB_DW3_X(2, s); NB_DW3_REG(x2); }                                         \
        if (NB > 3) { x3 = NB_DW3_X(3, s); NB_DW3_REG(x3); }                                         \
        if (NB > 0) { NB_DW3_FMA(A0, 0, wa); NB_DW3_FMA(A1, 0, wb); NB_DW3_FMA(A2, 0, wc); }         \
        if (NB > 1) { NB_DW3_FMA(A0, 1, wa); NB_DW3_FMA(A1, 1, wb); NB_DW3_FMA(A2, 1, wc); }         \
        if (NB > 2) { NB_DW3_FMA(A0, 2, wa); NB_DW3_FMA(A1, 2, wb); NB_DW3_FMA(A2, 2, wc); }         \
        if (NB > 3) { NB_DW3_FMA(A0, 3, wa); NB_DW3_FMA(A1, 3, wb); NB_DW3_FMA(A2, 3, wc); }         \
    } while (0)
#define NB_DW3_END(b, A2)                                                                            \
    if (NB > b) {                                                                                  \
        if ((MB >> b) & 1) _mm512_mask_storeu_ps(yo + 16 * b, my##b, A2##b);                       \
        else _mm512_storeu_ps(yo + 16 * b, A2##b);                                                 \
        A2##b = v.accumulate ? _mm512_maskz_loadu_ps(my##b & live, yn + 16 * b) : bias;            \
    }
/* step k: A0 = row k, A1 = row k - 1, A2 = row k - 2 (stored, then row k + 1) */
#define NB_DW3_STEP(A0, A1, A2)                                                                      \
    do {                                                                                           \
        const int64_t ih = k - v.pad_h;                                                            \
        const float *row = (ih >= 0 && ih < v.h ? v.x + ih * v.w : v.zero) + v.q0;                 \
        NB_DW3_COL(0, A0, A1, A2, w0, w3, w6);                                                     \
        NB_DW3_COL(1, A0, A1, A2, w1, w4, w7);                                                     \
        NB_DW3_COL(2, A0, A1, A2, w2, w5, w8);                                                     \
        float *yo = v.y + (k - 2) * v.q + v.yq0;                                                   \
        const float *yn = yo + 3 * v.q; /* row k + 1: read when accumulating and k + 1 < P */     \
        const __mmask16 live = k + 1 < v.p ? (__mmask16)0xFFFF : (__mmask16)0;                     \
        NB_DW3_END(0, A2)                                                                          \
        NB_DW3_END(1, A2)                                                                          \
        NB_DW3_END(2, A2)                                                                          \
        NB_DW3_END(3, A2)                                                                          \
        k++;                                                                                       \
    } while (0)
#define NB_DW3_SET(A, j)                                                                             \
    __m512 A##0 = st->a[j][0], A##1 = st->a[j][1], A##2 = st->a[j][2], A##3 = st->a[j][3]
#define NB_DW3_PUT(A, j)                                                                             \
    st->a[j][0] = A##0, st->a[j][1] = A##1, st->a[j][2] = A##2, st->a[j][3] = A##3
#define NB_DW3_MASKS(b)                                                                              \
    const __mmask16 mx##b##0 = st->m.x[b][0], mx##b##1 = st->m.x[b][1], mx##b##2 = st->m.x[b][2],   \
                    my##b = st->m.y[b]

static inline __attribute__((always_inline)) void
nb_dw3_fwd_steady(nb_dw3_fs *st, int64_t k0, int64_t k1, const int NB, const unsigned MB) {
    const nb_dw_plane *g = st->g;
    const struct {
        const float *x, *zero;
        float *y;
        int64_t h, w, p, q, pad_h, q0, yq0;
        int accumulate;
    } v = {st->x, st->zero, st->y, g->h, g->w, g->p, g->q, g->pad_h, st->q0 - g->pad_w, st->q0,
           st->accumulate};
    const __m512 w0 = st->w[0], w1 = st->w[1], w2 = st->w[2], w3 = st->w[3], w4 = st->w[4],
                 w5 = st->w[5], w6 = st->w[6], w7 = st->w[7], w8 = st->w[8];
    const __m512 bias = _mm512_set1_ps(st->bias);
    NB_DW3_MASKS(0);
    NB_DW3_MASKS(1);
    NB_DW3_MASKS(2);
    NB_DW3_MASKS(3);
    NB_DW3_SET(u, 0);
    NB_DW3_SET(t, 1);
    NB_DW3_SET(z, 2);
    int64_t k = k0;
    for (; k + 3 <= k1;) {
        NB_DW3_STEP(u, t, z);
        NB_DW3_STEP(z, u, t);
        NB_DW3_STEP(t, z, u);
    }
    if (k1 - k == 0) {
        NB_DW3_PUT(u, 0), NB_DW3_PUT(t, 1), NB_DW3_PUT(z, 2);
    } else if (k1 - k == 1) {
        NB_DW3_STEP(u, t, z);
        NB_DW3_PUT(z, 0), NB_DW3_PUT(u, 1), NB_DW3_PUT(t, 2);
    } else {
        NB_DW3_STEP(u, t, z);
        NB_DW3_STEP(z, u, t);
        NB_DW3_PUT(t, 0), NB_DW3_PUT(z, 1), NB_DW3_PUT(u, 2);
    }
}
#undef NB_DW3_X
#undef NB_DW3_FMA
#undef NB_DW3_COL
#undef NB_DW3_END
#undef NB_DW3_STEP
#undef NB_DW3_SET
#undef NB_DW3_PUT
#undef NB_DW3_MASKS

/* The steady loops: NB blocks, masked blocks first (L), last (R), both,
   neither; and the all-masked loop with tests for the other steps. */
typedef void nb_dw3_fwd_fn(nb_dw3_fs *st, int64_t k0, int64_t k1);
#define NB_DW3_FWD_FNS(NB)                                                                          \
    static void nb_dw3_fwd_##NB##_0(nb_dw3_fs *st, int64_t k0, int64_t k1) {                       \
        nb_dw3_fwd_steady(st, k0, k1, NB, 0u);                                                      \
    }                                                                                               \
    static void nb_dw3_fwd_##NB##_l(nb_dw3_fs *st, int64_t k0, int64_t k1) {                       \
        nb_dw3_fwd_steady(st, k0, k1, NB, 1u);                                                      \
    }                                                                                               \
    static void nb_dw3_fwd_##NB##_r(nb_dw3_fs *st, int64_t k0, int64_t k1) {                       \
        nb_dw3_fwd_steady(st, k0, k1, NB, 1u << (NB - 1));                                          \
    }                                                                                               \
    static void nb_dw3_fwd_##NB##_lr(nb_dw3_fs *st, int64_t k0, int64_t k1) {                      \
        nb_dw3_fwd_steady(st, k0, k1, NB, 1u | 1u << (NB - 1));                                     \
    }                                                                                               \
    static void nb_dw3_fwd_##NB##_t(nb_dw3_fs *st, int64_t k0, int64_t k1) {                       \
        nb_dw3_fwd_run(st, k0, k1, NB, 15u, 0);                                                     \
    }
NB_DW3_FWD_FNS(1)
NB_DW3_FWD_FNS(2)
NB_DW3_FWD_FNS(3)
NB_DW3_FWD_FNS(4)
#undef NB_DW3_FWD_FNS
#define NB_DW3_FWD_ROW(NB)                                                                          \
    {nb_dw3_fwd_##NB##_0, nb_dw3_fwd_##NB##_l, nb_dw3_fwd_##NB##_r, nb_dw3_fwd_##NB##_lr,           \
     nb_dw3_fwd_##NB##_t}
static nb_dw3_fwd_fn *const nb_dw3_fwd_fns[4][5] = {NB_DW3_FWD_ROW(1), NB_DW3_FWD_ROW(2),
                                                    NB_DW3_FWD_ROW(3), NB_DW3_FWD_ROW(4)};
#undef NB_DW3_FWD_ROW

/* Block qb is inside for every tap and below Q (no mask needed). */
static inline int nb_dw3_inside(const nb_dw_plane *g, int64_t qb) {
    return qb >= g->q_lo && qb + 16 <= g->q_hi;
}

/* The strip of nb blocks at q0 over all rows: the first two steps, the
   steady ones, the last two. The steady loop masks the first and last
   block where they need it; a strip whose middle blocks would need masks
   too (padding wider than a block) runs every step masked with tests. */
static void nb_dw3_fwd_strip(nb_dw3_fs *st, int64_t q0, int nb) {
    const nb_dw_plane *g = st->g;
    const int64_t P = g->p;
    st->q0 = q0;
    nb_dw3_strip_masks(g, q0, nb, &st->m);
    for (int b = 0; b < 4; b++) st->a[1][b] = st->a[2][b] = _mm512_setzero_ps();   /* unused */
    for (int b = 0; b < nb; b++)
        st->a[0][b] = st->accumulate ? _mm512_maskz_loadu_ps(st->m.y[b], st->y + q0 + 16 * b)
                                     : _mm512_set1_ps(st->bias);
    nb_dw3_fwd_fn *const *fns = nb_dw3_fwd_fns[nb - 1];
    int middle = 1;
    for (int b = 1; b + 1 < nb; b++) middle &= nb_dw3_inside(g, q0 + 16 * b);
    const int kind = !middle ? 4 : !nb_dw3_inside(g, q0) + 2 * !nb_dw3_inside(g, q0 + 16 * (nb - 1));
    const int64_t k1 = P > 2 ? P : 2;
    fns[4](st, 0, 2);
    if (k1 > 2) fns[kind](st, 2, k1);
    fns[4](st, k1, P + 2);
}

static void nb_dw3_fwd(const nb_dw_plane *g, const float *x, const float *w, float bias,
                       int accumulate, const float *zero, float *y) {
    if (g->p <= 0) return;
    nb_dw3_fs st = {.g = g, .x = x, .zero = zero, .y = y, .bias = bias, .accumulate = accumulate};
    for (int t = 0; t < 9; t++) st.w[t] = _mm512_set1_ps(w[t]);
    for (int64_t q0 = 0; q0 < g->q; q0 += 64) {
        const int64_t left = g->q - q0;
        nb_dw3_fwd_strip(&st, q0, left >= 64 ? 4 : (int)(left + 15) / 16);
    }
}

/* ---- backward-filter ---- */

/* One 16-column block at column offset c (x row pointers already at
   q0 - pad_w): 3 shifted x loads, then for each dy row d_r in use, the
   taps of row r: acc[3 r + s] += x_s * dy_r. masked: the block reaches
   the padding or Q (masks mx[s], my); else plain loads. */
static inline __attribute__((always_inline)) void
nb_dw3_bwf_block(const float *row, const float *const *d, int64_t c, const __mmask16 *mx,
                 __mmask16 my, const int masked, int use0, int use1, int use2, __m512 *acc) {
    const int use[3] = {use0, use1, use2};
    __m512 xs[3];
    for (int s = 0; s < 3; s++)
        xs[s] = masked ? _mm512_maskz_loadu_ps(mx[s], row + c + s) : _mm512_loadu_ps(row + c + s);
    for (int r = 0; r < 3; r++) {
        if (!use[r]) continue;
        const __m512 dv = masked ? _mm512_maskz_loadu_ps(my, d[r] + c) : _mm512_loadu_ps(d[r] + c);
        for (int s = 0; s < 3; s++) acc[3 * r + s] = _mm512_fmadd_ps(xs[s], dv, acc[3 * r + s]);
    }
}

/* Step k: input row k - pad_h against dy rows k - r (those in [0, P):
   use0..2), every block of the row in order; blocks [bl, bh) are inside
   for every tap, the others take their masks from mt (4 a block: x of
   s = 0, 1, 2, then dy). */
static inline __attribute__((always_inline)) void
nb_dw3_bwf_k(const nb_dw_plane *g, const float *x, const float *dy, const float *zero,
             const __mmask16 *mt, int64_t bl, int64_t bh, int64_t nblk, int64_t k, int use0,
             int use1, int use2, __m512 *acc) {
    const float *row = nb_dw_row(g, x, zero, k - g->pad_h) - g->pad_w;
    const float *d[3] = {dy + k * g->q, dy + (k - 1) * g->q, dy + (k - 2) * g->q};
    for (int64_t b = 0; b < bl; b++)
        nb_dw3_bwf_block(row, d, 16 * b, mt + 4 * b, mt[4 * b + 3], 1, use0, use1, use2, acc);
    for (int64_t b = bl; b < bh; b++)
        nb_dw3_bwf_block(row, d, 16 * b, mt, 0, 0, use0, use1, use2, acc);
    for (int64_t b = bh; b < nblk; b++)
        nb_dw3_bwf_block(row, d, 16 * b, mt + 4 * b, mt[4 * b + 3], 1, use0, use1, use2, acc);
}

/* The mask table of backward-filter: for every block b, mt[4 b + s] the x
   lanes of tap column s, mt[4 b + 3] the dy lanes. */
#define NB_DW3_MAX_BLOCKS 256

static void nb_dw3_bwf(const nb_dw_plane *g, const float *x, const float *dy, const float *zero,
                       int accumulate, float *dw) {
    const int64_t P = g->p, nblk = (g->q + 15) / 16;
    __mmask16 mt[4 * NB_DW3_MAX_BLOCKS];
    for (int64_t b = 0; b < nblk; b += 4) {
        nb_dw3_strip m;
        nb_dw3_strip_masks(g, 16 * b, nblk - b < 4 ? (int)(nblk - b) : 4, &m);
        for (int64_t i = 0; i < 4 && b + i < nblk; i++) {
            for (int s = 0; s < 3; s++) mt[4 * (b + i) + s] = m.x[i][s];
            mt[4 * (b + i) + 3] = m.y[i];
        }
    }
    /* blocks [bl, bh): 16 b >= q_lo and 16 b + 16 <= q_hi */
    const int64_t bl = (g->q_lo + 15) / 16, bh = g->q_hi / 16 > bl ? g->q_hi / 16 : bl;
    __m512 acc[9];
    for (int t = 0; t < 9; t++) acc[t] = _mm512_setzero_ps();
    for (int64_t k = 0; k < P + 2; k++) {
        if (k >= 2 && k < P) nb_dw3_bwf_k(g, x, dy, zero, mt, bl, bh, nblk, k, 1, 1, 1, acc);
        else nb_dw3_bwf_k(g, x, dy, zero, mt, bl, bh, nblk, k, k < P, k >= 1 && k <= P, k >= 2, acc);
    }
    for (int t = 0; t < 9; t++) {
        float lanes[NB_DW_LANES];
        _mm512_storeu_ps(lanes, acc[t]);
        nb_dw_bwf_store(lanes, accumulate, dw + t);
    }
}

#endif
