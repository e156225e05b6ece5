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
    int64_t nb, slices, chunk;   /* chunk: channels of one GEMM + col2im step */
    const float *dy, *w, *wt;
    float *dx;
} sliced_ctx;

/* Channels [c0, c1) of group gi of image n, one column block: their
   column rows by the GEMM, then col2im, `chunk` channels at a time so that
   the rows col2im reads are still in cache (a whole L x nb block, 576 KB for
   c128 3x3, went out to L2 and came back: col2im was ~20 % of the pass). */
static nb_status slice_block(const sliced_ctx *c, int64_t n, int64_t gi, int64_t c0, int64_t c1,
                             int64_t j0, float *col) {
    const nb_conv_geom *g = c->g;
    const int64_t RS = c->d->r * c->d->s;
    const int64_t nj = c->nb < g->PQ - j0 ? c->nb : g->PQ - j0;
    const float *dyg = c->dy + (n * c->d->k + gi * g->kg) * g->PQ;
    for (int64_t a = c0; a < c1; a += c->chunk) {
        const int64_t b = a + c->chunk < c1 ? a + c->chunk : c1;
        /* op(A) = rows [a RS, b RS) of w[g]^T: columns of w[g] (kg x L,
           ta = 1), or rows of wt (L x kg, stored transposed). */
        const int ta = c->wt ? 0 : 1;
        const float *ag = c->wt ? c->wt + gi * g->kg * g->L + a * RS * g->kg
                                : c->w + gi * g->kg * g->L + a * RS;
        const int64_t lda = c->wt ? g->kg : g->L;
        const nb_status s = c->cd->sgemm(ta, 0, (b - a) * RS, nj, g->kg, 1.0f, ag, lda, dyg + j0,
                                         g->PQ, 0.0f, col, nj);
        if (s != NB_OK) return s;
        c->cd->col2im(c->d, b - a, g->P, g->Q, j0, nj, col, nj,
                      c->dx + (n * c->d->c + gi * g->cg + a) * g->HW);
    }
    return NB_OK;
}

/* Channels [c0, c1) of every group of every image: per channel, the
   column blocks in order (col2im's add order). */
static nb_status slice_task(const void *ctx, int64_t t, float *col) {
    const sliced_ctx *c = ctx;
    const nb_conv_geom *g = c->g;
    int64_t c0, c1;
    nb_parallel_share(g->cg, (int)t, (int)c->slices, &c0, &c1);
    if (c1 <= c0) return NB_OK;
    for (int64_t n = 0; n < c->d->n; n++)
        for (int64_t gi = 0; gi < g->G; gi++) {
            c->cd->fill((c1 - c0) * g->HW, 0.0f, c->dx + (n * c->d->c + gi * g->cg + c0) * g->HW);
            for (int64_t j0 = 0; j0 < g->PQ; j0 += c->nb) {
                const nb_status s = slice_block(c, n, gi, c0, c1, j0, col);
                if (s != NB_OK) return s;
            }
        }
    return NB_OK;
}

/* Channels per GEMM + col2im step: the fewest whose R S rows fill whole
   MR-row tiles of the SGEMM (c128 3x3 on AVX-512: 14 channels, 126 rows =
   9 tiles), doubled while their column rows stay within 32 KB (L1). */
static int64_t chunk_channels(const nb_conv_desc *cd, const nb_conv_geom *g, int64_t RS, int64_t nb) {
    const int64_t mr = cd->sgemm_desc ? cd->sgemm_desc->mr : 1;
    int64_t a = RS, b = mr;
    while (b) { const int64_t t = a % b; a = b; b = t; }   /* gcd(RS, mr) */
    int64_t ch = mr / a;
    while (2 * ch * RS * nb <= 8192 && 2 * ch <= g->cg) ch *= 2;
    return ch;
}

/* Slices (threads) of the sliced pass, 0 when it does not apply: where
   conv_driver.c's image x group tasks would run one after the other
   (tasks_nt 1) while the work is worth several threads, as many threads
   as keep at least 16 channels a slice (fewer make GEMMs of a few rows).
   On one thread the chunked GEMM + col2im measured no faster (c128 3x3
   s2: 1.81 vs 1.80-1.86 ms, min of 300 calls on a loaded machine): not
   taken there. */
int nb_conv_bwd_data_slices(const nb_conv_desc *cd, const nb_conv2d_desc *d, const nb_conv_geom *g,
                            int tasks_nt) {
    if (tasks_nt > 1 || g->pointwise) return 0;
    int64_t mnk;
    if (!nb_mul_ok(d->n * d->k * g->PQ, g->L, &mnk)) mnk = INT64_MAX;
    int nt = nb_threads_for(mnk, cd->min_mnk_per_thread);
    while (nt > 1 && g->cg < 16 * (int64_t)nt) nt--;
    return nt > 1 ? nt : 0;
}

nb_status nb_conv_backward_data_sliced(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                       const nb_conv_geom *g, int slices, int64_t nb,
                                       const float *dy, const float *w, const float *wt,
                                       float *dx) {
    const int64_t RS = d->r * d->s, chunk = chunk_channels(cd, g, RS, nb);
    const sliced_ctx c = {cd, d, g, nb, slices, chunk, dy, w, wt, dx};
    const int64_t rows = chunk * RS;
    const nb_conv_gemm_shape gemm = {!wt, 0, rows, nb, g->kg};
    return nb_conv_run_tasks(cd, slices, slices, rows, nb, 1, &gemm, slice_task, &c);
}
