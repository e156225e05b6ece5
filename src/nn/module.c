/* The module layer: one struct for every layer, loss container and net. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/tensor_internal.h"
#include <nabla/nn.h>

struct nb_module {
    const nb_module_vtable *vt;
    void *impl;
    nb_tensor **params;
    int n_params, cap_params;
    nb_module **children;
    int n_children, cap_children;
    nb_module *parent;   /* the module that owns this one, NULL for a root */
};

nb_module *nb_module_new(const nb_module_vtable *vt, void *impl) {
    if (!vt || !vt->forward) { nb_error(NB_ERR_ARG, "nb_module_new", "vt or vt->forward is NULL"); return NULL; }
    nb_module *m = calloc(1, sizeof *m);
    if (!m) { nb_error(NB_ERR_OOM, "nb_module_new", "cannot allocate"); return NULL; }
    m->vt = vt;
    m->impl = impl;
    return m;
}

/* Given NULL, the accessors set the last error (NB_ERR_ARG, naming them). */
static bool null_module(const nb_module *m, const char *fn) {
    if (!m) nb_error(NB_ERR_ARG, fn, "m is NULL");
    return !m;
}
void *nb_module_impl(const nb_module *m) { return null_module(m, "nb_module_impl") ? NULL : m->impl; }
const char *nb_module_name(const nb_module *m) { return null_module(m, "nb_module_name") ? NULL : m->vt->name; }

static bool grow(void **v, int *cap, int n, size_t elem) {
    if (n < *cap) return true;
    int c = *cap ? *cap * 2 : 4;
    void *p = realloc(*v, elem * (size_t)c);
    if (!p) return false;
    *v = p;
    *cap = c;
    return true;
}

nb_status nb_module_add_parameter(nb_module *m, nb_tensor *p) {
    if (!m || !p) return nb_error(NB_ERR_ARG, "nb_module_add_parameter", "%s is NULL", m ? "p" : "m");
    if (!grow((void **)&m->params, &m->cap_params, m->n_params, sizeof *m->params))
        return nb_error(NB_ERR_OOM, "nb_module_add_parameter", "cannot allocate");
    m->params[m->n_params++] = nb_tensor_retain(p);
    return NB_OK;
}

/* Why child cannot become a child of m (the tree would lose an owner or
   gain a cycle), or NULL. */
static const char *adoption_refused(const nb_module *m, const nb_module *child) {
    if (child == m) return "child is the module itself";
    if (child->parent) return "child already has a parent (a module has one owner)";
    for (const nb_module *a = m->parent; a; a = a->parent)
        if (a == child) return "child is an ancestor of the module (the tree would have a cycle)";
    return NULL;
}

nb_status nb_module_add_child(nb_module *m, nb_module *child) {
    if (!m || !child) return nb_error(NB_ERR_ARG, "nb_module_add_child", "%s is NULL", m ? "child" : "m");
    const char *why = adoption_refused(m, child);
    if (why) return nb_error(NB_ERR_ARG, "nb_module_add_child", "%s", why);
    if (!grow((void **)&m->children, &m->cap_children, m->n_children, sizeof *m->children))
        return nb_error(NB_ERR_OOM, "nb_module_add_child", "cannot allocate");
    m->children[m->n_children++] = child;
    child->parent = m;
    return NB_OK;
}

nb_tensor *nb_module_forward(nb_module *m, nb_tensor *x) {
    if (!m || !x) { nb_error(NB_ERR_ARG, "nb_module_forward", "%s is NULL", m ? "x" : "m"); return NULL; }
    nb_tensor *y = m->vt->forward(m, x);
    if (!y) nb_error_context("nb_module_forward");
    return y;
}

static int collect(const nb_module *m, nb_tensor **out, int cap, int at) {
    for (int i = 0; i < m->n_params; i++, at++)
        if (out && at < cap) out[at] = m->params[i];
    for (int i = 0; i < m->n_children; i++) at = collect(m->children[i], out, cap, at);
    return at;
}

int nb_module_parameters(const nb_module *m, nb_tensor **out, int cap) {
    if (null_module(m, "nb_module_parameters")) return -1;
    if (cap < 0) { nb_error(NB_ERR_ARG, "nb_module_parameters", "cap = %d is negative", cap); return -1; }
    return collect(m, out, cap, 0);
}
int nb_module_num_children(const nb_module *m) {
    return null_module(m, "nb_module_num_children") ? -1 : m->n_children;
}
nb_module *nb_module_child(const nb_module *m, int i) {
    if (null_module(m, "nb_module_child")) return NULL;
    if (i < 0 || i >= m->n_children) {
        nb_error(NB_ERR_ARG, "nb_module_child", "index %d is outside [0, %d)", i, m->n_children);
        return NULL;
    }
    return m->children[i];
}
nb_tensor *nb_module_weight(const nb_module *m) {
    return null_module(m, "nb_module_weight") ? NULL : m->n_params > 0 ? m->params[0] : NULL;
}
nb_tensor *nb_module_bias(const nb_module *m) {
    return null_module(m, "nb_module_bias") ? NULL : m->n_params > 1 ? m->params[1] : NULL;
}

void nb_module_zero_grad(nb_module *m) {
    if (!m) return;
    for (int i = 0; i < m->n_params; i++) nb_tensor_set_grad(m->params[i], NULL);
    for (int i = 0; i < m->n_children; i++) nb_module_zero_grad(m->children[i]);
}

void nb_module_free(nb_module *m) {
    if (!m) return;
    for (int i = 0; i < m->n_children; i++) nb_module_free(m->children[i]);
    for (int i = 0; i < m->n_params; i++) nb_tensor_release(m->params[i]);
    if (m->vt->destroy) m->vt->destroy(m->impl);
    free(m->children);
    free(m->params);
    free(m);
}

/* ---- layers ---- */

/* A parameter filled uniformly in (-bound, bound), requiring grad. */
static nb_tensor *uniform_param(int ndim, const int64_t *shape, double bound, nb_generator *gen) {
    nb_tensor *t = nb_rand(ndim, shape, NB_FLOAT32, gen);
    if (!t) return NULL;
    float *p = nb_tensor_data(t);
    for (int64_t i = 0; i < nb_tensor_numel(t); i++) p[i] = (float)((2.0 * p[i] - 1.0) * bound);
    nb_tensor_requires_grad_(t, true);
    return t;
}

static nb_tensor *linear_forward(nb_module *m, nb_tensor *x) {
    return nb_linear(x, m->params[0], m->n_params > 1 ? m->params[1] : NULL);
}
static const nb_module_vtable linear_vt = {"Linear", linear_forward, NULL};

static nb_module *with_params(const nb_module_vtable *vt, nb_tensor *w, nb_tensor *b, bool want_b) {
    nb_module *m = w && (b || !want_b) ? nb_module_new(vt, NULL) : NULL;
    if (m && (nb_module_add_parameter(m, w) || (b && nb_module_add_parameter(m, b)))) {
        nb_module_free(m);
        m = NULL;
    }
    nb_tensor_release(w);
    nb_tensor_release(b);
    return m;
}

nb_module *nb_linear_new(int64_t in, int64_t out, bool bias, nb_generator *gen) {
    if (in < 1 || out < 0) { nb_error(NB_ERR_ARG, "nb_linear_new", "in_features must be >= 1 and out_features >= 0"); return NULL; }
    double bound = 1.0 / sqrt((double)in);
    nb_tensor *w = uniform_param(2, (int64_t[]){out, in}, bound, gen);
    nb_tensor *b = w && bias ? uniform_param(1, &out, bound, gen) : NULL;
    nb_module *m = with_params(&linear_vt, w, b, bias);
    if (!m) nb_error_context("nb_linear_new");
    return m;
}

typedef struct { nb_conv2d_params p; } conv_impl;
static nb_tensor *conv_forward(nb_module *m, nb_tensor *x) {
    conv_impl *c = m->impl;
    return nb_conv2d(x, m->params[0], m->n_params > 1 ? m->params[1] : NULL, &c->p);
}
static const nb_module_vtable conv_vt = {"Conv2d", conv_forward, free};

nb_module *nb_conv2d_new(int64_t in_c, int64_t out_c, int64_t kh, int64_t kw, const nb_conv2d_params *p, bool bias,
                         nb_generator *gen) {
    nb_conv2d_params prm = p ? *p : nb_conv2d_defaults();
    if (in_c < 1 || out_c < 1 || kh < 1 || kw < 1 || prm.groups < 1 || in_c % prm.groups || out_c % prm.groups) {
        nb_error(NB_ERR_ARG, "nb_conv2d_new", "channels and kernel sizes must be positive and divisible by groups");
        return NULL;
    }
    conv_impl *impl = malloc(sizeof *impl);
    if (!impl) { nb_error(NB_ERR_OOM, "nb_conv2d_new", "cannot allocate"); return NULL; }
    impl->p = prm;
    double bound = 1.0 / sqrt((double)(in_c / prm.groups * kh * kw));
    nb_tensor *w = uniform_param(4, (int64_t[]){out_c, in_c / prm.groups, kh, kw}, bound, gen);
    nb_tensor *b = w && bias ? uniform_param(1, &out_c, bound, gen) : NULL;
    nb_module *m = with_params(&conv_vt, w, b, bias);
    if (!m) { free(impl); return NULL; }
    m->impl = impl;
    return m;
}

static nb_tensor *relu_forward(nb_module *m, nb_tensor *x) { (void)m; return nb_relu(x); }
static const nb_module_vtable relu_vt = {"ReLU", relu_forward, NULL};
nb_module *nb_relu_new(void) { return nb_module_new(&relu_vt, NULL); }

static nb_tensor *flatten_forward(nb_module *m, nb_tensor *x) {
    (void)m;
    if (nb_tensor_ndim(x) < 1) { nb_error(NB_ERR_SHAPE, "Flatten", "needs at least 1 dim"); return NULL; }
    return nb_reshape(x, 2, (int64_t[]){nb_tensor_shape(x)[0], -1});
}
static const nb_module_vtable flatten_vt = {"Flatten", flatten_forward, NULL};
nb_module *nb_flatten_new(void) { return nb_module_new(&flatten_vt, NULL); }

static nb_tensor *sequential_forward(nb_module *m, nb_tensor *x) {
    nb_tensor *h = nb_tensor_retain(x);
    for (int i = 0; h && i < m->n_children; i++) {
        nb_tensor *next = nb_module_forward(m->children[i], h);
        nb_tensor_release(h);
        h = next;
    }
    return h;
}
static const nb_module_vtable sequential_vt = {"Sequential", sequential_forward, NULL};

nb_module *nb_sequential_new(int n, nb_module *const *modules) {
    static const char fn[] = "nb_sequential_new";
    if (n < 0 || (n > 0 && !modules)) { nb_error(NB_ERR_ARG, fn, "modules is NULL"); return NULL; }
    /* Every check before anything is adopted: on failure the caller still
       owns every module, unchanged. */
    for (int i = 0; i < n; i++) {
        if (!modules[i]) { nb_error(NB_ERR_ARG, fn, "module %d is NULL", i); return NULL; }
        if (modules[i]->parent) {
            nb_error(NB_ERR_ARG, fn, "module %d already has a parent (a module has one owner)", i);
            return NULL;
        }
        for (int j = 0; j < i; j++)
            if (modules[j] == modules[i]) {
                nb_error(NB_ERR_ARG, fn, "module %d is module %d again (a module has one owner)", i, j);
                return NULL;
            }
    }
    nb_module *m = nb_module_new(&sequential_vt, NULL);
    if (m && n > 0 && !(m->children = malloc(sizeof *m->children * (size_t)n))) {
        nb_module_free(m);
        nb_error(NB_ERR_OOM, fn, "cannot allocate");
        return NULL;
    }
    if (!m) return NULL;
    m->cap_children = n;
    for (int i = 0; i < n; i++) {
        m->children[m->n_children++] = modules[i];
        modules[i]->parent = m;
    }
    return m;
}
