/* The portable im2col + GEMM convolution driver: loops, scratch, threads.
 * See conv_driver.h for the formulation and the bit-reproducibility rules.
 *
 * Arguments were validated by src/api_conv.c and every dim is >= 1 here (the
 * degenerate shapes go to the reference backend). All the working memory of
 * a pass (packed filters, plans, column blocks, and on each thread the
 * packing buffer of the SGEMMs its tasks call, reserved in the GEMM's
 * scratch slot) is taken before any output is written: NB_ERR_OOM then
 * leaves the outputs untouched.
 */
#include <stdlib.h>
#include <string.h>

#include "conv_driver.h"
#include "conv_internal.h"
#include "internal.h"
#include "parallel.h"
#include "scratch.h"

/* Output pixels per column block: about col_floats / L, a multiple of 16
   (the AVX2 GEMM's NR), at least min_block, at most PQ. A function of the
   shape only (never of the thread count): it fixes col2im's add order. */
static int64_t block_cols(const nb_conv_desc *cd, int64_t L, int64_t PQ) {
    int64_t nb = cd->col_floats / L;
    nb -= nb % 16;
    if (nb < cd->min_block) nb = cd->min_block;
    return nb < PQ ? nb : PQ;
}

/* The ISA's SGEMM with alpha = 1. Inside this driver's task loop (or a
   caller's parallel region) it runs on one thread: nb_threads_for() sees
   omp_in_parallel(), and the GEMM driver opens no barrier then. */
static nb_status sgemm_call(const nb_conv_desc *cd, int ta, int tb, int64_t M, int64_t N,
                            int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb,
                            float beta, float *C, int64_t ldc) {
    return cd->sgemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
}

/* im2col of pixels [j0, j0 + nj) and col2im, on this thread or, when this
   pass runs its tasks one after the other (too few to spread: the GEMMs
   take the threads) on several: im2col splits the pixels (each thread
   writes its own columns), col2im splits the channels (each thread adds
   into its own rows of dx, in the same order as one thread would). */
typedef struct {
    const nb_conv_desc *cd;
    const nb_conv2d_desc *d;
    const nb_conv_geom *g;
    int64_t j0, nj, ldcol;
    const float *xg;   /* im2col: from */
    float *col;        /* im2col: to */
    const float *cin;  /* col2im: from */
    float *dxg;        /* col2im: to */
} split_run;

/* im2col: member t writes its own columns. */
static void im2col_member(void *ctx, int tid, int nt) {
    const split_run *r = ctx;
    int64_t a, b;
    nb_parallel_share(r->nj, tid, nt, &a, &b);
    r->cd->im2col(r->d, r->g->cg, r->g->P, r->g->Q, r->j0 + a, b - a, r->xg, r->col + a, r->ldcol);
}

/* col2im: member t adds into its own channels of dx. */
static void col2im_member(void *ctx, int tid, int nt) {
    const split_run *r = ctx;
    const nb_conv_geom *g = r->g;
    const int64_t RS = r->d->r * r->d->s;
    int64_t c0, c1;
    nb_parallel_share(g->cg, tid, nt, &c0, &c1);
    r->cd->col2im(r->d, c1 - c0, g->P, g->Q, r->j0, r->nj, r->cin + c0 * RS * r->ldcol, r->ldcol,
                  r->dxg + c0 * g->HW);
}

static void im2col_split(const nb_conv_desc *cd, const nb_conv2d_desc *d, const nb_conv_geom *g,
                         int64_t j0, int64_t nj, const float *xg, float *col, int64_t ldcol) {
    int64_t work;
    if (!nb_mul_ok(g->L, nj, &work)) work = INT64_MAX;
    const int nt = nj >= 64 ? nb_threads_for(work, cd->min_mnk_per_thread) : 1;
    if (nt <= 1) {
        cd->im2col(d, g->cg, g->P, g->Q, j0, nj, xg, col, ldcol);
        return;
    }
    split_run r = {cd, d, g, j0, nj, ldcol, xg, col, NULL, NULL};
    nb_parallel_team(nt, im2col_member, &r);
}

static void col2im_split(const nb_conv_desc *cd, const nb_conv2d_desc *d, const nb_conv_geom *g,
                         int64_t j0, int64_t nj, const float *col, int64_t ldcol, float *dxg) {
    int64_t work;
    if (!nb_mul_ok(g->L, nj, &work)) work = INT64_MAX;
    int nt = nb_threads_for(work, cd->min_mnk_per_thread);
    if (nt > g->cg) nt = (int)g->cg;
    if (nt <= 1) {
        cd->col2im(d, g->cg, g->P, g->Q, j0, nj, col, ldcol, dxg);
        return;
    }
    split_run r = {cd, d, g, j0, nj, ldcol, NULL, NULL, col, dxg};
    nb_parallel_team(nt, col2im_member, &r);
}

/* ---- forward ---- */

typedef struct {
    const nb_conv_desc *cd;
    const nb_conv2d_desc *d;
    nb_conv_geom g;
    int64_t nb, nblk;
    const float *x, *w, *bias;
    float *y;
} fwd_ctx;


static nb_status fwd_task(const void *ctx, int64_t t, float *col) {
    const fwd_ctx *c = ctx;
    const nb_conv_geom *g = &c->g;
    const int64_t unit = t / c->nblk, blk = t % c->nblk;
    const int64_t n = unit / g->G, gi = unit % g->G;
    const int64_t j0 = blk * c->nb, nj = c->nb < g->PQ - j0 ? c->nb : g->PQ - j0;
    const float *xg = c->x + (n * c->d->c + gi * g->cg) * g->HW;
    float *yg = c->y + (n * c->d->k + gi * g->kg) * g->PQ + j0;
    const float *B = xg + j0;
    int64_t ldb = g->HW;
    if (!g->pointwise) {
        im2col_split(c->cd, c->d, g, j0, nj, xg, col, nj);
        B = col;
        ldb = nj;
    }
    float beta = 0.0f;
    if (c->bias) {   /* y starts at the bias; the GEMM adds to it (beta = 1) */
        for (int64_t k = 0; k < g->kg; k++) c->cd->fill(nj, c->bias[gi * g->kg + k], yg + k * g->PQ);
        beta = 1.0f;
    }
    return sgemm_call(c->cd, 0, 0, g->kg, nj, g->L, c->w + gi * g->kg * g->L, g->L, B, ldb, beta,
                      yg, g->PQ);
}

nb_status nb_conv_forward_gemm(const nb_conv_desc *cd, const nb_conv2d_desc *d, const float *x,
                               const float *w, const float *bias, float *y) {
    fwd_ctx c = {cd, d, nb_conv_geom_of(d), 0, 0, x, w, bias, y};
    if (nb_conv_use_pointwise(cd, &c.g, c.g.kg)) return nb_conv_pointwise_forward(cd, d, x, w, bias, y);
    if (nb_conv_use_direct(cd, d, &c.g)) return nb_conv_direct_forward(cd, d, x, w, bias, y);
    if (nb_conv_use_implicit(cd, d, &c.g)) return nb_conv_forward_implicit(cd, d, x, w, bias, y);
    c.nb = c.g.pointwise ? c.g.PQ : block_cols(cd, c.g.L, c.g.PQ);
    c.nblk = (c.g.PQ + c.nb - 1) / c.nb;
    const int64_t tasks = d->n * c.g.G * c.nblk;
    const int nt = nb_conv_task_threads(cd, tasks, d, &c.g);
    const nb_conv_gemm_shape gemm = {0, 0, c.g.kg, c.nb, c.g.L};
    return nb_conv_run_tasks(cd, nt, tasks, c.g.L, c.nb, !c.g.pointwise, &gemm, fwd_task, &c);
}

/* ---- backward-data ---- */

typedef struct {
    const nb_conv_desc *cd;
    const nb_conv2d_desc *d;
    nb_conv_geom g;
    int64_t nb;
    const float *dy, *w;
    float *dx;
    const float *wt;   /* NULL, or w[g]^T of every group (L x kg each) */
} bwd_data_ctx;

static nb_status bwd_data_task(const void *ctx, int64_t unit, float *col) {
    const bwd_data_ctx *c = ctx;
    const nb_conv_geom *g = &c->g;
    const int64_t n = unit / g->G, gi = unit % g->G;
    const float *dyg = c->dy + (n * c->d->k + gi * g->kg) * g->PQ;
    const float *wg = c->w + gi * g->kg * g->L;
    float *dxg = c->dx + (n * c->d->c + gi * g->cg) * g->HW;
    /* w[g] is stored kg x L: op(A) = w[g]^T is L x kg (lda = L). */
    if (g->pointwise)
        return sgemm_call(c->cd, 1, 0, g->cg, g->HW, g->kg, wg, g->L, dyg, g->PQ, 0.0f, dxg, g->HW);
    /* wt: the same A stored transposed (row-major L x kg), read in place. */
    const int ta = c->wt ? 0 : 1;
    const float *ag = c->wt ? c->wt + gi * g->kg * g->L : wg;
    const int64_t lda = c->wt ? g->kg : g->L;
    c->cd->fill(g->cg * g->HW, 0.0f, dxg);
    for (int64_t j0 = 0; j0 < g->PQ; j0 += c->nb) {
        const int64_t nj = c->nb < g->PQ - j0 ? c->nb : g->PQ - j0;
        const nb_status s = sgemm_call(c->cd, ta, 0, g->L, nj, g->kg, ag, lda, dyg + j0, g->PQ,
                                       0.0f, col, nj);
        if (s != NB_OK) return s;
        col2im_split(c->cd, c->d, g, j0, nj, col, nj, dxg);
    }
    return NB_OK;
}

/* Stride 1 both ways: dx is the forward convolution of dy (K channels,
   P x Q) with the filters transposed (C/groups outputs per group from K/groups
   inputs) and rotated by 180 degrees, padded by dilation (R - 1) - pad:
     dx[c, ih, iw] = sum over k, r, s of dy[k, ih + pad_h - r dil_h, ...] w[k, c, r, s]
   and r' = R - 1 - r turns the row offset into ih - pad'_h + r' dil_h.
   That runs on the implicit-im2col forward path: no column block, no
   col2im (which adds every column element into dx one tap at a time). The
   sum per element is a GEMM's (KC blocks over (k, r', s')), so the bits do
   not depend on the thread count or the batch. The rotated filters take
   one extra copy of w. */
static int transposed_desc(const nb_conv2d_desc *d, const nb_conv_geom *g, nb_conv2d_desc *td) {
    if (d->stride_h != 1 || d->stride_w != 1 || g->pointwise) return 0;
    const int64_t ph = d->dilation_h * (d->r - 1) - d->pad_h;
    const int64_t pw = d->dilation_w * (d->s - 1) - d->pad_w;
    if (ph < 0 || pw < 0) return 0;   /* the forward pass crops: not a plain convolution */
    *td = (nb_conv2d_desc){.n = d->n, .c = d->k, .h = g->P, .w = g->Q, .k = d->c, .r = d->r,
                           .s = d->s, .stride_h = 1, .stride_w = 1, .pad_h = ph, .pad_w = pw,
                           .dilation_h = d->dilation_h, .dilation_w = d->dilation_w,
                           .groups = d->groups};
    return 1;
}

/* wt[g, c, k, R-1-r, S-1-s] = w[g, k, c, r, s]. A pass over w at about
   memory speed (~5% of a 256-channel 14x14 backward-data pass, whose
   filters are large for its few pixels; loop tiling and constant-size
   copies did not change that). */
static void rotate_filters(const nb_conv2d_desc *d, const nb_conv_geom *g, const float *w, float *wt) {
    const int64_t R = d->r, S = d->s, RS = R * S;
    for (int64_t gi = 0; gi < g->G; gi++)
        for (int64_t k = 0; k < g->kg; k++)
            for (int64_t c = 0; c < g->cg; c++) {
                const float *src = w + ((gi * g->kg + k) * g->cg + c) * RS;
                float *dst = wt + ((gi * g->cg + c) * g->kg + k) * RS;
                for (int64_t i = 0; i < RS; i++) dst[RS - 1 - i] = src[i];
            }
}

/* Column blocks narrow enough for the SGEMM to read A in place (N = nb
   <= adirect_max_n, K = kg >= adirect_min_k): then the filters are
   transposed once per call, so that A = w[g]^T is stored row-major and is
   not packed again for every block of every image (the 3x3 stride-2 c128
   layer packed its 1152 x 128 filters 7 times an image: 12 % of the
   pass). The same A values in the same order: the same bits. */
static int data_transposed(const nb_conv_desc *cd, const nb_conv_geom *g, int64_t nb) {
    const nb_gemm_desc *gd = cd->sgemm_desc;
    return gd && gd->ukernel_adirect && cd->transpose32 && nb <= gd->adirect_max_n &&
           g->kg >= gd->adirect_min_k;
}

nb_status nb_conv_backward_data_gemm(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                     const float *dy, const float *w, float *dx) {
    nb_conv2d_desc td;
    const nb_conv_geom g0 = nb_conv_geom_of(d);
    if (nb_conv_use_pointwise(cd, &g0, g0.cg)) return nb_conv_pointwise_backward_data(cd, d, dy, w, dx);
    if (transposed_desc(d, &g0, &td)) {
        const nb_conv_geom tg = nb_conv_geom_of(&td);
        if (nb_conv_use_implicit(cd, &td, &tg)) {
            int owned;
            float *wt = nb_conv_scratch_floats(NB_SCRATCH_CONV_WT, 1, d->k, g0.L, &owned);
            if (!wt) return NB_ERR_OOM;
            rotate_filters(d, &g0, w, wt);
            const nb_status st = nb_conv_forward_implicit(cd, &td, dy, wt, NULL, dx);
            nb_scratch_done(wt, owned);
            return st;
        }
    }
    bwd_data_ctx c = {cd, d, nb_conv_geom_of(d), 0, dy, w, dx, NULL};
    c.nb = c.g.pointwise ? c.g.PQ : block_cols(cd, c.g.L, c.g.PQ);
    const int64_t tasks = d->n * c.g.G;
    const int nt = nb_conv_task_threads(cd, tasks, d, &c.g);
    int owned = 0;
    float *wt = NULL;
    if (!c.g.pointwise && data_transposed(cd, &c.g, c.nb)) {
        wt = nb_conv_scratch_floats(NB_SCRATCH_CONV_WT, 1, d->k, c.g.L, &owned);
        if (!wt) return NB_ERR_OOM;
        for (int64_t gi = 0; gi < c.g.G; gi++)
            cd->transpose32(c.g.L, c.g.kg, w + gi * c.g.kg * c.g.L, c.g.L, wt + gi * c.g.kg * c.g.L,
                            c.g.kg, 0);
        c.wt = wt;
    }
    const nb_conv_gemm_shape gemm = c.g.pointwise ? (nb_conv_gemm_shape){1, 0, c.g.cg, c.g.HW, c.g.kg}
                                                  : (nb_conv_gemm_shape){!wt, 0, c.g.L, c.nb, c.g.kg};
    const int slices = nb_conv_bwd_data_slices(cd, d, &c.g, nt);   /* conv_bwd_data_sliced.c */
    const nb_status st =
        slices ? nb_conv_backward_data_sliced(cd, d, &c.g, slices, c.nb, dy, w, wt, dx)
               : nb_conv_run_tasks(cd, nt, tasks, c.g.L, c.nb, !c.g.pointwise, &gemm, bwd_data_task, &c);
    nb_scratch_done(wt, owned);
    return st;
}

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
} bwd_filter_ctx;

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
                              int64_t ldb, int64_t nj, float beta, float *dwg) {
    const nb_conv_geom *g = &c->g;
    if (!c->dwt) return sgemm_call(c->cd, 0, 1, g->kg, g->L, nj, dyb, g->PQ, B, ldb, beta, dwg, g->L);
    return sgemm_call(c->cd, 0, 1, g->L, g->kg, nj, B, ldb, dyb, g->PQ, beta, dwg, g->kg);
}

/* dw[g] for one group: the images in order, each in column blocks of nb
   pixels, beta = 0 for the first block of the first image. Transposed: the
   blocks go to dwT[g] (after the column block in the task's scratch), and
   dw[g] = dwT[g]^T at the end (the ISA's transpose). */
static nb_status bwd_filter_task(const void *ctx, int64_t gi, float *col) {
    const bwd_filter_ctx *c = ctx;
    const nb_conv_geom *g = &c->g;
    float *dwg = c->dw + gi * g->kg * g->L;
    float *dwt = c->dwt ? col + (g->pointwise ? 0 : g->L * c->nb) : NULL;
    for (int64_t n = 0; n < c->d->n; n++) {
        const float *xg = c->x + (n * c->d->c + gi * g->cg) * g->HW;
        const float *dyg = c->dy + (n * c->d->k + gi * g->kg) * g->PQ;
        for (int64_t j0 = 0; j0 < g->PQ; j0 += c->nb) {
            const int64_t nj = c->nb < g->PQ - j0 ? c->nb : g->PQ - j0;
            const float *B = xg + j0;
            int64_t ldb = g->PQ;
            if (!g->pointwise) {
                im2col_split(c->cd, c->d, g, j0, nj, xg, col, nj);
                B = col;
                ldb = nj;
            }
            const nb_status s = filter_block(c, dyg + j0, B, ldb, nj,
                                             n == 0 && j0 == 0 ? 0.0f : 1.0f, dwt ? dwt : dwg);
            if (s != NB_OK) return s;
        }
    }
    if (dwt) c->cd->transpose32(g->kg, g->L, dwt, g->kg, dwg, g->L, 0);
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
            im2col_split(c->cd, c->d, g, 0, PQ, c->x + (n * c->d->c + gi * g->cg) * g->HW, col + i * PQ, ld);
            const float *dyg = c->dy + (n * c->d->k + gi * kg) * PQ;
            for (int64_t j = 0; j < PQ; j++)
                for (int64_t k = 0; k < kg; k++) dyt[(i * PQ + j) * kg + k] = dyg[k * PQ + j];
        }
        const nb_status s = sgemm_call(c->cd, 0, 0, L, kg, ld, col, ld, dyt, kg, n0 == 0 ? 0.0f : 1.0f, dwt, kg);
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
   function of the ISA and the shape only; the bits are the plain path's. */
static int filter_transposed(const nb_conv_desc *cd, const nb_conv_geom *g) {
    const nb_gemm_desc *gd = cd->sgemm_desc;
    return gd && gd->ukernel_adirect && g->kg <= gd->adirect_max_n && cd->transpose32;
}

/* The threads one group's GEMMs would use. The transposed form's GEMM
   (A in place, N = kg) scaled poorly on 2 threads (c64 56x56 k64: 1.02x its
   1 thread against the plain form's 1.50x, one run each), so it runs where
   the GEMMs are single-threaded; the forms give the same bits, so the
   choice may look at the threads. */
static int filter_gemm_threads(const nb_conv_desc *cd, const nb_conv2d_desc *d, const nb_conv_geom *g) {
    int64_t mnk;
    if (!nb_mul_ok(d->n * g->kg * g->PQ, g->L, &mnk)) mnk = INT64_MAX;
    return nb_threads_for(mnk, cd->min_mnk_per_thread);
}

nb_status nb_conv_backward_filter_run(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                      const float *x, const float *dy, float *dw, float *dbias) {
    if (nb_conv_use_depthwise(cd, d))
        return nb_conv_depthwise_backward_filter(cd, d, x, dy, dw, dbias);
    bwd_filter_ctx c = {cd, d, nb_conv_geom_of(d), 0, x, dy, dw, 0};
    const int64_t ni = filter_batch_images(cd, d, &c.g);
    c.nb = ni ? ni : filter_block_cols(cd, c.g.L, c.g.PQ);
    const int64_t tasks = c.g.G;
    const int nt = nb_conv_task_threads(cd, tasks, d, &c.g);
    const nb_conv_gemm_shape gemm = ni ? (nb_conv_gemm_shape){0, 0, c.g.L, c.g.kg, ni * c.g.PQ}
                                       : (nb_conv_gemm_shape){0, 1, c.g.kg, c.g.L, c.nb};
    /* The batched path's scratch: col and dyT (L + kg rows of ni PQ), then
       dwT (L kg floats, in whole rows of ni PQ). */
    const int64_t ld = ni * c.g.PQ, rows = c.g.L + c.g.kg + (ni ? (c.g.L * c.g.kg + ld - 1) / ld : 0);
    nb_status st;
    if (ni) {
        st = nb_conv_run_tasks(cd, nt, tasks, rows, ld, 1, &gemm, bwd_filter_batched_task, &c);
    } else if (filter_transposed(cd, &c.g) && (nt > 1 || filter_gemm_threads(cd, d, &c.g) <= 1)) {
        /* col (L rows of nb; none for pointwise), then dwT in whole rows. */
        c.dwt = 1;
        const nb_conv_gemm_shape tg = {0, 1, c.g.L, c.g.kg, c.nb};
        const int64_t trows = (c.g.pointwise ? 0 : c.g.L) + (c.g.L * c.g.kg + c.nb - 1) / c.nb;
        st = nb_conv_run_tasks(cd, nt, tasks, trows, c.nb, 1, &tg, bwd_filter_task, &c);
    } else {
        st = nb_conv_run_tasks(cd, nt, tasks, c.g.L, c.nb, !c.g.pointwise, &gemm, bwd_filter_task, &c);
    }
    if (st == NB_OK && dbias) {
        /* Double accumulator, images in order: nearly exact, thread-free. */
        for (int64_t k = 0; k < d->k; k++) {
            double acc = 0;
            for (int64_t n = 0; n < d->n; n++) acc += cd->rowsum(c.g.PQ, dy + (n * d->k + k) * c.g.PQ);
            dbias[k] = (float)acc;
        }
    }
    return st;
}
