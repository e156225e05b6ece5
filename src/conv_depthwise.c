/* Depthwise convolution (groups == C, K == C multiplier): the driver of the
 * depthwise micro-kernels (contract and numerics: src/ukernel_dwconv.h).
 *
 * Why not the GEMM path: per group it is a kg x (R S) by (R S) x PQ GEMM
 * with kg = the multiplier (1 or 2): a 1- or 2-row GEMM pays packing, plan
 * building and an im2col copy of R S times the image for R S multiply-adds
 * per output. Here each output plane is one pass of a kernel that reads
 * the image rows in place.
 *
 * Tasks (all independent, each writes only its own plane):
 *   forward          image x output channel;
 *   backward-data    image x input channel: the multiplier's output
 *                    channels in order, each continuing the same chains;
 *                    stride 1 both ways runs the forward kernel over dy with
 *                    the filters rotated by 180 degrees and padding
 *                    dil (R - 1) - pad; other strides the scatter kernel;
 *   backward-filter  output channel, images in order (each image's sums
 *                    added to dw in order).
 * No chain is split across tasks, so the bits depend on neither the thread
 * count nor, for forward and backward-data, on the batch: an image alone
 * gets the bits it gets in a batch.
 *
 * Working memory (a zero row, the rotated filters) is taken before any
 * output is written: NB_ERR_OOM leaves the outputs untouched.
 */
#include <stdlib.h>
#include <string.h>

#include "conv_internal.h"
#include "internal.h"
#include "parallel.h"

/* NABLA_CONV_PATH=implicit / explicit forces one of the GEMM paths on
   every shape (the tests run the SIMD suite both ways): then not here. */
static int gemm_path_forced(void) {
    static int cached = -1;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v >= 0) return v;
    const char *e = getenv("NABLA_CONV_PATH");
    v = e && (strcmp(e, "implicit") == 0 || strcmp(e, "explicit") == 0);
    __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    return v;
}

/* One channel a group, more than one group (a single channel, groups 1,
   is an ordinary convolution: with many filters a real K x R S by R S x PQ
   GEMM). A function of the shape alone. */
int nb_conv_use_depthwise(const nb_conv_desc *cd, const nb_conv2d_desc *d) {
    if (!cd->dw.fwd || gemm_path_forced()) return 0;
    return d->groups == d->c && d->c > 1;
}

static nb_dw_plane plane_of(const nb_conv2d_desc *d) {
    nb_dw_plane g = {.h = d->h, .w = d->w, .r = d->r, .s = d->s, .stride_h = d->stride_h,
                     .stride_w = d->stride_w, .pad_h = d->pad_h, .pad_w = d->pad_w,
                     .dil_h = d->dilation_h, .dil_w = d->dilation_w};
    nb_conv_out_dims(d, &g.p, &g.q);
    nb_dw_plane_ranges(&g);
    return g;
}

typedef struct {
    const nb_conv_desc *cd;
    const nb_conv2d_desc *d;
    nb_dw_plane g;     /* the plane of the kernel calls */
    int64_t mult, RS, in_plane, out_plane;
    const float *in, *w, *in2, *zero;
    float *out, *out2;
} dw_ctx;

/* Tasks of at least ~64 Ki multiply-adds a thread (the GEMM's threshold). */
static void run(dw_ctx *c, int64_t tasks, int64_t per_task, void (*body)(void *, int64_t, int64_t)) {
    int64_t grain = 65536 / (per_task > 0 ? per_task : 1);
    nb_parallel_for(tasks, grain > 1 ? grain : 1, body, c);
}

/* Tried and not kept (session 14, AVX-512, 2 threads): the forward and
   backward-data planes handed out as the threads come free (nb_conv_grab,
   guided) instead of nb_parallel_for's two halves, whose ends were 4.4 us
   apart on average in a 58 us call (c144 56x56, timestamps per thread,
   each thread in turn the slower): A/B of 3-4 rounds, t2 real time, one
   -6 %, one within 1.5 %, two +3..+32 % (c32 112x112 0.056 -> 0.070 ms). */

/* A zeroed row for the kernels' padding rows: at least W + 64 floats of
   the plane they read. */
static float *zero_row(int64_t w) {
    float *z = nb_aligned_alloc((size_t)(w + 64) * sizeof(float));
    if (z) memset(z, 0, (size_t)(w + 64) * sizeof(float));
    return z;
}

/* ---- forward ---- */

static void fwd_body(void *ctx, int64_t t0, int64_t t1) {
    const dw_ctx *c = ctx;
    const int64_t K = c->d->k, C = c->d->c;
    for (int64_t t = t0; t < t1; t++) {
        const int64_t n = t / K, k = t % K;
        c->cd->dw.fwd(&c->g, c->in + (n * C + k / c->mult) * c->in_plane, c->w + k * c->RS,
                      c->in2 ? c->in2[k] : 0.0f, 0, c->zero, c->out + t * c->out_plane);
    }
}

nb_status nb_conv_depthwise_forward(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                    const float *x, const float *w, const float *bias, float *y) {
    dw_ctx c = {cd, d, plane_of(d), d->k / d->c, d->r * d->s, d->h * d->w, 0, x, w, bias, NULL,
                y, NULL};
    c.out_plane = c.g.p * c.g.q;
    float *zero = zero_row(d->w);
    if (!zero) return NB_ERR_OOM;
    c.zero = zero;
    run(&c, d->n * d->k, c.out_plane * c.RS, fwd_body);
    nb_aligned_free(zero);
    return NB_OK;
}

/* ---- backward-data ---- */

static void bwd_body(void *ctx, int64_t t0, int64_t t1) {
    const dw_ctx *c = ctx;
    const int64_t K = c->d->k, C = c->d->c;
    for (int64_t t = t0; t < t1; t++) {
        const int64_t n = t / C, ch = t % C;
        float *dx = c->out + t * c->out_plane;
        for (int64_t j = 0; j < c->mult; j++) {
            const int64_t k = ch * c->mult + j;
            const float *dy = c->in + (n * K + k) * c->in_plane;
            if (c->zero)   /* stride 1: forward over dy, rotated filters */
                c->cd->dw.fwd(&c->g, dy, c->w + k * c->RS, 0.0f, j > 0, c->zero, dx);
            else
                c->cd->dw.bwd(&c->g, dy, c->w + k * c->RS, j > 0, dx);
        }
    }
}

nb_status nb_conv_depthwise_backward_data(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                          const float *dy, const float *w, float *dx) {
    dw_ctx c = {cd, d, plane_of(d), d->k / d->c, d->r * d->s, 0, d->h * d->w, dy, w, NULL, NULL,
                dx, NULL};
    c.in_plane = c.g.p * c.g.q;
    float *zero = NULL, *wr = NULL;
    if (d->stride_h == 1 && d->stride_w == 1) {
        /* dx[ih, iw] = sum over r, s of dy[ih + pad_h - r dil_h, ...] w[r, s]; with
           r' = R - 1 - r that is a forward pass with padding dil (R - 1) - pad. */
        const nb_dw_plane f = c.g;
        c.g = (nb_dw_plane){.h = f.p, .w = f.q, .p = f.h, .q = f.w, .r = f.r, .s = f.s,
                            .stride_h = 1, .stride_w = 1,
                            .pad_h = f.dil_h * (f.r - 1) - f.pad_h,
                            .pad_w = f.dil_w * (f.s - 1) - f.pad_w, .dil_h = f.dil_h,
                            .dil_w = f.dil_w};
        nb_dw_plane_ranges(&c.g);
        zero = zero_row(c.g.w);
        wr = nb_aligned_alloc((size_t)(d->k * c.RS) * sizeof(float));
        if (!zero || !wr) {
            nb_aligned_free(zero);
            nb_aligned_free(wr);
            return NB_ERR_OOM;
        }
        for (int64_t k = 0; k < d->k; k++)
            for (int64_t i = 0; i < c.RS; i++) wr[k * c.RS + c.RS - 1 - i] = w[k * c.RS + i];
        c.zero = zero;
        c.w = wr;
    }
    run(&c, d->n * d->c, c.out_plane * c.RS * c.mult, bwd_body);
    nb_aligned_free(zero);
    nb_aligned_free(wr);
    return NB_OK;
}

/* ---- backward-filter ---- */

/* dw of output channel k, images in order; and dbias[k] as the GEMM path
   computes it (a double accumulator over the images in order, each image's
   rowsum), taken right after the image's kernel call while its dy plane is
   still in L1 (a separate pass would read all of dy again from memory), or
   inside it where the ISA has dw.bwf_sum (same bits: there its widening
   adds overlap the filter FMAs). */
static void bwf_body(void *ctx, int64_t k0, int64_t k1) {
    const dw_ctx *c = ctx;
    const int64_t K = c->d->k, C = c->d->c;
    for (int64_t k = k0; k < k1; k++) {
        double acc = 0;
        for (int64_t n = 0; n < c->d->n; n++) {
            const float *dy = c->in2 + (n * K + k) * c->out_plane;
            const float *x = c->in + (n * C + k / c->mult) * c->in_plane;
            if (c->out2 && c->cd->dw.bwf_sum) {
                acc += c->cd->dw.bwf_sum(&c->g, x, dy, c->zero, n > 0, c->out + k * c->RS);
                continue;
            }
            c->cd->dw.bwf(&c->g, x, dy, c->zero, n > 0, c->out + k * c->RS);
            if (c->out2) acc += c->cd->rowsum(c->out_plane, dy);
        }
        if (c->out2) c->out2[k] = (float)acc;
    }
}

nb_status nb_conv_depthwise_backward_filter(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                            const float *x, const float *dy, float *dw,
                                            float *dbias) {
    dw_ctx c = {cd, d, plane_of(d), d->k / d->c, d->r * d->s, d->h * d->w, 0, x, NULL, dy, NULL,
                dw, dbias};
    c.out_plane = c.g.p * c.g.q;
    float *zero = zero_row(d->w);
    if (!zero) return NB_ERR_OOM;
    c.zero = zero;
    run(&c, d->k, d->n * c.out_plane * c.RS, bwf_body);
    nb_aligned_free(zero);
    return NB_OK;
}
