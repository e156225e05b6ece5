/* F.batch_norm and nn.BatchNorm2d, as PyTorch.
 *
 * x is [N, C, *]; statistics are per channel over the N * prod(*) = M
 * values of each channel. Training normalises with the batch mean and the
 * biased variance, and moves the running statistics towards the batch's
 * with the unbiased variance (var * M / (M - 1)), as PyTorch; eval
 * normalises with the running statistics. Sums are in double (PyTorch's
 * CPU accumulation type for float32 too).
 *
 * One graph node with its own backward (xhat = (x - mean) * invstd):
 *   dbias = sum g,  dweight = sum g * xhat,
 *   training: dx = w * invstd * (g - sum(g) / M - xhat * sum(g * xhat) / M)
 *   eval:     dx = w * invstd * g   (the statistics are constants)
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/tensor_internal.h"
#include "autograd/autograd_internal.h"
#include "isa_ops.h"
#include "parallel.h"
#include <nabla/nn.h>

static double ld(const nb_tensor *t, int64_t i) {
    const char *p = nb_ptr(t);
    return t->dtype == NB_FLOAT32 ? ((const float *)p)[i] : ((const double *)p)[i];
}
static void st(nb_tensor *t, int64_t i, double v) {
    if (t->dtype == NB_FLOAT32) ((float *)nb_ptr(t))[i] = (float)v;
    else ((double *)nb_ptr(t))[i] = v;
}
/* Element c of a 1-D tensor of any stride. */
static double ld1(const nb_tensor *t, int64_t c) { return ld(t, c * t->strides[0]); }
static void st1(nb_tensor *t, int64_t c, double v) { st(t, c * t->strides[0], v); }

typedef struct { int64_t N, C, inner; } bn_geom;

/* ---- one channel: `rows` = N rows of `n` = inner values, ld = C * inner apart ----
 * float32 goes through the active ISA's batch-norm micro-kernels
 * (src/ukernel_bnorm.h: sums in double lanes, in an order of their own
 * that no thread count changes); float64 (the reference path of the
 * gradient checks) through the plain double loops below. */

typedef struct {
    const nb_tensor *x, *g;   /* dense; g: the backward's incoming gradient */
    nb_tensor *y;             /* forward: y; backward: dx (may be NULL) */
    const nb_tensor *w, *b;   /* weight, bias (may be NULL) */
    nb_tensor *dw, *db;       /* backward (may be NULL) */
    bn_geom geo;
    double *mean, *var, *invstd, eps;
    bool training;
    const nb_f32_bnorm_ukernels *k;   /* NULL: float64 */
} bn_job;

static double sum_f64(const double *x, int64_t rows, int64_t n, int64_t ld) {
    double s = 0;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t i = 0; i < n; i++) s += x[r * ld + i];
    return s;
}
static double sqdev_f64(const double *x, int64_t rows, int64_t n, int64_t ld, double mu) {
    double s = 0;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t i = 0; i < n; i++) s += (x[r * ld + i] - mu) * (x[r * ld + i] - mu);
    return s;
}
static void gsums_f64(const double *g, const double *x, int64_t rows, int64_t n, int64_t ld, double mu, double out[2]) {
    out[0] = out[1] = 0;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t i = 0; i < n; i++) {
            out[0] += g[r * ld + i];
            out[1] += g[r * ld + i] * (x[r * ld + i] - mu);
        }
}
/* y = a * u + b * v + c over the channel (v NULL: a * u + c); float32 in
   float (the micro-kernel), float64 in double. */
static void chan_affine(const bn_job *j, nb_tensor *out, const nb_tensor *u, const nb_tensor *v, int64_t c,
                        double a, double b, double c0) {
    const int64_t rows = j->geo.N, n = j->geo.inner, ld = j->geo.C * n, o = c * n;
    if (j->k) {
        j->k->affine((size_t)rows, (size_t)n, (size_t)ld, (const float *)nb_ptr(u) + o,
                     v ? (const float *)nb_ptr(v) + o : NULL, (float)a, (float)b, (float)c0, (float *)nb_ptr(out) + o);
        return;
    }
    double *y = (double *)nb_ptr(out) + o;
    const double *p = (const double *)nb_ptr(u) + o, *q = v ? (const double *)nb_ptr(v) + o : NULL;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t i = 0; i < n; i++) y[r * ld + i] = a * p[r * ld + i] + (q ? b * q[r * ld + i] : 0) + c0;
}

static nb_status vec_check(const char *fn, const char *what, const nb_tensor *v, const nb_tensor *x, int64_t C) {
    if (!v) return NB_OK;
    char b[96];
    if (v->ndim != 1 || v->shape[0] != C)
        return nb_error(NB_ERR_SHAPE, fn, "%s must be [%lld] (x's channels), got %s", what, (long long)C,
                        nb__shape_str(b, sizeof b, v->ndim, v->shape));
    if (v->dtype != x->dtype)
        return nb_error(NB_ERR_DTYPE, fn, "%s is %s but x is %s", what, nb_dtype_name(v->dtype), nb_dtype_name(x->dtype));
    return NB_OK;
}

static nb_status bn_check(const char *fn, const nb_tensor *x, nb_tensor *const v[4], bool training, bn_geom *g) {
    static const char *const what[4] = {"running_mean", "running_var", "weight", "bias"};
    char b[96];
    if (!x) return nb_error(NB_ERR_ARG, fn, "x is NULL");
    if (x->ndim < 2) return nb_error(NB_ERR_SHAPE, fn, "expects x [N, C, ...], got %s", nb__shape_str(b, sizeof b, x->ndim, x->shape));
    if (!nb_is_float(x->dtype)) return nb_error(NB_ERR_DTYPE, fn, "needs a floating dtype, got %s", nb_dtype_name(x->dtype));
    g->N = x->shape[0];
    g->C = x->shape[1];
    g->inner = 1;
    for (int i = 2; i < x->ndim; i++) g->inner *= x->shape[i];
    for (int i = 0; i < 4; i++) {
        nb_status s = vec_check(fn, what[i], v[i], x, g->C);
        if (s) return s;
    }
    if (!training && (!v[0] || !v[1]))
        return nb_error(NB_ERR_ARG, fn, "eval mode (training false) needs running_mean and running_var");
    if (training && g->N * g->inner <= 1)
        return nb_error(NB_ERR_SHAPE, fn, "expected more than 1 value per channel when training, got %s",
                        nb__shape_str(b, sizeof b, x->ndim, x->shape));
    return NB_OK;
}

/* Forward, channels [c0, c1): the batch's mean and biased variance (two
   passes, training) or the running ones, invstd, then y = x * a + shift,
   while the channel's rows are still in cache. */
static void forward_chans(void *ctx, int64_t c0, int64_t c1) {
    const bn_job *j = ctx;
    const int64_t rows = j->geo.N, n = j->geo.inner, ld = j->geo.C * n;
    const double M = (double)(rows * n);
    for (int64_t c = c0; c < c1; c++) {
        if (j->training) {
            double mu, q;
            if (j->k) {
                const float *x = (const float *)nb_ptr(j->x) + c * n;
                mu = j->k->sum((size_t)rows, (size_t)n, x, (size_t)ld) / M;
                q = j->k->sqdev((size_t)rows, (size_t)n, x, (size_t)ld, mu);
            } else {
                const double *x = (const double *)nb_ptr(j->x) + c * n;
                mu = sum_f64(x, rows, n, ld) / M;
                q = sqdev_f64(x, rows, n, ld, mu);
            }
            j->mean[c] = mu;
            j->var[c] = q / M;
        }
        j->invstd[c] = 1.0 / sqrt(j->var[c] + j->eps);
        const double a = (j->w ? ld1(j->w, c) : 1.0) * j->invstd[c];
        chan_affine(j, j->y, j->x, NULL, c, a, 0, (j->b ? ld1(j->b, c) : 0.0) - j->mean[c] * a);
    }
}

/* Backward, channels [c0, c1) (saved mean / invstd in j->mean / j->invstd). */
static void backward_chans(void *ctx, int64_t c0, int64_t c1) {
    const bn_job *j = ctx;
    const int64_t rows = j->geo.N, n = j->geo.inner, ld = j->geo.C * n;
    const double M = (double)(rows * n);
    for (int64_t c = c0; c < c1; c++) {
        double s[2];   /* sum g, sum g (x - mean): sum g xhat = invstd s[1] */
        const double mu = j->mean[c], is = j->invstd[c];
        if (j->k) j->k->gsums((size_t)rows, (size_t)n, (const float *)nb_ptr(j->g) + c * n,
                              (const float *)nb_ptr(j->x) + c * n, (size_t)ld, mu, s);
        else gsums_f64((const double *)nb_ptr(j->g) + c * n, (const double *)nb_ptr(j->x) + c * n, rows, n, ld, mu, s);
        const double sg = s[0], sgx = s[1] * is;
        if (j->dw) st(j->dw, c, sgx);
        if (j->db) st(j->db, c, sg);
        if (!j->y) continue;
        /* dx = a (g - mg - xhat mx) = a g + k x + c0, xhat = (x - mean) invstd */
        const double a = (j->w ? ld1(j->w, c) : 1.0) * is, mg = j->training ? sg / M : 0,
                     mx = j->training ? sgx / M : 0, k = -a * is * mx, cc = -a * mg + a * is * mx * mu;
        chan_affine(j, j->y, j->g, j->x, c, a, k, cc);
    }
}

/* Runs body over the channels: one channel per item, so a channel's sums
   never depend on the thread count. */
static void run_chans(bn_job *j, void (*body)(void *, int64_t, int64_t)) {
    const int64_t per = j->geo.N * j->geo.inner;
    j->k = j->x->dtype == NB_FLOAT32 ? &nb_ukernels_active()->bnorm : NULL;
    nb_parallel_for(j->geo.C, NB_FOREACH_GRAIN / (per > 0 ? per : 1) + 1, body, j);
}

/* backward: inputs x, weight, bias; saved x, weight, mean, invstd (float64
   [C]); ints N, C, inner, training. */
static nb_status grad_batch_norm(nb_node *nd, nb_tensor *g, nb_tensor **grads) {
    const int64_t C = nd->ints[1];
    nb_tensor *x = nd->saved[0].t;
    nb_tensor *gc = nb_contiguous(g), *xc = gc ? nb_contiguous(x) : NULL;
    nb_tensor *dx = xc && nb_node_needs(nd, 0) ? nb__empty("nb_batch_norm", x->ndim, x->shape, x->dtype) : NULL;
    nb_tensor *dw = xc && nb_node_needs(nd, 1) ? nb__empty("nb_batch_norm", 1, &C, x->dtype) : NULL;
    nb_tensor *db = xc && nb_node_needs(nd, 2) ? nb__empty("nb_batch_norm", 1, &C, x->dtype) : NULL;
    if (!xc || (nb_node_needs(nd, 0) && !dx) || (nb_node_needs(nd, 1) && !dw) || (nb_node_needs(nd, 2) && !db)) {
        nb_tensor_release(gc); nb_tensor_release(xc); nb_tensor_release(dx); nb_tensor_release(dw); nb_tensor_release(db);
        return NB_ERR_OOM;
    }
    bn_job j = {.x = xc, .g = gc, .y = dx, .w = nd->saved[1].t, .dw = dw, .db = db,
                .geo = {nd->ints[0], C, nd->ints[2]}, .training = nd->ints[3] != 0,
                .mean = (double *)nb_ptr(nd->saved[2].t), .invstd = (double *)nb_ptr(nd->saved[3].t)};
    run_chans(&j, backward_chans);
    nb_tensor_release(gc);
    nb_tensor_release(xc);
    grads[0] = dx;
    grads[1] = dw;
    grads[2] = db;
    return NB_OK;
}

/* The running statistics move towards the batch's (no graph, in place). */
static void update_running(nb_tensor *rm, nb_tensor *rv, const bn_geom *g, const double *mean, const double *var,
                           double momentum) {
    const double M = (double)(g->N * g->inner);
    for (int64_t c = 0; c < g->C; c++) {
        if (rm) st1(rm, c, (1 - momentum) * ld1(rm, c) + momentum * mean[c]);
        if (rv) st1(rv, c, (1 - momentum) * ld1(rv, c) + momentum * var[c] * M / (M - 1));
    }
    if (rm) nb__bump_version(rm);
    if (rv) nb__bump_version(rv);
}

static nb_tensor *record(nb_tensor *y, nb_tensor *x, nb_tensor *w, nb_tensor *b, const bn_geom *g, bool training,
                         nb_tensor *mean_t, nb_tensor *invstd_t) {
    nb_node *node;
    y = nb__record(y, "nb_batch_norm", grad_batch_norm, 3, (nb_tensor *[]){x, w, b}, &node);
    if (node && (nb__node_ints(node, 4, (int64_t[]){g->N, g->C, g->inner, training}) || nb__node_save(node, 0, x) ||
                 (w && nb__node_save(node, 1, w)) || nb__node_save(node, 2, mean_t) || nb__node_save(node, 3, invstd_t))) {
        nb_tensor_release(y);
        y = NULL;
    }
    return y;
}

nb_tensor *nb_batch_norm(nb_tensor *x, nb_tensor *running_mean, nb_tensor *running_var, nb_tensor *weight,
                         nb_tensor *bias, bool training, double momentum, double eps) {
    static const char fn[] = "nb_batch_norm";
    bn_geom g = {0, 0, 0};
    if (bn_check(fn, x, (nb_tensor *[]){running_mean, running_var, weight, bias}, training, &g)) return NULL;
    if (!(eps >= 0) || !(momentum >= 0 && momentum <= 1)) {
        nb_error(NB_ERR_ARG, fn, "needs eps >= 0 and momentum in [0, 1], got eps %g, momentum %g", eps, momentum);
        return NULL;
    }
    if (training) {
        if (running_mean && nb__check_writable(fn, running_mean)) return NULL;
        if (running_var && nb__check_writable(fn, running_var)) return NULL;
    }
    nb_tensor *mean_t = nb__empty(fn, 1, &g.C, NB_FLOAT64), *invstd_t = mean_t ? nb__empty(fn, 1, &g.C, NB_FLOAT64) : NULL;
    double *var = invstd_t ? malloc(sizeof(double) * (size_t)(g.C ? g.C : 1)) : NULL;
    if (invstd_t && !var) nb_error(NB_ERR_OOM, fn, "cannot allocate");
    nb_tensor *xc = var ? nb_contiguous(x) : NULL, *y = NULL;
    if (xc) y = nb__empty(fn, xc->ndim, xc->shape, xc->dtype);
    if (y) {
        bn_job j = {.x = xc, .y = y, .w = weight, .b = bias, .geo = g, .training = training, .eps = eps,
                    .mean = (double *)nb_ptr(mean_t), .var = var, .invstd = (double *)nb_ptr(invstd_t)};
        for (int64_t c = 0; !training && c < g.C; c++) { j.mean[c] = ld1(running_mean, c); var[c] = ld1(running_var, c); }
        run_chans(&j, forward_chans);
        y = record(y, x, weight, bias, &g, training, mean_t, invstd_t);
        if (y && training) update_running(running_mean, running_var, &g, j.mean, var, momentum);
    }
    free(var);
    nb_tensor_release(xc);
    nb_tensor_release(mean_t);
    nb_tensor_release(invstd_t);
    return y;
}

/* ---- nn.BatchNorm2d ---- */

typedef struct { double eps, momentum; } bn_impl;

static nb_tensor *bn2d_forward(nb_module *m, nb_tensor *x) {
    const bn_impl *p = nb_module_impl(m);
    if (nb_tensor_ndim(x) != 4) {
        nb_error(NB_ERR_SHAPE, "BatchNorm2d", "expected 4D input [N, C, H, W], got %d dims", nb_tensor_ndim(x));
        return NULL;
    }
    const bool training = nb_module_is_training(m);
    nb_tensor *y = nb_batch_norm(x, nb_module_buffer(m, "running_mean"), nb_module_buffer(m, "running_var"),
                                 nb_module_weight(m), nb_module_bias(m), training, p->momentum, p->eps);
    if (y && training) {   /* num_batches_tracked += 1 */
        nb_tensor *t = nb_module_buffer(m, "num_batches_tracked");
        ((int64_t *)nb_ptr(t))[0]++;
        nb__bump_version(t);
    }
    return y;
}
static const nb_module_vtable bn2d_vt = {"BatchNorm2d", bn2d_forward, free};

/* Registers a new tensor under name (parameter or buffer); consumes t. */
static bool adopt(nb_module *m, const char *name, nb_tensor *t, bool param) {
    const bool ok = t && (param ? nb_tensor_requires_grad_(t, true) == NB_OK &&
                                      nb_module_add_parameter_named(m, name, t) == NB_OK
                                : nb_module_add_buffer(m, name, t) == NB_OK);
    nb_tensor_release(t);
    return ok;
}

nb_module *nb_batch_norm2d_new(int64_t num_features, double eps, double momentum, bool affine) {
    static const char fn[] = "nb_batch_norm2d_new";
    if (num_features < 1 || !(eps >= 0) || !(momentum >= 0 && momentum <= 1)) {
        nb_error(NB_ERR_ARG, fn, "needs num_features >= 1, eps >= 0 and momentum in [0, 1], got %lld, %g, %g",
                 (long long)num_features, eps, momentum);
        return NULL;
    }
    bn_impl *p = malloc(sizeof *p);
    nb_module *m = p ? nb_module_new(&bn2d_vt, p) : NULL;
    if (!m) { free(p); nb_error(NB_ERR_OOM, fn, "cannot allocate"); return NULL; }
    *p = (bn_impl){eps, momentum};
    const int64_t *C = &num_features;
    bool ok = !affine || (adopt(m, "weight", nb_ones(1, C, NB_FLOAT32), true) &&
                          adopt(m, "bias", nb_zeros(1, C, NB_FLOAT32), true));
    ok = ok && adopt(m, "running_mean", nb_zeros(1, C, NB_FLOAT32), false) &&
         adopt(m, "running_var", nb_ones(1, C, NB_FLOAT32), false) &&
         adopt(m, "num_batches_tracked", nb_scalar(0, NB_INT64), false);
    if (!ok) {
        nb_module_free(m);
        nb_error_context(fn);
        return NULL;
    }
    return m;
}
