/* The Fashion-MNIST example's CNN, AdamW and model file.
 *
 * MaxPool2d, BatchNorm2d (batch statistics in training, running statistics
 * in evaluation, PyTorch's momentum 0.1 and unbiased running variance),
 * Dropout and AdamW's decoupled weight decay are written here from the
 * tensor API, as modules of nb_module_new.
 *
 * Model file ("state dict", read by fashion_mnist_torch.py): the bytes
 * "NBSTATE1", a uint32 count, then per tensor, in the order of
 * model.state_dict(): uint32 name length, the name ("0.weight",
 * "1.running_mean", ...), uint8 dtype (0 float32, 2 int64), uint8 ndim,
 * ndim int64 sizes, the elements; all little-endian.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fashion_mnist_model.h"

/* ---- MaxPool2d(2) ---- */
static nb_tensor *pool_forward(nb_module *m, nb_tensor *x) {
    (void)m;
    return nb_max_pool2d(x, 2, 2, 2, 2, 0, 0);
}
static const nb_module_vtable pool_vt = {"MaxPool2d", pool_forward, NULL};

/* ---- BatchNorm2d(c) ---- */
typedef struct {
    int64_t c, tracked;
    nb_tensor *running_mean, *running_var;
    bool train;
} bn_impl;

static void bn_destroy(void *p) {
    bn_impl *b = p;
    nb_tensor_release(b->running_mean);
    nb_tensor_release(b->running_var);
    free(b);
}

/* running = (1 - 0.1) running + 0.1 batch, in float as torch's lerp-free update. */
static void bn_update_running(bn_impl *b, nb_tensor *mean, nb_tensor *var, int64_t n) {
    const float *m = nb_tensor_data(mean), *v = nb_tensor_data(var);
    float *rm = nb_tensor_data(b->running_mean), *rv = nb_tensor_data(b->running_var);
    for (int64_t i = 0; i < b->c; i++) {
        rm[i] = 0.9f * rm[i] + 0.1f * m[i];
        rv[i] = 0.9f * rv[i] + 0.1f * (v[i] * (float)n / (float)(n - 1));
    }
    b->tracked++;
}

static nb_tensor *bn_forward(nb_module *m, nb_tensor *x) {
    bn_impl *b = nb_module_impl(m);
    const int dims[3] = {0, 2, 3};
    const int64_t cshape[4] = {1, b->c, 1, 1};
    nb_tensor *mean, *var;
    if (b->train) {
        nb_tensor *bm = nb_mean(x, 3, dims, true), *xc = bm ? nb_sub(x, bm) : NULL;
        nb_tensor *sq = xc ? nb_mul(xc, xc) : NULL, *bv = sq ? nb_mean(sq, 3, dims, true) : NULL;
        nb_tensor_release(xc);
        nb_tensor_release(sq);
        if (!bv) { nb_tensor_release(bm); return NULL; }
        bn_update_running(b, bm, bv, nb_tensor_numel(x) / b->c);
        mean = bm;
        var = bv;
    } else {
        mean = nb_view(b->running_mean, 4, cshape);
        var = nb_view(b->running_var, 4, cshape);
    }
    nb_tensor *ve = var ? nb_add_scalar(var, 1e-5) : NULL, *inv = ve ? nb_pow_scalar(ve, -0.5) : NULL;
    nb_tensor *xc = inv ? nb_sub(x, mean) : NULL, *xn = xc ? nb_mul(xc, inv) : NULL;
    nb_tensor *g = nb_view(nb_module_weight(m), 4, cshape), *be = nb_view(nb_module_bias(m), 4, cshape);
    nb_tensor *yg = xn && g ? nb_mul(xn, g) : NULL, *y = yg && be ? nb_add(yg, be) : NULL;
    nb_tensor *tmp[] = {mean, var, ve, inv, xc, xn, g, be, yg};
    for (int i = 0; i < 9; i++) nb_tensor_release(tmp[i]);
    return y;
}
static const nb_module_vtable bn_vt = {"BatchNorm2d", bn_forward, bn_destroy};

static nb_tensor *param_filled(int64_t n, double v) {
    nb_tensor *t = nb_full(1, &n, NB_FLOAT32, v);
    if (t) nb_tensor_requires_grad_(t, true);
    return t;
}

static nb_module *batchnorm2d_new(int64_t c) {
    bn_impl *b = calloc(1, sizeof *b);
    nb_module *m = b ? nb_module_new(&bn_vt, b) : NULL;
    if (!m) { free(b); return NULL; }
    b->c = c;
    b->train = true;
    b->running_mean = nb_zeros(1, &c, NB_FLOAT32);
    b->running_var = nb_ones(1, &c, NB_FLOAT32);
    nb_tensor *w = param_filled(c, 1.0), *bias = param_filled(c, 0.0);
    bool ok = b->running_mean && b->running_var && w && bias && !nb_module_add_parameter(m, w) &&
              !nb_module_add_parameter(m, bias);
    nb_tensor_release(w);
    nb_tensor_release(bias);
    if (!ok) { nb_module_free(m); return NULL; }
    return m;
}

/* ---- Dropout(p) ---- */
typedef struct { double p; bool train; nb_generator *gen; } drop_impl;

static nb_tensor *drop_forward(nb_module *m, nb_tensor *x) {
    drop_impl *d = nb_module_impl(m);
    if (!d->train || d->p == 0) return nb_tensor_retain(x);
    nb_tensor *mask = nb_rand(nb_tensor_ndim(x), nb_tensor_shape(x), NB_FLOAT32, d->gen);
    if (!mask) return NULL;
    float *u = nb_tensor_data(mask);
    const float keep = (float)(1.0 / (1.0 - d->p));
    for (int64_t i = 0; i < nb_tensor_numel(mask); i++) u[i] = u[i] < d->p ? 0.0f : keep;
    nb_tensor *y = nb_mul(x, mask);
    nb_tensor_release(mask);
    return y;
}
static const nb_module_vtable drop_vt = {"Dropout", drop_forward, free};

static nb_module *dropout_new(double p, nb_generator *gen) {
    drop_impl *d = malloc(sizeof *d);
    nb_module *m = d ? nb_module_new(&drop_vt, d) : NULL;
    if (!m) { free(d); return NULL; }
    *d = (drop_impl){p, true, gen};
    return m;
}

nb_module *fm_model_new(double dropout_p, nb_generator *gen) {
    nb_conv2d_params p1 = nb_conv2d_defaults();
    p1.pad_h = p1.pad_w = 1;
    nb_module *mods[13] = {
        nb_conv2d_new(1, 32, 3, 3, &p1, true, gen), batchnorm2d_new(32), nb_relu_new(),
        nb_module_new(&pool_vt, NULL),
        nb_conv2d_new(32, 64, 3, 3, &p1, true, gen), batchnorm2d_new(64), nb_relu_new(),
        nb_module_new(&pool_vt, NULL),
        nb_flatten_new(), nb_linear_new(3136, 128, true, gen), nb_relu_new(),
        dropout_new(dropout_p, gen), nb_linear_new(128, 10, true, gen),
    };
    bool ok = true;
    for (int i = 0; i < 13; i++) ok &= mods[i] != NULL;
    nb_module *seq = ok ? nb_sequential_new(13, mods) : NULL;
    if (!seq)
        for (int i = 0; i < 13; i++) nb_module_free(mods[i]);
    return seq;
}

void fm_model_train(nb_module *model, bool train) {
    for (int i = 0; i < nb_module_num_children(model); i++) {
        nb_module *c = nb_module_child(model, i);
        const char *name = nb_module_name(c);
        if (!strcmp(name, "BatchNorm2d")) ((bn_impl *)nb_module_impl(c))->train = train;
        if (!strcmp(name, "Dropout")) ((drop_impl *)nb_module_impl(c))->train = train;
    }
}

/* ---- AdamW: decoupled decay p *= 1 - lr wd, then Adam without decay ---- */
struct fm_adamw {
    nb_optimizer *adam;
    nb_tensor *params[64];
    int n;
    double lr, wd;
};

fm_adamw *fm_adamw_new(nb_module *model, double lr, double weight_decay) {
    fm_adamw *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->n = nb_module_parameters(model, o->params, 64);
    o->lr = lr;
    o->wd = weight_decay;
    o->adam = o->n > 0 && o->n <= 64 ? nb_adam_new(o->n, o->params, lr, 0.9, 0.999, 1e-8, 0.0) : NULL;
    if (!o->adam) { free(o); return NULL; }
    return o;
}

nb_status fm_adamw_step(fm_adamw *o) {
    const float decay = (float)(1.0 - o->lr * o->wd);
    for (int i = 0; i < o->n; i++) {
        if (!nb_tensor_grad(o->params[i])) continue;
        float *p = nb_tensor_data(o->params[i]);
        for (int64_t k = 0; k < nb_tensor_numel(o->params[i]); k++) p[k] *= decay;
    }
    return nb_optimizer_step(o->adam);
}
void fm_adamw_zero_grad(fm_adamw *o) { nb_optimizer_zero_grad(o->adam); }
void fm_adamw_free(fm_adamw *o) {
    if (!o) return;
    nb_optimizer_free(o->adam);
    free(o);
}

/* ---- the model file ---- */
typedef struct { char name[32]; nb_tensor *t; } named;

/* The state dict in torch's order: per layer its parameters, then buffers. */
static int state_dict(nb_module *model, named *out, int cap) {
    int n = 0;
    for (int i = 0; i < nb_module_num_children(model); i++) {
        nb_module *c = nb_module_child(model, i);
        nb_tensor *ps[2];
        int np = nb_module_parameters(c, ps, 2);
        for (int k = 0; k < np && n < cap; k++, n++) {
            snprintf(out[n].name, sizeof out[n].name, "%d.%s", i, k ? "bias" : "weight");
            out[n].t = ps[k];
        }
        if (strcmp(nb_module_name(c), "BatchNorm2d") || n + 2 > cap) continue;
        bn_impl *b = nb_module_impl(c);
        snprintf(out[n].name, sizeof out[n].name, "%d.running_mean", i);
        out[n++].t = b->running_mean;
        snprintf(out[n].name, sizeof out[n].name, "%d.running_var", i);
        out[n++].t = b->running_var;
    }
    return n;
}

nb_status fm_model_save(nb_module *model, const char *path) {
    named sd[64];
    const int n = state_dict(model, sd, 64);
    FILE *f = fopen(path, "wb");
    if (!f) return NB_ERR_ARG;
    uint32_t count = (uint32_t)n;
    bool ok = fwrite("NBSTATE1", 1, 8, f) == 8 && fwrite(&count, 4, 1, f) == 1;
    for (int i = 0; ok && i < n; i++) {
        uint32_t len = (uint32_t)strlen(sd[i].name);
        uint8_t dt = 0, nd = (uint8_t)nb_tensor_ndim(sd[i].t);
        size_t numel = (size_t)nb_tensor_numel(sd[i].t);
        ok = fwrite(&len, 4, 1, f) == 1 && fwrite(sd[i].name, 1, len, f) == len && fwrite(&dt, 1, 1, f) == 1 &&
             fwrite(&nd, 1, 1, f) == 1 && fwrite(nb_tensor_shape(sd[i].t), 8, nd, f) == nd &&
             fwrite(nb_tensor_data(sd[i].t), 4, numel, f) == numel;
    }
    ok &= fclose(f) == 0;
    return ok ? NB_OK : NB_ERR_ARG;
}

nb_status fm_model_load(nb_module *model, const char *path) {
    named sd[64];
    const int n = state_dict(model, sd, 64);
    FILE *f = fopen(path, "rb");
    if (!f) return NB_ERR_ARG;
    char magic[8];
    uint32_t count = 0;
    bool ok = fread(magic, 1, 8, f) == 8 && !memcmp(magic, "NBSTATE1", 8) && fread(&count, 4, 1, f) == 1 &&
              count == (uint32_t)n;
    float *vals[64] = {0};
    for (int i = 0; ok && i < n; i++) {
        uint32_t len = 0;
        char name[32] = {0};
        uint8_t dt = 1, nd = 0;
        int64_t shape[8];
        ok = fread(&len, 4, 1, f) == 1 && len < sizeof name && fread(name, 1, len, f) == len &&
             !strcmp(name, sd[i].name) && fread(&dt, 1, 1, f) == 1 && dt == 0 && fread(&nd, 1, 1, f) == 1 &&
             nd == nb_tensor_ndim(sd[i].t) && fread(shape, 8, nd, f) == nd &&
             !memcmp(shape, nb_tensor_shape(sd[i].t), 8 * (size_t)nd);
        size_t numel = (size_t)nb_tensor_numel(sd[i].t);
        ok = ok && (vals[i] = malloc(4 * numel)) && fread(vals[i], 4, numel, f) == numel;
    }
    ok = ok && fgetc(f) == EOF;
    fclose(f);
    for (int i = 0; i < n; i++) {
        if (ok) memcpy(nb_tensor_data(sd[i].t), vals[i], 4 * (size_t)nb_tensor_numel(sd[i].t));
        free(vals[i]);
    }
    return ok ? NB_OK : NB_ERR_ARG;
}
