/* f32 pointwise (1x1) convolution tiles, AVX-512F (contract:
 * src/ukernel_pwconv.h): MR = 8 output rows by NR = 48 or 32 pixels,
 * reading the image's channel rows in place (no B packing) and the
 * filters from the driver's packed groups of 8.
 *
 * Why 8 rows: the channel counts networks use (16, 24, 32, 64, 144, 256)
 * are multiples of 8, so no tile row is wasted (the SGEMM's 14-row tile
 * wastes 8 of 72 rows at 64, 10 of 24 at 24).
 *
 * Register plan (8x48): 24 accumulators (8 rows x 3 vectors of 16 pixels),
 * 3 vectors of the channel row p, the filters as embedded broadcasts
 * ({1to16} memory operands): per channel 3 loads + 8 broadcasts for 24
 * FMAs, under the two load ports' budget. 8x32: 16 accumulators, 2 loads +
 * 8 broadcasts for 16 FMAs, for long sums (K >= 128) whose 48-pixel block
 * of the image (K x 192 bytes) would not stay in L1 across the row tiles.
 *
 * Prefetch: the channel rows are ldx apart (a whole image row of pixels,
 * kilobytes), beyond the L1 stride prefetcher's reach, and there are K of
 * them, more streams than the L2 streamer follows; each channel step
 * prefetches the same channel's pixels PW_PF tiles ahead into L1 (the driver
 * runs the tiles of a row block left to right), which is also past the end
 * of the image at the last tiles: a prefetch never faults.
 *
 * Measured without it: n8 c256 56x56 k64 71 -> 118 GFLOP/s with it.
 * Only the first row tile over a pixel tile needs it (NB_PW_PREFETCH; the
 * others find the block in L1/L2), up to K = PW_PF_ALL_K: a 48-pixel block
 * of K = 256 channels is all of L1 (48 KiB) and is evicted before the
 * other row tiles come back to it, so long sums prefetch in every row tile
 * (measured side by side, GFLOP/s: first row tile only, n8 c256->k64
 * forward 102-120 -> 86-89, backward-data n8 c64->k256 105-118 -> 90-95;
 * at K = 64, c64->k256 forward 135-139 -> 140-145, backward-data
 * c256->k64 137-140 -> 142-143).
 *
 * With a share of a later block (pf, the driver's copy path) the tile
 * prefetches only that, into L2 (PREFETCHT2), NR floats every pf->every
 * channel steps, instead of the rows above: the driver's row tiles then
 * split the block's lines between them, each line fetched once (see
 * pw_run in src/conv_pointwise.c for why and the measurements).
 *
 * Stores: with NB_PW_STREAM (outputs far larger than the caches) the full,
 * aligned vectors are stored non-temporally: no read for ownership of
 * lines that only go out to memory (n8 c64 56x56 k256: 82 -> 128 GFLOP/s).
 *
 * The last vector of a tile is masked (n not a multiple of 16): nothing
 * outside the m x n tile of y is read or written, nothing outside the k x n
 * block of x is loaded.
 *
 * Placement: the entry points and the spread tiles start on a 64-byte
 * boundary (aligned(64)), so that their loops sit at the same offsets in
 * the instruction cache lines whatever code the linker puts before them.
 * Session 16 (Zen 4, 1 thread): an unrelated edit of src/conv_pointwise.c
 * moved these functions by 16 bytes (entry at 16 mod 64 instead of 0) and
 * the unchanged tiles ran 12-19 % slower on some rows (/tmp/ab.sh, 3 rounds,
 * median CPU time, ms: forward n1 c64->k256 1.063 -> 1.204, backward-data
 * n1 c256->k64 1.045 -> 1.175, c64->k256 0.993 -> 1.072); aligned, the
 * same edit measured as main (0.93-1.08, within this VM's noise).
 * Tried and not kept (session 16): align-loops=64 through the optimize
 * attribute (GCC 12 left most loop tops where they were).
 */
#include <stdint.h>

#include <immintrin.h>

#include "ukernel.h"

#define MR 8
/* Prefetch distance in tiles (measured 2-8: 4 best by a few %, within noise of 2). */
#define PW_PF 4
/* Longer sums prefetch in every row tile, not only with NB_PW_PREFETCH. */
#define PW_PF_ALL_K 64

/* One m x n tile, n <= 16 NV (NV a constant after inlining). */
static inline __attribute__((always_inline)) void
pw_tile(const int nv, const int prefetch, const int copy, size_t m, size_t n, size_t k, const float *w,
        const float *x, ptrdiff_t ldx, float *y, ptrdiff_t ldy, const float *bias, int flags,
        float *xcopy, const int nr, const nb_pw_prefetch *pf) {
    const int accumulate = flags & NB_PW_ACCUMULATE, stream = flags & NB_PW_STREAM;
    __m512 acc[MR][4];
    const __mmask16 last = (__mmask16)(0xFFFFu >> (16 * nv - n));
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) acc[r][v] = _mm512_setzero_ps();
    const float *xp = x;
    /* The spread share (prefetch 2): a row of the later block every
       `every` steps, from the first step on. */
    const float *pfr = prefetch == 2 ? pf->rows : NULL;
    size_t pf_wait = 1;
    for (size_t p = 0; p < k; p++, xp += ldx, w += MR) {
        __m512 b[4];
#pragma GCC unroll 4
        for (int v = 0; v < nv - 1; v++) b[v] = _mm512_loadu_ps(xp + 16 * v);
        b[nv - 1] = _mm512_maskz_loadu_ps(last, xp + 16 * (nv - 1));
        if (copy) {   /* the block for the other row tiles, NR floats a channel */
#pragma GCC unroll 4
            for (int v = 0; v < nv; v++) _mm512_storeu_ps(xcopy + 16 * v, b[v]);
            xcopy += nr;
        }
        if (prefetch == 2) {
            if (--pf_wait == 0) {
                pf_wait = pf->every;
#pragma GCC unroll 4
                for (int v = 0; v < nr / 16; v++) _mm_prefetch((const char *)(pfr + 16 * v), _MM_HINT_T2);
                pfr += pf->ld;
            }
        } else if (prefetch) {
#pragma GCC unroll 4
            for (int v = 0; v < nv; v++)
                _mm_prefetch((const char *)(xp + PW_PF * 16 * nv + 16 * v), _MM_HINT_T0);
        }
#pragma GCC unroll 8
        for (int r = 0; r < MR; r++) {
            const __m512 a = _mm512_set1_ps(w[r]);
#pragma GCC unroll 4
            for (int v = 0; v < nv; v++) acc[r][v] = _mm512_fmadd_ps(a, b[v], acc[r][v]);
        }
    }
    /* The epilogue: acc, bias[r] + acc or y + acc (fma(1, c, acc) of the
       SGEMM's contract is the correctly rounded sum). */
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
        if ((size_t)r >= m) break;
        float *yr = y + r * ldy;
        const __m512 vb = _mm512_set1_ps(bias ? bias[r] : 0.0f);
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) {
            const __mmask16 mk = v == nv - 1 ? last : 0xFFFF;
            __m512 o = acc[r][v];
            if (accumulate)
                o = _mm512_add_ps(_mm512_maskz_loadu_ps(mk, yr + 16 * v), o);
            else if (bias)
                o = _mm512_add_ps(vb, o);
            if (stream && mk == 0xFFFF && ((uintptr_t)(yr + 16 * v) & 63) == 0)
                _mm512_stream_ps(yr + 16 * v, o);
            else
                _mm512_mask_storeu_ps(yr + 16 * v, mk, o);
        }
    }
    if (stream) _mm_sfence();   /* the streamed stores before whatever follows */
}

/* The tile shapes (nv vectors), with and without the prefetches and the
   copy, as constants. */
static inline __attribute__((always_inline)) void
pw_shapes(const int nvmax, const int prefetch, const int copy, size_t m, size_t n, size_t k, const float *w,
          const float *x, ptrdiff_t ldx, float *y, ptrdiff_t ldy, const float *bias, int flags,
          float *xcopy, const nb_pw_prefetch *pf) {
    if (nvmax == 3 && n > 32)
        pw_tile(3, prefetch, copy, m, n, k, w, x, ldx, y, ldy, bias, flags, xcopy, 16 * nvmax, pf);
    else if (n > 16)
        pw_tile(2, prefetch, copy, m, n, k, w, x, ldx, y, ldy, bias, flags, xcopy, 16 * nvmax, pf);
    else
        pw_tile(1, prefetch, copy, m, n, k, w, x, ldx, y, ldy, bias, flags, xcopy, 16 * nvmax, pf);
}

/* A run of whole tiles left to right, then the last (n > 16 NV: several
   tiles in one call, see the contract). */
static inline __attribute__((always_inline)) void
pw_run(const int nvmax, const int prefetch, size_t m, size_t n, size_t k, const float *w, const float *x,
       ptrdiff_t ldx, float *y, ptrdiff_t ldy, const float *bias, int flags) {
    const size_t nr = 16 * (size_t)nvmax;
    for (; n > nr; n -= nr, x += nr, y += nr)
        pw_tile(nvmax, prefetch, 0, m, nr, k, w, x, ldx, y, ldy, bias, flags, NULL, (int)nr, NULL);
    pw_shapes(nvmax, prefetch, 0, m, n, k, w, x, ldx, y, ldy, bias, flags, NULL, NULL);
}

/* The tiles with a spread share (pf), apart from the entry points: their
   loops then keep their code and placement. */
#define PW_SPREAD(NM, NV)                                                                          \
    static __attribute__((noinline, aligned(64))) void pw_spread_##NM(                            \
        size_t m, size_t n, size_t k, const float *w, const float *x, ptrdiff_t ldx, float *y,     \
        ptrdiff_t ldy, const float *bias, int flags, float *xcopy, const nb_pw_prefetch *pf) {     \
        if (xcopy)                                                                                 \
            pw_shapes(NV, 2, 1, m, n, k, w, x, ldx, y, ldy, bias, flags, xcopy, pf);               \
        else                                                                                       \
            pw_shapes(NV, 2, 0, m, n, k, w, x, ldx, y, ldy, bias, flags, NULL, pf);                \
    }
PW_SPREAD(8x48, 3)
PW_SPREAD(8x32, 2)

/* The entry points: the spread share, the copying first row tile (which
   prefetches too), the prefetching tiles, the others. */
#define PW_ENTRY(NM, NV)                                                                           \
    __attribute__((aligned(64))) void nb_f32_pwconv_ukernel_##NM##__avx512(                       \
        size_t m, size_t n, size_t k, const float *w, const float *x, ptrdiff_t ldx, float *y,     \
        ptrdiff_t ldy, const float *bias, int flags, float *xcopy, const nb_pw_prefetch *pf) {     \
        if (pf)                                                                                    \
            pw_spread_##NM(m, n, k, w, x, ldx, y, ldy, bias, flags, xcopy, pf);                    \
        else if (xcopy)                                                                            \
            pw_shapes(NV, 1, 1, m, n, k, w, x, ldx, y, ldy, bias, flags, xcopy, NULL);             \
        else if ((flags & NB_PW_PREFETCH) || k > PW_PF_ALL_K)                                      \
            pw_run(NV, 1, m, n, k, w, x, ldx, y, ldy, bias, flags);                                \
        else                                                                                       \
            pw_run(NV, 0, m, n, k, w, x, ldx, y, ldy, bias, flags);                                \
    }
PW_ENTRY(8x48, 3)
PW_ENTRY(8x32, 2)
