/* Backward-data of a strided convolution as one stride-1 forward
 * convolution per phase of dx (polyphase), on the implicit-im2col path.
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
    int64_t woff, yoff;  /* its sub-filters and outputs in the scratch */
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

/* The flipped sub-filters of every phase, one pass over w: phase i's
   ws_i[gi, c, k, u', v'] = w[gi, k, c, r0 + sh (Ru - 1 - u'), s0 + sw (Sv - 1 - v')].
   Tap t of w goes to phase tph[t], position tpos[t] of its Ru Sv. Phase by
   phase with the taps as the innermost loop (1 or 2 iterations) this was
   ~12 % of the 3x3 stride-2 c128 pass; here each (k, c) reads its R S
   taps once and the k loop writes runs of every phase. */
typedef struct {
    const nb_conv2d_desc *d;
    const nb_conv_geom *g0;
    const phase *ph;
    const float *w;
    float *buf;
    int32_t tph[NB_MAX_TAPS_PHASED], tpos[NB_MAX_TAPS_PHASED];
} subf_ctx;

/* Rows [lo, hi) of (gi cg + c); RS a constant where it is 9 (3x3), so
   the tap loop unrolls with its destinations in registers. */
static inline __attribute__((always_inline))
void sub_filter_block(const subf_ctx *sc, const int64_t RS, int64_t lo, int64_t hi) {
    const nb_conv_geom *g0 = sc->g0;
    /* Tap t of (row, k) goes to buf[tb[t] + (row kg + k) tm[t]]. */
    int64_t tb[NB_MAX_TAPS_PHASED], tm[NB_MAX_TAPS_PHASED];
    for (int64_t t = 0; t < RS; t++) {
        const phase *p = &sc->ph[sc->tph[t]];
        tb[t] = p->woff + sc->tpos[t];
        tm[t] = p->td.r * p->td.s;
    }
    /* 16 x 16 blocks of (c, k): w's rows of consecutive k are cg R S floats
       apart (4.6 KB for c128 3x3, 8 L1 sets for all of them), so a row of
       c over every k thrashed L1 and each read missed. */
    for (int64_t r0 = lo; r0 < hi; r0 += 16) {
        const int64_t r1 = r0 + 16 < hi ? r0 + 16 : hi;
        for (int64_t k0 = 0; k0 < g0->kg; k0 += 16) {
            const int64_t k1 = k0 + 16 < g0->kg ? k0 + 16 : g0->kg;
            for (int64_t row = r0; row < r1; row++) {   /* row = gi cg + c */
                const int64_t gi = row / g0->cg, c = row % g0->cg;
                const float *src = sc->w + ((gi * g0->kg + k0) * g0->cg + c) * RS;
                for (int64_t k = k0; k < k1; k++, src += g0->cg * RS) {
                    const int64_t rk = row * g0->kg + k;
                    for (int64_t t = 0; t < RS; t++) sc->buf[tb[t] + rk * tm[t]] = src[t];
                }
            }
        }
    }
}

static void sub_filter_rows(void *ctx, int64_t lo, int64_t hi) {
    const subf_ctx *sc = ctx;
    const int64_t RS = sc->d->r * sc->d->s;
    if (RS == 9)
        sub_filter_block(sc, 9, lo, hi);
    else
        sub_filter_block(sc, RS, lo, hi);
}

static void sub_filters(const nb_conv2d_desc *d, const nb_conv_geom *g0, const phase *ph,
                        const float *w, float *buf) {
    subf_ctx sc = {d, g0, ph, w, buf, {0}, {0}};
    const int64_t sh = d->stride_h, sw = d->stride_w;
    for (int64_t r = 0; r < d->r; r++)
        for (int64_t s = 0; s < d->s; s++) {
            /* Tap r = r0 + sh u of phase row a with r0 = (a + pad_h) mod sh. */
            const int64_t r0 = r % sh, s0 = s % sw;
            const int64_t a = ((r0 - d->pad_h) % sh + sh) % sh, b = ((s0 - d->pad_w) % sw + sw) % sw;
            const phase *p = &ph[a * sw + b];
            const int64_t u = (r - r0) / sh, v = (s - s0) / sw;
            sc.tph[r * d->s + s] = (int32_t)(a * sw + b);
            sc.tpos[r * d->s + s] = (int32_t)((p->td.r - 1 - u) * p->td.s + (p->td.s - 1 - v));
        }
    const int64_t taps = d->r * d->s * g0->kg;
    nb_parallel_for(g0->G * g0->cg, taps >= 8192 ? 1 : 8192 / taps, sub_filter_rows, &sc);
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

int nb_conv_bwd_data_phases(const nb_conv_desc *cd, const nb_conv2d_desc *d, const float *dy,
                            const float *w, float *dx, nb_status *st) {
    const nb_conv_geom g0 = nb_conv_geom_of(d);
    if (!applies(cd, d, &g0)) return 0;
    const int64_t sh = d->stride_h, sw = d->stride_w;
    phase ph[MAX_PHASES];
    int nph = 0;
    int64_t wfl = 0, yfl = 0;
    for (int64_t a = 0; a < sh; a++)
        for (int64_t b = 0; b < sw; b++, nph++) {
            /* applies(): every phase has taps */
            if (!phase_of(d, &g0, a, b, &ph[nph])) return 0;
            ph[nph].woff = wfl;
            ph[nph].yoff = yfl;
            wfl += round16(d->k * g0.cg * ph[nph].td.r * ph[nph].td.s);
            yfl += round16(d->n * d->c * ph[nph].g.PQ);
        }
    int owned;
    float *buf = nb_conv_scratch_floats(NB_SCRATCH_CONV_WT, 1, 1, wfl + yfl, &owned);
    if (!buf) {
        *st = NB_ERR_OOM;
        return 1;
    }
    float *ybuf = buf + wfl;
    *st = NB_OK;
    sub_filters(d, &g0, ph, w, buf);
    for (int i = 0; i < nph && *st == NB_OK; i++) {
        if (ph[i].g.PQ == 0) continue;
        *st = nb_conv_forward_implicit_geom(cd, &ph[i].td, &ph[i].g, dy, buf + ph[i].woff, NULL,
                                            ybuf + ph[i].yoff);
    }
    if (*st == NB_OK) {
        interleave_ctx ic = {d, ph, nph, ybuf, dx};
        const int64_t hw = d->h * d->w;
        nb_parallel_for(d->n * d->c, hw >= 32768 ? 1 : 32768 / hw, interleave_planes, &ic);
    }
    nb_scratch_done(buf, owned);
    return 1;
}
