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

void nb_conv_im2col_split(const nb_conv_desc *cd, const nb_conv2d_desc *d, const nb_conv_geom *g,
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

const float *nb_conv_col_block(const nb_conv_desc *cd, const nb_conv2d_desc *d, const nb_conv_geom *g,
                               int64_t j0, int64_t nj, const float *xg, float *col, int64_t *ldb) {
    if (g->pointwise) {
        *ldb = g->PQ;
        return xg + j0;
    }
    nb_conv_im2col_split(cd, d, g, j0, nj, xg, col, nj);
    *ldb = nj;
    return col;
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
    int64_t ldb;
    const float *B = nb_conv_col_block(c->cd, c->d, g, j0, nj, xg, col, &ldb);
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
    if (nb_conv_use_bcast(cd, d, &c.g)) return nb_conv_bcast_forward(cd, d, x, w, bias, y);
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
    nb_status phase_st;   /* strided: one stride-1 implicit pass per phase of dx */
    if (nb_conv_bwd_data_phases(cd, d, dy, w, dx, &phase_st)) return phase_st;
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
