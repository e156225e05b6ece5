/* Convolution backward-filter on the im2col + GEMM path (see conv_driver.h
 * for the formulation and the bit-reproducibility rules): dw[g] is the sum
 * over images, in order, of dy[n,g] im2col(x[n,g])^T.
 */
#include <stdlib.h>
#include <string.h>

#include "conv_bwd_filter.h"
#include "conv_driver.h"
#include "conv_internal.h"
#include "internal.h"
#include "parallel.h"
#include "scratch.h"

/* ---- backward-filter ---- */

typedef struct {
    const nb_conv_desc *cd;
    const nb_conv2d_desc *d;
    nb_conv_geom g;
    int64_t nb;   /* pixels per column block: a multiple of the GEMM's KC, or PQ;
                     the batched path: images per GEMM */
    const float *x, *dy;
    float *dw;
    int dwt;      /* 1: the transposed form (filter_block) */
    double *bpart;   /* NULL, or dbias's row sums: n K (bias_rows) */
    int64_t parts;   /* row parts of a group's GEMMs (tasks: groups x parts; filter_parts) */
} bwd_filter_ctx;

/* dbias (the bits of every path): dbias[k] = sum over images n, in order,
   of rowsum(dy[n, k]) in a double from 0 (nearly exact). The row sums of
   an image are taken where a path has just read its dy (bias_rows, into
   part[n K + k]: c64 56x56 k256 1x1, 8 images: the separate pass re-read
   25 MiB of dy from memory, 13 % of the call), or by bias_grad; both call
   the same rowsum on the same rows and add in image order. */
static int64_t bias_min_floats(void) { return (int64_t)1 << 16; }

typedef struct {
    const nb_conv_desc *cd;
    const nb_conv2d_desc *d;
    int64_t PQ, n, k0;   /* n < 0: every image (bias_grad); k0: the first filter */
    const float *dy;
    double *part;        /* NULL: from dy (bias_grad) */
    float *dbias;
} bias_ctx;

static int bias_body(void *ctx, int64_t lo, int64_t hi) {
    const bias_ctx *b = ctx;
    const int64_t K = b->d->k;
    for (int64_t k = b->k0 + lo; k < b->k0 + hi; k++) {
        if (b->n >= 0) {
            b->part[b->n * K + k] = b->cd->rowsum(b->PQ, b->dy + (b->n * K + k) * b->PQ);
            continue;
        }
        double acc = 0;
        for (int64_t n = 0; n < b->d->n; n++)
            acc += b->part ? b->part[n * K + k] : b->cd->rowsum(b->PQ, b->dy + (n * K + k) * b->PQ);
        b->dbias[k] = (float)acc;
    }
    return 0;
}

/* part[n K + k] for filters [k0, k1) of image n, the threads splitting the
   rows (one thread inside a parallel region). */
static void bias_rows(const nb_conv_desc *cd, const nb_conv2d_desc *d, int64_t PQ, const float *dy,
                      int64_t n, int64_t k0, int64_t k1, double *part) {
    bias_ctx b = {cd, d, PQ, n, k0, dy, part, NULL};
    nb_parallel_chunks(nb_threads_for((k1 - k0) * PQ, bias_min_floats()), k1 - k0, 1, bias_body, &b);
}

/* Pixels per column block of backward-filter: about col_floats / L (the
   block stays in L2 between im2col and the GEMM that packs it, instead of
   a whole image's column matrix going out to memory and back), rounded to
   a multiple of the GEMM's KC. The GEMM cuts its K (the pixels) into KC
   blocks from the start of each call, so block boundaries at multiples of
   KC keep the KC blocks of the whole-image GEMM, and every dw element gets
   the same FMA sequence, hence the same bits, as one GEMM over the image.
   A function of the shape and the ISA only. */
static int64_t filter_block_cols(const nb_conv_desc *cd, int64_t L, int64_t PQ) {
    const nb_gemm_desc *gd = cd->sgemm_desc ? cd->sgemm_desc : cd->gemm;
    if (!gd) return PQ;
    const int64_t kc = gd->kc;
    int64_t nb = cd->col_floats / L / kc * kc;
    if (nb < kc) nb = kc;
    return nb < PQ ? nb : PQ;
}

/* One column block's share of dw[g]: dy[n,g][:, block] (kg x nj) times
   B^T, B = the block's column matrix (L x nj, ldb). Plain:
     dw[g] (kg x L) (+)= dy block  B^T.
   Transposed, on ISAs whose SGEMM reads A in place (ukernel_adirect) for
   N = kg <= adirect_max_n (filter_transposed):
     dwT[g] (L x kg) (+)= B  dy block^T;
   A is the column block itself, read where im2col wrote it (no packing),
   and the small dy block is the packed B (64 or 128 channels: 2-4 panels).
   The plain form packed col transposed into B panels (reading 32 rows at
   once) and had kg rows of MR-row tiles (64 of 70 used); transposed the L
   taps are the rows (576 of 588). Every dw element still gets one FMA
   chain per KC block of pixels in order, then C += acc: the same bits in
   either form (and as one GEMM over the image). */
static nb_status filter_block(const bwd_filter_ctx *c, const float *dyb, const float *B,
                              int64_t ldb, int64_t nj, float beta, float *dwg, int64_t r0, int64_t r1) {
    const nb_conv_geom *g = &c->g;
    if (!c->dwt)
        return c->cd->sgemm(0, 1, r1 - r0, g->L, nj, 1.0f, dyb + r0 * g->PQ, g->PQ, B, ldb, beta,
                            dwg + r0 * g->L, g->L);
    return c->cd->sgemm(0, 1, r1 - r0, g->kg, nj, 1.0f, B + r0 * ldb, ldb, dyb, g->PQ, beta,
                        dwg + r0 * g->kg, g->kg);
}

/* Rows [r0, r1) of part p of a group's GEMMs (filters, or the taps in the
   transposed form), in whole MR-row tiles. */
static void part_rows(const bwd_filter_ctx *c, int64_t p, int64_t *r0, int64_t *r1) {
    const nb_gemm_desc *gd = c->cd->sgemm_desc ? c->cd->sgemm_desc : c->cd->gemm;
    const int64_t rows = c->dwt ? c->g.L : c->g.kg, mr = gd ? gd->mr : 1, tiles = (rows + mr - 1) / mr;
    *r0 = tiles * p / c->parts * mr;
    *r1 = p + 1 == c->parts ? rows : tiles * (p + 1) / c->parts * mr;
    if (*r0 > rows) *r0 = rows;
    if (*r1 > rows) *r1 = rows;
}

/* dw[g] for one group: the images in order, each in column blocks of nb
   pixels, beta = 0 for the first block of the first image. Transposed: the
   blocks go to dwT[g] (after the column block in the task's scratch), and
   dw[g] = dwT[g]^T at the end (the ISA's transpose). */
static nb_status bwd_filter_task(const void *ctx, int64_t task, float *col) {
    const bwd_filter_ctx *c = ctx;
    const nb_conv_geom *g = &c->g;
    const int64_t gi = task / c->parts, p = task % c->parts;
    int64_t r0, r1, b0, b1;   /* the GEMM rows; the filters of the bias row sums */
    part_rows(c, p, &r0, &r1);
    nb_parallel_share(g->kg, (int)p, (int)c->parts, &b0, &b1);
    float *dwg = c->dw + gi * g->kg * g->L;
    float *dwt = c->dwt ? col + (g->pointwise ? 0 : g->L * c->nb) : NULL;
    for (int64_t n = 0; n < c->d->n; n++) {
        const float *xg = c->x + (n * c->d->c + gi * g->cg) * g->HW;
        const float *dyg = c->dy + (n * c->d->k + gi * g->kg) * g->PQ;
        for (int64_t j0 = 0; j0 < g->PQ; j0 += c->nb) {
            const int64_t nj = c->nb < g->PQ - j0 ? c->nb : g->PQ - j0;
            int64_t ldb;
            const float *B = nb_conv_col_block(c->cd, c->d, g, j0, nj, xg, col, &ldb);
            const nb_status s = filter_block(c, dyg + j0, B, ldb, nj,
                                             n == 0 && j0 == 0 ? 0.0f : 1.0f, dwt ? dwt : dwg, r0, r1);
            if (s != NB_OK) return s;
        }
        if (c->bpart) bias_rows(c->cd, c->d, g->PQ, c->dy, n, gi * g->kg + b0, gi * g->kg + b1, c->bpart);
    }
    if (dwt && r1 > r0) c->cd->transpose32(g->kg, r1 - r0, dwt + r0 * g->kg, g->kg, dwg + r0, g->L, 0);
    return NB_OK;
}

/* Images smaller than a KC block (a few pixels each: an 8x8 image has 64):
   one GEMM per image is a GEMM of depth PQ that reads and writes all of
   dw[g] for a few multiply-adds per element (the CNN step's 4x4 layer:
   16 deep). Instead `ni` images at a time (c->nb of them) go into one
   column block, side by side (image i at column i PQ), and one GEMM of
   depth ni PQ adds them up, computed transposed:
     dwT[g] (L x kg) (+)= col (L x ni PQ) dyT (ni PQ x kg)
   with dy gathered transposed (row i PQ + j holds pixel j of image i, all
   kg channels): both operands are then packed by the GEMM's plain
   (non-transposed) packers, and its rows are the L taps (a few filter
   rows kg would leave most of the MR-row tiles empty). dw[g] = dwT[g]^T
   at the end. ni depends only on the shape, so the bits do not depend on
   the threads (tasks are still groups). Scratch: col, dyT, dwT. */
static nb_status bwd_filter_batched_task(const void *ctx, int64_t gi, float *col) {
    const bwd_filter_ctx *c = ctx;
    const nb_conv_geom *g = &c->g;
    const int64_t kg = g->kg, L = g->L, PQ = g->PQ, ldmax = c->nb * PQ;
    float *dyt = col + L * ldmax, *dwt = dyt + ldmax * kg;
    for (int64_t n0 = 0; n0 < c->d->n; n0 += c->nb) {
        const int64_t ni = c->nb < c->d->n - n0 ? c->nb : c->d->n - n0, ld = ni * PQ;
        for (int64_t i = 0; i < ni; i++) {
            const int64_t n = n0 + i;
            nb_conv_im2col_split(c->cd, c->d, g, 0, PQ, c->x + (n * c->d->c + gi * g->cg) * g->HW, col + i * PQ, ld);
            const float *dyg = c->dy + (n * c->d->k + gi * kg) * PQ;
            for (int64_t j = 0; j < PQ; j++)
                for (int64_t k = 0; k < kg; k++) dyt[(i * PQ + j) * kg + k] = dyg[k * PQ + j];
            if (c->bpart) bias_rows(c->cd, c->d, PQ, c->dy, n, gi * kg, (gi + 1) * kg, c->bpart);
        }
        const nb_status s = c->cd->sgemm(0, 0, L, kg, ld, 1.0f, col, ld, dyt, kg, n0 == 0 ? 0.0f : 1.0f, dwt, kg);
        if (s != NB_OK) return s;
    }
    float *dwg = c->dw + gi * kg * L;
    for (int64_t k = 0; k < kg; k++)
        for (int64_t l = 0; l < L; l++) dwg[k * L + l] = dwt[l * kg + k];
    return NB_OK;
}

/* Images per batched backward-filter GEMM (above), 0 for the per-image
   path: images of fewer pixels than a KC block, as many as fill about
   col_floats with their columns and dy rows. */
static int64_t filter_batch_images(const nb_conv_desc *cd, const nb_conv2d_desc *d, const nb_conv_geom *g) {
    const nb_gemm_desc *gd = cd->sgemm_desc ? cd->sgemm_desc : cd->gemm;
    if (!gd || g->pointwise || d->n < 2 || g->PQ >= gd->kc) return 0;
    int64_t per;   /* floats of one image's columns and dy rows */
    if (!nb_mul_ok(g->L + g->kg, g->PQ, &per)) return 0;
    const int64_t ni = cd->col_floats / per;
    if (ni < 2) return 0;
    return ni < d->n ? ni : d->n;
}

/* The transposed form of the per-image path (filter_block) where the SGEMM reads
   A in place for all kg filters at once and the ISA has a transpose. More
   filters would need column chunks, each reading the column block again:
   c256 14x14 k256 ran at 0.56x oneDNN that way, 0.77x plain (one session). A
   function of the ISA and the shape only; the bits are the plain path's.
   On several threads too: its GEMM (N = kg, one or two panels) used to
   split rows with two barriers every KC block and ran only where the GEMMs
   were single-threaded; with the SGEMM's private B panels (gemm_driver.c)
   it scales better than the plain form (2 threads, idle, alternating runs:
   1x1 c256 56x56 k64 0.458-0.486 -> 0.436-0.454 ms, the stem 1.92-1.97 ->
   1.76-1.83 ms, the other layers unchanged). */
static int filter_transposed(const nb_conv_desc *cd, const nb_conv_geom *g) {
    const nb_gemm_desc *gd = cd->sgemm_desc;
    return gd && gd->ukernel_adirect && g->kg <= gd->adirect_max_n && cd->transpose32;
}

/* dbias (NULL: none) from part (the row sums of every image) or, part
   NULL, from dy; the threads split the filters. */
static void bias_grad(const nb_conv_desc *cd, const nb_conv2d_desc *d, const nb_conv_geom *g,
                      const float *dy, const double *part, float *dbias) {
    if (!dbias) return;
    bias_ctx b = {cd, d, g->PQ, -1, 0, dy, (double *)part, dbias};
    const int nt = nb_threads_for(part ? 0 : d->n * d->k * g->PQ, bias_min_floats());
    nb_parallel_chunks(nt, d->k, 1, bias_body, &b);
}

nb_status nb_conv_backward_filter_run(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                      const float *x, const float *dy, float *dw, float *dbias) {
    if (nb_conv_use_depthwise(cd, d))
        return nb_conv_depthwise_backward_filter(cd, d, x, dy, dw, dbias);
    bwd_filter_ctx c = {cd, d, nb_conv_geom_of(d), 0, x, dy, dw, 0, NULL, 1};
    nb_status st;
    if (nb_conv_winograd_backward_filter(cd, d, x, dy, dw, &st)) {
        if (st == NB_OK) bias_grad(cd, d, &c.g, dy, NULL, dbias);
        return st;
    }
    if (nb_conv_bwd_filter_rows_applies(cd, d, &c.g)) {
        int ran;
        st = nb_conv_bwd_filter_rows(cd, d, &c.g, x, dy, dw, &ran);
        if (st != NB_OK) return st;
        if (ran) {
            bias_grad(cd, d, &c.g, dy, NULL, dbias);
            return NB_OK;
        }
    }
    if (nb_conv_bwd_filter_narrow_applies(cd, &c.g)) {
        st = nb_conv_bwd_filter_narrow(cd, d, &c.g, x, dy, dw);
        if (st == NB_OK) bias_grad(cd, d, &c.g, dy, NULL, dbias);
        return st;
    }
    const int64_t ni = filter_batch_images(cd, d, &c.g);
    if (!ni && nb_conv_direct_backward_filter(cd, d, &c.g, x, dy, dw, &st)) {
        if (st == NB_OK) bias_grad(cd, d, &c.g, dy, NULL, dbias);
        return st;
    }
    c.nb = ni ? ni : filter_block_cols(cd, c.g.L, c.g.PQ);
    int bowned = 0;
    if (dbias && !(c.bpart = (double *)nb_conv_scratch_floats(NB_SCRATCH_CONV_FILTERS, 2, d->n, d->k, &bowned)))
        return NB_ERR_OOM;
    int64_t tasks = c.g.G;
    int nt = nb_conv_task_threads(cd, tasks, d, &c.g);
    if (!ni && c.g.pointwise) {
        /* Fewer groups than threads (a plain 1x1 layer: one): the threads
           split each group's GEMM rows (filter_parts) for the whole call,
           instead of a threaded SGEMM per column block (a team, a plan
           and a split of M = 256 or N = 64 every 384 pixels). A GEMM
           row's bits do not depend on the rows around it. x is read in
           place (no column block to share between the parts). */
        int64_t mnk;
        if (!nb_mul_ok(d->n * d->k * c.g.PQ, c.g.L, &mnk)) mnk = INT64_MAX;
        const int nw = nb_threads_for(mnk, cd->min_mnk_per_thread);
        /* at most one part a row tile (the smaller of the GEMM's row counts) */
        const nb_gemm_desc *gd = cd->sgemm_desc ? cd->sgemm_desc : cd->gemm;
        const int64_t mr = gd ? gd->mr : 1, rows = c.g.kg < c.g.L ? c.g.kg : c.g.L;
        const int64_t tiles = (rows + mr - 1) / mr;
        if (nw > 1 && tasks < nw && tiles > 1) {
            c.parts = nw < tiles ? nw : tiles;
            tasks *= c.parts;
            nt = tasks < nw ? (int)tasks : nw;
        }
    }
    const nb_conv_gemm_shape gemm = ni ? (nb_conv_gemm_shape){0, 0, c.g.L, c.g.kg, ni * c.g.PQ}
                                       : (nb_conv_gemm_shape){0, 1, c.g.kg, c.g.L, c.nb};
    /* The batched path's scratch: col and dyT (L + kg rows of ni PQ), then
       dwT (L kg floats, in whole rows of ni PQ). */
    const int64_t ld = ni * c.g.PQ, rows = c.g.L + c.g.kg + (ni ? (c.g.L * c.g.kg + ld - 1) / ld : 0);
    if (ni) {
        st = nb_conv_run_tasks(cd, nt, tasks, rows, ld, 1, &gemm, bwd_filter_batched_task, &c);
    } else if (filter_transposed(cd, &c.g)) {
        /* col (L rows of nb; none for pointwise), then dwT in whole rows. */
        c.dwt = 1;
        const nb_conv_gemm_shape tg = {0, 1, c.g.L, c.g.kg, c.nb};
        const int64_t trows = (c.g.pointwise ? 0 : c.g.L) + (c.g.L * c.g.kg + c.nb - 1) / c.nb;
        st = nb_conv_run_tasks(cd, nt, tasks, trows, c.nb, 1, &tg, bwd_filter_task, &c);
    } else {
        st = nb_conv_run_tasks(cd, nt, tasks, c.g.L, c.nb, !c.g.pointwise, &gemm, bwd_filter_task, &c);
    }
    if (st == NB_OK) bias_grad(cd, d, &c.g, dy, c.bpart, dbias);
    nb_scratch_done(c.bpart, bowned);
    return st;
}
