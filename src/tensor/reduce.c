/* Reductions over dims: float through nb_sreduce / nb_dreduce, int64 and
 * argmax in plain C. */
#include <math.h>
#include <string.h>

#include "tensor_internal.h"
#include "isa_ops.h"
#include "autograd/autograd_internal.h"

static nb_status dims_mask(const char *fn, const nb_tensor *t, int ndims, const int *dims, uint64_t *mask) {
    if (ndims < 0 || (ndims > 0 && !dims)) return nb_error(NB_ERR_ARG, fn, "dims is NULL or ndims negative");
    if (ndims == 0) { *mask = t->ndim ? (UINT64_C(1) << t->ndim) - 1 : 0; return NB_OK; }
    uint64_t m = 0;
    for (int i = 0; i < ndims; i++) {
        int d = nb__dim(fn, dims[i], t->ndim);
        if (d < 0) return NB_ERR_ARG;
        if (m & (UINT64_C(1) << d)) return nb_error(NB_ERR_ARG, fn, "dim %d appears twice in dims", d);
        m |= UINT64_C(1) << d;
    }
    *mask = t->ndim ? m : 0;
    return NB_OK;
}

typedef struct { nb_reduce_op op; } i64_ctx;

/* int64 sum/max/min: plain C, output already holds the identity. */
static void reduce_i64(nb_reduce_op op, const nb_tensor *x, uint64_t mask, nb_tensor *y) {
    int64_t idx[NB_MAX_DIMS] = {0}, n = nb_tensor_numel(x);
    const int64_t *xp = (const int64_t *)nb_ptr(x);
    int64_t *yp = (int64_t *)nb_ptr(y);
    for (int64_t k = 0; k < n; k++) {
        int64_t xo = 0, yo = 0;
        for (int d = 0; d < x->ndim; d++) {
            xo += idx[d] * x->strides[d];
            if (!(mask >> d & 1)) yo += idx[d] * y->strides[d];
        }
        int64_t v = xp[xo];
        if (op == NB_REDUCE_SUM) yp[yo] = (int64_t)((uint64_t)yp[yo] + (uint64_t)v);
        else if (op == NB_REDUCE_MAX) yp[yo] = v > yp[yo] ? v : yp[yo];
        else yp[yo] = v < yp[yo] ? v : yp[yo];
        for (int d = x->ndim - 1; d >= 0; d--) {
            if (++idx[d] < x->shape[d]) break;
            idx[d] = 0;
        }
    }
}

static const char *const op_names[] = {"sum", "mean", "max", "min"};

/* sum() of a small dense float32 tensor, every dim reduced: the driver
   (nb_sreduce) runs it as one short row through the ISA's rrows
   micro-kernel, after validating, planning and entering a parallel
   region; for a 4-element tensor that bookkeeping was most of 350 ns.
   The same micro-kernel call here gives the same bits. false: not this
   case (or no rrows: NB_ISA_REF), the driver runs it. */
static bool small_sum_all(nb_reduce_op op, const nb_tensor *t, uint64_t mask, float *y) {
    const int64_t n = nb_tensor_numel(t);
    if (op != NB_REDUCE_SUM || n < 1 || n > NB_RROWS_MAX_N || mask != ((uint64_t)1 << t->ndim) - 1 ||
        !nb_tensor_is_contiguous(t))
        return false;
    const nb_ukernel_config *k = nb_ukernels_active();
    if (!k->reduce.rrows) return false;
    k->reduce.rrows(0, 1, n, (const float *)nb_ptr(t), n, y);
    return true;
}

nb_tensor *nb__reduce_mask(const char *fn, nb_reduce_op op, nb_tensor *t, uint64_t mask, bool keepdim) {
    if (op == NB_REDUCE_MEAN && !nb_is_float(t->dtype)) {
        nb_error(NB_ERR_DTYPE, fn, "mean needs a floating dtype, got %s (convert with nb_to_dtype first)",
                 nb_dtype_name(t->dtype));
        return NULL;
    }
    int64_t kshape[NB_MAX_DIMS];
    for (int d = 0; d < t->ndim; d++) {
        kshape[d] = (mask >> d & 1) ? 1 : t->shape[d];
        if ((op == NB_REDUCE_MAX || op == NB_REDUCE_MIN) && (mask >> d & 1) && t->shape[d] == 0) {
            nb_error(NB_ERR_SHAPE, fn, "cannot compute %s over dim %d of size 0 (an empty set has no %s)",
                     op_names[op], d, op_names[op]);
            return NULL;
        }
    }
    if ((op == NB_REDUCE_MAX || op == NB_REDUCE_MIN) && t->ndim == 0 && nb_tensor_numel(t) == 0) {
        nb_error(NB_ERR_SHAPE, fn, "cannot compute %s of an empty tensor", op_names[op]);
        return NULL;
    }
    nb_tensor *y = nb__empty(fn, t->ndim, kshape, t->dtype);
    if (!y) return NULL;
    nb_status s = NB_OK;
    if (t->ndim == 0) {
        memcpy(nb_ptr(y), nb_ptr(t), nb_esize(t->dtype));
    } else if (t->dtype == NB_FLOAT32 && small_sum_all(op, t, mask, (float *)nb_ptr(y))) {
        /* done: the row the reduction driver would have run */
    } else if (t->dtype == NB_FLOAT32) {
        s = nb_sreduce(op, t->ndim, t->shape, (const float *)nb_ptr(t), t->strides, mask, (float *)nb_ptr(y), y->strides);
    } else if (t->dtype == NB_FLOAT64) {
        s = nb_dreduce(op, t->ndim, t->shape, (const double *)nb_ptr(t), t->strides, mask, (double *)nb_ptr(y), y->strides);
    } else {
        int64_t init = op == NB_REDUCE_SUM ? 0 : op == NB_REDUCE_MAX ? INT64_MIN : INT64_MAX;
        int64_t ny = nb_tensor_numel(y);
        for (int64_t i = 0; i < ny; i++) ((int64_t *)nb_ptr(y))[i] = init;
        reduce_i64(op, t, mask, y);
    }
    if (s) {
        nb_tensor_release(y);
        nb_error(s, fn, "the reduction kernel failed: %s", nb_status_str(s));
        return NULL;
    }
    if (keepdim) return y;
    int64_t shape[NB_MAX_DIMS];
    int n = 0;
    for (int d = 0; d < t->ndim; d++)
        if (!(mask >> d & 1)) shape[n++] = t->shape[d];
    int64_t st[NB_MAX_DIMS];
    nb__contiguous_strides(n, shape, st);
    nb_tensor *v = nb__alias(y, n, shape, st, 0);
    nb_tensor_release(y);
    return v;
}

static nb_tensor *reduce(const char *fn, nb_reduce_op op, nb_tensor *t, int ndims, const int *dims, bool keepdim,
                         nb_backward_fn rule) {
    if (!t) { nb_error(NB_ERR_ARG, fn, "t is NULL"); return NULL; }
    uint64_t mask = 0;
    if (dims_mask(fn, t, ndims, dims, &mask)) return NULL;
    nb_tensor *y = nb__reduce_mask(fn, op, t, mask, keepdim);
    nb_node *node;
    y = nb__record(y, fn, rule, 1, &t, &node);
    if (node) {
        node->in_ndim = t->ndim;
        memcpy(node->in_shape, t->shape, sizeof(int64_t) * (size_t)t->ndim);
        node->scalar = keepdim;
        int64_t m = (int64_t)mask;
        nb_status s = nb__node_ints(node, 1, &m);
        if (!s && (op == NB_REDUCE_MAX || op == NB_REDUCE_MIN)) {
            s = nb__node_save(node, 0, t);
            if (!s) s = nb__node_save(node, 1, y);
        }
        if (s) { nb_tensor_release(y); return NULL; }
    }
    return y;
}

nb_tensor *nb_sum(nb_tensor *t, int ndims, const int *dims, bool keepdim) {
    return reduce("nb_sum", NB_REDUCE_SUM, t, ndims, dims, keepdim, nb_grad_sum);
}
nb_tensor *nb_mean(nb_tensor *t, int ndims, const int *dims, bool keepdim) {
    return reduce("nb_mean", NB_REDUCE_MEAN, t, ndims, dims, keepdim, nb_grad_mean);
}
nb_tensor *nb_max(nb_tensor *t, int ndims, const int *dims, bool keepdim) {
    return reduce("nb_max", NB_REDUCE_MAX, t, ndims, dims, keepdim, nb_grad_amax);
}
nb_tensor *nb_min(nb_tensor *t, int ndims, const int *dims, bool keepdim) {
    return reduce("nb_min", NB_REDUCE_MIN, t, ndims, dims, keepdim, nb_grad_amax);
}
nb_tensor *nb_sum_all(nb_tensor *t) { return reduce("nb_sum_all", NB_REDUCE_SUM, t, 0, NULL, false, nb_grad_sum); }
nb_tensor *nb_mean_all(nb_tensor *t) { return reduce("nb_mean_all", NB_REDUCE_MEAN, t, 0, NULL, false, nb_grad_mean); }

nb_tensor *nb_argmax(nb_tensor *t, int dim, bool keepdim) {
    const char *fn = "nb_argmax";
    if (!t) { nb_error(NB_ERR_ARG, fn, "t is NULL"); return NULL; }
    int d = nb__dim(fn, dim, t->ndim);
    if (d < 0) return NULL;
    int64_t len = t->ndim ? t->shape[d] : 1, stride = t->ndim ? t->strides[d] : 0;
    if (len == 0) { nb_error(NB_ERR_SHAPE, fn, "cannot compute argmax over dim %d of size 0", d); return NULL; }
    int64_t oshape[NB_MAX_DIMS], ost[NB_MAX_DIMS];
    for (int i = 0; i < t->ndim; i++) { oshape[i] = i == d ? 1 : t->shape[i]; ost[i] = i == d ? 0 : t->strides[i]; }
    nb_tensor *y = nb__empty(fn, t->ndim, oshape, NB_INT64);
    if (!y) return NULL;
    int64_t n = nb_tensor_numel(y), idx[NB_MAX_DIMS] = {0};
    const size_t es = nb_esize(t->dtype);
    for (int64_t k = 0; k < n; k++) {
        int64_t off = 0;
        for (int i = 0; i < t->ndim; i++) off += idx[i] * ost[i];
        const char *p = nb_ptr(t) + off * (int64_t)es;
        int64_t best = 0;
        double bv = 0;
        for (int64_t j = 0; j < len; j++) {
            const char *q = p + j * stride * (int64_t)es;
            double v = t->dtype == NB_FLOAT32 ? *(const float *)q : t->dtype == NB_FLOAT64 ? *(const double *)q
                                                                                           : (double)*(const int64_t *)q;
            if (t->dtype == NB_INT64) {
                int64_t iv = *(const int64_t *)q, ib = *(const int64_t *)(p + best * stride * (int64_t)es);
                if (j == 0 || iv > ib) best = j;
                continue;
            }
            if (j == 0 || (isnan(v) && !isnan(bv)) || v > bv) { best = j; bv = v; }
        }
        ((int64_t *)nb_ptr(y))[k] = best;
        for (int i = t->ndim - 1; i >= 0; i--) {
            if (++idx[i] < oshape[i]) break;
            idx[i] = 0;
        }
    }
    if (keepdim || t->ndim == 0) return y;
    nb_tensor *v = nb_squeeze(y, d);
    nb_tensor_release(y);
    return v;
}

nb_tensor *nb__sum_to(nb_tensor *g, int ndim, const int64_t *shape) {
    uint64_t mask = 0;
    int lead = g->ndim - ndim;
    for (int d = 0; d < g->ndim; d++) {
        int it = d - lead;
        if (it < 0 || (shape[it] == 1 && g->shape[d] != 1)) mask |= UINT64_C(1) << d;
    }
    if (mask == 0 && lead == 0) return nb_tensor_retain(g);
    nb_tensor *s = nb__reduce_mask("nb_backward", NB_REDUCE_SUM, g, mask, true);
    if (!s) return NULL;
    nb_tensor *r = nb_reshape(s, ndim, shape);
    nb_tensor_release(s);
    return r;
}
