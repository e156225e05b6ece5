/* torch.nn.functional: linear, softmax / log_softmax (losses: loss.c). */
#include <math.h>
#include <string.h>

#include "tensor/tensor_internal.h"
#include "autograd/autograd_internal.h"
#include <nabla/nn.h>

/* y = x W^T for x [M, K], W [N, K], computed as (W x^T)^T when that is
   less work. GEMM packs its B operand: as x W^T that is W^T (N*K floats,
   a transposing pack) in 32-column panels (AVX-512; 16 on AVX2); as
   W x^T it is x^T (M*K floats) and W becomes the A operand, which the
   driver reads in place. So the swap pays when the batch is smaller than
   the layer (M < N: the MLP's 128 x 784 -> 256, packing 400 KB instead of
   800 KB) or when N is less than one column panel (N < 32: the 10-class
   head, whose one panel was 10/32 useful; swapped, the 10 rows are one
   row tile). It costs an M x N transposing copy of the result and two
   graph nodes (SWAP_MIN_MACS). M >= 64 so that x^T's M columns fill whole
   panels (small batches keep the no-pack row paths of x W^T).
   Bits: those of nb_matmul(x, w^T) whichever way: every C element is the
   same FMA chain over k in the same KC blocks with the same epilogue
   (a*b == b*a; the path-independence contract of src/gemm_driver.h), so
   the choice may look at M without a row's bits depending on its batch.
   Gradients go through the same matmul rule: dW is the same GEMM (dY^T x)
   and dx comes out in x's layout (matmul_as in grad_rules.c). */
/* Below this many multiply-adds the two extra graph nodes and the copy cost
   about what the smaller pack saves: forward + backward, 1 thread, session
   8 (probe, medians of 7): 64x128 -> 10 (82 K) 11.2-11.5 us unswapped,
   11.8-13.0 swapped; 128x256 -> 10 (328 K) 34.2 us, 31.6-32.6 swapped. */
#define SWAP_MIN_MACS ((int64_t)1 << 18)

static bool swap_pays(const nb_tensor *x, const nb_tensor *w) {
    if (x->ndim != 2 || x->dtype != NB_FLOAT32 || w->dtype != NB_FLOAT32 || x->shape[1] != w->shape[1])
        return false;
    const int64_t M = x->shape[0], N = w->shape[0], K = x->shape[1];
    /* Each at most 2^20: the product below fits int64. */
    if (M < 64 || M > (1 << 20) || N > (1 << 20) || K < 1 || K > (1 << 20)) return false;
    return (M < N || N < 32) && M * N * K >= SWAP_MIN_MACS;
}

static nb_tensor *linear_swapped(nb_tensor *x, nb_tensor *w) {
    nb_tensor *xt = nb_t(x), *yt = xt ? nb_matmul(w, xt) : NULL;
    nb_tensor_release(xt);
    nb_tensor *v = yt ? nb_t(yt) : NULL;
    nb_tensor_release(yt);
    nb_tensor *y = v ? nb_contiguous(v) : NULL;
    nb_tensor_release(v);
    return y;
}

nb_tensor *nb_linear(nb_tensor *x, nb_tensor *w, nb_tensor *b) {
    const char *fn = "nb_linear";
    if (!x || !w) { nb_error(NB_ERR_ARG, fn, "%s is NULL", x ? "w" : "x"); return NULL; }
    if (w->ndim != 2) { nb_error(NB_ERR_SHAPE, fn, "w must be 2-D [out, in], got %d dims", w->ndim); return NULL; }
    nb_tensor *y;
    if (swap_pays(x, w)) {
        y = linear_swapped(x, w);
    } else {
        nb_tensor *wt = nb_t(w);
        y = wt ? nb_matmul(x, wt) : NULL;
        nb_tensor_release(wt);
    }
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
