/* torch.nn.functional: linear, softmax / log_softmax, losses. */
#include <math.h>
#include <string.h>

#include "tensor/tensor_internal.h"
#include "autograd/autograd_internal.h"
#include <nabla/nn.h>

nb_tensor *nb_linear(nb_tensor *x, nb_tensor *w, nb_tensor *b) {
    const char *fn = "nb_linear";
    if (!x || !w) { nb_error(NB_ERR_ARG, fn, "%s is NULL", x ? "w" : "x"); return NULL; }
    if (w->ndim != 2) { nb_error(NB_ERR_SHAPE, fn, "w must be 2-D [out, in], got %d dims", w->ndim); return NULL; }
    nb_tensor *wt = nb_t(w), *y = wt ? nb_matmul(x, wt) : NULL;
    nb_tensor_release(wt);
    if (y && b) {
        nb_tensor *z = nb_add(y, b);
        nb_tensor_release(y);
        y = z;
    }
    if (!y) nb_error_context(fn);
    return y;
}

/* softmax rows of a dense rows x cols float64 matrix (plain C: float64 is the
   reference path for gradient checks). */
static void softmax_rows_d(bool log_, int64_t rows, int64_t cols, const double *x, double *y) {
    for (int64_t r = 0; r < rows; r++) {
        const double *xr = x + r * cols;
        double *yr = y + r * cols, m = -INFINITY, s = 0;
        for (int64_t c = 0; c < cols; c++) m = xr[c] > m || isnan(xr[c]) ? xr[c] : m;
        for (int64_t c = 0; c < cols; c++) s += exp(xr[c] - m);
        for (int64_t c = 0; c < cols; c++) yr[c] = log_ ? xr[c] - m - log(s) : exp(xr[c] - m) / s;
    }
}

nb_tensor *nb__softmax_raw(const char *fn, nb_tensor *x, int dim, bool log_) {
    int nd = x->ndim ? x->ndim : 1;
    int d = nb__dim(fn, dim, x->ndim);
    if (d < 0) return NULL;
    int64_t shape[NB_MAX_DIMS], st[NB_MAX_DIMS];
    int perm[NB_MAX_DIMS];
    for (int i = 0; i < nd; i++) perm[i] = i;
    perm[d] = nd - 1;
    perm[nd - 1] = d;
    for (int i = 0; i < nd; i++) {
        shape[i] = x->ndim ? x->shape[perm[i]] : 1;
        st[i] = x->ndim ? x->strides[perm[i]] : 1;
    }
    /* The softmax dim moved last, densified (a copy only when needed). */
    nb_tensor *xp = nb__alias(x, nd, shape, st, x->offset), *xc = NULL, *y = NULL;
    if (!xp) return NULL;
    if (nb_tensor_is_contiguous(xp)) xc = nb_tensor_retain(xp);
    else if ((xc = nb__empty(fn, nd, shape, x->dtype)) && nb__copy_into(fn, xc, xp)) { nb_tensor_release(xc); xc = NULL; }
    nb_tensor_release(xp);
    if (!xc) return NULL;
    y = nb__empty(fn, nd, shape, x->dtype);
    int64_t cols = shape[nd - 1], rows = cols ? nb_tensor_numel(xc) / cols : 0;
    nb_status s = y ? NB_OK : NB_ERR_OOM;
    if (!s && rows > 0) {
        if (x->dtype == NB_FLOAT32)
            s = nb_ssoftmax(log_, rows, cols, (const float *)nb_ptr(xc), cols, (float *)nb_ptr(y), cols);
        else
            softmax_rows_d(log_, rows, cols, (const double *)nb_ptr(xc), (double *)nb_ptr(y));
    }
    nb_tensor_release(xc);
    if (s) { nb_tensor_release(y); return NULL; }
    if (d == nd - 1 && x->ndim > 0) return y;
    /* Back to x's dim order, densified. */
    int64_t bs[NB_MAX_DIMS];
    for (int i = 0; i < nd; i++) bs[i] = y->strides[perm[i]];
    nb_tensor *back = nb__alias(y, x->ndim, x->shape, bs, 0);
    nb_tensor *out = back ? nb__empty(fn, x->ndim, x->shape, x->dtype) : NULL;
    if (out && nb__copy_into(fn, out, back)) { nb_tensor_release(out); out = NULL; }
    nb_tensor_release(back);
    nb_tensor_release(y);
    return out;
}

static nb_tensor *softmax_op(const char *fn, nb_tensor *x, int dim, bool log_) {
    if (!x) { nb_error(NB_ERR_ARG, fn, "x is NULL"); return NULL; }
    if (!nb_is_float(x->dtype)) {
        nb_error(NB_ERR_DTYPE, fn, "needs a floating dtype, got %s", nb_dtype_name(x->dtype));
        return NULL;
    }
    nb_tensor *y = nb__softmax_raw(fn, x, dim, log_);
    nb_node *node;
    y = nb__record(y, fn, log_ ? nb_grad_log_softmax : nb_grad_softmax, 1, &x, &node);
    if (node) {
        node->scalar = nb__dim(fn, dim, x->ndim);
        if (nb__node_save(node, 0, y)) { nb_tensor_release(y); return NULL; }
    }
    return y;
}

nb_tensor *nb_softmax(nb_tensor *x, int dim) { return softmax_op("nb_softmax", x, dim, false); }
nb_tensor *nb_log_softmax(nb_tensor *x, int dim) { return softmax_op("nb_log_softmax", x, dim, true); }

nb_tensor *nb_mse_loss(nb_tensor *input, nb_tensor *target) {
    if (!input || !target) { nb_error(NB_ERR_ARG, "nb_mse_loss", "%s is NULL", input ? "target" : "input"); return NULL; }
    nb_tensor *d = nb_sub(input, target), *sq = d ? nb_mul(d, d) : NULL;
    nb_tensor *m = sq ? nb_mean_all(sq) : NULL;
    nb_tensor_release(d);
    nb_tensor_release(sq);
    if (!m) nb_error_context("nb_mse_loss");
    return m;
}

static nb_tensor *nll(const char *fn, nb_tensor *lp, nb_tensor *target) {
    char b1[96], b2[96];
    if (!lp || !target) { nb_error(NB_ERR_ARG, fn, "%s is NULL", lp ? "target" : "input"); return NULL; }
    if (target->dtype != NB_INT64) {
        nb_error(NB_ERR_DTYPE, fn, "target must hold int64 class indices, got %s", nb_dtype_name(target->dtype));
        return NULL;
    }
    if (!nb_is_float(lp->dtype)) { nb_error(NB_ERR_DTYPE, fn, "input needs a floating dtype, got %s", nb_dtype_name(lp->dtype)); return NULL; }
    if (lp->ndim != 2 || target->ndim != 1 || target->shape[0] != lp->shape[0]) {
        nb_error(NB_ERR_SHAPE, fn, "expects input [N, C] and target [N], got %s and %s",
                 nb__shape_str(b1, sizeof b1, lp->ndim, lp->shape), nb__shape_str(b2, sizeof b2, target->ndim, target->shape));
        return NULL;
    }
    int64_t N = lp->shape[0], C = lp->shape[1];
    double acc = 0;
    for (int64_t i = 0; i < N; i++) {
        int64_t t = ((const int64_t *)nb_ptr(target))[i * target->strides[0]];
        if (t < 0 || t >= C) {
            nb_error(NB_ERR_ARG, fn, "target[%lld] = %lld is out of range [0, %lld)", (long long)i, (long long)t, (long long)C);
            return NULL;
        }
        double v;
        nb_tensor_get(lp, (int64_t[]){i, t}, &v);
        acc += v;
    }
    nb_tensor *out = nb_scalar(N ? -acc / (double)N : NAN, lp->dtype);
    nb_node *node;
    out = nb__record(out, fn, nb_grad_nll_loss, 2, (nb_tensor *[]){lp, NULL}, &node);
    if (node) {
        node->in_ndim = 2;
        node->in_shape[0] = N;
        node->in_shape[1] = C;
        node->in_dtype = lp->dtype;
        if (nb__node_save(node, 0, target)) { nb_tensor_release(out); return NULL; }
    }
    return out;
}

nb_tensor *nb_nll_loss(nb_tensor *log_probs, nb_tensor *target) { return nll("nb_nll_loss", log_probs, target); }

nb_tensor *nb_cross_entropy(nb_tensor *logits, nb_tensor *target) {
    const char *fn = "nb_cross_entropy";
    if (!logits || !target) { nb_error(NB_ERR_ARG, fn, "%s is NULL", logits ? "target" : "logits"); return NULL; }
    if (logits->ndim != 2) {
        char b1[96];
        nb_error(NB_ERR_SHAPE, fn, "expects logits [N, C], got %s", nb__shape_str(b1, sizeof b1, logits->ndim, logits->shape));
        return NULL;
    }
    nb_tensor *lp = nb_log_softmax(logits, 1);
    nb_tensor *l = lp ? nll(fn, lp, target) : NULL;
    nb_tensor_release(lp);
    return l;
}
