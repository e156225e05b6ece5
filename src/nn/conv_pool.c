/* conv2d through the nb_sconv2d_* kernels; max/avg pooling: float32 rows
 * through the active ISA's pooling micro-kernels (src/ukernel.h, "2-D
 * pooling rows"), threaded over output rows; float64 (the gradient
 * checks' precision) as plain C loops. NCHW activations, OIHW weights. */
#include <math.h>
#include <string.h>

#include "tensor/tensor_internal.h"
#include "autograd/autograd_internal.h"
#include "isa_ops.h"
#include "parallel.h"
#include <nabla/nn.h>

nb_conv2d_params nb_conv2d_defaults(void) {
    nb_conv2d_params p = {1, 1, 0, 0, 1, 1, 1};
    return p;
}

/* A dense copy of t unless it is already dense (then t, retained). */
static nb_tensor *dense(const char *fn, nb_tensor *t) {
    if (nb_tensor_is_contiguous(t)) return nb_tensor_retain(t);
    nb_tensor *c = nb__empty(fn, t->ndim, t->shape, t->dtype);
    if (c && nb__copy_into(fn, c, t)) { nb_tensor_release(c); return NULL; }
    return c;
}

static void desc_to_ints(const nb_conv2d_desc *d, int64_t *v) {
    int64_t a[14] = {d->n, d->c, d->h, d->w, d->k, d->r, d->s, d->stride_h, d->stride_w,
                     d->pad_h, d->pad_w, d->dilation_h, d->dilation_w, d->groups};
    memcpy(v, a, sizeof a);
}
static nb_conv2d_desc ints_to_desc(const int64_t *v) {
    nb_conv2d_desc d = {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13]};
    return d;
}

nb_tensor *nb_conv2d(nb_tensor *x, nb_tensor *w, nb_tensor *b, const nb_conv2d_params *p) {
    const char *fn = "nb_conv2d";
    char b1[96], b2[96];
    if (!x || !w) { nb_error(NB_ERR_ARG, fn, "%s is NULL", x ? "w" : "x"); return NULL; }
    nb_conv2d_params prm = p ? *p : nb_conv2d_defaults();
    if (x->ndim != 4 || w->ndim != 4) {
        nb_error(NB_ERR_SHAPE, fn, "expects x [N, C, H, W] and w [K, C/groups, R, S], got %s and %s",
                 nb__shape_str(b1, sizeof b1, x->ndim, x->shape), nb__shape_str(b2, sizeof b2, w->ndim, w->shape));
        return NULL;
    }
    if (!nb_is_float(x->dtype) || x->dtype != w->dtype || (b && b->dtype != x->dtype)) {
        nb_error(NB_ERR_DTYPE, fn, "x, w and b need the same floating dtype, got %s and %s", nb_dtype_name(x->dtype),
                 nb_dtype_name(w->dtype));
        return NULL;
    }
    nb_conv2d_desc d = {x->shape[0], x->shape[1], x->shape[2], x->shape[3], w->shape[0], w->shape[2], w->shape[3],
                        prm.stride_h, prm.stride_w, prm.pad_h, prm.pad_w, prm.dilation_h, prm.dilation_w, prm.groups};
    if (prm.groups < 1 || w->shape[1] * prm.groups != x->shape[1]) {
        nb_error(NB_ERR_SHAPE, fn, "w %s expects %lld input channels (x.shape[1] / groups), x %s has %lld with groups %lld",
                 nb__shape_str(b1, sizeof b1, w->ndim, w->shape), (long long)w->shape[1],
                 nb__shape_str(b2, sizeof b2, x->ndim, x->shape), (long long)x->shape[1], (long long)prm.groups);
        return NULL;
    }
    if (b && (b->ndim != 1 || b->shape[0] != w->shape[0])) {
        nb_error(NB_ERR_SHAPE, fn, "bias must be [%lld], got %s", (long long)w->shape[0],
                 nb__shape_str(b1, sizeof b1, b->ndim, b->shape));
        return NULL;
    }
    int64_t P, Q;
    if (nb_conv2d_out_shape(&d, &P, &Q)) { nb_error_context(fn); return NULL; }
    nb_tensor *xc = dense(fn, x), *wc = xc ? dense(fn, w) : NULL, *bc = wc && b ? dense(fn, b) : NULL;
    nb_tensor *y = wc && (bc || !b) ? nb__empty(fn, 4, (int64_t[]){d.n, d.k, P, Q}, x->dtype) : NULL;
    nb_status s = NB_ERR_OOM;
    if (y && x->dtype == NB_FLOAT32)
        s = nb_sconv2d_forward(&d, (const float *)nb_ptr(xc), (const float *)nb_ptr(wc),
                               bc ? (const float *)nb_ptr(bc) : NULL, (float *)nb_ptr(y));
    else if (y)   /* float64: the reference twin, for gradient checks */
        s = nb_dconv2d_forward(&d, (const double *)nb_ptr(xc), (const double *)nb_ptr(wc),
                               bc ? (const double *)nb_ptr(bc) : NULL, (double *)nb_ptr(y));
    nb_tensor_release(xc); nb_tensor_release(wc); nb_tensor_release(bc);
    if (s) { nb_tensor_release(y); return NULL; }
    nb_node *node;
    y = nb__record(y, fn, nb_grad_conv2d, 3, (nb_tensor *[]){x, w, b}, &node);
    if (node) {
        int64_t v[14];
        desc_to_ints(&d, v);
        if (nb__node_ints(node, 14, v) || nb__node_save(node, 0, x) || nb__node_save(node, 1, w)) {
            nb_tensor_release(y);
            return NULL;
        }
    }
    return y;
}

nb_tensor *nb__conv2d_backward(nb_node *n, nb_tensor *g, int which) {
    const char *fn = "nb_conv2d";
    nb_conv2d_desc d = ints_to_desc(n->ints);
    if (which == 2) return nb__reduce_mask(fn, NB_REDUCE_SUM, g, 1 | 4 | 8, false);
    nb_tensor *x = n->saved[0].t, *w = n->saved[1].t;
    nb_tensor *gc = dense(fn, g), *other = gc ? dense(fn, which == 0 ? w : x) : NULL;
    nb_tensor *out = other ? nb__empty(fn, 4, which == 0 ? x->shape : w->shape, g->dtype) : NULL;
    nb_status s = NB_ERR_OOM;
    const bool f32 = g->dtype == NB_FLOAT32;
    if (out && which == 0)
        s = f32 ? nb_sconv2d_backward_data(&d, (const float *)nb_ptr(gc), (const float *)nb_ptr(other), (float *)nb_ptr(out))
                : nb_dconv2d_backward_data(&d, (const double *)nb_ptr(gc), (const double *)nb_ptr(other), (double *)nb_ptr(out));
    else if (out)
        s = f32 ? nb_sconv2d_backward_filter(&d, (const float *)nb_ptr(other), (const float *)nb_ptr(gc), (float *)nb_ptr(out), NULL)
                : nb_dconv2d_backward_filter(&d, (const double *)nb_ptr(other), (const double *)nb_ptr(gc), (double *)nb_ptr(out), NULL);
    nb_tensor_release(gc);
    nb_tensor_release(other);
    if (s) { nb_tensor_release(out); return NULL; }
    return out;
}

/* ---- pooling ---- */

typedef struct { int64_t kh, kw, sh, sw, ph, pw, P, Q; } pool_geom;

static nb_status pool_check(const char *fn, const nb_tensor *x, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                            int64_t ph, int64_t pw, pool_geom *g) {
    char b1[96];
    if (!x) return nb_error(NB_ERR_ARG, fn, "x is NULL");
    if (x->ndim != 4) return nb_error(NB_ERR_SHAPE, fn, "expects x [N, C, H, W], got %s", nb__shape_str(b1, sizeof b1, x->ndim, x->shape));
    if (!nb_is_float(x->dtype)) return nb_error(NB_ERR_DTYPE, fn, "needs a floating dtype, got %s", nb_dtype_name(x->dtype));
    if (kh < 1 || kw < 1) return nb_error(NB_ERR_ARG, fn, "kernel %lldx%lld must be positive", (long long)kh, (long long)kw);
    if (sh == 0) sh = kh;
    if (sw == 0) sw = kw;
    if (sh < 1 || sw < 1) return nb_error(NB_ERR_ARG, fn, "strides must be positive");
    if (ph < 0 || pw < 0 || 2 * ph > kh || 2 * pw > kw)
        return nb_error(NB_ERR_ARG, fn, "padding (%lld, %lld) must be >= 0 and at most half the kernel", (long long)ph, (long long)pw);
    int64_t P = (x->shape[2] + 2 * ph - kh) / sh + 1, Q = (x->shape[3] + 2 * pw - kw) / sw + 1;
    if (x->shape[2] + 2 * ph < kh || x->shape[3] + 2 * pw < kw || P < 1 || Q < 1)
        return nb_error(NB_ERR_SHAPE, fn, "the kernel does not fit the padded input %s", nb__shape_str(b1, sizeof b1, x->ndim, x->shape));
    *g = (pool_geom){kh, kw, sh, sw, ph, pw, P, Q};
    return NB_OK;
}

static double ld(const nb_tensor *t, int64_t i) {
    return t->dtype == NB_FLOAT32 ? ((const float *)nb_ptr(t))[i] : ((const double *)nb_ptr(t))[i];
}
static void st(nb_tensor *t, int64_t i, double v) {
    if (t->dtype == NB_FLOAT32) ((float *)nb_ptr(t))[i] = (float)v;
    else ((double *)nb_ptr(t))[i] = v;
}

/* float64: the double loop (PyTorch's scan order, as the kernels'). */
static void pool_f64(bool is_max, const nb_tensor *xc, const pool_geom *g, nb_tensor *y, nb_tensor *arg) {
    const int64_t H = xc->shape[2], W = xc->shape[3], NC = xc->shape[0] * xc->shape[1];
    int64_t o = 0;
    for (int64_t nc = 0; nc < NC; nc++)
        for (int64_t p = 0; p < g->P; p++)
            for (int64_t q = 0; q < g->Q; q++, o++) {
                double acc = is_max ? -INFINITY : 0;
                int64_t best = -1;
                for (int64_t i = 0; i < g->kh; i++)
                    for (int64_t j = 0; j < g->kw; j++) {
                        int64_t h = p * g->sh - g->ph + i, w = q * g->sw - g->pw + j;
                        if (h < 0 || h >= H || w < 0 || w >= W) continue;
                        double v = ld(xc, (nc * H + h) * W + w);
                        if (!is_max) acc += v;
                        /* the first of tied maxima, the last of several NaNs */
                        else if (best < 0 || v > acc || isnan(v)) { acc = v; best = h * W + w; }
                    }
                st(y, o, is_max ? acc : acc / (double)(g->kh * g->kw));
                if (is_max) ((int64_t *)nb_ptr(arg))[o] = best;
            }
}

/* float32: one micro-kernel call per output row (plane nc, row p). */
typedef struct {
    nb_pool2d_geom g;
    int64_t P;
    const float *x;
    float *y;
    int64_t *arg;   /* NULL for avg */
    const nb_ukernel_config *k;
} pool_rows;

static void pool_rows_body(void *ctx, int64_t r0, int64_t r1) {
    const pool_rows *c = ctx;
    const int64_t HW = c->g.H * c->g.W, Q = c->g.Q;
    for (int64_t r = r0; r < r1; r++) {
        const int64_t nc = r / c->P, p = r % c->P;
        const float *plane = c->x + nc * HW;
        if (!c->arg) {
            c->k->avgpool(&c->g, plane, p, c->y + r * Q);
            continue;
        }
        c->k->maxpool(&c->g, plane, p, c->y + r * Q, c->arg + r * Q);   /* plane indices, as saved */
    }
}

/* MaxPool2d(2) on planes of exactly 2P x 2Q with a planes kernel: 16 flat
   outputs a task unit (the kernel's vector), any split the same bits. */
typedef struct {
    int64_t P, Q, n;
    const float *x, *dy;
    float *y, *dx;
    int64_t *arg;
    const nb_ukernel_config *k;
} pool2_planes;

static bool pool2_planes_apply(const nb_ukernel_config *k, int64_t H, int64_t W, const pool_geom *g) {
    return k->maxpool2 && k->maxpool2_bwd && k->maxpool2_fits && k->maxpool2_fits(g->P, g->Q) && g->kh == 2 &&
           g->kw == 2 && g->sh == 2 && g->sw == 2 && !g->ph &&
           !g->pw && H == 2 * g->P && W == 2 * g->Q;
}

static void pool2_planes_body(void *ctx, int64_t t0, int64_t t1) {
    const pool2_planes *c = ctx;
    const int64_t o0 = 16 * t0, o1 = 16 * t1 < c->n ? 16 * t1 : c->n;
    if (c->dx) c->k->maxpool2_bwd(c->P, c->Q, c->dy, c->arg, o0, o1, c->dx);
    else c->k->maxpool2(c->P, c->Q, c->x, o0, o1, c->y, c->arg);
}

static void pool2_planes_run(pool2_planes *c) {
    nb_parallel_for((c->n + 15) / 16, NB_FOREACH_GRAIN / 64 + 1, pool2_planes_body, c);
}

static void pool_f32(const nb_tensor *xc, const pool_geom *g, nb_tensor *y, nb_tensor *arg) {
    const nb_ukernel_config *k = nb_ukernels_active();
    if (arg && pool2_planes_apply(k, xc->shape[2], xc->shape[3], g)) {
        pool2_planes c = {g->P, g->Q, nb_tensor_numel(y), (const float *)nb_ptr(xc), NULL, (float *)nb_ptr(y), NULL,
                          (int64_t *)nb_ptr(arg), k};
        pool2_planes_run(&c);
        return;
    }
    pool_rows c = {{xc->shape[2], xc->shape[3], g->kh, g->kw, g->sh, g->sw, g->ph, g->pw, g->Q},
                   g->P, (const float *)nb_ptr(xc), (float *)nb_ptr(y),
                   arg ? (int64_t *)nb_ptr(arg) : NULL, nb_ukernels_active()};
    const int64_t rows = xc->shape[0] * xc->shape[1] * g->P, work = g->Q * g->kh * g->kw;
    nb_parallel_for(rows, NB_FOREACH_GRAIN / (work > 0 ? work : 1) + 1, pool_rows_body, &c);
}

static nb_tensor *pool(const char *fn, bool is_max, nb_tensor *x, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                       int64_t ph, int64_t pw) {
    pool_geom g = {0};
    if (pool_check(fn, x, kh, kw, sh, sw, ph, pw, &g)) return NULL;
    const int64_t N = x->shape[0], C = x->shape[1];
    nb_tensor *xc = dense(fn, x);
    nb_tensor *y = xc ? nb__empty(fn, 4, (int64_t[]){N, C, g.P, g.Q}, x->dtype) : NULL;
    nb_tensor *arg = y && is_max ? nb__empty(fn, 4, (int64_t[]){N, C, g.P, g.Q}, NB_INT64) : NULL;
    if (!y || (is_max && !arg)) { nb_tensor_release(xc); nb_tensor_release(y); return NULL; }
    if (x->dtype == NB_FLOAT32) pool_f32(xc, &g, y, arg);
    else pool_f64(is_max, xc, &g, y, arg);
    nb_tensor_release(xc);
    nb_node *node;
    y = nb__record(y, fn, is_max ? nb_grad_max_pool2d : nb_grad_avg_pool2d, 1, &x, &node);
    if (node) {
        node->in_ndim = 4;
        memcpy(node->in_shape, x->shape, sizeof(int64_t) * 4);
        node->in_dtype = x->dtype;
        int64_t v[8] = {g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.P, g.Q};
        if (nb__node_ints(node, 8, v) || (is_max && nb__node_save(node, 0, arg))) {
            nb_tensor_release(y);
            y = NULL;
        }
    }
    nb_tensor_release(arg);
    return y;
}

nb_tensor *nb_max_pool2d(nb_tensor *x, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw) {
    return pool("nb_max_pool2d", true, x, kh, kw, sh, sw, ph, pw);
}
nb_tensor *nb_avg_pool2d(nb_tensor *x, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw) {
    return pool("nb_avg_pool2d", false, x, kh, kw, sh, sw, ph, pw);
}

/* float32 max-pool backward without row overlap: one backward row
   micro-kernel per output row (plane nc, row p), which writes its band of
   dx whole (zero, then the scatter), so dx needs no zero-fill pass. */
typedef struct {
    nb_pool2d_geom g;
    int64_t P;
    const float *dy;
    const int64_t *arg;
    float *dx;
    nb_f32_maxpool_bwd_row_fn row;
} pool_bwd_rows;

static void pool_bwd_body(void *ctx, int64_t r0, int64_t r1) {
    const pool_bwd_rows *c = ctx;
    const int64_t HW = c->g.H * c->g.W, Q = c->g.Q;
    for (int64_t r = r0; r < r1; r++) {
        const int64_t nc = r / c->P;
        c->row(&c->g, r % c->P, c->P, c->dy + r * Q, c->arg + r * Q, 0, c->dx + nc * HW);
    }
}

static nb_tensor *max_pool_bwd_f32(nb_node *n, nb_tensor *g) {
    const int64_t *v = n->ints;
    nb_tensor *gc = dense("nb_max_pool2d", g), *dx = gc ? nb__empty("nb_max_pool2d", 4, n->in_shape, NB_FLOAT32) : NULL;
    if (!dx) { nb_tensor_release(gc); return NULL; }
    const nb_ukernel_config *k = nb_ukernels_active();
    const pool_geom pg = {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]};
    if (pool2_planes_apply(k, n->in_shape[2], n->in_shape[3], &pg)) {
        pool2_planes c = {pg.P, pg.Q, nb_tensor_numel(gc), NULL, (const float *)nb_ptr(gc), NULL, (float *)nb_ptr(dx),
                          (int64_t *)nb_ptr(n->saved[0].t), k};
        pool2_planes_run(&c);
        nb_tensor_release(gc);
        return dx;
    }
    pool_bwd_rows c = {{n->in_shape[2], n->in_shape[3], v[0], v[1], v[2], v[3], v[4], v[5], v[7]}, v[6],
                       (const float *)nb_ptr(gc), (const int64_t *)nb_ptr(n->saved[0].t), (float *)nb_ptr(dx),
                       nb_ukernels_active()->maxpool_bwd};
    const int64_t rows = n->in_shape[0] * n->in_shape[1] * c.P, work = c.g.sh * c.g.W + c.g.Q;
    nb_parallel_for(rows, NB_FOREACH_GRAIN / (work > 0 ? work : 1) + 1, pool_bwd_body, &c);
    nb_tensor_release(gc);
    return dx;
}

/* The backward rules scatter-add into a zeroed dx (windows may overlap):
   typed loops, float32 in float arithmetic, float64 in double. The saved
   argmax indices are plane indices (h * W + w) of output o's plane. */
nb_tensor *nb__max_pool2d_backward(nb_node *n, nb_tensor *g) {
    if (n->in_dtype == NB_FLOAT32 && n->ints[2] >= n->ints[0] && n->ints[6] > 0) return max_pool_bwd_f32(n, g);
    nb_tensor *dx = nb_zeros(4, n->in_shape, n->in_dtype), *gc = dx ? dense("nb_max_pool2d", g) : NULL;
    if (!gc) { nb_tensor_release(dx); return NULL; }
    const int64_t *arg = (const int64_t *)nb_ptr(n->saved[0].t);
    const int64_t m = nb_tensor_numel(gc), PQ = n->ints[6] * n->ints[7], HW = n->in_shape[2] * n->in_shape[3];
    if (dx->dtype == NB_FLOAT32) {
        float *d = (float *)nb_ptr(dx);
        const float *gf = (const float *)nb_ptr(gc);
        for (int64_t o = 0; o < m; o++)
            if (arg[o] >= 0) d[o / PQ * HW + arg[o]] += gf[o];
    } else {
        double *d = (double *)nb_ptr(dx);
        const double *gd = (const double *)nb_ptr(gc);
        for (int64_t o = 0; o < m; o++)
            if (arg[o] >= 0) d[o / PQ * HW + arg[o]] += gd[o];
    }
    nb_tensor_release(gc);
    return dx;
}

nb_tensor *nb__avg_pool2d_backward(nb_node *n, nb_tensor *g) {
    const int64_t *v = n->ints, H = n->in_shape[2], W = n->in_shape[3];
    const int64_t kh = v[0], kw = v[1], sh = v[2], sw = v[3], ph = v[4], pw = v[5], P = v[6], Q = v[7];
    nb_tensor *dx = nb_zeros(4, n->in_shape, n->in_dtype), *gc = dx ? dense("nb_avg_pool2d", g) : NULL;
    if (!gc) { nb_tensor_release(dx); return NULL; }
    const bool f32 = dx->dtype == NB_FLOAT32;
    float *df = (float *)nb_ptr(dx);
    double *dd = (double *)nb_ptr(dx);
    int64_t o = 0;
    for (int64_t nc = 0; nc < n->in_shape[0] * n->in_shape[1]; nc++)
        for (int64_t p = 0; p < P; p++)
            for (int64_t q = 0; q < Q; q++, o++) {
                const float sf = f32 ? ((const float *)nb_ptr(gc))[o] / (float)(kh * kw) : 0.0f;
                const double sd = f32 ? 0.0 : ((const double *)nb_ptr(gc))[o] / (double)(kh * kw);
                for (int64_t i = 0; i < kh; i++) {
                    const int64_t h = p * sh - ph + i;
                    if (h < 0 || h >= H) continue;
                    for (int64_t j = 0; j < kw; j++) {
                        const int64_t w = q * sw - pw + j;
                        if (w < 0 || w >= W) continue;
                        const int64_t k = (nc * H + h) * W + w;
                        if (f32) df[k] += sf;
                        else dd[k] += sd;
                    }
                }
            }
    nb_tensor_release(gc);
    return dx;
}
