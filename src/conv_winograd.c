/* Winograd F(4x4, 3x3) convolution (conv_driver.h): 3x3, stride 1,
 * dilation 1, groups 1, any padding; forward, and backward-data as the
 * forward pass on dy with the filters transposed and rotated.
 *
 * Per call the filters are transformed (U = G g G^T, 36 points) and packed
 * as the GEMM's A blocks, one set per point (or once for many calls:
 * nb_conv_winograd_pack, src/api_conv_packed.c; or, when only one block of
 * tiles reads them, by each task for its own filter panels, right before
 * their GEMMs: gemm_fused, on the ISA's wino_gemm tile, whose 16 rows on
 * AVX-512 fill the filter transform's lanes, or, when that tile reads A
 * in place (AVX2's 6x16: 6 rows would fill 6 of 8 lanes), with U
 * row-major so that the transform runs along a filter's channels in full
 * vectors (filter_rows), and with each panel's M
 * turned into y at once). Per task (an image, a block of tb output tiles
 * of 4x4, a range of filter rows):
 *   1. the input rows the block's tiles read are copied, zero-padded, into
 *      a staging plane per channel (so that every tile reads 6 full rows of
 *      8 floats: no bounds in the micro-kernel);
 *   2. the input transform writes V = B^T d B of every channel and tile
 *      straight in the GEMM's packed B panel layout (a point's NR tiles per
 *      channel, per KC block of channels);
 *   3. per point xi, M_xi = U_xi V_xi on the GEMM macro-kernel (the KC
 *      blocks and the micro-kernel of the SGEMM);
 *   4. the output transform turns NR tiles of M at a time into 4x4 tiles,
 *      which are copied into y (clipped at the image's edge).
 * The transforms (points 0, +-1, +-2 and infinity; the micro-kernels'
 * operations: src/ukernel.h):
 *   B^T = [4  0 -5  0 1 0]   G = [ 1/4    0     0  ]   A^T = [1 1  1 1  1 0]
 *         [0 -4 -4  1 1 0]       [-1/6 -1/6  -1/6 ]         [0 1 -1 2 -2 0]
 *         [0  4 -4 -1 1 0]       [-1/6  1/6  -1/6 ]         [0 1  1 4  4 0]
 *         [0 -2 -1  2 1 0]       [1/24 1/12  1/6  ]         [0 1 -1 8 -8 1]
 *         [0  2 -1 -2 1 0]       [1/24 -1/12 1/6  ]
 *         [0  4  0 -5 0 1]       [ 0     0     1  ]
 * The bound: any term of a result passes through at most 3 + 3 roundings
 * (input transform), 4 + 4 (filter, the rounded constants 1/6 and 1/24
 * counted), C + 2 (the GEMM over C channels), 3 + 3 (output) and 1 (bias),
 * so |y - y_exact| <= gamma(C + 24) times the same computation on absolute
 * values (src/check_wino.c, README "Numerics").
 * Vectorised across tiles, not channels: the input transform then writes a
 * point's vector of NR tiles straight into the GEMM's packed B panel (no
 * packing pass), and the GEMM's output row of a point holds NR tiles the
 * output transform reads as one vector; across channels would gather the
 * NCHW planes at stride H W.
 * Bits: every tile is computed by the same operations whatever the block
 * it is in, the lane it takes and the thread that runs it (the GEMM's
 * per-column FMA chain does not depend on N), so the results are the same
 * for every thread count and for an image alone or in a batch.
 */
#include <stdlib.h>
#include <string.h>

#include "conv_internal.h"
#include "internal.h"
#include "parallel.h"
#include "scratch.h"

#define XI 36
/* V and M of one task (36 (C + K) tiles floats) up to 2 MiB, about an L2
   (measured on the 3x3 bench layers: 1 to 10% faster than half of it). */
#define TASK_L2_FLOATS 524288
/* At most this many tile blocks in a call: the filters are transformed per
   task (fused) instead of once for the call. */
#define FUSE_MAX_BLOCKS 1

static int64_t rup(int64_t v, int64_t m) { return (v + m - 1) / m * m; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* NABLA_CONV_ALGO: 0 auto (or unset, or anything else), 1 gemm, 2 winograd.
   Read on every call (a getenv, ~0.1 us against a convolution's
   microseconds at least), so a program can switch it between calls. */
int nb_conv_algo_env(void) {
    const char *e = getenv("NABLA_CONV_ALGO");
    return !e ? 0 : strcmp(e, "gemm") == 0 ? 1 : strcmp(e, "winograd") == 0 ? 2 : 0;
}

int nb_conv_winograd_shape(const nb_conv2d_desc *d) {
    return d->r == 3 && d->s == 3 && d->stride_h == 1 && d->stride_w == 1 &&
           d->dilation_h == 1 && d->dilation_w == 1 && d->groups == 1;
}

typedef struct {
    const nb_conv_desc *cd;
    const nb_conv2d_desc *d;
    int64_t C, K, P, Q, Tw, T;   /* T = Th Tw tiles of one image */
    int64_t wp, rows_max, plane; /* staging: row length, rows, floats per channel */
    int64_t tb, nblk;            /* tiles per block, blocks per image */
    int64_t rem, krows;          /* the last rem blocks of the call split in nt parts of krows rows */
    int nt;
    int64_t kcb, nkc, a_blk;     /* KC, KC blocks of C, floats of one packed A block */
    int64_t uxi, fxi;            /* floats from one point's U to the next: all of it, a panel */
    int64_t stage_f, v_f, m_f;   /* a task's scratch: staging, V, M (then 16 NR out) */
    const float *x, *apack, *bias;
    const float *w;              /* fused: the caller's filters (apack NULL) */
    int rotate, fused;           /* fused: each task transforms its filter panels */
    const nb_gemm_desc *fg;      /* fused: the tile of the filter panels (cd->wino_gemm) */
    int64_t ubuf_f;              /* fused: a task's panel of U, 36 fxi floats */
    int rowsu;                   /* fused: U row-major (a filter's channels contiguous, rows fld apart), the A-direct tile */
    int64_t fld;
    float *y;
    unsigned char *bad;          /* per image: a NaN or Inf output (redo on GEMM) */
} wctx;

/* A point-to-point stride of an odd number of 64-byte lines: the filter
   transform stores each filter's 36 points at this stride, and an even
   number of lines (14 x 256 floats, say) put all 36 into 2 of L1's 64
   sets (4x slower transform, measured). */
static int64_t odd_lines(int64_t floats) {
    const int64_t lines = (floats + 15) / 16;
    return 16 * (lines | 1);
}

/* The leftover blocks of the call (fewer than the threads), split by
   filter rows in parts of a multiple of mr (the tile whose panels the
   tasks slice), one part per thread; none when K does not give nt parts. */
static void split_rows(wctx *c, int64_t mr) {
    const int nt0 = c->nt;
    const int64_t krows = rup((c->K + nt0 - 1) / nt0, mr);
    c->krows = rup(c->K, mr);
    c->rem = 0;
    if (nt0 > 1 && c->d->n * c->nblk % nt0 != 0 && (c->K + krows - 1) / krows == nt0) {
        c->rem = c->d->n * c->nblk % nt0;
        c->krows = krows;
    }
}

/* Sizes of the plan (shape only, and the threads for the block split). 0
   when a size does not fit comfortably (the GEMM path takes the shape). */
static int plan(wctx *c, int nt0) {
    const nb_conv2d_desc *d = c->d;
    const nb_gemm_desc *gd = c->cd->gemm;
    const int64_t nr = gd->nr;
    nb_conv_out_dims(d, &c->P, &c->Q);
    c->C = d->c;
    c->K = d->k;
    const int64_t Th = (c->P + 3) / 4;
    c->Tw = (c->Q + 3) / 4;
    if (c->C > (1 << 20) || c->K > (1 << 20) || Th > (1 << 24) || c->Tw > (1 << 20)) return 0;
    c->T = Th * c->Tw;
    c->wp = 4 * c->Tw + 4;
    int64_t np = TASK_L2_FLOATS / (XI * (c->C + c->K) * nr);
    if (np < 1) np = 1;
    c->tb = min64(np * nr, rup(c->T, nr));
    c->nblk = (c->T + c->tb - 1) / c->tb;
    const int64_t kgr = rup(c->K, gd->mr), pn = (c->T + nr - 1) / nr;
    c->nt = nt0;
    /* Threads (the bits depend on neither tb nor the K rows of a task):
       with few blocks per thread, blocks of pn / nt panels, so that each
       thread gets as many; the leftover blocks (fewer than the threads),
       split by filter rows, one part per thread. A panel is the GEMM's
       unit of work (16 tiles or 1 cost the same), so a 2-thread call of
       13 panels would otherwise run 7 against 6. Also when the blocks
       split evenly in count but not in size: c64 56x56 (13 panels, L2
       blocks of 7) ran blocks of 7 and 6 panels, one per thread (the
       second thread idle 1/7 of the call); now 6 + 6 and the last panel
       split by filter rows. */
    const int64_t tpb = c->tb / nr;   /* panels per block */
    if (nt0 > 1 && d->n * c->nblk < 4 * (int64_t)nt0 &&
        (d->n * c->nblk % nt0 != 0 || (c->nblk > 1 && pn % tpb != 0))) {
        c->tb = min64(c->tb, (pn / nt0 > 0 ? pn / nt0 : 1) * nr);
        c->nblk = (c->T + c->tb - 1) / c->tb;
    }
    split_rows(c, gd->mr);
    c->rows_max = 4 * min64(Th - 1, (c->tb - 1) / c->Tw + 1) + 6;
    c->plane = c->rows_max * c->wp;
    if (c->plane > INT32_MAX / 2) return 0;   /* int32 tile offsets */
    c->kcb = gd->kc;
    c->nkc = (c->C + c->kcb - 1) / c->kcb;
    c->a_blk = rup(kgr * min64(c->kcb, c->C) + NB_GEMM_PACK_SLACK, 16);
    c->uxi = odd_lines(c->nkc * c->a_blk);
    c->fxi = odd_lines(gd->mr * min64(c->kcb, c->C) + NB_GEMM_PACK_SLACK);
    c->stage_f = rup(c->C * c->plane, 16);
    c->v_f = rup(XI * c->C * c->tb, 16);
    c->m_f = rup(XI * kgr * c->tb, 16);
    return 1;
}

/* Auto: Winograd where it pays, judged on one image's shape only (never the
   batch or the threads: an image alone gets its bits in a batch). */
static int worth_it(const wctx *c) {
    return c->C >= 16 && c->K >= 16 && c->T >= 16;
}

/* Input rows 4 tr0 - pad_h ... of image n, `rows` of them, columns from
   -pad_w, zero outside the image, into the staging planes. */
static void stage_rows(const wctx *c, int64_t n, int64_t tr0, int64_t rows, float *stage) {
    const nb_conv2d_desc *d = c->d;
    const int64_t H = d->h, W = d->w, wp = c->wp, pw = d->pad_w;
    const int64_t a = min64(pw, wp), b = min64(pw + W, wp);   /* data columns [a, b) */
    for (int64_t ch = 0; ch < c->C; ch++) {
        const float *xc = c->x + (n * c->C + ch) * H * W;
        for (int64_t rr = 0; rr < rows; rr++) {
            const int64_t ih = 4 * tr0 - d->pad_h + rr;
            float *row = stage + ch * c->plane + rr * wp;
            if (ih < 0 || ih >= H || b <= a) {
                memset(row, 0, (size_t)wp * sizeof *row);
                continue;
            }
            memset(row, 0, (size_t)a * sizeof *row);
            memcpy(row + a, xc + ih * W + (a - pw), (size_t)(b - a) * sizeof *row);
            memset(row + b, 0, (size_t)(wp - b) * sizeof *row);
        }
    }
}

/* Steps 1 and 2: V of the tiles [t0, t1) (panels of NR), all channels. */
static void input_transform(const wctx *c, int64_t n, int64_t t0, int64_t t1, float *stage,
                            float *v) {
    const int64_t nr = c->cd->gemm->nr, tbp = rup(t1 - t0, nr), tr0 = t0 / c->Tw;
    stage_rows(c, n, tr0, 4 * ((t1 - 1) / c->Tw - tr0) + 6, stage);
    int32_t off[NB_CONV_PLAN_LANES];
    for (int64_t p = 0; p * nr < t1 - t0; p++) {
        for (int64_t i = 0; i < nr; i++) {
            const int64_t t = t0 + p * nr + i;
            off[i] = t < t1 ? (int32_t)(4 * (t / c->Tw - tr0) * c->wp + 4 * (t % c->Tw)) : 0;
        }
        for (int64_t c0 = 0; c0 < c->C; c0 += c->kcb) {
            const int64_t kc = min64(c->kcb, c->C - c0);
            c->cd->wino_in((size_t)kc, stage + c0 * c->plane, (ptrdiff_t)c->plane,
                           (ptrdiff_t)c->wp, off, v + c0 * tbp + p * kc * nr,
                           (ptrdiff_t)(c->C * tbp));
        }
    }
}

/* Step 4 for filter rows [k0, k1): M (per point, (k1 - k0) x tbp) to y. */
static void output_transform(const wctx *c, int64_t n, int64_t t0, int64_t t1, int64_t k0,
                             int64_t k1, const float *m, float *out) {
    const int64_t nr = c->cd->gemm->nr, tbp = rup(t1 - t0, nr), P = c->P, Q = c->Q;
    for (int64_t k = k0; k < k1; k++) {
        float *yk = c->y + (n * c->K + k) * P * Q;
        for (int64_t p = 0; p * nr < t1 - t0; p++) {
            const int64_t live = min64(nr, t1 - t0 - p * nr);
            if (c->cd->wino_out((size_t)live, m + (k - k0) * tbp + p * nr,
                                (ptrdiff_t)((k1 - k0) * tbp), c->bias ? c->bias[k] : 0.0f, out))
                __atomic_store_n(&c->bad[n], 1, __ATOMIC_RELAXED);
            for (int64_t i = 0; i < nr && t0 + p * nr + i < t1; i++) {
                const int64_t t = t0 + p * nr + i, oh = 4 * (t / c->Tw), ow = 4 * (t % c->Tw);
                const int64_t rows = min64(4, P - oh), cols = min64(4, Q - ow);
                if (rows == 4 && cols == 4) {   /* constant sizes: inlined moves */
                    for (int64_t r = 0; r < 4; r++)
                        memcpy(yk + (oh + r) * Q + ow, out + 16 * i + 4 * r, 4 * sizeof *out);
                    continue;
                }
                for (int64_t r = 0; r < rows; r++)
                    for (int64_t q = 0; q < cols; q++) yk[(oh + r) * Q + ow + q] = out[16 * i + 4 * r + q];
            }
        }
    }
}

/* U = G g G^T of every filter, written straight into the GEMM's packed A
   blocks (one per point and KC block of channels: MR-row panels, a
   channel's MR filters contiguous), zero rows past K. rotate: the
   backward-data filters, g[k][c] = w[c][k] rotated by 180 degrees (w is
   then C x K x 3 x 3 in the forward desc's roles). This is panel pi of
   KC block b, at u with uxi floats from one point to the next. */
static void filter_panel(const wctx *c, const float *w, int rotate, int64_t mr, int64_t pi,
                         int64_t b, float *u, ptrdiff_t uxi) {
    const int64_t K = c->K, C = c->C, k0 = pi * mr, live = min64(mr, K - k0);
    const int64_t c0 = b * c->kcb, kc = min64(c->kcb, C - c0);
    for (int64_t ch = c0; ch < c0 + kc; ch++) {
        float *uc = u + (ch - c0) * mr;
        if (rotate)   /* filter (k, ch) is w[ch][k], taps reversed */
            c->cd->wino_filter((size_t)live, w + (ch * K + k0) * 9 + 8, 9, -1, uc, uxi);
        else
            c->cd->wino_filter((size_t)live, w + (k0 * C + ch) * 9, (ptrdiff_t)(C * 9), 1, uc, uxi);
        for (int64_t xi = 0; xi < XI && live < mr; xi++)
            memset(uc + xi * uxi + live, 0, (size_t)(mr - live) * sizeof *uc);
    }
}

/* The same U of panel pi (mr filters) and KC block b, row-major for the
   A-direct tile: filter k0 + j's kc channels at u + j ld (rows past K not
   written: the tile never reads them). Each call transforms a filter's
   channels, so the transform's vectors are full (the 6-filter panels
   above leave AVX2's 8 lanes 6 full and take two stores per point).
   Tried: rotated filters 16 channels at a time for the mr calls (their
   runs are 9 K floats apart, in 4 of L1's sets for K = 256, so that they
   stay in L1 across the calls): no faster on Zen 4 (1.17 -> 1.25 ms, c256
   14x14 backward-data). */
static void filter_rows(const wctx *c, const float *w, int rotate, int64_t mr, int64_t pi,
                        int64_t b, float *u, ptrdiff_t uxi, int64_t ld) {
    const int64_t K = c->K, C = c->C, k0 = pi * mr, live = min64(mr, K - k0);
    const int64_t c0 = b * c->kcb, kc = min64(c->kcb, C - c0);
    for (int64_t j = 0; j < live; j++) {
        if (rotate)   /* filter (k, ch) is w[ch][k], taps reversed */
            c->cd->wino_filter((size_t)kc, w + (c0 * K + k0 + j) * 9 + 8, (ptrdiff_t)(K * 9), -1,
                               u + j * ld, uxi);
        else
            c->cd->wino_filter((size_t)kc, w + ((k0 + j) * C + c0) * 9, 9, 1, u + j * ld, uxi);
    }
}

typedef struct {
    const wctx *c;
    const float *w;
    int rotate;
    float *apack;
} filters_run;

static int transform_filter_blocks(void *ctx, int64_t lo, int64_t hi) {
    const filters_run *r = ctx;
    const wctx *c = r->c;
    const int64_t mr = c->cd->gemm->mr;
    for (int64_t i = lo; i < hi; i++) {
        const int64_t pi = i / c->nkc, b = i % c->nkc, kc = min64(c->kcb, c->C - b * c->kcb);
        filter_panel(c, r->w, r->rotate, mr, pi, b, r->apack + b * c->a_blk + pi * mr * kc,
                     (ptrdiff_t)c->uxi);
    }
    return 0;
}

static void transform_filters(const wctx *c, const float *w, int rotate, float *apack, int nt) {
    const int64_t mr = c->cd->gemm->mr, panels = (c->K + mr - 1) / mr;
    filters_run r = {c, w, rotate, apack};
    nb_parallel_chunks(nt, panels * c->nkc, 1, transform_filter_blocks, &r);
}

/* Part `part` of `parts` of the caller's filter taps that filter_panel
   reads for panel pi (mr filters) and KC block b, prefetched into L2: the
   fused path spreads the next panel's over its 36 GEMMs, which leave L2's
   bandwidth idle, so that the filter transform finds its taps in L2 and
   not in L3 (the filters, 36 K C bytes, are more than L2 per call). The
   panel's taps are runs of floats: per filter (forward: a filter's
   channels are contiguous) or per channel (rotated: w[ch][k]). */
static void prefetch_panel(const wctx *c, int64_t mr, int64_t pi, int64_t b, int64_t part,
                           int64_t parts) {
    const int64_t k0 = pi * mr, live = min64(mr, c->K - k0), c0 = b * c->kcb;
    const int64_t kc = min64(c->kcb, c->C - c0);
    const int64_t runs = c->rotate ? kc : live, len = 9 * (c->rotate ? live : kc);
    const int64_t lines = (len + 15) / 16 + 1, lo = runs * lines * part / parts,
                  hi = runs * lines * (part + 1) / parts;
    for (int64_t i = lo; i < hi; i++) {
        const int64_t r = i / lines, l = i % lines;
        const float *run = c->rotate ? c->w + ((c0 + r) * c->K + k0) * 9 : c->w + ((k0 + r) * c->C + c0) * 9;
        __builtin_prefetch(run + min64(16 * l, len - 1), 0, 2);
    }
}

/* Steps 3 and 4 fused with the filter transform, for filter rows [k0,
   k1) of tiles [t0, t1): per MR panel and KC block, its U for the 36
   points into the task's buffer (in L2), then the panel's rows of M_xi
   (36 MR tbp floats, in L1), which the output transform turns into y
   right away. Each element of M is the same FMA chain as on the whole
   packed U (the micro-kernel computes each row on its own; the KC blocks
   come in the same order), so the same bits. */
static void gemm_fused(const wctx *c, int64_t n, int64_t t0, int64_t t1, int64_t k0, int64_t k1,
                       const float *v, float *m, float *out, float *ubuf) {
    const nb_gemm_desc *gd = c->fg;
    const int64_t mr = gd->mr, tbp = rup(t1 - t0, c->cd->gemm->nr), vxi = c->C * tbp;
    for (int64_t kp = k0; kp < k1; kp += mr) {
        const int64_t rows = min64(mr, k1 - kp), mxi = rows * tbp;
        for (int64_t b = 0; b < c->nkc; b++) {
            const int64_t c0 = b * c->kcb, kc = min64(c->kcb, c->C - c0);
            /* the block after this one: the next KC block or panel */
            const int64_t nb = b + 1 < c->nkc ? b + 1 : 0, np = nb ? kp : kp + mr;
            if (c->rowsu)
                filter_rows(c, c->w, c->rotate, mr, kp / mr, b, ubuf, (ptrdiff_t)c->fxi, c->fld);
            else
                filter_panel(c, c->w, c->rotate, mr, kp / mr, b, ubuf, (ptrdiff_t)c->fxi);
            for (int64_t xi = 0; xi < XI; xi++) {
                if (np < k1) prefetch_panel(c, mr, np / mr, nb, xi, XI);
                const float *vb = v + xi * vxi + c0 * tbp;
                float *mb = m + xi * mxi;
                const float beta = b == 0 ? 0.0f : 1.0f;
                if (!c->rowsu) {
                    nb_gemm_macro_kernel(gd, rows, t1 - t0, kc, ubuf + xi * c->fxi, vb, mb, tbp,
                                         1.0f, beta);
                    continue;
                }
                for (int64_t jr = 0; jr < t1 - t0; jr += gd->nr)
                    gd->ukernel_adirect((size_t)rows, (size_t)min64(gd->nr, t1 - t0 - jr),
                                        (size_t)kc, ubuf + xi * c->fxi, (ptrdiff_t)c->fld,
                                        vb + jr * kc, mb + jr, (ptrdiff_t)tbp, 1.0f, beta);
            }
        }
        output_transform(c, n, t0, t1, kp, kp + rows, m, out);
    }
}

static nb_status wino_task(const void *ctx, int64_t t, float *scr) {
    const wctx *c = ctx;
    const nb_gemm_desc *gd = c->cd->gemm;
    /* The whole blocks first, then the leftover blocks' parts (the small
       tasks last: the threads take them as they come free,
       nb_conv_run_tasks_ex). */
    const int64_t full = c->d->n * c->nblk - c->rem;
    int64_t u = t, k0 = 0, k1 = c->K;
    if (c->rem && t >= full) {
        u = full + (t - full) / c->nt;
        k0 = (t - full) % c->nt * c->krows;
        k1 = min64(c->K, k0 + c->krows);
    }
    const int64_t n = u / c->nblk, blk = u % c->nblk;
    const int64_t t0 = blk * c->tb, t1 = min64(c->T, t0 + c->tb), tbp = rup(t1 - t0, gd->nr);
    float *stage = scr, *v = scr + c->stage_f, *m = v + c->v_f, *out = m + c->m_f;
    input_transform(c, n, t0, t1, stage, v);
    if (c->fused) {
        gemm_fused(c, n, t0, t1, k0, k1, v, m, out, out + 16 * gd->nr);
        return NB_OK;
    }
    /* Step 3: M_xi = U_xi V_xi, KC block by KC block (the SGEMM's epilogue). */
    const int64_t vxi = c->C * tbp, mxi = (k1 - k0) * tbp;
    for (int64_t xi = 0; xi < XI; xi++)
        for (int64_t b = 0; b < c->nkc; b++) {
            const int64_t c0 = b * c->kcb, kc = min64(c->kcb, c->C - c0);
            nb_gemm_macro_kernel(gd, k1 - k0, t1 - t0, kc, c->apack + xi * c->uxi + b * c->a_blk + k0 * kc,
                                 v + xi * vxi + c0 * tbp, m + xi * mxi, tbp, 1.0f, b == 0 ? 0.0f : 1.0f);
        }
    output_transform(c, n, t0, t1, k0, k1, m, out);
    return NB_OK;
}

/* The call as the caller made it, to redo one image on the GEMM path. */
typedef struct {
    const nb_conv2d_desc *d;   /* the caller's desc */
    int bwd;                   /* backward-data: in = dy, out = dx */
    const float *in, *w, *bias;
    float *out;
} call_args;

/* One image of the caller's convolution (groups 1) by direct loops, with no
   memory of its own: the redo's last resort when the GEMM path runs out of
   memory, since by then the other images' outputs are written and an
   NB_ERR_OOM would leave a half-written result. Sums run over (c, r, s),
   or (k, r, s) for backward-data, in order, in float; the bits differ from
   the GEMM path's but are within its bound (gamma(C R S + 1)). */
static void direct_image(const nb_conv2d_desc *d, int bwd, const float *in, const float *w,
                         const float *bias, float *out) {
    int64_t P, Q;
    nb_conv_out_dims(d, &P, &Q);
    const int64_t C = d->c, H = d->h, W = d->w, K = d->k, R = d->r, S = d->s;
    if (!bwd) {   /* in = x [C, H, W], out = y [K, P, Q] */
        for (int64_t k = 0; k < K; k++)
            for (int64_t p = 0; p < P; p++)
                for (int64_t q = 0; q < Q; q++) {
                    float acc = 0;
                    for (int64_t c = 0; c < C; c++)
                        for (int64_t r = 0; r < R; r++) {
                            const int64_t h = p * d->stride_h - d->pad_h + r * d->dilation_h;
                            if (h < 0 || h >= H) continue;
                            for (int64_t s = 0; s < S; s++) {
                                const int64_t x = q * d->stride_w - d->pad_w + s * d->dilation_w;
                                if (x >= 0 && x < W) acc += w[((k * C + c) * R + r) * S + s] * in[(c * H + h) * W + x];
                            }
                        }
                    out[(k * P + p) * Q + q] = bias ? acc + bias[k] : acc;
                }
        return;
    }
    /* in = dy [K, P, Q], out = dx [C, H, W]: the pixels that read (h, x) */
    for (int64_t c = 0; c < C; c++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t x = 0; x < W; x++) {
                float acc = 0;
                for (int64_t k = 0; k < K; k++)
                    for (int64_t r = 0; r < R; r++) {
                        const int64_t ph = h + d->pad_h - r * d->dilation_h;
                        if (ph < 0 || ph % d->stride_h || ph / d->stride_h >= P) continue;
                        for (int64_t s = 0; s < S; s++) {
                            const int64_t qw = x + d->pad_w - s * d->dilation_w;
                            if (qw < 0 || qw % d->stride_w || qw / d->stride_w >= Q) continue;
                            acc += w[((k * C + c) * R + r) * S + s] * in[(k * P + ph / d->stride_h) * Q + qw / d->stride_w];
                        }
                    }
                out[(c * H + h) * W + x] = acc;
            }
}

static nb_status redo(const nb_conv_desc *cd, const call_args *a, int64_t n) {
    nb_conv2d_desc one = *a->d;
    one.n = 1;
    int64_t P, Q;
    nb_conv_out_dims(a->d, &P, &Q);
    const int64_t xs = a->d->c * a->d->h * a->d->w, ys = a->d->k * P * Q;
    const float *in = a->in + n * (a->bwd ? ys : xs);
    float *out = a->out + n * (a->bwd ? xs : ys);
    nb_status st = a->bwd ? nb_conv_backward_data_gemm(cd, &one, in, a->w, out)
                          : nb_conv_forward_gemm(cd, &one, in, a->w, a->bias, out);
    if (st == NB_ERR_OOM) {   /* the GEMM path writes nothing when it fails */
        direct_image(&one, a->bwd, in, a->w, a->bias, out);
        st = NB_OK;
    }
    return st;
}

/* The plan of a call that Winograd takes (1), or 0 to leave it to the GEMM
   paths: the ISA has the transforms, NABLA_CONV_ALGO and, for auto, the
   shape of one image say so. Filled for nt0 threads. */
static int choose(const nb_conv_desc *cd, const nb_conv2d_desc *d, int nt0, wctx *c) {
    /* The transforms fill B panels of at most NB_CONV_PLAN_LANES tiles. */
    if (!cd->wino_in || !cd->gemm || cd->gemm->nr > NB_CONV_PLAN_LANES || !nb_conv_winograd_shape(d))
        return 0;
    const int algo = nb_conv_algo_env();
    if (algo == 1) return 0;
    *c = (wctx){.cd = cd, .d = d};
    /* The auto choice on the one-thread plan: a function of the shape. */
    return plan(c, 1) && (algo == 2 || worth_it(c)) && plan(c, nt0);
}

/* The fused path's tile: the ISA's Winograd tile (its filter panels fill
   the filter transform's lanes) when it has the conv tile's nr and kc, so
   that each element is the same FMA chain over the same KC blocks as on
   the packed U (the same bits); the filter rows of the leftover split and
   the panel stride follow its mr. */
static void fused_tile(wctx *c) {
    const nb_gemm_desc *gd = c->cd->gemm, *wg = c->cd->wino_gemm;
    c->fg = wg && wg->nr == gd->nr && wg->kc == gd->kc ? wg : gd;
    split_rows(c, c->fg->mr);
    c->fxi = odd_lines(c->fg->mr * min64(c->kcb, c->C) + NB_GEMM_PACK_SLACK);
    /* A tile that reads A in place (the same FMA chains as its packed
       twin, same bits) takes U row-major: filter_rows. Rows a line past a
       multiple of 16 floats apart (not 1 KiB for C = 256). */
    c->rowsu = c->fg->ukernel_adirect != NULL;
    if (c->rowsu) {
        c->fld = rup(min64(c->kcb, c->C), 16) + 16;
        c->fxi = odd_lines(c->fg->mr * c->fld);
    }
}

/* u: the caller's prepacked filters (nb_conv_winograd_pack), or NULL to
   transform them here. */
static nb_status run(const nb_conv_desc *cd, const nb_conv2d_desc *d, const float *x,
                     const float *w, const float *u, int rotate, const float *bias, float *y,
                     int *handled, const call_args *ca) {
    const nb_conv_geom g = nb_conv_geom_of(d);
    const int nt0 = nb_conv_task_threads(cd, INT64_MAX, d, &g);
    wctx c;
    *handled = choose(cd, d, nt0, &c);
    if (!*handled) return NB_OK;
    c.x = x;
    c.bias = bias;
    c.y = y;
    /* Few tile blocks read U (a batch-1 call with few tiles): each task
       transforms its own filter panels into L2 rather than all of U
       being written out and read back (36 K C floats, most of the call).
       The bits are the same either way, so this may look at the batch. */
    /* Per thread: with its share at most FUSE_MAX_BLOCKS whole blocks
       (and parts of the leftover), the fused path on several threads too:
       a U shared by the team was written by one core and read by both, so
       the next call's filter transform wrote lines the other core held
       (c64 56x56 on 2 threads: filter16_up 17 % of the samples, 2.8 % on
       1 thread). Each thread transforms its own filter panels instead
       (twice the transforms in all, none of the line transfers). */
    c.fused = !u && (d->n * c.nblk - c.rem) / c.nt <= FUSE_MAX_BLOCKS;
    if (c.fused) fused_tile(&c);
    const int64_t tasks = c.rem ? (d->n * c.nblk - c.rem) + c.rem * c.nt : d->n * c.nblk;
    const int nt = tasks < nt0 ? (int)tasks : nt0;
    c.w = w;
    c.rotate = rotate;
    c.ubuf_f = c.fused ? XI * c.fxi : 0;
    int own_a = 0;
    float *apack = (float *)u;
    if (!u && !c.fused &&
        !(apack = nb_conv_scratch_floats(NB_SCRATCH_CONV_FILTERS, XI, 1, c.uxi, &own_a)))
        return NB_ERR_OOM;
    c.bad = calloc((size_t)d->n, 1);
    if (!c.bad) {
        nb_scratch_done(apack, own_a);
        return NB_ERR_OOM;
    }
    if (!u && !c.fused) transform_filters(&c, w, rotate, apack, nt0);
    c.apack = apack;
    const int64_t scratch = c.stage_f + c.v_f + c.m_f + 16 * cd->gemm->nr + c.ubuf_f;
    /* With leftover parts, the blocks as the threads come free (the parts,
       last, absorb the threads' drift); without, fixed shares (equal
       blocks; a batch's images stay together on a thread). */
    nb_status st = nb_conv_run_tasks_ex(cd, nt, tasks, 1, scratch, 1, NULL, wino_task, &c, c.rem != 0,
                                        NULL);
    nb_scratch_done(apack, own_a);
    for (int64_t n = 0; n < d->n && st == NB_OK; n++)
        if (c.bad[n]) st = redo(cd, ca, n);
    free(c.bad);
    return st;
}

int nb_conv_winograd_forward_packed(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                    const float *x, const float *w, const float *u,
                                    const float *bias, float *y, nb_status *st) {
    int handled;
    const call_args ca = {d, 0, x, w, bias, y};
    *st = run(cd, d, x, w, u, 0, bias, y, &handled, &ca);
    return handled;
}

int nb_conv_winograd_forward(const nb_conv_desc *cd, const nb_conv2d_desc *d, const float *x,
                             const float *w, const float *bias, float *y, nb_status *st) {
    return nb_conv_winograd_forward_packed(cd, d, x, w, NULL, bias, y, st);
}

/* Stride 1: dx is the forward convolution of dy (K channels) with the
   filters transposed and rotated, padded by 2 - pad (conv_driver.c,
   transposed_desc); pad > 2 would crop: the GEMM path takes it (0). */
static int transposed(const nb_conv2d_desc *d, nb_conv2d_desc *td) {
    if (!nb_conv_winograd_shape(d) || d->pad_h > 2 || d->pad_w > 2) return 0;
    int64_t P, Q;
    nb_conv_out_dims(d, &P, &Q);
    *td = (nb_conv2d_desc){.n = d->n, .c = d->k, .h = P, .w = Q, .k = d->c, .r = 3, .s = 3,
                           .stride_h = 1, .stride_w = 1, .pad_h = 2 - d->pad_h,
                           .pad_w = 2 - d->pad_w, .dilation_h = 1, .dilation_w = 1,
                           .groups = 1};
    return 1;
}

int nb_conv_winograd_backward_data_packed(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                          const float *dy, const float *w, const float *u,
                                          float *dx, nb_status *st) {
    *st = NB_OK;
    nb_conv2d_desc td;
    if (!transposed(d, &td)) return 0;
    int handled;
    const call_args ca = {d, 1, dy, w, NULL, dx};
    *st = run(cd, &td, dy, w, u, 1, NULL, dx, &handled, &ca);
    return handled;
}

int nb_conv_winograd_backward_data(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                   const float *dy, const float *w, float *dx, nb_status *st) {
    return nb_conv_winograd_backward_data_packed(cd, d, dy, w, NULL, dx, st);
}

/* Prepacked filters: the packed U of the call's plan (its layout depends
   on C, K and the ISA's GEMM tile only, not on the threads or the batch). */
int64_t nb_conv_winograd_pack_floats(const nb_conv_desc *cd, const nb_conv2d_desc *d, int bwd) {
    nb_conv2d_desc td = *d;
    wctx c;
    if (bwd && !transposed(d, &td)) return 0;
    return choose(cd, &td, 1, &c) ? XI * c.uxi : 0;
}

void nb_conv_winograd_pack(const nb_conv_desc *cd, const nb_conv2d_desc *d, int bwd,
                           const float *w, float *u, int nt) {
    nb_conv2d_desc td = *d;
    wctx c;
    if (bwd && !transposed(d, &td)) return;
    if (choose(cd, &td, 1, &c)) transform_filters(&c, w, bwd, u, nt);
}
