/* Direct forward convolution for layers with few input channels (the 7x7
 * stride-2 stem: 3 channels, 147 taps), on ISAs with a direct tile
 * (nb_conv_desc.direct, src/ukernel.h).
 *
 * Why: with 3 channels the GEMM paths pay for an im2col copy 49 times the
 * image (or, implicitly, a tap plan shared by only 3 channels) and then
 * pack it again into B panels, and 64 filters fill 14-row tiles to 91 %;
 * oneDNN's direct kernel ran the stem ~1.6x faster than that. Here the
 * image is copied once per image into column-phase planes (zero padding
 * included; stride 2 splits even and odd padded columns; in bands of
 * output rows, a thread's band buffer at a time), after which
 * every tap of 16 consecutive output pixels of one output row is one
 * contiguous run of a plane: the tile reads it in place through a tap
 * offset table, with the filters packed once per call in 8-row tiles.
 *
 * Bits: every output is one FMA chain over the taps in order (c, r, s)
 * from 0, plus the bias in one add: nothing depends on the threads, the
 * batch or the pixel chunking.
 */
#include "conv_internal.h"
#include "scratch.h"

#define LANES 16          /* output pixels of a group (one zmm) */
#define TILE_ROWS 8       /* filters of a tile */
#define TILE_GROUPS 3     /* groups of a tile: 48 pixels */
#define MAX_CHANNELS 4    /* more channels: the GEMM paths are not worse */
#define BAND_CHUNKS 14    /* chunks of a band (the stem: 6 output rows, 17 x 115 x 6 floats of planes) */

typedef struct {
    const nb_conv_desc *cd;
    const nb_conv2d_desc *d;
    nb_conv_geom g;
    int64_t hb, wq, plane;   /* a band buffer's plane rows, columns, floats of one phase */
    int64_t chunks, bands;
    const int32_t *toff;
    const float *wp, *bias;
    const float *x;          /* this image's input */
    float *y;                /* this image's output */
} direct_ctx;

static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* Few channels, groups 1, dilation 1, stride_w 1 or 2, whole groups of
   pixels in each output row, more than a few taps; a function of the
   shape and the ISA only. */
int nb_conv_use_direct(const nb_conv_desc *cd, const nb_conv2d_desc *d, const nb_conv_geom *g) {
    if (!cd->direct || g->G != 1 || g->cg > MAX_CHANNELS || g->L < 27 || d->dilation_h != 1 ||
        d->dilation_w != 1 || d->stride_w > 2 || g->Q % LANES != 0)
        return 0;
    const int64_t hp = (g->P - 1) * d->stride_h + d->r;
    const int64_t wq = cdiv((g->Q - 1) * d->stride_w + d->s, d->stride_w);
    /* Tap offsets and group bases are int32 / in one buffer. */
    return hp < INT32_MAX / 4 && wq < INT32_MAX / 4 &&
           (double)hp * (double)wq * (double)g->cg * (double)d->stride_w < (double)INT32_MAX / 2;
}

nb_conv_planes nb_conv_planes_of(const nb_conv2d_desc *d, const nb_conv_geom *g) {
    nb_conv_planes pl;
    pl.hp = (g->P - 1) * d->stride_h + d->r;
    pl.wq = cdiv((g->Q - 1) * d->stride_w + d->s, d->stride_w);
    pl.plane = g->cg * pl.hp * pl.wq;
    return pl;
}

/* Padded rows [r0, r1) of every channel of every phase into rows
   [0, r1 - r0) of planes (each channel's plane pl->hp rows of pl->wq):
   phase a's column qq is padded column a + sw qq, image column
   a + sw qq - pad_w, zero outside the image: a copy (stride 1) or a
   deinterleave (stride 2) that the compiler vectorises at the baseline
   ISA. It replaced the ISA's im2col of a 1x1 convolution per phase, which
   read the image once per phase: 2.0-2.5 % of the stem's time on Zen 4
   (perf, cpu-clock) against 1.95 % for this loop over the whole image
   (it waits on the image's lines, not on the shuffles). */
static void fill_rows(const nb_conv2d_desc *d, const nb_conv_geom *g, const nb_conv_planes *pl,
                      const float *x, float *planes, int64_t r0, int64_t r1) {
    const int64_t sw = d->stride_w, wq = pl->wq;
    /* Phase a's in-image columns qq in [lo[a], hi[a]): 0 <= a + sw qq - pad_w < w
       (sw is 1 or 2: the forward and backward-filter paths require it). */
    int64_t lo[2], hi[2];
    for (int64_t a = 0; a < sw; a++) {
        lo[a] = d->pad_w - a <= 0 ? 0 : cdiv(d->pad_w - a, sw);
        hi[a] = d->w + d->pad_w - a <= 0 ? 0 : cdiv(d->w + d->pad_w - a, sw);
        if (lo[a] > wq) lo[a] = wq;
        if (hi[a] > wq) hi[a] = wq;
        if (hi[a] < lo[a]) hi[a] = lo[a];
    }
    /* Both phases of an image row one after the other: the row is read from
       memory once (phase by phase, the whole image twice: 1.5x the time). */
    for (int64_t ch = 0; ch < g->cg; ch++)
        for (int64_t r = r0; r < r1; r++)
            for (int64_t a = 0; a < sw; a++) {
                float *restrict o = planes + a * pl->plane + (ch * pl->hp + r - r0) * wq;
                const int64_t ih = r - d->pad_h;
                if (ih < 0 || ih >= d->h) {
                    for (int64_t q = 0; q < wq; q++) o[q] = 0.0f;
                    continue;
                }
                const float *restrict xr = x + (ch * d->h + ih) * d->w;
                const int64_t off = a - d->pad_w;   /* xr[sw q + off], q in [lo, hi) */
                for (int64_t q = 0; q < lo[a]; q++) o[q] = 0.0f;
                if (sw == 1)
                    for (int64_t q = lo[a]; q < hi[a]; q++) o[q] = xr[q + off];
                else
                    for (int64_t q = lo[a]; q < hi[a]; q++) o[q] = xr[2 * q + off];
                for (int64_t q = hi[a]; q < wq; q++) o[q] = 0.0f;
            }
}

void nb_conv_fill_planes(const nb_conv_desc *cd, const nb_conv2d_desc *d, const nb_conv_geom *g,
                         const nb_conv_planes *pl, const float *x, float *planes) {
    (void)cd;
    fill_rows(d, g, pl, x, planes, 0, pl->hp);
}

/* A band: chunks [c0, c1) of this image's output, which read padded rows
   [r0, r1), filled into this thread's band buffer just before its tiles
   read them (from L2 rather than from a whole-image copy that y's 3.2 MB
   pushed out to L3, and the fill split over the threads). The stem's
   bands are 17 rows for 12 new: the fill does 1.4x the work (1.95 ->
   3.6 % of the time, perf); on one thread the bands measured the same as
   the whole-image planes within this shared VM's noise (BAND_CHUNKS 7 /
   14 / 28 / whole image: 2.18-2.19 / 2.14-2.16 / 2.11-2.14 / 2.10-2.17 ms
   best of 40, AVX-512). Tried and dropped: prefetching the next band's
   image rows (__builtin_prefetch, T1) after each fill: the fill stayed at
   3.3 % and the prefetch loop itself took 1.5 %. */
typedef struct { int64_t c0, c1, r0, r1; } band;

static band band_of(const direct_ctx *c, int64_t t) {
    const nb_conv_geom *g = &c->g;
    band b;
    b.c0 = t * c->chunks / c->bands;
    b.c1 = (t + 1) * c->chunks / c->bands;
    const int64_t j0 = b.c0 * TILE_GROUPS * LANES;
    const int64_t j1 = b.c1 * TILE_GROUPS * LANES < g->PQ ? b.c1 * TILE_GROUPS * LANES : g->PQ;
    b.r0 = j0 / g->Q * c->d->stride_h;
    b.r1 = (j1 - 1) / g->Q * c->d->stride_h + c->d->r;
    return b;
}

/* One band: its rows of the planes, then each chunk of up to TILE_GROUPS
   groups of pixels, every filter tile. Dead end (session 14, Zen 4's
   32 KiB L1, where the stem's 64 filters, 37.6 KB packed, and a chunk's
   ~9 KB of planes do not fit together): filter tiles outer, in groups of
   4 tiles (18.8 KB of filters, which stay in L1) over the band's chunks:
   0.976, then 1.014 of this order (medians of 5 and 7 alternated runs;
   the same loops with 8 tiles a group, i.e. this order, 1.008: noise). */
static nb_status direct_task(const void *ctx, int64_t t, float *planes) {
    const direct_ctx *c = ctx;
    const nb_conv_geom *g = &c->g;
    const band b = band_of(c, t);
    const nb_conv_planes bp = {c->hb, c->wq, c->plane};
    fill_rows(c->d, g, &bp, c->x, planes, b.r0, b.r1);
    for (int64_t chunk = b.c0; chunk < b.c1; chunk++) {
        const int64_t j0 = chunk * TILE_GROUPS * LANES;
        const int64_t groups = cdiv(g->PQ - j0, LANES) < TILE_GROUPS ? cdiv(g->PQ - j0, LANES) : TILE_GROUPS;
        const float *base[TILE_GROUPS];
        for (int64_t i = 0; i < groups; i++) {
            const int64_t j = j0 + i * LANES, p = j / g->Q, q0 = j % g->Q;
            base[i] = planes + (p * c->d->stride_h - b.r0) * c->wq + q0;
        }
        for (int64_t k0 = 0; k0 < g->kg; k0 += TILE_ROWS) {
            const int64_t m = g->kg - k0 < TILE_ROWS ? g->kg - k0 : TILE_ROWS;
            c->cd->direct((size_t)m, (size_t)groups, (size_t)g->L, c->toff, c->wp + k0 * g->L, base,
                          c->y + k0 * g->PQ + j0, (ptrdiff_t)g->PQ, c->bias ? c->bias + k0 : NULL);
        }
    }
    return NB_OK;
}

nb_status nb_conv_direct_forward(const nb_conv_desc *cd, const nb_conv2d_desc *d, const float *x,
                                 const float *w, const float *bias, float *y) {
    direct_ctx c = {.cd = cd, .d = d, .g = nb_conv_geom_of(d), .bias = bias};
    const nb_conv_geom *g = &c.g;
    const nb_conv_planes pl = nb_conv_planes_of(d, g);
    c.wq = pl.wq;
    c.chunks = cdiv(g->PQ, TILE_GROUPS * LANES);
    const int nt = nb_conv_task_threads(cd, c.chunks, d, g);
    /* Bands of about BAND_CHUNKS chunks, the same number on each thread. */
    c.bands = nt * cdiv(c.chunks, nt * BAND_CHUNKS);
    c.hb = 0;
    for (int64_t t = 0; t < c.bands; t++) {
        const band b = band_of(&c, t);
        if (b.r1 - b.r0 > c.hb) c.hb = b.r1 - b.r0;
    }
    c.plane = g->cg * c.hb * c.wq;
    const int64_t RS = d->r * d->s, ktiles = cdiv(g->kg, TILE_ROWS);
    const int64_t toff_floats = cdiv(g->L, 16) * 16, wp_floats = ktiles * TILE_ROWS * g->L;
    int owned;
    float *buf = nb_conv_scratch_floats(NB_SCRATCH_CONV_FILTERS, 1, 1, toff_floats + wp_floats, &owned);
    if (!buf) return NB_ERR_OOM;
    int32_t *toff = (int32_t *)buf;
    float *wp = buf + toff_floats;
    for (int64_t l = 0; l < g->L; l++) {
        const int64_t ch = l / RS, r = l % RS / d->s, s = l % d->s;
        toff[l] = (int32_t)(s % d->stride_w * c.plane + (ch * c.hb + r) * c.wq + s / d->stride_w);
    }
    /* wp: tile k0 / 8 at wp + k0 L, tap t's rows at + 8 t; rows past kg 0. */
    for (int64_t kt = 0; kt < ktiles; kt++)
        for (int64_t l = 0; l < g->L; l++)
            for (int64_t i = 0; i < TILE_ROWS; i++) {
                const int64_t k = kt * TILE_ROWS + i;
                wp[(kt * g->L + l) * TILE_ROWS + i] = k < g->kg ? w[k * g->L + l] : 0.0f;
            }
    c.toff = toff;
    c.wp = wp;
    nb_status st = NB_OK;
    for (int64_t n = 0; n < d->n && st == NB_OK; n++) {
        c.x = x + n * d->c * g->HW;
        c.y = y + n * d->k * g->PQ;
        /* Each thread's band buffer: the phases' planes of hb rows. */
        st = nb_conv_run_tasks(cd, nt, c.bands, 1, cdiv(d->stride_w * c.plane, 16) * 16 + 16, 1, NULL,
                               direct_task, &c);
    }
    nb_scratch_done(buf, owned);
    return st;
}
