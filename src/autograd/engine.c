/* The autograd engine: grad mode, graph nodes, saved tensors, backward. */
#include <stdlib.h>
#include <string.h>

#include "autograd_internal.h"

/* ---- grad mode: thread-local, a depth counter so scopes nest ---- */

static _Thread_local int no_grad_depth;

void nb_no_grad_enter(void) { no_grad_depth++; }
void nb_no_grad_exit(void) { if (no_grad_depth > 0) no_grad_depth--; }
bool nb_is_grad_enabled(void) { return no_grad_depth == 0; }
bool nb__grad_mode(void) { return no_grad_depth == 0; }

bool nb__needs_graph(int n, nb_tensor *const *inputs) {
    if (!nb__grad_mode()) return false;
    for (int i = 0; i < n; i++)
        if (inputs[i] && nb_requires_grad(inputs[i])) return true;
    return false;
}

/* ---- nodes ---- */

nb_node *nb__node_new(const char *name, nb_backward_fn fn, int n, nb_tensor *const *inputs) {
    nb_node *node = calloc(1, sizeof *node);
    nb_edge *next = n ? calloc((size_t)n, sizeof *next) : NULL;
    if (!node || (n && !next)) {
        free(node);
        free(next);
        nb_error(NB_ERR_OOM, name, "cannot allocate a graph node");
        return NULL;
    }
    node->refcount = 1;
    node->name = name;
    node->backward = fn;
    node->n_next = n;
    node->next = next;
    for (int i = 0; i < n; i++) {
        nb_tensor *t = inputs[i];
        if (!t) continue;
        if (t->grad_fn) { next[i].node = t->grad_fn; t->grad_fn->refcount++; }
        else if (t->requires_grad) next[i].leaf = nb_tensor_retain(t);
    }
    return node;
}

nb_status nb__node_save(nb_node *n, int slot, const nb_tensor *t) {
    nb_tensor *a = nb__alias(t, t->ndim, t->shape, t->strides, t->offset);
    if (!a) return NB_ERR_OOM;
    n->saved[slot].t = a;
    n->saved[slot].version = t->storage->version;
    return NB_OK;
}

nb_status nb__node_ints(nb_node *n, int count, const int64_t *v) {
    n->ints = malloc(sizeof(int64_t) * (size_t)(count ? count : 1));
    if (!n->ints) return nb_error(NB_ERR_OOM, n->name, "cannot allocate a graph node");
    memcpy(n->ints, v, sizeof(int64_t) * (size_t)count);
    n->n_ints = count;
    return NB_OK;
}

static void free_saved(nb_node *n) {
    for (int i = 0; i < NB_MAX_SAVED; i++) {
        nb_tensor_release(n->saved[i].t);
        n->saved[i].t = NULL;
    }
}

/* Iterative, so that releasing the output of a long chain of ops does not
   recurse once per op. */
void nb__node_release(nb_node *first) {
    nb_node *stack_small[64], **stack = stack_small;
    size_t top = 0, cap = 64;
    stack[top++] = first;
    while (top > 0) {
        nb_node *n = stack[--top];
        if (--n->refcount > 0) continue;
        free_saved(n);
        nb_tensor_release(n->pending);
        for (int i = 0; i < n->n_next; i++) {
            nb_tensor_release(n->next[i].leaf);
            if (!n->next[i].node) continue;
            if (top == cap) {
                nb_node **bigger = malloc(sizeof *bigger * cap * 2);
                if (!bigger) { nb__node_release(n->next[i].node); continue; }   /* recurse instead */
                memcpy(bigger, stack, sizeof *bigger * top);
                if (stack != stack_small) free(stack);
                stack = bigger;
                cap *= 2;
            }
            stack[top++] = n->next[i].node;
        }
        free(n->next);
        free(n->ints);
        free(n);
    }
    if (stack != stack_small) free(stack);
}

nb_tensor *nb__attach(nb_tensor *out, nb_node *n) {
    out->grad_fn = n;
    out->requires_grad = false;
    return out;
}

nb_tensor *nb__record(nb_tensor *out, const char *name, nb_backward_fn fn, int n,
                      nb_tensor *const *inputs, nb_node **node_out) {
    if (node_out) *node_out = NULL;
    if (!out) return NULL;
    if (!nb__needs_graph(n, inputs)) return out;
    nb_node *node = nb__node_new(name, fn, n, inputs);
    if (!node) { nb_tensor_release(out); return NULL; }
    nb__attach(out, node);
    if (node_out) *node_out = node;
    return out;
}

/* ---- tensor-level autograd API ---- */

nb_status nb_tensor_requires_grad_(nb_tensor *t, bool flag) {
    const char *fn = "nb_tensor_requires_grad_";
    if (!t) return nb_error(NB_ERR_ARG, fn, "t is NULL");
    if (t->grad_fn)
        return nb_error(NB_ERR_STATE, fn, "t is not a leaf (it was produced by %s); use nb_detach() first",
                        t->grad_fn->name);
    if (flag && !nb_is_float(t->dtype))
        return nb_error(NB_ERR_DTYPE, fn, "only floating-point tensors can require gradients, got %s",
                        nb_dtype_name(t->dtype));
    t->requires_grad = flag;
    return NB_OK;
}

/* Given NULL, each sets the last error (NB_ERR_ARG, naming it) and returns
   false or NULL. */
static bool null_tensor(const nb_tensor *t, const char *fn) {
    if (!t) nb_error(NB_ERR_ARG, fn, "t is NULL");
    return !t;
}
bool nb_tensor_requires_grad(const nb_tensor *t) {
    return !null_tensor(t, "nb_tensor_requires_grad") && nb_requires_grad(t);
}
bool nb_tensor_is_leaf(const nb_tensor *t) { return !null_tensor(t, "nb_tensor_is_leaf") && t->grad_fn == NULL; }
nb_tensor *nb_tensor_grad(const nb_tensor *t) { return null_tensor(t, "nb_tensor_grad") ? NULL : t->grad; }
const char *nb_tensor_grad_fn_name(const nb_tensor *t) {
    return !null_tensor(t, "nb_tensor_grad_fn_name") && t->grad_fn ? t->grad_fn->name : NULL;
}

nb_status nb_tensor_set_grad(nb_tensor *t, nb_tensor *g) {
    const char *fn = "nb_tensor_set_grad";
    if (!t) return nb_error(NB_ERR_ARG, fn, "t is NULL");
    if (g) {
        char b1[96], b2[96];
        if (g->dtype != t->dtype)
            return nb_error(NB_ERR_DTYPE, fn, "grad has dtype %s, the tensor %s", nb_dtype_name(g->dtype),
                            nb_dtype_name(t->dtype));
        if (g->ndim != t->ndim || memcmp(g->shape, t->shape, sizeof(int64_t) * (size_t)t->ndim))
            return nb_error(NB_ERR_SHAPE, fn, "grad has shape %s, the tensor %s",
                            nb__shape_str(b1, sizeof b1, g->ndim, g->shape),
                            nb__shape_str(b2, sizeof b2, t->ndim, t->shape));
        nb_tensor_retain(g);
    }
    nb_tensor_release(t->grad);
    t->grad = g;
    return NB_OK;
}

nb_status nb_tensor_zero_grad(nb_tensor *t) {
    if (!t) return nb_error(NB_ERR_ARG, "nb_tensor_zero_grad", "t is NULL");
    if (!t->grad) return NB_OK;
    nb_no_grad_enter();
    nb_status s = nb_zero_(t->grad);
    nb_no_grad_exit();
    return s;
}

nb_tensor *nb_detach(nb_tensor *t) {
    if (!t) { nb_error(NB_ERR_ARG, "nb_detach", "t is NULL"); return NULL; }
    return nb__alias(t, t->ndim, t->shape, t->strides, t->offset);
}

/* ---- backward ---- */

typedef struct {
    nb_node **v;
    size_t n, cap;
} node_list;

static bool push(node_list *l, nb_node *n) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        nb_node **v = realloc(l->v, sizeof *v * cap);
        if (!v) return false;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = n;
    return true;
}

/* Every node reachable from root, each once, with deps = the number of
   edges into it from reachable nodes. Expects deps == 0 on every reachable
   node (the reset walk in nb_backward): a node is new while its deps is 0,
   since the first edge found into it makes deps 1 (the root has no edge into
   it). */
static nb_status collect(const char *fn, nb_node *root, node_list *all) {
    node_list stack = {0};
    nb_status s = NB_OK;
    if (!push(all, root) || !push(&stack, root)) { s = NB_ERR_OOM; goto done; }
    while (stack.n > 0) {
        nb_node *n = stack.v[--stack.n];
        for (int i = 0; i < n->n_next; i++) {
            nb_node *m = n->next[i].node;
            if (!m) continue;
            if (m->deps == 0 && (!push(all, m) || !push(&stack, m))) { s = NB_ERR_OOM; goto done; }
            m->deps++;
        }
    }
done:
    free(stack.v);
    if (s) nb_error(s, fn, "cannot allocate the backward work list");
    return s;
}

bool nb__grad_writable(const nb_tensor *p, const nb_tensor *b) {
    return p->refcount == 1 && p->storage->refcount == 1 && p->dtype == b->dtype && !nb_requires_grad(p) &&
           nb_tensor_is_contiguous(p) && p->ndim == b->ndim &&
           memcmp(p->shape, b->shape, sizeof(int64_t) * (size_t)p->ndim) == 0 && !nb_tensor_shares_storage(p, b);
}

static nb_status accumulate(nb_tensor **slot, nb_tensor *g) {
    if (!*slot) {
        *slot = nb_tensor_retain(g);
        return NB_OK;
    }
    nb_tensor *p = *slot;
    if (nb__grad_writable(p, g))
        /* A pending gradient only this slot holds (no other reference, no
           view): summed in place, as PyTorch's engine does, with the bits
           of the out-of-place add (one IEEE add per element). */
        return nb_add_(p, g);
    nb_tensor *sum = nb_add(*slot, g);
    if (!sum) return NB_ERR_OOM;
    nb_tensor_release(*slot);
    *slot = sum;
    return NB_OK;
}

static nb_status accumulate_leaf(nb_tensor *leaf, nb_tensor *g) {
    if (!leaf->grad && g->refcount == 1 && g->storage->refcount == 1 && g->offset == 0 &&
        g->dtype == leaf->dtype && nb_tensor_is_contiguous(g) && g->ndim == leaf->ndim &&
        memcmp(g->shape, leaf->shape, sizeof(int64_t) * (size_t)g->ndim) == 0) {
        /* A dense gradient nobody else can see: it becomes .grad as is. */
        leaf->grad = nb_tensor_retain(g);
        return NB_OK;
    }
    if (!leaf->grad) {
        /* A fresh copy: g may be an expanded view or a tensor the caller holds. */
        nb_tensor *c = nb__empty("nb_backward", leaf->ndim, leaf->shape, leaf->dtype);
        if (!c) return NB_ERR_OOM;
        nb_status s = nb__copy_into("nb_backward", c, g);
        if (s) { nb_tensor_release(c); return s; }
        leaf->grad = c;
        return NB_OK;
    }
    return nb_add_(leaf->grad, g);
}

/* The arguments of nb_backward: t needs a graph, grad (optional for a
   scalar t) its dtype and shape. */
static nb_status check_backward_args(const char *fn, const nb_tensor *t, const nb_tensor *grad) {
    char b1[96], b2[96];
    if (!t) return nb_error(NB_ERR_ARG, fn, "t is NULL");
    if (!nb_requires_grad(t))
        return nb_error(NB_ERR_STATE, fn, "t does not require grad and has no grad_fn");
    if (!grad && nb_tensor_numel(t) != 1)
        return nb_error(NB_ERR_SHAPE, fn, "grad can be implicitly created only for scalar outputs; "
                        "t has shape %s: pass an explicit grad", nb__shape_str(b1, sizeof b1, t->ndim, t->shape));
    if (!grad) return NB_OK;
    if (grad->dtype != t->dtype)
        return nb_error(NB_ERR_DTYPE, fn, "grad has dtype %s, t has %s", nb_dtype_name(grad->dtype),
                        nb_dtype_name(t->dtype));
    if (grad->ndim != t->ndim || memcmp(grad->shape, t->shape, sizeof(int64_t) * (size_t)t->ndim))
        return nb_error(NB_ERR_SHAPE, fn, "grad has shape %s, t has shape %s",
                        nb__shape_str(b1, sizeof b1, grad->ndim, grad->shape),
                        nb__shape_str(b2, sizeof b2, t->ndim, t->shape));
    return NB_OK;
}

/* The plan: every node reachable from root in *all, each with its count
   of consumers (deps), after checking that each can run (its saved
   tensors are still there and unmodified). Writes no gradient. */
static nb_status plan_backward(const char *fn, nb_node *root, node_list *all) {
    /* Reset the marks of every reachable node (deps from an earlier,
       interrupted run could be stale): a first walk sets them to 0. */
    node_list stack = {0}, seen = {0};
    bool ok = push(&stack, root);
    while (ok && stack.n > 0) {
        nb_node *n = stack.v[--stack.n];
        if (n->deps == -1) continue;
        n->deps = -1;
        ok = push(&seen, n);
        for (int i = 0; ok && i < n->n_next; i++)
            if (n->next[i].node && n->next[i].node->deps != -1) ok = push(&stack, n->next[i].node);
    }
    for (size_t i = 0; i < seen.n; i++) seen.v[i]->deps = 0;
    free(stack.v);
    free(seen.v);
    if (!ok) return nb_error(NB_ERR_OOM, fn, "cannot allocate the backward work list");
    nb_status s = collect(fn, root, all);
    if (s) return s;
    for (size_t i = 0; i < all->n; i++) {
        nb_node *n = all->v[i];
        if (n->freed)
            return nb_error(NB_ERR_STATE, fn, "trying to backward through the graph a second time (through %s): "
                            "its saved tensors were freed by the first backward; pass retain_graph = true "
                            "to the first call", n->name);
        for (int k = 0; k < NB_MAX_SAVED; k++) {
            nb_saved *sv = &n->saved[k];
            if (sv->t && sv->t->storage->version != sv->version)
                return nb_error(NB_ERR_STATE, fn, "a tensor saved by %s for the gradient computation has been "
                                "modified by an in-place operation (its version is %llu, expected %llu)",
                                n->name, (unsigned long long)sv->t->storage->version,
                                (unsigned long long)sv->version);
        }
    }
    return NB_OK;
}

/* The run, Kahn's algorithm: a node runs once every consumer has passed
   its gradient; root starts with g0 (taken over). */
static nb_status run_backward(nb_node *root, nb_tensor *g0) {
    root->pending = g0;
    node_list ready = {0};
    nb_status s = push(&ready, root) ? NB_OK : NB_ERR_OOM;
    while (ready.n > 0 && s == NB_OK) {
        nb_node *n = ready.v[--ready.n];
        nb_tensor *g = n->pending;
        n->pending = NULL;
        nb_tensor *grads_small[4] = {0}, **grads = grads_small;
        if (n->n_next > 4 && !(grads = calloc((size_t)n->n_next, sizeof *grads))) { nb_tensor_release(g); s = NB_ERR_OOM; break; }
        s = n->backward(n, g, grads);
        nb_tensor_release(g);
        for (int i = 0; i < n->n_next; i++) {
            nb_edge *e = &n->next[i];
            if (s == NB_OK && grads[i]) {
                if (e->leaf) s = accumulate_leaf(e->leaf, grads[i]);
                else if (e->node) s = accumulate(&e->node->pending, grads[i]);
            }
            if (e->node && --e->node->deps == 0 && s == NB_OK && !push(&ready, e->node)) s = NB_ERR_OOM;
            nb_tensor_release(grads[i]);
        }
        if (grads != grads_small) free(grads);
    }
    free(ready.v);
    return s;
}

/* After a run (or a refused plan): drop what is pending, reset the marks,
   and, unless the graph is retained, free what a successful run used. */
static void finish_backward(node_list *all, bool retain_graph, nb_status s) {
    for (size_t i = 0; i < all->n; i++) {
        nb_node *n = all->v[i];
        nb_tensor_release(n->pending);
        n->pending = NULL;
        n->deps = 0;
        if (!retain_graph && s == NB_OK) {
            /* As PyTorch: only a node whose saved tensors are gone refuses a
               second backward; a node that saved nothing can run again. */
            bool had_saved = false;
            for (int k = 0; k < NB_MAX_SAVED; k++) had_saved |= n->saved[k].t != NULL;
            free_saved(n);
            n->freed |= had_saved;
        }
    }
    free(all->v);
}

nb_status nb_backward(nb_tensor *t, nb_tensor *grad, bool retain_graph) {
    const char *fn = "nb_backward";
    nb_status s = check_backward_args(fn, t, grad);
    if (s != NB_OK) return s;
    nb_no_grad_enter();
    nb_tensor *g0 = grad ? nb_tensor_retain(grad) : nb_ones_like(t);
    if (!g0) { nb_no_grad_exit(); return NB_ERR_OOM; }
    if (!t->grad_fn) {   /* a leaf: its own gradient */
        s = accumulate_leaf(t, g0);
        nb_tensor_release(g0);
        nb_no_grad_exit();
        return s;
    }
    node_list all = {0};
    s = plan_backward(fn, t->grad_fn, &all);
    if (s == NB_OK) {
        s = run_backward(t->grad_fn, g0);
        if (s == NB_ERR_OOM) nb_error(s, fn, "out of memory during backward");
    } else {
        nb_tensor_release(g0);
    }
    finish_backward(&all, retain_graph, s);
    nb_no_grad_exit();
    return s;
}
