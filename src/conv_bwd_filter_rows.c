/* Backward-filter of stride-1 and stride-2 convolutions without a column
 * matrix: the "padded rows" path (stride 2 on phase planes, layout_of).
 *
 * Per group g (cg input channels, kg filters), computed transposed,
 *   dwT[(tap, c), k] = sum over images n, output pixels (p, q) of
 *                      x[n, c, p + r dh - ph, q + s dw - pw] dy[n, k, p, q]
 * where tap = (r, s). The image is copied once, zero padded, into rows of
 * Wp >= max(W + pw, Q) floats (data at columns pw .. pw + W - 1; a row's
 * right padding is the next row's left padding), and the output pixels are
 * numbered j = p Wp + q, q < Wp, over [0, Ke), Ke = (P - 1) Wp + Q. Then
 * the tap (r, s) of channel c at pixel j sits at
 *   xp[c plane + r dh Wp + s dw + j]
 * so for a fixed tap the channels are rows of one matrix with a constant
 * row stride (plane) and unit column stride: the GEMM's A operand read in
 * place (ukernel_adirect, or packed from there), no im2col. The pixels
 * q in [Q, Wp) of a row are padding: their dy rows (B: packed a KC block
 * at a time straight from dy, transposed in registers by the packer) are
 * zero, so for finite x they add exact zeros (fma(x, 0, acc) == acc; acc
 * starts at +0 and never becomes -0 through them). Non-finite x would make
 * them NaN. That needs no scan of x: an Inf or NaN in x makes every product
 * it enters non-finite, and a non-finite FMA chain or sum stays non-finite
 * (Inf + finite = Inf, Inf - Inf = NaN, NaN sticks), so a dw with no
 * non-finite element proves that every product was finite and the bits are
 * the column matrix's. Each member checks its rows of dw; where one is
 * not finite (non-finite x, or a sum that overflowed, which the other path
 * gives too) the caller runs the column-matrix path instead.
 *
 * Bits: every dwT element is, for each image in order and each KC block
 * [j0, j0 + KC) of [0, Ke) (boundaries at multiples of the SGEMM's kc), one
 * FMA chain over the block's pixels in order from +0, then C = acc (first
 * block of image 0) or C = C + acc: the bits of one SGEMM per image,
 *   dwT[g] (L x kg) (+)= colx (L x Ke) dyx^T (Ke x kg)
 * over the padded-row column matrix colx and dyx (zero at the padding
 * pixels). Threads take disjoint rows (tap, channel panel) of dwT: no
 * element is split, so the bits do not depend on the thread count. The
 * choice of this path depends on the shape only (the same on AVX2 and
 * AVX-512, whose KC and FMA chains agree).
 *
 * The in-place form (stride 2, inplace_applies; session 16): no phase
 * planes are copied. The ISA's strided-rows tile (nb_conv_desc.bwf_rows)
 * reads A straight from the image at a column step of 2, and each KC block
 * [j0, j0 + KC) of the padded-row numbering is cut into row segments: one
 * output row's real pixels (q < Q) whose tap lies inside the image. The
 * pixels and taps it leaves out are those whose products are exact zeros
 * in the planes (finite x), so the bits are the same; dy is packed for the
 * real pixels only (pack_dy_real). Stride-2 c128 56x56 k128, 1 thread:
 * AVX-512 2.55 -> 2.35 ms, AVX2 3.15 -> 2.48 (oneDNN 2.23 / ~2.5 in the
 * same window). The tile is then 90 % of the time, ~10 % slower a pixel
 * than on the planes: one channel panel's rows of a KC block span ~41 KB
 * at stride 2, more than L1d. Not kept: the planes with the row segments
 * (padding pixels skipped, planes still copied): no faster than the planes.
 *
 * Threads: members take filter panels (each packing only its own dy rows) and, where those do not split evenly, rows (copying only
 * their channels); the team meets only once, before dw = dwT^T.
 */
#include <string.h>

#include "conv_bwd_filter.h"
#include "scratch.h"

/* The largest padded image (floats a thread) and dy of one group's image
   this path takes: beyond them the copies would not pay for themselves in
   cache. */
#define ROWS_MAX_IMAGE ((int64_t)1 << 22)
/* The padded planes of a chunk of channel panels (floats), where a
   thread's whole share would not stay in L2 between the copy and the
   tiles, and the most floats of one image's packed dy for which chunks are
   run (dy is then packed for the whole image, once, rows_member). Stride-2
   c128 56x56 k128 (1 thread, Zen 4, alternating runs): no chunks 2.54 ms,
   96 Ki floats (2 panels of 14 channels) 2.45, 48 Ki (1 panel) 2.38; AVX2
   (6-channel panels) 2.73 / 2.80 / 2.67 (4 and 2 panels), 1 panel 2.84 vs
   2.79: noise there. */
#define ROWS_CHUNK_FLOATS ((int64_t)48 << 10)
#define ROWS_DY_IMAGE_FLOATS ((int64_t)128 << 10)
/* The fewest pixels (padded-row numbering, all images) it takes. */
#define ROWS_MIN_PIXELS 768
/* Tried and not kept (session 15, Zen 4, stride-2 c128 56x56 k128, 1
   thread, side by side): (1) tap planes instead of phase planes: 2 S
   planes a channel, plane (a, s) = xpad[2 i + a, 2 q + s] in rows of Q
   floats, so that Ke = P Q (784 pixels for 811, 3.4 % fewer FMAs, and
   the column matrix's own bits); the copy, a strided C loop per plane, took
   11.2 % of the time against phase_channels' 4.6 %: 2.53 -> 2.73 ms
   (AVX-512), 2.73 -> 2.84 (AVX2), medians of 5 rounds. It pays only with a
   copy as fast as phase_channels' (one deinterleave a row, then the S
   rows from it). (2) Prefetching (T1) the next chunk's image rows, a few
   lines after each tile call of the current chunk: no faster (best of 25
   runs within noise; phase_channels' loads still stall). */

typedef struct {
    const nb_conv_desc *cd;
    const nb_gemm_desc *gd;
    const nb_conv2d_desc *d;
    nb_conv_geom g;
    int64_t sh, Wp, Hp, plane, Ke, RS, mpan;   /* (layout_of); mpan: row panels (of MR channels) a tap */
    const float *x, *dy;
    float *dw, *dwt;        /* dwt: dwT of every group (L x kg each) */
    float *work;            /* per member: xp, B panels, A panel */
    int64_t xp_floats, bp_floats, work_floats;
    int64_t xcs;            /* channels from one phase plane to the next in xp (stride 2) */
    int64_t cpc, bp_block;  /* channel panels a chunk (0: the whole share at once); floats a KC block's B panels */
    int inplace;            /* the strided-rows tile reads x in place (no planes; see the top) */
    int bad;                /* a non-finite dw element seen (atomic) */
} rows_ctx;

static int64_t round16(int64_t v) { return (v + 15) / 16 * 16; }

/* The padded image's rows. Stride 1: one plane a channel, Hp = H + 2 ph
   rows of Wp = max(W + pw, Q) floats, data at columns pw.., the right
   padding being the next row's left padding (plane Hp Wp + pw: the last
   row's too). Stride 2 (both ways): four phase planes a channel, phase
   (a, b) holding xpad[2 i + a, 2 j + b] of the zero-padded image xpad
   (H + 2 ph by W + 2 pw), Hp = ceil((H + 2 ph) / 2) rows of
   Wp = ceil((W + 2 pw) / 2): tap (r, s) of output pixel (p, q) is then
   phase (r dh % 2, s dw % 2) at row p + r dh / 2, column q + s dw / 2.
   0: another stride. */
static int layout_of(const nb_conv2d_desc *d, const nb_conv_geom *g, rows_ctx *l) {
    if (d->stride_h != d->stride_w || d->stride_h > 2) return 0;
    l->sh = d->stride_h;
    if (l->sh == 1) {
        l->Wp = d->w + d->pad_w > g->Q ? d->w + d->pad_w : g->Q;
        l->Hp = d->h + 2 * d->pad_h;
        l->plane = l->Hp * l->Wp + d->pad_w;
    } else {
        l->Wp = (d->w + 2 * d->pad_w + 1) / 2;
        l->Hp = (d->h + 2 * d->pad_h + 1) / 2;
        l->plane = l->Hp * l->Wp;
    }
    l->Ke = (g->P - 1) * l->Wp + g->Q;
    return 1;
}

int nb_conv_bwd_filter_rows_applies(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                    const nb_conv_geom *g) {
    const nb_gemm_desc *gd = cd->sgemm_desc;
    rows_ctx l;
    if (!gd || !gd->pack_b || !gd->ukernel || !gd->pack_a) return 0;
    if (g->pointwise || g->cg < 16 || !layout_of(d, g, &l)) return 0;
    int64_t img, dyg;
    if (!nb_mul_ok(l.plane * l.sh * l.sh, g->cg, &img) || !nb_mul_ok(g->PQ, g->kg, &dyg)) return 0;
    /* Few pixels in all (c256 14x14 k256, one image: 209 a dw element)
       leave the dwT write and its transpose to dw a large share: the
       column-matrix path's plain form writes dw directly (137 vs 118
       GFLOP/s, one run). */
    return img <= ROWS_MAX_IMAGE && dyg <= ROWS_MAX_IMAGE && d->n >= (ROWS_MIN_PIXELS + l.Ke - 1) / l.Ke;
}

/* Columns [j0, j1) of both column phases of one padded row, where a
   phase may fall in the padding (0): the edges of phase_channels' row. */
static void phase_edge(const float *s, int64_t pw, const int64_t lo[2], const int64_t hi[2], int64_t j0,
                       int64_t j1, float *r0, float *r1) {
    for (int64_t j = j0; j < j1; j++) {
        r0[j] = j >= lo[0] && j < hi[0] ? s[2 * j - pw] : 0.0f;
        r1[j] = j >= lo[1] && j < hi[1] ? s[2 * j + 1 - pw] : 0.0f;
    }
}

/* Stride 2: channels [c0, c1) of group gi of image n into their four
   phase planes (layout_of; phase ph_ab of channel ch at
   xp + (2 a + b) cg plane + (ch - c0) plane). Both column phases of a row
   come from one image row: they are split in one pass over it (even and
   odd floats), which the compiler vectorises. (Each phase on its own, a
   stride-2 gather and the row read twice: 0.25 of the 2.7 ms of stride-2
   c128 56x56 k128 on one thread.) */
static void phase_channels(const rows_ctx *c, int64_t n, int64_t gi, int64_t c0, int64_t c1, float *xp) {
    const nb_conv2d_desc *d = c->d;
    const int64_t H = d->h, W = d->w, ph = d->pad_h, pw = d->pad_w, Wp = c->Wp;
    /* columns j of phase b with 0 <= 2 j + b - pw < W: [lo[b], hi[b]) */
    int64_t lo[2], hi[2];
    for (int64_t b = 0; b < 2; b++) {
        lo[b] = pw > b ? (pw - b + 1) / 2 : 0;
        hi[b] = (W + pw - b + 1) / 2 < Wp ? (W + pw - b + 1) / 2 : Wp;
        if (hi[b] < lo[b]) hi[b] = lo[b];
    }
    /* columns where both phases read the row */
    const int64_t blo = lo[0] > lo[1] ? lo[0] : lo[1];
    const int64_t bhi = hi[0] < hi[1] ? hi[0] : hi[1];
    for (int64_t ch = c0; ch < c1; ch++) {
        const float *src = c->x + (n * d->c + gi * c->g.cg + ch) * H * W;
        for (int64_t a = 0; a < 2; a++) {
            float *dst0 = xp + 2 * a * c->xcs * c->plane + (ch - c0) * c->plane;
            float *dst1 = dst0 + c->xcs * c->plane;
            for (int64_t i = 0; i < c->Hp; i++) {
                const int64_t h = 2 * i + a - ph;
                float *r0 = dst0 + i * Wp, *r1 = dst1 + i * Wp;
                if (h < 0 || h >= H) {
                    memset(r0, 0, (size_t)Wp * sizeof(float));
                    memset(r1, 0, (size_t)Wp * sizeof(float));
                    continue;
                }
                const float *s = src + h * W;   /* xpad's row: s[2 j + b - pw] */
                phase_edge(s, pw, lo, hi, 0, blo, r0, r1);
                for (int64_t j = blo; j < bhi; j++) {
                    r0[j] = s[2 * j - pw];
                    r1[j] = s[2 * j + 1 - pw];
                }
                phase_edge(s, pw, lo, hi, bhi > blo ? bhi : blo, Wp, r0, r1);
            }
        }
    }
}

/* Stride 1: channels [c0, c1) of group gi of image n, zero padded, into
   xp (plane floats each). */
static void pad_channels(const rows_ctx *c, int64_t n, int64_t gi, int64_t c0, int64_t c1, float *xp) {
    const nb_conv2d_desc *d = c->d;
    const int64_t H = d->h, W = d->w, ph = d->pad_h, pw = d->pad_w, Wp = c->Wp;
    for (int64_t ch = c0; ch < c1; ch++) {
        const float *src = c->x + (n * d->c + gi * c->g.cg + ch) * H * W;
        float *dst = xp + (ch - c0) * c->plane;
        memset(dst, 0, (size_t)(ph * Wp + pw) * sizeof(float));
        for (int64_t h = 0; h < H; h++) {
            float *row = dst + (ph + h) * Wp + pw;
            memcpy(row, src + h * W, (size_t)W * sizeof(float));
            /* the rest of this row and the next one's left padding */
            memset(row + W, 0, (size_t)(Wp - W) * sizeof(float));
        }
        memset(dst + (ph + H) * Wp + pw, 0, (size_t)((c->Hp - ph - H) * Wp) * sizeof(float));
    }
}

/* The B panels of the KC block [j0, j0 + kcb) (padded-row numbering) of
   the kg filters whose dy rows start at dyk (PQ floats apart): ceil(kg / NR)
   panels of kcb NR floats, row j - j0 of panel k0 / NR at
   bp + k0 kcb + (j - j0) NR; the rows of padding pixels (q >= Q) zero, the
   others dy's, packed an output-row segment at a time by the SGEMM's
   packer in its transposed form (B stored N x K: a filter's pixels are
   contiguous), which transposes in registers: dy is read once and never
   written back transposed (a dyT pass over the image cost 5 % of
   c64 56x56). */
static void pack_dy_block(const rows_ctx *c, const float *dyk, int64_t kg, int64_t j0, int64_t kcb,
                          float *bp) {
    const nb_conv_geom *g = &c->g;
    const int64_t NR = c->gd->nr, Wp = c->Wp;
    for (int64_t j = j0; j < j0 + kcb;) {
        const int64_t p = j / Wp, q = j % Wp;
        const int64_t end = (p + 1) * Wp < j0 + kcb ? (p + 1) * Wp : j0 + kcb;
        const int64_t seg = q < g->Q ? (g->Q - q < end - j ? g->Q - q : end - j) : 0;
        for (int64_t k0 = 0; k0 < kg; k0 += NR) {
            float *dst = bp + k0 * kcb + (j - j0) * NR;
            if (seg)
                c->gd->pack_b(1, (size_t)seg, (size_t)(kg - k0 < NR ? kg - k0 : NR),
                              dyk + k0 * g->PQ + p * g->Q + q, g->PQ, dst);
            memset(dst + seg * NR, 0, (size_t)((end - j - seg) * NR) * sizeof(float));
        }
        j = end;
    }
}

/* Real (q < Q) pixels of the padded-row numbering before pixel j. */
static int64_t real_before(const rows_ctx *c, int64_t j) {
    const int64_t q = j % c->Wp;
    return j / c->Wp * c->g.Q + (q < c->g.Q ? q : c->g.Q);
}

/* The in-place form's B panels of the KC block [j0, j0 + kcb): only its
   real pixels (nr of them), in order: row i of panel k0 / NR at
   bp + k0 nr + i NR. */
static void pack_dy_real(const rows_ctx *c, const float *dyk, int64_t kg, int64_t j0, int64_t kcb,
                         float *bp) {
    const nb_conv_geom *g = &c->g;
    const int64_t NR = c->gd->nr, Wp = c->Wp, nr = real_before(c, j0 + kcb) - real_before(c, j0);
    for (int64_t j = j0, i = 0; j < j0 + kcb;) {
        const int64_t p = j / Wp, q = j % Wp;
        const int64_t end = (p + 1) * Wp < j0 + kcb ? (p + 1) * Wp : j0 + kcb;
        const int64_t seg = q < g->Q ? (g->Q - q < end - j ? g->Q - q : end - j) : 0;
        if (seg)
            for (int64_t k0 = 0; k0 < kg; k0 += NR)
                c->gd->pack_b(1, (size_t)seg, (size_t)(kg - k0 < NR ? kg - k0 : NR),
                              dyk + k0 * g->PQ + p * g->Q + q, g->PQ, bp + k0 * nr + i * NR);
        i += seg;
        j = end;
    }
}

/* The in-place form's row segments (nb_conv_desc.bwf_rows) of tap (oh, ow)
   (pixel offsets of the tap in the padded image) over the KC block
   [j0, j0 + kcb): each output row's real pixels of the block whose tap
   lies in the image, A offsets from the channel's first float, B offsets
   from the block's panel. Returns the count. */
static int64_t tap_segments(const rows_ctx *c, int64_t oh, int64_t ow, int64_t j0, int64_t kcb,
                            int64_t *seg) {
    const nb_conv2d_desc *d = c->d;
    const int64_t Wp = c->Wp, Q = c->g.Q, st = c->sh, NR = c->gd->nr, r0 = real_before(c, j0);
    /* columns q with 0 <= q st + ow - pw < W */
    const int64_t qlo = d->pad_w - ow > 0 ? (d->pad_w - ow + st - 1) / st : 0;
    const int64_t qhi0 = (d->w - 1 + d->pad_w - ow) / st + 1, qhi = qhi0 < Q ? qhi0 : Q;
    int64_t ns = 0;
    for (int64_t p = j0 / Wp; p * Wp < j0 + kcb; p++) {
        const int64_t h = p * st + oh - d->pad_h;
        if (h < 0 || h >= d->h) continue;
        int64_t qa = j0 - p * Wp > qlo ? j0 - p * Wp : qlo;
        int64_t qb = j0 + kcb - p * Wp < qhi ? j0 + kcb - p * Wp : qhi;
        if (qb <= qa) continue;
        seg[3 * ns] = h * d->w + qa * st + ow - d->pad_w;
        seg[3 * ns + 1] = (real_before(c, p * Wp + qa) - r0) * NR;
        seg[3 * ns + 2] = qb - qa;
        ns++;
    }
    return ns;
}

/* A member's share of dwT: rows [u0, u1) (unit u: channel panel u / RS,
   tap u % RS) by filter columns [k0, k1) (whole NR panels but the last). */
typedef struct { int64_t u0, u1, k0, k1; } rows_share;

/* Units [u0, u1) of member tid of nt, weighed by their channels (the
   last panel may hold a few: stride-2 c128 has 9 panels of 14 and one of
   2, and an even split of the 90 units gave one member 70 channels, the
   other 58). */
static void unit_share(const rows_ctx *c, int tid, int nt, int64_t *u0, int64_t *u1) {
    const int64_t MR = c->gd->mr, cg = c->g.cg, units = c->mpan * c->RS;
    int64_t b[2] = {units, units}, acc = 0;
    for (int64_t u = 0, i = 0; u <= units && i < 2; u++) {
        /* b[i]: the first unit whose prefix weight reaches (tid + i) / nt of the total */
        while (i < 2 && acc * nt >= (int64_t)(tid + i) * cg * c->RS) b[i++] = u;
        if (u < units) acc += cg - u / c->RS * MR < MR ? cg - u / c->RS * MR : MR;
    }
    *u0 = b[0];
    *u1 = tid + 1 == nt ? units : b[1];
}

/* The filters split first where their full panels split evenly over a
   factor of the team (each member then packs only its own dy rows), the
   units over the rest; but the units alone where the image's padded
   planes (which every member of a filter split copies whole) outweigh dy
   (which every member of a unit split packs whole): stride-2 c128 56x56
   k128, 4 x 841 floats of planes a channel against 784 + 27 of dy a
   filter; its filter split copied the whole image on both threads (0.25
   of a member's 1.5 ms). */
static rows_share member_share(const rows_ctx *c, int tid, int nt) {
    const int64_t NR = c->gd->nr, kg = c->g.kg, panels = (kg + NR - 1) / NR;
    const int units_only = c->plane * c->sh * c->sh * c->g.cg > c->Ke * kg;
    int tn = 1;
    for (int t = nt; t > 1 && kg % NR == 0 && !units_only; t--)
        if (nt % t == 0 && panels % t == 0) {
            tn = t;
            break;
        }
    rows_share sh;
    int64_t p0, p1;
    nb_parallel_share(panels, tid % tn, tn, &p0, &p1);
    sh.k0 = p0 * NR;
    sh.k1 = p1 * NR < kg ? p1 * NR : kg;
    unit_share(c, tid / tn, nt / tn, &sh.u0, &sh.u1);
    return sh;
}

/* The share's dwT[gi] for the pixels [j0, j0 + kcb): a KC block. xp holds
   channels from c_lo; bp the block's panels of filters k0... */
static void block_units(const rows_ctx *c, int64_t gi, const rows_share *sh, int64_t c_lo,
                        const float *xp, const float *bp, int64_t j0, int64_t kcb, float beta,
                        float *ap) {
    const nb_gemm_desc *gd = c->gd;
    const nb_conv2d_desc *d = c->d;
    const int64_t kg = c->g.kg, cg = c->g.cg, NR = gd->nr;
    float *dwt = c->dwt + gi * c->g.L * kg;
    for (int64_t u = sh->u0; u < sh->u1; u++) {
        const int64_t cp = u / c->RS, tap = u % c->RS, st = c->sh;
        const int64_t oh = tap / d->s * d->dilation_h, ow = tap % d->s * d->dilation_w;
        const int64_t ch = cp * gd->mr, m = cg - ch < gd->mr ? cg - ch : gd->mr;
        if (c->inplace) {
            /* xp is the image's channel (c_lo: the group's first); ap the segments */
            int64_t *seg = (int64_t *)ap;
            const int64_t ns = tap_segments(c, oh, ow, j0, kcb, seg);
            const int64_t nr = real_before(c, j0 + kcb) - real_before(c, j0);
            float *cc = dwt + (ch * c->RS + tap) * kg;
            const float *a = xp + (ch - c_lo) * d->h * d->w;
            const int64_t lda = d->h * d->w, astep = st;
            for (int64_t k0 = sh->k0; k0 < sh->k1; k0 += NR)
                c->cd->bwf_rows.fn((size_t)m, (size_t)(sh->k1 - k0 < NR ? sh->k1 - k0 : NR), (size_t)ns, seg,
                                   a, lda, astep, bp + (k0 - sh->k0) * nr, cc + k0, c->RS * kg, beta);
            continue;
        }
        const int64_t phase = oh % st * st + ow % st;   /* 0 at stride 1 */
        const float *a = xp + (phase * c->xcs + ch - c_lo) * c->plane + oh / st * c->Wp + ow / st + j0;
        float *cc = dwt + (ch * c->RS + tap) * kg;   /* rows ch.. of the tap: RS kg apart */
        if (!gd->ukernel_adirect) gd->pack_a(0, (size_t)m, (size_t)kcb, a, c->plane, ap);
        for (int64_t k0 = sh->k0; k0 < sh->k1; k0 += NR) {
            const size_t nn = (size_t)(sh->k1 - k0 < NR ? sh->k1 - k0 : NR);
            const float *b = bp + (k0 - sh->k0) * kcb;   /* kcb NR floats a panel */
            if (gd->ukernel_adirect)
                gd->ukernel_adirect((size_t)m, nn, (size_t)kcb, a, c->plane, b, cc + k0, c->RS * kg, 1.0f, beta);
            else
                gd->ukernel((size_t)m, nn, (size_t)kcb, ap, b, cc + k0, c->RS * kg, 1.0f, beta);
        }
    }
}

/* 1 when one of the n floats at x is not finite. */
static int any_nonfinite(const float *x, int64_t n) {
    const uint32_t *u = (const uint32_t *)x;
    uint32_t inf = 0;
    for (int64_t i = 0; i < n; i++) inf |= (u[i] & 0x7f800000u) == 0x7f800000u;
    return inf != 0;
}

/* dw[gi] = dwT[gi]^T, filters [k0, k1): rows of dw, contiguous. Returns 1
   when one of them is not finite (the caller then runs the column-matrix
   path instead: see the top). */
static int transpose_out(const rows_ctx *c, int64_t gi, int64_t k0, int64_t k1) {
    const int64_t kg = c->g.kg, L = c->g.L;
    const float *dwt = c->dwt + gi * L * kg + k0;
    float *dwg = c->dw + (gi * kg + k0) * L;
    if (k1 <= k0) return 0;
    if (c->cd->transpose32) {
        c->cd->transpose32(k1 - k0, L, dwt, kg, dwg, L, 0);
    } else {
        for (int64_t k = 0; k < k1 - k0; k++)
            for (int64_t l = 0; l < L; l++) dwg[k * L + l] = dwt[l * kg + k];
    }
    return any_nonfinite(dwg, (k1 - k0) * L);
}

static void rows_member(void *p, int tid, int nt) {
    rows_ctx *c = p;
    const nb_conv_geom *g = &c->g;
    const int64_t kc = c->gd->kc, MR = c->gd->mr;
    float *xp = c->work + tid * c->work_floats;
    float *bp = xp + c->xp_floats, *ap = bp + c->bp_floats;
    int bad = 0;
    const rows_share sh = member_share(c, tid, nt);
    for (int64_t gi = 0; gi < g->G && sh.u0 < sh.u1 && sh.k0 < sh.k1; gi++) {
        const int64_t c_lo = sh.u0 / c->RS * MR, c_hi = ((sh.u1 - 1) / c->RS + 1) * MR;
        for (int64_t n = 0; n < c->d->n; n++) {
            const float *dyk = c->dy + (n * c->d->k + gi * g->kg + sh.k0) * g->PQ;
            if (c->inplace) {
                const float *xg = c->x + (n * c->d->c + gi * g->cg) * g->HW;
                for (int64_t j0 = 0; j0 < c->Ke; j0 += kc) {
                    const int64_t kcb = kc < c->Ke - j0 ? kc : c->Ke - j0;
                    pack_dy_real(c, dyk, sh.k1 - sh.k0, j0, kcb, bp);
                    block_units(c, gi, &sh, 0, xg, bp, j0, kcb, n == 0 && j0 == 0 ? 0.0f : 1.0f, ap);
                }
                continue;
            }
            if (c->cpc) {
                /* Chunks of cpc channel panels, each copied then run over
                   the whole image, so that its planes stay in L2 between
                   the copy and the tiles (a whole stride-2 c128 56x56
                   image's are 1.7 MiB); dy's B panels packed for the whole
                   image first (in L2 too). Every dwT element still gets
                   the image's KC blocks in order: the same bits. */
                for (int64_t j0 = 0, b = 0; j0 < c->Ke; j0 += kc, b++)
                    pack_dy_block(c, dyk, sh.k1 - sh.k0, j0, kc < c->Ke - j0 ? kc : c->Ke - j0,
                                  bp + b * c->bp_block);
                for (int64_t cp0 = sh.u0 / c->RS; cp0 * c->RS < sh.u1; cp0 += c->cpc) {
                    rows_share ck = sh;
                    ck.u0 = cp0 * c->RS > sh.u0 ? cp0 * c->RS : sh.u0;
                    ck.u1 = (cp0 + c->cpc) * c->RS < sh.u1 ? (cp0 + c->cpc) * c->RS : sh.u1;
                    const int64_t clo = cp0 * MR, chi = (cp0 + c->cpc) * MR < g->cg ? (cp0 + c->cpc) * MR : g->cg;
                    if (c->sh == 1) pad_channels(c, n, gi, clo, chi, xp);
                    else phase_channels(c, n, gi, clo, chi, xp);
                    for (int64_t j0 = 0, b = 0; j0 < c->Ke; j0 += kc, b++)
                        block_units(c, gi, &ck, clo, xp, bp + b * c->bp_block, j0,
                                    kc < c->Ke - j0 ? kc : c->Ke - j0, n == 0 && j0 == 0 ? 0.0f : 1.0f, ap);
                }
                continue;
            }
            const int64_t c1 = c_hi < g->cg ? c_hi : g->cg;
            if (c->sh == 1) pad_channels(c, n, gi, c_lo, c1, xp);
            else phase_channels(c, n, gi, c_lo, c1, xp);
            for (int64_t j0 = 0; j0 < c->Ke; j0 += kc) {
                const int64_t kcb = kc < c->Ke - j0 ? kc : c->Ke - j0;
                pack_dy_block(c, dyk, sh.k1 - sh.k0, j0, kcb, bp);
                block_units(c, gi, &sh, c_lo, xp, bp, j0, kcb, n == 0 && j0 == 0 ? 0.0f : 1.0f, ap);
            }
        }
    }
    /* dwT is complete once every member is done with it; then each
       transposes its share of the filters and checks it. */
    nb_parallel_barrier(nt);
    for (int64_t gi = 0; gi < g->G; gi++) {
        int64_t k0, k1;
        nb_parallel_share(g->kg, tid, nt, &k0, &k1);
        bad |= transpose_out(c, gi, k0, k1);
    }
    if (bad) __atomic_store_n(&c->bad, 1, __ATOMIC_RELAXED);
}

/* 1 when each of the n outputs along one axis has a tap of the k-wide
   window (stride st, dilation dl, padding pad) inside [0, len). */
static int each_output_has_a_tap(int64_t n, int64_t st, int64_t k, int64_t dl, int64_t pad, int64_t len) {
    for (int64_t o = 0; o < n; o++) {
        int ok = 0;
        for (int64_t t = 0; t < k && !ok; t++) {
            const int64_t i = o * st + t * dl - pad;
            ok = i >= 0 && i < len;
        }
        if (!ok) return 0;
    }
    return 1;
}

/* The in-place form: stride 2, the ISA's strided-rows tile of the SGEMM's
   shape, and every output pixel with a tap inside the image in both
   directions, so that a non-finite dy (whose products with the padding
   the segments leave out) still makes dw non-finite (the check at the
   top). The bits are the planes' (see the tile), so the choice may
   depend on the ISA. */
static int inplace_applies(const nb_conv_desc *cd, const nb_conv2d_desc *d, const nb_conv_geom *g) {
    const nb_gemm_desc *gd = cd->sgemm_desc;
    if (!cd->bwf_rows.fn || cd->bwf_rows.mr != gd->mr || cd->bwf_rows.nr != gd->nr || d->stride_h != 2)
        return 0;
    return each_output_has_a_tap(g->P, d->stride_h, d->r, d->dilation_h, d->pad_h, d->h) &&
           each_output_has_a_tap(g->Q, d->stride_w, d->s, d->dilation_w, d->pad_w, d->w);
}

nb_status nb_conv_bwd_filter_rows(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                  const nb_conv_geom *g, const float *x, const float *dy,
                                  float *dw, int *ran) {
    const nb_gemm_desc *gd = cd->sgemm_desc;
    rows_ctx c = {.cd = cd, .gd = gd, .d = d, .g = *g, .x = x, .dy = dy, .dw = dw};
    *ran = 0;
    layout_of(d, g, &c);
    c.RS = d->r * d->s;
    c.mpan = (g->cg + gd->mr - 1) / gd->mr;
    const int64_t panels = (g->kg + gd->nr - 1) / gd->nr;
    c.xcs = g->cg;
    c.bp_block = round16(gd->kc * panels * gd->nr);
    c.cpc = 0;
    const int64_t nblk = (c.Ke + gd->kc - 1) / gd->kc, panel_f = c.plane * c.sh * c.sh * gd->mr;
    const int64_t chunk_f = ROWS_CHUNK_FLOATS;
    if (panel_f * c.mpan > chunk_f && nblk * c.bp_block <= ROWS_DY_IMAGE_FLOATS) {
        c.cpc = chunk_f / panel_f > 1 ? chunk_f / panel_f : 1;
        if (c.cpc >= c.mpan) c.cpc = 0;
        else c.xcs = c.cpc * gd->mr;
    }
    c.inplace = inplace_applies(cd, d, g);
    if (c.inplace) c.cpc = 0;
    c.xp_floats = c.inplace ? 0 : round16(c.plane * c.xcs * c.sh * c.sh);
    c.bp_floats = c.cpc ? nblk * c.bp_block : c.bp_block;
    int64_t ap_floats = gd->mr * gd->kc + NB_GEMM_PACK_SLACK;
    if (c.inplace && ap_floats < 6 * (gd->kc + 2)) ap_floats = 6 * (gd->kc + 2);   /* the int64 segments */
    c.work_floats = c.xp_floats + c.bp_floats + round16(ap_floats);
    int64_t mnk;
    if (!nb_mul_ok(d->n * d->k * g->PQ, g->L, &mnk)) mnk = INT64_MAX;
    int nt = nb_threads_for(mnk, cd->min_mnk_per_thread);
    if (nt > c.mpan * c.RS) nt = (int)(c.mpan * c.RS);
    int owned;
    float *buf = nb_conv_scratch_floats(NB_SCRATCH_CONV_TASKS, 1, round16(d->k * g->L) + nt * c.work_floats, 1, &owned);
    if (!buf) return NB_ERR_OOM;
    c.dwt = buf;
    c.work = buf + round16(d->k * g->L);
    nb_parallel_team(nt, rows_member, &c);
    nb_scratch_done(buf, owned);
    *ran = !c.bad;
    return NB_OK;
}
