/* Depthwise 3x3 forward, stride 1 and dilation 1, AVX2+FMA: the rolling
 * window over the input rows (contract and numerics: src/ukernel_dwconv.h;
 * included by f32-dwconv-avx2.c only, after dwconv3x3-avx2.h for the mask
 * helpers).
 *
 * Step k reads input row ih = k - pad_h (the zero row outside the plane)
 * and adds its taps r = 0, 1, 2 to output rows k, k - 1, k - 2 (each row
 * still gets its taps in (r, s) order, the contract's chain): 3 shifted
 * loads a block feed 9 FMAs. Row k - 2 is then complete and stored, and
 * its registers start row k + 1.
 *
 * Why it is written this way (measured on a 56x56 plane in L1, one core,
 * nb_f32_dwconv_fwd_ukernel__avx2 alone: the earlier form, strips of 3-4
 * blocks with every weight broadcast into a register, ran 1.11 us a
 * plane, about 1 FMA a cycle; this one 0.85 us; 112x112: 4.0 -> 3.0 us):
 *  - GCC spilled: with 3 NB accumulators and 9 weights live it kept the
 *    weights and sent accumulators to the stack (a store-forward in every
 *    chain), picked the sets' roles through a switch (all of them to the
 *    stack), and sank each row's FMAs down to its store (the x loads of
 *    3 steps kept on the stack). So: at most 12 accumulators (4 blocks),
 *    the roles fixed in every step (the first and last steps rotate the
 *    sets by value), an empty asm pins each block's accumulators at the
 *    end of its step, and only the weights that fit stay in registers
 *    (NB_DW3F_KEEP; the others are FMA memory operands, their pointer
 *    hidden from GCC per block so that it cannot hoist them);
 *  - the steady steps (all 3 output rows live, a real input row, a next
 *    row to start) run in a loop of their own, the x and y row pointers
 *    advanced by one add each; only the first and last steps test which
 *    rows exist.
 * In the bench layers (1 thread, AVX2, CPU time side by side with oneDNN
 * capped at AVX2, its speed over nabla's): c32 112x112 0.67x -> 0.79x,
 * c144 56x56 0.71x -> 0.75x, backward-data (this kernel over dy) 0.84x ->
 * 1.05x and 0.90x -> 0.93x.
 * Where the layer's time goes (session 8, c144 56x56, 1 thread): it moves
 * 1.8 MB in + 1.8 MB out a call (the y lines are read for ownership too),
 * more than the 2 MB L2; a plain AVX2 read-and-write pass over the same
 * bytes takes about 100 us, a read-only pass 34 us (x alone fits L2). The
 * kernel alone (plane in L1) is 0.94-1.0 us a plane, 135-145 us for the
 * layer, 57 % of the FMA peak: that is already about all of oneDNN-AVX2's
 * time, so the layer is not bound by L3 traffic but by the kernel plus
 * the memory stalls it does not hide. perf (cpu-clock; this VM has no
 * hardware counters): the first strip, which pulls the plane from L3,
 * takes 60 % of the time for 4/7 of the blocks. So the strips after the
 * first prefetch the next plane into L2 (nb_dw3f_fwd): 144 planes back to
 * back, 1.26-1.32 -> 1.19-1.31 us a plane (noisy: 0-10 %); 32 planes of
 * 112x112, 4.49-4.77 -> 4.16-4.47 (6-7 % in every run).
 * Also measured and dropped: prefetching the next output plane too
 * (slower), and a step ordered by tap column with 3 weights in registers
 * (fewer loads, same time in L1, slower at NB 2: the loads do not set
 * the pace).
 * Edges: blocks that reach the padding or pass Q load their taps under
 * masks (vmaskmovps: masked lanes read 0 and never fault), chosen per
 * block at compile time (MB bit b); such a block's store is masked.
 */
#ifndef NB_DWCONV3X3_FWD_AVX2_H
#define NB_DWCONV3X3_FWD_AVX2_H

#include <immintrin.h>

#include "mask-avx2.h"
#include "ukernel.h"

/* Output rows this far ahead are prefetched (see nb_dw3f_step). */
#define NB_DW3F_AHEAD 8

/* The invariants of one strip of NB blocks at column q0. */
typedef struct {
    const float *x, *zero;
    float *y;
    int64_t h, wd, p, q, pad_h, q0, xq0;   /* wd: W; xq0: x column of block 0's tap s = 0 */
    int accumulate;
    uintptr_t pf;       /* next plane's lines to prefetch into L2 (0: none) */
    int64_t pf_n;       /* lines a step */
    __m256 bias;
    __m256i mx[4][3];   /* x masks of block b, tap column s (blocks of MB) */
    __m256i my[4];      /* y lanes of block b (q < Q) */
    __m256 w[9];
} nb_dw3f_strip;

/* Weights kept in registers by a strip of NB blocks, masks MB (measured,
   NB 2: best among 3, 6, 8, 9; the rest are memory operands). */
#define NB_DW3F_KEEP(NB, MB) ((NB) >= 4 ? 2 : (NB) == 3 ? ((MB) ? 5 : 6) : ((MB) ? 6 : 9))

/* n lines from pf into L2 (prefetcht1; a prefetch never faults, so the
   addresses may pass the tensor's end), and the address after them. */
static inline __attribute__((always_inline)) uintptr_t nb_dw3f_pf(uintptr_t pf, int64_t n) {
    if (pf)
        for (int64_t i = 0; i < n; i++) __builtin_prefetch((const void *)(pf + 64 * (uintptr_t)i), 0, 2);
    return pf ? pf + 64 * (uintptr_t)n : pf;
}

/* The start of an output row of the strip at yr (bias, or y when accumulating). */
static inline __attribute__((always_inline)) void
nb_dw3f_start(const nb_dw3f_strip *st, const int NB, const unsigned MB, const float *yr, __m256 *a) {
    _Pragma("GCC unroll 4") for (int b = 0; b < NB; b++)
        a[b] = !st->accumulate ? st->bias
               : (MB >> b) & 1 ? _mm256_maskload_ps(yr + 8 * b, st->my[b])
                               : _mm256_loadu_ps(yr + 8 * b);
}

/* The taps of input row `row` (already offset to the strip) into a0, a1,
   a2 where use0..2 say the output row exists; then, if use2, the row of
   a2 is stored at ys, and if ynext, a2 starts the row at ynext. */
static inline __attribute__((always_inline)) void
nb_dw3f_step(const nb_dw3f_strip *st, const float *row, float *ys, const float *ynext, const int NB,
             const unsigned MB, int use0, int use1, int use2, const __m256 *w, __m256 *a0,
             __m256 *a1, __m256 *a2) {
    const int keep = NB_DW3F_KEEP(NB, MB);
    _Pragma("GCC unroll 4") for (int b = 0; b < NB; b++) {
        const __m256 *wm = st->w;
        __asm__("" : "+r"(wm));   /* the weights past `keep`: memory operands */
        _Pragma("GCC unroll 3") for (int s = 0; s < 3; s++) {
            const float *xp = row + 8 * b + s;
            const __m256 xs = (MB >> b) & 1 ? _mm256_maskload_ps(xp, st->mx[b][s]) : _mm256_loadu_ps(xp);
            if (use0) a0[b] = _mm256_fmadd_ps(xs, s < keep ? w[s] : wm[s], a0[b]);
            if (use1) a1[b] = _mm256_fmadd_ps(xs, 3 + s < keep ? w[3 + s] : wm[3 + s], a1[b]);
            if (use2) a2[b] = _mm256_fmadd_ps(xs, 6 + s < keep ? w[6 + s] : wm[6 + s], a2[b]);
        }
        /* Pinned here: GCC otherwise sinks a row's FMAs to its store and
           keeps the x loads of 3 steps alive on the stack instead. */
        __asm__("" : "+x"(a0[b]), "+x"(a1[b]), "+x"(a2[b]));
    }
    if (use2) {
        /* Each strip asks for its columns of the output row NB_DW3F_AHEAD
           below the one it stores, owned (a line per 2 blocks): in a layer
           the stores otherwise wait for their lines and fill the store
           buffer (measured, c144 56x56 layer, the whole row ahead from the
           first strip: 0.202 -> 0.191 ms). */
        _Pragma("GCC unroll 4") for (int b = 0; b < NB; b += 2)
            __builtin_prefetch(ys + NB_DW3F_AHEAD * st->q + 8 * b, 1, 3);
        _Pragma("GCC unroll 4") for (int b = 0; b < NB; b++) {
            if ((MB >> b) & 1) _mm256_maskstore_ps(ys + 8 * b, st->my[b], a2[b]);
            else _mm256_storeu_ps(ys + 8 * b, a2[b]);
        }
    }
    if (ynext) nb_dw3f_start(st, NB, MB, ynext, a2);
}

/* Steps 0 .. P + 1 of a strip. A holds output row k (taps r = 0), B row
   k - 1, C row k - 2 (stored at the step's end, then row k + 1). The
   first and last steps (outside the steady loop) compute all three sets
   when the rows start from the bias, storing the "rows" -2 and -1 to a
   scratch line and never storing the rows k >= P (the rows that exist get
   exactly their taps in order; session 9, beside oneDNN-AVX2, two
   alternating runs: c144 56x56 0.75x, 0.80x -> 0.81x, 0.85x, the kernel
   alone over 144 planes 1.19-1.25 -> 1.14-1.15 us a plane); accumulating
   strips test which rows exist. Both rotate the sets by value
   (A, B, C) <- (C, A, B) after each step (moves, no memory); the steady
   steps, unrolled by 3, rotate the roles instead. GCC keeps the sets in
   registers only while every step names them in a fixed way: picking the
   roles through a switch on k mod 3 sent all 12 of them to the stack. */
static inline __attribute__((always_inline)) void
nb_dw3f_strip_body(const nb_dw3f_strip *sp, const int NB, const unsigned MB) {
    /* A local copy: its fields stay in registers (through sp, every store
       to y could alias them and force reloads at every step). */
    const nb_dw3f_strip lc = *sp, *st = &lc;
    const int64_t P = st->p, Q = st->q, H = st->h, W = st->wd, ph = st->pad_h;
    __m256 w[9], A[4], B[4], C[4];
    _Pragma("GCC unroll 9") for (int t = 0; t < 9; t++) w[t] = st->w[t];
    float *y = st->y + st->q0;
    nb_dw3f_start(st, NB, MB, y, A);
    _Pragma("GCC unroll 4") for (int b = 0; b < NB; b++) B[b] = C[b] = st->bias;   /* unused before their start */
#define NB_DW3F_ANY(k)                                                                             \
    do {                                                                                           \
        const int64_t ih_ = (k) - ph;                                                              \
        const float *row_ = (ih_ >= 0 && ih_ < H ? st->x + ih_ * W : st->zero) + st->xq0;          \
        if (!st->accumulate) {   /* every row computed, rows -2, -1 stored to `spill` */        \
            float *ys_ = (k) >= 2 ? y + ((k) - 2) * Q : spill;                                     \
            nb_dw3f_step(st, row_, ys_, y, NB, MB, 1, 1, 1, w, A, B, C);                            \
        } else {                                                                                   \
            const int u0_ = (k) < P, u1_ = (k) >= 1 && (k) <= P, u2_ = (k) >= 2;                   \
            float *ys_ = u2_ ? y + ((k) - 2) * Q : NULL;                                           \
            const float *yn_ = (k) + 1 < P ? y + ((k) + 1) * Q : NULL;                             \
            nb_dw3f_step(st, row_, ys_, yn_, NB, MB, u0_, u1_, u2_, w, A, B, C);                   \
        }                                                                                          \
        pf = nb_dw3f_pf(pf, st->pf_n);                                                             \
        _Pragma("GCC unroll 4") for (int b_ = 0; b_ < NB; b_++) {                                  \
            const __m256 t_ = C[b_];                                                               \
            C[b_] = B[b_], B[b_] = A[b_], A[b_] = t_;                                              \
        }                                                                                          \
    } while (0)
    int64_t k = 0;
    uintptr_t pf = st->pf;
    float spill[32] __attribute__((aligned(32)));
    /* Steady steps: k >= 2, k + 1 < P, input row k - ph inside. */
    const int64_t ks = ph > 2 ? ph : 2, ke = P - 1 < H + ph ? P - 1 : H + ph;
    for (; k < ks && k < P + 2; k++) NB_DW3F_ANY(k);
    if (k == ks && ke > ks) {
        const float *row = st->x + (k - ph) * W + st->xq0;
        float *ys = y + (k - 2) * Q;
        for (; k + 3 <= ke; k += 3) {
            nb_dw3f_step(st, row, ys, ys + 3 * Q, NB, MB, 1, 1, 1, w, A, B, C);
            nb_dw3f_step(st, row + W, ys + Q, ys + 4 * Q, NB, MB, 1, 1, 1, w, C, A, B);
            nb_dw3f_step(st, row + 2 * W, ys + 2 * Q, ys + 5 * Q, NB, MB, 1, 1, 1, w, B, C, A);
            pf = nb_dw3f_pf(pf, 3 * st->pf_n);
            row += 3 * W;
            ys += 3 * Q;
        }
    }
    for (; k < P + 2; k++) NB_DW3F_ANY(k);
#undef NB_DW3F_ANY
}

typedef void nb_dw3f_strip_fn(const nb_dw3f_strip *st);
#define NB_DW3F_FN(NB, MB)                                                                         \
    static void nb_dw3f_fwd_##NB##_##MB(const nb_dw3f_strip *st) {                                 \
        nb_dw3f_strip_body(st, NB, MB##u);                                                         \
    }
NB_DW3F_FN(1, 0) NB_DW3F_FN(1, 1)
NB_DW3F_FN(2, 0) NB_DW3F_FN(2, 1) NB_DW3F_FN(2, 2) NB_DW3F_FN(2, 3)
NB_DW3F_FN(3, 0) NB_DW3F_FN(3, 1) NB_DW3F_FN(3, 2) NB_DW3F_FN(3, 3)
NB_DW3F_FN(3, 4) NB_DW3F_FN(3, 5) NB_DW3F_FN(3, 6) NB_DW3F_FN(3, 7)
NB_DW3F_FN(4, 0) NB_DW3F_FN(4, 1) NB_DW3F_FN(4, 8) NB_DW3F_FN(4, 9)
#undef NB_DW3F_FN
static nb_dw3f_strip_fn *const nb_dw3f_fwd_fns4[4] = {nb_dw3f_fwd_4_0, nb_dw3f_fwd_4_1,
                                                      nb_dw3f_fwd_4_8, nb_dw3f_fwd_4_9};
static nb_dw3f_strip_fn *const nb_dw3f_fwd_fns[3][8] = {
    {nb_dw3f_fwd_1_0, nb_dw3f_fwd_1_1},
    {nb_dw3f_fwd_2_0, nb_dw3f_fwd_2_1, nb_dw3f_fwd_2_2, nb_dw3f_fwd_2_3},
    {nb_dw3f_fwd_3_0, nb_dw3f_fwd_3_1, nb_dw3f_fwd_3_2, nb_dw3f_fwd_3_3, nb_dw3f_fwd_3_4,
     nb_dw3f_fwd_3_5, nb_dw3f_fwd_3_6, nb_dw3f_fwd_3_7},
};

/* The strip of nb blocks at q0: masks of the blocks that need them. */
static void nb_dw3f_fwd_strip(nb_dw3f_strip *st, const nb_dw_plane *g, int64_t q0, int nb) {
    unsigned mb = 0;
    st->q0 = q0;
    st->xq0 = q0 - g->pad_w;
    for (int b = 0; b < nb; b++) {
        const int64_t qb = q0 + 8 * b;
        if (qb >= g->q_lo && qb + 8 <= g->q_hi) continue;
        mb |= 1u << b;
        st->my[b] = nb_dw3a_range(0, g->q - qb);
        for (int s = 0; s < 3; s++) st->mx[b][s] = nb_dw3a_xmask(g, qb, s - g->pad_w);
    }
    if (nb == 4) {
        if ((mb & 6u) == 0) {   /* masks on the end blocks only: 4_0, 4_1, 4_8, 4_9 */
            nb_dw3f_fwd_fns4[(mb & 1u) | (mb >> 2)](st);
            return;
        }
        nb_dw3f_fwd_strip(st, g, q0, 2);
        nb_dw3f_fwd_strip(st, g, q0 + 16, 2);
        return;
    }
    nb_dw3f_fwd_fns[nb - 1][mb](st);
}

/* Strip widths. In L1, strips of 2 blocks ran a little ahead (56x56:
   0.90 against 0.95 us with 4 + 3). In the layers, where the planes come
   from L3, a plane whose input and output fit in L1 together did better
   with fewer, wider strips (c144 56x56: 4 + 3 1.31x-1.32x oneDNN's time
   against 1.40x-1.47x with 2 + 2 + 2 + 1), a larger one with strips of 2
   (c32 112x112: 1.17x-1.27x against 1.33x with 4 + 4 + 3 + 3), each side
   by side in one run. Wide: 4, then 3 (7 = 4 + 3, 6 = 3 + 3, 5 = 3 + 2). */
static inline int nb_dw3f_width(const nb_dw_plane *g, int64_t left) {
    if ((g->h * g->w + g->p * g->q) * (int64_t)sizeof(float) > 32768) return left >= 2 ? 2 : (int)left;
    return left >= 7 || left == 4 ? 4 : left == 5 || left == 6 || left == 3 ? 3 : (int)left;
}

static void nb_dw3f_fwd(const nb_dw_plane *g, const float *x, const float *w, float bias,
                        int accumulate, const float *zero, float *y) {
    if (g->p <= 0) return;
    nb_dw3f_strip st = {.x = x, .zero = zero, .y = y, .h = g->h, .wd = g->w, .p = g->p, .q = g->q,
                        .pad_h = g->pad_h, .bias = _mm256_set1_ps(bias), .accumulate = accumulate};
    for (int t = 0; t < 9; t++) st.w[t] = _mm256_set1_ps(w[t]);
    const int64_t nblk = (g->q + 7) / 8;
    int nstrip = 0;
    for (int64_t b = 0; b < nblk; nstrip++) b += nb_dw3f_width(g, nblk - b);
    /* The next plane (the drivers call planes in memory order, back to
       back in NCHW) is prefetched into L2, spread over the strips after the
       first: those read this plane from L1 and leave the memory system
       idle, while the first strip of the next plane would otherwise wait
       for L3 (see the header comment). */
    const int64_t lines = (g->h * g->w * (int64_t)sizeof(float) + 63) / 64 + 1;
    const int pfs = nstrip > 1 ? nstrip - 1 : 1;
    const int64_t per = (lines + pfs - 1) / pfs;
    const uintptr_t nx = (uintptr_t)(x + g->h * g->w) & ~(uintptr_t)63;
    int i = 0;
    for (int64_t b = 0; b < nblk; i++) {
        const int nb = nb_dw3f_width(g, nblk - b);
        const int j = nstrip > 1 ? i - 1 : 0;
        st.pf = j >= 0 ? nx + 64 * (uintptr_t)(per * j) : 0;
        st.pf_n = (per + g->p + 1) / (g->p + 2);
        nb_dw3f_fwd_strip(&st, g, 8 * b, nb);
        b += nb;
    }
}

#endif
