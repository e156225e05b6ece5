/* Direct forward convolution for layers with few input channels (the 7x7
 * stride-2 stem: 3 channels, 147 taps), on ISAs with a direct tile
 * (nb_conv_desc.direct, src/ukernel.h).
 *
 * Why: with 3 channels the GEMM paths pay for an im2col copy 49 times the
 * image (or, implicitly, a tap plan shared by only 3 channels) and then
 * pack it again into B panels, and 64 filters fill 14-row tiles to 91 %;
 * oneDNN's direct kernel ran the stem ~1.6x faster than that. Here the
 * image is copied once per image into column-phase planes (zero padding
 * included; stride 2 splits even and odd padded columns), after which
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

typedef struct {
    const nb_conv_desc *cd;
    const nb_conv2d_desc *d;
    nb_conv_geom g;
    int64_t hp, wq, plane;   /* plane rows, columns, floats of one phase */
    const int32_t *toff;
    const float *wp, *planes, *bias;
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

/* Each phase a is the ISA's im2col of a 1x1 convolution with stride
   (1, sw) and padding (pad_h, pad_w - a), whose hp x wq "output pixels"
   are the plane's rows and columns and whose column matrix rows are the
   channels (a strided copy with zero padding, SIMD). */
void nb_conv_fill_planes(const nb_conv_desc *cd, const nb_conv2d_desc *d, const nb_conv_geom *g,
                         const nb_conv_planes *pl, const float *x, float *planes) {
    for (int64_t a = 0; a < d->stride_w; a++) {
        const nb_conv2d_desc p1 = {.n = 1, .c = g->cg, .h = d->h, .w = d->w, .k = 1, .r = 1,
                                   .s = 1, .stride_h = 1, .stride_w = d->stride_w,
                                   .pad_h = d->pad_h, .pad_w = d->pad_w - a, .dilation_h = 1,
                                   .dilation_w = 1, .groups = 1};
        cd->im2col(&p1, g->cg, pl->hp, pl->wq, 0, pl->hp * pl->wq, x, planes + a * pl->plane,
                   pl->hp * pl->wq);
    }
}

/* One chunk of up to TILE_GROUPS groups of pixels, every filter tile. */
static nb_status direct_task(const void *ctx, int64_t chunk, float *unused) {
    (void)unused;
    const direct_ctx *c = ctx;
    const nb_conv_geom *g = &c->g;
    const int64_t j0 = chunk * TILE_GROUPS * LANES;
    const int64_t groups = cdiv(g->PQ - j0, LANES) < TILE_GROUPS ? cdiv(g->PQ - j0, LANES) : TILE_GROUPS;
    const float *base[TILE_GROUPS];
    for (int64_t i = 0; i < groups; i++) {
        const int64_t j = j0 + i * LANES, p = j / g->Q, q0 = j % g->Q;
        base[i] = c->planes + p * c->d->stride_h * c->wq + q0;
    }
    for (int64_t k0 = 0; k0 < g->kg; k0 += TILE_ROWS) {
        const int64_t m = g->kg - k0 < TILE_ROWS ? g->kg - k0 : TILE_ROWS;
        c->cd->direct((size_t)m, (size_t)groups, (size_t)g->L, c->toff, c->wp + k0 * g->L, base,
                      c->y + k0 * g->PQ + j0, (ptrdiff_t)g->PQ, c->bias ? c->bias + k0 : NULL);
    }
    return NB_OK;
}

nb_status nb_conv_direct_forward(const nb_conv_desc *cd, const nb_conv2d_desc *d, const float *x,
                                 const float *w, const float *bias, float *y) {
    direct_ctx c = {.cd = cd, .d = d, .g = nb_conv_geom_of(d), .bias = bias};
    const nb_conv_geom *g = &c.g;
    const nb_conv_planes pl = nb_conv_planes_of(d, g);
    c.hp = pl.hp;
    c.wq = pl.wq;
    c.plane = pl.plane;
    const int64_t RS = d->r * d->s, ktiles = cdiv(g->kg, TILE_ROWS);
    const int64_t toff_floats = cdiv(g->L, 16) * 16, wp_floats = ktiles * TILE_ROWS * g->L;
    int owned;
    float *buf = nb_conv_scratch_floats(NB_SCRATCH_CONV_FILTERS, 1, 1,
                                        toff_floats + wp_floats + d->stride_w * c.plane + 16, &owned);
    if (!buf) return NB_ERR_OOM;
    int32_t *toff = (int32_t *)buf;
    float *wp = buf + toff_floats, *planes = wp + wp_floats;
    for (int64_t l = 0; l < g->L; l++) {
        const int64_t ch = l / RS, r = l % RS / d->s, s = l % d->s;
        toff[l] = (int32_t)(s % d->stride_w * c.plane + (ch * c.hp + r) * c.wq + s / d->stride_w);
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
    c.planes = planes;
    const int64_t chunks = cdiv(g->PQ, TILE_GROUPS * LANES);
    const int nt = nb_conv_task_threads(cd, chunks, d, g);
    nb_status st = NB_OK;
    for (int64_t n = 0; n < d->n && st == NB_OK; n++) {
        nb_conv_fill_planes(cd, d, g, &pl, x + n * d->c * g->HW, planes);
        c.y = y + n * d->k * g->PQ;
        st = nb_conv_run_tasks(cd, nt, chunks, 0, 0, 0, NULL, direct_task, &c);
    }
    nb_scratch_done(buf, owned);
    return st;
}
