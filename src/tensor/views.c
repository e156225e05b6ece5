/* Views (share storage, never copy) and the copying shape ops. */
#include <stdlib.h>
#include <string.h>

#include "tensor_internal.h"
#include "autograd/autograd_internal.h"

#define CHECK_T(fn, t) \
    do { if (!(t)) { nb_error(NB_ERR_ARG, fn, "t is NULL"); return NULL; } } while (0)

/* Record the node of a view op; the result is a view of a tensor that
   requires grad (in-place ops on it are refused). */
static nb_tensor *record_view(nb_tensor *out, const char *fn, nb_backward_fn rule, nb_tensor *in,
                              const int64_t *ints, int n_ints) {
    nb_node *node;
    out = nb__record(out, fn, rule, 1, &in, &node);
    if (!node) return out;
    out->is_grad_view = true;
    node->in_ndim = in->ndim;
    memcpy(node->in_shape, in->shape, sizeof(int64_t) * (size_t)in->ndim);
    node->in_dtype = in->dtype;
    if (n_ints && nb__node_ints(node, n_ints, ints)) { nb_tensor_release(out); return NULL; }
    return out;
}

/* ---- reshape / view ---- */

/* Fill -1 and check the element count. */
static nb_status infer_shape(const char *fn, const nb_tensor *t, int ndim, const int64_t *shape, int64_t *out) {
    char b1[128];
    if (ndim < 0 || ndim > NB_MAX_DIMS) return nb_error(NB_ERR_ARG, fn, "ndim = %d is outside [0, %d]", ndim, NB_MAX_DIMS);
    if (ndim > 0 && !shape) return nb_error(NB_ERR_ARG, fn, "shape is NULL");
    int infer = -1;
    int64_t known = 1, numel = nb_tensor_numel(t);
    for (int i = 0; i < ndim; i++) {
        if (shape[i] == -1) {
            if (infer >= 0) return nb_error(NB_ERR_SHAPE, fn, "only one dimension can be inferred (-1), got two in %s",
                                            nb__shape_str(b1, sizeof b1, ndim, shape));
            infer = i;
        } else if (shape[i] < 0) {
            return nb_error(NB_ERR_SHAPE, fn, "invalid shape dimension %lld in %s", (long long)shape[i],
                            nb__shape_str(b1, sizeof b1, ndim, shape));
        } else if (!nb_mul_ok(known, shape[i], &known)) {
            return nb_error(NB_ERR_OVERFLOW, fn, "shape %s overflows int64", nb__shape_str(b1, sizeof b1, ndim, shape));
        }
        out[i] = shape[i];
    }
    if (infer >= 0) {
        if (known == 0 || numel % known != 0)
            return nb_error(NB_ERR_SHAPE, fn, "shape %s is invalid for input of size %lld",
                            nb__shape_str(b1, sizeof b1, ndim, shape), (long long)numel);
        out[infer] = numel / known;
    } else if (known != numel) {
        return nb_error(NB_ERR_SHAPE, fn, "shape %s is invalid for input of size %lld",
                        nb__shape_str(b1, sizeof b1, ndim, shape), (long long)numel);
    }
    return NB_OK;
}

/* PyTorch's computeStride: strides for viewing (oshape, ostride) as nshape
   without copying, or false. Walks the old dims from the back, grouping them
   into chunks that are contiguous with each other; every new dim must fall
   inside one chunk. */
static bool compute_stride(int on, const int64_t *oshape, const int64_t *ostride,
                           int nn, const int64_t *nshape, int64_t *nstride) {
    int64_t numel = 1;
    for (int i = 0; i < on; i++) numel *= oshape[i];
    if (numel == 0 || on == 0) {
        nb__contiguous_strides(nn, nshape, nstride);
        return true;
    }
    int view_d = nn - 1;
    int64_t chunk_base_stride = ostride[on - 1], tensor_numel = 1, view_numel = 1;
    for (int tensor_d = on - 1; tensor_d >= 0; tensor_d--) {
        tensor_numel *= oshape[tensor_d];
        if (tensor_d == 0 ||
            (oshape[tensor_d - 1] != 1 && ostride[tensor_d - 1] != tensor_numel * chunk_base_stride)) {
            while (view_d >= 0 && (view_numel < tensor_numel || nshape[view_d] == 1)) {
                nstride[view_d] = view_numel * chunk_base_stride;
                view_numel *= nshape[view_d];
                view_d--;
            }
            if (view_numel != tensor_numel) return false;
            if (tensor_d > 0) {
                chunk_base_stride = ostride[tensor_d - 1];
                tensor_numel = 1;
                view_numel = 1;
            }
        }
    }
    return view_d == -1;
}

static nb_tensor *view_impl(const char *fn, nb_tensor *t, int ndim, const int64_t *shape, bool may_copy) {
    CHECK_T(fn, t);
    int64_t ns[NB_MAX_DIMS], st[NB_MAX_DIMS];
    if (infer_shape(fn, t, ndim, shape, ns)) return NULL;
    if (compute_stride(t->ndim, t->shape, t->strides, ndim, ns, st)) {
        nb_tensor *v = nb__alias(t, ndim, ns, st, t->offset);
        return record_view(v, fn, nb_grad_view, t, NULL, 0);
    }
    if (!may_copy) {
        char b1[128], b2[128];
        nb_error(NB_ERR_SHAPE, fn, "view size %s is not compatible with the input's size %s and strides %s "
                 "(at least one dimension spans across two contiguous subspaces); use nb_reshape() instead",
                 nb__shape_str(b1, sizeof b1, ndim, ns), nb__shape_str(b2, sizeof b2, t->ndim, t->shape),
                 nb__shape_str((char[128]){0}, 128, t->ndim, t->strides));
        return NULL;
    }
    /* Copy: a contiguous clone (recorded), then a view of it. */
    nb_tensor *c = nb_clone(t);
    if (!c) return NULL;
    nb_tensor *v = view_impl(fn, c, ndim, ns, false);
    nb_tensor_release(c);
    return v;
}

nb_tensor *nb_view(nb_tensor *t, int ndim, const int64_t *shape) { return view_impl("nb_view", t, ndim, shape, false); }
nb_tensor *nb_reshape(nb_tensor *t, int ndim, const int64_t *shape) { return view_impl("nb_reshape", t, ndim, shape, true); }
nb_tensor *nb_flatten(nb_tensor *t) { return view_impl("nb_flatten", t, 1, (int64_t[]){-1}, true); }

/* torch.flatten(x, start_dim, end_dim): the sizes product is computed, not
   inferred with -1, so a zero-sized dim inside the range is fine. A 0-dim
   tensor becomes [1], as PyTorch. */
nb_tensor *nb_flatten_dims(nb_tensor *t, int start_dim, int end_dim) {
    static const char fn[] = "nb_flatten_dims";
    CHECK_T(fn, t);
    const int s = nb__dim(fn, start_dim, t->ndim), e = s < 0 ? -1 : nb__dim(fn, end_dim, t->ndim);
    if (s < 0 || e < 0) return NULL;
    if (t->ndim == 0) return view_impl(fn, t, 1, (int64_t[]){1}, true);
    if (s > e) {
        nb_error(NB_ERR_ARG, fn, "start_dim %d comes after end_dim %d", start_dim, end_dim);
        return NULL;
    }
    int64_t shape[NB_MAX_DIMS];
    int n = 0;
    for (int i = 0; i < s; i++) shape[n++] = t->shape[i];
    shape[n] = 1;
    for (int i = s; i <= e; i++) shape[n] *= t->shape[i];   /* no overflow: numel was checked */
    n++;
    for (int i = e + 1; i < t->ndim; i++) shape[n++] = t->shape[i];
    return view_impl(fn, t, n, shape, true);
}

/* ---- permute / transpose ---- */

static nb_tensor *permute_impl(const char *fn, nb_tensor *t, const int *dims) {
    CHECK_T(fn, t);
    if (t->ndim > 0 && !dims) { nb_error(NB_ERR_ARG, fn, "dims is NULL"); return NULL; }
    int64_t shape[NB_MAX_DIMS], st[NB_MAX_DIMS], p[NB_MAX_DIMS];
    bool used[NB_MAX_DIMS] = {false};
    for (int i = 0; i < t->ndim; i++) {
        int d = nb__dim(fn, dims[i], t->ndim);
        if (d < 0) return NULL;
        if (used[d]) { nb_error(NB_ERR_ARG, fn, "dims is not a permutation: dim %d repeats", d); return NULL; }
        used[d] = true;
        p[i] = d;
        shape[i] = t->shape[d];
        st[i] = t->strides[d];
    }
    nb_tensor *v = nb__alias(t, t->ndim, shape, st, t->offset);
    return record_view(v, fn, nb_grad_permute, t, p, t->ndim);
}

nb_tensor *nb_permute(nb_tensor *t, const int *dims) { return permute_impl("nb_permute", t, dims); }

static nb_tensor *transpose_impl(const char *fn, nb_tensor *t, int d0, int d1) {
    CHECK_T(fn, t);
    int a = nb__dim(fn, d0, t->ndim), b = a < 0 ? -1 : nb__dim(fn, d1, t->ndim);
    if (a < 0 || b < 0) return NULL;
    int p[NB_MAX_DIMS];
    for (int i = 0; i < t->ndim; i++) p[i] = i;
    if (t->ndim > 0) { p[a] = b; p[b] = a; }
    return permute_impl(fn, t, p);
}

nb_tensor *nb_transpose(nb_tensor *t, int d0, int d1) { return transpose_impl("nb_transpose", t, d0, d1); }

nb_tensor *nb_t(nb_tensor *t) {
    CHECK_T("nb_t", t);
    if (t->ndim > 2) { nb_error(NB_ERR_SHAPE, "nb_t", "expects a tensor with <= 2 dims, got %d", t->ndim); return NULL; }
    return transpose_impl("nb_t", t, 0, t->ndim == 2 ? 1 : 0);
}

/* ---- squeeze / unsqueeze ---- */

static nb_tensor *squeeze_impl(const char *fn, nb_tensor *t, int dim, bool all) {
    CHECK_T(fn, t);
    int d = all ? 0 : nb__dim(fn, dim, t->ndim);
    if (d < 0) return NULL;
    int64_t shape[NB_MAX_DIMS], st[NB_MAX_DIMS];
    int n = 0;
    for (int i = 0; i < t->ndim; i++) {
        if (t->shape[i] == 1 && (all || i == d)) continue;
        shape[n] = t->shape[i];
        st[n++] = t->strides[i];
    }
    nb_tensor *v = nb__alias(t, n, shape, st, t->offset);
    return record_view(v, fn, nb_grad_view, t, NULL, 0);
}

nb_tensor *nb_squeeze(nb_tensor *t, int dim) { return squeeze_impl("nb_squeeze", t, dim, false); }
nb_tensor *nb_squeeze_all(nb_tensor *t) { return squeeze_impl("nb_squeeze_all", t, 0, true); }

nb_tensor *nb_unsqueeze(nb_tensor *t, int dim) {
    const char *fn = "nb_unsqueeze";
    CHECK_T(fn, t);
    if (t->ndim == NB_MAX_DIMS) { nb_error(NB_ERR_SHAPE, fn, "a tensor of %d dims cannot grow", NB_MAX_DIMS); return NULL; }
    int d = nb__dim(fn, dim, t->ndim + 1);
    if (d < 0) return NULL;
    int64_t shape[NB_MAX_DIMS], st[NB_MAX_DIMS];
    for (int i = 0, k = 0; i <= t->ndim; i++) {
        if (i == d) {
            shape[i] = 1;
            st[i] = d < t->ndim ? t->strides[d] * t->shape[d] : 1;
            continue;
        }
        shape[i] = t->shape[k];
        st[i] = t->strides[k++];
    }
    nb_tensor *v = nb__alias(t, t->ndim + 1, shape, st, t->offset);
    return record_view(v, fn, nb_grad_view, t, NULL, 0);
}

/* ---- expand ---- */

nb_tensor *nb_expand(nb_tensor *t, int ndim, const int64_t *shape) {
    const char *fn = "nb_expand";
    CHECK_T(fn, t);
    char b1[128], b2[128];
    if (ndim < t->ndim || ndim > NB_MAX_DIMS || (ndim > 0 && !shape)) {
        nb_error(NB_ERR_SHAPE, fn, "cannot expand a tensor of %d dims to %d dims", t->ndim, ndim);
        return NULL;
    }
    int64_t ns[NB_MAX_DIMS], st[NB_MAX_DIMS];
    for (int i = 0; i < ndim; i++) {
        int it = i - (ndim - t->ndim);
        int64_t want = shape[i];
        if (it < 0) {
            if (want < 0) { nb_error(NB_ERR_SHAPE, fn, "-1 is not allowed for the new leading dim %d", i); return NULL; }
            ns[i] = want;
            st[i] = 0;
            continue;
        }
        if (want == -1) want = t->shape[it];
        if (want == t->shape[it]) { ns[i] = want; st[i] = t->strides[it]; continue; }
        if (t->shape[it] != 1 || want < 0) {
            nb_error(NB_ERR_SHAPE, fn, "the size %lld of dim %d cannot be expanded to %lld (shape %s to %s); "
                     "only size-1 dims expand", (long long)t->shape[it], it, (long long)shape[i],
                     nb__shape_str(b1, sizeof b1, t->ndim, t->shape), nb__shape_str(b2, sizeof b2, ndim, shape));
            return NULL;
        }
        ns[i] = want;
        st[i] = 0;
    }
    if (nb__check_numel(fn, ndim, ns, t->dtype)) return NULL;
    nb_tensor *v = nb__alias(t, ndim, ns, st, t->offset);
    return record_view(v, fn, nb_grad_expand, t, NULL, 0);
}

/* ---- narrow / slice / select ---- */

static nb_tensor *slice_impl(const char *fn, nb_tensor *t, int dim, int64_t start, int64_t end, int64_t step) {
    CHECK_T(fn, t);
    if (t->ndim == 0) { nb_error(NB_ERR_SHAPE, fn, "cannot slice a 0-dim tensor"); return NULL; }
    int d = nb__dim(fn, dim, t->ndim);
    if (d < 0) return NULL;
    if (step < 1) { nb_error(NB_ERR_ARG, fn, "step = %lld must be positive", (long long)step); return NULL; }
    int64_t size = t->shape[d];
    if (start < 0) start += size;
    if (end < 0) end += size;
    if (start < 0) start = 0;
    if (start > size) start = size;
    if (end > size) end = size;
    if (end < start) end = start;
    int64_t len = (end - start + step - 1) / step;
    int64_t ns[NB_MAX_DIMS], st[NB_MAX_DIMS];
    memcpy(ns, t->shape, sizeof ns);
    memcpy(st, t->strides, sizeof st);
    ns[d] = len;
    st[d] = t->strides[d] * step;
    nb_tensor *v = nb__alias(t, t->ndim, ns, st, t->offset + start * t->strides[d]);
    return record_view(v, fn, nb_grad_slice, t, (int64_t[]){d, start, step}, 3);
}

nb_tensor *nb_slice(nb_tensor *t, int dim, int64_t start, int64_t end, int64_t step) {
    return slice_impl("nb_slice", t, dim, start, end, step);
}

nb_tensor *nb_narrow(nb_tensor *t, int dim, int64_t start, int64_t length) {
    const char *fn = "nb_narrow";
    CHECK_T(fn, t);
    if (t->ndim == 0) { nb_error(NB_ERR_SHAPE, fn, "cannot narrow a 0-dim tensor"); return NULL; }
    int d = nb__dim(fn, dim, t->ndim);
    if (d < 0) return NULL;
    int64_t size = t->shape[d];
    if (start < 0) start += size;
    if (start < 0 || start > size || length < 0 || length > size - start) {
        nb_error(NB_ERR_ARG, fn, "start %lld + length %lld exceeds the size %lld of dim %d", (long long)start,
                 (long long)length, (long long)size, d);
        return NULL;
    }
    return slice_impl(fn, t, d, start, start + length, 1);
}

nb_tensor *nb_select(nb_tensor *t, int dim, int64_t index) {
    const char *fn = "nb_select";
    CHECK_T(fn, t);
    if (t->ndim == 0) { nb_error(NB_ERR_SHAPE, fn, "cannot select from a 0-dim tensor"); return NULL; }
    int d = nb__dim(fn, dim, t->ndim);
    if (d < 0) return NULL;
    int64_t size = t->shape[d];
    if (index < -size || index >= size) {
        nb_error(NB_ERR_ARG, fn, "index %lld is out of range for dim %d of size %lld", (long long)index, d,
                 (long long)size);
        return NULL;
    }
    if (index < 0) index += size;
    int64_t ns[NB_MAX_DIMS], st[NB_MAX_DIMS];
    for (int i = 0, k = 0; i < t->ndim; i++) {
        if (i == d) continue;
        ns[k] = t->shape[i];
        st[k++] = t->strides[i];
    }
    nb_tensor *v = nb__alias(t, t->ndim - 1, ns, st, t->offset + index * t->strides[d]);
    return record_view(v, fn, nb_grad_select, t, (int64_t[]){d, index}, 2);
}

/* ---- copies ---- */

static nb_tensor *clone_impl(const char *fn, nb_tensor *t) {
    CHECK_T(fn, t);
    nb_tensor *c = nb__empty(fn, t->ndim, t->shape, t->dtype);
    if (!c) return NULL;
    if (nb__copy_into(fn, c, t)) { nb_tensor_release(c); return NULL; }
    return nb__record(c, fn, nb_grad_identity, 1, &t, NULL);
}

nb_tensor *nb_clone(nb_tensor *t) { return clone_impl("nb_clone", t); }

nb_tensor *nb_contiguous(nb_tensor *t) {
    CHECK_T("nb_contiguous", t);
    if (nb_tensor_is_contiguous(t)) return nb_tensor_retain(t);
    return clone_impl("nb_contiguous", t);
}

nb_tensor *nb_repeat(nb_tensor *t, int nreps, const int64_t *reps) {
    const char *fn = "nb_repeat";
    CHECK_T(fn, t);
    if (nreps < t->ndim || nreps > NB_MAX_DIMS || (nreps > 0 && !reps)) {
        nb_error(NB_ERR_SHAPE, fn, "the number of repeats (%d) must be at least the number of dims (%d) and at most %d",
                 nreps, t->ndim, NB_MAX_DIMS);
        return NULL;
    }
    int64_t ps[NB_MAX_DIMS] = {0}, ns[NB_MAX_DIMS] = {0};
    for (int i = 0; i < nreps; i++) {
        int it = i - (nreps - t->ndim);
        if (reps[i] < 0) { nb_error(NB_ERR_ARG, fn, "reps[%d] = %lld is negative", i, (long long)reps[i]); return NULL; }
        ps[i] = it < 0 ? 1 : t->shape[it];
        if (!nb_mul_ok(ps[i], reps[i], &ns[i])) { nb_error(NB_ERR_OVERFLOW, fn, "the result size overflows"); return NULL; }
    }
    nb_tensor *out = nb__empty(fn, nreps, ns, t->dtype);
    if (!out) return NULL;
    /* Copy t into every tile: the tile grid has prod(reps) cells, none
       when out is empty (prod(reps) may then not even fit int64). */
    int64_t tiles = 1, cell[NB_MAX_DIMS] = {0};
    if (nb_tensor_numel(out) == 0) tiles = 0;
    else for (int i = 0; i < nreps; i++) tiles *= reps[i];
    int64_t src_st[NB_MAX_DIMS];
    for (int i = 0; i < nreps; i++) {
        int it = i - (nreps - t->ndim);
        src_st[i] = it < 0 ? 0 : t->strides[it];
    }
    nb_tensor *src = nb__alias(t, nreps, ps, src_st, t->offset);
    if (!src) { nb_tensor_release(out); return NULL; }
    for (int64_t k = 0; k < tiles; k++) {
        int64_t off = 0;
        for (int i = 0; i < nreps; i++) off += cell[i] * ps[i] * out->strides[i];
        nb_tensor *dst = nb__alias(out, nreps, ps, out->strides, off);
        nb_status s = dst ? nb__copy_into(fn, dst, src) : NB_ERR_OOM;
        nb_tensor_release(dst);
        if (s) { nb_tensor_release(src); nb_tensor_release(out); return NULL; }
        for (int i = nreps - 1; i >= 0; i--) {
            if (++cell[i] < reps[i]) break;
            cell[i] = 0;
        }
    }
    nb_tensor_release(src);
    nb_node *node;
    out = nb__record(out, fn, nb_grad_repeat, 1, &t, &node);
    if (node) {
        node->in_ndim = t->ndim;
        memcpy(node->in_shape, t->shape, sizeof(int64_t) * (size_t)t->ndim);
        if (nb__node_ints(node, nreps, reps)) { nb_tensor_release(out); return NULL; }
    }
    return out;
}

static nb_tensor *cat_impl(const char *fn, int n, nb_tensor *const *ts, int dim) {
    char b1[128], b2[128];
    if (n < 1 || !ts) { nb_error(NB_ERR_ARG, fn, "expects a non-empty list of tensors"); return NULL; }
    for (int i = 0; i < n; i++)
        if (!ts[i]) { nb_error(NB_ERR_ARG, fn, "tensor %d is NULL", i); return NULL; }
    const nb_tensor *t0 = ts[0];
    if (t0->ndim == 0) { nb_error(NB_ERR_SHAPE, fn, "zero-dimensional tensor 0 cannot be concatenated"); return NULL; }
    int d = nb__dim(fn, dim, t0->ndim);
    if (d < 0) return NULL;
    int64_t shape[NB_MAX_DIMS], *sizes = malloc(sizeof(int64_t) * (size_t)n);
    if (!sizes) { nb_error(NB_ERR_OOM, fn, "cannot allocate"); return NULL; }
    memcpy(shape, t0->shape, sizeof shape);
    shape[d] = 0;
    for (int i = 0; i < n; i++) {
        const nb_tensor *t = ts[i];
        bool ok = t->ndim == t0->ndim && t->dtype == t0->dtype;
        for (int k = 0; ok && k < t->ndim; k++) ok = k == d || t->shape[k] == t0->shape[k];
        if (!ok) {
            free(sizes);
            if (t->dtype != t0->dtype)
                nb_error(NB_ERR_DTYPE, fn, "tensor %d has dtype %s, tensor 0 %s", i, nb_dtype_name(t->dtype), nb_dtype_name(t0->dtype));
            else
                nb_error(NB_ERR_SHAPE, fn, "tensor %d has shape %s, which does not match the shape %s of tensor 0 "
                         "outside dim %d", i, nb__shape_str(b1, sizeof b1, t->ndim, t->shape),
                         nb__shape_str(b2, sizeof b2, t0->ndim, t0->shape), d);
            return NULL;
        }
        sizes[i] = t->shape[d];
        if (!nb_add_ok(shape[d], t->shape[d], &shape[d])) {
            free(sizes);
            nb_error(NB_ERR_OVERFLOW, fn, "the size of dim %d of the result overflows int64", d);
            return NULL;
        }
    }
    nb_tensor *out = nb__empty(fn, t0->ndim, shape, t0->dtype);
    int64_t at = 0;
    for (int i = 0; out && i < n; i++) {
        int64_t ps[NB_MAX_DIMS];
        memcpy(ps, shape, sizeof ps);
        ps[d] = sizes[i];
        nb_tensor *dst = nb__alias(out, out->ndim, ps, out->strides, at * out->strides[d]);
        nb_status s = dst ? nb__copy_into(fn, dst, ts[i]) : NB_ERR_OOM;
        nb_tensor_release(dst);
        if (s) { nb_tensor_release(out); out = NULL; }
        at += sizes[i];
    }
    nb_node *node;
    out = nb__record(out, fn, nb_grad_cat, n, ts, &node);
    if (node) {
        node->scalar = d;
        if (nb__node_ints(node, n, sizes)) { nb_tensor_release(out); out = NULL; }
    }
    free(sizes);
    return out;
}

nb_tensor *nb_cat(int n, nb_tensor *const *ts, int dim) { return cat_impl("nb_cat", n, ts, dim); }

nb_tensor *nb_stack(int n, nb_tensor *const *ts, int dim) {
    const char *fn = "nb_stack";
    char b1[128], b2[128];
    if (n < 1 || !ts) { nb_error(NB_ERR_ARG, fn, "expects a non-empty list of tensors"); return NULL; }
    for (int i = 0; i < n; i++) {
        if (!ts[i]) { nb_error(NB_ERR_ARG, fn, "tensor %d is NULL", i); return NULL; }
        if (ts[i]->ndim != ts[0]->ndim || memcmp(ts[i]->shape, ts[0]->shape, sizeof(int64_t) * (size_t)ts[0]->ndim)) {
            nb_error(NB_ERR_SHAPE, fn, "stack expects each tensor to be equal size, but got %s at entry 0 and %s at entry %d",
                     nb__shape_str(b1, sizeof b1, ts[0]->ndim, ts[0]->shape),
                     nb__shape_str(b2, sizeof b2, ts[i]->ndim, ts[i]->shape), i);
            return NULL;
        }
    }
    int d = nb__dim(fn, dim, ts[0]->ndim + 1);
    if (d < 0) return NULL;
    nb_tensor **u = calloc((size_t)n, sizeof *u);
    if (!u) { nb_error(NB_ERR_OOM, fn, "cannot allocate"); return NULL; }
    nb_tensor *out = NULL;
    int k = 0;
    for (; k < n; k++)
        if (!(u[k] = nb_unsqueeze(ts[k], d))) break;
    if (k == n) out = cat_impl(fn, n, u, d);
    for (int i = 0; i < k; i++) nb_tensor_release(u[i]);
    free(u);
    return out;
}
