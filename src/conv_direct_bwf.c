/* Direct backward-filter for layers with few input channels (the 7x7
 * stride-2 stem: 3 channels, 147 taps), on ISAs with a direct
 * backward-filter tile (nb_conv_desc.direct_bwf, src/ukernel_convdirect.h).
 *
 * Why: the column-matrix path builds the stem's im2col (49/4 times the
 * image) and packs it again into B panels: a quarter of its time on
 * AVX-512, where the GEMM itself ran at the tile's speed. Here the image
 * is copied once into column-phase planes (the forward direct path's,
 * src/conv_direct.c) and each KC block of dy is transposed to pixel-major
 * rows (the ISA's transpose, into the thread's scratch, where the tiles
 * read it from cache); the tile then reads both in place:
 *   dw^T[(c, r, s)][k] = sum over pixels j of x[c](row(j) + r, col(j) + s) dy[k][j]
 * for 7 taps s of one (c, r) and 64 filters k at a time.
 *
 * Bits: the pixels run in KC blocks of the SGEMM's KC from each image's
 * first pixel, each block one FMA chain from 0 per element, added to the
 * sum so far (stored for the first block of the first image): exactly the
 * SGEMM of the column-matrix path (dw (+)= dy col^T per image), so the
 * path gives that path's bits. Threads take runs of KC blocks; the run
 * that starts an image adds its blocks onto the sum in order, the others
 * keep each block's sums apart and they are added in block order after:
 * the same adds in the same order on any thread count.
 *
 * Tried and not kept (session 15, Zen 4): dbias's row sums taken block by
 * block right after each block's transpose (dy's rows then in L2; a
 * steps-only rowsum kernel, the tail in C, same bits) instead of the
 * separate pass: 3.3 -> 2.5 % of the stem's time in perf, no gain
 * side by side (2.41 against 2.41 ms). The sum is bound by its widenings
 * (vcvtps2pd, ~8 cycles a 32-float step in or out of cache), not by
 * reading dy; it would pay only under the tile's FMAs, whose 32 zmm
 * leave it no register.
 */
#include <stdint.h>
#include <string.h>

#include "conv_internal.h"
#include "internal.h"
#include "parallel.h"
#include "scratch.h"

#define TAPS 7   /* taps s of a tile */
#define KB 64    /* filters of a tile */

typedef struct {
    const nb_conv_desc *cd;
    const nb_conv2d_desc *d;
    const nb_conv_geom *g;
    nb_conv_planes pl;
    int64_t kc, nblk, sblocks, kblocks, kp, tiles, tile_f;
    const float *dy;     /* this image's dy (K x PQ) */
    const float *planes; /* this image's phase planes */
    float *sum;          /* tiles x TAPS x KB: dw^T so far */
    float *blk;          /* nblk x the same: sums of the blocks of later runs */
    float *kept;         /* nblk flags: block b's sums are in blk (1) */
    int first;           /* the first image */
} bwf_ctx;

static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* Tile u: kernel row cr = (channel, r), taps [s0, s0 + taps), filters
   [k0, k0 + kn). */
typedef struct { int64_t cr, s0, taps, k0, kn; } bwf_tile;

static bwf_tile tile_of(const bwf_ctx *c, int64_t u) {
    bwf_tile t;
    const int64_t kb = u % c->kblocks, sb = u / c->kblocks % c->sblocks;
    t.cr = u / c->kblocks / c->sblocks;
    t.s0 = sb * TAPS;
    t.taps = c->d->s - t.s0 < TAPS ? c->d->s - t.s0 : TAPS;
    t.k0 = kb * KB;
    t.kn = c->g->kg - t.k0 < KB ? c->g->kg - t.k0 : KB;
    return t;
}

/* Few channels, one group, dilation 1, stride_w 1 or 2, many taps (the
   forward direct path's rule without its pixel-group condition); a
   function of the shape and the ISA only. */
static int applies(const nb_conv_desc *cd, const nb_conv2d_desc *d, const nb_conv_geom *g) {
    const nb_gemm_desc *gd = cd->sgemm_desc ? cd->sgemm_desc : cd->gemm;
    return cd->direct_bwf && cd->transpose32 && gd && g->G == 1 && g->cg <= 4 && g->L >= 27 &&
           d->dilation_h == 1 && d->dilation_w == 1 && d->stride_w <= 2 && g->PQ >= 1 &&
           g->kg <= (1 << 20);
}

/* Every tile over pixels [j0, j0 + nj) (one KC block), dy's block
   transposed at dyt; into out (add: onto it). (Prefetching the next
   block's dy rows a share before each tile was slower: 1.82-1.91 against
   1.76-1.79 ms for the stem. So was transposing the next block a share
   between the tiles into a second buffer, on Zen 4: 2.33 -> 2.41 ms.) */
static void block_tiles(const bwf_ctx *c, int64_t j0, int64_t nj, const float *dyt, float *out,
                        int add) {
    const nb_conv2d_desc *d = c->d;
    const nb_conv_geom *g = c->g;
    const int64_t p0 = j0 / g->Q, q0 = j0 % g->Q, xrow = d->stride_h * c->pl.wq;
    for (int64_t u = 0; u < c->tiles; u++) {
        const bwf_tile tl = tile_of(c, u);
        const int64_t ch = tl.cr / d->r, r = tl.cr % d->r;
        const float *xs[TAPS];
        for (int64_t t = 0; t < tl.taps; t++) {
            const int64_t s = tl.s0 + t;
            xs[t] = c->planes + s % d->stride_w * c->pl.plane +
                    (ch * c->pl.hp + p0 * d->stride_h + r) * c->pl.wq + s / d->stride_w;
        }
        c->cd->direct_bwf((size_t)tl.taps, (size_t)tl.kn, (size_t)nj, (size_t)q0, (size_t)g->Q, xs,
                          xrow, dyt + tl.k0, c->kp, out + u * c->tile_f, add);
    }
}

/* KC blocks [lo, hi) of the image: each block's dy transposed into this
   thread's scratch, then every tile. The run from block 0 sums into
   c->sum (stored for the first image's first block), the others keep
   each block apart in c->blk. 1 on OOM (nothing written to dw). */
static int blocks_body(void *ctx, int64_t lo, int64_t hi) {
    const bwf_ctx *c = ctx;
    int owned;
    float *dyt = nb_scratch(NB_SCRATCH_CONV_WT, (size_t)(c->kc * c->kp) * sizeof(float), &owned);
    if (!dyt) return 1;
    for (int64_t b = lo; b < hi; b++) {
        const int64_t j0 = b * c->kc, nj = c->kc < c->g->PQ - j0 ? c->kc : c->g->PQ - j0;
        c->cd->transpose32(nj, c->g->kg, c->dy + j0, c->g->PQ, dyt, c->kp, 0);
        if (lo == 0)
            block_tiles(c, j0, nj, dyt, c->sum, !(c->first && b == 0));
        else {
            block_tiles(c, j0, nj, dyt, c->blk + b * c->tiles * c->tile_f, 0);
            c->kept[b] = 1.0f;
        }
    }
    nb_scratch_done(dyt, owned);
    return 0;
}

/* The blocks of the runs after the first, in block order, onto the sum. */
static void add_blocks(const bwf_ctx *c) {
    const int64_t n = c->tiles * c->tile_f;
    for (int64_t b = 0; b < c->nblk; b++) {
        if (c->kept[b] == 0.0f) continue;
        const float *src = c->blk + b * n;
        for (int64_t i = 0; i < n; i++) c->sum[i] += src[i];
    }
}

/* dw[k][(ch, r, s)] from the tiles' dw^T. */
static void scatter(const bwf_ctx *c, float *dw) {
    for (int64_t u = 0; u < c->tiles; u++) {
        const bwf_tile tl = tile_of(c, u);
        for (int64_t k = 0; k < tl.kn; k++)
            for (int64_t t = 0; t < tl.taps; t++)
                dw[(tl.k0 + k) * c->g->L + tl.cr * c->d->s + tl.s0 + t] =
                    c->sum[u * c->tile_f + t * KB + k];
    }
}

int nb_conv_direct_backward_filter(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                   const nb_conv_geom *g, const float *x, const float *dy,
                                   float *dw, nb_status *st) {
    if (!applies(cd, d, g)) return 0;
    bwf_ctx c = {.cd = cd, .d = d, .g = g, .pl = nb_conv_planes_of(d, g)};
    const nb_gemm_desc *gd = cd->sgemm_desc ? cd->sgemm_desc : cd->gemm;
    c.kc = gd->kc;
    c.nblk = cdiv(g->PQ, c.kc);
    c.sblocks = cdiv(d->s, TAPS);
    c.kblocks = cdiv(g->kg, KB);
    c.kp = cdiv(g->kg, 16) * 16;
    c.tiles = g->cg * d->r * c.sblocks * c.kblocks;
    c.tile_f = TAPS * KB;
    int64_t mnk;
    if (!nb_mul_ok(g->kg * g->L, g->PQ * d->n, &mnk)) mnk = INT64_MAX;
    int nt = nb_threads_for(mnk, cd->min_mnk_per_thread);
    if (nt > c.nblk) nt = (int)c.nblk;
    const int64_t planes_f = cdiv(d->stride_w * c.pl.plane, 16) * 16 + 16;
    const int64_t sum_f = c.tiles * c.tile_f, blk_f = nt > 1 ? c.nblk * (sum_f + 1) : 0;
    int owned = 0;
    float *buf = nb_conv_scratch_floats(NB_SCRATCH_CONV_TASKS, 1, 1, planes_f + sum_f + blk_f, &owned);
    *st = NB_OK;
    /* Every thread's dy block first, so that no pass fails half way. */
    if (!buf || !nb_scratch_reserve(NB_SCRATCH_CONV_WT, (size_t)(c.kc * c.kp) * sizeof(float))) {
        nb_scratch_done(buf, owned);
        *st = NB_ERR_OOM;
        return 1;
    }
    float *planes = buf;
    c.planes = planes;
    c.sum = buf + planes_f;
    c.blk = c.sum + sum_f;
    c.kept = c.blk + c.nblk * sum_f;
    for (int64_t n = 0; n < d->n && *st == NB_OK; n++) {
        nb_conv_fill_planes(cd, d, g, &c.pl, x + n * d->c * g->HW, planes);
        c.dy = dy + n * d->k * g->PQ;
        c.first = n == 0;
        if (nt > 1) memset(c.kept, 0, (size_t)c.nblk * sizeof *c.kept);
        if (nb_parallel_chunks(nt, c.nblk, 1, blocks_body, &c)) *st = NB_ERR_OOM;
        else if (nt > 1) add_blocks(&c);
    }
    if (*st == NB_OK) scatter(&c, dw);
    nb_scratch_done(buf, owned);
    return 1;
}
