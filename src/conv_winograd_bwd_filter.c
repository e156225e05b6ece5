/* Winograd backward-filter F(3x3, 4x4) (conv_driver.h): 3x3, stride 1,
 * dilation 1, groups 1, any padding; the transpose of the forward pass's
 * F(4x4, 3x3) (src/conv_winograd.c) on the same points 0, +-1, +-2, inf.
 *
 * dy (P x Q per filter) is tiled like the forward tiles y: tile (th, tw)
 * covers dy rows 4 th .. 4 th + 3 (zero past P, Q) and reads the 6x6 x
 * window from (4 th - pad_h, 4 tw - pad_w) (zero outside the image). Its
 * share of dw[k][c] (the correlation of the window with the dy tile) is
 *   G^T (E_k o V_c) G,  V = B^T d B (the forward's input transform),
 *                       E = A e A^T (e the 4x4 dy tile, A = (A^T)^T),
 * so, summed over the tiles t of every image,
 *   M_xi[k][c] = sum_t E_xi[k][t] V_xi[c][t]   (36 GEMMs, depth = tiles)
 *   dw[k][c]   = G^T M[k][c] G                 (once per call).
 * Per chunk of tiles (a block of one image's tiles, or whole images: a
 * function of one image's shape and the batch, tile_chunks), on one thread:
 *   1. x's and dy's rows under the chunk's tiles are copied, zero-padded,
 *      into staging planes (every window then reads full rows);
 *   2. the transforms write V_xi as a tiles x C matrix and E_xi as tiles x
 *      K, one tile's LANES channels (filters) per micro-kernel call (its
 *      lanes run across channels here, across tiles in the forward);
 *   3. M_g,xi (+)= E_xi^T V_xi on the ISA's SGEMM, one point per call.
 * The chunks form up to 4 groups (consecutive chunks, a function of the
 * shape); each group is one task with its own partial sums M_g, so the
 * threads (one group at a time, no barriers) never change what is summed
 * in which order. Then M = M_0 + M_1 + ... in group order and the output
 * transform writes dw, the threads splitting the (k, c) pairs.
 * The bound (src/check_wino.c): a term of dw passes through at most 3 + 3
 * roundings (input transform), 2 + 2 (dy transform: the multiplies by 2,
 * 4, 8 are exact), N T + 1 (the product and the sums over the N T tiles
 * of the batch in any association, the KC and chunk splits included) and
 * 5 + 5 (output: a, * 1/6 with the constant's own rounding, two adds), so
 *   |dw - dw_exact| <= gamma(N T + 21) |G^T| (sum_t |E| o |V|) |G|
 * with |E| = |A| |e| |A^T|, |V| = |B^T| |d| |B| (magnitudes).
 * NaN and Inf: Winograd spreads them over whole tiles, so a non-finite dw
 * sends the call to the GEMM path (0 returned), whose NaN and Inf follow
 * the reference's.
 * The transforms: wino_in is the ISA's; the dy and output transforms have
 * AVX-512 and AVX2 kernels (the plain C dy transform took 30% of c64
 * 56x56 k64), NEON runs their plain-C twins for now.
 */
#include <stdlib.h>
#include <string.h>

#include "conv_internal.h"
#include "internal.h"
#include "parallel.h"
#include "scratch.h"

#define XI 36
/* Tiles per chunk (the GEMMs' depth), a function of K C only. Every chunk
   writes V and E (36 (C + K) depth floats) and reads them back, and reads
   and writes M (36 K C floats) once: where M fits in L2 (at most 1 MiB),
   32 tiles keep V and E there too (c64 56x56 k64, CPU time on one
   thread: 0.84-0.93 ms against 1.04-1.07 ms at 64 and 1.19 at 256); a
   larger M streams from L3 every chunk, so deeper chunks (c128 28x28
   k128: 6.3-6.8 ms at 64, 6.7-7.0 ms at 32, 6.3-7.2 ms at 256). */
#define CHUNK_TILES_MAX 64
/* (Tried, session 14, Zen 4: 128 tiles (two images a chunk) for n8 c128
   28x28 k128, to halve the M read-modify-writes on 2 threads: harness,
   alternating, 4 rounds, t1 7.6-7.8 -> 7.9-11.3 ms, t2 4.2-5.3 -> 4.9-6.9
   ms. Dropped.) */
static int64_t chunk_tiles(int64_t K, int64_t C) {
    return XI * K * C * 4 <= (1 << 20) ? 32 : CHUNK_TILES_MAX;
}

static int64_t rup(int64_t v, int64_t m) { return (v + m - 1) / m * m; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

typedef struct {
    const nb_conv_desc *cd;
    const nb_conv2d_desc *d;
    int64_t C, K, P, Q, Tw, T, lanes, cp, kp;
    int64_t nblk, tbk, ni, nchunks, depth; /* blocks per image of tbk tiles, or ni images a chunk */
    int64_t wp, rows_max, xplane, eplane;  /* staging: row length, rows, floats per plane */
    int64_t vxi, exi;                      /* floats from one point's V (E) to the next */
    int64_t groups, xs_f, es_f, v_f, e_f, m_f; /* chunk groups; floats of the buffers */
    int64_t mxi;                           /* floats from one point's M to the next */
    int64_t parts;                         /* filter parts a group is cut into (tasks) */
    const nb_gemm_desc *fd;                /* fused (one chunk): the tile's SGEMM descriptor, else NULL */
    int64_t fbxi, fa_f, fcb, fp_f, fm_f;   /* fused: floats of a point's packed V; of a packed A
                                              panel; channels a block; the buffers (fused_outputs) */
    int *fbad;                             /* fused: set (atomically) when a task sees a
                                              non-finite dw; the caller's flag */
    float *m;                              /* groups partial sums M, m_f floats each */
    const float *x, *dy;
    float *dw;
} bfctx;

/* A task's buffers (its scratch): staged x and dy, V, E. */
typedef struct {
    float *xs, *es, *v, *e;
} bfbufs;

/* Chunk j: its segments (image n, tiles [t0, t1)), at most ni of them. */
static int64_t segments(const bfctx *c, int64_t j, int64_t *n, int64_t *t0, int64_t *t1) {
    if (c->nblk > 1) {
        n[0] = j / c->nblk;
        t0[0] = j % c->nblk * c->tbk;
        t1[0] = min64(c->T, t0[0] + c->tbk);
        return 1;
    }
    const int64_t n0 = j * c->ni, cnt = min64(c->ni, c->d->n - n0);
    for (int64_t s = 0; s < cnt; s++) {
        n[s] = n0 + s;
        t0[s] = 0;
        t1[s] = c->T;
    }
    return cnt;
}

/* The chunks (a function of the shape: one image's T and the batch). */
static void tile_chunks(bfctx *c) {
    const int64_t ct = chunk_tiles(c->K, c->C);
    if (c->T >= ct) {
        c->nblk = (c->T + ct - 1) / ct;
        /* An even number of chunks in all, so that the two halves of the
           chunk groups (two threads) hold as many chunks: c64 56x56 k64,
           one image, had 7 chunks of 28 tiles, groups of 1, 2, 2, 2, and
           its second thread ran 4 chunks to the first's 3. */
        if (c->nblk > 1 && c->d->n * c->nblk % 2) c->nblk++;
        c->tbk = (c->T + c->nblk - 1) / c->nblk;
        c->ni = 1;
        c->depth = c->tbk;
        c->nchunks = c->d->n * c->nblk;
    } else {
        c->nblk = 1;
        c->tbk = c->T;
        c->ni = min64(c->d->n, ct / c->T);
        c->depth = c->ni * c->T;
        c->nchunks = (c->d->n + c->ni - 1) / c->ni;
    }
}

/* Sizes of the plan (the shape only); 0 when a size does not fit (the
   GEMM path). */
static int plan(bfctx *c) {
    const nb_conv2d_desc *d = c->d;
    nb_conv_out_dims(d, &c->P, &c->Q);
    c->C = d->c;
    c->K = d->k;
    if (d->n < 1 || c->C < 1 || c->K < 1 || c->P < 1 || c->Q < 1) return 0;
    if (c->C > (1 << 20) || c->K > (1 << 20) || c->P > (1 << 24) || c->Q > (1 << 20)) return 0;
    const int64_t Th = (c->P + 3) / 4;
    c->Tw = (c->Q + 3) / 4;
    c->T = Th * c->Tw;
    c->lanes = c->cd->gemm->nr;
    c->cp = rup(c->C, c->lanes);
    c->kp = rup(c->K, c->lanes);
    tile_chunks(c);
    c->wp = 4 * c->Tw + 4;
    c->rows_max = 4 * min64(Th - 1, (c->tbk - 1) / c->Tw + 1) + 6;
    c->xplane = c->rows_max * c->wp;
    c->eplane = c->xplane;
    /* int32 lane offsets: channel (filter) planes of one segment */
    if ((c->C > c->K ? c->C : c->K) * c->xplane > INT32_MAX / 2) return 0;
    c->vxi = c->depth * c->cp;
    c->exi = c->depth * c->kp;
    return 1;
}

/* Auto: Winograd where it pays, judged on one image's shape only. At
   least 16 tiles: c256 14x14 k256 (16 tiles, batch 1: 36 GEMMs of
   256x256x16 that read and write a 9 MiB M) runs in 0.83x the GEMM path's
   time (AVX-512; 0.75x AVX2). Fewer filters at 16 tiles and c512 7x7
   (4 tiles) are not measured, so they stay on the GEMM path. At most
   256 x 256 filters x channels (M up to 9 MiB, measured); larger M are
   untried, so they stay on the GEMM path. */
static int worth_it(const bfctx *c) {
    return c->C >= 16 && c->K >= 16 && (c->T >= 32 || (c->T >= 16 && c->K * c->C >= 128 * 128)) &&
           c->K * c->C <= 256 * 256;
}

/* rows rows of one plane (H x W at src) from row r0, columns from c0, zero
   outside the plane, into dst (wp floats a row). */
static void stage_plane(const float *src, int64_t H, int64_t W, int64_t r0, int64_t c0,
                        int64_t rows, int64_t wp, float *dst) {
    const int64_t a = min64(c0 < 0 ? -c0 : 0, wp), b = min64(W - c0, wp);   /* data columns [a, b) */
    for (int64_t rr = 0; rr < rows; rr++) {
        const int64_t ih = r0 + rr;
        float *row = dst + rr * wp;
        if (ih < 0 || ih >= H || b <= a) {
            memset(row, 0, (size_t)wp * sizeof *row);
            continue;
        }
        memset(row, 0, (size_t)a * sizeof *row);
        memcpy(row + a, src + ih * W + (a + c0), (size_t)(b - a) * sizeof *row);
        memset(row + b, 0, (size_t)(wp - b) * sizeof *row);
    }
}

/* Step 1, every plane of the chunk (segments x (C + K)). */
static void stage(const bfctx *c, const bfbufs *b, int64_t ns, const int64_t *n,
                  const int64_t *t0, const int64_t *t1, int64_t k0, int64_t k1) {
    const nb_conv2d_desc *d = c->d;
    const int64_t per = c->C + k1 - k0;
    for (int64_t i = 0; i < ns * per; i++) {
        const int64_t s = i / per, ch = i % per, tr0 = t0[s] / c->Tw, tr1 = (t1[s] - 1) / c->Tw;
        if (ch < c->C) {
            stage_plane(c->x + (n[s] * c->C + ch) * d->h * d->w, d->h, d->w, 4 * tr0 - d->pad_h,
                        -d->pad_w, 4 * (tr1 - tr0) + 6, c->wp,
                        b->xs + (s * c->C + ch) * c->xplane);
        } else {
            const int64_t k = k0 + ch - c->C;
            stage_plane(c->dy + (n[s] * c->K + k) * c->P * c->Q, c->P, c->Q, 4 * tr0, 0,
                        4 * (tr1 - tr0) + 4, c->wp, b->es + (s * c->K + k) * c->eplane);
        }
    }
}

/* Step 2, every tile of the chunk (row r of V and E: segment s, tile t). */
static void transform(const bfctx *c, const bfbufs *b, int64_t ns, const int64_t *t0,
                      const int64_t *t1, int64_t k0, int64_t k1) {
    const int64_t L = c->lanes;
    int32_t off[NB_CONV_PLAN_LANES];
    int64_t r = 0;
    for (int64_t s = 0; s < ns; s++) {
        const int64_t tr0 = t0[s] / c->Tw;
        const float *xs = b->xs + s * c->C * c->xplane, *es = b->es + s * c->K * c->eplane;
        for (int64_t t = t0[s]; t < t1[s]; t++, r++) {
            const int64_t at = 4 * (t / c->Tw - tr0) * c->wp + 4 * (t % c->Tw);
            for (int64_t c0 = 0; c0 < c->C; c0 += L) {
                for (int64_t i = 0; i < L; i++) off[i] = (int32_t)((c0 + i < c->C ? c0 + i : 0) * c->xplane);
                c->cd->wino_in(1, xs + at, 0, (ptrdiff_t)c->wp, off, b->v + r * c->cp + c0,
                               (ptrdiff_t)c->vxi);
            }
            for (int64_t kb = k0; kb < k1; kb += L) {
                for (int64_t i = 0; i < L; i++) off[i] = (int32_t)((kb + i < k1 ? kb + i : k0) * c->eplane);
                c->cd->wino_bf_dy(1, es + at, 0, (ptrdiff_t)c->wp, off, b->e + r * c->kp + kb,
                                  (ptrdiff_t)c->exi);
            }
        }
    }
}

/* One chunk in all (c256 14x14 k256, one image: 16 tiles), filters
   [k0, k1): dw straight from the chunk's E and V, block by block, without
   M. Through M, the 36 GEMMs of depth 16 wrote 36 K C floats (9 MiB) out
   to memory and the output transform read them back: 1.3 and 1.1-1.3 ms
   of a 2.9 ms call on one thread (Zen 4, instrumented). Here V is packed
   once into the tile's B panels (36 points), and for each MR filters
   (their 36 A panels packed) and fcb channels the tiles write the 36
   points' MR x fcb block of M into a buffer that stays in L2, and the
   output transform reads it from there. Every M element is the same
   single FMA chain over the chunk's tiles (depth < KC) as the SGEMM's,
   stored with beta 0: the bits of the M path. */
static void fused_outputs(const bfctx *c, const bfbufs *b, int64_t rows, int64_t k0, int64_t k1, float *fp) {
    const nb_gemm_desc *gd = c->fd;
    const int64_t MR = gd->mr, NR = gd->nr, C = c->C, cb_max = c->fcb;
    float *bpk = fp, *ap = bpk + XI * c->fbxi, *mb = ap + XI * c->fa_f;
    int bad = 0;
    for (int64_t xi = 0; xi < XI; xi++)
        gd->pack_b(0, (size_t)rows, (size_t)C, b->v + xi * c->vxi, c->cp, bpk + xi * c->fbxi);
    for (int64_t kb = k0; kb < k1; kb += MR) {
        const int64_t m = min64(MR, k1 - kb);
        for (int64_t xi = 0; xi < XI; xi++)
            gd->pack_a(1, (size_t)m, (size_t)rows, b->e + xi * c->exi + kb, c->kp, ap + xi * c->fa_f);
        for (int64_t cb = 0; cb < C; cb += cb_max) {
            const int64_t nc = min64(cb_max, C - cb);
            for (int64_t xi = 0; xi < XI; xi++)
                for (int64_t j = cb; j < cb + nc; j += NR)
                    gd->ukernel((size_t)m, (size_t)min64(NR, C - j), (size_t)rows, ap + xi * c->fa_f,
                                bpk + xi * c->fbxi + j * rows, mb + xi * MR * cb_max + (j - cb), cb_max,
                                1.0f, 0.0f);
            for (int64_t kl = 0; kl < m; kl++)
                bad |= c->cd->wino_bf_out((size_t)nc, mb + kl * cb_max, (ptrdiff_t)(MR * cb_max),
                                          c->dw + 9 * ((kb + kl) * C + cb));
        }
    }
    if (bad) __atomic_store_n(c->fbad, 1, __ATOMIC_RELAXED);
}

/* Task (g, p): filters [k0, k1) of part p (of c->parts, cut on lane
   blocks) over group g of the chunks, on one thread (no barriers: a
   thread descheduled on a busy machine holds up no other): each chunk
   staged, transformed, then rows [k0, k1) of M_g,xi (+)= E_xi^T V_xi for
   the 36 points, beta 0 for the group's first chunk. Every part redoes the
   chunk's V (C channels); a GEMM row's bits do not depend on the rows
   around it, so the parts give the bits of one task. Groups and parts
   depend on the shape only. */
static nb_status group_task(const void *ctx, int64_t task, float *scr) {
    const bfctx *c = ctx;
    const bfbufs b = {scr, scr + c->xs_f, scr + c->xs_f + c->es_f, scr + c->xs_f + c->es_f + c->v_f};
    const int64_t g = task / c->parts, p = task % c->parts, kblocks = c->kp / c->lanes;
    const int64_t k0 = p * kblocks / c->parts * c->lanes;
    const int64_t k1 = min64(c->K, (p + 1) * kblocks / c->parts * c->lanes);
    float *m = c->m + g * c->m_f;
    const int64_t j0 = g * c->nchunks / c->groups, j1 = (g + 1) * c->nchunks / c->groups;
    int64_t n[CHUNK_TILES_MAX], t0[CHUNK_TILES_MAX], t1[CHUNK_TILES_MAX];
    for (int64_t j = j0; j < j1; j++) {
        const int64_t ns = segments(c, j, n, t0, t1);
        stage(c, &b, ns, n, t0, t1, k0, k1);
        transform(c, &b, ns, t0, t1, k0, k1);
        int64_t rows = 0;
        for (int64_t s = 0; s < ns; s++) rows += t1[s] - t0[s];
        if (c->fd) {
            fused_outputs(c, &b, rows, k0, k1, scr + c->xs_f + c->es_f + c->v_f + c->e_f);
            continue;
        }
        for (int64_t xi = 0; xi < XI; xi++) {
            const nb_status st = c->cd->sgemm(1, 0, k1 - k0, c->C, rows, 1.0f, b.e + xi * c->exi + k0,
                                              c->kp, b.v + xi * c->vxi, c->cp, j == j0 ? 0.0f : 1.0f,
                                              m + xi * c->mxi + k0 * c->C, c->C);
            if (st != NB_OK) return st;
        }
    }
    return NB_OK;
}

/* (k, c) pairs [lo, hi): M = M_0 + M_1 + ... in group order (into M_0),
   then the output transform into dw; nonzero for a non-finite dw. */
static int output_pairs(void *ctx, int64_t lo, int64_t hi) {
    const bfctx *c = ctx;
    for (int64_t g = 1; g < c->groups; g++)
        for (int64_t xi = 0; xi < XI; xi++) {
            float *m0 = c->m + xi * c->mxi;
            const float *mg = c->m + g * c->m_f + xi * c->mxi;
            for (int64_t i = lo; i < hi; i++) m0[i] += mg[i];
        }
    return c->cd->wino_bf_out((size_t)(hi - lo), c->m + lo, (ptrdiff_t)c->mxi, c->dw + 9 * lo) != 0;
}

/* (Tried, session 13, Zen 4: with one chunk, the output transform per
   block of 14 filters from an L2-sized M block instead of all of M (9 MiB
   at c256 14x14 k256) out to L3 and back; same bits. AVX-512 1 thread: one
   A/B 2.36 -> 2.12 ms, then two longer ones 1.82 -> 2.66 and 2.01 -> 2.69 ms
   (36 x 19 GEMM calls of 14 rows, each packing V again); AVX2 (12-row
   blocks) 2.05 -> 2.25. Reverted.) */
/* Chunk groups: up to 4 (so up to 4 threads), a function of the shape. */
#define GROUPS_MAX 4

/* Filter parts: a call of one chunk (one small image: c256 14x14 k256 is
   16 tiles) would run on one thread, so its filters are cut in two. Each
   part redoes the chunk's staging and V (C channel planes: about 25 us of
   a 1.5 ms call at c256 14x14 k256), so a call of several chunks keeps
   whole groups. */
static int64_t parts_of(const bfctx *c) {
    return c->nchunks == 1 && c->kp >= 4 * c->lanes ? 2 : 1;
}

int nb_conv_winograd_backward_filter(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                     const float *x, const float *dy, float *dw, nb_status *st) {
    *st = NB_OK;
    if (!cd->wino_in || !cd->wino_bf_dy || !cd->wino_bf_out || !cd->gemm || !cd->sgemm ||
        cd->gemm->nr > NB_CONV_PLAN_LANES || !nb_conv_winograd_shape(d))
        return 0;
    const int algo = nb_conv_algo_env();
    int fbad = 0;   /* fused: set by the tasks through c.fbad */
    bfctx c = {.cd = cd, .d = d, .x = x, .dy = dy, .dw = dw, .fbad = &fbad};
    if (algo == 1 || !plan(&c) || (algo != 2 && !worth_it(&c))) return 0;
    const int64_t ns = c.nblk > 1 ? 1 : c.ni;
    c.xs_f = rup(ns * c.C * c.xplane, 16);
    c.es_f = rup(ns * c.K * c.eplane, 16);
    c.v_f = rup(XI * c.vxi, 16);
    c.e_f = rup(XI * c.exi, 16);
    c.groups = min64(c.nchunks, GROUPS_MAX);
    c.parts = parts_of(&c);
    /* One chunk: dw straight from E and V (fused_outputs), on the SGEMM's
       tile where the ISA has one to pack for. */
    const nb_gemm_desc *sd = cd->sgemm_desc;
    int64_t fused_f = 0;
    if (c.nchunks == 1 && sd && sd->ukernel && sd->pack_a && sd->pack_b && c.depth <= sd->kc) {
        c.fd = sd;
        c.fbxi = rup((c.C + sd->nr - 1) / sd->nr * sd->nr * c.depth, 16);
        c.fa_f = rup(sd->mr * c.depth + NB_GEMM_PACK_SLACK, 16);
        c.fcb = 4 * sd->nr;
        fused_f = XI * (c.fbxi + c.fa_f + sd->mr * c.fcb);
    }
    int64_t mnk;
    if (!nb_mul_ok(XI * c.K, c.C, &c.m_f) || !nb_mul_ok(d->n * c.T * XI, c.K * c.C, &mnk))
        return 0;
    /* An odd number of lines from one point's M to the next: at K C =
       2^16 the 36 points' lines of a (k, c) pair would share one L2 set. */
    c.mxi = 16 * (((c.K * c.C + 15) / 16) | 1);
    c.m_f = rup(XI * c.mxi, 16);
    int owned = 0;
    if (!c.fd && !(c.m = nb_conv_scratch_floats(NB_SCRATCH_CONV_FILTERS, c.groups, 1, c.m_f, &owned))) {
        *st = NB_ERR_OOM;
        return 1;
    }
    int nt = nb_threads_for(mnk, cd->min_mnk_per_thread);
    if (nt > c.groups * c.parts) nt = (int)(c.groups * c.parts);
    const nb_conv_gemm_shape gemm = {1, 0, c.K, c.C, c.depth};
    *st = nb_conv_run_tasks(cd, nt, c.groups * c.parts, 1, c.xs_f + c.es_f + c.v_f + c.e_f + fused_f, 1,
                            c.fd ? NULL : &gemm, group_task, &c);
    const int bad = *st == NB_OK && (c.fd ? __atomic_load_n(&fbad, __ATOMIC_RELAXED)
                                          : nb_parallel_chunks(nt, c.K * c.C, 16, output_pairs, &c));
    nb_scratch_done(c.m, owned);
    return *st != NB_OK || !bad;   /* non-finite: the GEMM path redoes the call */
}
