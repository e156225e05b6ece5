/* Direct forward convolution in the broadcast orientation (the ISA's
 * nb_conv_desc.bcast tile, src/ukernel_convbcast.h): vector over output
 * channels (filters), broadcast the image's scalars, as oneDNN's and
 * XNNPACK's direct kernels do, here on NCHW.
 *
 * Why: the implicit-im2col path (conv_implicit.c) packs a B panel from
 * the image for every 32 pixels and KC block (~10 % of the 3x3 stride-2
 * c128 56x56 layer, waiting on the image's lines, stride 2 splitting its
 * runs). Here a tile is MP output pixels of one output row by NF filters:
 * per tap it loads the tap's NF packed filter values and broadcasts one
 * image value per pixel straight from the image row (pixel i of the tap
 * at a compile-time displacement i stride_w), so nothing is packed but
 * the filters, once per call ([filter block][tap][NF]), and the stride
 * costs nothing.
 *
 * Loop order per task (one output row of one image): the row's tiles,
 * then the filter blocks, each tile call over all the taps (no KC cut:
 * the chain of each output is one FMA chain over the taps in (c, r, s)
 * order, then the bias in one add). The row's input rows (C R rows) stay
 * in L2 for the filter blocks; a filter block (L NF floats, 147 KB for
 * c128 3x3 NF 32) is read from L2 by each tile call (the tile alone, 384
 * tap rows of 3 taps, weights from L2: 115 GFLOP/s on Zen 4, 98.6 % of
 * the FMA peak). The tile calls also prefetch the next task's image rows
 * and their own output lines, a line per tap row.
 *
 * Padding: a padded input row is uniform over a tile (one output row):
 * its taps are multiplied by zeros (or skipped when every packed filter
 * value is finite: 0 w then only adds +-0); for a tile whose columns leave
 * the image (the row's first tile with pad_w > 0, a last tile) the ISA's
 * pad function copies each input row's span once (masked loads, zeros
 * outside the image) for all the filter blocks, and the tile reads the
 * copies: the zeros multiplied as the reference does.
 *
 * Measured (Zen 4, 1 thread, c128 56x56 k128 3x3 s2 p1, medians of 3
 * alternated runs of 5, /tmp/ab.sh): AVX-512 2.562 -> 2.193 ms (main's
 * implicit path -> this; oneDNN 2.12, XNNPACK 2.16 in the same runs:
 * 0.97x / 0.98x of them); AVX2 (NABLA_ISA=avx2, oneDNN capped at AVX2)
 * 2.615 -> 2.678 ms while oneDNN went 2.362 -> 2.489 (about 0.97 of
 * main's time relative to it; an earlier run 2.571 -> 2.471 with oneDNN
 * flat); 2 threads (real time) 1.297 -> 1.16 ms.
 *
 * The 7x7 stride-2 stem (c3 224x224 k64 p3) on this tile, forced
 * (NABLA_CONV_PATH=bcast; the selection runs before conv_direct.c's for
 * that): 2.123 -> 2.276 ms against conv_direct.c's vector-over-pixels
 * kernel (oneDNN 2.082 -> 2.188 in the same runs): no better; 21 tap
 * rows a call leave the tile's start and transpose ~5 % of the call (a
 * 7 x 64 tile would halve that; not tried).
 *
 * Bits: every output's chain depends only on the taps, never on the
 * tile, block, thread or batch: an image alone gets its in-batch bits,
 * and any thread count the same bits.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conv_internal.h"
#include "scratch.h"

typedef struct {
    const nb_conv_desc *cd;
    const nb_conv2d_desc *d;
    nb_conv_geom g;
    int64_t nkb;            /* filter blocks of NF */
    int64_t span;           /* image columns a tile reads in one row */
    int64_t ldp;            /* floats of a padded row (span rounded up to 16) */
    int64_t ptr_floats;     /* floats of a task's table of R row pointers (rounded to 16) */
    int64_t pad_floats;     /* floats of a task's padded rows (rounded to 16) */
    int64_t ntiles, lpr;    /* tiles of an output row; lines of an image row (at most) */
    int64_t tasks;
    const float *x, *w, *bias;
    float *y;
    float *wp;              /* packed filters: block kb's tap l at wp + (kb L + l) NF */
    int *nonfinite;         /* set (atomically) by a member whose share of wp is not finite */
} bcast_ctx;

/* NABLA_CONV_BCAST, read per call (the tests switch it): 1 take this
   path wherever it is possible, 0 never, unset: NABLA_CONV_PATH (read
   once: bcast forces this path, implicit / explicit the GEMM paths), else
   by shape. An alias of NABLA_CONV_PATH=bcast kept for the tests, which
   need a switch read per call. */
static int bcast_env(void) {
    const char *e = getenv("NABLA_CONV_BCAST");
    if (!e || !*e) return -1;
    return strcmp(e, "0") != 0;
}

/* Possible: the ISA's tile, one group, stride_w 1 or 2, a row span the
   edge variant can copy, int32-free pointer math (the row table holds
   pointers). Worth it (auto): stride 2 both ways, 3x3, enough channels,
   filters and output columns to fill the tiles; a function of one
   image's shape only (and whether the ISA has a tile). */
int nb_conv_use_bcast(const nb_conv_desc *cd, const nb_conv2d_desc *d, const nb_conv_geom *g) {
    const nb_conv_bcast_ukernel *u = &cd->bcast;
    if (!u->fn || !u->pad || g->G != 1 || g->pointwise || d->stride_w < 1 || d->stride_w > 2 ||
        d->dilation_w < 1 || d->s > 64 || d->dilation_w > 64)
        return 0;
    const int64_t span = (u->mp - 1) * d->stride_w + (d->s - 1) * d->dilation_w + 1;
    if (span > u->max_span) return 0;
    const int env = bcast_env();
    if (env >= 0) return env;
    if (nb_conv_bcast_forced()) return 1;
    if (nb_conv_implicit_forced()) return 0;   /* NABLA_CONV_PATH forces the GEMM paths */
    /* Not the tile's MP / NF: every ISA with a tile must choose the same
       path (AVX-512 gives the AVX2 bits, tests/test_conv_simd.c). */
    return d->stride_h == 2 && d->stride_w == 2 && d->r == 3 && d->s == 3 &&
           d->dilation_h == 1 && d->dilation_w == 1 && g->cg >= 32 && g->kg >= 32 && g->Q >= 14;
}

/* Team member tid of nt packs its share of wp's (block, chunk of
   PACK_TAPS taps) pieces and flags a filter value that is not finite. A
   piece reads NF rows of PACK_TAPS floats of w and writes PACK_TAPS NF
   contiguous floats (8 KB each way, in L1). Dead end: tap by tap (NF
   rows of w read at once, 4.6 KB apart) or row by row (wp written every
   NF floats, a block's 147 KB of lines reloaded from L2 per row) both
   took ~5 % of the c128 layer's time; so did this loop as scalar moves
   (now the ISA's transpose) and finiteness tested by summing 0 * v (one
   add chain). This pass still takes ~4-5 % of the c128 layer (w, 590 KB,
   comes from L3: x, y and wp push it out between calls); prefetching the
   next piece's lines at the start of each piece measured no better
   (1.02x slower, noise level). */
#define PACK_TAPS 64
static void pack_filters(const void *ctx, int tid, int nt) {
    const bcast_ctx *c = ctx;
    const int64_t L = c->g.L, K = c->g.kg, nf = c->cd->bcast.nf;
    const int64_t chunks = (L + PACK_TAPS - 1) / PACK_TAPS;
    int64_t lo, hi;
    nb_parallel_share(c->nkb * chunks, tid, nt, &lo, &hi);
    uint32_t bad = 0;   /* bit 31: a value with an all-ones exponent (not finite) */
    /* First the finiteness of this member's blocks' filters, one
       contiguous run of w (rows k of the blocks): a stream the hardware
       prefetches, which brings w (from L3: x, y and wp push it out
       between calls) into L2 for the transposes below. Tested piece by
       piece (32 rows of 256 bytes, 4.6 KB apart) it was ~4-5 % of the
       c128 layer, waiting on L3. An all-ones exponent plus one carries
       into bit 31: branch-free (vectorised; the == test was not). */
    if (lo < hi) {
        const int64_t k0 = lo / chunks * nf, k1 = (hi - 1) / chunks * nf + nf < K
                                                  ? (hi - 1) / chunks * nf + nf : K;
        const float *wr = c->w + k0 * L;
        for (int64_t e = 0; e < (k1 - k0) * L; e++) {
            uint32_t u;
            memcpy(&u, &wr[e], sizeof u);
            bad |= (u & 0x7f800000u) + 0x00800000u;
        }
    }
    for (int64_t i = lo; i < hi; i++) {
        const int64_t kb = i / chunks, l0 = i % chunks * PACK_TAPS;
        const int64_t l1 = l0 + PACK_TAPS < L ? l0 + PACK_TAPS : L;
        const int64_t kn = K - kb * nf < nf ? K - kb * nf : nf;
        float *restrict o = c->wp + (kb * L) * nf;
        const float *wb = c->w + kb * nf * L;
        if (c->cd->transpose32) {
            c->cd->transpose32(l1 - l0, kn, wb + l0, L, o + l0 * nf, nf, 0);
        } else {
            for (int64_t j = 0; j < kn; j++)
                for (int64_t l = l0; l < l1; l++) o[l * nf + j] = wb[j * L + l];
        }
        for (int64_t l = l0; l < l1; l++)
            for (int64_t j = kn; j < nf; j++) o[l * nf + j] = 0.0f;
    }
    if (bad >> 31) __atomic_store_n(c->nonfinite, 1, __ATOMIC_RELAXED);
}

/* A task: output row p of image n. Its scratch: the R row pointers of
   channel 0 (NULL for padded rows), the same for the padded copies, the
   next task's (the prefetches), then the padded rows (rows of ldp
   floats). */
static nb_status bcast_task(const void *ctx, int64_t t, float *scratch) {
    const bcast_ctx *c = ctx;
    const nb_conv2d_desc *d = c->d;
    const nb_conv_geom *g = &c->g;
    const nb_conv_bcast_ukernel *u = &c->cd->bcast;
    const int64_t n = t / g->P, p = t % g->P, R = d->r;
    const float **row0 = (const float **)(void *)scratch;
    const float **pad0 = (const float **)(void *)(scratch + c->ptr_floats);
    const float **pf = (const float **)(void *)(scratch + 2 * c->ptr_floats);
    float *pad = scratch + 3 * c->ptr_floats;
    const float *xn = c->x + n * d->c * g->HW;
    for (int64_t r = 0; r < R; r++) {
        const int64_t ih = p * d->stride_h - d->pad_h + r * d->dilation_h;
        row0[r] = ih >= 0 && ih < d->h ? xn + ih * d->w : NULL;
        pad0[r] = row0[r] ? pad + r * c->ldp : NULL;
    }
    /* Read after the team's barrier: every member's share is packed. */
    const int skip = !__atomic_load_n(c->nonfinite, __ATOMIC_RELAXED);
    float *yrow = c->y + n * d->k * g->PQ + p * g->Q;
    /* The next task's image rows (this thread's, in static shares): line
       j of every row prefetched by this task's tile call j (a line per
       tap row, spread over the tile's taps): the image comes from memory
       (1.6 MB for the c128 layer), and the pad copies and the tiles
       waited on its lines. Zen 4, c128 layer, 1 thread: 2.354 -> 2.241
       ms (medians of 3 alternated runs of 5). Tried: the prefetches as a
       list of lines built per task (1920 addresses: the list cost what it
       saved), T1 instead of T0 (no better). */
    const int do_pf = t + 1 < c->tasks;
    if (do_pf) {
        const int64_t n1 = (t + 1) / g->P, p1 = (t + 1) % g->P;
        const float *xn1 = c->x + n1 * d->c * g->HW;
        for (int64_t r = 0; r < R; r++) {
            const int64_t ih = p1 * d->stride_h - d->pad_h + r * d->dilation_h;
            pf[r] = ih >= 0 && ih < d->h ? xn1 + ih * d->w : NULL;
        }
    }
    int64_t call = 0;
    /* Tiles outer: an edge tile's padded rows serve every filter block. */
    for (int64_t q0 = 0; q0 < g->Q; q0 += u->mp) {
        const int64_t mp = g->Q - q0 < u->mp ? g->Q - q0 : u->mp;
        int64_t col0 = q0 * d->stride_w - d->pad_w;
        const float *const *rp = row0;
        int64_t ldc = g->HW;
        /* A first tile one column into the padding reads the image when
           the tile takes that column's zero itself (lead_pad: pixel 0's
           first tap): AVX-512, c128 layer, 1 thread, medians of 7
           alternated runs: 2.208 -> 2.095 ms with the row tables gone
           (oneDNN 2.098 / 2.078 in the same runs). */
        if (col0 < -u->lead_pad || col0 + c->span > d->w) {
            u->pad((size_t)g->cg, (size_t)R, row0, (ptrdiff_t)g->HW, (ptrdiff_t)col0,
                   (size_t)c->span, (size_t)d->w, pad, (size_t)c->ldp);
            rp = pad0;
            ldc = R * c->ldp;
            col0 = 0;
        }
        for (int64_t kb = 0; kb < c->nkb; kb++) {
            const int64_t k0 = kb * u->nf, kn = g->kg - k0 < u->nf ? g->kg - k0 : u->nf;
            u->fn((size_t)kn, (size_t)mp, (size_t)g->cg, (size_t)R, (size_t)d->s, rp,
                  (ptrdiff_t)ldc, (ptrdiff_t)col0, (size_t)d->stride_w, (size_t)d->dilation_w,
                  skip, c->wp + kb * g->L * u->nf, yrow + k0 * g->PQ + q0, (ptrdiff_t)g->PQ,
                  c->bias ? c->bias + k0 : NULL, do_pf && call < c->lpr ? pf : NULL,
                  (ptrdiff_t)g->HW, (ptrdiff_t)(16 * call < d->w - 1 ? 16 * call : d->w - 1));
            call++;
        }
    }
    return NB_OK;
}

nb_status nb_conv_bcast_forward(const nb_conv_desc *cd, const nb_conv2d_desc *d, const float *x,
                                const float *w, const float *bias, float *y) {
    bcast_ctx c = {.cd = cd, .d = d, .g = nb_conv_geom_of(d), .x = x, .w = w, .bias = bias, .y = y};
    const nb_conv_geom *g = &c.g;
    const nb_conv_bcast_ukernel *u = &cd->bcast;
    c.nkb = (g->kg + u->nf - 1) / u->nf;
    c.span = (u->mp - 1) * d->stride_w + (d->s - 1) * d->dilation_w + 1;
    const int64_t tasks = d->n * g->P;
    const int nt = nb_conv_task_threads(cd, tasks, d, g);
    int64_t wp_floats, rows = g->cg * d->r;
    if (!nb_mul_ok(c.nkb * u->nf, g->L, &wp_floats) || rows > INT64_MAX / 4) return NB_ERR_OOM;
    int owned;
    float *wp = nb_conv_scratch_floats(NB_SCRATCH_CONV_FILTERS, 1, 1, wp_floats + 16, &owned);
    if (!wp) return NB_ERR_OOM;
    int nonfinite = 0;
    c.wp = wp;
    c.nonfinite = &nonfinite;
    /* A task's scratch (bcast_task): three tables of R row pointers and
       the padded rows. */
    _Static_assert(sizeof(const float *) <= 2 * sizeof(float), "a row pointer in 2 floats");
    c.ldp = (c.span + 15) / 16 * 16;
    c.ptr_floats = (2 * d->r + 15) / 16 * 16;
    c.ntiles = (g->Q + u->mp - 1) / u->mp;
    c.lpr = (d->w + 15) / 16 + 1;
    c.tasks = tasks;
    int64_t pad_floats;
    if (!nb_mul_ok(rows, c.ldp, &pad_floats) || pad_floats > INT64_MAX / 8 - 3 * c.ptr_floats) {
        nb_scratch_done(wp, owned);
        return NB_ERR_OOM;
    }
    c.pad_floats = (pad_floats + 15) / 16 * 16;
    const nb_status st = nb_conv_run_tasks_ex(cd, nt, tasks, 1, 3 * c.ptr_floats + c.pad_floats,
                                              1, NULL, bcast_task, &c, 0, pack_filters);
    nb_scratch_done(wp, owned);
    return st;
}
