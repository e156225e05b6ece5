/* Pointwise convolutions (1x1, stride 1, no padding), forward and
 * backward-data, on the SGEMM's own tile and blocking without the SGEMM's
 * whole-matrix B packing.
 *
 * Per image and group the forward pass is the GEMM y[n,g] = w[g] x[n,g]
 * (kg x cg times cg x HW), backward-data dx[n,g] = w[g]^T dy[n,g]. Through
 * the SGEMM, the image (its B) is packed panel by panel for the whole
 * image: 128 bytes of every channel row at a time (one stream per channel,
 * which no prefetcher follows), into a buffer as large as the image, which
 * then goes out to L3 and comes back for the micro-kernel. Measured on
 * c256 56x56 k64: 24% of the time in the B packer. Here:
 *   - the filters are packed once per call (A panels of every KC block and
 *     group; small next to the image);
 *   - a task is a block of nb pixels of one image and group; for each KC
 *     block it packs the block's B panels row by row (cd->pack_b_pw: each
 *     channel row read left to right in one stream) into a buffer sized to
 *     stay in L2, and runs the SGEMM's macro-kernel (its MR x NR tile) over
 *     it.
 * Bits: the KC blocks, the micro-kernel and the epilogue are the SGEMM's
 * (sgemm_desc), so every output gets the SGEMM's bits (gemm_driver.h),
 * whatever nb, the thread count and the batch: the same as the paths this
 * one replaces, and the AVX2 tile's (same KC). */
#include <stdint.h>

#include "conv_internal.h"
#include "gemm_driver.h"
#include "internal.h"
#include "parallel.h"
#include "scratch.h"

/* Floats of one task's packed B block (KC x nb): 256 KiB, an eighth of
   the L2, so the block, the filters' A block and the output tile stay in
   L2 together. */
#define PW_B_FLOATS (64 * 1024)

static int64_t round_up64(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

/* M: rows of the output per group (kg forward, cg backward-data). With few
   rows the SGEMM runs its no-pack row kernel, which reads the image in
   place and wastes no tile rows; measured against this path (GFLOP/s, one
   thread): M 16 (c32 112x112 k16): 71 vs 52; M 24: 92-95 vs 96-100; M 32
   (backward-data c32 k16): 72-74 vs 77-80. So this path from 17 rows. */
#define PW_MIN_ROWS 17

int nb_conv_use_pointwise(const nb_conv_desc *cd, const nb_conv_geom *g, int64_t M) {
    return g->pointwise && cd->pack_b_pw && cd->sgemm_desc && M >= PW_MIN_ROWS;
}

typedef struct {
    const nb_conv_desc *cd;
    const nb_gemm_desc *gd;
    int trans_w;            /* 0: A = w[g] (forward); 1: A = w[g]^T (backward-data) */
    int64_t M, K;           /* rows of the output (kg / cg) and the sum's length (cg / kg) */
    int64_t G, HW;
    int64_t in_ch, out_ch;  /* channels per image of the tensor read and the one written */
    int64_t nb, nblk;       /* pixels per task, blocks per image */
    int64_t nkc, a_block;   /* KC blocks of K; floats of one packed A block */
    const float *w, *in, *bias;
    float *apack, *out;
} pw_ctx;

/* Packed A blocks i = gi nkc + b (group gi, KC block b), each a_block
   floats apart (64-byte aligned, with the packer's slack). */
static int pack_a_blocks(void *ctx, int64_t lo, int64_t hi) {
    const pw_ctx *c = ctx;
    const int64_t kcmax = c->gd->kc;
    for (int64_t i = lo; i < hi; i++) {
        const int64_t gi = i / c->nkc, pc = i % c->nkc * kcmax;
        const int64_t kc = kcmax < c->K - pc ? kcmax : c->K - pc;
        const float *wg = c->w + gi * c->M * c->K;
        /* forward: A[m, k] = w[g][m, k] (row length K); backward-data:
           A[m, k] = w[g][k, m] (w[g] is kg x cg = K x M). */
        const float *a0 = c->trans_w ? wg + pc * c->M : wg + pc;
        const int64_t lda = c->trans_w ? c->M : c->K;
        c->gd->pack_a(c->trans_w, (size_t)c->M, (size_t)kc, a0, (ptrdiff_t)lda,
                      c->apack + i * c->a_block);
    }
    return 0;
}

/* Input and output of task t: its *nj pixels of one image and group. */
static void task_at(const pw_ctx *c, int64_t t, const float **in, float **out, int64_t *nj) {
    const int64_t blk = t % c->nblk, unit = t / c->nblk;
    const int64_t n = unit / c->G, gi = unit % c->G, j0 = blk * c->nb;
    *nj = c->nb < c->HW - j0 ? c->nb : c->HW - j0;
    *in = c->in + (n * c->in_ch + gi * c->K) * c->HW + j0;
    *out = c->out + (n * c->out_ch + gi * c->M) * c->HW + j0;
}

/* Rows [ic, ie) of the output over the block's B panels (tiles). */
static void tiles_mc(const pw_ctx *c, int64_t ic, int64_t ie, int64_t nj, int64_t kc,
                     const float *ab, const float *bpack, float *out, float beta,
                     const float *bias) {
    const nb_gemm_desc *gd = c->gd;
    for (int64_t jr = 0; jr < nj; jr += gd->nr) {
        const int64_t nn = gd->nr < nj - jr ? gd->nr : nj - jr;
        for (int64_t ir = ic; ir < ie; ir += gd->mr) {
            const int64_t mm = gd->mr < ie - ir ? gd->mr : ie - ir;
            float *ct = out + ir * c->HW + jr;
            nb_gemm_macro_kernel(gd, mm, nn, kc, ab + ir * kc, bpack + jr * kc, ct, c->HW, 1.0f,
                                 beta);
            if (!bias) continue;
            for (int64_t i = 0; i < mm; i++) {
                const float b = bias[ir + i];
                float *row = ct + i * c->HW;
                for (int64_t j = 0; j < nn; j++) row[j] += b;
            }
        }
    }
}

/* The macro-kernel one tile at a time (MR rows of one NR panel: the same
   tiles, the same bits): for each MC block of rows (its A panels stay in
   L2, like the SGEMM's), all its row panels over one B panel while that is
   in L1. bias (non-NULL only when the sum is one KC block and beta is 0): the
   tile's rows then get their bias added while the tile is in L1, which is
   the contract's fma(1, bias, acc) of a C that started at the bias (both
   are the correctly rounded bias + acc), without a pass over y first. */
static void tiles(const pw_ctx *c, int64_t nj, int64_t kc, const float *ab, const float *bpack,
                  float *out, float beta, const float *bias) {
    const nb_gemm_desc *gd = c->gd;
    for (int64_t ic = 0; ic < c->M; ic += gd->mc) {
        const int64_t ie = ic + gd->mc < c->M ? ic + gd->mc : c->M;
        tiles_mc(c, ic, ie, nj, kc, ab, bpack, out, beta, bias);
    }
}

/* One block of nj pixels of one image and group: every KC block of the
   sum, B packed into this thread's scratch, then the tiles. */
static nb_status pw_task(const void *ctx, int64_t t, float *bpack) {
    const pw_ctx *c = ctx;
    const nb_gemm_desc *gd = c->gd;
    const float *in;
    float *out;
    int64_t nj;
    task_at(c, t, &in, &out, &nj);
    const int64_t gi = t / c->nblk % c->G;
    const float *bias = c->bias ? c->bias + gi * c->M : NULL;
    float beta0 = 0.0f;
    if (bias && c->nkc > 1) {   /* y starts at the bias; the first KC block adds to it */
        for (int64_t m = 0; m < c->M; m++) c->cd->fill(nj, bias[m], out + m * c->HW);
        beta0 = 1.0f;
        bias = NULL;
    }
    const float *ag = c->apack + gi * c->nkc * c->a_block;
    for (int64_t pc = 0; pc < c->K; pc += gd->kc) {
        const int64_t kc = gd->kc < c->K - pc ? gd->kc : c->K - pc;
        c->cd->pack_b_pw(0, (size_t)kc, (size_t)nj, in + pc * c->HW, (ptrdiff_t)c->HW, bpack);
        tiles(c, nj, kc, ag + pc / gd->kc * c->a_block, bpack, out, pc == 0 ? beta0 : 1.0f, bias);
    }
    return NB_OK;
}

/* Pixels per task: a KC block of B panels of about PW_B_FLOATS; with
   several threads, cut finer until the tasks split evenly (or are many).
   The bits do not depend on it. */
static void pick_blocks(pw_ctx *c, int64_t units, int nt0) {
    const int64_t nr = c->gd->nr, kcb = c->gd->kc < c->K ? c->gd->kc : c->K;
    int64_t nb = PW_B_FLOATS / kcb / nr * nr;
    if (nb < nr) nb = nr;
    if (nb > c->HW) nb = c->HW;
    int64_t nblk = (c->HW + nb - 1) / nb;
    if (nt0 > 1) {
        while ((units * nblk) % nt0 != 0 && units * nblk < 4 * (int64_t)nt0 && nblk < c->HW / nr)
            nblk++;
        nb = round_up64((c->HW + nblk - 1) / nblk, nr);
        nblk = (c->HW + nb - 1) / nb;
    }
    c->nb = nb;
    c->nblk = nblk;
}

static nb_status pw_run(pw_ctx *c, const nb_conv2d_desc *d, const nb_conv_geom *g) {
    const nb_gemm_desc *gd = c->gd;
    const int64_t units = d->n * c->G;
    const int nt0 = nb_conv_task_threads(c->cd, INT64_MAX, d, g);   /* threads the work is worth */
    pick_blocks(c, units, nt0);
    const int64_t tasks = units * c->nblk;
    const int nt = tasks < nt0 ? (int)tasks : nt0;
    const int64_t kcb = gd->kc < c->K ? gd->kc : c->K;
    c->nkc = (c->K + gd->kc - 1) / gd->kc;
    c->a_block = round_up64(round_up64(c->M, gd->mr) * kcb + NB_GEMM_PACK_SLACK, 16);
    const int64_t b_floats = round_up64(round_up64(c->nb, gd->nr) * kcb, 16);
    int owned;
    float *apack = nb_conv_scratch_floats(NB_SCRATCH_CONV_FILTERS, c->G * c->nkc, 1, c->a_block, &owned);
    if (!apack) return NB_ERR_OOM;
    c->apack = apack;
    const int64_t blocks = c->G * c->nkc;
    nb_parallel_chunks(nt0 < blocks ? nt0 : (int)blocks, blocks, 1, pack_a_blocks, c);
    const nb_status st = nb_conv_run_tasks(c->cd, nt, tasks, 1, b_floats, 1, NULL, pw_task, c);
    nb_scratch_done(apack, owned);
    return st;
}

nb_status nb_conv_pointwise_forward(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                    const float *x, const float *w, const float *bias, float *y) {
    const nb_conv_geom g = nb_conv_geom_of(d);
    pw_ctx c = {.cd = cd, .gd = cd->sgemm_desc, .trans_w = 0, .M = g.kg, .K = g.cg, .G = g.G,
                .HW = g.HW, .in_ch = d->c, .out_ch = d->k, .w = w, .in = x, .bias = bias, .out = y};
    return pw_run(&c, d, &g);
}

nb_status nb_conv_pointwise_backward_data(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                          const float *dy, const float *w, float *dx) {
    const nb_conv_geom g = nb_conv_geom_of(d);
    pw_ctx c = {.cd = cd, .gd = cd->sgemm_desc, .trans_w = 1, .M = g.cg, .K = g.kg, .G = g.G,
                .HW = g.HW, .in_ch = d->k, .out_ch = d->c, .w = w, .in = dy, .bias = NULL, .out = dx};
    return pw_run(&c, d, &g);
}
