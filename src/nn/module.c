/* The module layer: one struct for every layer, loss and net, with named
 * parameters, buffers and children (PyTorch's state_dict names) and a
 * train/eval flag. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/tensor_internal.h"
#include <nabla/nn.h>

/* A local name ("weight", "running_mean", "0"): no '.', at most 63 bytes. */
#define LOCAL_NAME 64
typedef struct { char name[LOCAL_NAME]; nb_tensor *t; } tensor_entry;
typedef struct { char name[LOCAL_NAME]; nb_module *m; } child_entry;

struct nb_module {
    const nb_module_vtable *vt;     /* one-input modules */
    const nb_module_vtable2 *vt2;   /* two-input modules (losses); exactly one is set */
    void *impl;
    tensor_entry *params, *buffers;
    int n_params, cap_params, n_buffers, cap_buffers;
    child_entry *children;
    int n_children, cap_children;
    nb_module *parent;   /* the module that owns this one, NULL for a root */
    bool training;       /* PyTorch's modules start in training mode */
};

static nb_module *module_alloc(const char *fn) {
    nb_module *m = calloc(1, sizeof *m);
    if (!m) { nb_error(NB_ERR_OOM, fn, "cannot allocate"); return NULL; }
    m->training = true;
    return m;
}

nb_module *nb_module_new(const nb_module_vtable *vt, void *impl) {
    if (!vt || !vt->forward) { nb_error(NB_ERR_ARG, "nb_module_new", "vt or vt->forward is NULL"); return NULL; }
    nb_module *m = module_alloc("nb_module_new");
    if (m) { m->vt = vt; m->impl = impl; }
    return m;
}

nb_module *nb_module_new2(const nb_module_vtable2 *vt, void *impl) {
    if (!vt || !vt->forward2) { nb_error(NB_ERR_ARG, "nb_module_new2", "vt or vt->forward2 is NULL"); return NULL; }
    nb_module *m = module_alloc("nb_module_new2");
    if (m) { m->vt2 = vt; m->impl = impl; }
    return m;
}

/* Given NULL, the accessors set the last error (NB_ERR_ARG, naming them). */
static bool null_module(const nb_module *m, const char *fn) {
    if (!m) nb_error(NB_ERR_ARG, fn, "m is NULL");
    return !m;
}
void *nb_module_impl(const nb_module *m) { return null_module(m, "nb_module_impl") ? NULL : m->impl; }
const char *nb_module_name(const nb_module *m) {
    return null_module(m, "nb_module_name") ? NULL : m->vt ? m->vt->name : m->vt2->name;
}

static bool grow(void **v, int *cap, int n, size_t elem) {
    if (n < *cap) return true;
    int c = *cap ? *cap * 2 : 4;
    void *p = realloc(*v, elem * (size_t)c);
    if (!p) return false;
    *v = p;
    *cap = c;
    return true;
}

/* Why name cannot be a new local name of m, or NULL. PyTorch refuses an
   empty name, a '.', and a name already taken by a parameter, buffer or
   child of the same module. */
static const char *name_refused(const nb_module *m, const char *name) {
    if (!name[0]) return "the name is empty";
    if (strchr(name, '.')) return "the name contains '.'";
    if (strlen(name) >= LOCAL_NAME) return "the name is longer than 63 bytes";
    for (int i = 0; i < m->n_params; i++)
        if (!strcmp(m->params[i].name, name)) return "a parameter of the module has this name";
    for (int i = 0; i < m->n_buffers; i++)
        if (!strcmp(m->buffers[i].name, name)) return "a buffer of the module has this name";
    for (int i = 0; i < m->n_children; i++)
        if (!strcmp(m->children[i].name, name)) return "a child of the module has this name";
    return NULL;
}

static nb_status add_tensor(const char *fn, nb_module *m, const char *name, nb_tensor *t, bool buffer) {
    if (!m || !t || !name) return nb_error(NB_ERR_ARG, fn, "%s is NULL", !m ? "m" : !t ? "the tensor" : "name");
    const char *why = name_refused(m, name);
    if (why) return nb_error(NB_ERR_ARG, fn, "\"%.80s\": %s", name, why);
    tensor_entry **v = buffer ? &m->buffers : &m->params;
    int *n = buffer ? &m->n_buffers : &m->n_params, *cap = buffer ? &m->cap_buffers : &m->cap_params;
    if (!grow((void **)v, cap, *n, sizeof **v)) return nb_error(NB_ERR_OOM, fn, "cannot allocate");
    snprintf((*v)[*n].name, LOCAL_NAME, "%s", name);
    (*v)[(*n)++].t = nb_tensor_retain(t);
    return NB_OK;
}

nb_status nb_module_add_parameter(nb_module *m, nb_tensor *p) {
    char name[32];
    snprintf(name, sizeof name, "param%d", m ? m->n_params : 0);
    return add_tensor("nb_module_add_parameter", m, name, p, false);
}
nb_status nb_module_add_parameter_named(nb_module *m, const char *name, nb_tensor *p) {
    return add_tensor("nb_module_add_parameter_named", m, name, p, false);
}
nb_status nb_module_add_buffer(nb_module *m, const char *name, nb_tensor *b) {
    return add_tensor("nb_module_add_buffer", m, name, b, true);
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

static nb_status add_child(const char *fn, nb_module *m, const char *name, nb_module *child) {
    if (!m || !child || !name) return nb_error(NB_ERR_ARG, fn, "%s is NULL", !m ? "m" : !child ? "child" : "name");
    const char *why = adoption_refused(m, child);
    if (!why) why = name_refused(m, name);
    if (why) return nb_error(NB_ERR_ARG, fn, "%s", why);
    if (!grow((void **)&m->children, &m->cap_children, m->n_children, sizeof *m->children))
        return nb_error(NB_ERR_OOM, fn, "cannot allocate");
    snprintf(m->children[m->n_children].name, LOCAL_NAME, "%s", name);
    m->children[m->n_children++].m = child;
    child->parent = m;
    return NB_OK;
}
nb_status nb_module_add_child(nb_module *m, nb_module *child) {
    char name[32];
    snprintf(name, sizeof name, "%d", m ? m->n_children : 0);
    return add_child("nb_module_add_child", m, name, child);
}
nb_status nb_module_add_child_named(nb_module *m, const char *name, nb_module *child) {
    return add_child("nb_module_add_child_named", m, name, child);
}

nb_tensor *nb_module_forward(nb_module *m, nb_tensor *x) {
    if (!m || !x) { nb_error(NB_ERR_ARG, "nb_module_forward", "%s is NULL", m ? "x" : "m"); return NULL; }
    if (!m->vt) {
        nb_error(NB_ERR_ARG, "nb_module_forward", "%s takes two inputs: use nb_module_forward2", m->vt2->name);
        return NULL;
    }
    nb_tensor *y = m->vt->forward(m, x);
    if (!y) nb_error_context("nb_module_forward");
    return y;
}

nb_tensor *nb_module_forward2(nb_module *m, nb_tensor *a, nb_tensor *b) {
    static const char fn[] = "nb_module_forward2";
    if (!m || !a || !b) { nb_error(NB_ERR_ARG, fn, "%s is NULL", !m ? "m" : !a ? "a" : "b"); return NULL; }
    if (!m->vt2) { nb_error(NB_ERR_ARG, fn, "%s takes one input: use nb_module_forward", m->vt->name); return NULL; }
    nb_tensor *y = m->vt2->forward2(m, a, b);
    if (!y) nb_error_context(fn);
    return y;
}

static int collect(const nb_module *m, nb_tensor **out, int cap, int at) {
    for (int i = 0; i < m->n_params; i++, at++)
        if (out && at < cap) out[at] = m->params[i].t;
    for (int i = 0; i < m->n_children; i++) at = collect(m->children[i].m, out, cap, at);
    return at;
}

int nb_module_parameters(const nb_module *m, nb_tensor **out, int cap) {
    if (null_module(m, "nb_module_parameters")) return -1;
    if (cap < 0) { nb_error(NB_ERR_ARG, "nb_module_parameters", "cap = %d is negative", cap); return -1; }
    return collect(m, out, cap, 0);
}

/* Which entries a named walk lists. */
enum { WANT_PARAMS = 1, WANT_BUFFERS = 2 };

static int put_named(const char *fn, const char *prefix, const tensor_entry *e, nb_named_tensor *out, int cap, int at) {
    if (out && at < cap) {
        const int len = snprintf(out[at].name, NB_NAME_MAX, "%s%s", prefix, e->name);
        if (len < 0 || len >= NB_NAME_MAX) {
            nb_error(NB_ERR_ARG, fn, "the name \"%.60s...%s\" is longer than NB_NAME_MAX - 1 bytes", prefix, e->name);
            return -1;
        }
        out[at].tensor = e->t;
    }
    return at + 1;
}

/* PyTorch's order: a module's own parameters, then its own buffers, then
   each child's entries (prefixed "child."), depth first. */
static int collect_named(const char *fn, const nb_module *m, const char *prefix, int want, nb_named_tensor *out,
                         int cap, int at) {
    for (int i = 0; at >= 0 && (want & WANT_PARAMS) && i < m->n_params; i++)
        at = put_named(fn, prefix, &m->params[i], out, cap, at);
    for (int i = 0; at >= 0 && (want & WANT_BUFFERS) && i < m->n_buffers; i++)
        at = put_named(fn, prefix, &m->buffers[i], out, cap, at);
    for (int i = 0; at >= 0 && i < m->n_children; i++) {
        char sub[NB_NAME_MAX];
        const int len = snprintf(sub, sizeof sub, "%s%s.", prefix, m->children[i].name);
        if (len < 0 || len >= NB_NAME_MAX) {
            nb_error(NB_ERR_ARG, fn, "the names under \"%.60s...\" are longer than NB_NAME_MAX - 1 bytes", prefix);
            return -1;
        }
        at = collect_named(fn, m->children[i].m, sub, want, out, cap, at);
    }
    return at;
}

static int named(const char *fn, const nb_module *m, int want, nb_named_tensor *out, int cap) {
    if (null_module(m, fn)) return -1;
    if (cap < 0) { nb_error(NB_ERR_ARG, fn, "cap = %d is negative", cap); return -1; }
    return collect_named(fn, m, "", want, out, cap, 0);
}
int nb_module_named_parameters(const nb_module *m, nb_named_tensor *out, int cap) {
    return named("nb_module_named_parameters", m, WANT_PARAMS, out, cap);
}
int nb_module_named_buffers(const nb_module *m, nb_named_tensor *out, int cap) {
    return named("nb_module_named_buffers", m, WANT_BUFFERS, out, cap);
}
int nb_module_state_dict(const nb_module *m, nb_named_tensor *out, int cap) {
    return named("nb_module_state_dict", m, WANT_PARAMS | WANT_BUFFERS, out, cap);
}

nb_tensor *nb_module_buffer(const nb_module *m, const char *name) {
    if (null_module(m, "nb_module_buffer")) return NULL;
    if (!name) { nb_error(NB_ERR_ARG, "nb_module_buffer", "name is NULL"); return NULL; }
    for (int i = 0; i < m->n_buffers; i++)
        if (!strcmp(m->buffers[i].name, name)) return m->buffers[i].t;
    nb_error(NB_ERR_ARG, "nb_module_buffer", "%s has no buffer \"%.80s\"", nb_module_name(m), name);
    return NULL;
}

nb_status nb_module_train(nb_module *m, bool training) {
    if (!m) return nb_error(NB_ERR_ARG, "nb_module_train", "m is NULL");
    m->training = training;
    for (int i = 0; i < m->n_children; i++) nb_module_train(m->children[i].m, training);
    return NB_OK;
}
bool nb_module_is_training(const nb_module *m) {
    return null_module(m, "nb_module_is_training") ? false : m->training;
}

int nb_module_num_children(const nb_module *m) {
    return null_module(m, "nb_module_num_children") ? -1 : m->n_children;
}
static bool bad_child_index(const nb_module *m, int i, const char *fn) {
    if (null_module(m, fn)) return true;
    if (i >= 0 && i < m->n_children) return false;
    nb_error(NB_ERR_ARG, fn, "index %d is outside [0, %d)", i, m->n_children);
    return true;
}
nb_module *nb_module_child(const nb_module *m, int i) {
    return bad_child_index(m, i, "nb_module_child") ? NULL : m->children[i].m;
}
const char *nb_module_child_name(const nb_module *m, int i) {
    return bad_child_index(m, i, "nb_module_child_name") ? NULL : m->children[i].name;
}
nb_tensor *nb_module_weight(const nb_module *m) {
    return null_module(m, "nb_module_weight") ? NULL : m->n_params > 0 ? m->params[0].t : NULL;
}
nb_tensor *nb_module_bias(const nb_module *m) {
    return null_module(m, "nb_module_bias") ? NULL : m->n_params > 1 ? m->params[1].t : NULL;
}

void nb_module_zero_grad(nb_module *m) {
    if (!m) return;
    for (int i = 0; i < m->n_params; i++) nb_tensor_set_grad(m->params[i].t, NULL);
    for (int i = 0; i < m->n_children; i++) nb_module_zero_grad(m->children[i].m);
}

void nb_module_free(nb_module *m) {
    if (!m) return;
    for (int i = 0; i < m->n_children; i++) nb_module_free(m->children[i].m);
    for (int i = 0; i < m->n_params; i++) nb_tensor_release(m->params[i].t);
    for (int i = 0; i < m->n_buffers; i++) nb_tensor_release(m->buffers[i].t);
    void (*destroy)(void *) = m->vt ? m->vt->destroy : m->vt2->destroy;
    if (destroy) destroy(m->impl);
    free(m->children);
    free(m->params);
    free(m->buffers);
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
    return nb_linear(x, m->params[0].t, m->n_params > 1 ? m->params[1].t : NULL);
}
static const nb_module_vtable linear_vt = {"Linear", linear_forward, NULL};

static nb_module *with_params(const nb_module_vtable *vt, nb_tensor *w, nb_tensor *b, bool want_b) {
    nb_module *m = w && (b || !want_b) ? nb_module_new(vt, NULL) : NULL;
    if (m && (nb_module_add_parameter_named(m, "weight", w) || (b && nb_module_add_parameter_named(m, "bias", b)))) {
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
    return nb_conv2d(x, m->params[0].t, m->n_params > 1 ? m->params[1].t : NULL, &c->p);
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
        nb_tensor *next = nb_module_forward(m->children[i].m, h);
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
        snprintf(m->children[i].name, LOCAL_NAME, "%d", i);   /* "0", "1", ...: nn.Sequential's names */
        m->children[m->n_children++].m = modules[i];
        modules[i]->parent = m;
    }
    return m;
}
