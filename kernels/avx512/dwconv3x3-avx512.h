/* Depthwise 3x3, stride 1, dilation 1, AVX-512: forward and backward-filter
 * of one NCHW plane as a rolling window over the input rows (contract and
 * numerics: src/ukernel_dwconv.h; included by f32-dwconv-avx512.c only).
 *
 * Why a rolling window: a tap is one load of a shifted input row and one
 * FMA, so computing each output row from its 3 input rows costs a load per
 * FMA, and most of those 64-byte loads straddle two cache lines (the taps
 * sit at -1, 0, +1 floats): the load ports, not the FMA pipes, set the
 * pace. Here each input row is read once and feeds the 3 output rows that
 * read it, and a 16-column block loads only its center vector: the taps at
 * -1 and +1 are valignd of it with its neighbours'.
 *
 * Forward, step k reads input row ih = k - pad_h (the zero row outside the
 * plane) and adds its taps r = 0, 1, 2 to output rows k, k - 1, k - 2:
 * each output row still gets its taps in (r, s) order, the contract's
 * chain. Row k - 2 is then complete, is stored, and its registers start
 * row k + 1. The row runs in strips of up to 4 blocks (register plan at
 * nb_dw3_fwd_steady).
 *
 * Backward-filter, the same steps: input row k meets dy rows k - r for the
 * taps of row r; the 9 tap sums stay in 9 zmm (16 lanes = q mod 16 each) for
 * the whole plane, and every tap still takes its dy rows in order and, in
 * a row, its 16-column blocks in order: the contract's lanes. 1 x load +
 * 3 dy loads per 9 FMAs.
 *
 * Borders: loads at the row's edges are masked (lanes whose column is in
 * the padding read 0; masked-off lanes never fault), so border columns
 * are vectors too. Forward runs the first and last two steps, where only
 * some of the 3 rows exist, in its steady loop too (rows outside are not
 * stored); backward-filter runs them with tests.
 */
#ifndef NB_DWCONV3X3_AVX512_H
#define NB_DWCONV3X3_AVX512_H

#include <immintrin.h>

#include "rowsum-f64-avx512.h"
#include "ukernel.h"

/* The masks of a strip of up to 4 blocks of 16 columns. */
typedef struct {
    __mmask16 x[4][3];   /* x loads of block b, tap column s */
    __mmask16 y[4];      /* output / dy lanes of block b (q < Q) */
    __mmask16 c[6];      /* center vector of block j = -1 .. 4 (c[j + 1]), see below */
} nb_dw3_strip;

static inline __mmask16 nb_dw3_range(int64_t lo, int64_t hi) {
    lo = lo < 0 ? 0 : lo;
    hi = hi > 16 ? 16 : hi;
    return hi <= lo ? (__mmask16)0 : (__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
}

/* Masks of the blocks [q0, q0 + 16 NB): x lanes with 0 <= q + s - pad_w < W
   and q < Q, y lanes with q < Q, center lanes of blocks -1 .. 4. */
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
    for (int j = -1; j <= 4; j++) {   /* lanes of x[qb + l + 1 - pad_w] inside the row */
        const int64_t c = q0 + 16 * j + 1 - g->pad_w;
        m->c[j + 1] = nb_dw3_range(-c, g->w - c);
    }
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
nb_dw3_fwd_k(const nb_dw3_fv *v, int64_t k, const int NB, int use0, int use1, int use2,
             const __m512 *w, __mmask16 (*mx)[3], const __mmask16 *my, __m512 *a0, __m512 *a1,
             __m512 *a2) {
    const int64_t ih = k - v->pad_h;
    const float *row = (ih >= 0 && ih < v->h ? v->x + ih * v->w : v->zero) + v->xq0;
    for (int b = 0; b < NB; b++) {
        __m512 xs[3];
        for (int s = 0; s < 3; s++) {
            xs[s] = _mm512_maskz_loadu_ps(mx[b][s], row + 16 * b + s);
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
        for (int b = 0; b < NB; b++) _mm512_mask_storeu_ps(yr + 16 * b, my[b], a2[b]);
    }
    for (int b = 0; b < NB; b++) {
        a2[b] = a1[b];
        a1[b] = a0[b];
    }
    if (k + 1 < v->p) nb_dw3_fwd_start(v, my, NB, k + 1, a0);
}

/* Steps [k0, k1) with every load masked and the tests of nb_dw3_fwd_k (the
   strips the steady loop does not take),
   the weights, masks and accumulators in locals. */
static inline __attribute__((always_inline)) void
nb_dw3_fwd_run(nb_dw3_fs *st, int64_t k0, int64_t k1, const int NB) {
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
    for (int64_t k = k0; k < k1; k++)
        nb_dw3_fwd_k(&v, k, NB, k < P, k >= 1 && k <= P, k >= 2, w, mx, my, a0, a1, a2);
    for (int b = 0; b < NB; b++) {
        st->a[0][b] = a0[b];
        st->a[1][b] = a1[b];
        st->a[2][b] = a2[b];
    }
}

/* Steps [k0, k1) of a strip that starts its rows from the bias, written
   out with named registers so that nothing spills. It runs every step,
   0 .. P + 1: in the first two the "rows" k - 2 < 0 are stored to a
   scratch line, in the last two the rows k >= P are computed and never
   stored (their sums are dropped; the rows that exist get exactly their
   taps in order). Measured (56x56 plane in L1, session 9): the first and
   last two steps on the masked loop with tests took 16 % of the plane's
   time for 4 of its 58 steps. Three accumulator sets
   of NB blocks rotate roles every step (row k, k - 1, k - 2), so the loop
   is unrolled by 3 and nothing moves.
   The taps: a 64-byte load at a column that is not a multiple of 16 spans
   two cache lines and costs about twice an aligned one (measured: with 3
   loads per 9 FMAs the split loads, not the FMAs, set the pace, 0.76
   cycles an FMA against 0.53 without them). So each block loads only its
   center column, c_b = x[q0 + 16 b + l + 1 - pad_w] (lanes l), and makes
   the taps s = 0 and 2 with valignd from its neighbours c_{b-1}, c_{b+1}:
   NB + 2 loads and 2 NB shuffles per step instead of 3 NB loads. Lanes
   outside the row are loaded as 0 (c masks), so the shifted taps see the
   padding's 0 too.
   A step goes by tap column s: the 3 NB FMAs of a column are independent
   (a row's chain is 3 NB FMAs apart). Register plan (NB = 4): 12
   accumulators + 9 weights + 6 centers + 1 shifted tap + the bias = 29
   zmm; the masks of the edge vectors in mask registers. Rows start from
   the bias (an accumulating strip takes nb_dw3_fwd_run). */
#define NB_DW3_LDC(j)                                                                              \
    if (NB > j) {                                                                                  \
        c##j = (MB >> j) & 1 ? _mm512_maskz_loadu_ps(mc##j, row + 16 * j)                          \
                             : _mm512_loadu_ps(row + 16 * j);                                      \
        NB_DW3_REG(c##j);                                                                          \
    }
#define NB_DW3_FMA(A0, A1, A2, X, b, wa, wb, wc)                                                   \
    A0##b = _mm512_fmadd_ps(X, wa, A0##b);                                                         \
    A1##b = _mm512_fmadd_ps(X, wb, A1##b);                                                         \
    A2##b = _mm512_fmadd_ps(X, wc, A2##b);
/* tap s = 0 of block b: [c_{b-1}[15], c_b[0..14]]; s = 2: [c_b[1..15], c_{b+1}[0]] */
#define NB_DW3_S0(b, prev, A0, A1, A2)                                                             \
    if (NB > b) {                                                                                  \
        const __m512 t = _mm512_castsi512_ps(                                                      \
            _mm512_alignr_epi32(_mm512_castps_si512(c##b), _mm512_castps_si512(prev), 15));        \
        NB_DW3_FMA(A0, A1, A2, t, b, w0, w3, w6)                                                   \
    }
#define NB_DW3_S1(b, A0, A1, A2)                                                                   \
    if (NB > b) {                                                                                  \
        NB_DW3_FMA(A0, A1, A2, c##b, b, w1, w4, w7)                                                \
    }
#define NB_DW3_S2(b, next, A0, A1, A2)                                                             \
    if (NB > b) {                                                                                  \
        const __m512 t = _mm512_castsi512_ps(                                                      \
            _mm512_alignr_epi32(_mm512_castps_si512(next), _mm512_castps_si512(c##b), 1));         \
        NB_DW3_FMA(A0, A1, A2, t, b, w2, w5, w8)                                                   \
    }
#define NB_DW3_END(b, A2)                                                                          \
    if (NB > b) {                                                                                  \
        if ((MB >> b) & 1) _mm512_mask_storeu_ps(yo + 16 * b, my##b, A2##b);                       \
        else _mm512_storeu_ps(yo + 16 * b, A2##b);                                                 \
        A2##b = bias;                                                                              \
    }
/* Step k: A0 = row k, A1 = row k - 1, A2 = row k - 2 (stored, then row k + 1). */
#define NB_DW3_STEP(A0, A1, A2)                                                                    \
    do {                                                                                           \
        const int64_t ih = k - v.pad_h;                                                            \
        const float *row = (ih >= 0 && ih < v.h ? v.x + ih * v.w : v.zero) + v.q0;                 \
        __m512 c0, c1, c2, c3;                                                                     \
        const __m512 cl = _mm512_maskz_loadu_ps(mcl, row - 16);                                    \
        NB_DW3_LDC(0) NB_DW3_LDC(1) NB_DW3_LDC(2) NB_DW3_LDC(3)                                    \
        const __m512 cr = _mm512_maskz_loadu_ps(mcr, row + 16 * NB);                               \
        NB_DW3_S0(0, cl, A0, A1, A2) NB_DW3_S0(1, c0, A0, A1, A2)                                  \
        NB_DW3_S0(2, c1, A0, A1, A2) NB_DW3_S0(3, c2, A0, A1, A2)                                  \
        NB_DW3_S1(0, A0, A1, A2) NB_DW3_S1(1, A0, A1, A2)                                          \
        NB_DW3_S1(2, A0, A1, A2) NB_DW3_S1(3, A0, A1, A2)                                          \
        NB_DW3_S2(0, NB > 1 ? c1 : cr, A0, A1, A2) NB_DW3_S2(1, NB > 2 ? c2 : cr, A0, A1, A2)      \
        NB_DW3_S2(2, NB > 3 ? c3 : cr, A0, A1, A2) NB_DW3_S2(3, cr, A0, A1, A2)                    \
        float *yo = k >= 2 ? v.y + (k - 2) * v.q + v.yq0 : spill;                                  \
        NB_DW3_END(0, A2)                                                                          \
        NB_DW3_END(1, A2)                                                                          \
        NB_DW3_END(2, A2)                                                                          \
        NB_DW3_END(3, A2)                                                                          \
        k++;                                                                                       \
    } while (0)
#define NB_DW3_SET(A, j)                                                                           \
    __m512 A##0 = st->a[j][0], A##1 = st->a[j][1], A##2 = st->a[j][2], A##3 = st->a[j][3]
#define NB_DW3_PUT(A, j)                                                                           \
    st->a[j][0] = A##0, st->a[j][1] = A##1, st->a[j][2] = A##2, st->a[j][3] = A##3
#define NB_DW3_MASKS(b) const __mmask16 mc##b = st->m.c[b + 1], my##b = st->m.y[b]

static inline __attribute__((always_inline)) void
nb_dw3_fwd_steady(nb_dw3_fs *st, int64_t k0, int64_t k1, const int NB, const unsigned MB) {
    const nb_dw_plane *g = st->g;
    const struct {
        const float *x, *zero;
        float *y;
        int64_t h, w, q, pad_h, q0, yq0;   /* q0: x column of block 0's center */
    } v = {st->x, st->zero, st->y, g->h, g->w, g->q, g->pad_h, st->q0 + 1 - g->pad_w, st->q0};
    const __m512 w0 = st->w[0], w1 = st->w[1], w2 = st->w[2], w3 = st->w[3], w4 = st->w[4],
                 w5 = st->w[5], w6 = st->w[6], w7 = st->w[7], w8 = st->w[8];
    const __m512 bias = _mm512_set1_ps(st->bias);
    NB_DW3_MASKS(0);
    NB_DW3_MASKS(1);
    NB_DW3_MASKS(2);
    NB_DW3_MASKS(3);
    const __mmask16 mcl = st->m.c[0], mcr = st->m.c[NB + 1];
    float spill[64] __attribute__((aligned(64)));   /* the "rows" -2 and -1 of steps 0 and 1 */
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
#undef NB_DW3_LDC
#undef NB_DW3_FMA
#undef NB_DW3_S0
#undef NB_DW3_S1
#undef NB_DW3_S2
#undef NB_DW3_END
#undef NB_DW3_STEP
#undef NB_DW3_SET
#undef NB_DW3_PUT
#undef NB_DW3_MASKS

/* The steady loops: NB blocks, masked blocks first (L), last (R), both,
   neither; and the all-masked loop with tests for the other steps. */
typedef void nb_dw3_fwd_fn(nb_dw3_fs *st, int64_t k0, int64_t k1);
#define NB_DW3_FWD_FNS(NB)                                                                         \
    static void nb_dw3_fwd_##NB##_0(nb_dw3_fs *st, int64_t k0, int64_t k1) {                       \
        nb_dw3_fwd_steady(st, k0, k1, NB, 0u);                                                     \
    }                                                                                              \
    static void nb_dw3_fwd_##NB##_l(nb_dw3_fs *st, int64_t k0, int64_t k1) {                       \
        nb_dw3_fwd_steady(st, k0, k1, NB, 1u);                                                     \
    }                                                                                              \
    static void nb_dw3_fwd_##NB##_r(nb_dw3_fs *st, int64_t k0, int64_t k1) {                       \
        nb_dw3_fwd_steady(st, k0, k1, NB, 1u << (NB - 1));                                         \
    }                                                                                              \
    static void nb_dw3_fwd_##NB##_lr(nb_dw3_fs *st, int64_t k0, int64_t k1) {                      \
        nb_dw3_fwd_steady(st, k0, k1, NB, 1u | 1u << (NB - 1));                                    \
    }                                                                                              \
    static void nb_dw3_fwd_##NB##_t(nb_dw3_fs *st, int64_t k0, int64_t k1) {                       \
        nb_dw3_fwd_run(st, k0, k1, NB);                                                            \
    }
NB_DW3_FWD_FNS(1)
NB_DW3_FWD_FNS(2)
NB_DW3_FWD_FNS(3)
NB_DW3_FWD_FNS(4)
#undef NB_DW3_FWD_FNS
#define NB_DW3_FWD_ROW(NB)                                                                         \
    {nb_dw3_fwd_##NB##_0, nb_dw3_fwd_##NB##_l, nb_dw3_fwd_##NB##_r, nb_dw3_fwd_##NB##_lr,          \
     nb_dw3_fwd_##NB##_t}
static nb_dw3_fwd_fn *const nb_dw3_fwd_fns[4][5] = {NB_DW3_FWD_ROW(1), NB_DW3_FWD_ROW(2),
                                                    NB_DW3_FWD_ROW(3), NB_DW3_FWD_ROW(4)};
#undef NB_DW3_FWD_ROW

/* Block qb is inside for every tap and below Q (no mask needed). */
static inline int nb_dw3_inside(const nb_dw_plane *g, int64_t qb) {
    return qb >= g->q_lo && qb + 16 <= g->q_hi;
}

/* The strip of nb blocks at q0 over all rows (steps 0 .. P + 1). The
   steady loop masks the first and last
   block where they need it and starts rows from the bias; a strip whose
   middle blocks would need masks too (padding wider than a block), or
   that accumulates (backward-data with a channel multiplier), runs every
   step masked with tests. */
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
    const int kind = !middle || st->accumulate
                         ? 4
                         : !nb_dw3_inside(g, q0) + 2 * !nb_dw3_inside(g, q0 + 16 * (nb - 1));
    if (kind < 4) {   /* every step in the steady loop (rows past the plane are not stored) */
        fns[kind](st, 0, P + 2);
        return;
    }
    fns[4](st, 0, P + 2);
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

/* The mask table of backward-filter: mt[2 (j + 1)] the center lanes of
   block j = -1 .. nblk (x[16 j + l + 1 - pad_w] inside the row), mt[2 (j
   + 1) + 1] its dy lanes (q < Q). */
#define NB_DW3_MAX_BLOCKS 256

/* One 16-column block b: the center c (loaded by the previous block) and
   its neighbours cp, cn (loaded here) give the 3 taps (valignd, as the
   forward steady loop), then for each dy row in use, the taps of row r:
   c[3 r + s] += x_s * dy_r (9 independent FMAs; the 9 accumulators are
   chains across blocks: 9 chains of 4-cycle FMAs keep 2 pipes busy).
   Loads a block: 1 center + 3 dy, against 3 x + 3 dy without the shifts.
   The last block's FMAs are masked to the lanes q < Q: past Q the
   contract's lanes take nothing (x there may be a real Inf, and 0 x Inf
   would be NaN). The other blocks are whole and run unmasked: on Zen 4
   the merge-masked FMAs cost c144 56x56 6.6 % and c32 112x112 3.3 %
   (side by side, medians of 3 rounds; same bits). Loading the 3 taps
   instead of the 2 shifts was 7 % slower there. The empty asm keeps each
   dy vector in a register: gcc otherwise folds the load into all 3 FMAs
   (9 loads a block instead of 3, half of them across two lines), and the
   load ports set the pace (c144 56x56 and c32 112x112 2-5 % faster). */
#define NB_DW3_BWF_ROW(u, dr, ca, cb, cc_)                                                         \
    if (u) {                                                                                       \
        if (b + 1 < nblk) {                                                                        \
            __m512 d = _mm512_loadu_ps(dr + 16 * b);                                               \
            __asm__("" : "+v"(d));                                                                 \
            ca = _mm512_fmadd_ps(x0, d, ca);                                                       \
            cb = _mm512_fmadd_ps(cc, d, cb);                                                       \
            cc_ = _mm512_fmadd_ps(x2, d, cc_);                                                     \
        } else {                                                                                   \
            const __m512 d = _mm512_maskz_loadu_ps(my, dr + 16 * b);                               \
            ca = _mm512_mask3_fmadd_ps(x0, d, ca, my);                                             \
            cb = _mm512_mask3_fmadd_ps(cc, d, cb, my);                                             \
            cc_ = _mm512_mask3_fmadd_ps(x2, d, cc_, my);                                           \
        }                                                                                          \
    }
#define NB_DW3_BWF_BLOCK(u0, u1, u2)                                                               \
    do {                                                                                           \
        const __mmask16 mcn = mt[2 * b + 4], my = mt[2 * b + 3];                                   \
        const __m512 cn = _mm512_maskz_loadu_ps(mcn, row + 16 * b + 16);                           \
        const __m512 x0 = _mm512_castsi512_ps(                                                     \
            _mm512_alignr_epi32(_mm512_castps_si512(cc), _mm512_castps_si512(cp), 15));            \
        const __m512 x2 = _mm512_castsi512_ps(                                                     \
            _mm512_alignr_epi32(_mm512_castps_si512(cn), _mm512_castps_si512(cc), 1));             \
        NB_DW3_BWF_ROW(u0, d0, c0, c1, c2);                                                        \
        NB_DW3_BWF_ROW(u1, d1, c3, c4, c5);                                                        \
        NB_DW3_BWF_ROW(u2, d2, c6, c7, c8);                                                        \
        cp = cc;                                                                                   \
        cc = cn;                                                                                   \
    } while (0)

/* Step k: input row k - pad_h against dy rows k - r (those in [0, P):
   u0..u2), every block of the row in order. SUM: the row sum's 32-float
   steps up to the end of dy row k, one after every odd block and the rest
   after the row (the steps in order: the same bits wherever they fall).
   After the row only (session 14's form), the widenings and double adds
   queued behind the row's FMAs: c144 56x56 (1 thread, Zen 4, side by side)
   0.113 -> 0.099 ms with them between the blocks and the ymm form of
   rowsum-f64-avx512.h (either alone: 0.75 -> 0.74 and 0.82 -> 0.82 us a
   plane). */
#define NB_DW3_BWF_STEP(u0, u1, u2)                                                                \
    do {                                                                                           \
        const int64_t ih = k - pad_h;                                                              \
        const float *row = (ih >= 0 && ih < H ? x + ih * W : zero) + 1 - pad_w;                    \
        const float *d0 = (u0) ? dy + k * Q : dy, *d1 = (u1) ? dy + (k - 1) * Q : dy;              \
        const float *d2 = (u2) ? dy + (k - 2) * Q : dy;                                            \
        __m512 cp = _mm512_maskz_loadu_ps(mt[0], row - 16), cc = _mm512_maskz_loadu_ps(mt[2], row); \
        const int64_t lim_ = (k + 1) * Q < n_sum ? (k + 1) * Q : n_sum;                            \
        _Pragma("GCC unroll 8") for (int64_t b = 0; b < nblk; b++) {                               \
            NB_DW3_BWF_BLOCK(u0, u1, u2);                                                          \
            if (SUM && (b & 1) && i_sum + 32 <= lim_) {                                            \
                nb_rs64_step32(&rs, dy + i_sum);                                                   \
                i_sum += 32;                                                                       \
            }                                                                                      \
        }                                                                                          \
        if (SUM)                                                                                   \
            for (; i_sum + 32 <= lim_; i_sum += 32) nb_rs64_step32(&rs, dy + i_sum);               \
        k++;                                                                                       \
    } while (0)

/* Steps 0 .. P + 1: the first two and last two with the rows that exist,
   the steady ones with all three. */
static inline __attribute__((always_inline)) void
nb_dw3_bwf_body(const nb_dw_plane *g, const float *x, const float *dy, const float *zero,
                int accumulate, float *dw, const int64_t NBLK, const int SUM, double *sum) {
    const int64_t P = g->p, Q = g->q, H = g->h, W = g->w, pad_h = g->pad_h, pad_w = g->pad_w;
    /* SUM: the row sum of dy (rowsum-f64-avx512.h) in step with the rows:
       after step k, its 32-float steps up to the end of dy row k. */
    const int64_t n_sum = P * Q;
    int64_t i_sum = 0;
    nb_rs64 rs = nb_rs64_zero();
    const int64_t nblk = NBLK ? NBLK : (Q + 15) / 16;
    __mmask16 mt[2 * NB_DW3_MAX_BLOCKS + 4];
    for (int64_t j = -1; j <= nblk; j++) {
        const int64_t c = 16 * j + 1 - pad_w;
        mt[2 * (j + 1)] = nb_dw3_range(-c, W - c);
        mt[2 * (j + 1) + 1] = nb_dw3_range(0, Q - 16 * j);
    }
    __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0,
           c8 = c0;
    int64_t k = 0;
    if (P >= 2) {
        NB_DW3_BWF_STEP(1, 0, 0);
        NB_DW3_BWF_STEP(1, 1, 0);
        while (k < P) NB_DW3_BWF_STEP(1, 1, 1);
        NB_DW3_BWF_STEP(0, 1, 1);
        NB_DW3_BWF_STEP(0, 0, 1);
    } else {
        while (k < P + 2) NB_DW3_BWF_STEP(k < P, k >= 1 && k <= P, k >= 2);
    }
    if (SUM) {
        for (; i_sum + 32 <= n_sum; i_sum += 32) nb_rs64_step32(&rs, dy + i_sum);
        *sum = nb_rs64_finish(rs, i_sum, n_sum, dy);
    }
    const __m512 acc[9] = {c0, c1, c2, c3, c4, c5, c6, c7, c8};
    for (int t = 0; t < 9; t++) {
        float lanes[NB_DW_LANES];
        _mm512_storeu_ps(lanes, acc[t]);
        nb_dw_bwf_store(lanes, accumulate, dw + t);
    }
}

/* Rows of up to 8 blocks (Q <= 128) with the block loop unrolled (the
   block count a constant), wider ones with the loop. */
#define NB_DW3_BWF_N(n)                                                                            \
    static void nb_dw3_bwf_##n(const nb_dw_plane *g, const float *x, const float *dy,              \
                               const float *zero, int accumulate, float *dw) {                     \
        nb_dw3_bwf_body(g, x, dy, zero, accumulate, dw, n, 0, NULL);                               \
    }                                                                                              \
    static void nb_dw3_bwf_sum_##n(const nb_dw_plane *g, const float *x, const float *dy,          \
                                   const float *zero, int accumulate, float *dw, double *sum) {    \
        nb_dw3_bwf_body(g, x, dy, zero, accumulate, dw, n, 1, sum);                                \
    }
NB_DW3_BWF_N(0) NB_DW3_BWF_N(1) NB_DW3_BWF_N(2) NB_DW3_BWF_N(3) NB_DW3_BWF_N(4)
NB_DW3_BWF_N(5) NB_DW3_BWF_N(6) NB_DW3_BWF_N(7) NB_DW3_BWF_N(8)
#undef NB_DW3_BWF_N
static void nb_dw3_bwf(const nb_dw_plane *g, const float *x, const float *dy, const float *zero,
                       int accumulate, float *dw) {
    static void (*const fns[9])(const nb_dw_plane *, const float *, const float *, const float *,
                                int, float *) = {nb_dw3_bwf_0, nb_dw3_bwf_1, nb_dw3_bwf_2,
                                                 nb_dw3_bwf_3, nb_dw3_bwf_4, nb_dw3_bwf_5,
                                                 nb_dw3_bwf_6, nb_dw3_bwf_7, nb_dw3_bwf_8};
    const int64_t nblk = (g->q + 15) / 16;
    fns[nblk <= 8 ? nblk : 0](g, x, dy, zero, accumulate, dw);
}
/* The same, returning the row sum of dy with cfg->conv.rowsum's bits. */
static double nb_dw3_bwf_sum(const nb_dw_plane *g, const float *x, const float *dy,
                             const float *zero, int accumulate, float *dw) {
    static void (*const fns[9])(const nb_dw_plane *, const float *, const float *, const float *,
                                int, float *, double *) = {
        nb_dw3_bwf_sum_0, nb_dw3_bwf_sum_1, nb_dw3_bwf_sum_2, nb_dw3_bwf_sum_3, nb_dw3_bwf_sum_4,
        nb_dw3_bwf_sum_5, nb_dw3_bwf_sum_6, nb_dw3_bwf_sum_7, nb_dw3_bwf_sum_8};
    const int64_t nblk = (g->q + 15) / 16;
    double sum = 0;
    fns[nblk <= 8 ? nblk : 0](g, x, dy, zero, accumulate, dw, &sum);
    return sum;
}
#undef NB_DW3_BWF_ROW
#undef NB_DW3_BWF_BLOCK
#undef NB_DW3_BWF_STEP

#endif
