/* Losses with PyTorch's options: nll_loss / cross_entropy with ignore_index
 * and reduction, mse_loss with reduction.
 *
 * nll_loss takes input [N, C, d1, ...] (or [C]) and int64 target
 * [N, d1, ...] (or 0-dim), as F.nll_loss. Targets equal to ignore_index
 * contribute nothing; "mean" divides by the number of the others (NaN when
 * every target is ignored, as PyTorch), "sum" adds, "none" gives one loss
 * per target (0 where ignored). One graph node with its own backward: the
 * gradient is -g (times 1/count for "mean") at each kept target's class. */
#include <math.h>
#include <string.h>

#include "tensor/tensor_internal.h"
#include "autograd/autograd_internal.h"
#include <nabla/nn.h>

/* The geometry of an nll problem: rows of C classes, `inner` positions
   apart (input [N, C, inner...] flattened; class c of item (n, k) is at
   (n * C + c) * inner + k). */
typedef struct { int64_t N, C, inner; } nll_geom;

static double ld(const nb_tensor *t, int64_t i) {
    return t->dtype == NB_FLOAT32 ? ((const float *)nb_ptr(t))[i] : ((const double *)nb_ptr(t))[i];
}
static void st(nb_tensor *t, int64_t i, double v) {
    if (t->dtype == NB_FLOAT32) ((float *)nb_ptr(t))[i] = (float)v;
    else ((double *)nb_ptr(t))[i] = v;
}

static nb_status nll_check(const char *fn, const nb_tensor *lp, const nb_tensor *target, nb_reduction red,
                           nll_geom *g) {
    char b1[96], b2[96];
    if (!lp || !target) return nb_error(NB_ERR_ARG, fn, "%s is NULL", lp ? "target" : "input");
    if (red != NB_REDUCTION_MEAN && red != NB_REDUCTION_SUM && red != NB_REDUCTION_NONE)
        return nb_error(NB_ERR_ARG, fn, "reduction %d is not NB_REDUCTION_MEAN, _SUM or _NONE", (int)red);
    if (target->dtype != NB_INT64)
        return nb_error(NB_ERR_DTYPE, fn, "target must hold int64 class indices, got %s", nb_dtype_name(target->dtype));
    if (!nb_is_float(lp->dtype))
        return nb_error(NB_ERR_DTYPE, fn, "input needs a floating dtype, got %s", nb_dtype_name(lp->dtype));
    bool ok = lp->ndim >= 1 && target->ndim == (lp->ndim == 1 ? 0 : lp->ndim - 1);
    if (ok && lp->ndim >= 2) {
        ok = target->shape[0] == lp->shape[0];
        for (int i = 2; ok && i < lp->ndim; i++) ok = target->shape[i - 1] == lp->shape[i];
    }
    if (!ok)
        return nb_error(NB_ERR_SHAPE, fn, "expects input [N, C, d...] and target [N, d...] (or [C] and []), got %s and %s",
                        nb__shape_str(b1, sizeof b1, lp->ndim, lp->shape),
                        nb__shape_str(b2, sizeof b2, target->ndim, target->shape));
    g->N = lp->ndim == 1 ? 1 : lp->shape[0];
    g->C = lp->ndim == 1 ? lp->shape[0] : lp->shape[1];
    g->inner = 1;
    for (int i = 2; i < lp->ndim; i++) g->inner *= lp->shape[i];
    return NB_OK;
}

/* Every target is a class or ignore_index; the number of kept ones. */
static int64_t count_kept(const char *fn, const int64_t *t, int64_t m, int64_t C, int64_t ignore_index) {
    int64_t kept = 0;
    for (int64_t i = 0; i < m; i++) {
        if (t[i] == ignore_index) continue;
        if (t[i] < 0 || t[i] >= C) {
            nb_error(NB_ERR_ARG, fn, "target %lld = %lld is out of range [0, %lld) and is not ignore_index %lld",
                     (long long)i, (long long)t[i], (long long)C, (long long)ignore_index);
            return -1;
        }
        kept++;
    }
    return kept;
}

/* The forward values, from dense lp and target. */
static nb_tensor *nll_values(const char *fn, const nb_tensor *lpc, const nb_tensor *tc, const nll_geom *g,
                             int64_t ignore_index, nb_reduction red, int64_t kept) {
    const int64_t *t = (const int64_t *)nb_ptr(tc);
    nb_tensor *out = red == NB_REDUCTION_NONE ? nb__empty(fn, tc->ndim, tc->shape, lpc->dtype)
                                              : nb__empty(fn, 0, NULL, lpc->dtype);
    if (!out) return NULL;
    double acc = 0;
    for (int64_t n = 0, i = 0; n < g->N; n++)
        for (int64_t k = 0; k < g->inner; k++, i++) {
            const double v = t[i] == ignore_index ? 0.0 : -ld(lpc, (n * g->C + t[i]) * g->inner + k);
            if (red == NB_REDUCTION_NONE) st(out, i, v);
            else acc += v;
        }
    if (red == NB_REDUCTION_SUM) st(out, 0, acc);
    if (red == NB_REDUCTION_MEAN) st(out, 0, acc / (double)kept);   /* 0 / 0 = NaN when all are ignored */
    return out;
}

/* ints: N, C, inner, reduction, ignore_index, kept; saved[0]: dense target. */
static nb_status grad_nll_ex(nb_node *n, nb_tensor *g, nb_tensor **grads) {
    if (!nb_node_needs(n, 0)) return NB_OK;
    const int64_t N = n->ints[0], C = n->ints[1], inner = n->ints[2], ignore = n->ints[4], kept = n->ints[5];
    const nb_reduction red = (nb_reduction)n->ints[3];
    const int64_t *t = (const int64_t *)nb_ptr(n->saved[0].t);
    nb_tensor *dx = nb_zeros(n->in_ndim, n->in_shape, n->in_dtype), *gc = dx ? nb_contiguous(g) : NULL;
    if (!gc) { nb_tensor_release(dx); return NB_ERR_OOM; }
    const double scale = red == NB_REDUCTION_MEAN ? 1.0 / (double)kept : 1.0;
    for (int64_t b = 0, i = 0; b < N; b++)
        for (int64_t k = 0; k < inner; k++, i++)
            if (t[i] != ignore) st(dx, (b * C + t[i]) * inner + k, -ld(gc, red == NB_REDUCTION_NONE ? i : 0) * scale);
    nb_tensor_release(gc);
    grads[0] = dx;
    return NB_OK;
}

static nb_tensor *nll_ex(const char *fn, nb_tensor *lp, nb_tensor *target, int64_t ignore_index, nb_reduction red) {
    nll_geom g = {0, 0, 0};
    if (nll_check(fn, lp, target, red, &g)) return NULL;
    nb_tensor *tc = nb_contiguous(target), *lpc = tc ? nb_contiguous(lp) : NULL, *out = NULL;
    const int64_t kept = lpc ? count_kept(fn, (const int64_t *)nb_ptr(tc), g.N * g.inner, g.C, ignore_index) : -1;
    if (kept >= 0) out = nll_values(fn, lpc, tc, &g, ignore_index, red, kept);
    nb_tensor_release(lpc);
    nb_node *node = NULL;
    out = nb__record(out, fn, grad_nll_ex, 1, &lp, &node);
    if (node) {
        node->in_ndim = lp->ndim;
        memcpy(node->in_shape, lp->shape, sizeof(int64_t) * (size_t)lp->ndim);
        node->in_dtype = lp->dtype;
        if (nb__node_ints(node, 6, (int64_t[]){g.N, g.C, g.inner, red, ignore_index, kept}) ||
            nb__node_save(node, 0, tc)) {
            nb_tensor_release(out);
            out = NULL;
        }
    }
    nb_tensor_release(tc);
    return out;
}

nb_tensor *nb_nll_loss_ex(nb_tensor *log_probs, nb_tensor *target, int64_t ignore_index, nb_reduction reduction) {
    return nll_ex("nb_nll_loss_ex", log_probs, target, ignore_index, reduction);
}
nb_tensor *nb_nll_loss(nb_tensor *log_probs, nb_tensor *target) {
    return nll_ex("nb_nll_loss", log_probs, target, NB_IGNORE_INDEX, NB_REDUCTION_MEAN);
}

static nb_tensor *cross_entropy(const char *fn, nb_tensor *logits, nb_tensor *target, int64_t ignore_index,
                                nb_reduction red) {
    nll_geom g = {0, 0, 0};
    if (nll_check(fn, logits, target, red, &g)) return NULL;
    nb_tensor *lp = nb_log_softmax(logits, logits->ndim == 1 ? 0 : 1);
    nb_tensor *l = lp ? nll_ex(fn, lp, target, ignore_index, red) : NULL;
    nb_tensor_release(lp);
    if (!l) nb_error_context(fn);
    return l;
}
nb_tensor *nb_cross_entropy_ex(nb_tensor *logits, nb_tensor *target, int64_t ignore_index, nb_reduction reduction) {
    return cross_entropy("nb_cross_entropy_ex", logits, target, ignore_index, reduction);
}
nb_tensor *nb_cross_entropy(nb_tensor *logits, nb_tensor *target) {
    return cross_entropy("nb_cross_entropy", logits, target, NB_IGNORE_INDEX, NB_REDUCTION_MEAN);
}

static nb_tensor *mse(const char *fn, nb_tensor *input, nb_tensor *target, nb_reduction red) {
    if (!input || !target) { nb_error(NB_ERR_ARG, fn, "%s is NULL", input ? "target" : "input"); return NULL; }
    if (red != NB_REDUCTION_MEAN && red != NB_REDUCTION_SUM && red != NB_REDUCTION_NONE) {
        nb_error(NB_ERR_ARG, fn, "reduction %d is not NB_REDUCTION_MEAN, _SUM or _NONE", (int)red);
        return NULL;
    }
    nb_tensor *d = nb_sub(input, target), *sq = d ? nb_mul(d, d) : NULL, *r = NULL;
    if (sq) r = red == NB_REDUCTION_MEAN ? nb_mean_all(sq) : red == NB_REDUCTION_SUM ? nb_sum_all(sq) : nb_tensor_retain(sq);
    nb_tensor_release(d);
    nb_tensor_release(sq);
    if (!r) nb_error_context(fn);
    return r;
}
nb_tensor *nb_mse_loss_ex(nb_tensor *input, nb_tensor *target, nb_reduction reduction) {
    return mse("nb_mse_loss_ex", input, target, reduction);
}
nb_tensor *nb_mse_loss(nb_tensor *input, nb_tensor *target) { return mse("nb_mse_loss", input, target, NB_REDUCTION_MEAN); }
