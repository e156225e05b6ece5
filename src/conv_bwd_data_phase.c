/* Backward-data of a strided convolution as one stride-1 forward
 * convolution per phase of dx (polyphase), on the implicit-im2col path;
 * 3x3 stride-2 padding-1 layers instead by a direct tile in the broadcast
 * orientation (bdata_s2_*, below: no phases, dx written in place).
 *
 * With strides sh x sw (dilation 1), the dx elements of phase (a, b) --
 * rows ih = sh i + a, columns iw = sw j + b -- receive only the taps
 * r = r0 + sh u (r0 = (a + pad_h) mod sh) and s = s0 + sw v:
 *   dx[c, sh i + a, sw j + b] = sum over k, u, v of
 *       dy[k, i + e_a - u, j + e_b - v] w[k, c, r0 + sh u, s0 + sw v]
 * with e_a = (a + pad_h - r0) / sh. With u' = Ru - 1 - u that is a stride-1
 * forward correlation of dy (K channels, P x Q) with sub-filters of
 * Ru x Sv taps (C outputs from K inputs per group, flipped), padded by
 * Ru - 1 - e_a rows (possibly negative: the plan bounds-checks every tap)
 * and Pa = ceil((H - a) / sh) output rows. The 3x3 stride-2 layer's four
 * phases have 1x1, 1x2, 2x1 and 2x2 taps: 9 taps in all, the work of the
 * forward pass, and no column matrix, no col2im (which added every column
 * element into dx one tap at a time: ~13 % of the pass), no zeros.
 *
 * Each phase's output goes to a scratch block (its pixels are strided in
 * dx), and one pass interleaves the phases into dx at the end: OOM leaves
 * dx untouched.
 *
 * Bits: a dx element is the implicit path's GEMM chain over (k, u', v')
 * in KC blocks, independent of the thread count and of the batch (the
 * phase path is chosen from the shape of one image). It sums in another
 * order than the column-block path (NABLA_CONV_PATH=explicit keeps that),
 * within the same error bound (L terms a sum, fewer here).
 */
#include <string.h>

#include "conv_internal.h"
#include "internal.h"
#include "parallel.h"
#include "scratch.h"

/* Phases of at most this many (sh sw) are run; more would mean more,
   smaller GEMMs than a stride this library meets (2, sometimes 3 or 4). */
#define MAX_PHASES 16
/* Taps of the filters this path takes (a table of where each goes). */
#define NB_MAX_TAPS_PHASED 256

typedef struct {
    nb_conv2d_desc td;   /* the phase as a forward convolution of dy */
    nb_conv_geom g;
    int64_t r0, s0;      /* first tap of the phase in w */
    int64_t yoff;        /* its outputs in the scratch */
} phase;

static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
static int64_t round16(int64_t v) { return (v + 15) / 16 * 16; }

/* Phase (a, b) of d (g.PQ 0 when it has no pixels), or 0 when it has no taps. */
static int phase_of(const nb_conv2d_desc *d, const nb_conv_geom *g0, int64_t a, int64_t b,
                    phase *ph) {
    const int64_t sh = d->stride_h, sw = d->stride_w;
    const int64_t r0 = (a + d->pad_h) % sh, s0 = (b + d->pad_w) % sw;
    if (r0 >= d->r || s0 >= d->s) return 0;
    const int64_t Ru = cdiv(d->r - r0, sh), Sv = cdiv(d->s - s0, sw);
    const int64_t ea = (a + d->pad_h - r0) / sh, eb = (b + d->pad_w - s0) / sw;
    ph->r0 = r0;
    ph->s0 = s0;
    ph->td = (nb_conv2d_desc){.n = d->n, .c = d->k, .h = g0->P, .w = g0->Q, .k = d->c, .r = Ru,
                              .s = Sv, .stride_h = 1, .stride_w = 1, .pad_h = Ru - 1 - ea,
                              .pad_w = Sv - 1 - eb, .dilation_h = 1, .dilation_w = 1,
                              .groups = d->groups};
    nb_conv_geom *g = &ph->g;
    g->P = a < d->h ? cdiv(d->h - a, sh) : 0;   /* 0: a phase past a tiny image */
    g->Q = b < d->w ? cdiv(d->w - b, sw) : 0;
    g->PQ = g->P * g->Q;
    g->G = d->groups;
    g->cg = g0->kg;
    g->kg = g0->cg;
    g->L = g0->kg * Ru * Sv;
    g->HW = g0->PQ;
    g->pointwise = 0;
    return 1;
}

/* Taken: strides above 1 (stride 1 has its own transposed path), dilation
   1, every phase with taps (R >= sh, S >= sw), and the implicit path
   chosen for the largest phase (its own rule, NABLA_CONV_PATH with it),
   judged on one image. */
static int applies(const nb_conv_desc *cd, const nb_conv2d_desc *d, const nb_conv_geom *g0) {
    if ((d->stride_h == 1 && d->stride_w == 1) || d->dilation_h != 1 || d->dilation_w != 1 ||
        d->r < d->stride_h || d->s < d->stride_w || d->stride_h * d->stride_w > MAX_PHASES ||
        d->r * d->s > NB_MAX_TAPS_PHASED)
        return 0;
    phase ph;
    if (!phase_of(d, g0, 0, 0, &ph)) return 0;
    /* The largest phase: ceil(R / sh) x ceil(S / sw) taps, ceil(H / sh) x
       ceil(W / sw) pixels. */
    ph.td.r = cdiv(d->r, d->stride_h);
    ph.td.s = cdiv(d->s, d->stride_w);
    ph.g.L = g0->kg * ph.td.r * ph.td.s;
    if (ph.td.r == 1 && ph.td.s == 1) return 0;   /* 1x1 phases: pointwise GEMMs, not taken */
    /* The phases' GEMMs have M = C / groups rows: a few (the 7x7 stem's 3
       input channels) would fill a fraction of the MR-row tiles, which the
       column-block path's M = C R S does not. Forced, any. */
    if (g0->cg < 32 && nb_conv_implicit_forced() <= 0) return 0;
    return nb_conv_use_implicit(cd, &ph.td, &ph.g);
}

/* The phase's filters straight into the implicit path's packed A blocks
   (nb_conv_apack_src): row c, column l = k Ru Sv + u' Sv + v' of group gi
   is w[gi, k, c, r0 + sh (Ru - 1 - u'), s0 + sw (Sv - 1 - v')], the
   flipped sub-filter. Packing from w in place skips a copy of the
   sub-filters: built as a separate C x K x Ru x Sv tensor for the ISA's
   A packer, that copy was 6.8-11.8 % of the 3x3 s2 c128 pass (w from L3,
   its rows of consecutive k 4.6 KB apart: in 16 x 16 blocks of (c, k),
   with RS = 9 unrolled, or with a software prefetch of the next k block,
   still ~7 %), plus the A packer's own ~1.3 %. */
typedef struct {
    const nb_conv2d_desc *d;
    const nb_conv_geom *g0;
    int64_t ts;                           /* Ru Sv */
    int32_t tap[NB_MAX_TAPS_PHASED];      /* position u' Sv + v' -> r S + s */
    const float *w;
} apack_ctx;

/* Dead end (session 14, Zen 4): transposing w once per call to
   K x R S x cg (one pass, every line of w read once) so that each phase
   packs a tap's cg floats from one run: the packing went 4.9 % -> 2.1 %
   of the 3x3 s2 c128 pass plus 2.5 % for the transpose (w's 590 KB come
   from memory either way), and 5 alternated runs against oneDNN gave
   1.15 vs 1.16 (main) and 1.22 vs 1.14: no gain. */
static void pack_phase_block(const void *ctx, int64_t gi, int64_t pc, int64_t kc, int64_t mr,
                             float *dst) {
    const apack_ctx *a = ctx;
    const nb_conv_geom *g0 = a->g0;
    const int64_t RS = a->d->r * a->d->s, cg = g0->cg, ts = a->ts;
    const float *wg = a->w + gi * g0->kg * cg * RS;
    /* Column by column, all the panels: column (k, pos) reads w's row k
       (cg R S floats in a row, one stream), the panels are kc mr floats
       apart. Panel by panel instead read 128 rows 4.6 KB apart per panel
       (c128 3x3): 6.2 % of the pass. */
    int64_t k = pc / ts, pos = pc % ts;
    for (int64_t l = 0; l < kc; l++) {
        const float *src = wg + k * cg * RS + a->tap[pos];
        for (int64_t c0 = 0; c0 < cg; c0 += mr) {
            const int64_t nr = mr < cg - c0 ? mr : cg - c0;
            float *o = dst + c0 * kc + l * mr;   /* panel c0 / mr: kc columns of mr floats */
            int64_t i = 0;
            for (; i < nr; i++) o[i] = src[(c0 + i) * RS];
            for (; i < mr; i++) o[i] = 0.0f;
        }
        if (++pos == ts) {
            pos = 0;
            k++;
        }
    }
}

typedef struct {
    const nb_conv2d_desc *d;
    const phase *ph;
    int nph;
    const float *ybuf;
    float *dx;
} interleave_ctx;

/* dx planes [lo, hi) (image x channel) from the phases' outputs. */
static void interleave_planes(void *ctx, int64_t lo, int64_t hi) {
    const interleave_ctx *c = ctx;
    const nb_conv2d_desc *d = c->d;
    const int64_t H = d->h, W = d->w, sh = d->stride_h, sw = d->stride_w;
    for (int64_t pl = lo; pl < hi; pl++) {
        float *dxp = c->dx + pl * H * W;
        for (int64_t ih = 0; ih < H; ih++) {
            const int64_t a = ih % sh, i = ih / sh;
            float *row = dxp + ih * W;
            const phase *p0 = &c->ph[a * sw];
            if (sw == 2 && W > 1) {
                const phase *p1 = p0 + 1;
                const float *e = c->ybuf + p0->yoff + (pl * p0->g.P + i) * p0->g.Q;
                const float *o = c->ybuf + p1->yoff + (pl * p1->g.P + i) * p1->g.Q;
                const int64_t half = W / 2;
                for (int64_t j = 0; j < half; j++) {
                    row[2 * j] = e[j];
                    row[2 * j + 1] = o[j];
                }
                if (W & 1) row[W - 1] = e[half];
                continue;
            }
            for (int64_t b = 0; b < sw && b < W; b++) {
                const phase *p = p0 + b;
                const float *src = c->ybuf + p->yoff + (pl * p->g.P + i) * p->g.Q;
                for (int64_t j = 0; j < p->g.Q; j++) row[sw * j + b] = src[j];
            }
        }
    }
}

/* ---- 3x3, stride 2, padding 1: the broadcast-orientation tile ----
 *
 * The layer of ResNet's stage transitions (c128 56x56 -> 28x28 and its
 * kin) without phases: per dx row and V input channels (the lanes), the
 * ISA's tile (src/ukernel_convbdata.h) reads dy in place as scalars,
 * broadcast against filter vectors packed once per call as
 * [group][channel block][k][r][s][V], and writes both column phases of
 * its pixels straight into dx: no dy packing, no scratch block, no
 * interleave pass, no padded taps (a tap whose dy pixel is past the edge
 * is not in the sum, as in the reference's col2im, where such products
 * are never formed: NaN/Inf filters there give the reference's bits).
 * dx row 2i reads dy row i with tap row 1; row 2i + 1 reads dy row i + 1
 * with tap row 0 (when i + 1 < P) and then dy row i with tap row 2.
 *
 * Bits: a dx element is one FMA chain over k, tap rows, taps in the
 * contract's order, whichever thread runs its row and whatever the batch
 * (the path is chosen from the shape alone); the same on every ISA's tile.
 * The sum is in another order than the phase path's GEMM, within the same
 * bound (at most 4 K terms an element).
 */
typedef struct {
    const nb_conv2d_desc *d;
    const nb_conv_geom *g0;
    nb_conv_bdata_s2_ukernel uk;
    int64_t cb;   /* channel blocks of V a group */
    const float *dy, *w;
    float *wp, *dx;
} bdata_s2_ctx;

/* NABLA_CONV_PATH (implicit / explicit) forces the phase or the column
   path as before (the tests run those on these shapes too). Channels:
   fewer than 16 would leave most lanes of a 16-wide tile empty. Measured
   (1 thread, ms, this tile vs the phase path, same binary): AVX-512
   c128 56x56 2.05 vs 2.38, c64 112x112 2.13 vs 2.51, c256 28x28 2.14 vs
   2.86, c512 14x14 3.53 vs 4.61, c16 k32 64x64 0.099 vs 0.179 (column
   path 0.136); AVX2 c128 2.31 vs 2.77, c256 2.67 vs 2.74, c512 5.06 vs
   5.01, c16 k32 0.120 vs 0.230. */
static int bdata_s2_applies(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                            const nb_conv_geom *g0) {
    return cd->bdata_s2.fn && d->r == 3 && d->s == 3 && d->stride_h == 2 && d->stride_w == 2 &&
           d->pad_h == 1 && d->pad_w == 1 && d->dilation_h == 1 && d->dilation_w == 1 &&
           g0->cg >= 16 && g0->kg >= 1 && nb_conv_implicit_forced() == 0;
}

/* Filters [lo, hi) (group x filter) into every channel block of the
   packed filters; channels past cg are zeros (their lanes are never
   stored). A filter's block: the ISA's pack (AVX-512: masked row loads
   and a 16 x 16 transpose, 1.1 % of the c128 pass; AVX2 an 8 x 8 one) or
   plain C (2.3-2.6 %:
   one scalar load and store a float, instruction-bound). Dead ends
   (session 15, Zen 4): the C stores a vector at a time (V a constant:
   gcc vectorises with SSE2, scalar loads and shuffles): no change; each block
   packed by the thread that runs its rows into its own L2-sized buffer
   just before them (one team, no separate pack pass): 2.169 vs 2.145 ms,
   3 alternated rounds. */
static void bdata_s2_pack(void *ctx, int64_t lo, int64_t hi) {
    const bdata_s2_ctx *c = ctx;
    const int64_t cg = c->g0->cg, kg = c->g0->kg, V = c->uk.v;
    /* filter by filter (w read in order, one run of cg 9 floats each),
       every block of its group */
    for (int64_t gk = lo; gk < hi; gk++) {
        const int64_t gi = gk / kg, k = gk % kg;
        const float *src = c->w + gk * cg * 9;
        for (int64_t b = 0; b < c->cb; b++, src += V * 9) {
            const int64_t nc = V < cg - b * V ? V : cg - b * V;
            float *dst = c->wp + ((gi * c->cb + b) * kg + k) * 9 * V;
            if (c->uk.pack) {
                c->uk.pack((size_t)nc, src, dst);
                continue;
            }
            for (int64_t ch = 0; ch < nc; ch++)
                for (int t = 0; t < 9; t++) dst[t * V + ch] = src[ch * 9 + t];
            for (int64_t ch = nc; ch < V; ch++)
                for (int t = 0; t < 9; t++) dst[t * V + ch] = 0.0f;
        }
    }
}

/* Rows [lo, hi) of (image, group, channel block, dx row): a block's rows
   in order (its packed filters and dy rows stay in cache). */
static void bdata_s2_rows(void *ctx, int64_t lo, int64_t hi) {
    const bdata_s2_ctx *c = ctx;
    const nb_conv2d_desc *d = c->d;
    const nb_conv_geom *g = c->g0;
    const int64_t H = d->h, W = d->w, P = g->P, Q = g->Q, V = c->uk.v, MJ = c->uk.mj;
    for (int64_t it = lo; it < hi; it++) {
        const int64_t ih = it % H, blk = it / H % (g->G * c->cb), n = it / H / (g->G * c->cb);
        const int64_t gi = blk / c->cb, c0 = blk % c->cb * V;
        const int64_t nch = V < g->cg - c0 ? V : g->cg - c0, i = ih / 2;
        const float *dyg = c->dy + (n * d->k + gi * g->kg) * g->PQ;
        const float *wb = c->wp + blk * g->kg * 9 * V;
        const float *dyr[2], *wr[2];
        size_t nr = 0;
        if (ih % 2 == 0) {
            dyr[nr] = dyg + i * Q;
            wr[nr++] = wb + 3 * V;
        } else {
            if (i + 1 < P) {
                dyr[nr] = dyg + (i + 1) * Q;
                wr[nr++] = wb;
            }
            dyr[nr] = dyg + i * Q;
            wr[nr++] = wb + 6 * V;
        }
        float *dxr = c->dx + ((n * d->c + gi * g->cg + c0) * H + ih) * W;
        /* ceil(Q / MJ) tiles of nearly equal width (the wider first): a
           narrow last tile (Q 14 on AVX2: 6, 6, 2) has too few
           accumulators for the FMA latency (c256 28x28, AVX2: 2.99 ms
           with 6, 6, 2 vs 2.66 on the phase path) */
        const int64_t ntile = (Q + MJ - 1) / MJ, base = Q / ntile, wide = Q % ntile;
        for (int64_t tj = 0, j0 = 0; tj < ntile; tj++) {
            const int64_t nj = base + (tj < wide);
            const int64_t ncol = 2 * nj < W - 2 * j0 ? 2 * nj : W - 2 * j0;
            const float *dyj[2] = {dyr[0] + j0, dyr[nr - 1] + j0};
            c->uk.fn((size_t)g->kg, nr, dyj, g->PQ, wr, 9 * V, (size_t)nj, j0 + nj == Q,
                     dxr + 2 * j0, H * W, (size_t)ncol, (size_t)nch);
            j0 += nj;
        }
    }
}

static nb_status bdata_s2_run(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                              const nb_conv_geom *g0, const float *dy, const float *w, float *dx) {
    bdata_s2_ctx c = {d, g0, cd->bdata_s2, 0, dy, w, NULL, dx};
    c.cb = (g0->cg + c.uk.v - 1) / c.uk.v;
    const int64_t blocks = g0->G * c.cb;
    int owned;
    c.wp = nb_conv_scratch_floats(NB_SCRATCH_CONV_WT, 1, blocks, g0->kg * 9 * c.uk.v, &owned);
    if (!c.wp) return NB_ERR_OOM;
    /* packing: 9 cg floats a filter, worth a thread from a few dozen */
    nb_parallel_for(g0->G * g0->kg, 32, bdata_s2_pack, &c);
    /* a row: V W kg 9/4 multiply-adds */
    const int64_t row_mnk = c.uk.v * d->w * (g0->kg > 0 ? g0->kg : 1) * 9 / 4 + 1;
    const int64_t grain = cd->min_mnk_per_thread / row_mnk + 1;
    nb_parallel_for(d->n * blocks * d->h, grain, bdata_s2_rows, &c);
    nb_scratch_done(c.wp, owned);
    return NB_OK;
}

/* Every filter value finite. The phases are forward convolutions of dy
   padded with zeros that are multiplied (the implicit path's packed
   panels), products the reference's col2im never forms (a dy pixel past
   the edge): with a NaN or Inf filter those would turn finite dx elements
   into NaN. Such calls take the column path (the reference's bits for
   NaN and Inf). One pass over w, a few % of w's own pass in the GEMMs. */
static int all_finite(const float *w, int64_t n) {
    uint32_t any = 0;
    for (int64_t i0 = 0; i0 < n; i0 += 4096) {
        const int64_t i1 = i0 + 4096 < n ? i0 + 4096 : n;
        for (int64_t i = i0; i < i1; i++) {
            uint32_t u;
            memcpy(&u, w + i, sizeof u);
            any |= (u & 0x7f800000u) == 0x7f800000u;
        }
        if (any) return 0;
    }
    return 1;
}

int nb_conv_bwd_data_phases(const nb_conv_desc *cd, const nb_conv2d_desc *d, const float *dy,
                            const float *w, float *dx, nb_status *st) {
    const nb_conv_geom g0 = nb_conv_geom_of(d);
    if (bdata_s2_applies(cd, d, &g0)) {
        *st = bdata_s2_run(cd, d, &g0, dy, w, dx);
        return 1;
    }
    if (!applies(cd, d, &g0) || !all_finite(w, d->k * g0.cg * d->r * d->s)) return 0;
    const int64_t sh = d->stride_h, sw = d->stride_w;
    phase ph[MAX_PHASES];
    int nph = 0;
    int64_t yfl = 0;
    for (int64_t a = 0; a < sh; a++)
        for (int64_t b = 0; b < sw; b++, nph++) {
            /* applies(): every phase has taps */
            if (!phase_of(d, &g0, a, b, &ph[nph])) return 0;
            ph[nph].yoff = yfl;
            yfl += round16(d->n * d->c * ph[nph].g.PQ);
        }
    int owned;
    float *ybuf = nb_conv_scratch_floats(NB_SCRATCH_CONV_WT, 1, 1, yfl, &owned);
    if (!ybuf) {
        *st = NB_ERR_OOM;
        return 1;
    }
    *st = NB_OK;
    for (int i = 0; i < nph && *st == NB_OK; i++) {
        if (ph[i].g.PQ == 0) continue;
        apack_ctx ac = {d, &g0, ph[i].td.r * ph[i].td.s, {0}, w};
        for (int64_t u = 0; u < ph[i].td.r; u++)
            for (int64_t v = 0; v < ph[i].td.s; v++)
                ac.tap[u * ph[i].td.s + v] =
                    (int32_t)((ph[i].r0 + sh * (ph[i].td.r - 1 - u)) * d->s + ph[i].s0 +
                              sw * (ph[i].td.s - 1 - v));
        const nb_conv_apack_src src = {pack_phase_block, &ac};
        *st = nb_conv_forward_implicit_geom(cd, &ph[i].td, &ph[i].g, &src, dy, w, NULL,
                                            ybuf + ph[i].yoff);
    }
    if (*st == NB_OK) {
        interleave_ctx ic = {d, ph, nph, ybuf, dx};
        const int64_t hw = d->h * d->w;
        nb_parallel_for(d->n * d->c, hw >= 32768 ? 1 : 32768 / hw, interleave_planes, &ic);
    }
    nb_scratch_done(ybuf, owned);
    return 1;
}
