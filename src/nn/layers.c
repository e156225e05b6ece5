/* Parameter-free layers as modules (GELU, Tanh, Sigmoid, MaxPool2d,
 * AvgPool2d, Dropout), F.dropout, and the losses as two-input modules
 * (CrossEntropyLoss, MSELoss). Only the public module API is used here. */
#include <math.h>
#include <stdlib.h>

#include "tensor/tensor_internal.h"
#include <nabla/nn.h>

/* ---- activations ---- */

static nb_tensor *gelu_forward(nb_module *m, nb_tensor *x) { (void)m; return nb_gelu(x); }
static nb_tensor *tanh_forward(nb_module *m, nb_tensor *x) { (void)m; return nb_tanh(x); }
static nb_tensor *sigmoid_forward(nb_module *m, nb_tensor *x) { (void)m; return nb_sigmoid(x); }
static const nb_module_vtable gelu_vt = {"GELU", gelu_forward, NULL};
static const nb_module_vtable tanh_vt = {"Tanh", tanh_forward, NULL};
static const nb_module_vtable sigmoid_vt = {"Sigmoid", sigmoid_forward, NULL};
nb_module *nb_gelu_new(void) { return nb_module_new(&gelu_vt, NULL); }
nb_module *nb_tanh_new(void) { return nb_module_new(&tanh_vt, NULL); }
nb_module *nb_sigmoid_new(void) { return nb_module_new(&sigmoid_vt, NULL); }

/* ---- pooling ---- */

typedef struct { int64_t kh, kw, sh, sw, ph, pw; } pool_impl;

static nb_tensor *max_pool_forward(nb_module *m, nb_tensor *x) {
    const pool_impl *p = nb_module_impl(m);
    return nb_max_pool2d(x, p->kh, p->kw, p->sh, p->sw, p->ph, p->pw);
}
static nb_tensor *avg_pool_forward(nb_module *m, nb_tensor *x) {
    const pool_impl *p = nb_module_impl(m);
    return nb_avg_pool2d(x, p->kh, p->kw, p->sh, p->sw, p->ph, p->pw);
}
static const nb_module_vtable max_pool_vt = {"MaxPool2d", max_pool_forward, free};
static const nb_module_vtable avg_pool_vt = {"AvgPool2d", avg_pool_forward, free};

/* The checks that do not need the input (the rest come with it). */
static nb_module *pool_new(const char *fn, const nb_module_vtable *vt, int64_t kh, int64_t kw, int64_t sh,
                           int64_t sw, int64_t ph, int64_t pw) {
    if (kh < 1 || kw < 1 || sh < 0 || sw < 0 || ph < 0 || pw < 0 || ph > kh / 2 || pw > kw / 2) {
        nb_error(NB_ERR_ARG, fn, "needs kernel >= 1, stride >= 0 (0: the kernel) and 0 <= padding <= kernel / 2, "
                 "got kernel (%lld, %lld), stride (%lld, %lld), padding (%lld, %lld)", (long long)kh, (long long)kw,
                 (long long)sh, (long long)sw, (long long)ph, (long long)pw);
        return NULL;
    }
    pool_impl *p = malloc(sizeof *p);
    if (!p) { nb_error(NB_ERR_OOM, fn, "cannot allocate"); return NULL; }
    *p = (pool_impl){kh, kw, sh ? sh : kh, sw ? sw : kw, ph, pw};
    nb_module *m = nb_module_new(vt, p);
    if (!m) free(p);
    return m;
}
nb_module *nb_max_pool2d_new(int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw) {
    return pool_new("nb_max_pool2d_new", &max_pool_vt, kh, kw, sh, sw, ph, pw);
}
nb_module *nb_avg_pool2d_new(int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw) {
    return pool_new("nb_avg_pool2d_new", &avg_pool_vt, kh, kw, sh, sw, ph, pw);
}

/* ---- dropout ---- */

/* F.dropout: each element kept with probability 1 - p and scaled by
   1 / (1 - p), through a mask tensor (x * mask), so autograd needs no rule
   of its own. The mask comes from uniform draws u: kept when u >= p. */
nb_tensor *nb_dropout(nb_tensor *x, double p, bool training, nb_generator *gen) {
    static const char fn[] = "nb_dropout";
    if (!x) { nb_error(NB_ERR_ARG, fn, "x is NULL"); return NULL; }
    if (!(p >= 0 && p <= 1)) { nb_error(NB_ERR_ARG, fn, "p = %g is outside [0, 1]", p); return NULL; }
    if (!nb_is_float(x->dtype)) {
        nb_error(NB_ERR_DTYPE, fn, "needs a floating dtype, got %s", nb_dtype_name(x->dtype));
        return NULL;
    }
    if (!training || p == 0) return nb_tensor_retain(x);
    nb_tensor *mask = nb_rand(x->ndim, x->shape, x->dtype, gen);
    if (!mask) { nb_error_context(fn); return NULL; }
    const double scale = 1.0 / (1.0 - p);   /* unused (every u < 1 = p) when p == 1 */
    const int64_t n = nb_tensor_numel(mask);
    if (x->dtype == NB_FLOAT32) {
        float *u = (float *)nb_ptr(mask);
        for (int64_t i = 0; i < n; i++) u[i] = u[i] >= p ? (float)scale : 0.0f;
    } else {
        double *u = (double *)nb_ptr(mask);
        for (int64_t i = 0; i < n; i++) u[i] = u[i] >= p ? scale : 0.0;
    }
    nb_tensor *y = nb_mul(x, mask);
    nb_tensor_release(mask);
    if (!y) nb_error_context(fn);
    return y;
}

typedef struct { double p; nb_generator *gen; } dropout_impl;

static nb_tensor *dropout_forward(nb_module *m, nb_tensor *x) {
    const dropout_impl *d = nb_module_impl(m);
    return nb_dropout(x, d->p, nb_module_is_training(m), d->gen);
}
static void dropout_destroy(void *impl) {
    dropout_impl *d = impl;
    nb_generator_free(d->gen);
    free(d);
}
static const nb_module_vtable dropout_vt = {"Dropout", dropout_forward, dropout_destroy};

nb_module *nb_dropout_new(double p, uint64_t seed) {
    static const char fn[] = "nb_dropout_new";
    if (!(p >= 0 && p <= 1)) { nb_error(NB_ERR_ARG, fn, "p = %g is outside [0, 1]", p); return NULL; }
    dropout_impl *d = malloc(sizeof *d);
    if (!d) { nb_error(NB_ERR_OOM, fn, "cannot allocate"); return NULL; }
    d->p = p;
    d->gen = nb_generator_new(seed);
    nb_module *m = d->gen ? nb_module_new(&dropout_vt, d) : NULL;
    if (!m) { nb_generator_free(d->gen); free(d); nb_error_context(fn); }
    return m;
}

/* ---- losses ---- */

typedef struct { int64_t ignore_index; nb_reduction reduction; } loss_impl;

static nb_tensor *ce_forward(nb_module *m, nb_tensor *input, nb_tensor *target) {
    const loss_impl *l = nb_module_impl(m);
    return nb_cross_entropy_ex(input, target, l->ignore_index, l->reduction);
}
static nb_tensor *mse_forward(nb_module *m, nb_tensor *input, nb_tensor *target) {
    const loss_impl *l = nb_module_impl(m);
    return nb_mse_loss_ex(input, target, l->reduction);
}
static const nb_module_vtable2 ce_vt = {"CrossEntropyLoss", ce_forward, free};
static const nb_module_vtable2 mse_vt = {"MSELoss", mse_forward, free};

static nb_module *loss_new(const char *fn, const nb_module_vtable2 *vt, int64_t ignore_index, nb_reduction r) {
    if (r != NB_REDUCTION_MEAN && r != NB_REDUCTION_SUM && r != NB_REDUCTION_NONE) {
        nb_error(NB_ERR_ARG, fn, "reduction %d is not NB_REDUCTION_MEAN, _SUM or _NONE", (int)r);
        return NULL;
    }
    loss_impl *l = malloc(sizeof *l);
    if (!l) { nb_error(NB_ERR_OOM, fn, "cannot allocate"); return NULL; }
    *l = (loss_impl){ignore_index, r};
    nb_module *m = nb_module_new2(vt, l);
    if (!m) free(l);
    return m;
}
nb_module *nb_cross_entropy_loss_new(int64_t ignore_index, nb_reduction reduction) {
    return loss_new("nb_cross_entropy_loss_new", &ce_vt, ignore_index, reduction);
}
nb_module *nb_mse_loss_new(nb_reduction reduction) {
    return loss_new("nb_mse_loss_new", &mse_vt, 0, reduction);
}
