/* Backward-data on the column-block path (GEMM + col2im) with the threads
 * splitting the input channels, for the calls whose few images (tasks of
 * conv_driver.c: image x group) would otherwise run one after the other
 * with a threaded GEMM per column block (the 3x3 stride-2 c128 56x56 layer,
 * one image: 1.45x its 1 thread on 2).
 *
 * Why: per column block that path opens one team for the GEMM and one for
 * col2im (two barriers a block, ~7 blocks an image), fills dx on one
 * thread, and its GEMM (M = L = C R S rows, K = the filters) splits an
 * L x nb block. Here thread t owns the channels [c0, c1) of every group
 * (share of cg): for each column block it computes their (c1 - c0) R S
 * column-matrix rows (rows of w[g]^T: a single-threaded GEMM on its own
 * scratch) and adds them into its own channels of dx with col2im. No
 * barrier until the end, no shared writes.
 *
 * Bits: the same as conv_driver.c's path for the same column width nb
 * (passed in by it): a column element is one GEMM chain over the filters,
 * whatever rows the GEMM call covers (its KC blocks cut K only), and col2im
 * adds into a dx element in the order c, r, s, p, q of each block, blocks
 * in order, whichever thread owns the channel.
 */
#include "conv_internal.h"

typedef struct {
    const nb_conv_desc *cd;
    const nb_conv2d_desc *d;
    const nb_conv_geom *g;
    int64_t nb, slices;
    const float *dy, *w, *wt;
    float *dx;
} sliced_ctx;

/* Channels [c0, c1) of every group of every image. */
static nb_status slice_task(const void *ctx, int64_t t, float *col) {
    const sliced_ctx *c = ctx;
    const nb_conv_geom *g = c->g;
    const int64_t RS = c->d->r * c->d->s;
    int64_t c0, c1;
    nb_parallel_share(g->cg, (int)t, (int)c->slices, &c0, &c1);
    if (c1 <= c0) return NB_OK;
    const int64_t rows = (c1 - c0) * RS;
    for (int64_t n = 0; n < c->d->n; n++)
        for (int64_t gi = 0; gi < g->G; gi++) {
            const float *dyg = c->dy + (n * c->d->k + gi * g->kg) * g->PQ;
            float *dxg = c->dx + (n * c->d->c + gi * g->cg + c0) * g->HW;
            /* op(A) = rows [c0 RS, c1 RS) of w[g]^T: columns of w[g]
               (kg x L, ta = 1), or rows of wt (L x kg, stored transposed). */
            const int ta = c->wt ? 0 : 1;
            const float *ag = c->wt ? c->wt + gi * g->kg * g->L + c0 * RS * g->kg
                                    : c->w + gi * g->kg * g->L + c0 * RS;
            const int64_t lda = c->wt ? g->kg : g->L;
            c->cd->fill((c1 - c0) * g->HW, 0.0f, dxg);
            for (int64_t j0 = 0; j0 < g->PQ; j0 += c->nb) {
                const int64_t nj = c->nb < g->PQ - j0 ? c->nb : g->PQ - j0;
                const nb_status s = c->cd->sgemm(ta, 0, rows, nj, g->kg, 1.0f, ag, lda, dyg + j0,
                                                 g->PQ, 0.0f, col, nj);
                if (s != NB_OK) return s;
                c->cd->col2im(c->d, c1 - c0, g->P, g->Q, j0, nj, col, nj, dxg);
            }
        }
    return NB_OK;
}

/* Threads for the sliced pass, 0 when it does not apply: conv_driver.c's
   tasks would run one after the other (tasks_nt 1) while the work is worth
   several threads, and every slice keeps at least 16 channels (fewer
   make GEMMs of a few rows and leave col2im little to split). */
int nb_conv_bwd_data_slices(const nb_conv_desc *cd, const nb_conv2d_desc *d, const nb_conv_geom *g,
                            int tasks_nt) {
    if (tasks_nt > 1 || g->pointwise) return 0;
    int64_t mnk;
    if (!nb_mul_ok(d->n * d->k * g->PQ, g->L, &mnk)) mnk = INT64_MAX;
    const int nt = nb_threads_for(mnk, cd->min_mnk_per_thread);
    return nt > 1 && g->cg >= 16 * (int64_t)nt ? nt : 0;
}

nb_status nb_conv_backward_data_sliced(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                       const nb_conv_geom *g, int slices, int64_t nb,
                                       const float *dy, const float *w, const float *wt,
                                       float *dx) {
    const sliced_ctx c = {cd, d, g, nb, slices, dy, w, wt, dx};
    const int64_t rows = (g->cg + slices - 1) / slices * d->r * d->s;
    const nb_conv_gemm_shape gemm = {!wt, 0, rows, nb, g->kg};
    return nb_conv_run_tasks(cd, slices, slices, rows, nb, 1, &gemm, slice_task, &c);
}
