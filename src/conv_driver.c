/* The portable im2col + GEMM convolution driver: loops, scratch, threads.
 * See conv_driver.h for the formulation and the bit-reproducibility rules.
 *
 * Arguments were validated by src/api_conv.c and every dim is >= 1 here (the
 * degenerate shapes go to the reference backend). Scratch buffers are
 * allocated before any output is written (NB_ERR_OOM otherwise).
 */
#ifdef _OPENMP
#include <omp.h>
#endif

#include "conv_driver.h"
#include "internal.h"

typedef struct {
    int64_t P, Q, G, cg, kg, L, PQ, HW;
    int pointwise;   /* 1x1, stride 1, no padding: the column matrix is x */
} conv_geom;

static conv_geom geom_of(const nb_conv2d_desc *d) {
    conv_geom g;
    g.P = (d->h + 2 * d->pad_h - d->dilation_h * (d->r - 1) - 1) / d->stride_h + 1;
    g.Q = (d->w + 2 * d->pad_w - d->dilation_w * (d->s - 1) - 1) / d->stride_w + 1;
    g.G = d->groups;
    g.cg = d->c / g.G;
    g.kg = d->k / g.G;
    g.L = g.cg * d->r * d->s;
    g.PQ = g.P * g.Q;
    g.HW = d->h * d->w;
    g.pointwise = d->r == 1 && d->s == 1 && d->stride_h == 1 && d->stride_w == 1 &&
                  d->pad_h == 0 && d->pad_w == 0;
    return g;
}

/* Output pixels per column block: about col_floats / L, a multiple of 16
   (the AVX2 GEMM's NR), at least min_block, at most PQ. A function of the
   shape only (never of the thread count): it fixes col2im's add order. */
static int64_t block_cols(const nb_conv_desc *cd, int64_t L, int64_t PQ) {
    int64_t nb = cd->col_floats / L;
    nb -= nb % 16;
    if (nb < cd->min_block) nb = cd->min_block;
    return nb < PQ ? nb : PQ;
}

/* Threads for `tasks` independent tasks of n k P Q L multiply-adds in all:
   1 when they should rather run one after the other with threaded GEMMs
   (too few tasks to balance). */
static int task_threads(const nb_conv_desc *cd, int64_t tasks, const nb_conv2d_desc *d,
                        const conv_geom *g) {
    /* n k P Q (the elements of y) fits int64; times L it may not: saturate,
       it only sizes the team. */
    int64_t mnk;
    if (!nb_mul_ok(d->n * d->k * g->PQ, g->L, &mnk)) mnk = INT64_MAX;
    const int nt = nb_threads_for(mnk, cd->min_mnk_per_thread);
    if (nt <= 1 || tasks < nt) return 1;
    if (tasks % nt == 0 || tasks >= 4 * (int64_t)nt) return nt;
    return 1;
}

/* count buffers of rows x cols floats, back to back; NULL on overflow/OOM. */
static float *alloc_floats(int64_t count, int64_t rows, int64_t cols) {
    int64_t n, bytes;
    if (!nb_mul_ok(rows, cols, &n) || !nb_mul_ok(n, count, &n) ||
        !nb_mul_ok(n, (int64_t)sizeof(float), &bytes))
        return NULL;
    return nb_aligned_alloc((size_t)bytes);
}

static int thread_num(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* The first failure of a set of tasks (they are independent: the others
   still run, as each writes only its own outputs). */
static void keep_first(nb_status *all, nb_status s) {
    if (s == NB_OK) return;
    /* A compare-and-swap, not a named omp critical (which would export a
       symbol from the shared library). */
    nb_status ok = NB_OK;
    __atomic_compare_exchange_n(all, &ok, s, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/* The ISA's SGEMM with alpha = 1. Inside this driver's task loop (or a
   caller's parallel region) it runs on one thread: nb_threads_for() sees
   omp_in_parallel(), and the GEMM driver opens no barrier then. */
static nb_status sgemm_call(const nb_conv_desc *cd, int ta, int tb, int64_t M, int64_t N,
                            int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb,
                            float beta, float *C, int64_t ldc) {
    return cd->sgemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
}

/* Runs tasks 0..tasks-1 of a pass over nt threads (each with its own
   rows x cols column block) or in order on this one; the first failure is
   returned (the others still run: each task writes only its own outputs).
   The column blocks are allocated here, before any output is written,
   unless need_col is 0 (pointwise convolutions read x directly). */
typedef nb_status (*conv_task_fn)(const void *ctx, int64_t task, float *col);

static nb_status run_tasks(int nt, int64_t tasks, int64_t rows, int64_t cols, int need_col,
                           conv_task_fn fn, const void *ctx) {
    float *col = NULL;
    if (need_col && !(col = alloc_floats(nt, rows, cols))) return NB_ERR_OOM;
    nb_status st = NB_OK;
    if (nt > 1) {
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int64_t t = 0; t < tasks; t++)
            keep_first(&st, fn(ctx, t, col ? col + thread_num() * rows * cols : NULL));
    } else {
        for (int64_t t = 0; t < tasks && st == NB_OK; t++) st = fn(ctx, t, col);
    }
    nb_aligned_free(col);
    return st;
}

/* ---- forward ---- */

typedef struct {
    const nb_conv_desc *cd;
    const nb_conv2d_desc *d;
    conv_geom g;
    int64_t nb, nblk;
    const float *x, *w, *bias;
    float *y;
} fwd_ctx;


static nb_status fwd_task(const void *ctx, int64_t t, float *col) {
    const fwd_ctx *c = ctx;
    const conv_geom *g = &c->g;
    const int64_t unit = t / c->nblk, blk = t % c->nblk;
    const int64_t n = unit / g->G, gi = unit % g->G;
    const int64_t j0 = blk * c->nb, nj = c->nb < g->PQ - j0 ? c->nb : g->PQ - j0;
    const float *xg = c->x + (n * c->d->c + gi * g->cg) * g->HW;
    float *yg = c->y + (n * c->d->k + gi * g->kg) * g->PQ + j0;
    const float *B = xg + j0;
    int64_t ldb = g->HW;
    if (!g->pointwise) {
        c->cd->im2col(c->d, g->cg, g->P, g->Q, j0, nj, xg, col, nj);
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

nb_status nb_conv_forward_run(const nb_conv_desc *cd, const nb_conv2d_desc *d, const float *x,
                              const float *w, const float *bias, float *y) {
    fwd_ctx c = {cd, d, geom_of(d), 0, 0, x, w, bias, y};
    c.nb = c.g.pointwise ? c.g.PQ : block_cols(cd, c.g.L, c.g.PQ);
    c.nblk = (c.g.PQ + c.nb - 1) / c.nb;
    const int64_t tasks = d->n * c.g.G * c.nblk;
    const int nt = task_threads(cd, tasks, d, &c.g);
    return run_tasks(nt, tasks, c.g.L, c.nb, !c.g.pointwise, fwd_task, &c);
}

/* ---- backward-data ---- */

typedef struct {
    const nb_conv_desc *cd;
    const nb_conv2d_desc *d;
    conv_geom g;
    int64_t nb;
    const float *dy, *w;
    float *dx;
} bwd_data_ctx;

static nb_status bwd_data_task(const void *ctx, int64_t unit, float *col) {
    const bwd_data_ctx *c = ctx;
    const conv_geom *g = &c->g;
    const int64_t n = unit / g->G, gi = unit % g->G;
    const float *dyg = c->dy + (n * c->d->k + gi * g->kg) * g->PQ;
    const float *wg = c->w + gi * g->kg * g->L;
    float *dxg = c->dx + (n * c->d->c + gi * g->cg) * g->HW;
    /* w[g] is stored kg x L: op(A) = w[g]^T is L x kg (lda = L). */
    if (g->pointwise)
        return sgemm_call(c->cd, 1, 0, g->cg, g->HW, g->kg, wg, g->L, dyg, g->PQ, 0.0f, dxg, g->HW);
    c->cd->fill(g->cg * g->HW, 0.0f, dxg);
    for (int64_t j0 = 0; j0 < g->PQ; j0 += c->nb) {
        const int64_t nj = c->nb < g->PQ - j0 ? c->nb : g->PQ - j0;
        const nb_status s = sgemm_call(c->cd, 1, 0, g->L, nj, g->kg, wg, g->L, dyg + j0, g->PQ,
                                       0.0f, col, nj);
        if (s != NB_OK) return s;
        c->cd->col2im(c->d, g->cg, g->P, g->Q, j0, nj, col, nj, dxg);
    }
    return NB_OK;
}

nb_status nb_conv_backward_data_run(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                    const float *dy, const float *w, float *dx) {
    bwd_data_ctx c = {cd, d, geom_of(d), 0, dy, w, dx};
    c.nb = c.g.pointwise ? c.g.PQ : block_cols(cd, c.g.L, c.g.PQ);
    const int64_t tasks = d->n * c.g.G;
    const int nt = task_threads(cd, tasks, d, &c.g);
    return run_tasks(nt, tasks, c.g.L, c.nb, !c.g.pointwise, bwd_data_task, &c);
}

/* ---- backward-filter ---- */

typedef struct {
    const nb_conv_desc *cd;
    const nb_conv2d_desc *d;
    conv_geom g;
    const float *x, *dy;
    float *dw;
} bwd_filter_ctx;

/* dw[g] for one group: the images in order, beta = 0 for the first. The
   whole P Q is one GEMM K (the SGEMM cuts it into its fixed KC blocks), so
   dw[g] is read and written once per image, not once per column block. */
static nb_status bwd_filter_task(const bwd_filter_ctx *c, int64_t gi, float *col) {
    const conv_geom *g = &c->g;
    for (int64_t n = 0; n < c->d->n; n++) {
        const float *xg = c->x + (n * c->d->c + gi * g->cg) * g->HW;
        const float *B = xg;
        if (!g->pointwise) {
            c->cd->im2col(c->d, g->cg, g->P, g->Q, 0, g->PQ, xg, col, g->PQ);
            B = col;
        }
        /* dw[g] (kg x L) (+)= dy[n,g] (kg x PQ) col^T (col stored L x PQ). */
        const nb_status s = sgemm_call(c->cd, 0, 1, g->kg, g->L, g->PQ,
                                       c->dy + (n * c->d->k + gi * g->kg) * g->PQ, g->PQ,
                                       B, g->PQ, n == 0 ? 0.0f : 1.0f,
                                       c->dw + gi * g->kg * g->L, g->L);
        if (s != NB_OK) return s;
    }
    return NB_OK;
}

nb_status nb_conv_backward_filter_run(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                      const float *x, const float *dy, float *dw, float *dbias) {
    bwd_filter_ctx c = {cd, d, geom_of(d), x, dy, dw};
    const int64_t tasks = c.g.G;
    const int nt = task_threads(cd, tasks, d, &c.g);
    float *col = NULL;
    if (!c.g.pointwise && !(col = alloc_floats(nt, c.g.L, c.g.PQ))) return NB_ERR_OOM;
    nb_status st = NB_OK;
    if (nt > 1) {
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int64_t t = 0; t < tasks; t++)
            keep_first(&st, bwd_filter_task(&c, t, col ? col + thread_num() * c.g.L * c.g.PQ : NULL));
    } else {
        for (int64_t t = 0; t < tasks && st == NB_OK; t++) st = bwd_filter_task(&c, t, col);
    }
    nb_aligned_free(col);
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
