/* The implicit-im2col forward convolution (conv_driver.h, "implicit
 * im2col"): filters packed once per call, B micro-panels packed straight
 * from the image through a tap plan, the GEMM micro-kernel over them. */
#include <stdlib.h>
#include <string.h>

#include "conv_internal.h"
#include "internal.h"
#include "parallel.h"
#include "scratch.h"

/* ---- forward, implicit im2col (conv_driver.h) ----
 *
 * Per task (image, group, block of nb output pixels), for each KC block of
 * the L taps: the ISA packs the block's B panels from the image through
 * the tap plan, and the GEMM's macro-kernel (nb_gemm_macro_kernel: panels,
 * then MR rows) multiplies them by the filters, which were packed once per
 * call (A panels, all KC blocks of every group), with the same KC blocks
 * and micro-kernel as the SGEMM, so every output gets the bits the
 * explicit path's SGEMM gives it, whatever nb and the thread count. */

/* Output pixels of an image below which packing the filters once per
   call costs more than it saves (C = K = 512 3x3, one image: 4x4 87 vs 118
   GFLOP/s, 7x7 85 vs 94; C = K = 256: 8x8 122 vs 120, 14x14 123 vs 119). */
#define IMPLICIT_MIN_PIXELS 64

/* Tiny images (at most 8x8 output pixels) with small filters (packed once
   per call: at most 256 KB) take the implicit path whatever their
   channels: the column-block path pays, per image, an im2col (or col2im)
   whose per-row bookkeeping outweighs 4- or 8-pixel rows, and a GEMM call
   of a few columns. Measured on the 8x8 CNN training step (batch 64, one
   thread, AVX-512): conv 16->32 on 4x4 forward 483 -> 126 us, its
   backward-data 484 -> 221 us, conv 1->16 on 8x8 forward 81 -> 59 us. */
#define TINY_PIXELS 64
#define TINY_FILTER_FLOATS (64 * 1024)

/* Threads (by OpenMP thread number) that keep their last plan between
   tasks; others rebuild it per task. */
#define PLAN_CACHE_THREADS 256

/* Packed filter blocks up to this size (half of a 1 MiB L2) are run over
   one freshly packed B panel at a time. */
#define A_BLOCK_L2_FLOATS (128 * 1024)

static int64_t round_up64(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

/* The GEMM this path runs and its B packer: the ISA's wide packer with the
   SGEMM's tile where it has one (AVX-512: 14x32, half the loads per FMA of
   the 14x16 tile), else conv.gemm's. Plans always have panels of at most
   NB_CONV_PLAN_LANES lanes; a wide panel reads nr / lanes of them. */
static const nb_gemm_desc *igemm(const nb_conv_desc *cd) {
    const nb_gemm_desc *s = cd->sgemm_desc;
    if (cd->pack_b_im2col_wide && s && s->nr % NB_CONV_PLAN_LANES == 0) return s;
    return cd->gemm;
}
static nb_conv_pack_b_fn ipack(const nb_conv_desc *cd) {
    return igemm(cd) == cd->gemm ? cd->pack_b_im2col : cd->pack_b_im2col_wide;
}
/* Lanes of one plan panel. */
static int64_t plan_lanes(const nb_gemm_desc *gd) {
    return gd->nr < NB_CONV_PLAN_LANES ? gd->nr : NB_CONV_PLAN_LANES;
}

/* NABLA_CONV_PATH=implicit / explicit: take that path wherever the
   implicit one is possible at all (the tests run the SIMD suite both ways
   on every shape); bcast (2): the broadcast direct forward path wherever
   it is possible (src/conv_bcast.c); anything else: choose by shape. */
static int forced_path(void) {
    static int cached = 2;   /* 2: not read yet (read once, like NABLA_ISA) */
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v != 2) return v;
    const char *e = getenv("NABLA_CONV_PATH");
    v = !e                              ? 0
        : strcmp(e, "implicit") == 0    ? 1
        : strcmp(e, "explicit") == 0    ? -1
        : strcmp(e, "bcast") == 0       ? 2
                                        : 0;
    __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    return v;
}

int nb_conv_implicit_forced(void) { return forced_path() == 2 ? 0 : forced_path(); }
int nb_conv_bcast_forced(void) { return forced_path() == 2; }

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
int nb_conv_use_implicit(const nb_conv_desc *cd, const nb_conv2d_desc *d, const nb_conv_geom *g) {
    /* Plan offsets are int32 and a packer adds up to 2 NR to them. */
    if (!cd->pack_b_im2col || !cd->gemm || g->pointwise || d->stride_w > 2 ||
        g->HW > INT32_MAX - 4 * NB_CONV_PLAN_LANES ||
        (igemm(cd)->nr > NB_CONV_PLAN_LANES && igemm(cd)->nr % NB_CONV_PLAN_LANES != 0))
        return 0;
    const int forced = forced_path();
    if (forced) return forced > 0;
    /* The filters are packed once per call: a few output pixels do not
       repay it (the column-block path reads them in place then). Pixels
       of one image, not of the batch: the two backward-data paths sum in
       different orders, and an image must get the same bits alone as in
       a batch. */
    if (g->PQ <= TINY_PIXELS && g->kg * g->L <= TINY_FILTER_FLOATS) return 1;
    if (g->PQ < IMPLICIT_MIN_PIXELS) return 0;
    if (d->stride_w == 1) return g->cg >= 32 || (g->cg >= 16 && g->kg >= 64);
    return g->cg >= 32;
}

/* Dead end (session 14, Zen 4, 3x3 s2 c128 56x56 forward): copying the
   rows of each block (the KC block's channels) into stride phase planes
   (even / odd columns and rows, in the task's scratch) so that the plan's
   runs step 1 and no panel splits: the packer fell from ~10 % of the pass
   to 3.3 %, but the copy took 7.8 % (perf, cpu-clock): both wait on the
   image's lines (x comes from memory here, not L3: a sequential copy of
   the 1.6 MB image took 35 us from L3, 130-180 us from memory, and the
   pass spent ~200 us), so the sum did not move (A/B: 1.05x slower before
   the copy's loop was tuned). Prefetching the next fill's lines (T1) a
   few dozen after each micro-kernel call stalled on the prefetches
   themselves (miss buffers full) for as long as they saved. On AVX2
   (whose stride-2 SPLIT rows are 8 masked loads, the packer 13 % of the
   pass) the planes measured 2.47 -> 2.76 ms (median of 5 alternated
   runs, NABLA_ISA=avx2): worse too. The patch: session 14's s214 report.

   The plan of `panels` panels of nr pixels from pixel j0 (nj pixels in
   all): entry p RS + r S + s. Lanes past the block or past nr read
   nothing (a wide panel's last plan panel may lie wholly past it). */
static void build_plan(const nb_conv2d_desc *d, const nb_conv_geom *g, int64_t nr, int64_t j0,
                       int64_t nj, int64_t panels, nb_conv_tap *plan) {
    const int64_t H = d->h, W = d->w, RS = d->r * d->s;
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
    nb_conv_geom g;
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
    const nb_conv_apack_src *asrc;   /* NULL: the filters are w */
} ifwd_ctx;

static nb_status ifwd_task(const void *ctx, int64_t t, float *scratch) {
    const ifwd_ctx *c = ctx;
    const nb_conv_geom *g = &c->g;
    const nb_gemm_desc *gd = igemm(c->cd);
    const nb_conv_pack_b_fn pack = ipack(c->cd);
    const int64_t nr = gd->nr, RS = c->d->r * c->d->s, lanes = plan_lanes(gd), hp = nr / lanes;
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
    const int tn = nb_parallel_thread_num();
    if (tn >= PLAN_CACHE_THREADS || c->plan_blk[tn] != blk) {
        build_plan(c->d, g, lanes, j0, nj, panels * hp, plan);
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
                const int64_t nn = nr < nj - pn * nr ? nr : nj - pn * nr;
                pack(plan + pn * hp * RS, RS, pc, kc, 1, xg, g->HW, bpack);
                nb_gemm_macro_kernel(gd, k1 - k0, nn, kc, ab + k0 * kc, bpack,
                                     yg + k0 * g->PQ + pn * nr, g->PQ, 1.0f, beta);
            }
            continue;
        }
        pack(plan, RS, pc, kc, panels, xg, g->HW, bpack);
        for (int64_t ic = k0; ic < k1; ic += gd->mc) {
            const int64_t ie = ic + gd->mc < k1 ? ic + gd->mc : k1;
            nb_gemm_macro_kernel(gd, ie - ic, nj, kc, ab + ic * kc, bpack, yg + ic * g->PQ, g->PQ,
                                 1.0f, beta);
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
typedef struct {
    const ifwd_ctx *c;
    const float *w;
    float *apack;
} pack_filters_run;

static int pack_filter_blocks(void *ctx, int64_t lo, int64_t hi) {
    const pack_filters_run *r = ctx;
    const nb_gemm_desc *gd = igemm(r->c->cd);
    const nb_conv_geom *g = &r->c->g;
    for (int64_t i = lo; i < hi; i++) {
        const int64_t gi = i / r->c->nkc, pc = i % r->c->nkc * gd->kc;
        const int64_t kc = gd->kc < g->L - pc ? gd->kc : g->L - pc;
        if (r->c->asrc)
            r->c->asrc->pack(r->c->asrc->ctx, gi, pc, kc, gd->mr, r->apack + i * r->c->a_block);
        else
            gd->pack_a(0, (size_t)g->kg, (size_t)kc, r->w + gi * g->kg * g->L + pc,
                       (ptrdiff_t)g->L, r->apack + i * r->c->a_block);
    }
    return 0;
}

static void pack_filters(const ifwd_ctx *c, const float *w, float *apack, int nt) {
    const int64_t blocks = c->g.G * c->nkc;
    if (nt > blocks) nt = (int)blocks;
    pack_filters_run r = {c, w, apack};
    nb_parallel_chunks(nt, blocks, 1, pack_filter_blocks, &r);
}

/* A few units (image x group) on nt threads, where the filter blocks fit
   L2 (ifwd_task packs one B panel at a time, so nb sizes no packed
   block): the pixels per block nb (a multiple of nr, at most *nb_out)
   whose tasks, split over the threads in contiguous runs
   (nb_parallel_share, block-major), give the busiest thread the fewest
   panels, and of those the fewest blocks (a plan each). 1 if found (the
   tasks then need no split of the filter rows). 3x3 s2 c128 56x56 (25
   panels) on 2 threads: the rule below it cut 4 blocks of 7, 7, 7, 4
   panels (14 vs 11 a thread); 2 blocks of 13 and 12 panels ran 1.42 ->
   1.35 ms, 9 blocks of 3 panels (12 vs 13) the same 1.35 (real time,
   medians of 5 alternated runs): this one picks 5 blocks of 6, 6, 6, 6, 1
   (12 vs 13), no block larger than before. */
static int balanced_blocks(int64_t units, int64_t PQ, int64_t nr, int nt, int64_t *nb_out) {
    const int64_t panels = (PQ + nr - 1) / nr;
    int64_t best = INT64_MAX, best_nb = 0;
    /* Blocks no larger than the L2-sized one (*nb_out on entry). */
    const int64_t max_pb = *nb_out / nr < panels ? *nb_out / nr : panels;
    for (int64_t pb = max_pb; pb >= 1; pb--) {   /* panels a block: fewest blocks first */
        const int64_t nb = pb * nr, nblk = (PQ + nb - 1) / nb, tasks = units * nblk;
        if (tasks < nt || nblk > 64) continue;
        int64_t worst = 0;
        for (int tid = 0; tid < nt; tid++) {
            int64_t lo, hi, sum = 0;
            nb_parallel_share(tasks, tid, nt, &lo, &hi);
            for (int64_t t = lo; t < hi; t++) {
                const int64_t blk = t / units, j0 = blk * nb;
                sum += (PQ - j0 < nb ? PQ - j0 + nr - 1 : nb) / nr;
            }
            if (sum > worst) worst = sum;
        }
        if (worst < best) {
            best = worst;
            best_nb = nb;
        }
    }
    if (best_nb == 0) return 0;
    *nb_out = best_nb;
    return 1;
}

nb_status nb_conv_forward_implicit(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                  const float *x, const float *w, const float *bias, float *y) {
    const nb_conv_geom g = nb_conv_geom_of(d);
    return nb_conv_forward_implicit_geom(cd, d, &g, NULL, x, w, bias, y);
}

nb_status nb_conv_forward_implicit_geom(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                        const nb_conv_geom *g_in, const nb_conv_apack_src *asrc,
                                        const float *x, const float *w, const float *bias,
                                        float *y) {
    const nb_gemm_desc *gd = igemm(cd);
    ifwd_ctx c = {.cd = cd, .d = d, .g = *g_in, .x = x, .bias = bias, .y = y, .asrc = asrc};
    const nb_conv_geom *g = &c.g;
    const int64_t nr = gd->nr, kcb = gd->kc < g->L ? gd->kc : g->L;
    /* Pixels per task: a KC block of B panels of about col_floats (L2). */
    int64_t nb = cd->col_floats / kcb;
    nb -= nb % nr;
    if (nb < cd->min_block) nb = cd->min_block;
    if (nb > g->PQ) nb = g->PQ;
    int64_t nblk = (g->PQ + nb - 1) / nb;
    const int nt0 = nb_conv_task_threads(cd, INT64_MAX, d, g);   /* threads the work is worth */
    int balanced = 0;
    if (nt0 > 1 && d->n * g->G < 4 * (int64_t)nt0 &&
        round_up64(g->kg, gd->mr) * kcb <= A_BLOCK_L2_FLOATS) {
        balanced = balanced_blocks(d->n * g->G, g->PQ, nr, nt0, &nb);
        nblk = (g->PQ + nb - 1) / nb;
    }
    if (nt0 > 1 && !balanced) {
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
    if (nt0 > 1 && !balanced && units * nblk % nt0 != 0 && units * nblk < 4 * (int64_t)nt0) {
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
        !nb_mul_ok(panels * (nr / plan_lanes(gd)), d->r * d->s, &plan_floats) ||
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
    float *apack = nb_conv_scratch_floats(NB_SCRATCH_CONV_FILTERS, g->G * c.nkc, 1, c.a_block, &owned);
    if (!apack) return NB_ERR_OOM;
    pack_filters(&c, w, apack, nt0);
    c.apack = apack;
    const nb_status st = nb_conv_run_tasks(cd, nt, tasks, 1, scratch_floats, 1, NULL, ifwd_task, &c);
    nb_scratch_done(apack, owned);
    return st;
}

