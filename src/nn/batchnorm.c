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

/* ---- rows: the `inner` contiguous values of one (n, c) ----
 * float32 rows have loops of their own: four double accumulators (the
 * sums stay in double, as PyTorch's CPU accumulation; independent chains
 * so the adds overlap) and float affine maps the compiler vectorises.
 * float64 (the reference path of the gradient checks) goes through
 * ld / st, element by element. */

static double sum_f32(const float *x, int64_t n) {
    double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) { a0 += x[i]; a1 += x[i + 1]; a2 += x[i + 2]; a3 += x[i + 3]; }
    for (; i < n; i++) a0 += x[i];
    return (a0 + a1) + (a2 + a3);
}
static double sqdev_f32(const float *x, int64_t n, double mu) {
    double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const double d0 = x[i] - mu, d1 = x[i + 1] - mu, d2 = x[i + 2] - mu, d3 = x[i + 3] - mu;
        a0 += d0 * d0; a1 += d1 * d1; a2 += d2 * d2; a3 += d3 * d3;
    }
    for (; i < n; i++) a0 += (x[i] - mu) * (x[i] - mu);
    return (a0 + a1) + (a2 + a3);
}
/* sum of g and of g * (x - mu) */
static void gsums_f32(const float *g, const float *x, int64_t n, double mu, double *sg, double *sgx) {
    double a0 = 0, a1 = 0, b0 = 0, b1 = 0;
    int64_t i = 0;
    for (; i + 2 <= n; i += 2) {
        a0 += g[i]; a1 += g[i + 1];
        b0 += g[i] * (x[i] - mu); b1 += g[i + 1] * (x[i + 1] - mu);
    }
    for (; i < n; i++) { a0 += g[i]; b0 += g[i] * (x[i] - mu); }
    *sg += a0 + a1;
    *sgx += b0 + b1;
}

static double row_sum(const nb_tensor *t, int64_t o, int64_t n) {
    if (t->dtype == NB_FLOAT32) return sum_f32((const float *)nb_ptr(t) + o, n);
    double s = 0;
    for (int64_t k = 0; k < n; k++) s += ld(t, o + k);
    return s;
}
static double row_sqdev(const nb_tensor *t, int64_t o, int64_t n, double mu) {
    if (t->dtype == NB_FLOAT32) return sqdev_f32((const float *)nb_ptr(t) + o, n, mu);
    double s = 0;
    for (int64_t k = 0; k < n; k++) s += (ld(t, o + k) - mu) * (ld(t, o + k) - mu);
    return s;
}
static void row_gsums(const nb_tensor *g, const nb_tensor *x, int64_t o, int64_t n, double mu, double *sg, double *sgx) {
    if (g->dtype == NB_FLOAT32) { gsums_f32((const float *)nb_ptr(g) + o, (const float *)nb_ptr(x) + o, n, mu, sg, sgx); return; }
    for (int64_t k = 0; k < n; k++) {
        *sg += ld(g, o + k);
        *sgx += ld(g, o + k) * (ld(x, o + k) - mu);
    }
}
/* out = a * u + b * v + c (v may be NULL: a * u + c), elementwise. */
static void row_affine(nb_tensor *out, const nb_tensor *u, const nb_tensor *v, int64_t o, int64_t n, double a,
                       double b, double c) {
    if (out->dtype == NB_FLOAT32) {
        float *y = (float *)nb_ptr(out) + o;
        const float *p = (const float *)nb_ptr(u) + o, *q = v ? (const float *)nb_ptr(v) + o : NULL;
        const float fa = (float)a, fb = (float)b, fc = (float)c;
        if (q) for (int64_t k = 0; k < n; k++) y[k] = fa * p[k] + fb * q[k] + fc;
        else   for (int64_t k = 0; k < n; k++) y[k] = fa * p[k] + fc;
        return;
    }
    for (int64_t k = 0; k < n; k++) st(out, o + k, a * ld(u, o + k) + (v ? b * ld(v, o + k) : 0) + c);
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

/* Per-channel mean and biased variance of dense x, two passes in double. */
static void batch_stats(const nb_tensor *xc, const bn_geom *g, double *mean, double *var) {
    const double M = (double)(g->N * g->inner);
    for (int64_t c = 0; c < g->C; c++) {
        double s = 0, q = 0;
        for (int64_t n = 0; n < g->N; n++) s += row_sum(xc, (n * g->C + c) * g->inner, g->inner);
        const double mu = s / M;
        for (int64_t n = 0; n < g->N; n++) q += row_sqdev(xc, (n * g->C + c) * g->inner, g->inner, mu);
        mean[c] = mu;
        var[c] = q / M;
    }
}

/* backward: inputs x, weight, bias; saved x, weight, mean, invstd (float64
   [C]); ints N, C, inner, training. */
static nb_status grad_batch_norm(nb_node *nd, nb_tensor *g, nb_tensor **grads) {
    const int64_t N = nd->ints[0], C = nd->ints[1], inner = nd->ints[2], M = N * inner;
    const bool training = nd->ints[3] != 0;
    nb_tensor *x = nd->saved[0].t, *w = nd->saved[1].t;
    const double *mean = (const double *)nb_ptr(nd->saved[2].t), *invstd = (const double *)nb_ptr(nd->saved[3].t);
    nb_tensor *gc = nb_contiguous(g), *xc = gc ? nb_contiguous(x) : NULL;
    nb_tensor *dx = xc && nb_node_needs(nd, 0) ? nb__empty("nb_batch_norm", x->ndim, x->shape, x->dtype) : NULL;
    nb_tensor *dw = xc && nb_node_needs(nd, 1) ? nb__empty("nb_batch_norm", 1, &C, x->dtype) : NULL;
    nb_tensor *db = xc && nb_node_needs(nd, 2) ? nb__empty("nb_batch_norm", 1, &C, x->dtype) : NULL;
    if (!xc || (nb_node_needs(nd, 0) && !dx) || (nb_node_needs(nd, 1) && !dw) || (nb_node_needs(nd, 2) && !db)) {
        nb_tensor_release(gc); nb_tensor_release(xc); nb_tensor_release(dx); nb_tensor_release(dw); nb_tensor_release(db);
        return NB_ERR_OOM;
    }
    for (int64_t c = 0; c < C; c++) {
        double sg = 0, sgx = 0;   /* sum g, sum g (x - mean): sum g xhat = invstd sgx */
        for (int64_t n = 0; n < N; n++) row_gsums(gc, xc, (n * C + c) * inner, inner, mean[c], &sg, &sgx);
        sgx *= invstd[c];
        if (dw) st(dw, c, sgx);
        if (db) st(db, c, sg);
        if (!dx) continue;
        /* dx = a (g - mg - xhat mx) = a g + k x + c0, xhat = (x - mean) invstd */
        const double a = (w ? ld1(w, c) : 1.0) * invstd[c], mg = training ? sg / (double)M : 0,
                     mx = training ? sgx / (double)M : 0, k = -a * invstd[c] * mx,
                     c0 = -a * mg + a * invstd[c] * mx * mean[c];
        for (int64_t n = 0; n < N; n++) row_affine(dx, gc, xc, (n * C + c) * inner, inner, a, k, c0);
    }
    nb_tensor_release(gc);
    nb_tensor_release(xc);
    grads[0] = dx;
    grads[1] = dw;
    grads[2] = db;
    return NB_OK;
}

/* y = (x - mean) * invstd * w + b from dense x. */
static nb_tensor *normalise(const char *fn, const nb_tensor *xc, const bn_geom *g, const double *mean,
                            const double *invstd, const nb_tensor *w, const nb_tensor *b) {
    nb_tensor *y = nb__empty(fn, xc->ndim, xc->shape, xc->dtype);
    if (!y) return NULL;
    for (int64_t c = 0; c < g->C; c++) {
        const double a = (w ? ld1(w, c) : 1.0) * invstd[c], shift = (b ? ld1(b, c) : 0.0) - mean[c] * a;
        for (int64_t n = 0; n < g->N; n++) row_affine(y, xc, NULL, (n * g->C + c) * g->inner, g->inner, a, 0, shift);
    }
    return y;
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
    if (xc) {
        double *mean = (double *)nb_ptr(mean_t), *invstd = (double *)nb_ptr(invstd_t);
        if (training) batch_stats(xc, &g, mean, var);
        for (int64_t c = 0; c < g.C; c++) {
            if (!training) { mean[c] = ld1(running_mean, c); var[c] = ld1(running_var, c); }
            invstd[c] = 1.0 / sqrt(var[c] + eps);
        }
        y = normalise(fn, xc, &g, mean, invstd, weight, bias);
        y = record(y, x, weight, bias, &g, training, mean_t, invstd_t);
        if (y && training) update_running(running_mean, running_var, &g, mean, var, momentum);
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
