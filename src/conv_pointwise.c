/* Pointwise convolutions (1x1, stride 1, no padding), forward and
 * backward-data, on the ISA's pointwise tile (src/ukernel_pwconv.h): the
 * image's channel rows are read in place, nothing but the filters is
 * packed.
 *
 * Per image and group the forward pass is the GEMM y[n,g] = w[g] x[n,g]
 * (kg x cg times cg x HW), backward-data dx[n,g] = w[g]^T dy[n,g]. Through
 * the SGEMM's 14x32 tile the image (its B) had to be packed (measured on
 * c256 56x56 k64: a fifth of the time in the B packer) and rows were
 * wasted (64 rows = 4 x 14 + 8; 24 = 14 + 10). Here:
 *   - the filters are packed once per call into groups of MR rows (A of
 *     every row tile and group; small next to the image);
 *   - a task is a block of nb pixels of one image and group (nb a multiple
 *     of NR); for each NR-pixel tile of it, left to right, every row tile
 *     runs over the tile's K x NR block of the image, which stays in L1/L2
 *     across the row tiles (the first row tile, NB_PW_PREFETCH, prefetches
 *     the next tiles' rows); for long sums (K >= the tile's copy_min_k; and
 *     K >= PW_COPY_MID_K with many row tiles and the input out of L2) the
 *     first row tile also copies the block, contiguous, for the others
 *     (xcopy: K rows HW apart fall into few L1 sets, see pw_run), and every row
 *     tile prefetches its share of a later block (nb_pw_prefetch, pw_run);
 *     for short sums a row tile runs a span of several tiles in one call
 *     before the next row tile (c->span, pw_run).
 * The ISAs' tiles: AVX-512 8x48, AVX2 4x24 (kernels/<isa>/f32-pwconv-*).
 * Bits: the sum is cut at the SGEMM's KC boundaries (sgemm_desc->kc) and
 * each block is the SGEMM's FMA chain and epilogue (src/ukernel_pwconv.h),
 * so every output gets the SGEMM's bits (gemm_driver.h) whatever nb, the
 * thread count and the batch: the same as the paths this one replaces and
 * the AVX2 tile's (same KC).
 *
 * Tried and not kept (session 8, AVX-512, 1 thread, side by side under a
 * load average of 5-11, nabla/oneDNN ratios of the same invocation):
 *   - cutting the sum into runs of 64-85 channels (16 KiB of x per 48-pixel
 *     tile, to stay in L1 across the row tiles) with the chain resumed from
 *     the stored partial sums (bit-exact: a stored float loads back the
 *     same), partials in y or in a contiguous per-thread buffer: n1 no gain
 *     (c256->k64 forward 0.80-0.88 -> 0.77-0.85), and with the input out of
 *     L2 it lost (n8 c256->k64 forward 0.83-0.92 -> 0.72-0.79, backward-data
 *     c64->k256 0.82-0.90 -> 0.66-0.73), with or without every row tile
 *     prefetching: the L2 traffic of the re-read block is not what sets the
 *     pace (no hardware counters in this VM to say what does);
 *   - the block copy for every K (PW_COPY_MIN_K 0), the prefetches as
 *     PREFETCHT1, PREFETCHW of the next tile's output rows: within noise,
 *     or lost (PREFETCHW with streamed stores: n8 rows 0.58x);
 *   - not the TLB: with the bench's buffers on 2 MiB pages
 *     (GLIBC_TUNABLES=glibc.malloc.hugetlb=1) nabla gained 3-15 % and
 *     oneDNN 4-26 %: the ratios did not improve (n1 c256->k64 forward
 *     0.85 -> 0.86, the n8 rows fell).
 * Tried and not kept (session 10, same conditions; the first row tile's
 * prefetch burst was the loss, see pw_run):
 *   - the block copied by the driver (memcpy of each channel row, with the
 *     next block's prefetches) instead of by the first row tile: the copy
 *     then overlaps no FMAs, n1 c256->k64 forward 130 -> 114 GFLOP/s;
 *   - the 8x32 tile (the K = 256 block, 32 KiB, nearer to fitting L1):
 *     most 1x1 rows 3-10 % slower, none faster;
 *   - the spread share also without the copy (n8): within the noise.
 * Tried and not kept (session 11, AVX2, same conditions):
 *   - the spread share (nb_pw_prefetch, PREFETCHT2) in the AVX2 tile, for
 *     every K: c144->k24 forward 94-95 -> 93 GFLOP/s, backward-data
 *     c256->k64 111-117 -> 101-102 (and it ruled out the span at K = 24);
 *   - the AVX2 tile's prefetch distance 1 or 2 tiles instead of 4 (the
 *     K = 144 block 4 tiles ahead is more than L1): within the noise.
 *   - a 12x8 AVX2 tile (12 accumulators, 1 load + 12 broadcasts a channel)
 *     for M = 24, so that 2 row tiles read the image instead of 6: slower
 *     on all four K = 24 / 144 rows (c144->k24 forward 96 -> 90, the
 *     others 95-113 -> 90-100 GFLOP/s): the broadcasts, not the image,
 *     set its pace.
 *   The K = 144 rows with 24 output rows (c144->k24 forward, c24->k144
 *   backward-data) stay at ~90-95 GFLOP/s on AVX2: perf puts 28 % of the
 *   tile's samples in the first row tile (1/6 of the FMAs), the one that
 *   reads the image from L3; oneDNN's 3-vector x 4-pixel blocked tile
 *   covers all 24 channels and reads the image once.
 * Tried and not kept (session 12, Zen 4, AVX-512, 1 thread, min CPU time
 * of 12 runs alternating): the spread share without the copy, a span of 1
 * tile at K = 64 (PW_SPAN_BYTES 12 KiB), the AVX-512 channel loop unrolled
 * by 2 or 4: all within 1-2 % on every 1x1 row. At n1 the AVX-512 tile's
 * channel loop takes ~91 % of the samples and the layers run at ~94 % of
 * the FMA peak (oneDNN ~97 %): what is left is outside the loop.
 * The 8x48 tile alone over an L1-resident, contiguous block (K = 128, one
 * row tile) runs at 175-178 GFLOP/s with its prefetches (76 % of the 233
 * peak), a copy of its loop without them at 186-191; the layers at 60-66 %,
 * oneDNN in its blocked layouts at 68-77 %.
 * Session 16 (Zen 4, AVX-512, 1 thread; /tmp/ab.sh 3 rounds, one binary,
 * the variants by environment knobs since removed; median CPU time):
 * main against the peers, ms: forward c256->k64 0.95 (oneDNN 0.96,
 * XNNPACK 0.94), c64->k256 1.03 (0.98 / 0.95), c32->k16 0.129 (0.128 /
 * 0.124); backward-data c256->k64 0.97 (0.92), c64->k256 0.95 (0.93),
 * c32->k16 0.141 (0.127, the one gap clearly beyond the noise). Tried
 * and not kept:
 *   - the whole image one span (row tiles outer, each over every pixel
 *     tile, the block from L2 and every row tile prefetching; 8 output
 *     row streams at a time instead of 8 x 32 short ones): forward
 *     c64->k256 / c24->k144 / c32->k16 0.995 / 0.953 / 1.056 of main,
 *     backward-data c256->k64 1.137, c144->k24 0.965, c32->k16 1.029;
 *     without the prefetch in every row tile 1.45x slower (c256->k64);
 *     a span of 256 KiB instead: 0.88-1.06, no pattern;
 *   - streamed stores from 200 K output floats (n1 rows, output 0.8-3.2
 *     MB, beyond L2): backward-data c32->k16 1.17x slower (the stores
 *     then go to DRAM; the output stays in L3 across calls otherwise),
 *     c256->k64 / c64->k256 within noise;
 *   - PW_SPAN_BYTES 12 / 16 KiB on AVX-512 (the K = 16 span of 8 tiles
 *     with its 12 KiB of output is more than L1): forward c24->k144
 *     0.93 of 24 KiB, but backward-data c32->k16 1.09 / 1.13 slower.
 *   Judge these rows on 3+ rounds: the same binary's rows moved 5-8 %
 *   between rounds, and the tiles' code placement 12-19 % (see
 *   kernels/avx512/f32-pwconv-avx512.c). */
#include <stdint.h>

#include "conv_internal.h"
#include "internal.h"
#include "parallel.h"
#include "scratch.h"

#define PW_STREAM_FLOATS (4 * 1024 * 1024)
#define PW_COPY_FLOATS (64 * 1024)
#define PW_COPY_MAX_IN (1024 * 1024)
#define PW_COPY_MID_K 64    /* mid-length sums: see pw_run */
#define PW_COPY_MID_MT 8
#define PW_COPY_MID_MAX_K 256
#define PW_SPREAD_DIST 2   /* tiles ahead: the next block but one */
#define PW_SPAN_BYTES (24 * 1024)

static int64_t round_up64(int64_t v, int64_t m) { return (v + m - 1) / m * m; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* M: rows of the output per group (kg forward, cg backward-data). Fewer
   rows than a tile are left to the SGEMM's no-pack row kernel, which wastes
   none. */
int nb_conv_use_pointwise(const nb_conv_desc *cd, const nb_conv_geom *g, int64_t M) {
    return g->pointwise && cd->pw.fn && cd->sgemm_desc && M >= cd->pw.mr;
}

typedef struct {
    const nb_conv_desc *cd;
    int trans_w;            /* 0: A = w[g] (forward); 1: A = w[g]^T (backward-data) */
    int64_t M, K;           /* rows of the output (kg / cg) and the sum's length (cg / kg) */
    int64_t G, HW;
    int64_t in_ch, out_ch;  /* channels per image of the tensor read and the one written */
    int64_t kc;             /* the SGEMM's KC: where the sum is cut */
    int64_t mt, a_panel;    /* row tiles per group; floats of one packed row tile (K MR) */
    int64_t nb, nblk;       /* pixels per task, blocks per image */
    int64_t span;           /* NR-pixel tiles each row tile runs before the next row tile */
    int stream;             /* NB_PW_STREAM when the outputs are far larger than the caches */
    int copy;               /* the first row tile copies the block for the others (xcopy) */
    int spread;             /* the row tiles share the next blocks' prefetches (nb_pw_prefetch) */
    const float *w, *in, *bias;
    float *apack, *out;
} pw_ctx;

/* Packed row tiles i = gi mt + t (group gi, rows t MR ...): K groups of MR
   floats, group p holding A[t MR + r, p], zero past M. */
static void pack_a_panels(const void *ctx, int64_t lo, int64_t hi) {
    const pw_ctx *c = ctx;
    const int64_t mr = c->cd->pw.mr;
    for (int64_t i = lo; i < hi; i++) {
        const int64_t gi = i / c->mt, r0 = i % c->mt * mr;
        /* forward: A[m, p] = w[g][m, p] (row length K); backward-data:
           A[m, p] = w[g][p, m] (w[g] is kg x cg = K x M). */
        const float *wg = c->w + gi * c->M * c->K;
        const int64_t rs = c->trans_w ? 1 : c->K, ps = c->trans_w ? c->M : 1;
        float *dst = c->apack + i * c->a_panel;
        for (int64_t p = 0; p < c->K; p++)
            for (int64_t r = 0; r < mr; r++)
                dst[p * mr + r] = r0 + r < c->M ? wg[(r0 + r) * rs + p * ps] : 0.0f;
    }
}

/* Member tid of nt's share of the row tiles, in the tasks' team (one team
   start a call instead of two). */
static void pack_a_share(const void *ctx, int tid, int nt) {
    const pw_ctx *c = ctx;
    int64_t lo, hi;
    nb_parallel_share(c->G * c->mt, tid, nt, &lo, &hi);
    pack_a_panels(c, lo, hi);
}

/* Row tile i over one NR-pixel tile (x: its first pixel of channel 0),
   every KC block in order (bias with the first). */
static void pw_call(const pw_ctx *c, int64_t i, size_t m, size_t nn, const float *x, float *y,
                    const float *a, const float *bias, float *xbuf) {
    const nb_pwconv_ukernel *uk = &c->cd->pw;
    /* Row tile 0 reads the image (and copies the block); with a copy, the
       others read it, NR floats a channel. */
    const int from_copy = c->copy && i > 0;
    const float *xb = from_copy ? xbuf : x;
    const ptrdiff_t ldx = from_copy ? uk->nr : (ptrdiff_t)c->HW;
    for (int64_t pc = 0; pc < c->K; pc += c->kc) {
        /* Row tile i's share of the block PW_SPREAD_DIST tiles on: its
           channel rows pc + i, pc + i + mt, ... */
        const nb_pw_prefetch pf = {x + PW_SPREAD_DIST * uk->nr + (pc + i) * c->HW,
                                   (ptrdiff_t)(c->mt * c->HW), (size_t)c->mt};
        uk->fn(m, nn, (size_t)min64(c->kc, c->K - pc), a + pc * uk->mr, xb + pc * ldx, ldx, y,
               (ptrdiff_t)c->HW, pc == 0 ? bias : NULL,
               (pc > 0 ? NB_PW_ACCUMULATE : 0) | (i == 0 ? NB_PW_PREFETCH : 0) | c->stream,
               c->copy && i == 0 ? xbuf + pc * uk->nr : NULL, c->spread ? &pf : NULL);
    }
}

/* One block of pixels of one image and group: its tiles left to right,
   each through every row tile and KC block (bias with the first block). */
static nb_status pw_task(const void *ctx, int64_t t, float *xbuf) {
    const pw_ctx *c = ctx;
    const nb_pwconv_ukernel *uk = &c->cd->pw;
    const int64_t blk = t % c->nblk, unit = t / c->nblk;
    const int64_t n = unit / c->G, gi = unit % c->G, j0 = blk * c->nb;
    const int64_t nj = min64(c->nb, c->HW - j0);
    const float *in = c->in + (n * c->in_ch + gi * c->K) * c->HW + j0;
    float *out = c->out + (n * c->out_ch + gi * c->M) * c->HW + j0;
    const float *ag = c->apack + gi * c->mt * c->a_panel;
    const float *bias = c->bias ? c->bias + gi * c->M : NULL;
    const int64_t span = c->span * uk->nr;
    for (int64_t js = 0; js < nj; js += span) {
        const int64_t je = min64(nj, js + span);
        for (int64_t i = 0; i < c->mt; i++) {
            const size_t m = (size_t)min64(uk->mr, c->M - i * uk->mr);
            pw_call(c, i, m, (size_t)(je - js), in + js, out + i * uk->mr * c->HW + js,
                    ag + i * c->a_panel, bias ? bias + i * uk->mr : NULL, xbuf);
        }
    }
    return NB_OK;
}

/* Pixels per task: the whole image on one thread; with several, cut into
   blocks of whole tiles until the tasks split evenly (or are many). The
   bits do not depend on it.
   Tried and not kept (session 14, AVX-512, 2 threads): without the block
   copy, 8 blocks a thread handed out as the threads come free
   (nb_conv_run_tasks_ex, balanced; in fixed halves one thread of two ran
   5-10 % longer than the other in a call, in turn: timestamps per thread,
   c144->k24 backward-data busy 108 / 114 us, ends 11 us apart): one A/B
   gained 16 % on c24->k144 forward and c144->k24 backward-data, three
   others lost 2-10 %, and in some bench processes those rows ran 2x
   slower with both threads busy twice as long (neighbouring blocks of the
   same rows on the two cores at once: the cores' stream prefetchers
   crossing into each other's lines?). With the copy, handed out one image
   a task, n8 c64->k256 forward / c256->k64 backward-data 4.74 -> 5.01 /
   4.59 -> 5.09 ms. */
static void pick_blocks(pw_ctx *c, int64_t units, int nt0) {
    const int64_t nr = c->cd->pw.nr;
    int64_t nblk = 1;
    if (nt0 > 1)
        while ((units * nblk) % nt0 != 0 && units * nblk < 4 * (int64_t)nt0 && nblk < c->HW / nr)
            nblk++;
    c->nb = round_up64((c->HW + nblk - 1) / nblk, nr);
    c->nblk = (c->HW + c->nb - 1) / c->nb;
}

static nb_status pw_run(pw_ctx *c, const nb_conv2d_desc *d, const nb_conv_geom *g) {
    const int64_t units = d->n * c->G;
    const int nt0 = nb_conv_task_threads(c->cd, INT64_MAX, d, g);   /* threads the work is worth */
    c->kc = c->cd->sgemm_desc->kc;
    /* Outputs of more than PW_STREAM_FLOATS (16 MB) go out to memory anyway:
       their stores skip the read for ownership (n8 c64 56x56 k256, 26 MB
       written: 82 -> 128 GFLOP/s; at 3 MB, n1, no gain). Not when a later
       KC block reads y back. */
    c->stream = d->n * c->out_ch * c->HW > PW_STREAM_FLOATS && c->K <= c->kc ? NB_PW_STREAM : 0;
    c->mt = (c->M + c->cd->pw.mr - 1) / c->cd->pw.mr;
    c->a_panel = round_up64(c->K * c->cd->pw.mr, 16);
    int owned;
    const int64_t panels = c->G * c->mt;
    float *apack = nb_conv_scratch_floats(NB_SCRATCH_CONV_FILTERS, panels, 1, c->a_panel, &owned);
    if (!apack) return NB_ERR_OOM;
    c->apack = apack;
    /* The block copy where the row tiles re-read a long block: K channel
       rows HW floats apart fall into few L1 sets (HW = 3136: 12544 bytes,
       a 256-byte step mod 4 KiB, 16 of the 64 sets a line position), so a
       K = 256 block of 2-3 lines a channel overflows their 12 ways and is
       re-read from L2 by every row tile; the copy is contiguous. Per thread,
       K x NR floats (at most PW_COPY_FLOATS). Measured side by side (1
       thread, GFLOP/s; AVX2 / AVX-512): n1 c256->k64 forward 84 -> 92 /
       130 -> 137, backward-data c64->k256 85 -> 94 / 127-132 -> 135-137;
       but with the input out of L2 (n8, 26 MB) it lost (74 -> 69 / 101-107
       -> 86, 75 -> 68 / 103-121 -> 89), and at K = 24..144 it changed
       nothing beyond noise: only K >= copy_min_k (the tile's, 256 then)
       and inputs up to
       PW_COPY_MAX_IN floats. The copy holds the same values: the bits do
       not depend on it.
       Mid-length sums (session 12, Zen 4: L1d 32 KiB 8-way, L2 1 MiB):
       K = 64 with many row tiles (M = 256: 32 AVX-512 / 64 AVX2 row tiles)
       and the input out of L2 (n8, 6.4 MB) take the copy too (with it, on
       AVX-512, the spread share below). One binary, copy on / off
       alternating, 1 thread, min of 12 runs' CPU time (ms), 3 rounds:
       AVX-512 backward-data n8 c256->k64 8.52 -> 8.07 (oneDNN 7.63),
       forward n8 c64->k256 8.29 -> 7.72 (oneDNN 9.0); AVX2 8.38 <- 9.23
       and 8.43 <- 10.19 (oneDNN AVX2 7.94 / 7.96). Not taken: at n1
       (input in L2) K = 64 changed nothing on AVX-512 and lost 1-2 % on
       AVX2; K = 144 / 24 with 3 row tiles (M = 24) lost 2-5 %, K <= 24
       lost 5-8 % (the copy turns the span off); n8 at K = 256 (the long
       rule's input cap) lost 3 % on AVX2, equal on AVX-512.
       Session 13 (Zen 4, AVX2): with the spread share below now taken by
       the AVX2 tile too, the copy pays at K = 144 (M = 24, 6 row tiles),
       so the AVX2 tile's copy_min_k is 128 (AVX-512 keeps 256: with 3
       row tiles K = 144 lost, above). /tmp/ab.sh, NABLA_ISA=avx2 against
       oneDNN capped at AVX2, 3 rounds, oneDNN / nabla CPU time of the same
       round (higher is better): forward n1 c144->k24 0.885 -> 0.955,
       backward-data n1 c24->k144 0.879 -> 0.988.
       And the mid-length rule now takes K = 256 too (PW_COPY_MID_MAX_K;
       longer sums unmeasured): n8 c256->k64 forward / c64->k256
       backward-data, input 26 MB; same A/B, AVX2: 0.91 -> 1.06 / 0.78 ->
       1.00; AVX-512 (default oneDNN): forward 0.98 -> 1.15 (nabla 9.63 ->
       9.09 ms), backward-data 1.02 -> 0.99 (nabla 9.20 -> 9.20 ms); a
       rerun of 4 rounds: AVX-512 8.59 -> 8.58 / 8.42 -> 8.64 ms (oneDNN
       8.29 -> 8.51): equal there; AVX2 11.28 -> 8.24 / 10.53 -> 8.88 ms. */
    const int64_t in_floats = d->n * c->in_ch * c->HW;
    const int64_t copy_min_k = c->cd->pw.copy_min_k;
    c->copy = c->K * c->cd->pw.nr <= PW_COPY_FLOATS &&
              ((c->mt > 1 && c->K >= copy_min_k && in_floats <= PW_COPY_MAX_IN) ||
               (c->mt >= PW_COPY_MID_MT && c->K >= PW_COPY_MID_K && c->K <= PW_COPY_MID_MAX_K &&
                in_floats > PW_COPY_MAX_IN));
    /* With the copy, the first row tile alone used to prefetch (3 lines a
       channel step, 4 tiles ahead): the image's lines come from L3/DRAM,
       and its burst of 768 prefetches a block (K = 256) held the L1 fill
       buffers for the memory latency, so that tile, 1/8 of the work, took
       28 % of the kernel's time in perf (the others ran at ~83 % of peak).
       Spread over the row tiles (each row of the block PW_SPREAD_DIST tiles
       on prefetched once, into L2, by one row tile, one row every mt
       steps), the first row tile took 14 %. Measured in one binary, spread
       on / off alternating, 1 thread, nabla/oneDNN ratio, 3 runs each of 5
       repetitions: n1 c256->k64 forward 0.85 -> 0.91, backward-data
       c64->k256 0.86 -> 0.93. Without the copy (n8, input 26 MB) it changed
       nothing beyond the noise (forward 0.86 / 0.83, backward-data 0.84 /
       0.86): not taken there.
       The AVX2 tile ignored the share until session 13; taking it (from
       k >= 128, kernels/avx2/f32-pwconv-avx2.c) the copy's first row tile
       went from 24 % of the kernel's samples (1/16 of its FMAs, perf, n1
       c256->k64 forward) to 8 %, and, same A/B as above: forward n1
       c256->k64 0.827 -> 0.978-1.014, backward-data n1 c64->k256 0.896 ->
       1.014. */
    c->spread = c->copy;
    pick_blocks(c, units, nt0);
    const int64_t tasks = units * c->nblk;
    const int nt = tasks < nt0 ? (int)tasks : nt0;
    /* Short sums: each row tile runs over a span of tiles (one call)
       before the next row tile, the span's K x span NR block of the image
       (PW_SPAN_BYTES, half of L1) staying in L1 across the row tiles. At
       K = 24 a call of one tile is 144 cycles of FMAs and its fixed cost
       (the call, the tile's dispatch, zeroing and epilogue, the loop's
       exit) was about a quarter of the layer's samples outside the FMA
       loop (perf, AVX2 c24->k144). Not with the copy or the spread share,
       which work tile by tile. The order of the tiles does not change any
       output's FMA chain: same bits. */
    /* Tried and not kept (session 13, Zen 4's 32 KiB L1, AVX2): PW_SPAN_BYTES
       12 / 16 KiB instead of 24 (spans of 4-5 tiles at K = 24..32, 2 at
       K = 64): one A/B of 3 rounds, nabla/oneDNN-AVX2 moved +-7 % both
       ways, the same as two identical spans (12 and 16 KiB give 2 tiles at
       K = 64: 0.91 vs 1.04): nothing measurable above this VM's noise.
       Session 14 (AVX-512, 2 threads): PW_SPAN_BYTES 256 KiB (the whole
       task a span, its block of the image from L2) for the K = 24 / 144
       rows: 0-5 % slower on all six K <= 144 rows, 1 and 2 threads.
       (The 2x slow bench processes of these rows with small blocks
       handed out: pick_blocks.) */
    c->span = c->copy || c->spread ? 1 : PW_SPAN_BYTES / (c->K * c->cd->pw.nr * (int64_t)sizeof(float));
    if (c->span < 1) c->span = 1;
    const nb_status st = nb_conv_run_tasks_ex(c->cd, nt, tasks, c->copy ? c->K : 1,
                                              c->copy ? c->cd->pw.nr : 0, c->copy, NULL, pw_task,
                                              c, 0, pack_a_share);
    nb_scratch_done(apack, owned);
    return st;
}

nb_status nb_conv_pointwise_forward(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                    const float *x, const float *w, const float *bias, float *y) {
    const nb_conv_geom g = nb_conv_geom_of(d);
    pw_ctx c = {.cd = cd, .trans_w = 0, .M = g.kg, .K = g.cg, .G = g.G, .HW = g.HW,
                .in_ch = d->c, .out_ch = d->k, .w = w, .in = x, .bias = bias, .out = y};
    return pw_run(&c, d, &g);
}

nb_status nb_conv_pointwise_backward_data(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                          const float *dy, const float *w, float *dx) {
    const nb_conv_geom g = nb_conv_geom_of(d);
    pw_ctx c = {.cd = cd, .trans_w = 1, .M = g.cg, .K = g.kg, .G = g.G, .HW = g.HW,
                .in_ch = d->k, .out_ch = d->c, .w = w, .in = dy, .bias = NULL, .out = dx};
    return pw_run(&c, d, &g);
}
