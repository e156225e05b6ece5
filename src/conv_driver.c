/* The portable im2col + GEMM convolution driver: loops, scratch, threads.
 * See conv_driver.h for the formulation and the bit-reproducibility rules.
 *
 * Arguments were validated by src/api_conv.c and every dim is >= 1 here (the
 * degenerate shapes go to the reference backend). This driver's scratch
 * (packed filters, plans, column blocks) is allocated before any output is
 * written: NB_ERR_OOM then leaves the outputs untouched. On the column-block
 * paths the SGEMM takes its packing buffers per call, after the task has
 * written the bias (forward) or zeroed dx (backward-data): an OOM there
 * still returns NB_ERR_OOM, with those outputs partly written.
 */
#ifdef _OPENMP
#include <omp.h>
#endif

#include <stdlib.h>
#include <string.h>

#include "conv_driver.h"
#include "internal.h"
#include "scratch.h"

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

/* count buffers of rows x cols floats, back to back, from this thread's
   scratch slot (scratch.h; release with nb_scratch_done(p, *owned)); NULL
   on overflow/OOM. */
static float *alloc_floats(int slot, int64_t count, int64_t rows, int64_t cols, int *owned) {
    int64_t n, bytes;
    *owned = 0;
    if (!nb_mul_ok(rows, cols, &n) || !nb_mul_ok(n, count, &n) ||
        !nb_mul_ok(n, (int64_t)sizeof(float), &bytes))
        return NULL;
    return nb_scratch(slot, (size_t)bytes, owned);
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
    int owned = 0;
    if (need_col && !(col = alloc_floats(NB_SCRATCH_CONV_TASKS, nt, rows, cols, &owned)))
        return NB_ERR_OOM;
    nb_status st = NB_OK;
    if (nt > 1) {
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int64_t t = 0; t < tasks; t++)
            keep_first(&st, fn(ctx, t, col ? col + thread_num() * rows * cols : NULL));
    } else {
        for (int64_t t = 0; t < tasks && st == NB_OK; t++) st = fn(ctx, t, col);
    }
    nb_scratch_done(col, owned);
    return st;
}

/* im2col of pixels [j0, j0 + nj) and col2im, on this thread or, when this
   pass runs its tasks one after the other (too few to spread: the GEMMs
   take the threads) on several: im2col splits the pixels (each thread
   writes its own columns), col2im splits the channels (each thread adds
   into its own rows of dx, in the same order as one thread would). */
static void im2col_split(const nb_conv_desc *cd, const nb_conv2d_desc *d, const conv_geom *g,
                         int64_t j0, int64_t nj, const float *xg, float *col, int64_t ldcol) {
    int64_t work;
    if (!nb_mul_ok(g->L, nj, &work)) work = INT64_MAX;
    const int nt = nj >= 64 ? nb_threads_for(work, cd->min_mnk_per_thread) : 1;
    if (nt <= 1) {
        cd->im2col(d, g->cg, g->P, g->Q, j0, nj, xg, col, ldcol);
        return;
    }
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int t = 0; t < nt; t++) {
        const int64_t a = nj * t / nt, b = nj * (t + 1) / nt;
        cd->im2col(d, g->cg, g->P, g->Q, j0 + a, b - a, xg, col + a, ldcol);
    }
}

static void col2im_split(const nb_conv_desc *cd, const nb_conv2d_desc *d, const conv_geom *g,
                         int64_t j0, int64_t nj, const float *col, int64_t ldcol, float *dxg) {
    int64_t work;
    if (!nb_mul_ok(g->L, nj, &work)) work = INT64_MAX;
    int nt = nb_threads_for(work, cd->min_mnk_per_thread);
    if (nt > g->cg) nt = (int)g->cg;
    if (nt <= 1) {
        cd->col2im(d, g->cg, g->P, g->Q, j0, nj, col, ldcol, dxg);
        return;
    }
    const int64_t RS = d->r * d->s;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int t = 0; t < nt; t++) {
        const int64_t c0 = g->cg * t / nt, c1 = g->cg * (t + 1) / nt;
        cd->col2im(d, c1 - c0, g->P, g->Q, j0, nj, col + c0 * RS * ldcol, ldcol, dxg + c0 * g->HW);
    }
}

/* ---- forward ---- */

static int use_implicit(const nb_conv_desc *cd, const nb_conv2d_desc *d, const conv_geom *g);
static nb_status forward_implicit(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                  const float *x, const float *w, const float *bias, float *y);

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

nb_status nb_conv_forward_run(const nb_conv_desc *cd, const nb_conv2d_desc *d, const float *x,
                              const float *w, const float *bias, float *y) {
    fwd_ctx c = {cd, d, geom_of(d), 0, 0, x, w, bias, y};
    if (use_implicit(cd, d, &c.g)) return forward_implicit(cd, d, x, w, bias, y);
    c.nb = c.g.pointwise ? c.g.PQ : block_cols(cd, c.g.L, c.g.PQ);
    c.nblk = (c.g.PQ + c.nb - 1) / c.nb;
    const int64_t tasks = d->n * c.g.G * c.nblk;
    const int nt = task_threads(cd, tasks, d, &c.g);
    return run_tasks(nt, tasks, c.g.L, c.nb, !c.g.pointwise, fwd_task, &c);
}

/* ---- forward, implicit im2col (conv_driver.h) ----
 *
 * Per task (image, group, block of nb output pixels), for each KC block of
 * the L taps: the ISA packs the block's B panels from the image through
 * the tap plan, and the micro-kernel multiplies them by the filters, which
 * were packed once per call (A panels, all KC blocks of every group). The
 * loops are the GEMM driver's (ic over MC rows, panels, MR rows) with the
 * same KC blocks and micro-kernel, so every output gets the bits the
 * explicit path's SGEMM gives it, whatever nb and the thread count. */


/* Output pixels of an image below which packing the filters once per
   call costs more than it saves (C = K = 512 3x3, one image: 4x4 87 vs 118
   GFLOP/s, 7x7 85 vs 94; C = K = 256: 8x8 122 vs 120, 14x14 123 vs 119). */
#define IMPLICIT_MIN_PIXELS 64

/* Threads (by OpenMP thread number) that keep their last plan between
   tasks; others rebuild it per task. */
#define PLAN_CACHE_THREADS 256

/* Packed filter blocks up to this size (half of a 1 MiB L2) are run over
   one freshly packed B panel at a time. */
#define A_BLOCK_L2_FLOATS (128 * 1024)

static int64_t round_up64(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

/* NABLA_CONV_PATH=implicit / explicit: take that path wherever the
   implicit one is possible at all (the tests run the SIMD suite both ways
   on every shape); anything else: choose by shape. */
static int forced_path(void) {
    static int cached = 2;   /* 2: not read yet (read once, like NABLA_ISA) */
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v != 2) return v;
    const char *e = getenv("NABLA_CONV_PATH");
    v = !e ? 0 : strcmp(e, "implicit") == 0 ? 1 : strcmp(e, "explicit") == 0 ? -1 : 0;
    __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    return v;
}

/* Possible: an ISA packer, a column matrix that is not x itself, stride_w
   1 or 2 (a panel's lanes read runs of one input row, every element or
   every other one: pairs are loaded and the even elements kept; larger
   strides would gather every lane), int32 plan offsets.
   Worth it: the plan costs O(panels R S) and is shared by the cg channels,
   and the implicit path always runs the packed MR x NR kernel, while the
   explicit one gives a small kg to the GEMM's no-pack kernel. Measured
   (GFLOP/s, one thread, 56x56 unless said, implicit vs column block):
     3x3 s1:  c8 k64 98 vs 109, c16 k64 108 vs 110, c32 k64 113 vs 110,
              c16 k32 91 vs 103, c32 k32 101 vs 102, c64 k32 104 vs 101,
              c64 k16 87 vs 88, c128 k16 28x28 89 vs 74;
     3x3 s2:  c16 k32 112x112 84 vs 89, c32 k64 111 vs 93, c64 k32 92 vs 75,
              c128 k128 117 vs 108;
     7x7 s2 c3 k64 224x224 (stem) 82 vs 104. */
static int use_implicit(const nb_conv_desc *cd, const nb_conv2d_desc *d, const conv_geom *g) {
    /* Plan offsets are int32 and a packer adds up to 2 NR to them. */
    if (!cd->pack_b_im2col || !cd->gemm || g->pointwise || d->stride_w > 2 ||
        g->HW > INT32_MAX - 4 * NB_CONV_PLAN_LANES || cd->gemm->nr > NB_CONV_PLAN_LANES)
        return 0;
    const int forced = forced_path();
    if (forced) return forced > 0;
    /* The filters are packed once per call: a few output pixels do not
       repay it (the column-block path reads them in place then). Pixels
       of one image, not of the batch: the two backward-data paths sum in
       different orders, and an image must get the same bits alone as in
       a batch. */
    if (g->PQ < IMPLICIT_MIN_PIXELS) return 0;
    if (d->stride_w == 1) return g->cg >= 32 || (g->cg >= 16 && g->kg >= 64);
    return g->cg >= 32;
}

/* The plan of the panels of nr pixels from pixel j0 (nj pixels in all):
   entry p RS + r S + s. Lanes past the block or past nr read nothing. */
static void build_plan(const nb_conv2d_desc *d, const conv_geom *g, int64_t nr, int64_t j0,
                       int64_t nj, nb_conv_tap *plan) {
    const int64_t H = d->h, W = d->w, RS = d->r * d->s, panels = (nj + nr - 1) / nr;
    const int64_t step = d->stride_w;
    for (int64_t pn = 0; pn < panels; pn++) {
        /* Input row and column of each lane at r = s = 0. */
        int64_t ih0[NB_CONV_PLAN_LANES], iw0[NB_CONV_PLAN_LANES];
        int live[NB_CONV_PLAN_LANES];
        const int64_t jp = j0 + pn * nr;
        int64_t p = jp / g->Q, q = jp % g->Q;
        for (int i = 0; i < NB_CONV_PLAN_LANES; i++) {
            live[i] = i < nr && jp + i < j0 + nj;
            ih0[i] = p * d->stride_h - d->pad_h;
            iw0[i] = q * d->stride_w - d->pad_w;
            if (++q == g->Q) { q = 0; p++; }
        }
        for (int64_t r = 0; r < d->r; r++)
            for (int64_t s = 0; s < d->s; s++) {
                nb_conv_tap *e = &plan[pn * RS + r * d->s + s];
                const int64_t dh = r * d->dilation_h, dw = s * d->dilation_w;
                /* runs: 1 while the valid lanes so far read base + i step,
                   2 once later ones switched to base2 + i step, 3 for
                   anything else. */
                int valid = 0, runs = 1;
                int64_t base = 0, base2 = 0;
                for (int i = 0; i < NB_CONV_PLAN_LANES; i++) {
                    const int64_t ih = ih0[i] + dh, iw = iw0[i] + dw;
                    const int ok = live[i] && ih >= 0 && ih < H && iw >= 0 && iw < W;
                    const int64_t off = ok ? ih * W + iw : 0;
                    e->off[i] = (int32_t)off;
                    e->mask[i] = ok ? -1 : 0;
                    e->split[i] = 0;
                    if (!ok) continue;
                    const int64_t b = off - i * step;
                    if (valid++ == 0) {
                        base = b;
                    } else if (runs == 1 && b != base) {
                        runs = 2;
                        base2 = b;
                    } else if (runs == 2 && b != base2) {
                        runs = 3;
                    }
                    if (runs == 2) e->split[i] = -1;
                }
                /* FULL promises x_c[base + step nr - 1] is in the channel
                   too: a packer may load the element after the last lane
                   (stride 2 loads pairs and keeps the even ones). */
                const int full = valid == nr && base + step * nr - 1 < g->HW;
                e->step = (int32_t)step;
                e->base = (int32_t)(runs <= 2 ? base : 0);
                e->base2 = (int32_t)(runs == 2 ? base2 : 0);
                e->kind = valid == 0 ? NB_TAP_ZERO
                        : runs == 3  ? NB_TAP_GATHER
                        : runs == 2  ? NB_TAP_SPLIT
                        : full       ? NB_TAP_FULL : NB_TAP_CONTIG;
            }
    }
}

typedef struct {
    const nb_conv_desc *cd;
    const nb_conv2d_desc *d;
    conv_geom g;
    int64_t nb, nblk;
    int64_t kgr;          /* kg rounded up to MR: rows of a packed A block */
    int64_t a_block;      /* floats of one packed A block (a KC block of one group) */
    int64_t nkc;          /* KC blocks of L */
    int64_t plan_floats;  /* the plan's share of a task's scratch */
    int64_t ksplit;       /* tasks per (block, image, group): filter rows split */
    int64_t krows;        /* filter rows per split, a multiple of MR */
    int64_t *plan_blk;    /* per thread number: the block its scratch plan is for */
    const float *x, *apack, *bias;
    float *y;
} ifwd_ctx;

static nb_status ifwd_task(const void *ctx, int64_t t, float *scratch) {
    const ifwd_ctx *c = ctx;
    const conv_geom *g = &c->g;
    const nb_gemm_desc *gd = c->cd->gemm;
    const int64_t mr = gd->mr, nr = gd->nr, RS = c->d->r * c->d->s;
    /* Block-major: a thread's consecutive tasks (static schedule) share the
       pixel block, hence the plan, across images and groups. */
    const int64_t per_blk = c->d->n * g->G * c->ksplit;
    const int64_t blk = t / per_blk, unit = t % per_blk / c->ksplit, ks = t % c->ksplit;
    const int64_t n = unit / g->G, gi = unit % g->G;
    /* Filter rows [k0, k1) of this task. */
    const int64_t k0 = ks * c->krows, k1 = k0 + c->krows < g->kg ? k0 + c->krows : g->kg;
    const int64_t j0 = blk * c->nb, nj = c->nb < g->PQ - j0 ? c->nb : g->PQ - j0;
    const int64_t panels = (nj + nr - 1) / nr;
    const float *xg = c->x + (n * c->d->c + gi * g->cg) * g->HW;
    float *yg = c->y + (n * c->d->k + gi * g->kg) * g->PQ + j0;
    nb_conv_tap *plan = (nb_conv_tap *)scratch;
    float *bpack = scratch + c->plan_floats;
    const int tn = thread_num();
    if (tn >= PLAN_CACHE_THREADS || c->plan_blk[tn] != blk) {
        build_plan(c->d, g, nr, j0, nj, plan);
        if (tn < PLAN_CACHE_THREADS) c->plan_blk[tn] = blk;
    }
    float beta0 = 0.0f;
    if (c->bias) {   /* y starts at the bias; the first KC block adds to it */
        for (int64_t k = k0; k < k1; k++) c->cd->fill(nj, c->bias[gi * g->kg + k], yg + k * g->PQ);
        beta0 = 1.0f;
    }
    const float *ag = c->apack + gi * c->nkc * c->a_block;
    for (int64_t pc = 0; pc < g->L; pc += gd->kc) {
        const int64_t kc = gd->kc < g->L - pc ? gd->kc : g->L - pc;
        const float beta = pc == 0 ? beta0 : 1.0f;
        const float *ab = ag + pc / gd->kc * c->a_block;   /* A block of this KC block */
        if (c->kgr * kc <= A_BLOCK_L2_FLOATS) {
            /* The whole A block stays in L2: pack one B panel and run every
               row of filters over it while it is still in L1 (measured 1-3%
               faster than packing the whole block first on the 3x3 bench
               layers). */
            for (int64_t pn = 0; pn < panels; pn++) {
                const size_t nn = (size_t)(nr < nj - pn * nr ? nr : nj - pn * nr);
                c->cd->pack_b_im2col(plan + pn * RS, RS, pc, kc, 1, xg, g->HW, bpack);
                for (int64_t ir = k0; ir < k1; ir += mr)
                    gd->ukernel((size_t)(mr < k1 - ir ? mr : k1 - ir), nn, (size_t)kc,
                                ab + ir * kc, bpack, yg + ir * g->PQ + pn * nr, (ptrdiff_t)g->PQ,
                                1.0f, beta);
            }
            continue;
        }
        c->cd->pack_b_im2col(plan, RS, pc, kc, panels, xg, g->HW, bpack);
        for (int64_t ic = k0; ic < k1; ic += gd->mc) {
            const int64_t ie = ic + gd->mc < k1 ? ic + gd->mc : k1;
            for (int64_t pn = 0; pn < panels; pn++) {
                const size_t nn = (size_t)(nr < nj - pn * nr ? nr : nj - pn * nr);
                const float *bp = bpack + pn * nr * kc;
                for (int64_t ir = ic; ir < ie; ir += mr)
                    gd->ukernel((size_t)(mr < ie - ir ? mr : ie - ir), nn, (size_t)kc,
                                ab + ir * kc, bp, yg + ir * g->PQ + pn * nr, (ptrdiff_t)g->PQ,
                                1.0f, beta);
            }
        }
    }
    return NB_OK;
}

/* The filters as packed A blocks: group gi's KC block b at
   apack + (gi nkc + b) a_block, each block followed by its own packing
   slack (so that blocks can be packed at the same time: a packer may write
   a few floats past its panels) and 64-byte aligned (a_block is a multiple
   of 16 floats). Over the threads the work is worth: with a few output
   pixels, packing the filters is a large part of the call. */
static void pack_filters(const ifwd_ctx *c, const float *w, float *apack, int nt) {
    const nb_gemm_desc *gd = c->cd->gemm;
    const conv_geom *g = &c->g;
    const int64_t blocks = g->G * c->nkc;
    if (nt > blocks) nt = (int)blocks;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t i = 0; i < blocks; i++) {
        const int64_t gi = i / c->nkc, pc = i % c->nkc * gd->kc;
        const int64_t kc = gd->kc < g->L - pc ? gd->kc : g->L - pc;
        gd->pack_a(0, (size_t)g->kg, (size_t)kc, w + gi * g->kg * g->L + pc, (ptrdiff_t)g->L,
                   apack + i * c->a_block);
    }
}

static nb_status forward_implicit(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                  const float *x, const float *w, const float *bias, float *y) {
    const nb_gemm_desc *gd = cd->gemm;
    ifwd_ctx c = {.cd = cd, .d = d, .g = geom_of(d), .x = x, .bias = bias, .y = y};
    const conv_geom *g = &c.g;
    const int64_t nr = gd->nr, kcb = gd->kc < g->L ? gd->kc : g->L;
    /* Pixels per task: a KC block of B panels of about col_floats (L2). */
    int64_t nb = cd->col_floats / kcb;
    nb -= nb % nr;
    if (nb < cd->min_block) nb = cd->min_block;
    if (nb > g->PQ) nb = g->PQ;
    int64_t nblk = (g->PQ + nb - 1) / nb;
    const int nt0 = task_threads(cd, INT64_MAX, d, g);   /* threads the work is worth */
    if (nt0 > 1) {
        /* The bits do not depend on nb here: cut finer until the tasks
           split evenly over the threads (or are many), as long as blocks
           keep at least one full panel. */
        const int64_t units = d->n * g->G;
        while ((units * nblk) % nt0 != 0 && units * nblk < 4 * (int64_t)nt0 && nblk < g->PQ / nr)
            nblk++;
        nb = round_up64((g->PQ + nblk - 1) / nblk, nr);
        nblk = (g->PQ + nb - 1) / nb;
    }
    c.nb = nb;
    c.nblk = nblk;
    c.kgr = round_up64(g->kg, gd->mr);
    /* Too few blocks for the threads (a small image, one of a few): split
       the filter rows too. Every such task packs the same B panels, but
       an output's bits do not depend on which task computes it. */
    c.ksplit = 1;
    c.krows = c.kgr;
    const int64_t units = d->n * g->G;
    if (nt0 > 1 && units * nblk % nt0 != 0 && units * nblk < 4 * (int64_t)nt0) {
        const int64_t want = nt0 < c.kgr / gd->mr ? nt0 : c.kgr / gd->mr;
        c.krows = round_up64((g->kg + want - 1) / want, gd->mr);
        c.ksplit = (g->kg + c.krows - 1) / c.krows;
    }
    const int64_t tasks = units * nblk * c.ksplit;
    const int nt = tasks < nt0 ? (int)tasks : nt0;
    /* The scratch sizes: the filters of one group as packed A blocks, and
       per thread a plan plus one KC block of B panels. The validated
       tensor sizes do not bound them (L R S can be huge with a tiny image),
       so they are checked; too large is out of memory. */
    const int64_t panels = (nb + nr - 1) / nr;
    const int64_t tap_floats = (int64_t)(sizeof(nb_conv_tap) / sizeof(float));
    int64_t a_floats, plan_floats, b_floats;
    if (!nb_mul_ok(c.kgr, kcb, &a_floats) ||
        !nb_mul_ok(a_floats + 64, g->G * ((g->L + gd->kc - 1) / gd->kc), &a_floats) ||
        !nb_mul_ok(panels, d->r * d->s, &plan_floats) ||
        !nb_mul_ok(plan_floats, tap_floats, &plan_floats) || plan_floats > INT64_MAX / 4 ||
        !nb_mul_ok(panels * nr, kcb, &b_floats) || b_floats > INT64_MAX / 4)
        return NB_ERR_OOM;
    c.nkc = (g->L + gd->kc - 1) / gd->kc;
    c.a_block = round_up64(c.kgr * kcb + NB_GEMM_PACK_SLACK, 16);
    c.plan_floats = round_up64(plan_floats, 16);
    const int64_t scratch_floats = c.plan_floats + round_up64(b_floats, 16);
    int owned;
    int64_t plan_blk[PLAN_CACHE_THREADS];
    for (int i = 0; i < PLAN_CACHE_THREADS; i++) plan_blk[i] = -1;
    c.plan_blk = plan_blk;
    float *apack = alloc_floats(NB_SCRATCH_CONV_FILTERS, g->G * c.nkc, 1, c.a_block, &owned);
    if (!apack) return NB_ERR_OOM;
    pack_filters(&c, w, apack, nt0);
    c.apack = apack;
    const nb_status st = run_tasks(nt, tasks, 1, scratch_floats, 1, ifwd_task, &c);
    nb_scratch_done(apack, owned);
    return st;
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
static int transposed_desc(const nb_conv2d_desc *d, const conv_geom *g, nb_conv2d_desc *td) {
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
static void rotate_filters(const nb_conv2d_desc *d, const conv_geom *g, const float *w, float *wt) {
    const int64_t R = d->r, S = d->s, RS = R * S;
    for (int64_t gi = 0; gi < g->G; gi++)
        for (int64_t k = 0; k < g->kg; k++)
            for (int64_t c = 0; c < g->cg; c++) {
                const float *src = w + ((gi * g->kg + k) * g->cg + c) * RS;
                float *dst = wt + ((gi * g->cg + c) * g->kg + k) * RS;
                for (int64_t i = 0; i < RS; i++) dst[RS - 1 - i] = src[i];
            }
}

nb_status nb_conv_backward_data_run(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                    const float *dy, const float *w, float *dx) {
    nb_conv2d_desc td;
    const conv_geom g0 = geom_of(d);
    if (transposed_desc(d, &g0, &td)) {
        const conv_geom tg = geom_of(&td);
        if (use_implicit(cd, &td, &tg)) {
            int owned;
            float *wt = alloc_floats(NB_SCRATCH_CONV_WT, 1, d->k, g0.L, &owned);
            if (!wt) return NB_ERR_OOM;
            rotate_filters(d, &g0, w, wt);
            const nb_status st = forward_implicit(cd, &td, dy, wt, NULL, dx);
            nb_scratch_done(wt, owned);
            return st;
        }
    }
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
            im2col_split(c->cd, c->d, g, 0, g->PQ, xg, col, g->PQ);
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
    int owned = 0;
    if (!c.g.pointwise && !(col = alloc_floats(NB_SCRATCH_CONV_TASKS, nt, c.g.L, c.g.PQ, &owned)))
        return NB_ERR_OOM;
    nb_status st = NB_OK;
    if (nt > 1) {
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int64_t t = 0; t < tasks; t++)
            keep_first(&st, bwd_filter_task(&c, t, col ? col + thread_num() * c.g.L * c.g.PQ : NULL));
    } else {
        for (int64_t t = 0; t < tasks && st == NB_OK; t++) st = bwd_filter_task(&c, t, col);
    }
    nb_scratch_done(col, owned);
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
