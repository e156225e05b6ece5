/* f32 pointwise (1x1) convolution tile, AVX2+FMA (contract:
 * src/ukernel_pwconv.h): MR = 4 output rows by NR = 24 pixels, reading
 * the image's channel rows in place (no B packing) and the filters from
 * the driver's packed groups of 4. The AVX-512 twin is
 * kernels/avx512/f32-pwconv-avx512.c.
 *
 * Why 4 rows: the channel counts networks use (16, 24, 32, 64, 144, 256)
 * are multiples of 4, so no tile row is wasted (a 6-row tile wastes 2 of
 * 66 rows at 64, 2 of 18 at 16, 4 of 36 at 32).
 *
 * Register plan (4x24, all 16 ymm): 12 accumulators (4 rows x 3 vectors
 * of 8 pixels), 3 vectors of the channel row p, 1 broadcast filter: per
 * channel 3 loads + 4 broadcasts (load-port only) for 12 FMAs, 6 cycles
 * of the two FMA ports against ~3 of the load ports; 12 independent
 * chains cover the FMA latency (4 cycles x 2 ports). The image block
 * (K x 24 floats, 24 KiB at K = 256) stays in L1 across the row tiles.
 *
 * Prefetch: with NB_PW_PREFETCH (the driver's first row tile over a tile
 * of pixels) each channel step prefetches the same channel's pixels PW_PF
 * tiles ahead (the channel rows are ldx apart, beyond the stride
 * prefetchers); 24 pixels are 96 bytes, two lines at most, so two
 * prefetches a channel. The other row tiles find the block in L1/L2 and
 * skip them: 2 of ~23 uops a step at 4.8 uops a cycle. Past the image's
 * end at the last tiles: a prefetch never faults. Measured side by side
 * (NABLA_ISA=avx2, 1 thread, GFLOP/s, bench conv2d*_1x1 rows): prefetching
 * in every row tile -> only in the first: c64->k256 forward 80-89 -> 91-92,
 * c144->k24 75-78 -> 83, backward-data c256->k64 86-88 -> 94, n8 74 -> 79-85.
 * Prefetching the output lines for writing (prefetchw) at the start of a
 * tile gained nothing (within noise of not doing it).
 *
 * With a share of a later block (pf, the driver's copy path) and k >=
 * PW_SPREAD_MIN_K the tile prefetches only that, into L2, NR floats every
 * pf->every channel steps, as the AVX-512 tile does: the copying first row
 * tile went from 24 % of the samples (1/16 of the FMAs) to 8 %, n1
 * c256->k64 forward 0.83 -> 0.98-1.01x oneDNN-AVX2 (measurements in
 * src/conv_pointwise.c, pw_run). Not below k = 128: at K = 64 (n8,
 * M = 256, the mid-length copy) it changed nothing or lost (backward-data
 * n8 c256->k64 0.91 -> 0.82x, one A/B of 3 rounds), as session 11 found
 * for the share without the copy.
 *
 * Tails: a tile of n < 24 pixels runs 1, 2 or 3 vectors; the last one is
 * loaded and stored through a lane mask only when n is not a multiple of
 * 8 (vmaskmovps costs an extra uop, so whole tiles never use it): nothing
 * outside the m x n tile of y or the k x n block of x is touched. The
 * partial vector of y is stored in 4-, 2- and 1-float pieces, not with
 * vmaskmovps (microcoded on Zen 4 as a store).
 *
 * Stores: plain, NB_PW_STREAM is ignored. A row of a tile is 96 bytes, so
 * every other line is shared with the next tile, and streaming it in
 * halves from two calls (with the fence after each) ran n8 c64->k256 at
 * 32 GFLOP/s; streaming only the lines a call writes whole still lost to
 * plain stores (51 vs 77).
 */
#include <stdint.h>

#include <immintrin.h>

#include "mask-avx2.h"
#include "ukernel.h"

#define MR 4
#define NR 24
#define PW_PF 4   /* prefetch distance in tiles */
#define PW_SPREAD_MIN_K 128   /* shorter blocks: NB_PW_PREFETCH's scheme (see below) */
#ifndef PW_SPREAD_HINT
#define PW_SPREAD_HINT _MM_HINT_T2
#endif

/* Lanes [0, cnt) of v to p, cnt in 1..7, as plain 16-, 8- and 4-byte
   stores: vmaskmovps to memory is microcoded on Zen 4 (~12 cycles). */
static inline __attribute__((always_inline)) void store_lanes(float *p, __m256 v, size_t cnt) {
    nb_avx2_store_first(p, v, (int64_t)cnt);   /* mask-avx2.h */
}

/* One m x n tile, n <= 8 nv; masked: the last vector holds n - 8 (nv - 1)
   < 8 pixels (nv and masked constants after inlining). */
static inline __attribute__((always_inline)) void
pw_tile(const int nv, const int masked, const int prefetch, const int copy, size_t m, size_t n, size_t k,
        const float *w, const float *x, ptrdiff_t ldx, float *y, ptrdiff_t ldy, const float *bias,
        int flags, float *xcopy, const nb_pw_prefetch *pf) {
    const int accumulate = flags & NB_PW_ACCUMULATE;
    /* The spread share (prefetch 2): a row of the later block every
       `every` steps, from the first step on. */
    const float *pfr = prefetch == 2 ? pf->rows : NULL;
    size_t pf_wait = 1;
    const __m256i last = nb_avx2_lane_mask((int64_t)n - 8 * (nv - 1));
    __m256 acc[MR][3];
#pragma GCC unroll 4
    for (int r = 0; r < MR; r++)
#pragma GCC unroll 3
        for (int v = 0; v < nv; v++) acc[r][v] = _mm256_setzero_ps();
    const float *xp = x;
    /* Unrolled twice: half the loop's pointer updates (measured side by side:
       within noise to +8 %, c32->k16 112x112 86-87 -> 94-101 GFLOP/s). */
#pragma GCC unroll 2
    for (size_t p = 0; p < k; p++, xp += ldx, w += MR) {
        __m256 b[3];
#pragma GCC unroll 3
        for (int v = 0; v < nv; v++)
            b[v] = masked && v == nv - 1 ? _mm256_maskload_ps(xp + 8 * v, last)
                                         : _mm256_loadu_ps(xp + 8 * v);
        if (copy) {   /* the block for the other row tiles, NR floats a channel */
#pragma GCC unroll 3
            for (int v = 0; v < nv; v++) _mm256_storeu_ps(xcopy + 8 * v, b[v]);
            xcopy += NR;
        }
        if (prefetch == 2) {
            if (--pf_wait == 0) {   /* NR floats: two lines (rows start 32-byte apart) */
                pf_wait = pf->every;
                _mm_prefetch((const char *)pfr, PW_SPREAD_HINT);
                _mm_prefetch((const char *)(pfr + NR - 1), PW_SPREAD_HINT);
                pfr += pf->ld;
            }
        } else if (prefetch) {
            _mm_prefetch((const char *)(xp + PW_PF * 8 * nv), _MM_HINT_T0);
            if (nv > 1) _mm_prefetch((const char *)(xp + PW_PF * 8 * nv + 8 * nv - 1), _MM_HINT_T0);
        }
#pragma GCC unroll 4
        for (int r = 0; r < MR; r++) {
            const __m256 a = _mm256_broadcast_ss(w + r);
#pragma GCC unroll 3
            for (int v = 0; v < nv; v++) acc[r][v] = _mm256_fmadd_ps(a, b[v], acc[r][v]);
        }
    }
    /* The epilogue: acc, bias[r] + acc or y + acc (fma(1, c, acc) of the
       SGEMM's contract is the correctly rounded sum). */
#pragma GCC unroll 4
    for (int r = 0; r < MR; r++) {
        if ((size_t)r >= m) break;
        float *yr = y + r * ldy;
        const __m256 vb = _mm256_set1_ps(bias ? bias[r] : 0.0f);
#pragma GCC unroll 3
        for (int v = 0; v < nv; v++) {
            const int mk = masked && v == nv - 1;
            __m256 o = acc[r][v];
            if (accumulate)
                o = _mm256_add_ps(mk ? _mm256_maskload_ps(yr + 8 * v, last) : _mm256_loadu_ps(yr + 8 * v), o);
            else if (bias)
                o = _mm256_add_ps(vb, o);
            if (mk)
                store_lanes(yr + 8 * v, o, n - 8 * (size_t)(nv - 1));
            else
                _mm256_storeu_ps(yr + 8 * v, o);
        }
    }
}

/* The tile shapes (nv vectors, masked or not), each with and without the
   prefetches and the copy, as constants. */
static inline __attribute__((always_inline)) void
pw_shapes(const int prefetch, const int copy, size_t m, size_t n, size_t k, const float *w, const float *x,
          ptrdiff_t ldx, float *y, ptrdiff_t ldy, const float *bias, int flags, float *xcopy,
          const nb_pw_prefetch *pf) {
    if (n == 24)
        pw_tile(3, 0, prefetch, copy, m, n, k, w, x, ldx, y, ldy, bias, flags, xcopy, pf);
    else if (n > 16)
        pw_tile(3, 1, prefetch, copy, m, n, k, w, x, ldx, y, ldy, bias, flags, xcopy, pf);
    else if (n == 16)
        pw_tile(2, 0, prefetch, copy, m, n, k, w, x, ldx, y, ldy, bias, flags, xcopy, pf);
    else if (n > 8)
        pw_tile(2, 1, prefetch, copy, m, n, k, w, x, ldx, y, ldy, bias, flags, xcopy, pf);
    else if (n == 8)
        pw_tile(1, 0, prefetch, copy, m, n, k, w, x, ldx, y, ldy, bias, flags, xcopy, pf);
    else
        pw_tile(1, 1, prefetch, copy, m, n, k, w, x, ldx, y, ldy, bias, flags, xcopy, pf);
}

/* A run of whole tiles left to right, then the last (n > NR: several
   tiles in one call, see the contract; the call's fixed cost, ~40 cycles
   against 144 of FMAs at k = 24, is paid once for the run). */
static inline __attribute__((always_inline)) void
pw_run(const int prefetch, size_t m, size_t n, size_t k, const float *w, const float *x, ptrdiff_t ldx,
       float *y, ptrdiff_t ldy, const float *bias, int flags) {
    for (; n > NR; n -= NR, x += NR, y += NR)
        pw_tile(3, 0, prefetch, 0, m, NR, k, w, x, ldx, y, ldy, bias, flags, NULL, NULL);
    pw_shapes(prefetch, 0, m, n, k, w, x, ldx, y, ldy, bias, flags, NULL, NULL);
}

/* The tiles with a spread share (pf), apart from the entry point: the
   other tiles' loops keep their code and placement. */
static __attribute__((noinline, aligned(64))) void
pw_spread(size_t m, size_t n, size_t k, const float *w, const float *x, ptrdiff_t ldx, float *y,
          ptrdiff_t ldy, const float *bias, int flags, float *xcopy, const nb_pw_prefetch *pf) {
    if (xcopy)
        pw_shapes(2, 1, m, n, k, w, x, ldx, y, ldy, bias, flags, xcopy, pf);
    else
        pw_shapes(2, 0, m, n, k, w, x, ldx, y, ldy, bias, flags, NULL, pf);
}

/* 64-byte aligned, as pw_spread: the loops' placement in the instruction
   cache lines then does not depend on the code linked before them (the
   AVX-512 twin's header: 12-19 % from a 16-byte shift). */
__attribute__((aligned(64))) void
nb_f32_pwconv_ukernel_4x24__avx2(size_t m, size_t n, size_t k, const float *w, const float *x,
                                 ptrdiff_t ldx, float *y, ptrdiff_t ldy, const float *bias,
                                 int flags, float *xcopy, const nb_pw_prefetch *pf) {
    /* The spread share; the copying tile is the driver's first row tile:
       it prefetches too. Both as constants, so the loops of the other
       tiles carry neither. */
    if (pf && k >= PW_SPREAD_MIN_K)
        pw_spread(m, n, k, w, x, ldx, y, ldy, bias, flags, xcopy, pf);
    else if (xcopy)
        pw_shapes(1, 1, m, n, k, w, x, ldx, y, ldy, bias, flags, xcopy, NULL);
    else if (flags & NB_PW_PREFETCH)
        pw_run(1, m, n, k, w, x, ldx, y, ldy, bias, flags);
    else
        pw_run(0, m, n, k, w, x, ldx, y, ldy, bias, flags);
}
